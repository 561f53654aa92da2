#!/usr/bin/env node
// Interop runner for the official Node.js SDK, npm `alipay-sdk` 4.14.0.
//
// Reads ONE JSON object on stdin, writes ONE JSON object on stdout (see ../README.md for the
// contract); diagnostics go to stderr. Exit status 0 unless the input itself is broken (then 2).
//
// The SDK is loaded from `$INTEROP_DIR/node/node_modules` (installed by ../setup.sh; INTEROP_DIR
// defaults to <repo>/target/interop), or from `$INTEROP_NODE_DIR/node_modules` if that is set.
// SDK sources referred to below are under node_modules/alipay-sdk/src/.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.INTEROP_NODE_DIR
  || path.join(process.env.INTEROP_DIR || path.resolve(here, '..', '..', 'target', 'interop'), 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
let AlipaySdk;
try {
  ({ AlipaySdk } = require('alipay-sdk')); // dist/commonjs build of the same src/
} catch (e) {
  console.error(`node runner: cannot load alipay-sdk from ${nodeDir}/node_modules (run interop/setup.sh): ${e.message}`);
  process.exit(3);
}

// A tap on the transport, to see the answer on the wire: the SDK calls
// `urllib.default.request` (dist/commonjs/alipay.js) at call time, so wrapping it here records
// each raw response body and changes nothing the SDK sends or reads.
let lastRawBody = null;
try {
  const urllib = require('urllib');
  const request = urllib.default.request;
  urllib.default.request = async (...args) => {
    const response = await request(...args);
    lastRawBody = typeof response.data === 'string' ? response.data : String(response.data);
    return response;
  };
} catch (e) {
  console.error(`node runner: cannot tap urllib: ${e.message}`);
  process.exit(3);
}

function log(...args) { console.error('node runner:', ...args); }
function errText(e) {
  return `${e && e.name ? e.name : 'Error'}: ${e && e.message !== undefined ? e.message : String(e)}`;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function bizParams(call, extra) {
  // biz_content must be an object: sign() (util.ts) runs snakecase-keys over it (deep) and
  // JSON.stringify()s it in insertion order; a string would be re-quoted, so refuse it.
  const p = {};
  if (call.biz_content !== undefined && call.biz_content !== null) p.bizContent = call.biz_content;
  for (const [k, v] of Object.entries(extra)) if (v) p[k] = v;
  return p;
}

/** The answer's node on the wire: `encrypted` when its value is a JSON string (接口内容加密),
 * with the span the SDKs verify for it: from the opening quote to the closing one, both
 * included (Java extractJsonBase64ValueEndPosition, Python PATTERN_RESPONSE_ENCRYPT_BEGIN). */
function wireNode(raw, responseKey) {
  const at = raw.indexOf(`"${responseKey}"`);
  if (at < 0) return { wire: 'none' };
  let i = at + responseKey.length + 2;
  while (i < raw.length && raw[i] !== '{' && raw[i] !== '"') i += 1;
  if (raw[i] !== '"') return { wire: 'clear' };
  const end = raw.indexOf('"', i + 1);
  return { wire: 'encrypted', span: end < 0 ? raw.slice(i) : raw.slice(i, end + 1) };
}

async function opExecute(sdk, call, encrypted, signType) {
  if (typeof call.biz_content === 'string') {
    return { ok: false, error: 'unsupported: alipay-sdk (node) needs biz_content as an object', response: null };
  }
  // Encrypted calls (`needEncrypt: true`, util.ts sign(): encrypt_type=AES in the POST body,
  // biz_content = aesEncrypt(...)): with validateSign: true the SDK verifies the wrong text for
  // an encrypted answer and rejects a correct one (getSignStr trims to braces a string node does
  // not have; alipay-sdk-nodejs-all#82), so those calls run with validateSign: false and the
  // exact span is verified with the SDK's own public rsaCheck. A call expecting a clear error
  // (`validate_sign: true`) keeps validateSign: true.
  const validateSign = call.validate_sign ?? !encrypted;
  lastRawBody = null;
  try {
    // alipay.ts exec(): sign() -> formatUrl() puts the fixed urlArgs (app_id, method, charset,
    // sign_type, sign, timestamp, version, notify_url, ...) in the query and the rest
    // (biz_content) in a urlencoded POST body. #formatExecHttpResponse() throws on HTTP != 200,
    // takes alipayResponse[<method>_response] ?? error_response (a string one aesDecrypt()ed
    // when needEncrypt) and, with validateSign: true, checkResponseSign() verifies
    // getSignStr(rawBody) (utf8, RSA-SHA1/RSA-SHA256 per signType) and throws AlipayRequestError
    // on a bad or missing sign. With config.camelcase=false the node comes back with its
    // original snake_case keys.
    const extra = { notify_url: call.notify_url };
    if (encrypted) extra.needEncrypt = true;
    const result = await sdk.exec(call.method, bizParams(call, extra), { validateSign });
    const out = { ok: true, response: result, validate_sign: validateSign };
    if (result && typeof result === 'object' && 'traceId' in result) {
      // the SDK adds `traceId` (from a `trace_id` response header) to the node; keep the node clean
      out.trace_id = result.traceId;
      delete result.traceId;
    }
    const responseKey = `${call.method.replaceAll('.', '_')}_response`;
    const node = wireNode(lastRawBody || '', responseKey);
    out.wire = node.wire;
    if (!validateSign) {
      const sign = JSON.parse(lastRawBody).sign;
      out.span_verified = node.wire === 'encrypted' && typeof sign === 'string'
        && sdk.rsaCheck(node.span, sign, signType);
      if (!out.span_verified) {
        return { ok: false, error: `rsaCheck refused the ${node.wire} node: ${lastRawBody}`, response: null, wire: node.wire };
      }
    }
    return out;
  } catch (e) {
    return { ok: false, error: errText(e), response: null };
  }
}

let encryptAll = false;
function encrypted(call) { return call.need_encrypt ?? encryptAll; }

function opPageExecute(sdk, call) {
  // alipay.ts pageExecute(method, httpMethod, bizParams) -> #pageExec(): adds
  // alipay_sdk=alipay-sdk-nodejs-4.0.0 to the signed params; 'get' -> URL string, else the
  // auto-submitting <form> HTML.
  const httpMethod = (call.http_method || 'POST').toUpperCase();
  // With an encryptKey the field needEncrypt makes sign() encrypt biz_content (it is not signed
  // itself), as for exec.
  const page = sdk.pageExecute(call.method, httpMethod,
    bizParams(call, { returnUrl: call.return_url, notifyUrl: call.notify_url, needEncrypt: encrypted(call) }));
  return { ok: true, page };
}

function opSdkExecute(sdk, call) {
  // alipay.ts sdkExecute(): sign() then key=encodeURIComponent(value) joined by & (spaces -> %20).
  const orderString = sdk.sdkExecute(call.method,
    bizParams(call, { notifyUrl: call.notify_url, needEncrypt: encrypted(call) }));
  return { ok: true, order_string: orderString };
}

function opVerifyNotify(sdk, call) {
  // alipay.ts checkNotifySign(postData) (values decodeURIComponent'ed; tries with sign_type, then
  // without) and checkNotifySignV2(postData) (raw values). "verified" = both accepted.
  const params = call.params || {};
  const res = { ok: true };
  for (const [key, fn] of [['verified_v1', 'checkNotifySign'], ['verified_v2', 'checkNotifySignV2']]) {
    try {
      res[key] = Boolean(sdk[fn]({ ...params }));
    } catch (e) { // e.g. URIError from decodeURIComponent on a value containing '%'
      log(`${fn}: ${errText(e)}`);
      res[key] = false;
      res[`${key}_error`] = errText(e);
    }
  }
  res.verified = res.verified_v1 && res.verified_v2;
  return res;
}

async function main() {
  let inp; let privateKey; let alipayPublicKey; let certs;
  try {
    inp = JSON.parse(await readStdin());
    privateKey = readFileSync(inp.app_private_key_file, 'utf8');
    // Certificate mode (公钥证书模式): the three files instead of the bare Alipay public key.
    certs = inp.certificates;
    if (certs) {
      for (const k of ['app_cert_file', 'alipay_cert_file', 'alipay_root_cert_file']) {
        if (typeof certs[k] !== 'string') throw new Error(`certificates.${k} missing`);
      }
    } else {
      alipayPublicKey = readFileSync(inp.alipay_public_key_file, 'utf8');
    }
    for (const k of ['gateway', 'app_id']) if (typeof inp[k] !== 'string') throw new Error(`${k} missing`);
    if (!Array.isArray(inp.calls)) throw new Error('calls must be a list');
  } catch (e) {
    console.error(`node runner: bad input: ${errText(e)}`);
    return 2;
  }
  const charset = inp.charset || 'utf-8';
  // types.ts: `charset?: 'utf-8'` ("只支持 utf-8"); sign() always signs UTF-8 and the body is read
  // as UTF-8, so GBK is not something this SDK can do.
  const utf8 = charset.toLowerCase().replace('-', '') === 'utf8';

  // alipay.ts constructor: with appCertPath it computes appCertSn, alipayCertSn and
  // alipayRootCertSn (antcertutil.ts getSN) and loads alipayPublicKey from alipayPublicCertPath;
  // sign() (util.ts) then adds app_cert_sn and alipay_root_cert_sn to every request, signed.
  const keys = certs
    ? { appCertPath: certs.app_cert_file, alipayPublicCertPath: certs.alipay_cert_file,
      alipayRootCertPath: certs.alipay_root_cert_file }
    : { alipayPublicKey }; // needed by validateSign and checkNotifySign*
  // Interface content encryption (接口内容加密): config.encryptKey (types.ts), used by every call
  // made with needEncrypt.
  encryptAll = typeof inp.encrypt_key === 'string';
  const sdk = new AlipaySdk({
    ...(encryptAll ? { encryptKey: inp.encrypt_key } : {}),
    appId: inp.app_id,
    privateKey, // PEM; formatKey() strips and re-adds the header for keyType
    keyType: 'PKCS1',
    ...keys,
    gateway: inp.gateway,
    signType: inp.sign_type || 'RSA2',
    camelcase: false, // default true would camelCase the response node's keys
    timeout: 15000, // default 5000 ms; loaded CI machines are slow
  });

  const results = [];
  for (const call of inp.calls) {
    const op = call && typeof call === 'object' ? call.op : undefined;
    let res;
    try {
      if (['execute', 'page_execute', 'sdk_execute'].includes(op) && !utf8) {
        res = { ok: false, error: 'unsupported: alipay-sdk (node) only speaks utf-8' };
        if (op === 'execute') res.response = null;
      } else if (op === 'execute') {
        res = await opExecute(sdk, call, encrypted(call), inp.sign_type || 'RSA2');
      } else if (op === 'page_execute') {
        res = opPageExecute(sdk, call);
      } else if (op === 'sdk_execute') {
        res = opSdkExecute(sdk, call);
      } else if (op === 'verify_notify') {
        res = opVerifyNotify(sdk, call);
      } else {
        res = { ok: false, error: 'unsupported' };
      }
    } catch (e) {
      log(e && e.stack ? e.stack : e);
      res = { ok: false, error: errText(e) };
      if (op === 'execute') res.response = null;
    }
    results.push(res);
  }
  const out = { results };
  if (certs) {
    out.sns = { app_cert_sn: sdk.config.appCertSn, alipay_cert_sn: sdk.config.alipayCertSn,
      alipay_root_cert_sn: sdk.config.alipayRootCertSn };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

main().then(code => { process.exitCode = code; }, e => {
  console.error(`node runner: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 2;
});

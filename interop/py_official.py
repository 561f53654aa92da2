#!/usr/bin/env python3
"""Interop runner for the official Python SDK, PyPI `alipay-sdk-python` 3.7.1411.

Run with the python of `$INTEROP_DIR/venv-official` (see setup.sh). Reads ONE JSON object on
stdin, writes ONE JSON object on stdout; see README.md for the contract. Diagnostics go to
stderr. Exit status is 0 unless the input itself is broken (then 2).

SDK sources referred to below are under `alipay/aop/api/` in the venv's site-packages.
"""
import http.client
import importlib
import json
import sys
import traceback
from urllib.parse import urlsplit, urlunsplit

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.constant.ParamConstants import P_METHOD, P_VERSION
from alipay.aop.api.util import EncryptUtils, WebUtils
from alipay.aop.api.util.SignatureUtils import get_sign_content, verify_with_rsa

SDK = "alipay-sdk-python 3.7.1411"


def log(*args):
    print("py_official:", *args, file=sys.stderr, flush=True)


def err_text(e):
    return "%s: %s" % (type(e).__name__, e)


# ---------------------------------------------------------------------------------------------
# Transport quirk. util/WebUtils.get_http_connection() ignores the port of server_url when it
# opens the socket (`httplib.HTTPConnection(host=host, port=80)`, 443 for https) and, when the
# URL does carry a port, crashes building the request target (`url += url_parse_result.port`,
# str + int -> TypeError). So the unmodified SDK can only talk to :80/:443. To reach a test
# gateway on another port we give the SDK the gateway URL *without* the port (so every byte the
# SDK builds -- absolute-form target, Host header, query, body -- is its own) and swap the
# `httplib` module WebUtils looks up for a shim whose HTTPConnection dials the real port.
# Nothing else in the SDK is touched.
# ---------------------------------------------------------------------------------------------
#
# The same shim taps the answer: its responses record the body the SDK reads, so the runner can
# report whether the node was encrypted on the wire (the SDK accepts either).
# ---------------------------------------------------------------------------------------------
LAST_BODY = [None]


class _TappedResponse(http.client.HTTPResponse):
    def read(self, amt=None):
        data = super().read(amt)
        if amt is None:
            LAST_BODY[0] = data
        return data


class _TappedConnection(http.client.HTTPConnection):
    response_class = _TappedResponse


class _PortPinnedHttplib:
    def __init__(self, port):
        self._port = port

    def HTTPConnection(self, host, port=None, timeout=None):  # noqa: N802 (mirrors http.client)
        return _TappedConnection(host=host, port=self._port or port, timeout=timeout)

    def HTTPSConnection(self, host, port=None, timeout=None):  # noqa: N802
        return http.client.HTTPSConnection(host=host, port=self._port or port, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Interface content encryption (接口内容加密): config.encrypt_type = 'AES' and encrypt_key make
# the SDK encrypt biz_content and decrypt answers (util/EncryptUtils.py). On Python 3 every
# encrypted call raises `TypeError: Object type <class 'str'> cannot be passed to C code`:
# aes_encrypt_content() hands pycryptodome a text IV ('\0' * 16) and the padded *text*, and
# aes_decrypt_content() the same text IV. The smallest wrapper that passes the bytes it meant
# replaces the `AES` name EncryptUtils looks up: the IV as its 16 zero bytes, the padded text in
# the configured charset (the SDK computed the padding over exactly those bytes). Its padding,
# base64 and charset handling, and everything else of the SDK, run unchanged.
# ---------------------------------------------------------------------------------------------
class _BytesAes:
    def __init__(self, aes, charset):
        self._aes = aes
        self._charset = charset
        self.block_size = aes.block_size
        self.MODE_CBC = aes.MODE_CBC  # noqa: N815 (mirrors Crypto.Cipher.AES)

    def new(self, key, mode, iv):
        if isinstance(iv, str):
            iv = iv.encode("latin-1")
        return _BytesCipher(self._aes.new(key, mode, iv), self._charset)


class _BytesCipher:
    def __init__(self, cipher, charset):
        self._cipher = cipher
        self._charset = charset

    def encrypt(self, data):
        if isinstance(data, str):
            data = data.encode(self._charset)
        return self._cipher.encrypt(data)

    def decrypt(self, data):
        return self._cipher.decrypt(data)


def split_gateway(gateway):
    """Return (url_without_port, explicit_port_or_None)."""
    parts = urlsplit(gateway)
    default = 443 if parts.scheme == "https" else 80
    if parts.port is None or parts.port == default:
        return gateway, None
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = "[" + host + "]"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), parts.port


# ---------------------------------------------------------------------------------------------
# Requests. The SDK has one request class per method (request/AlipayFundCoupon*Request.py).
# Setting `request.biz_content = <dict>` goes through the method's model
# (domain/*Model.from_alipay_dict / to_alipay_dict): keys the model does not know and falsy
# values ("" / 0 / None) are DROPPED, and get_params() serialises with
# json.dumps(ensure_ascii=False, sort_keys=True, separators=(',', ':')). That is exactly what an
# application using the SDK sends, so it is the default path.
# For a method without a request class (or when the input gives biz_content as a JSON *string*,
# an extension for tests that need exact bytes) we use GenericRequest below, which implements the
# same duck-typed interface DefaultAlipayClient uses (get_params / get_multipart_params /
# need_encrypt) and serialises dicts the same way the generated classes do.
# ---------------------------------------------------------------------------------------------
class GenericRequest(object):
    def __init__(self, method, biz_content):
        self.method = method
        self.biz_content = biz_content
        self.version = "1.0"
        self.notify_url = None
        self.return_url = None
        self.need_encrypt = False

    def get_params(self):
        params = {P_METHOD: self.method, P_VERSION: self.version}
        if isinstance(self.biz_content, str):
            params["biz_content"] = self.biz_content
        elif self.biz_content:
            params["biz_content"] = json.dumps(self.biz_content, ensure_ascii=False, sort_keys=True,
                                               separators=(",", ":"))
        if self.notify_url:
            params["notify_url"] = self.notify_url
        if self.return_url:
            params["return_url"] = self.return_url
        return params

    def get_multipart_params(self):
        return dict()


def request_class_for(method):
    """alipay.fund.coupon.operation.query -> request.AlipayFundCouponOperationQueryRequest"""
    name = "".join(p[:1].upper() + p[1:] for p in method.split(".")) + "Request"
    try:
        module = importlib.import_module("alipay.aop.api.request." + name)
        return getattr(module, name)
    except (ImportError, AttributeError):
        return None


def build_request(call):
    method = call["method"]
    biz = call.get("biz_content")
    cls = request_class_for(method)
    if cls is None or isinstance(biz, str):
        req = GenericRequest(method, biz)
    else:
        req = cls()
        if biz is not None:
            req.biz_content = biz  # -> Model.from_alipay_dict(biz)
            model = req.biz_content
            kept = model.to_alipay_dict() if model is not None else {}
            dropped = sorted(set(biz) - set(kept))
            if dropped:
                log("%s model dropped biz_content keys %s (unknown to the model or falsy)"
                    % (method, dropped))
    if call.get("notify_url"):
        req.notify_url = call["notify_url"]
    if call.get("return_url"):
        req.return_url = call["return_url"]
    return req


# ---------------------------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------------------------
def op_execute(client, call):
    req = build_request(call)
    try:
        # DefaultAlipayClient.execute(): POST, common params in the query, biz_content in the
        # body; __parse_response() extracts the node text and verifies it with
        # verify_with_rsa(alipay_public_key, ...) (always, since skip_sign is False), then returns
        # the node text (decoded with the configured charset).
        LAST_BODY[0] = None
        node_text = client.execute(req)
    except Exception as e:  # ResponseException / RequestException / TypeError ...
        return {"ok": False, "error": err_text(e), "response": None}
    try:
        node = json.loads(node_text)
    except ValueError as e:
        return {"ok": False, "error": "node is not JSON: " + err_text(e), "response": None}
    return {"ok": True, "response": node, "wire": wire_form(call["method"], client)}


def wire_form(method, client):
    """'encrypted' when the answer's node was a JSON string on the wire, else 'clear'."""
    body = LAST_BODY[0]
    if body is None:
        return "unknown"
    text = body.decode(client_charset[0], errors="replace")
    key = '"%s_response"' % method.replace(".", "_")
    at = text.find(key)
    if at < 0:
        return "none"
    rest = text[at + len(key):].lstrip(" \t\n:")
    return "encrypted" if rest.startswith('"') else "clear"


client_charset = ["utf-8"]


def op_page_execute(client, call):
    req = build_request(call)
    http_method = (call.get("http_method") or "POST").upper()
    # DefaultAlipayClient.page_execute(): GET -> URL string, otherwise the punchout_form HTML.
    page = client.page_execute(req, http_method=http_method)
    return {"ok": True, "page": page}


def op_sdk_execute(client, call):
    req = build_request(call)
    # DefaultAlipayClient.sdk_execute(): url_encode(all params, charset), no HTTP.
    return {"ok": True, "order_string": client.sdk_execute(req)}


def op_verify_notify(cfg, call):
    # The SDK ships no notification helper. This is the recipe of Alipay's docs for this SDK
    # (rsaCheckV1): drop `sign` and `sign_type`, util/SignatureUtils.get_sign_content() over the
    # rest (sorted k=v joined by &), encode in the notification's charset, then
    # util/SignatureUtils.verify_with_rsa(alipay_public_key, message, sign). verify_with_rsa is
    # rsa.verify(), which takes SHA-1 or SHA-256 from the signature itself.
    params = dict(call.get("params") or {})
    sign = params.pop("sign", None)
    params.pop("sign_type", None)
    if not sign:
        return {"ok": True, "verified": False}
    charset = params.get("charset") or cfg["charset"]
    message = get_sign_content(params).encode(charset)
    try:
        verified = verify_with_rsa(cfg["alipay_public_key"], message, sign)
    except Exception as e:  # rsa.VerificationError on a bad signature
        log("verify_notify:", err_text(e))
        verified = False
    return {"ok": True, "verified": bool(verified)}


def make_client(cfg, server_url):
    config = AlipayClientConfig()
    config.server_url = server_url
    config.app_id = cfg["app_id"]
    config.app_private_key = cfg["app_private_key"]
    config.alipay_public_key = cfg["alipay_public_key"]  # response verification is on
    config.charset = cfg["charset"]
    config.sign_type = cfg["sign_type"]
    if cfg.get("encrypt_key"):
        config.encrypt_type = "AES"
        config.encrypt_key = cfg["encrypt_key"]
    return DefaultAlipayClient(alipay_client_config=config)


def main():
    try:
        inp = json.load(sys.stdin)
        with open(inp["app_private_key_file"]) as f:
            app_private_key = f.read().strip()
        with open(inp["alipay_public_key_file"]) as f:
            alipay_public_key = f.read().strip()
        cfg = {
            "gateway": inp["gateway"],
            "app_id": inp["app_id"],
            "app_private_key": app_private_key,
            "alipay_public_key": alipay_public_key,
            "charset": inp.get("charset") or "utf-8",
            "sign_type": inp.get("sign_type") or "RSA2",
            "encrypt_key": inp.get("encrypt_key"),
        }
        calls = inp["calls"]
        if not isinstance(calls, list):
            raise ValueError("calls must be a list")
    except Exception as e:
        print("py_official: bad input: " + err_text(e), file=sys.stderr)
        return 2

    # page/sdk execute build URLs from server_url themselves: give them the real gateway.
    url_client = make_client(cfg, cfg["gateway"])
    portless, port = split_gateway(cfg["gateway"])
    WebUtils.httplib = _PortPinnedHttplib(port)
    exec_client = make_client(cfg, portless)
    client_charset[0] = cfg["charset"]
    if cfg["encrypt_key"]:
        EncryptUtils.AES = _BytesAes(EncryptUtils.AES, cfg["charset"])

    results = []
    for call in calls:
        op = call.get("op") if isinstance(call, dict) else None
        try:
            if op == "execute":
                res = op_execute(exec_client, call)
            elif op == "page_execute":
                res = op_page_execute(url_client, call)
            elif op == "sdk_execute":
                res = op_sdk_execute(url_client, call)
            elif op == "verify_notify":
                res = op_verify_notify(cfg, call)
            else:
                res = {"ok": False, "error": "unsupported"}
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            res = {"ok": False, "error": err_text(e)}
            if op == "execute":
                res["response"] = None
        results.append(res)

    sys.stdout.write(json.dumps({"results": results}))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

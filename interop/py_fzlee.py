#!/usr/bin/env python3
"""Interop runner for the community SDK PyPI `python-alipay-sdk` 3.4.0 (github fzlee/alipay).

Run with the python of `$INTEROP_DIR/venv-fzlee` (see setup.sh). Reads ONE JSON object on stdin,
writes ONE JSON object on stdout; see README.md for the contract. Diagnostics go to stderr.
Exit status is 0 unless the input itself is broken (then 2).

All SDK code referred to below is in the venv's `alipay/__init__.py` (class BaseAliPay).
"""
import json
import sys
import traceback

from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayException, AliPayValidationError

SDK = "python-alipay-sdk 3.4.0"


def log(*args):
    print("py_fzlee:", *args, file=sys.stderr, flush=True)


def err_text(e):
    return "%s: %s" % (type(e).__name__, e)


def call_kwargs(call, keys):
    # build_body() pops empty notify_url/return_url itself; we only pass what was given.
    return {k: call[k] for k in keys if call.get(k)}


def node_from_exception(e, response_type):
    """AliPayException(code, message=raw_body): recover the node from the raw body if we can."""
    raw = getattr(e, "_AliPayException__message", None)
    if not isinstance(raw, str):
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    node = body.get(response_type) or body.get("error_response")
    return node if isinstance(node, dict) else None


def op_execute(alipay, call):
    method = call["method"]
    response_type = method.replace(".", "_") + "_response"
    try:
        # BaseAliPay.server_api(): build_body() (charset hard-coded "utf-8", no `format`) ->
        # verified_sync_response(): GET gateway?<sign_data(data)> (everything, biz_content and
        # sign included, in the query) -> _verify_and_return_sync_response():
        #   * raises AliPayException(code, raw_body) if the body has no "sign" key OR has an
        #     "error_response" key -- it never returns the node then; we report ok:false and
        #     recover the node from the raw body the exception carries;
        #   * otherwise extracts the node text (_get_string_to_be_signed: first "{" after the
        #     first "<response_type>", naive brace count), verifies it with _verify()
        #     (UTF-8 bytes, SHA1 for RSA / SHA256 for RSA2) and raises AliPayValidationError on a
        #     bad signature;
        #   * returns json.loads(node text). A *signed* business error (40004 ...) in the
        #     method's own node is returned like a success, so it is ok:true here.
        node = alipay.server_api(method, call.get("biz_content"), **call_kwargs(call, ["notify_url"]))
    except AliPayException as e:
        return {"ok": False, "error": err_text(e), "response": node_from_exception(e, response_type)}
    except AliPayValidationError as e:
        return {"ok": False, "error": "AliPayValidationError: response signature verification failed",
                "response": None}
    except Exception as e:  # urllib HTTPError / URLError, JSON errors ...
        return {"ok": False, "error": err_text(e), "response": None}
    return {"ok": True, "response": node}


def op_page_execute(alipay, call):
    # No generic page API and no HTML form builder. The SDK's page methods
    # (api_alipay_trade_page_pay etc.) return sign_data(build_body(...)) and its docs tell you to
    # open gateway + "?" + that string; client_api() is the generic form of the same. So GET only.
    if (call.get("http_method") or "POST").upper() != "GET":
        return {"ok": False, "error": "unsupported: python-alipay-sdk builds only GET page URLs"}
    order_string = alipay.client_api(call["method"], call.get("biz_content"),
                                     **call_kwargs(call, ["return_url", "notify_url"]))
    return {"ok": True, "page": alipay._gateway + "?" + order_string}


def op_sdk_execute(alipay, call):
    # BaseAliPay.client_api(): "alipay api without http request" = sign_data(build_body(...)).
    order_string = alipay.client_api(call["method"], call.get("biz_content"),
                                     **call_kwargs(call, ["notify_url"]))
    return {"ok": True, "order_string": order_string}


def op_verify_notify(alipay, call):
    # BaseAliPay.verify(data, signature): caller removes `sign`; verify() pops `sign_type` (and
    # raises AliPayException if it differs from the configured sign_type), sorts the rest and
    # verifies k=v&... (UTF-8) with the configured algorithm.
    data = dict(call.get("params") or {})
    signature = data.pop("sign", None)
    if not signature:
        return {"ok": True, "verified": False}
    try:
        verified = alipay.verify(data, signature)
    except AliPayException as e:
        return {"ok": False, "error": err_text(e), "verified": False}
    except Exception as e:  # e.g. malformed base64
        log("verify_notify:", err_text(e))
        verified = False
    return {"ok": True, "verified": bool(verified)}


def main():
    try:
        inp = json.load(sys.stdin)
        with open(inp["app_private_key_file"]) as f:
            app_private_key = f.read()
        # Certificate mode (DCAliPay): the three certificate files instead of the public key.
        certs = inp.get("certificates")
        cert_texts = None
        alipay_public_key = None
        if certs:
            cert_texts = {}
            for k in ("app_cert_file", "alipay_cert_file", "alipay_root_cert_file"):
                with open(certs[k]) as f:
                    cert_texts[k] = f.read()
        else:
            with open(inp["alipay_public_key_file"]) as f:
                alipay_public_key = f.read()
        gateway = inp["gateway"]
        app_id = inp["app_id"]
        charset = inp.get("charset") or "utf-8"
        sign_type = inp.get("sign_type") or "RSA2"
        calls = inp["calls"]
        if not isinstance(calls, list):
            raise ValueError("calls must be a list")
    except Exception as e:
        print("py_fzlee: bad input: " + err_text(e), file=sys.stderr)
        return 2

    if cert_texts:
        # DCAliPay: build_body() adds app_cert_sn and alipay_root_cert_sn (get_cert_sn,
        # get_root_cert_sn: bundles split on blank lines, non-RSA roots skipped); answers are
        # verified with the key of alipay_public_key_cert_string (alipay_cert_sn is not checked).
        alipay = DCAliPay(
            appid=app_id,
            app_notify_url=None,
            app_private_key_string=app_private_key,
            app_public_key_cert_string=cert_texts["app_cert_file"],
            alipay_public_key_cert_string=cert_texts["alipay_cert_file"],
            alipay_root_cert_string=cert_texts["alipay_root_cert_file"],
            sign_type=sign_type,
        )
    else:
        alipay = AliPay(
            appid=app_id,
            app_notify_url=None,
            app_private_key_string=app_private_key,
            alipay_public_key_string=alipay_public_key,  # verified_sync_response() always verifies
            sign_type=sign_type,
        )
    # __init__ hard-codes Alipay's production gateway in self._gateway (no setter); point it at ours.
    alipay._gateway = gateway

    # build_body() hard-codes charset=utf-8 and sign_data()/_sign()/_verify() use UTF-8, so the
    # SDK cannot speak GBK: refuse rather than send something the SDK never sends.
    utf8 = charset.lower().replace("-", "") == "utf8"

    results = []
    for call in calls:
        op = call.get("op") if isinstance(call, dict) else None
        try:
            if op in ("execute", "page_execute", "sdk_execute") and not utf8:
                res = {"ok": False, "error": "unsupported: python-alipay-sdk only speaks utf-8"}
                if op == "execute":
                    res["response"] = None
            elif op == "execute":
                res = op_execute(alipay, call)
            elif op == "page_execute":
                res = op_page_execute(alipay, call)
            elif op == "sdk_execute":
                res = op_sdk_execute(alipay, call)
            elif op == "verify_notify":
                res = op_verify_notify(alipay, call)
            else:
                res = {"ok": False, "error": "unsupported"}
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            res = {"ok": False, "error": err_text(e)}
            if op == "execute":
                res["response"] = None
        results.append(res)

    out = {"results": results}
    if cert_texts:
        out["sns"] = {"app_cert_sn": alipay.app_cert_sn,
                      "alipay_cert_sn": DCAliPay.get_cert_sn(cert_texts["alipay_cert_file"]),
                      "alipay_root_cert_sn": alipay.alipay_root_cert_sn}
    sys.stdout.write(json.dumps(out))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fixed vectors from the official Python SDK (PyPI `alipay-sdk-python` 3.7.1411), for
crates/client/tests/python_vectors.rs.

Run with the python of `$INTEROP_DIR/venv-official` (interop/setup.sh). Reads ONE JSON object on
stdin: {"gateway", "app_id", "app_private_key_file", "charset", "sign_type", "timestamp"
("yyyy-MM-dd HH:mm:ss"), "cases": [{"method", "biz_content" (a JSON *string*, sent verbatim),
"app_method"? (for the order string), "notify_url"?, "return_url"?}]}. Writes ONE JSON object: {"results": [{"sign_content", "sign",
"page_url", "page_form", "order_string"}]}.

Only two things are changed in the SDK: `datetime.now()` in DefaultAlipayClient returns the
fixed timestamp, and a logger captures the `request:` line where the SDK logs
`server_url?<sign content>&sign=<sign>` (DefaultAlipayClient.__prepare_request_params), which
is how the exact sign content and signature are read back.

With "encrypt_key" in the input the SDK encrypts biz_content (接口内容加密: encrypt_type = 'AES').
Its EncryptUtils raises TypeError on Python 3 (a text IV and text plaintext handed to
pycryptodome), so the `AES` it calls is wrapped to pass the bytes it meant, exactly as
interop/py_official.py does; nothing else changes.
"""
import datetime as real_datetime
import json
import sys

import alipay.aop.api.DefaultAlipayClient  # noqa: F401 (the module, patched below)
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.constant.ParamConstants import P_METHOD, P_VERSION
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.util import EncryptUtils

CLIENT_MODULE = sys.modules["alipay.aop.api.DefaultAlipayClient"]


class FixedDatetimeModule:
    """Stands in for the `datetime` module inside DefaultAlipayClient."""

    def __init__(self, fixed):
        fixed_value = fixed

        class FixedDatetime(real_datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return fixed_value

        self.datetime = FixedDatetime


class GenericRequest(object):
    """Same duck-typed interface as the SDK's request classes (see interop/py_official.py),
    with biz_content sent verbatim."""

    def __init__(self, method, biz_content, notify_url=None, return_url=None):
        self.method = method
        self.biz_content = biz_content
        self.version = "1.0"
        self.notify_url = notify_url
        self.return_url = return_url
        self.need_encrypt = False

    def get_params(self):
        params = {P_METHOD: self.method, P_VERSION: self.version}
        if self.biz_content:
            params["biz_content"] = self.biz_content
        if self.notify_url:
            params["notify_url"] = self.notify_url
        if self.return_url:
            params["return_url"] = self.return_url
        return params

    def get_multipart_params(self):
        return dict()


class BytesAes:
    """EncryptUtils' `AES`, taking the text IV and text plaintext it is given as the bytes meant:
    the IV's 16 zero bytes, the padded text in the configured charset."""

    def __init__(self, aes, charset):
        self.aes, self.charset = aes, charset
        self.block_size, self.MODE_CBC = aes.block_size, aes.MODE_CBC

    def new(self, key, mode, iv):
        cipher = self.aes.new(key, mode, iv.encode("latin-1") if isinstance(iv, str) else iv)
        charset = self.charset

        class Cipher:
            def encrypt(self, data):
                return cipher.encrypt(data.encode(charset) if isinstance(data, str) else data)

            def decrypt(self, data):
                return cipher.decrypt(data)

        return Cipher()


class CaptureLogger:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    def __getattr__(self, name):  # warning/error/debug: ignored
        return lambda *args, **kwargs: None


def main():
    inp = json.load(sys.stdin)
    fixed = real_datetime.datetime.strptime(inp["timestamp"], "%Y-%m-%d %H:%M:%S")
    CLIENT_MODULE.datetime = FixedDatetimeModule(fixed)
    with open(inp["app_private_key_file"]) as f:
        private_key = f.read().strip()
    config = AlipayClientConfig()
    config.server_url = inp["gateway"]
    config.app_id = inp["app_id"]
    config.app_private_key = private_key
    config.alipay_public_key = ""  # never used: nothing is sent
    config.charset = inp["charset"]
    config.sign_type = inp["sign_type"]
    if inp.get("encrypt_key"):
        config.encrypt_type = "AES"
        config.encrypt_key = inp["encrypt_key"]
        EncryptUtils.AES = BytesAes(EncryptUtils.AES, inp["charset"])
    logger = CaptureLogger()
    client = DefaultAlipayClient(alipay_client_config=config, logger=logger)

    results = []
    for case in inp["cases"]:
        def request(method=case["method"]):
            return GenericRequest(method, case["biz_content"], case.get("notify_url"),
                                  case.get("return_url"))

        logger.lines.clear()
        page_url = client.page_execute(request(), http_method="GET")
        logged = [l for l in logger.lines if "]request:" in l][-1]
        signed = logged.split("]request:", 1)[1][len(config.server_url) + 1:]
        sign_content, sign = signed.rsplit("&sign=", 1)
        page_form = client.page_execute(request(), http_method="POST")
        order_string = client.sdk_execute(request(case.get("app_method", case["method"])))
        results.append({
            "sign_content": sign_content,
            "sign": sign,
            "page_url": page_url,
            "page_form": page_form,
            "order_string": order_string,
        })
    sys.stdout.write(json.dumps({"results": results}, ensure_ascii=False))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

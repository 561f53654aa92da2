//! Signed requests, laid out byte for byte as the official Python SDK (`alipay-sdk-python`
//! 3.7.1411, `DefaultAlipayClient`) lays them out.
//!
//! - Common parameters, in this order: `timestamp, app_id, method, charset, format, version,
//!   sign_type` (then `app_cert_sn`, `alipay_root_cert_sn` in certificate mode, which the Python
//!   SDK lacks), then `app_auth_token`, `notify_url`, `return_url` when set, then `sign`. They go
//!   in the URL query (`__get_common_params`).
//! - Everything else (`biz_content`) goes in the form body, or after the query in a page URL,
//!   or after `sign` in an app order string (`__prepare_sdk_request`).
//! - Values are percent-encoded like `quote_plus(value, encoding=charset)`: bytes of the
//!   charset, `A-Z a-z 0-9 _ . - ~` kept, space as `+` (`WebUtils.url_encode`).
//! - The signature is `hongbao_protocol::sign_content::sign_request` over every parameter:
//!   sorted `k=v&…`, encoded in the charset, RSA2/RSA PKCS#1 v1.5.
//! - With an `encrypt_key` (接口内容加密), `encrypt_type=AES` follows `sign_type` in the query
//!   and `biz_content` is its ciphertext (`__prepare_request_params`: encrypted first, signed
//!   after).
//!
//! Empty optional values are never added, so the "drop blanks" rule of the sign content never
//! has anything to drop and the Python SDK (which drops falsy values) signs the same text.

use crate::error::Error;
use hongbao_protocol::encryption::{encrypt_biz_content, EncryptKey, EncryptType, ENCRYPT_TYPE};
use hongbao_protocol::sign_content::sign_request;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_sign::PrivateKey;

/// The `timestamp` format of every official SDK (local time, no zone).
pub(crate) const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What one call adds to the client's configuration.
pub(crate) struct RequestParts<'a> {
    pub method: &'a str,
    pub biz_content: &'a str,
    pub notify_url: Option<&'a str>,
    pub return_url: Option<&'a str>,
    pub app_auth_token: Option<&'a str>,
}

/// The client's side of every request.
pub(crate) struct Signer<'a> {
    pub app_id: &'a str,
    pub charset: Charset,
    pub sign_type: SignType,
    pub key: &'a PrivateKey,
    /// Certificate mode: `app_cert_sn` and `alipay_root_cert_sn`.
    pub cert_sns: Option<(&'a str, &'a str)>,
    /// Content encryption: the app's AES key.
    pub encrypt_key: Option<&'a EncryptKey>,
}

/// A signed request: the query part (common parameters, `sign` last) and the body part.
#[derive(Clone, Debug)]
pub(crate) struct SignedRequest {
    pub query: Vec<(&'static str, String)>,
    pub body: Vec<(&'static str, String)>,
    pub charset: Charset,
}

fn push_nonblank(list: &mut Vec<(&'static str, String)>, key: &'static str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        list.push((key, value.to_owned()));
    }
}

impl Signer<'_> {
    /// Builds and signs a request at `timestamp` (already formatted, see `TIMESTAMP_FORMAT`).
    pub fn sign(&self, parts: &RequestParts<'_>, timestamp: &str) -> Result<SignedRequest, Error> {
        let mut query: Vec<(&'static str, String)> = vec![
            ("timestamp", timestamp.to_owned()),
            ("app_id", self.app_id.to_owned()),
            ("method", parts.method.to_owned()),
            ("charset", self.charset.as_str().to_owned()),
            ("format", "json".to_owned()),
            ("version", "1.0".to_owned()),
            ("sign_type", self.sign_type.as_str().to_owned()),
        ];
        if self.encrypt_key.is_some() {
            query.push((ENCRYPT_TYPE, EncryptType::Aes.as_str().to_owned()));
        }
        // Certificate mode: the SNs go in the query with the other common parameters (as Java
        // and Node put them), signed like everything else.
        if let Some((app_cert_sn, alipay_root_cert_sn)) = self.cert_sns {
            query.push(("app_cert_sn", app_cert_sn.to_owned()));
            query.push(("alipay_root_cert_sn", alipay_root_cert_sn.to_owned()));
        }
        push_nonblank(&mut query, "app_auth_token", parts.app_auth_token);
        push_nonblank(&mut query, "notify_url", parts.notify_url);
        push_nonblank(&mut query, "return_url", parts.return_url);
        let mut body = Vec::new();
        match self.encrypt_key {
            Some(key) if !parts.biz_content.trim().is_empty() => {
                let sealed = encrypt_biz_content(key, parts.biz_content, self.charset)
                    .map_err(|err| Error::invalid(format!("biz_content: {err}")))?;
                body.push(("biz_content", sealed));
            }
            _ => push_nonblank(&mut body, "biz_content", Some(parts.biz_content)),
        }
        let all: Params = query.iter().chain(body.iter()).map(|(k, v)| (*k, v.as_str())).collect();
        // Checked first so the error names the value rather than "cannot sign".
        for (key, value) in all.iter() {
            if self.charset.encode(value).is_none() {
                return Err(Error::invalid(format!(
                    "{key} has characters {} cannot hold",
                    self.charset.as_str()
                )));
            }
        }
        let sign = sign_request(&all, self.charset, self.sign_type, self.key)
            .map_err(|err| Error::invalid("the app private key cannot sign").with_source(err))?;
        query.push(("sign", sign));
        Ok(SignedRequest { query, body, charset: self.charset })
    }
}

/// `quote_plus(text, encoding=charset)` of Python 3.7+. `None` when the charset cannot hold a
/// character (`Signer::sign` has checked every value already).
pub(crate) fn quote_plus(text: &str, charset: Charset) -> Option<String> {
    let bytes = charset.encode(text)?;
    let mut out = String::with_capacity(bytes.len() * 3);
    for byte in bytes {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    Some(out)
}

fn url_encode(pairs: &[(&'static str, String)], charset: Charset) -> Result<String, Error> {
    let mut out = String::new();
    for (key, value) in pairs {
        let encoded = quote_plus(value, charset).ok_or_else(|| {
            Error::invalid(format!("{key} has characters {} cannot hold", charset.as_str()))
        })?;
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(&encoded);
    }
    Ok(out)
}

/// `&`, `"`, `<` and `>` as HTML entities, for attribute values.
fn html_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
    out
}

impl SignedRequest {
    /// The URL query: common parameters and `sign`.
    pub fn query_string(&self) -> Result<String, Error> {
        url_encode(&self.query, self.charset)
    }

    /// The form body: `biz_content`.
    pub fn body_string(&self) -> Result<String, Error> {
        url_encode(&self.body, self.charset)
    }

    /// Every parameter, `sign` included.
    pub fn params(&self) -> Params {
        self.query.iter().chain(self.body.iter()).map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// The page GET URL: `gateway?query&body` (`page_execute(request, "GET")`).
    pub fn page_url(&self, gateway: &str) -> Result<String, Error> {
        let mut url = format!("{gateway}?{}", self.query_string()?);
        let body = self.body_string()?;
        if !body.is_empty() {
            url.push('&');
            url.push_str(&body);
        }
        Ok(url)
    }

    /// The auto-submitting page form (`page_execute(request, "POST")`): the same markup as the
    /// Python SDK, except that `&`, `<` and `>` are escaped too (it escapes only `"`), so the
    /// browser submits exactly the signed values whatever they contain.
    pub fn page_form(&self, gateway: &str) -> Result<String, Error> {
        let action = format!("{gateway}?{}", self.query_string()?);
        let mut form = format!(
            "<form name=\"punchout_form\" method=\"post\" action=\"{}\">\n",
            html_attribute(&action)
        );
        for (key, value) in &self.body {
            form.push_str(&format!(
                "<input type=\"hidden\" name=\"{key}\" value=\"{}\">\n",
                html_attribute(value)
            ));
        }
        form.push_str("<input type=\"submit\" value=\"立即支付\" style=\"display:none\" >\n");
        form.push_str("</form>\n<script>document.forms[0].submit();</script>");
        Ok(form)
    }

    /// The app order string (`sdk_execute`): query parameters, `sign`, then the body ones.
    pub fn order_string(&self) -> Result<String, Error> {
        let query = self.query_string()?;
        let body = self.body_string()?;
        Ok(if body.is_empty() { query } else { format!("{query}&{body}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_PRIVATE: &str = include_str!("../../sign/testdata/vector_private_pkcs1.pem");

    #[test]
    fn quote_plus_keeps_pythons_safe_set_and_uses_charset_bytes() {
        assert_eq!(
            quote_plus("a b~c_d.e-f/g:h", Charset::Utf8).as_deref(),
            Some("a+b~c_d.e-f%2Fg%3Ah")
        );
        assert_eq!(quote_plus("红包", Charset::Gbk).as_deref(), Some("%BA%EC%B0%FC"));
        assert_eq!(quote_plus("红包", Charset::Utf8).as_deref(), Some("%E7%BA%A2%E5%8C%85"));
        assert_eq!(quote_plus("😀", Charset::Gbk), None);
    }

    #[test]
    fn common_params_go_in_pythons_order_with_sign_last() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let signer = Signer {
            app_id: "2021",
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            key: &key,
            cert_sns: None,
            encrypt_key: None,
        };
        let parts = RequestParts {
            method: "m.x",
            biz_content: "{\"a\":\"b c\"}",
            notify_url: Some("http://n/"),
            return_url: Some(" "),
            app_auth_token: None,
        };
        let signed = signer.sign(&parts, "2024-01-02 03:04:05").expect("signs");
        let keys: Vec<&str> = signed.query.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "app_id",
                "method",
                "charset",
                "format",
                "version",
                "sign_type",
                "notify_url",
                "sign"
            ]
        );
        assert_eq!(signed.body_string().expect("body"), "biz_content=%7B%22a%22%3A%22b+c%22%7D");
        let form = signed.page_form("https://gw/gateway.do").expect("form");
        assert!(form.contains("value=\"{&quot;a&quot;:&quot;b c&quot;}\""), "{form}");
        assert!(form.contains("&amp;app_id=2021&amp;"), "{form}");
    }

    #[test]
    fn an_encrypting_signer_sends_encrypt_type_after_sign_type_and_signs_the_ciphertext() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let aes = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==").expect("aes");
        let signer = Signer {
            app_id: "2021",
            charset: Charset::Gbk,
            sign_type: SignType::Rsa2,
            key: &key,
            cert_sns: None,
            encrypt_key: Some(&aes),
        };
        let parts = RequestParts {
            method: "m.x",
            biz_content: "{\"t\":\"红包\"}",
            notify_url: None,
            return_url: None,
            app_auth_token: None,
        };
        let signed = signer.sign(&parts, "2024-01-02 03:04:05").expect("signs");
        let keys: Vec<&str> = signed.query.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "app_id",
                "method",
                "charset",
                "format",
                "version",
                "sign_type",
                "encrypt_type",
                "sign"
            ]
        );
        let params = signed.params();
        let ciphertext = params.get("biz_content").expect("biz_content");
        assert_eq!(
            aes.decrypt(ciphertext).expect("opens"),
            Charset::Gbk.encode("{\"t\":\"红包\"}").unwrap()
        );
        let mut unsigned = params.clone();
        let sign = unsigned.remove("sign").expect("sign");
        let content = hongbao_protocol::sign_content::request_sign_content(&unsigned);
        assert!(content.contains(&format!("biz_content={ciphertext}&")), "{content}");
        assert!(key.public_key().unwrap().verify(
            SignType::Rsa2,
            &Charset::Gbk.encode(&content).unwrap(),
            &sign
        ));
    }

    #[test]
    fn a_value_the_charset_cannot_hold_is_refused_before_signing() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let signer = Signer {
            app_id: "2021",
            charset: Charset::Gbk,
            sign_type: SignType::Rsa2,
            key: &key,
            cert_sns: None,
            encrypt_key: None,
        };
        let parts = RequestParts {
            method: "m.x",
            biz_content: "{\"t\":\"😀\"}",
            notify_url: None,
            return_url: None,
            app_auth_token: None,
        };
        let err = signer.sign(&parts, "2024-01-02 03:04:05").expect_err("not GBK");
        assert_eq!(
            err.to_string(),
            "invalid request or configuration: biz_content has characters GBK cannot hold"
        );
    }
}

//! Sign content and signatures over parameter sets: requests, page/app order strings, notifies.
//!
//! Request rule (every official SDK, and Alipay's gateway): all parameters except `sign`
//! (`sign_type` included), values empty or only whitespace dropped, sorted by key, `k=v` joined
//! with `&`, no URL-encoding, then encoded in the request charset. Notify rule (`rsaCheckV1`):
//! the same without `sign_type`.

use crate::charset::Charset;
use crate::error::{RequestError, SignatureHint};
use crate::form::RawPair;
use crate::params::Params;
use hongbao_sign::{PrivateKey, PublicKey, SignError, SignType};

fn content_without(params: &Params, excluded: &[&str]) -> String {
    let mut content = String::new();
    for (key, value) in params.iter() {
        if excluded.contains(&key) || value.trim().is_empty() {
            continue;
        }
        if !content.is_empty() {
            content.push('&');
        }
        content.push_str(key);
        content.push('=');
        content.push_str(value);
    }
    content
}

/// The request sign content: every parameter but `sign`, blanks dropped, sorted, `k=v&…`.
///
/// ```
/// # use hongbao_protocol::{Params, sign_content::request_sign_content};
/// let params: Params =
///     [("b", "2"), ("a", "1"), ("sign", "x"), ("sign_type", "RSA2"), ("empty", " ")].into_iter().collect();
/// assert_eq!(request_sign_content(&params), "a=1&b=2&sign_type=RSA2");
/// ```
pub fn request_sign_content(params: &Params) -> String {
    content_without(params, &["sign"])
}

/// The notify sign content (Alipay's `rsaCheckV1`): like the request rule, without `sign_type`.
pub fn notify_sign_content(params: &Params) -> String {
    content_without(params, &["sign", "sign_type"])
}

/// The exact bytes a client signed, rebuilt from the raw percent-decoded pairs so that no charset
/// round trip can alter them. `params` (the decoded form of `raw`) decides order and blankness.
fn raw_sign_bytes(params: &Params, raw: &[RawPair], charset: Charset) -> Vec<u8> {
    let mut pairs: Vec<(&str, &[u8])> = Vec::with_capacity(raw.len());
    for (key_bytes, value_bytes) in raw {
        let Some(key) = charset.decode(key_bytes) else { continue };
        let Some((decoded_key, value)) = params.iter().find(|(k, _)| *k == key) else { continue };
        if decoded_key == "sign" || value.trim().is_empty() {
            continue;
        }
        pairs.push((decoded_key, value_bytes));
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut bytes = Vec::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            bytes.push(b'&');
        }
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'=');
        bytes.extend_from_slice(value);
    }
    bytes
}

/// Verifies a request signature. On failure the error carries the sign content the gateway built
/// and, when a plausible mistake explains the signature, a hint naming it.
pub fn verify_request(
    params: &Params,
    raw: &[RawPair],
    charset: Charset,
    sign_type: SignType,
    sign: &str,
    key: &PublicKey,
) -> Result<(), RequestError> {
    let bytes = raw_sign_bytes(params, raw, charset);
    if key.verify(sign_type, &bytes, sign) {
        return Ok(());
    }
    let content = request_sign_content(params);
    let hint = signature_hint(params, &content, &bytes, charset, sign_type, sign, key);
    Err(RequestError::BadSignature { sign_content: content, hint })
}

fn signature_hint(
    params: &Params,
    content: &str,
    bytes: &[u8],
    charset: Charset,
    sign_type: SignType,
    sign: &str,
    key: &PublicKey,
) -> Option<SignatureHint> {
    let other = sign_type.other();
    if key.verify(other, bytes, sign) {
        return Some(SignatureHint::OtherAlgorithm { named: sign_type, verifies: other });
    }
    let other_charset_bytes = match charset {
        Charset::Utf8 => Charset::Gbk.encode(content),
        Charset::Gbk | Charset::Gb2312 => Some(content.as_bytes().to_vec()),
    };
    if let Some(other_bytes) = other_charset_bytes.filter(|b| b.as_slice() != bytes) {
        for algorithm in [sign_type, other] {
            if key.verify(algorithm, &other_bytes, sign) {
                return Some(match charset {
                    Charset::Utf8 => SignatureHint::SignedAsGbk,
                    named => SignatureHint::SignedAsUtf8 { named: named.as_str() },
                });
            }
        }
    }
    let without_sign_type = notify_sign_content(params);
    if let Some(encoded) = charset.encode(&without_sign_type) {
        if key.verify(sign_type, &encoded, sign) {
            return Some(SignatureHint::SignTypeLeftOut);
        }
    }
    None
}

/// Signs `params` with the request rule: the sign content encoded in `charset`.
/// Fails only when a value cannot be encoded in `charset` or the key cannot sign.
pub fn sign_request(
    params: &Params,
    charset: Charset,
    sign_type: SignType,
    key: &PrivateKey,
) -> Result<String, SignError> {
    sign_content_in(&request_sign_content(params), charset, sign_type, key)
}

/// Signs `params` with the notify rule (no `sign`, no `sign_type`).
pub fn sign_notify(
    params: &Params,
    charset: Charset,
    sign_type: SignType,
    key: &PrivateKey,
) -> Result<String, SignError> {
    sign_content_in(&notify_sign_content(params), charset, sign_type, key)
}

fn sign_content_in(
    content: &str,
    charset: Charset,
    sign_type: SignType,
    key: &PrivateKey,
) -> Result<String, SignError> {
    let bytes = charset.encode(content).ok_or(SignError::BadKey { kind: "charset-encodable" })?;
    key.sign(sign_type, &bytes)
}

/// Verifies a notify the way `rsaCheckV1` does: `sign` and `sign_type` left out.
pub fn verify_notify(params: &Params, charset: Charset, key: &PublicKey) -> bool {
    let Some(sign) = params.get("sign") else { return false };
    let sign_type = params.get("sign_type").and_then(SignType::parse).unwrap_or(SignType::Rsa2);
    charset
        .encode(&notify_sign_content(params))
        .is_some_and(|bytes| key.verify(sign_type, &bytes, sign))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::decode_request;

    const VECTOR_PRIVATE: &str = include_str!("../../sign/testdata/vector_private_pkcs1.pem");
    const VECTOR_CONTENT: &str = "app_id=2014072300007148&biz_content={\"auth_no\":\"2014021601002000640012345678\",\"operation_id\":\"20140216010020006400\"}&charset=utf-8&format=json&method=alipay.fund.coupon.operation.query&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0";

    fn vector_params() -> Params {
        [
            ("app_id", "2014072300007148"),
            ("method", "alipay.fund.coupon.operation.query"),
            ("format", "json"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2014-07-24 03:07:50"),
            ("version", "1.0"),
            (
                "biz_content",
                r#"{"auth_no":"2014021601002000640012345678","operation_id":"20140216010020006400"}"#,
            ),
        ]
        .into_iter()
        .collect()
    }

    fn form_encode(params: &Params, charset: Charset) -> Vec<u8> {
        let mut out = Vec::new();
        for (index, (key, value)) in params.iter().enumerate() {
            if index > 0 {
                out.push(b'&');
            }
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            for byte in charset.encode(value).expect("encodable") {
                match byte {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte),
                    b' ' => out.push(b'+'),
                    _ => out.extend_from_slice(format!("%{byte:02X}").as_bytes()),
                }
            }
        }
        out
    }

    #[test]
    fn sign_content_matches_the_spec_vector() {
        assert_eq!(request_sign_content(&vector_params()), VECTOR_CONTENT);
    }

    #[test]
    fn a_signed_gbk_request_verifies_and_diagnoses_utf8_signing() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let public = key.public_key().expect("public");
        let mut params = vector_params();
        params.insert("charset", "GBK");
        params.insert("biz_content", r#"{"order_title":"红包发放"}"#);
        let gbk_sign = sign_request(&params, Charset::Gbk, SignType::Rsa2, &key).expect("signs");
        let body = form_encode(&params, Charset::Gbk);
        let decoded = decode_request(b"", &body).expect("decodes");
        assert!(verify_request(
            &decoded.params,
            &decoded.raw,
            Charset::Gbk,
            SignType::Rsa2,
            &gbk_sign,
            &public
        )
        .is_ok());

        // Signed over UTF-8 bytes (what the Node SDK does whatever the charset says).
        let utf8_sign = sign_request(&params, Charset::Utf8, SignType::Rsa2, &key).expect("signs");
        let err = verify_request(
            &decoded.params,
            &decoded.raw,
            Charset::Gbk,
            SignType::Rsa2,
            &utf8_sign,
            &public,
        )
        .expect_err("wrong bytes");
        assert_eq!(
            err,
            RequestError::BadSignature {
                sign_content: request_sign_content(&params),
                hint: Some(SignatureHint::SignedAsUtf8 { named: "GBK" }),
            }
        );
        assert!(err.to_string().contains("网关生成的验签字符串为：app_id=2014072300007148&biz_content={\"order_title\":\"红包发放\"}&charset=GBK"));
    }

    #[test]
    fn the_other_algorithm_and_a_tampered_value_are_diagnosed() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let public = key.public_key().expect("public");
        let params = vector_params();
        let body = form_encode(&params, Charset::Utf8);
        let decoded = decode_request(b"", &body).expect("decodes");
        let sha1 = sign_request(&params, Charset::Utf8, SignType::Rsa, &key).expect("signs");
        let err = verify_request(
            &decoded.params,
            &decoded.raw,
            Charset::Utf8,
            SignType::Rsa2,
            &sha1,
            &public,
        )
        .expect_err("wrong algorithm");
        assert!(matches!(
            err,
            RequestError::BadSignature {
                hint: Some(SignatureHint::OtherAlgorithm {
                    named: SignType::Rsa2,
                    verifies: SignType::Rsa
                }),
                ..
            }
        ));
        let good = sign_request(&params, Charset::Utf8, SignType::Rsa2, &key).expect("signs");
        let mut tampered = params.clone();
        tampered.insert("biz_content", r#"{"auth_no":"1","operation_id":"2"}"#);
        let body = form_encode(&tampered, Charset::Utf8);
        let decoded = decode_request(b"", &body).expect("decodes");
        let err = verify_request(
            &decoded.params,
            &decoded.raw,
            Charset::Utf8,
            SignType::Rsa2,
            &good,
            &public,
        )
        .expect_err("tampered");
        assert_eq!(
            err,
            RequestError::BadSignature {
                sign_content: request_sign_content(&tampered),
                hint: None
            }
        );
    }

    #[test]
    fn blank_values_are_left_out_of_what_is_verified() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let public = key.public_key().expect("public");
        let params = vector_params();
        let sign = sign_request(&params, Charset::Utf8, SignType::Rsa2, &key).expect("signs");
        let mut body = form_encode(&params, Charset::Utf8);
        body.extend_from_slice(b"&notify_url=&app_auth_token=+");
        let decoded = decode_request(b"", &body).expect("decodes");
        assert!(verify_request(
            &decoded.params,
            &decoded.raw,
            Charset::Utf8,
            SignType::Rsa2,
            &sign,
            &public
        )
        .is_ok());
    }

    #[test]
    fn notify_signatures_leave_out_sign_type() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let public = key.public_key().expect("public");
        let mut params: Params =
            [("notify_id", "n1"), ("amount", "1.00"), ("sign_type", "RSA2")].into_iter().collect();
        let sign = sign_notify(&params, Charset::Utf8, SignType::Rsa2, &key).expect("signs");
        assert_eq!(notify_sign_content(&params), "amount=1.00&notify_id=n1");
        params.insert("sign", sign);
        assert!(verify_notify(&params, Charset::Utf8, &public));
        params.insert("amount", "1.01");
        assert!(!verify_notify(&params, Charset::Utf8, &public));
    }
}

//! Verifying an answer before reading it, and the verified node.
//!
//! Order matters (sdk-wire-facts P1–P8): decode the body with the *request* charset (strictly),
//! find `"<method with . as _>_response"` (else `"error_response"`), take its object text up to
//! the matching brace (`hongbao_protocol::envelope::find_signed_node`), and verify the top-level
//! `sign` over that text encoded back in the charset, with the request's `sign_type` and the
//! Alipay public key. Only a node that verifies is parsed. The decoding is checked to round-trip
//! to the received body, so the verified bytes are exactly the bytes received.
//!
//! The answer to an encrypted request (接口内容加密) carries its node as a JSON string: the
//! signature covers the string with both quotes; once it verifies, the string is decrypted
//! with the client's `encrypt_key` and the plaintext node is what is read.

use crate::error::{Error, ErrorKind, GatewayError, SignatureFailure};
use chrono::{DateTime, FixedOffset, Offset, TimeZone};
use hongbao_money::Fen;
use hongbao_protocol::encryption::EncryptKey;
use hongbao_protocol::envelope::{find_signed_node, response_key, ERROR_RESPONSE_KEY};
use hongbao_protocol::{Charset, SignType};
use hongbao_sign::PublicKey;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// A verified response node: its exact text and its fields. Returned by
/// [`Client::execute`](crate::Client::execute) on success.
///
/// Scalar fields read as text: JSON strings as their value, numbers as written (so an amount
/// sent as `100.00` reads `"100.00"`, never a float).
///
/// ```
/// use hongbao_client::{Response, PrivateKey, Charset, SignType};
/// let gateway_key = PrivateKey::generate(1024)?;
/// let node = r#"{"code":"10000","msg":"Success","amount":12.50}"#;
/// let sign = gateway_key.sign(SignType::Rsa2, node.as_bytes())?;
/// let body = format!(r#"{{"x_y_response":{node},"sign":"{sign}"}}"#);
/// let response = Response::verify(body.as_bytes(), "x.y", Charset::Utf8, SignType::Rsa2,
///                                 &gateway_key.public_key()?)?;
/// assert_eq!(response.get("amount"), Some("12.50"));
/// assert_eq!(response.node(), node);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    method: String,
    node: String,
    fields: BTreeMap<String, Field>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Text(String),
    Json(String),
}

impl Response {
    /// Verifies a raw response body for `method` and returns the node, *whatever its code*
    /// (use [`Response::into_result`] to turn error answers into [`Error`]s). Fails with
    /// [`ErrorKind::Signature`] when anything about the signature is wrong.
    ///
    /// ```
    /// use hongbao_client::{Response, PrivateKey, Charset, SignType, ErrorKind, SignatureFailure};
    /// let gateway_key = PrivateKey::generate(1024)?; // Alipay's; you hold only its public key
    /// let node = r#"{"code":"10000","msg":"Success","operation_id":"O1"}"#;
    /// let sign = gateway_key.sign(SignType::Rsa2, node.as_bytes())?;
    /// let body = format!(r#"{{"x_y_response":{node},"sign":"{sign}"}}"#);
    /// let public = gateway_key.public_key()?;
    /// let response = Response::verify(body.as_bytes(), "x.y", Charset::Utf8, SignType::Rsa2, &public)?;
    /// assert_eq!(response.get("operation_id"), Some("O1"));
    /// let tampered = body.replace("O1", "O2");
    /// let err = Response::verify(tampered.as_bytes(), "x.y", Charset::Utf8, SignType::Rsa2, &public)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        body: &[u8],
        method: &str,
        charset: Charset,
        sign_type: SignType,
        alipay_public_key: &PublicKey,
    ) -> Result<Response, Error> {
        Response::verify_decrypting(body, method, charset, sign_type, alipay_public_key, None)
    }

    /// [`Response::verify`] for a client with an `encrypt_key`: an encrypted node is decrypted
    /// after it verifies.
    pub(crate) fn verify_decrypting(
        body: &[u8],
        method: &str,
        charset: Charset,
        sign_type: SignType,
        alipay_public_key: &PublicKey,
        encrypt_key: Option<&EncryptKey>,
    ) -> Result<Response, Error> {
        let undecodable =
            || Error::signature(SignatureFailure::Undecodable { charset: charset.as_str() });
        let text = charset.decode(body).ok_or_else(undecodable)?;
        // GBK: make sure re-encoding the text gives the received bytes, so that what is
        // verified below is what was received.
        if charset != Charset::Utf8 && charset.encode(&text).as_deref() != Some(body) {
            return Err(undecodable());
        }
        Response::verify_text(&text, method, charset, sign_type, alipay_public_key, encrypt_key)
    }

    /// Like [`Response::verify`] over text already decoded (an app.pay `result`).
    pub(crate) fn verify_text(
        text: &str,
        method: &str,
        charset: Charset,
        sign_type: SignType,
        alipay_public_key: &PublicKey,
        encrypt_key: Option<&EncryptKey>,
    ) -> Result<Response, Error> {
        let key = response_key(method)
            .ok_or_else(|| Error::invalid(format!("{method:?} is not a method name")))?;
        let found = find_signed_node(text, &key)
            .or_else(|| find_signed_node(text, ERROR_RESPONSE_KEY))
            .ok_or_else(|| {
                Error::signature(SignatureFailure::NoResponseNode { expected: key.clone() })
            })?;
        let sign = found
            .sign
            .clone()
            .filter(|sign| !sign.trim().is_empty())
            .ok_or_else(|| Error::signature(SignatureFailure::Unsigned))?;
        let node_bytes = charset.encode(found.node).ok_or_else(|| {
            Error::signature(SignatureFailure::Undecodable { charset: charset.as_str() })
        })?;
        if !alipay_public_key.verify(sign_type, &node_bytes, &sign) {
            return Err(Error::signature(SignatureFailure::Mismatch));
        }
        // Verified: from here on the text is the gateway's.
        let malformed = |detail: String| {
            Error::new(ErrorKind::Malformed {
                field: key.clone(),
                detail,
                node: found.node.to_owned(),
            })
        };
        let node =
            match (found.ciphertext(), encrypt_key) {
                (None, _) => found.node.to_owned(),
                (Some(_), None) => return Err(malformed(
                    "the node is encrypted (接口内容加密): give the client the app's encrypt_key"
                        .into(),
                )),
                (Some(ciphertext), Some(aes)) => {
                    let bytes = aes.decrypt(ciphertext).map_err(|err| {
                        malformed(format!(
                            "the encrypted node does not decrypt with encrypt_key: {err}"
                        ))
                    })?;
                    charset.decode(&bytes).ok_or_else(|| {
                        malformed(format!("the decrypted node is not valid {}", charset.as_str()))
                    })?
                }
            };
        let raw: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&node)
            .map_err(|err| malformed(format!("not a JSON object: {err}")))?;
        let fields = raw
            .into_iter()
            .map(|(name, value)| {
                let text = value.get();
                let field = match serde_json::from_str::<Value>(text) {
                    Ok(Value::String(s)) => Field::Text(s),
                    Ok(Value::Number(_)) | Ok(Value::Bool(_)) => Field::Text(text.to_owned()),
                    _ => Field::Json(text.to_owned()),
                };
                (name, field)
            })
            .collect();
        Ok(Response { method: method.to_owned(), node, fields })
    }

    /// Ok when the answer is a success (`code` 10000 and no `sub_code`, as the official SDKs
    /// define it), else the verified [`GatewayError`].
    ///
    /// ```
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// let node = r#"{"code":"40004","msg":"Business Failed","sub_code":"MONEY_NOT_ENOUGH","sub_msg":"余额不足"}"#;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"a_b_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "a.b", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// let err = response.into_result().unwrap_err();
    /// assert_eq!(err.gateway().and_then(|g| g.sub_code()), Some("MONEY_NOT_ENOUGH"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_result(self) -> Result<Response, Error> {
        let sub_code = self.get("sub_code").filter(|s| !s.is_empty());
        if self.code() == "10000" && sub_code.is_none() {
            return Ok(self);
        }
        let gateway = GatewayError::new(
            self.code(),
            self.msg(),
            sub_code,
            self.get("sub_msg").filter(|s| !s.is_empty()),
        )
        .with_node(&self.node);
        Err(Error::new(ErrorKind::Gateway(gateway)))
    }

    /// The method this answers.
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"2024010210002001","amount":"7.00","status":"SUCCESS"}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// assert_eq!(response.method(), "alipay.fund.coupon.order.refund");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The exact node text that was verified (for an encrypted answer: its decryption).
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"2024010210002001","amount":"7.00","status":"SUCCESS"}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// assert_eq!(response.node(), node);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn node(&self) -> &str {
        &self.node
    }

    /// `code` (empty when absent).
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"2024010210002001","amount":"7.00","status":"SUCCESS"}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// assert_eq!(response.code(), "10000");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn code(&self) -> &str {
        self.get("code").unwrap_or("")
    }

    /// `msg` (empty when absent).
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"2024010210002001","amount":"7.00","status":"SUCCESS"}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// assert_eq!(response.msg(), "Success");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn msg(&self) -> &str {
        self.get("msg").unwrap_or("")
    }

    /// A scalar field as text; `None` when absent, `null`, an object or an array.
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","amount":7.00,"extra":{"a":1}}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// assert_eq!(response.get("amount"), Some("7.00")); // the number as written
    /// assert_eq!(response.get("extra"), None); // an object
    /// assert_eq!(response.get("remark"), None); // absent
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)? {
            Field::Text(text) => Some(text),
            Field::Json(_) => None,
        }
    }

    /// The whole node as a JSON value (numbers become `f64`: read amounts with `get`).
    ///
    /// ```
    /// let node = r#"{"code":"10000","msg":"Success","extra":{"ids":["a","b"]}}"#;
    /// # use hongbao_client::{Response, PrivateKey, Charset, SignType};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
    /// # let body = format!(r#"{{"alipay_fund_coupon_order_refund_response":{node},"sign":"{sign}"}}"#);
    /// # let response = Response::verify(body.as_bytes(), "alipay.fund.coupon.order.refund", Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
    /// let json = response.to_json();
    /// assert_eq!(json["extra"]["ids"][1], "b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Value {
        serde_json::from_str(&self.node).unwrap_or(Value::Null)
    }

    pub(crate) fn malformed(&self, field: &str, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed {
            field: field.to_owned(),
            detail: detail.into(),
            node: self.node.clone(),
        })
    }

    /// A field that must be there and not empty.
    pub(crate) fn required(&self, name: &str) -> Result<String, Error> {
        self.optional(name).ok_or_else(|| self.malformed(name, "missing"))
    }

    /// A field that may be absent; empty is absent.
    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        self.get(name).filter(|text| !text.is_empty()).map(str::to_owned)
    }

    pub(crate) fn amount(&self, name: &str) -> Result<Fen, Error> {
        let text = self.required(name)?;
        parse_amount(&text).map_err(|detail| self.malformed(name, detail))
    }

    pub(crate) fn optional_amount(&self, name: &str) -> Result<Option<Fen>, Error> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => {
                parse_amount(&text).map(Some).map_err(|detail| self.malformed(name, detail))
            }
        }
    }

    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<FixedOffset>>, Error> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => parse_beijing_time(&text).map(Some).ok_or_else(|| {
                self.malformed(name, format!("{text:?} is not yyyy-MM-dd HH:mm:ss"))
            }),
        }
    }
}

/// An amount as Alipay prints it (`"100.00"`, or a bare `100.00`), exactly, never via a float.
pub(crate) fn parse_amount(text: &str) -> Result<Fen, String> {
    Fen::parse_non_negative(text).map_err(|err| err.to_string())
}

/// The UTC+8 offset of every `gmt_*` and `notify_time` field.
pub(crate) fn beijing() -> FixedOffset {
    // 8 hours is within ±24 h, so `east_opt` always succeeds; the UTC fallback is never used.
    FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix())
}

/// Parses `yyyy-MM-dd HH:mm:ss` as Beijing time.
pub(crate) fn parse_beijing_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let naive = hongbao_protocol::common::parse_timestamp(text)?;
    beijing().from_local_datetime(&naive).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hongbao_sign::PrivateKey;

    const VECTOR_PRIVATE: &str = include_str!("../../sign/testdata/vector_private_pkcs1.pem");

    fn signed_body(key: &PrivateKey, node_key: &str, node: &str, charset: Charset) -> Vec<u8> {
        let node_bytes = charset.encode(node).expect("encodable");
        let sign = key.sign(SignType::Rsa2, &node_bytes).expect("signs");
        let mut body = format!("{{\"{node_key}\":").into_bytes();
        body.extend_from_slice(&node_bytes);
        body.extend_from_slice(format!(",\"sign\":\"{sign}\"}}").as_bytes());
        body
    }

    #[test]
    fn a_gbk_answer_verifies_over_its_gbk_bytes() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE).expect("key");
        let public = key.public_key().expect("public");
        let node = r#"{"code":"10000","msg":"Success","order_title":"红包发放","amount":"1.00"}"#;
        let body = signed_body(&key, "a_b_response", node, Charset::Gbk);
        let response = Response::verify(&body, "a.b", Charset::Gbk, SignType::Rsa2, &public)
            .expect("verifies");
        assert_eq!(response.get("order_title"), Some("红包发放"));
        // The same bytes read as UTF-8 are refused before any verification.
        let err = Response::verify(&body, "a.b", Charset::Utf8, SignType::Rsa2, &public)
            .expect_err("not utf-8");
        assert_eq!(
            err.kind(),
            &ErrorKind::Signature(SignatureFailure::Undecodable { charset: "utf-8" })
        );
        // And under the other algorithm the signature does not verify.
        let err = Response::verify(&body, "a.b", Charset::Gbk, SignType::Rsa, &public)
            .expect_err("wrong algorithm");
        assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    }

    #[test]
    fn times_are_beijing_and_amounts_exact() {
        let time = parse_beijing_time("2024-01-02 03:04:05").expect("parses");
        assert_eq!(time.to_rfc3339(), "2024-01-02T03:04:05+08:00");
        assert_eq!(parse_amount("100.10"), Ok(Fen::from_fen(10010)));
        assert!(parse_amount("1e2").is_err());
    }
}

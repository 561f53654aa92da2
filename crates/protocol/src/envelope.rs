//! The signed response envelope: `{"<method with . as _>_response":{…},"sign":"…"}`, and in
//! certificate mode `{"<…>_response":{…},"sign":"…","alipay_cert_sn":"…"}`. An answer to an
//! encrypted request (`encryption`) carries the node as a JSON string,
//! `{"<…>_response":"<base64 of the encrypted node>","sign":"…"}`, signed over that string with
//! both quotes (what Java's `extractJsonBase64ValueEndPosition` and the Python SDK's
//! `PATTERN_RESPONSE_ENCRYPT_BEGIN` take).
//!
//! Wire rules (docs: ../shared/spec/sdk-wire-facts.md P1–P8): compact JSON; the response node
//! first and `"sign"` directly after it, nothing between (the official Python SDK takes the
//! *last* `},"sign":"`, Node cuts at `"sign"`); the signature covers the exact bytes of the node
//! as emitted, in the response charset; errors live in the method's own node, `error_response`
//! only when no method was named; amounts are JSON strings (`"100.00"`).

use crate::charset::Charset;
use crate::encryption::EncryptKey;
use serde_json::{Map, Value};

/// The node name for a method: `alipay.fund.coupon.operation.query` →
/// `alipay_fund_coupon_operation_query_response`. `None` when the text could not be a method
/// name (then the answer uses `error_response`).
///
/// ```
/// # use hongbao_protocol::envelope::response_key;
/// assert_eq!(response_key("alipay.fund.coupon.order.refund").as_deref(),
///            Some("alipay_fund_coupon_order_refund_response"));
/// assert_eq!(response_key("bad\"name"), None);
/// ```
pub fn response_key(method: &str) -> Option<String> {
    let plausible = !method.is_empty()
        && method.len() <= 128
        && method.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    plausible.then(|| format!("{}_response", method.replace('.', "_")))
}

/// The node name used when a request names no method at all.
pub const ERROR_RESPONSE_KEY: &str = "error_response";

/// A response node under construction, keys in emission order: `code`, `msg`, then `sub_code`,
/// `sub_msg` (errors only), then the method's fields. The order is kept by the node itself, not
/// by serde_json's `preserve_order` (which a crate sharing this one, the client, leaves off).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseNode(Vec<(String, Value)>);

impl ResponseNode {
    /// `{"code":"10000","msg":"Success"}`.
    pub fn success() -> ResponseNode {
        ResponseNode(Vec::new()).field("code", "10000").field("msg", "Success")
    }

    /// An error node.
    pub fn error(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> ResponseNode {
        ResponseNode(Vec::new())
            .field("code", code)
            .field("msg", msg)
            .field("sub_code", sub_code)
            .field("sub_msg", sub_msg)
    }

    /// Adds a string field.
    pub fn field(self, key: &str, value: impl Into<String>) -> ResponseNode {
        self.field_value(key, Value::String(value.into()))
    }

    /// Adds a string field when `value` is `Some`.
    pub fn field_opt(self, key: &str, value: Option<impl Into<String>>) -> ResponseNode {
        match value {
            Some(value) => self.field(key, value),
            None => self,
        }
    }

    /// Adds a structured field (hongbao's own methods only; Alipay's nodes are flat strings).
    /// A key given twice keeps its first place and takes the later value.
    pub fn field_value(mut self, key: &str, value: Value) -> ResponseNode {
        match self.0.iter_mut().find(|(existing, _)| existing == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
        self
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(existing, _)| existing == key).map(|(_, value)| value)
    }

    /// The fields as a JSON object (for the app.pay `result` and tests).
    pub fn as_map(&self) -> Map<String, Value> {
        self.0.iter().cloned().collect()
    }

    /// Compact JSON text of the node. Braces inside string values are written as `\u007b` /
    /// `\u007d`: python-alipay-sdk counts braces without knowing strings, so a title like
    /// `a}b` would otherwise make it verify the wrong span.
    pub fn to_json(&self) -> String {
        let mut json = String::from("{");
        for (index, (key, value)) in self.0.iter().enumerate() {
            if index > 0 {
                json.push(',');
            }
            // Display of a JSON value is its compact serialization and cannot fail.
            json.push_str(&Value::String(key.clone()).to_string());
            json.push(':');
            json.push_str(&value.to_string());
        }
        json.push('}');
        escape_braces_in_strings(&json)
    }
}

fn escape_braces_in_strings(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in json.chars() {
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                '{' => {
                    out.push_str("\\u007b");
                    continue;
                }
                '}' => {
                    out.push_str("\\u007d");
                    continue;
                }
                _ => {}
            }
        } else if ch == '"' {
            in_string = true;
        }
        out.push(ch);
    }
    out
}

/// Renders the envelope body in `charset`, signing the node bytes with `sign`.
pub fn render<E>(
    key: &str,
    node: &ResponseNode,
    charset: Charset,
    sign: impl FnOnce(&[u8]) -> Result<String, E>,
) -> Result<Vec<u8>, E> {
    render_with_cert_sn(key, node, charset, None, sign)
}

/// Like `render`, adding the top-level `alipay_cert_sn` (the SN of the certificate whose key
/// signed) when given. It goes after `sign`, last: the official Python SDK takes the node up to
/// the last `},"sign":"`, PHP and Java the span before `"sign"`, Node cuts at the last `"sign"`,
/// so nothing may sit between the node and `sign`.
///
/// ```
/// # use hongbao_protocol::{envelope::{render_with_cert_sn, ResponseNode}, Charset};
/// let body = render_with_cert_sn("a_b_response", &ResponseNode::success(), Charset::Utf8,
///     Some("e90dd23a37c5c7b616e003970817ff82"), |_| Ok::<_, ()>("c2ln".to_owned())).unwrap();
/// assert_eq!(String::from_utf8(body).unwrap(), r#"{"a_b_response":{"code":"10000","msg":"Success"},"sign":"c2ln","alipay_cert_sn":"e90dd23a37c5c7b616e003970817ff82"}"#);
/// ```
pub fn render_with_cert_sn<E>(
    key: &str,
    node: &ResponseNode,
    charset: Charset,
    alipay_cert_sn: Option<&str>,
    sign: impl FnOnce(&[u8]) -> Result<String, E>,
) -> Result<Vec<u8>, E> {
    let node_bytes = charset.encode_json(&node.to_json());
    assemble(key, &node_bytes, alipay_cert_sn, sign)
}

/// How an answer's node goes on the wire.
#[derive(Clone, Copy, Debug)]
pub enum NodeForm<'a> {
    /// As a JSON object.
    Clear,
    /// Encrypted with the app's key (the request was): a JSON string of the base64 ciphertext
    /// of the node's JSON text in the charset.
    Encrypted(&'a EncryptKey),
}

/// Why an answer could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError<E> {
    /// Signing failed.
    #[error("signing the answer failed")]
    Sign(E),
    /// Encrypting the node failed (the crypto library; never expected with a loaded key).
    #[error("encrypting the answer failed: {0}")]
    Encrypt(hongbao_sign::SignError),
}

/// `render_with_cert_sn` with the node in `form`. Encrypted, the signature covers the string
/// with both quotes, as every SDK extracts it; `alipay_cert_sn` stays after `sign`.
///
/// ```
/// # use hongbao_protocol::{envelope::{render_answer, NodeForm, ResponseNode}, Charset};
/// # use hongbao_protocol::encryption::EncryptKey;
/// let key = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?;
/// let body = render_answer("a_b_response", &ResponseNode::success(), Charset::Utf8,
///     NodeForm::Encrypted(&key), None, |signed| {
///         assert!(signed.starts_with(b"\"") && signed.ends_with(b"\""));
///         Ok::<_, ()>("c2ln".to_owned())
///     })?;
/// let text = String::from_utf8(body)?;
/// assert!(text.starts_with(r#"{"a_b_response":""#) && text.ends_with(r#"","sign":"c2ln"}"#));
/// assert!(!text.contains("Success"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_answer<E>(
    key: &str,
    node: &ResponseNode,
    charset: Charset,
    form: NodeForm<'_>,
    alipay_cert_sn: Option<&str>,
    sign: impl FnOnce(&[u8]) -> Result<String, E>,
) -> Result<Vec<u8>, RenderError<E>> {
    let clear = charset.encode_json(&node.to_json());
    let node_bytes = match form {
        NodeForm::Clear => clear,
        NodeForm::Encrypted(encrypt_key) => {
            let sealed = encrypt_key.encrypt(&clear).map_err(RenderError::Encrypt)?;
            // Base64 needs no JSON escaping and is ASCII in every charset.
            format!("\"{sealed}\"").into_bytes()
        }
    };
    assemble(key, &node_bytes, alipay_cert_sn, sign).map_err(RenderError::Sign)
}

fn assemble<E>(
    key: &str,
    node_bytes: &[u8],
    alipay_cert_sn: Option<&str>,
    sign: impl FnOnce(&[u8]) -> Result<String, E>,
) -> Result<Vec<u8>, E> {
    let signature = sign(node_bytes)?;
    let mut body = Vec::with_capacity(node_bytes.len() + signature.len() + key.len() + 16);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b"\":");
    body.extend_from_slice(node_bytes);
    body.extend_from_slice(b",\"sign\":\"");
    body.extend_from_slice(signature.as_bytes());
    body.push(b'"');
    if let Some(sn) = alipay_cert_sn {
        // An SN is lowercase hex; serde_json quotes whatever it is.
        let quoted = serde_json::to_string(sn).unwrap_or_else(|_| "\"\"".to_owned());
        body.extend_from_slice(b",\"alipay_cert_sn\":");
        body.extend_from_slice(quoted.as_bytes());
    }
    body.push(b'}');
    Ok(body)
}

/// The signed part of a response body, found the way Alipay's Java SDK finds it: the value of
/// `"<key>"`, from its `{` to the matching `}` (braces inside JSON strings ignored) or, for an
/// answer to an encrypted request, the JSON string from quote to quote; and the top-level
/// `sign` value. Works on the decoded text; verify `charset.encode(node)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNode<'a> {
    /// The exact node text (an object, or a quoted base64 string when `encrypted`).
    pub node: &'a str,
    /// The node is a JSON string: the encrypted node (`ciphertext` reads it).
    pub encrypted: bool,
    /// The `sign` value, if the body has one.
    pub sign: Option<String>,
    /// The top-level `alipay_cert_sn` (certificate mode), if the body has one.
    pub cert_sn: Option<String>,
}

impl SignedNode<'_> {
    /// The base64 ciphertext of an encrypted node (the string without its quotes).
    pub fn ciphertext(&self) -> Option<&str> {
        self.encrypted.then(|| self.node.trim_start_matches('"').trim_end_matches('"'))
    }
}

/// Finds the node named `key` in `body` (see `SignedNode`). `None` when the body has no such
/// node or is not JSON.
pub fn find_signed_node<'a>(body: &'a str, key: &str) -> Option<SignedNode<'a>> {
    let quoted = format!("\"{key}\"");
    let key_at = body.find(&quoted)?;
    let after_key = key_at + quoted.len();
    let rest = &body[after_key..];
    let value_at = after_key + rest.find(['{', '"'])?;
    if !body[after_key..value_at].trim().trim_start_matches(':').trim().is_empty() {
        return None;
    }
    let (node, encrypted) = if body[value_at..].starts_with('{') {
        let close = matching_brace(body, value_at)?;
        (&body[value_at..=close], false)
    } else {
        // A ciphertext is base64: no quote or backslash inside, so the next quote closes it.
        let close = value_at + 1 + body[value_at + 1..].find('"')?;
        (&body[value_at..=close], true)
    };
    let top = serde_json::from_str::<Value>(body).ok();
    let field = |name: &str| {
        top.as_ref().and_then(|value| value.get(name).and_then(Value::as_str).map(str::to_owned))
    };
    Some(SignedNode { node, encrypted, sign: field("sign"), cert_sn: field("alipay_cert_sn") })
}

fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes[open..].iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + offset);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;

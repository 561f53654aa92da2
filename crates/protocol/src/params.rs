//! A request's parameters: URL query and form body merged, decoded with the `charset` parameter.
//!
//! The charset comes from the parameters themselves, never from the Content-Type (Node labels
//! every body UTF-8, python-alipay-sdk sends none, the official Python SDK sends GBK bytes).

use crate::charset::Charset;
use crate::error::RequestError;
use crate::form::{parse_form_into, FormError, RawPair};
use std::collections::BTreeMap;

/// Decoded parameters, sorted by key (byte order, as every SDK sorts for the sign content).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// An empty set.
    pub fn new() -> Params {
        Params::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value of `key` unless absent, empty or only whitespace (which Alipay treats as absent).
    pub fn get_nonblank(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.trim().is_empty())
    }

    /// Sets `key` (replacing any earlier value).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }

    /// All pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Form-encodes every pair in key order, values in `charset`, a space as `+` and every byte
    /// but `A-Z a-z 0-9 - _ . *` percent-encoded (Python's `quote_plus`, Java's `URLEncoder`).
    /// `None` when a value has no representation in `charset`.
    ///
    /// ```
    /// # use hongbao_protocol::{Charset, Params};
    /// let params: Params = [("t", "红 1"), ("a", "x&y")].into_iter().collect();
    /// assert_eq!(params.to_form(Charset::Gbk).as_deref(), Some(&b"a=x%26y&t=%BA%EC+1"[..]));
    /// ```
    pub fn to_form(&self, charset: Charset) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for (index, (key, value)) in self.iter().enumerate() {
            if index > 0 {
                out.push(b'&');
            }
            for (part, text) in [(0, key), (1, value)] {
                if part == 1 {
                    out.push(b'=');
                }
                for byte in charset.encode(text)? {
                    match byte {
                        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                            out.push(byte)
                        }
                        b' ' => out.push(b'+'),
                        _ => out.extend_from_slice(format!("%{byte:02X}").as_bytes()),
                    }
                }
            }
        }
        Some(out)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Params {
        Params { map: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}

/// A request decoded from its query and body.
#[derive(Clone, Debug)]
pub struct DecodedRequest {
    /// The charset named by the `charset` parameter.
    pub charset: Charset,
    /// Every parameter, decoded with `charset`.
    pub params: Params,
    /// The raw percent-decoded pairs, kept for signature diagnostics (other-charset hints).
    pub raw: Vec<RawPair>,
}

/// Largest number of parameters a request may carry; real requests have about a dozen.
pub const PARAMS_MAX: usize = 256;

/// Parses and merges `query` and `body` (both form-encoded), then decodes every key and value
/// with the `charset` parameter. Decoding stops at the `PARAMS_MAX + 1`th pair, so the bound
/// costs no more than the pairs it allows.
///
/// A key given twice, in one part or across both, is an error when the values differ: which of
/// the two was signed would be a guess. The same value twice is one parameter, signed once: the
/// PHP SDK's `pageExecute` form names `charset` both in its action's query and in its fields.
pub fn decode_request(query: &[u8], body: &[u8]) -> Result<DecodedRequest, RequestError> {
    let mut all = Vec::new();
    for part in [query, body] {
        parse_form_into(part, &mut all, PARAMS_MAX).map_err(|err| match err {
            FormError::TooManyPairs { .. } => RequestError::TooManyParameters { max: PARAMS_MAX },
            other => RequestError::MalformedForm(other),
        })?;
    }
    let charset_label = peek_ascii(&all, "charset").ok_or(RequestError::MissingCharset)?;
    let charset = Charset::parse(charset_label.trim())
        .ok_or_else(|| RequestError::InvalidCharset(charset_label.clone()))?;
    let mut params = Params::new();
    let mut raw = Vec::with_capacity(all.len());
    for (key_bytes, value_bytes) in all {
        let key = charset
            .decode(&key_bytes)
            .ok_or_else(|| RequestError::UndecodableKey { charset: charset.as_str() })?;
        let value = charset.decode(&value_bytes).ok_or_else(|| RequestError::UndecodableValue {
            key: key.clone(),
            charset: charset.as_str(),
        })?;
        match params.map.get(&key) {
            Some(earlier) if *earlier == value => continue,
            Some(_) => return Err(RequestError::DuplicateParameter(key)),
            None => {
                params.map.insert(key, value);
                raw.push((key_bytes, value_bytes));
            }
        }
    }
    Ok(DecodedRequest { charset, params, raw })
}

/// The first value of `key` when it is printable ASCII; used before the charset is known (for
/// `charset` itself, and to name the method and sign_type of an error envelope).
pub fn peek_ascii(raw: &[RawPair], key: &str) -> Option<String> {
    raw.iter()
        .find(|(k, _)| k.as_slice() == key.as_bytes())
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .filter(|v| v.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_and_body_merge_and_decode_with_the_charset_parameter() {
        let decoded = decode_request(
            b"charset=GBK&method=alipay.fund.coupon.operation.query",
            b"biz_content=%7B%22t%22%3A%22%BA%EC%B0%FC%22%7D",
        )
        .expect("decodes");
        assert_eq!(decoded.charset, Charset::Gbk);
        assert_eq!(decoded.params.get("biz_content"), Some(r#"{"t":"红包"}"#));
        assert_eq!(decoded.params.len(), 3);
    }

    #[test]
    fn gbk_bytes_labelled_utf8_are_refused() {
        let err = decode_request(b"charset=utf-8", b"t=%BA%EC").expect_err("invalid utf-8");
        assert_eq!(err, RequestError::UndecodableValue { key: "t".into(), charset: "utf-8" });
    }

    #[test]
    fn a_parameter_repeated_with_its_own_value_is_one_parameter() {
        // The PHP SDK's pageExecute: charset in the form action's query and in the form.
        let decoded = decode_request(b"charset=utf-8", b"charset=utf%2D8&method=m&a=1&a=1")
            .expect("the same value twice is accepted");
        assert_eq!(decoded.params.len(), 3);
        assert_eq!(decoded.raw.len(), 3, "kept once, so it is signed once");
    }

    #[test]
    fn the_parameter_bound_stops_decoding() {
        let body = b"a&".repeat(500_000);
        assert_eq!(
            decode_request(b"charset=utf-8", &body).expect_err("bounded"),
            RequestError::TooManyParameters { max: PARAMS_MAX }
        );
    }

    #[test]
    fn duplicates_missing_and_unknown_charsets_are_errors() {
        assert_eq!(
            decode_request(b"charset=utf-8&a=1", b"a=2").expect_err("dup"),
            RequestError::DuplicateParameter("a".into())
        );
        assert_eq!(decode_request(b"a=1", b"").expect_err("none"), RequestError::MissingCharset);
        assert_eq!(
            decode_request(b"charset=latin1", b"").expect_err("unknown"),
            RequestError::InvalidCharset("latin1".into())
        );
    }

    proptest! {
        #[test]
        fn arbitrary_query_and_body_never_panic(
            query in proptest::collection::vec(any::<u8>(), 0..300),
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = decode_request(&query, &body);
        }

        #[test]
        fn arbitrary_values_after_a_valid_charset_never_panic(
            body in "[a-z_=&%+0-9A-F\\x80-\\xff]{0,200}"
        ) {
            let mut query = b"charset=gbk&".to_vec();
            query.extend_from_slice(body.as_bytes());
            let _ = decode_request(&query, body.as_bytes());
        }
    }
}

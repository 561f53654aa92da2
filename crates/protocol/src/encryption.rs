//! Interface content encryption (接口内容加密) on the wire: which parameter is encrypted, how it
//! is framed, and what a request says about it (alipay-spec §3.8).
//!
//! - Only `biz_content` is encrypted; the request adds `encrypt_type=AES` (Node puts it in the
//!   POST body, the Python SDK in the URL query: it is one parameter either way) and signs the
//!   ciphertext as sent, so the gateway verifies first and decrypts after.
//! - The ciphertext is base64 of AES-CBC (PKCS#7, zero IV, `hongbao_sign::aes`) over the JSON
//!   text encoded in the request charset; decrypted, it must be valid JSON in that charset.
//! - An answer to an encrypted request carries its node as a JSON string: the base64 of the
//!   node's JSON text, encrypted the same way (`envelope::render_answer`).
//!
//! The cipher is `hongbao_sign::aes`; this module adds the framing and the request's rules,
//! and reports what is wrong as `RequestError`s (their Alipay codes are the gateway's).

use crate::charset::Charset;
pub use crate::error::DecryptionFault;
use crate::error::RequestError;
use crate::params::Params;
pub use hongbao_sign::aes::{looks_like_ciphertext, DecryptError, EncryptKey, EncryptKeyError};

/// The `encrypt_type` parameter.
pub const ENCRYPT_TYPE: &str = "encrypt_type";

/// An encryption algorithm this gateway decrypts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptType {
    /// `AES`: AES-CBC, PKCS#7, zero IV (the only one Alipay's v1 gateway documents).
    Aes,
}

impl EncryptType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptType::Aes => "AES",
        }
    }

    /// Parses `encrypt_type`. `AES` in any case (the Python SDK compares `encrypt_type.upper()`,
    /// so `aes` is what some of its users send); `SM4`, which newer Alipay apps may choose, is an
    /// algorithm this gateway does not decrypt; anything else is no algorithm at all.
    ///
    /// ```
    /// # use hongbao_protocol::encryption::EncryptType;
    /// # use hongbao_protocol::RequestError;
    /// assert_eq!(EncryptType::parse("aes"), Ok(EncryptType::Aes));
    /// assert_eq!(EncryptType::parse("SM4"), Err(RequestError::UnsupportedEncryptType("SM4".into())));
    /// assert_eq!(EncryptType::parse("RSA"), Err(RequestError::InvalidEncryptType("RSA".into())));
    /// ```
    pub fn parse(text: &str) -> Result<EncryptType, RequestError> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("AES") {
            Ok(EncryptType::Aes)
        } else if trimmed.eq_ignore_ascii_case("SM4") {
            Err(RequestError::UnsupportedEncryptType(text.to_owned()))
        } else {
            Err(RequestError::InvalidEncryptType(text.to_owned()))
        }
    }
}

/// What a request's parameters say about encryption, before any key is looked at:
/// `Some(Aes)` when it names `encrypt_type=AES`; `None` for a clear request. A request without
/// `encrypt_type` whose `biz_content` is base64 of whole AES blocks instead of JSON is refused
/// (`MissingEncryptType`): it was encrypted and the parameter saying so was left out.
pub fn requested(params: &Params) -> Result<Option<EncryptType>, RequestError> {
    if let Some(text) = params.get_nonblank(ENCRYPT_TYPE) {
        return EncryptType::parse(text).map(Some);
    }
    match params.get_nonblank("biz_content") {
        Some(biz) if looks_like_ciphertext(biz) => Err(RequestError::MissingEncryptType),
        _ => Ok(None),
    }
}

/// Decrypts a request's `biz_content`: the plaintext JSON text. Errors before the key is used
/// (`InvalidEncrypt`: not base64, not whole blocks) are told apart from the key not fitting
/// (`DecryptionFailed`: wrong padding, or a plaintext that is not JSON in the charset, which is
/// what another key gives).
///
/// ```
/// # use hongbao_protocol::encryption::{decrypt_biz_content, encrypt_biz_content, EncryptKey};
/// # use hongbao_protocol::Charset;
/// let key = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?;
/// let sealed = encrypt_biz_content(&key, r#"{"t":"红包"}"#, Charset::Gbk)?;
/// assert_eq!(decrypt_biz_content(&key, &sealed, Charset::Gbk)?, r#"{"t":"红包"}"#);
/// assert!(decrypt_biz_content(&key, &sealed, Charset::Utf8).is_err()); // GBK bytes are not UTF-8
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt_biz_content(
    key: &EncryptKey,
    ciphertext: &str,
    charset: Charset,
) -> Result<String, RequestError> {
    let bytes = key.decrypt(ciphertext).map_err(|err| match err {
        DecryptError::BadPadding => RequestError::DecryptionFailed(DecryptionFault::BadPadding),
        structural => RequestError::InvalidEncrypt(structural),
    })?;
    let text = charset.decode(&bytes).ok_or(RequestError::DecryptionFailed(
        DecryptionFault::NotInCharset { charset: charset.as_str() },
    ))?;
    if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
        return Err(RequestError::DecryptionFailed(DecryptionFault::NotJson));
    }
    Ok(text)
}

/// Why a text could not be encrypted.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// The charset cannot hold a character of the text.
    #[error("the text has characters {charset} cannot hold")]
    Unencodable {
        /// The charset.
        charset: &'static str,
    },
    /// The crypto library failed (never expected with a loaded key).
    #[error("AES encryption failed: {0}")]
    Crypto(#[from] hongbao_sign::SignError),
}

/// Encrypts a `biz_content` JSON text as a client does: its bytes in `charset`, AES, base64.
pub fn encrypt_biz_content(
    key: &EncryptKey,
    plaintext: &str,
    charset: Charset,
) -> Result<String, EncryptError> {
    let bytes =
        charset.encode(plaintext).ok_or(EncryptError::Unencodable { charset: charset.as_str() })?;
    Ok(key.encrypt(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptKey {
        EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==").expect("key")
    }

    #[test]
    fn a_request_names_aes_or_nothing() {
        let mut params: Params = [("biz_content", r#"{"a":"b"}"#)].into_iter().collect();
        assert_eq!(requested(&params), Ok(None));
        params.insert(ENCRYPT_TYPE, "AES");
        assert_eq!(requested(&params), Ok(Some(EncryptType::Aes)));
        params.insert(ENCRYPT_TYPE, " ");
        assert_eq!(requested(&params), Ok(None), "blank is absent, as for every parameter");
        params.insert(ENCRYPT_TYPE, "DES");
        assert_eq!(requested(&params), Err(RequestError::InvalidEncryptType("DES".into())));
        params.insert(ENCRYPT_TYPE, "sm4");
        assert_eq!(requested(&params), Err(RequestError::UnsupportedEncryptType("sm4".into())));
    }

    #[test]
    fn a_ciphertext_without_encrypt_type_is_refused() {
        let sealed = encrypt_biz_content(&key(), r#"{"a":"b"}"#, Charset::Utf8).expect("seals");
        let params: Params = [("biz_content", sealed.as_str())].into_iter().collect();
        assert_eq!(requested(&params), Err(RequestError::MissingEncryptType));
        // Not every non-JSON text looks encrypted: those stay biz_content errors.
        for text in ["abc", "YWJj", "not json at all", "[1]"] {
            assert!(!looks_like_ciphertext(text), "{text}");
        }
    }

    #[test]
    fn each_decryption_failure_is_told_apart() {
        let key = key();
        let cases: Vec<(String, Charset, RequestError)> = vec![
            ("%%%".into(), Charset::Utf8, RequestError::InvalidEncrypt(DecryptError::NotBase64)),
            (
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(), // 20 zero bytes
                Charset::Utf8,
                RequestError::InvalidEncrypt(DecryptError::NotBlocks { len: 20 }),
            ),
            (
                EncryptKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZg==")
                    .expect("key")
                    .encrypt(b"{}")
                    .expect("seals"),
                Charset::Utf8,
                RequestError::DecryptionFailed(DecryptionFault::BadPadding),
            ),
            (
                key.encrypt(&[0xba, 0xec]).expect("seals"),
                Charset::Utf8,
                RequestError::DecryptionFailed(DecryptionFault::NotInCharset { charset: "utf-8" }),
            ),
            (
                key.encrypt(b"{not json").expect("seals"),
                Charset::Gbk,
                RequestError::DecryptionFailed(DecryptionFault::NotJson),
            ),
        ];
        for (ciphertext, charset, expected) in cases {
            assert_eq!(decrypt_biz_content(&key, &ciphertext, charset), Err(expected));
        }
    }

    #[test]
    fn the_charset_decides_the_plaintext_bytes() {
        let key = key();
        let text = r#"{"order_title":"红包发放"}"#;
        let utf8 = encrypt_biz_content(&key, text, Charset::Utf8).expect("seals");
        let gbk = encrypt_biz_content(&key, text, Charset::Gbk).expect("seals");
        assert_ne!(utf8, gbk);
        assert_eq!(decrypt_biz_content(&key, &gbk, Charset::Gb2312).expect("opens"), text);
        assert!(matches!(
            encrypt_biz_content(&key, "😀", Charset::Gbk),
            Err(EncryptError::Unencodable { charset: "GBK" })
        ));
    }

    proptest::proptest! {
        // The decryption path sees whatever a signed request carries: it must never panic,
        // on any text, and on any plaintext bytes behind a well-formed ciphertext.
        #[test]
        fn decryption_never_panics(
            text in "[A-Za-z0-9+/=]{0,120}|[\\x00-\\x7f]{0,120}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let key = key();
            for charset in [Charset::Utf8, Charset::Gbk] {
                let _ = decrypt_biz_content(&key, &text, charset);
                let sealed = key.encrypt(&bytes).expect("encrypts");
                if let Ok(plain) = decrypt_biz_content(&key, &sealed, charset) {
                    proptest::prop_assert_eq!(charset.decode(&bytes), Some(plain));
                }
            }
        }
    }
}

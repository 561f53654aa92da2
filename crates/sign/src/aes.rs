//! The cipher of Alipay's interface content encryption (接口内容加密): AES-CBC with PKCS#7
//! padding and an IV of 16 zero bytes, the key the base64 text Alipay's console issues (16
//! bytes; 24 and 32 select AES-192 and AES-256, as every official SDK allows), the ciphertext
//! carried as standard base64. Java `AesEncrypt`, Python `EncryptUtils`, Node `util.ts`
//! (`CryptoJS.AES` with a zero IV) all do exactly this.
//!
//! It lives here rather than in `protocol` because this crate is the workspace's one door to
//! openssl and to key material: the cipher is openssl's EVP (`openssl::symm`), never written by
//! hand. It works on bytes and base64 only; which parameter is encrypted, in which charset, and
//! what a decrypted text must look like is the wire model's (`hongbao_protocol::encryption`).

use crate::SignError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use openssl::symm::{Cipher, Crypter, Mode};
use std::fmt;

/// The AES block (and IV) size in bytes.
pub const BLOCK_BYTES: usize = 16;

/// An app's AES content-encryption key (`encrypt_key`). Its `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptKey {
    bytes: Vec<u8>,
}

impl fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptKey(AES-{}, redacted)", self.bytes.len() * 8)
    }
}

/// Why an `encrypt_key` text is not a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncryptKeyError {
    /// Not standard base64 (with padding).
    #[error("is not base64 (Alipay's console shows the AES key as base64 of 16 bytes, e.g. cW8mcZgoMGUVp5g7uv7bHw==)")]
    NotBase64,
    /// Decodes to a length AES has no key size for.
    #[error(
        "decodes to {len} bytes; an AES key is 16 bytes (AES-128, what Alipay issues), 24 or 32"
    )]
    BadLength {
        /// The decoded length.
        len: usize,
    },
}

/// Why a ciphertext does not decrypt. Only `BadPadding` needs the key to be found out: the
/// others are wrong whatever the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Not standard base64 (with padding).
    #[error("the ciphertext is not base64")]
    NotBase64,
    /// Empty, or not a whole number of 16-byte blocks (CBC with padding never is).
    #[error("the ciphertext is {len} bytes, not a whole number of 16-byte AES blocks")]
    NotBlocks {
        /// Its decoded length.
        len: usize,
    },
    /// The last block's PKCS#7 padding is wrong: another key, or a damaged ciphertext.
    #[error("the padding is wrong after decryption (another key, or a damaged ciphertext)")]
    BadPadding,
}

impl EncryptKey {
    /// Reads the base64 text of a key (whitespace around it ignored).
    ///
    /// ```
    /// use hongbao_sign::aes::{EncryptKey, EncryptKeyError};
    /// assert_eq!(EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?.bits(), 128);
    /// assert_eq!(EncryptKey::from_base64("c2hvcnQ="), Err(EncryptKeyError::BadLength { len: 5 }));
    /// # Ok::<(), EncryptKeyError>(())
    /// ```
    pub fn from_base64(text: &str) -> Result<EncryptKey, EncryptKeyError> {
        let bytes =
            BASE64.decode(text.trim().as_bytes()).map_err(|_| EncryptKeyError::NotBase64)?;
        match bytes.len() {
            16 | 24 | 32 => Ok(EncryptKey { bytes }),
            len => Err(EncryptKeyError::BadLength { len }),
        }
    }

    /// A fresh random 16-byte key (what Alipay's console issues).
    pub fn generate() -> Result<EncryptKey, SignError> {
        let mut bytes = vec![0u8; 16];
        openssl::rand::rand_bytes(&mut bytes)?;
        Ok(EncryptKey { bytes })
    }

    /// The base64 text, as configured and as SDKs take it (`encryptKey`, `encrypt_key`).
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.bytes)
    }

    /// 128, 192 or 256.
    pub fn bits(&self) -> usize {
        self.bytes.len() * 8
    }

    fn cipher(&self) -> Cipher {
        match self.bytes.len() {
            24 => Cipher::aes_192_cbc(),
            32 => Cipher::aes_256_cbc(),
            // `from_base64` and `generate` make keys of 16, 24 or 32 bytes only.
            _ => Cipher::aes_128_cbc(),
        }
    }

    fn run(&self, mode: Mode, input: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let cipher = self.cipher();
        let iv = [0u8; BLOCK_BYTES];
        let mut crypter = Crypter::new(cipher, mode, &self.bytes, Some(&iv))?;
        crypter.pad(true);
        let mut out = vec![0u8; input.len() + cipher.block_size()];
        let mut written = crypter.update(input, &mut out)?;
        written += crypter.finalize(&mut out[written..])?;
        out.truncate(written);
        Ok(out)
    }

    /// Encrypts `plaintext` (already in the request charset) and returns standard base64.
    ///
    /// ```
    /// use hongbao_sign::aes::EncryptKey;
    /// let key = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?;
    /// // What the Node SDK's aesEncryptText (CryptoJS, zero IV) gives for the same key.
    /// assert_eq!(key.encrypt(b"")?, "zRa5qqNL/xRfETswpsgJbQ==");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, SignError> {
        Ok(BASE64.encode(self.run(Mode::Encrypt, plaintext)?))
    }

    /// Decrypts the base64 text of a ciphertext and returns the plaintext bytes.
    ///
    /// ```
    /// use hongbao_sign::aes::{DecryptError, EncryptKey};
    /// let key = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?;
    /// assert_eq!(key.decrypt("zRa5qqNL/xRfETswpsgJbQ==")?, b"");
    /// assert_eq!(key.decrypt("zRa5qqNL"), Err(DecryptError::NotBlocks { len: 6 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decrypt(&self, ciphertext_base64: &str) -> Result<Vec<u8>, DecryptError> {
        let bytes =
            BASE64.decode(ciphertext_base64.as_bytes()).map_err(|_| DecryptError::NotBase64)?;
        if bytes.is_empty() || bytes.len() % BLOCK_BYTES != 0 {
            return Err(DecryptError::NotBlocks { len: bytes.len() });
        }
        // With whole blocks the only way openssl's final step fails is a bad padding check.
        self.run(Mode::Decrypt, &bytes).map_err(|_| DecryptError::BadPadding)
    }
}

/// True when `text` is base64 of a whole, non-zero number of AES blocks: what a ciphertext
/// looks like before any key is tried. A JSON text never does (base64 has no `{`).
///
/// ```
/// use hongbao_sign::aes::looks_like_ciphertext;
/// assert!(looks_like_ciphertext("zRa5qqNL/xRfETswpsgJbQ=="));
/// assert!(!looks_like_ciphertext(r#"{"a":"b"}"#));
/// assert!(!looks_like_ciphertext("YWJj")); // 3 bytes
/// ```
pub fn looks_like_ciphertext(text: &str) -> bool {
    BASE64
        .decode(text.trim().as_bytes())
        .is_ok_and(|bytes| !bytes.is_empty() && bytes.len() % BLOCK_BYTES == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_128: &str = "cW8mcZgoMGUVp5g7uv7bHw==";
    const TITLE_JSON: &str = r#"{"out_order_no":"o1","order_title":"红包发放","amount":"1.00"}"#;

    #[test]
    fn ciphertexts_match_the_node_and_python_sdks() {
        // Vectors made with the installed SDKs' own libraries: Node's crypto-js
        // (`CryptoJS.AES.encrypt(text, Base64.parse(key), {iv: zero})`, UTF-8) and Python's
        // pycryptodome (`AES.new(key, MODE_CBC, b"\0" * 16)` over the GBK bytes, PKCS#7).
        let cases = [
            (KEY_128, TITLE_JSON.as_bytes().to_vec(), "qR6G1AtksQXo0N6dtjq5r/8H7rh7Zc4XjQPftSyhZj7Q16m+s54bcqCc3RcCkg6fiE61FxDy6EaTLDl65zLEde3bO1hBZfgTEyytcK1eANs="),
            (
                KEY_128,
                encoding_gbk(),
                "qR6G1AtksQXo0N6dtjq5r/8H7rh7Zc4XjQPftSyhZj70ybKhJSJ7lIfw/lkQ9PSjtXIORb3cTFvokTnsgINA6g==",
            ),
            (
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3",
                TITLE_JSON.as_bytes().to_vec(),
                "ayKDwlqHbmLdTdrrjAFt/mI9ijSP5KV2RrM9ZFfHaTVBGBQfbECB5xEQbjAjJTVr6MGHcIKFUpCzRzJlfZUGHIe9pZhWz8vQbc+UfCvUN+k=",
            ),
            (
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                TITLE_JSON.as_bytes().to_vec(),
                "FqqFALdf4MmIYtRFCx7pC6oDHga+KYHbD//uWAkMPTERDpHcMskLqxG3tyy7Vi5DhIwqqJiA2NUsehc+Oj7yyT+lZY5p6GFCPtOuLaVuQQg=",
            ),
            (KEY_128, b"0123456789abcdef".to_vec(), "6hT6khqFQeMwsO8C2Qt+dRZ4OCyXqZp4uGjVT0Yol7U="),
        ];
        for (key, plaintext, ciphertext) in cases {
            let key = EncryptKey::from_base64(key).expect("key");
            assert_eq!(key.encrypt(&plaintext).expect("encrypts"), ciphertext, "{key:?}");
            assert_eq!(key.decrypt(ciphertext).expect("decrypts"), plaintext, "{key:?}");
        }
    }

    /// The GBK bytes of `TITLE_JSON` (红包发放 = BA EC B0 FC B7 A2 B7 C5), written out so this
    /// crate needs no charset library.
    fn encoding_gbk() -> Vec<u8> {
        let (head, tail) = TITLE_JSON.split_once("红包发放").expect("title");
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend_from_slice(&[0xba, 0xec, 0xb0, 0xfc, 0xb7, 0xa2, 0xb7, 0xc5]);
        bytes.extend_from_slice(tail.as_bytes());
        bytes
    }

    #[test]
    fn keys_of_other_lengths_and_garbage_are_refused() {
        assert_eq!(EncryptKey::from_base64("%%%"), Err(EncryptKeyError::NotBase64));
        assert_eq!(EncryptKey::from_base64(""), Err(EncryptKeyError::BadLength { len: 0 }));
        let fifteen = BASE64.encode([7u8; 15]);
        assert_eq!(EncryptKey::from_base64(&fifteen), Err(EncryptKeyError::BadLength { len: 15 }));
        let key = EncryptKey::from_base64(&format!("  {KEY_128}\n")).expect("trimmed");
        assert_eq!(key.to_base64(), KEY_128);
        let generated = EncryptKey::generate().expect("random");
        assert_eq!(generated.bits(), 128);
        assert_ne!(generated, EncryptKey::generate().expect("random"));
    }

    #[test]
    fn every_malformed_ciphertext_is_its_own_error() {
        let key = EncryptKey::from_base64(KEY_128).expect("key");
        assert_eq!(key.decrypt("not base64!"), Err(DecryptError::NotBase64));
        assert_eq!(key.decrypt(""), Err(DecryptError::NotBlocks { len: 0 }));
        assert_eq!(
            key.decrypt(&BASE64.encode([1u8; 17])),
            Err(DecryptError::NotBlocks { len: 17 })
        );
        // Another key: the padding check fails (a 1-in-256 chance it would not is why the
        // wire model still checks the plaintext's charset and JSON).
        let other = EncryptKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZg==").expect("key");
        let sealed = key.encrypt(b"{\"a\":\"b\"}").expect("encrypts");
        assert_eq!(other.decrypt(&sealed), Err(DecryptError::BadPadding));
        // CBC: a flipped bit in block 1 flips the same bit of plaintext block 2. Here that is
        // the last padding byte (20 bytes of text, 12 of padding 0x0c): 0x0d asks for 13
        // bytes of 0x0d, so the padding check must fail.
        let sealed = key.encrypt(b"{\"a\":\"0123456789ab\"}").expect("encrypts");
        let mut bytes = BASE64.decode(&sealed).expect("b64");
        assert_eq!(bytes.len(), 32);
        bytes[15] ^= 0x01;
        assert_eq!(key.decrypt(&BASE64.encode(&bytes)), Err(DecryptError::BadPadding));
    }

    #[test]
    fn debug_never_prints_the_key() {
        let key = EncryptKey::from_base64(KEY_128).expect("key");
        let shown = format!("{key:?}");
        assert_eq!(shown, "EncryptKey(AES-128, redacted)");
    }
}

//! RSA signatures the way Alipay uses them: PKCS#1 v1.5, `RSA2` = SHA256withRSA,
//! `RSA` = SHA1withRSA, standard base64 with padding and no line breaks.
//!
//! Keys load from PEM (PKCS#1, PKCS#8 or SPKI) and from Alipay's bare one-line base64 form.
//! Certificate mode's X.509 side (certificates, root bundles, SNs, chain checks, a sandbox CA)
//! is `cert`; the AES cipher of interface content encryption (接口内容加密) is `aes`. This crate
//! signs, verifies, encrypts and decrypts bytes; it knows nothing of sign content, charsets or
//! HTTP.
#![deny(missing_docs)]

pub mod aes;
pub mod cache;
pub mod cert;

pub use aes::EncryptKey;
pub use cache::{CachingSigner, Source};
pub use cert::{Authority, CertError, Certificate, RootBundle, Subject};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use std::fmt;

/// The `sign_type` common parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignType {
    /// `RSA`: SHA1withRSA.
    Rsa,
    /// `RSA2`: SHA256withRSA.
    Rsa2,
}

impl SignType {
    /// Parses the wire value; Alipay accepts exactly `RSA` and `RSA2`.
    pub fn parse(text: &str) -> Option<SignType> {
        match text {
            "RSA2" => Some(SignType::Rsa2),
            "RSA" => Some(SignType::Rsa),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa => "RSA",
            SignType::Rsa2 => "RSA2",
        }
    }

    /// The other algorithm, for diagnostics ("your signature verifies as RSA").
    pub fn other(self) -> SignType {
        match self {
            SignType::Rsa => SignType::Rsa2,
            SignType::Rsa2 => SignType::Rsa,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            SignType::Rsa => MessageDigest::sha1(),
            SignType::Rsa2 => MessageDigest::sha256(),
        }
    }
}

/// Why a key or a signature could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key text is neither PEM nor base64 DER of an RSA key.
    #[error("not an RSA {kind} key in PEM (PKCS#1, PKCS#8/SPKI) or bare base64 form")]
    BadKey {
        /// "private" or "public".
        kind: &'static str,
    },
    /// The crypto library failed while signing (never expected with a loaded key).
    #[error("signing failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// An RSA private key that signs. Its `Debug` never prints key material.
#[derive(Clone)]
pub struct PrivateKey(PKey<Private>);

/// An RSA public key that verifies.
#[derive(Clone)]
pub struct PublicKey(PKey<Public>);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(RSA-{}, redacted)", self.0.bits())
    }
}

/// Two public keys are equal when they are the same key.
impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.0.public_eq(&other.0)
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(RSA-{})", self.0.bits())
    }
}

/// Strips PEM armour and whitespace from a bare key, returning DER bytes.
fn bare_base64_der(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    BASE64.decode(compact.as_bytes()).ok()
}

impl PrivateKey {
    /// Loads a PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM, or the bare
    /// base64 of either DER (what Alipay's key tool prints).
    pub fn from_text(text: &str) -> Result<PrivateKey, SignError> {
        let bad = || SignError::BadKey { kind: "private" };
        let trimmed = text.trim();
        let pkey = if trimmed.starts_with("-----BEGIN") {
            PKey::private_key_from_pem(trimmed.as_bytes()).map_err(|_| bad())?
        } else {
            let der = bare_base64_der(trimmed).ok_or_else(bad)?;
            match PKey::private_key_from_pkcs8(&der) {
                Ok(key) => key,
                Err(_) => {
                    let rsa = Rsa::private_key_from_der(&der).map_err(|_| bad())?;
                    PKey::from_rsa(rsa).map_err(|_| bad())?
                }
            }
        };
        if pkey.rsa().is_err() {
            return Err(bad());
        }
        Ok(PrivateKey(pkey))
    }

    /// Generates a fresh key pair (2048 bits in production use).
    pub fn generate(bits: u32) -> Result<PrivateKey, SignError> {
        Ok(PrivateKey(PKey::from_rsa(Rsa::generate(bits)?)?))
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, SignError> {
        let der = self.0.public_key_to_der()?;
        Ok(PublicKey(PKey::public_key_from_der(&der)?))
    }

    /// PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), the form the official Python SDK loads.
    pub fn to_pkcs1_pem(&self) -> Result<String, SignError> {
        let pem = self.0.rsa()?.private_key_to_pem()?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), the form Java loads.
    pub fn to_pkcs8_pem(&self) -> Result<String, SignError> {
        let pem = self.0.private_key_to_pem_pkcs8()?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    }

    /// Signs `content` and returns standard base64.
    pub fn sign(&self, sign_type: SignType, content: &[u8]) -> Result<String, SignError> {
        let mut signer = openssl::sign::Signer::new(sign_type.digest(), &self.0)?;
        signer.update(content)?;
        Ok(BASE64.encode(signer.sign_to_vec()?))
    }
}

impl PublicKey {
    /// Loads an SPKI PEM (`BEGIN PUBLIC KEY`), a PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`), or the bare
    /// base64 of either DER (Alipay's one-line form).
    pub fn from_text(text: &str) -> Result<PublicKey, SignError> {
        let bad = || SignError::BadKey { kind: "public" };
        let trimmed = text.trim();
        let pkey = if trimmed.starts_with("-----BEGIN RSA PUBLIC KEY") {
            let rsa = Rsa::public_key_from_pem_pkcs1(trimmed.as_bytes()).map_err(|_| bad())?;
            PKey::from_rsa(rsa).map_err(|_| bad())?
        } else if trimmed.starts_with("-----BEGIN") {
            PKey::public_key_from_pem(trimmed.as_bytes()).map_err(|_| bad())?
        } else {
            let der = bare_base64_der(trimmed).ok_or_else(bad)?;
            match PKey::public_key_from_der(&der) {
                Ok(key) => key,
                Err(_) => {
                    let rsa = Rsa::public_key_from_der_pkcs1(&der).map_err(|_| bad())?;
                    PKey::from_rsa(rsa).map_err(|_| bad())?
                }
            }
        };
        if pkey.rsa().is_err() {
            return Err(bad());
        }
        Ok(PublicKey(pkey))
    }

    /// SPKI PEM (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> Result<String, SignError> {
        Ok(String::from_utf8_lossy(&self.0.public_key_to_pem()?).into_owned())
    }

    /// The bare one-line base64 SPKI form Alipay's console shows.
    pub fn to_bare_base64(&self) -> Result<String, SignError> {
        Ok(BASE64.encode(self.0.public_key_to_der()?))
    }

    /// True when `signature_base64` is a valid signature of `content`. Malformed base64 or a
    /// signature of the wrong length is simply `false`: callers only need yes or no.
    pub fn verify(&self, sign_type: SignType, content: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = BASE64.decode(signature_base64.trim().as_bytes()) else {
            return false;
        };
        let Ok(mut verifier) = openssl::sign::Verifier::new(sign_type.digest(), &self.0) else {
            return false;
        };
        if verifier.update(content).is_err() {
            return false;
        }
        verifier.verify(&signature).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec's §6 test vector (test-only key).
    const VECTOR_PRIVATE_PKCS1: &str = include_str!("../testdata/vector_private_pkcs1.pem");
    const VECTOR_PUBLIC_BARE: &str = include_str!("../testdata/vector_public_bare.txt");
    const VECTOR_CONTENT: &str = "app_id=2014072300007148&biz_content={\"auth_no\":\"2014021601002000640012345678\",\"operation_id\":\"20140216010020006400\"}&charset=utf-8&format=json&method=alipay.fund.coupon.operation.query&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0";
    const VECTOR_SIGN: &str = "mZht+oLmSbSnw0bQDLGnys33xa1eB7e50U/ynDWWZXkEZpEbkRJuEFCnq8I7gH7N2ZHcdVhjgC5IunQBlevRkCB4eW5jdnjDyszBee9ZXnw71hg/vEOZ6yIBoxjSUjtamYJ76Xoa4VajN1XwE2c1YV9ISr3anCjOaXVx3lW5CNUt3Rwm7eSJzFr0GVhV5+2YzM/S/q7DbO0tYUfCfRc5IZb0K71e0RnrKOP6nR6pQQqqkR8h4LxK5FHFpbtyC9FIPx6WpfpPT95FPBPJCbNSXQemnhMCn0TgDO7qiZgSZkDk+fqNyNppZ8Ui+K8sO5++KluVIa/8o5kL+rUm+4dHFg==";

    #[test]
    fn rsa2_signature_matches_the_spec_vector() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE_PKCS1).expect("vector key loads");
        let sign = key.sign(SignType::Rsa2, VECTOR_CONTENT.as_bytes()).expect("signs");
        assert_eq!(sign, VECTOR_SIGN);
        let public = PublicKey::from_text(VECTOR_PUBLIC_BARE).expect("bare public key loads");
        assert!(public.verify(SignType::Rsa2, VECTOR_CONTENT.as_bytes(), VECTOR_SIGN));
        assert!(!public.verify(SignType::Rsa, VECTOR_CONTENT.as_bytes(), VECTOR_SIGN));
        assert!(!public.verify(SignType::Rsa2, b"tampered", VECTOR_SIGN));
    }

    #[test]
    fn rsa_sha1_round_trips_and_differs_from_rsa2() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE_PKCS1).expect("loads");
        let public = key.public_key().expect("public");
        let sha1 = key.sign(SignType::Rsa, b"abc").expect("signs");
        assert!(public.verify(SignType::Rsa, b"abc", &sha1));
        assert!(!public.verify(SignType::Rsa2, b"abc", &sha1));
        assert_ne!(sha1, key.sign(SignType::Rsa2, b"abc").expect("signs"));
    }

    #[test]
    fn every_key_form_loads_to_the_same_key() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE_PKCS1).expect("pkcs1 pem");
        let pkcs8 = PrivateKey::from_text(&key.to_pkcs8_pem().expect("pem")).expect("pkcs8 pem");
        let bare8: String =
            key.to_pkcs8_pem().expect("pem").lines().filter(|l| !l.starts_with("-----")).collect();
        let bare = PrivateKey::from_text(&bare8).expect("bare pkcs8");
        let bare1: String =
            VECTOR_PRIVATE_PKCS1.lines().filter(|l| !l.starts_with("-----")).collect();
        let bare_pkcs1 = PrivateKey::from_text(&bare1).expect("bare pkcs1");
        for k in [&pkcs8, &bare, &bare_pkcs1] {
            assert_eq!(
                k.sign(SignType::Rsa2, VECTOR_CONTENT.as_bytes()).expect("signs"),
                VECTOR_SIGN
            );
        }
        let public = key.public_key().expect("public");
        let spki_pem = public.to_pem().expect("pem");
        let pkcs1_pem = String::from_utf8(
            public.0.rsa().expect("rsa").public_key_to_pem_pkcs1().expect("pkcs1"),
        )
        .expect("utf8");
        for text in [spki_pem, pkcs1_pem, VECTOR_PUBLIC_BARE.to_owned()] {
            let loaded = PublicKey::from_text(&text).expect("public loads");
            assert!(loaded.verify(SignType::Rsa2, VECTOR_CONTENT.as_bytes(), VECTOR_SIGN));
        }
    }

    #[test]
    fn garbage_keys_and_signatures_are_refused_without_panic() {
        assert!(PrivateKey::from_text("").is_err());
        assert!(PrivateKey::from_text("not a key").is_err());
        assert!(PublicKey::from_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
            .is_err());
        let public = PublicKey::from_text(VECTOR_PUBLIC_BARE).expect("loads");
        assert!(!public.verify(SignType::Rsa2, b"x", "%%%"));
        assert!(!public.verify(SignType::Rsa2, b"x", &VECTOR_SIGN[..40]));
        assert!(!public.verify(SignType::Rsa2, b"x", ""));
    }

    #[test]
    fn debug_never_prints_private_key_material() {
        let key = PrivateKey::from_text(VECTOR_PRIVATE_PKCS1).expect("loads");
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains("MII"));
    }
}

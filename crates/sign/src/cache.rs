//! Signing with a bounded memo of recent signatures ([`CachingSigner`]).
//!
//! PKCS#1 v1.5 signatures are deterministic: the signature is a function of the key and the
//! content's digest alone, so an answer whose bytes equal one already signed (a merchant
//! polling `operation.query` until SUCCESS, an identical retry's replay) has the signature
//! already computed. Remembering it is not a shortcut around signing: what comes out is
//! byte-for-byte what signing again would give. The memo is keyed by the sign type and the
//! SHA-256 of the content (the key is the signer's own, fixed), and bounded by entries, least
//! recently used first out; unique answers pay one digest and one lookup for it.

use crate::{PrivateKey, SignError, SignType};
use hashlink::LruCache;
use std::sync::Mutex;

/// What the memo is keyed by: a signature depends on nothing else (the key being fixed).
type Entry = (SignType, [u8; 32]);

/// A private key that remembers its last `capacity` signatures.
pub struct CachingSigner {
    key: PrivateKey,
    // Held only for a lookup or an insert, never while signing.
    memo: Option<Mutex<LruCache<Entry, String>>>,
}

/// Whether a signature came from the memo, for the hit-rate metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Signed now.
    Signed,
    /// The same content was signed before; this is that signature.
    Remembered,
}

impl CachingSigner {
    /// Signs with `key`, remembering up to `capacity` signatures (0: remembers none).
    pub fn new(key: PrivateKey, capacity: usize) -> CachingSigner {
        let memo = (capacity > 0).then(|| Mutex::new(LruCache::new(capacity)));
        CachingSigner { key, memo }
    }

    /// How many signatures it remembers now.
    pub fn remembered(&self) -> usize {
        self.memo.as_ref().and_then(|memo| memo.lock().ok().map(|memo| memo.len())).unwrap_or(0)
    }

    /// The signature of `content`, as [`PrivateKey::sign`] gives it, and where it came from.
    pub fn sign(&self, sign_type: SignType, content: &[u8]) -> Result<(String, Source), SignError> {
        let Some(memo) = &self.memo else {
            return Ok((self.key.sign(sign_type, content)?, Source::Signed));
        };
        let entry = (sign_type, openssl::sha::sha256(content));
        // A poisoned lock (a panic elsewhere while it was held) only costs the memo: sign.
        if let Some(signature) = memo.lock().ok().and_then(|mut memo| memo.get(&entry).cloned()) {
            return Ok((signature, Source::Remembered));
        }
        let signature = self.key.sign(sign_type, content)?;
        if let Ok(mut memo) = memo.lock() {
            memo.insert(entry, signature.clone());
        }
        Ok((signature, Source::Signed))
    }
}

impl std::fmt::Debug for CachingSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachingSigner({:?}, {} remembered)", self.key, self.remembered())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::generate(1024).expect("generates"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the sequence of contents, every signature handed out equals a fresh one
        /// over the same bytes, and the memo never holds more than its capacity.
        #[test]
        fn a_remembered_signature_is_the_signature(
            contents in proptest::collection::vec(
                (proptest::collection::vec(0u8..4, 0..6), any::<bool>()), 1..40),
            capacity in 0usize..5,
        ) {
            let signer = CachingSigner::new(key().clone(), capacity);
            for (content, rsa1) in &contents {
                let sign_type = if *rsa1 { SignType::Rsa } else { SignType::Rsa2 };
                let (signature, _) = signer.sign(sign_type, content).expect("signs");
                prop_assert_eq!(&signature, &key().sign(sign_type, content).expect("signs"));
                prop_assert!(signer.remembered() <= capacity);
            }
        }
    }

    #[test]
    fn the_same_bytes_are_signed_once_and_other_bytes_or_types_again() {
        let signer = CachingSigner::new(key().clone(), 2);
        let node = br#"{"code":"10000","msg":"Success","status":"SUCCESS"}"#;
        assert_eq!(signer.sign(SignType::Rsa2, node).expect("signs").1, Source::Signed);
        assert_eq!(signer.sign(SignType::Rsa2, node).expect("signs").1, Source::Remembered);
        // The sign type is part of what is signed: RSA over the same bytes is another signature.
        let (rsa, source) = signer.sign(SignType::Rsa, node).expect("signs");
        assert_eq!(source, Source::Signed);
        assert_ne!(rsa, signer.sign(SignType::Rsa2, node).expect("signs").0);
        // One byte more is other content.
        let longer = [&node[..], b" "].concat();
        assert_eq!(signer.sign(SignType::Rsa2, &longer).expect("signs").1, Source::Signed);
        // Capacity 2: the least recently used (RSA) went out.
        assert_eq!(signer.remembered(), 2);
        assert_eq!(signer.sign(SignType::Rsa, node).expect("signs").1, Source::Signed);
    }

    #[test]
    fn capacity_zero_remembers_nothing() {
        let signer = CachingSigner::new(key().clone(), 0);
        assert_eq!(signer.sign(SignType::Rsa2, b"x").expect("signs").1, Source::Signed);
        assert_eq!(signer.sign(SignType::Rsa2, b"x").expect("signs").1, Source::Signed);
        assert_eq!(signer.remembered(), 0);
    }
}

//! `application/x-www-form-urlencoded` and URL query decoding into raw bytes.
//!
//! `+` is a space (every official SDK encodes spaces that way, and the timestamp has one), and a
//! `%` not followed by two hex digits is an error rather than a literal: a lenient decoder would
//! verify a signature over text the client never sent. Bytes stay bytes here; the request
//! charset turns them into text in `params`.

/// Why a form could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoding at byte {position}")]
    BadPercent {
        /// Offset of the `%` in the input.
        position: usize,
    },
}

/// One `key=value` pair, both percent-decoded to raw bytes.
pub type RawPair = (Vec<u8>, Vec<u8>);

/// Splits `input` on `&`, each part on its first `=`, and decodes both sides.
/// Empty parts (`a=1&&b=2`) are skipped; a part without `=` is a key with an empty value.
pub fn parse_form(input: &[u8]) -> Result<Vec<RawPair>, FormError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for part in input.split(|&b| b == b'&') {
        if !part.is_empty() {
            let (key, value, value_offset) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..], offset + eq + 1),
                None => (part, &part[part.len()..], offset + part.len()),
            };
            pairs.push((decode_component(key, offset)?, decode_component(value, value_offset)?));
        }
        offset += part.len() + 1;
    }
    Ok(pairs)
}

/// Like `parse_form`, but skips the parts that do not decode instead of failing. Only for
/// framing an error answer (which node, charset and sign_type) of a request already refused.
pub fn parse_form_lenient(input: &[u8]) -> Vec<RawPair> {
    input.split(|&b| b == b'&').filter_map(|part| parse_form(part).ok()).flatten().collect()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn decode_component(input: &[u8], base_offset: usize) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let high = input.get(i + 1).copied().and_then(hex_value);
                let low = input.get(i + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => {
                        out.push(high << 4 | low);
                        i += 3;
                    }
                    _ => return Err(FormError::BadPercent { position: base_offset + i }),
                }
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plus_is_space_and_percent_is_a_byte() {
        let pairs = parse_form(b"timestamp=2014-07-24+03%3A07%3A50&t=%BA%EC&&flag").expect("ok");
        assert_eq!(
            pairs,
            vec![
                (b"timestamp".to_vec(), b"2014-07-24 03:07:50".to_vec()),
                (b"t".to_vec(), vec![0xba, 0xec]),
                (b"flag".to_vec(), vec![]),
            ]
        );
    }

    #[test]
    fn value_may_contain_equals_signs() {
        let pairs = parse_form(b"sign=abc==").expect("ok");
        assert_eq!(pairs, vec![(b"sign".to_vec(), b"abc==".to_vec())]);
    }

    #[test]
    fn bad_percent_is_an_error_with_its_position() {
        assert_eq!(parse_form(b"a=1&b=%zz"), Err(FormError::BadPercent { position: 6 }));
        assert_eq!(parse_form(b"a=%4"), Err(FormError::BadPercent { position: 2 }));
        assert_eq!(parse_form(b"%"), Err(FormError::BadPercent { position: 0 }));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_form(&bytes);
        }

        #[test]
        fn encoded_pairs_round_trip(
            pairs in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 1..12), proptest::collection::vec(any::<u8>(), 0..24)),
                0..8,
            )
        ) {
            let encode = |bytes: &[u8]| -> String {
                bytes.iter().map(|b| format!("%{b:02X}")).collect()
            };
            let text: Vec<String> =
                pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            let decoded = parse_form(text.join("&").as_bytes()).expect("well-formed");
            prop_assert_eq!(decoded, pairs);
        }
    }
}

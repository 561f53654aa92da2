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
    /// More pairs than the caller takes (decoding stopped there).
    #[error("more than {max} pairs")]
    TooManyPairs {
        /// The bound.
        max: usize,
    },
}

/// One `key=value` pair, both percent-decoded to raw bytes.
pub type RawPair = (Vec<u8>, Vec<u8>);

/// Splits `input` on `&`, each part on its first `=`, and decodes both sides.
/// Empty parts (`a=1&&b=2`) are skipped; a part without `=` is a key with an empty value.
pub fn parse_form(input: &[u8]) -> Result<Vec<RawPair>, FormError> {
    let mut pairs = Vec::new();
    parse_form_into(input, &mut pairs, usize::MAX)?;
    Ok(pairs)
}

/// `parse_form` appending to `pairs`, stopping with `TooManyPairs` as soon as `pairs` would hold
/// more than `pairs_max`: a body of half a million empty pairs costs no more than the bound.
pub fn parse_form_into(
    input: &[u8],
    pairs: &mut Vec<RawPair>,
    pairs_max: usize,
) -> Result<(), FormError> {
    let mut offset = 0;
    for part in input.split(|&b| b == b'&') {
        if !part.is_empty() {
            if pairs.len() >= pairs_max {
                return Err(FormError::TooManyPairs { max: pairs_max });
            }
            let (key, value, value_offset) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..], offset + eq + 1),
                None => (part, &part[part.len()..], offset + part.len()),
            };
            pairs.push((decode_component(key, offset)?, decode_component(value, value_offset)?));
        }
        offset += part.len() + 1;
    }
    Ok(())
}

/// Like `parse_form`, but skips the parts that do not decode instead of failing. For small
/// inputs only (the pages' forms, under their body cap); a refused request is read with `peek`.
pub fn parse_form_lenient(input: &[u8]) -> Vec<RawPair> {
    input.split(|&b| b == b'&').filter_map(|part| parse_form(part).ok()).flatten().collect()
}

/// The first value of each of `keys` in `inputs` (forms, read in order), decoding only the
/// pairs whose key is one of them and skipping parts that do not decode: for framing the answer
/// of a request already refused (which node, charset, sign_type), in one pass that allocates
/// nothing for the other pairs, however many there are.
pub fn peek<const N: usize>(inputs: &[&[u8]], keys: [&str; N]) -> [Option<Vec<u8>>; N] {
    let mut found: [Option<Vec<u8>>; N] = std::array::from_fn(|_| None);
    let longest = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    for input in inputs {
        for part in input.split(|&b| b == b'&') {
            let (key, value) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..]),
                None => (part, &part[part.len()..]),
            };
            // A key spelled with %XX is at most three bytes per character.
            if key.is_empty() || key.len() > longest * 3 {
                continue;
            }
            let Ok(key) = decode_component(key, 0) else { continue };
            let Some(index) = keys.iter().position(|k| k.as_bytes() == key.as_slice()) else {
                continue;
            };
            if found[index].is_none() {
                found[index] = decode_component(value, 0).ok();
            }
        }
    }
    found
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

    #[test]
    fn decoding_stops_at_the_pair_bound() {
        let many = b"a&".repeat(500_000);
        let mut pairs = Vec::new();
        assert_eq!(
            parse_form_into(&many, &mut pairs, 256),
            Err(FormError::TooManyPairs { max: 256 })
        );
        assert_eq!(pairs.len(), 256, "nothing decoded past the bound");
    }

    #[test]
    fn peek_finds_the_first_value_of_each_key_and_skips_bad_parts() {
        let [method, charset, missing] = peek(
            &[b"x=%ZZ&method=a.b&%6Dethod=c", b"charset=GBK&charset=utf-8"],
            ["method", "charset", "app_id"],
        );
        assert_eq!(method.as_deref(), Some(&b"a.b"[..]));
        assert_eq!(charset.as_deref(), Some(&b"GBK"[..]));
        assert_eq!(missing, None);
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

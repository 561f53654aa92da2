//! The `charset` common parameter: utf-8, GBK or GB2312, compared case-insensitively.
//!
//! Decoding is strict (bytes invalid in the charset are an error, never U+FFFD): a replaced
//! character would silently change what was signed.

use encoding_rs::{Encoding, GBK, UTF_8};

/// A request or response charset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Charset {
    /// `utf-8`.
    Utf8,
    /// `GBK`.
    Gbk,
    /// `GB2312`, a subset of GBK; decoded and encoded as GBK.
    Gb2312,
}

impl Charset {
    /// Parses the `charset` parameter, any case. `utf8` without the dash is accepted too.
    pub fn parse(label: &str) -> Option<Charset> {
        match label.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "gbk" => Some(Charset::Gbk),
            "gb2312" => Some(Charset::Gb2312),
            _ => None,
        }
    }

    /// The label used in Content-Type headers and notify parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Gbk => "GBK",
            Charset::Gb2312 => "GB2312",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::Gbk | Charset::Gb2312 => GBK,
        }
    }

    /// Decodes `bytes`; `None` when they are not valid in this charset.
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        self.encoding()
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| text.into_owned())
    }

    /// Encodes `text`; `None` when a character has no representation in this charset.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        if self == Charset::Utf8 {
            return Some(text.as_bytes().to_vec());
        }
        let (bytes, _, had_unmappable) = self.encoding().encode(text);
        if had_unmappable {
            None
        } else {
            Some(bytes.into_owned())
        }
    }

    /// Encodes a JSON text, writing any character this charset cannot hold as a `\uXXXX` escape
    /// (non-ASCII only ever occurs inside JSON strings, where the escape means the same thing).
    /// The result is valid JSON in this charset for every input.
    pub fn encode_json(self, json: &str) -> Vec<u8> {
        if let Some(bytes) = self.encode(json) {
            return bytes;
        }
        let mut escaped = String::with_capacity(json.len() + 16);
        let mut buf = [0u8; 4];
        for ch in json.chars() {
            if ch.is_ascii() || self.encode(ch.encode_utf8(&mut buf)).is_some() {
                escaped.push(ch);
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    escaped.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        // Every remaining character is encodable by construction.
        let (bytes, _, _) = self.encoding().encode(&escaped);
        bytes.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hongbao_title_has_the_spec_bytes_in_each_charset() {
        // Spec §3.3: order_title=红包发放 in UTF-8 and in GBK.
        assert_eq!(
            Charset::Utf8.encode("红包发放").expect("utf-8"),
            [0xe7, 0xba, 0xa2, 0xe5, 0x8c, 0x85, 0xe5, 0x8f, 0x91, 0xe6, 0x94, 0xbe]
        );
        let gbk = Charset::Gbk.encode("红包发放").expect("gbk");
        assert_eq!(gbk, [0xba, 0xec, 0xb0, 0xfc, 0xb7, 0xa2, 0xb7, 0xc5]);
        assert_eq!(Charset::Gb2312.decode(&gbk).as_deref(), Some("红包发放"));
    }

    #[test]
    fn labels_parse_in_any_case() {
        assert_eq!(Charset::parse("UTF-8"), Some(Charset::Utf8));
        assert_eq!(Charset::parse("gbk"), Some(Charset::Gbk));
        assert_eq!(Charset::parse("Gb2312"), Some(Charset::Gb2312));
        assert_eq!(Charset::parse("latin1"), None);
    }

    #[test]
    fn invalid_bytes_are_refused_not_replaced() {
        assert_eq!(Charset::Utf8.decode(&[0xba, 0xec]), None);
        assert_eq!(Charset::Gbk.decode(&[0x81]), None);
    }

    #[test]
    fn json_with_unencodable_characters_is_escaped_for_gbk() {
        let json = r#"{"t":"红包😀"}"#;
        let bytes = Charset::Gbk.encode_json(json);
        let back = Charset::Gbk.decode(&bytes).expect("valid gbk");
        assert_eq!(back, r#"{"t":"红包\ud83d\ude00"}"#);
        let value: serde_json::Value = serde_json::from_str(&back).expect("valid json");
        assert_eq!(value["t"], "红包😀");
    }
}

//! `biz_content` as the official SDKs write it: a compact JSON object, keys in the documented
//! order, optional fields left out when unset, amounts as JSON strings (`"100.00"`), non-ASCII
//! as is.
//!
//! The writer builds the text itself instead of going through `serde_json::Map`: a `Map` keeps
//! insertion order only with serde_json's `preserve_order` feature, which this crate does not
//! enable (and must not depend on a user's tree enabling). serde_json still escapes each string.

use hongbao_money::Fen;
use serde_json::Value;

/// A compact JSON object under construction, in insertion order.
pub(crate) struct BizWriter {
    json: String,
    empty: bool,
}

impl BizWriter {
    pub fn new() -> BizWriter {
        BizWriter { json: String::from("{"), empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.json.push(',');
        }
        self.empty = false;
        // Display of a JSON value is its compact serialization and cannot fail.
        self.json.push_str(&Value::from(key).to_string());
        self.json.push(':');
    }

    /// A string field.
    pub fn text(mut self, key: &str, value: &str) -> BizWriter {
        self.key(key);
        self.json.push_str(&Value::from(value).to_string());
        self
    }

    /// A string field when set and not empty.
    pub fn optional(self, key: &str, value: Option<&str>) -> BizWriter {
        match value.filter(|v| !v.is_empty()) {
            Some(value) => self.text(key, value),
            None => self,
        }
    }

    /// An amount, as a JSON string in yuan.
    pub fn amount(self, key: &str, value: Fen) -> BizWriter {
        self.text(key, &value.to_string())
    }

    /// A nested object, written in its own insertion order.
    pub fn object(mut self, key: &str, value: BizWriter) -> BizWriter {
        self.key(key);
        self.json.push_str(&value.finish());
        self
    }

    pub fn finish(mut self) -> String {
        self.json.push('}');
        self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_insertion_order_and_strings_are_escaped() {
        let inner = BizWriter::new().text("z", "1").text("a", "2");
        let json = BizWriter::new()
            .text("title", "春节 \"红包\"\n")
            .optional("skipped", Some(""))
            .optional("none", None)
            .amount("amount", Fen::from_fen(1050))
            .object("nested", inner)
            .finish();
        assert_eq!(
            json,
            r#"{"title":"春节 \"红包\"\n","amount":"10.50","nested":{"z":"1","a":"2"}}"#
        );
        assert_eq!(BizWriter::new().finish(), "{}");
        // What it writes is JSON.
        let value: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["nested"]["a"], "2");
    }
}

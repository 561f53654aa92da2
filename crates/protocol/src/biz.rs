//! `biz_content`: the JSON object of business parameters, read field by field.
//!
//! Fields are read from the raw JSON text, never re-serialized (SDKs serialize differently and
//! the signature covers the raw string). Every getter validates and reports a precise
//! `BizError`, which the gateway answers as 40004 `ILLEGAL_ARGUMENT`.

use hongbao_money::{AmountError, Fen};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// What is wrong with a `biz_content`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BizError {
    /// `biz_content` is absent or blank.
    #[error("参数有误 (biz_content is required)")]
    Missing,
    /// Not JSON.
    #[error("参数有误 (biz_content is not valid JSON: {0})")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("参数有误 (biz_content must be a JSON object)")]
    NotObject,
    /// A key appears twice.
    #[error("参数有误 (biz_content has the key {0} more than once)")]
    DuplicateKey(String),
    /// More fields than any method takes.
    #[error("参数有误 (biz_content has more than {max} fields)")]
    TooManyFields {
        /// The bound.
        max: usize,
    },
    /// A required field is absent or empty.
    #[error("参数有误 ({0} is required)")]
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    #[error("参数有误 ({key} must be {expected})")]
    WrongType {
        /// The field.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A field's value breaks its rule.
    #[error("参数有误 ({key}: {reason})")]
    Invalid {
        /// The field.
        key: &'static str,
        /// The rule it breaks.
        reason: String,
    },
}

/// Longest merchant or Alipay id: 64 characters.
pub const ID_LEN_MAX: usize = 64;
/// `order_title` and `remark`: at most 100 letters or 50 Chinese characters (width units).
pub const TITLE_WIDTH_MAX: usize = 100;
/// `extra_param`: at most 300 characters (the query doc's echo length).
pub const EXTRA_PARAM_LEN_MAX: usize = 300;
/// `payee_logon_id`: at most 100 characters.
pub const LOGON_ID_LEN_MAX: usize = 100;
/// `pay_timeout` bounds in minutes: 1m ..= 7d.
pub const PAY_TIMEOUT_MINUTES_MAX: u32 = 7 * 24 * 60;

/// Most fields of a `biz_content` (the widest method takes about 20); counted while parsing,
/// so the duplicate-key scan never runs over more.
pub const BIZ_FIELDS_MAX: usize = 64;

/// A parsed `biz_content`.
#[derive(Debug)]
pub struct BizContent {
    fields: Vec<(String, Box<RawValue>)>,
}

/// The top-level fields of a JSON object, or why they are refused.
enum ObjectFields {
    Fields(Vec<(String, Box<RawValue>)>),
    Duplicate(String),
    TooMany,
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = ObjectFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut refused = None;
        while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
            if fields.len() >= BIZ_FIELDS_MAX {
                refused = Some(ObjectFields::TooMany);
            } else if fields.iter().any(|(k, _)| *k == key) {
                refused = Some(ObjectFields::Duplicate(key));
            } else {
                fields.push((key, value));
                continue;
            }
            break;
        }
        // The rest is read to the end without keeping it, so that the refusal is the one
        // reported (an object left half read is a syntax error to the parser).
        if refused.is_some() {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        }
        Ok(refused.unwrap_or(ObjectFields::Fields(fields)))
    }
}

impl<'de> serde::Deserialize<'de> for ObjectFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ObjectFields, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Refuses a nested object (`extra_param`, `business_params`…) that repeats a key, as
/// `biz_content` itself is refused: a last-wins reading would act on a value the merchant may
/// not have meant.
fn unique_keys(key: &'static str, text: &str) -> Result<(), BizError> {
    match serde_json::from_str::<ObjectFields>(text) {
        Ok(ObjectFields::Fields(_)) => Ok(()),
        Ok(ObjectFields::Duplicate(repeated)) => {
            Err(BizError::Invalid { key, reason: format!("has the key {repeated} more than once") })
        }
        Ok(ObjectFields::TooMany) => {
            Err(BizError::Invalid { key, reason: format!("has more than {BIZ_FIELDS_MAX} fields") })
        }
        Err(_) => Err(BizError::Invalid { key, reason: "must be a JSON object".into() }),
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn title_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

impl BizContent {
    /// Parses `biz_content`; `None` or blank is `Missing`.
    pub fn parse(text: Option<&str>) -> Result<BizContent, BizError> {
        let text = text.filter(|t| !t.trim().is_empty()).ok_or(BizError::Missing)?;
        match serde_json::from_str::<ObjectFields>(text) {
            Ok(ObjectFields::Fields(fields)) => Ok(BizContent { fields }),
            Ok(ObjectFields::Duplicate(duplicate)) => Err(BizError::DuplicateKey(duplicate)),
            Ok(ObjectFields::TooMany) => Err(BizError::TooManyFields { max: BIZ_FIELDS_MAX }),
            Err(err) if err.is_data() => Err(BizError::NotObject),
            Err(err) => Err(BizError::NotJson(err.to_string())),
        }
    }

    fn raw(&self, key: &str) -> Option<&RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// A string field; `null`, absent and `""` are all `None` (some SDKs send every optional
    /// field, empty).
    pub fn string(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(raw) = self.raw(key) else { return Ok(None) };
        if raw.get() == "null" {
            return Ok(None);
        }
        let value: String = serde_json::from_str(raw.get())
            .map_err(|_| BizError::WrongType { key, expected: "a string" })?;
        Ok(Some(value).filter(|v| !v.is_empty()))
    }

    /// An id (`out_order_no`, `auth_no`, …): 1..=64 ASCII letters, digits, `_`, `-` or `.`.
    pub fn id(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(value) = self.string(key)? else { return Ok(None) };
        if value.chars().count() > ID_LEN_MAX {
            return Err(BizError::Invalid {
                key,
                reason: format!("longer than {ID_LEN_MAX} characters"),
            });
        }
        if !value.chars().all(is_id_char) {
            return Err(BizError::Invalid {
                key,
                reason: "only ASCII letters, digits, '_', '-' and '.' are allowed".into(),
            });
        }
        Ok(Some(value))
    }

    /// A required id.
    pub fn required_id(&self, key: &'static str) -> Result<String, BizError> {
        self.id(key)?.ok_or(BizError::MissingField(key))
    }

    /// A text such as `order_title` or `remark`: no control characters, at most 100 width units
    /// (an ASCII character counts 1, any other 2).
    pub fn text(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(value) = self.string(key)? else { return Ok(None) };
        if value.trim().is_empty() {
            return Ok(None);
        }
        if value.chars().any(char::is_control) {
            return Err(BizError::Invalid {
                key,
                reason: "control characters are not allowed".into(),
            });
        }
        if title_width(&value) > TITLE_WIDTH_MAX {
            return Err(BizError::Invalid {
                key,
                reason: format!(
                    "longer than {TITLE_WIDTH_MAX} letters or {} Chinese characters",
                    TITLE_WIDTH_MAX / 2
                ),
            });
        }
        Ok(Some(value))
    }

    /// A required text.
    pub fn required_text(&self, key: &'static str) -> Result<String, BizError> {
        self.text(key)?.ok_or(BizError::MissingField(key))
    }

    /// A request amount, exact: a JSON string (`"100.00"`, what SDKs send) or a plain number
    /// literal (`100.00`), read from its text, never through a float.
    pub fn amount(&self, key: &'static str) -> Result<Fen, BizError> {
        let raw = self.raw(key).filter(|r| r.get() != "null").ok_or(BizError::MissingField(key))?;
        let text = raw.get();
        let literal = if text.starts_with('"') {
            serde_json::from_str::<String>(text)
                .map_err(|_| BizError::WrongType { key, expected: "a string like \"100.00\"" })?
        } else if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            text.to_owned()
        } else {
            return Err(BizError::WrongType { key, expected: "a string like \"100.00\"" });
        };
        if literal.is_empty() {
            return Err(BizError::MissingField(key));
        }
        Fen::parse_amount(&literal)
            .map_err(|err| BizError::Invalid { key, reason: amount_reason(&err) })
    }

    /// A user id: `2088` followed by 12 digits.
    pub fn user_id(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(value) = self.string(key)? else { return Ok(None) };
        if value.len() != 16
            || !value.starts_with("2088")
            || !value.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(BizError::Invalid {
                key,
                reason: "must be 2088 followed by 12 digits".into(),
            });
        }
        Ok(Some(value))
    }

    /// A logon id (e-mail or phone): 1..=100 characters, no whitespace or control characters.
    pub fn logon_id(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(value) = self.string(key)? else { return Ok(None) };
        if value.chars().count() > LOGON_ID_LEN_MAX
            || value.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(BizError::Invalid {
                key,
                reason: format!("must be at most {LOGON_ID_LEN_MAX} characters without spaces"),
            });
        }
        Ok(Some(value))
    }

    /// `pay_timeout`: whole minutes, hours or days (`90m`, `2h`, `7d`), between 1m and 7d.
    /// Returns minutes.
    pub fn pay_timeout(&self) -> Result<Option<u32>, BizError> {
        let key = "pay_timeout";
        let Some(value) = self.string(key)? else { return Ok(None) };
        parse_pay_timeout(&value).map(Some).ok_or_else(|| BizError::Invalid {
            key,
            reason: format!("{value:?} is not a whole number of m, h or d between 1m and 7d"),
        })
    }

    /// `extra_param`: a JSON object, sent as a string (as documented) or, from SDKs that
    /// serialize nested objects, as an object. Returned as compact JSON text, at most 300
    /// characters.
    pub fn extra_param(&self) -> Result<Option<String>, BizError> {
        let key = "extra_param";
        let Some(raw) = self.raw(key).filter(|r| r.get() != "null") else { return Ok(None) };
        let text = if raw.get().starts_with('"') {
            let Some(inner) = self.string(key)? else { return Ok(None) };
            inner
        } else {
            raw.get().to_owned()
        };
        unique_keys(key, &text)?;
        if text.chars().count() > EXTRA_PARAM_LEN_MAX {
            return Err(BizError::Invalid {
                key,
                reason: format!("longer than {EXTRA_PARAM_LEN_MAX} characters"),
            });
        }
        Ok(Some(text))
    }
}

/// Longest `business_params` or `passback_params` accepted: 1,000 characters.
pub const PARAMS_TEXT_LEN_MAX: usize = 1000;

/// A JSON object read from `biz_content`.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A fund.trans `Participant` (`payee_info`, `payer_info`), as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// `identity`: a 2088… user id or a logon id, per `identity_type`.
    pub identity: String,
    /// `identity_type`: `ALIPAY_USER_ID` or `ALIPAY_LOGON_ID` (others are refused).
    pub identity_type: ParticipantType,
    /// `name`: the real name, checked against the account when given; required with
    /// `ALIPAY_LOGON_ID`.
    pub name: Option<String>,
}

/// How a `Participant` names its account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantType {
    /// `ALIPAY_USER_ID`: `identity` is the 2088… user id.
    UserId,
    /// `ALIPAY_LOGON_ID`: `identity` is the logon id (e-mail or phone).
    LogonId,
}

impl BizContent {
    /// A JSON object given as an object or, as the SDK models declare it, as a JSON string
    /// holding one (`business_params`); returned with its compact text (at most
    /// `PARAMS_TEXT_LEN_MAX` characters).
    pub fn object(&self, key: &'static str) -> Result<Option<(JsonObject, String)>, BizError> {
        let Some(raw) = self.raw(key).filter(|r| r.get() != "null") else { return Ok(None) };
        let text = if raw.get().starts_with('"') {
            let Some(inner) = self.string(key)? else { return Ok(None) };
            inner
        } else {
            raw.get().to_owned()
        };
        unique_keys(key, &text)?;
        let serde_json::Value::Object(map) = serde_json::from_str(&text)
            .map_err(|_| BizError::Invalid { key, reason: "must be a JSON object".into() })?
        else {
            return Err(BizError::Invalid { key, reason: "must be a JSON object".into() });
        };
        if text.chars().count() > PARAMS_TEXT_LEN_MAX {
            return Err(BizError::Invalid {
                key,
                reason: format!("longer than {PARAMS_TEXT_LEN_MAX} characters"),
            });
        }
        let compact = serde_json::Value::Object(map.clone()).to_string();
        Ok(Some((map, compact)))
    }

    /// A free text echoed back (`passback_params`): a string of at most `PARAMS_TEXT_LEN_MAX`
    /// characters, or an object (some clients nest it), kept as compact JSON text.
    pub fn passback(&self, key: &'static str) -> Result<Option<String>, BizError> {
        let Some(raw) = self.raw(key).filter(|r| r.get() != "null") else { return Ok(None) };
        let text = if raw.get().starts_with('"') {
            let Some(text) = self.string(key)? else { return Ok(None) };
            text
        } else if raw.get().starts_with('{') {
            match self.object(key)? {
                Some((_, compact)) => compact,
                None => return Ok(None),
            }
        } else {
            return Err(BizError::WrongType { key, expected: "a string" });
        };
        if text.chars().count() > PARAMS_TEXT_LEN_MAX || text.chars().any(char::is_control) {
            return Err(BizError::Invalid {
                key,
                reason: format!("at most {PARAMS_TEXT_LEN_MAX} characters, no control characters"),
            });
        }
        Ok(Some(text))
    }

    /// A time of fund.trans requests, `yyyy-MM-dd HH:mm` in Beijing time (minutes, as
    /// `time_expire` and `refund_time_expire` are written), as epoch milliseconds.
    pub fn beijing_minute(&self, key: &'static str) -> Result<Option<i64>, BizError> {
        let Some(value) = self.string(key)? else { return Ok(None) };
        let invalid = || BizError::Invalid {
            key,
            reason: format!("{value:?} is not a time like \"2026-12-01 18:30\" (yyyy-MM-dd HH:mm)"),
        };
        let naive = chrono::NaiveDateTime::parse_from_str(&value, "%Y-%m-%d %H:%M")
            .map_err(|_| invalid())?;
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(invalid)?;
        let at = naive.and_local_timezone(beijing).single().ok_or_else(invalid)?;
        Ok(Some(at.timestamp_millis()))
    }

    /// A fund.trans `Participant` (`payee_info`): an object with `identity` and
    /// `identity_type` (`ALIPAY_USER_ID` or `ALIPAY_LOGON_ID`), and `name` (required for a logon
    /// id). Given as an object or as a JSON string holding one.
    pub fn participant(&self, key: &'static str) -> Result<Option<Participant>, BizError> {
        let Some((map, _)) = self.object(key)? else { return Ok(None) };
        let text = |field: &str| -> Result<Option<String>, BizError> {
            match map.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(text)) if text.is_empty() => Ok(None),
                Some(serde_json::Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => {
                    Err(BizError::Invalid { key, reason: format!("{field} must be a string") })
                }
            }
        };
        let identity = text("identity")?
            .ok_or_else(|| BizError::Invalid { key, reason: "identity is required".into() })?;
        let identity_type = match text("identity_type")?.as_deref() {
            Some("ALIPAY_USER_ID") => ParticipantType::UserId,
            Some("ALIPAY_LOGON_ID") => ParticipantType::LogonId,
            Some(other) => {
                return Err(BizError::Invalid {
                    key,
                    reason: format!(
                        "identity_type {other:?} is not served (ALIPAY_USER_ID or ALIPAY_LOGON_ID)"
                    ),
                })
            }
            None => {
                return Err(BizError::Invalid { key, reason: "identity_type is required".into() })
            }
        };
        let name = text("name")?;
        if identity_type == ParticipantType::LogonId && name.is_none() {
            return Err(BizError::Invalid {
                key,
                reason: "name is required when identity_type is ALIPAY_LOGON_ID".into(),
            });
        }
        let valid = match identity_type {
            ParticipantType::UserId => {
                identity.len() == 16
                    && identity.starts_with("2088")
                    && identity.bytes().all(|b| b.is_ascii_digit())
            }
            ParticipantType::LogonId => {
                identity.chars().count() <= LOGON_ID_LEN_MAX
                    && !identity.chars().any(|c| c.is_control() || c.is_whitespace())
            }
        };
        if !valid {
            return Err(BizError::Invalid {
                key,
                reason: "identity is not a valid user id (2088 + 12 digits) or logon id".into(),
            });
        }
        if name
            .as_ref()
            .is_some_and(|name| name.chars().count() > 100 || name.chars().any(char::is_control))
        {
            return Err(BizError::Invalid { key, reason: "name: at most 100 characters".into() });
        }
        Ok(Some(Participant { identity, identity_type, name }))
    }
}

fn amount_reason(err: &AmountError) -> String {
    match err {
        AmountError::TooManyDecimals(_) => "at most two decimals".into(),
        AmountError::TooSmall(_) | AmountError::TooLarge(_) => {
            "must be between 0.01 and 100000000.00".into()
        }
        AmountError::Empty | AmountError::Malformed(_) => {
            "must be a decimal like \"100.00\" (ASCII digits, no sign or exponent)".into()
        }
    }
}

/// Longest `orderExpiredTime` accepted: 30 days.
pub const ORDER_EXPIRED_MINUTES_MAX: u32 = 30 * 24 * 60;

/// `orderExpiredTime` from an `extra_param` JSON text, in minutes: either
/// `{"orderExpiredTime":"10m"}` (the query page's example) or
/// `{"merchantExt":"orderExpiredTime=1m"}` (the agreement.pay guide's). `Ok(None)` when absent.
///
/// ```
/// # use hongbao_protocol::biz::order_expired_minutes;
/// assert_eq!(order_expired_minutes(r#"{"orderExpiredTime":"10m"}"#), Ok(Some(10)));
/// assert_eq!(order_expired_minutes(r#"{"merchantExt":"a=b;orderExpiredTime=2h"}"#), Ok(Some(120)));
/// assert_eq!(order_expired_minutes(r#"{"other":1}"#), Ok(None));
/// assert!(order_expired_minutes(r#"{"orderExpiredTime":"1.5h"}"#).is_err());
/// ```
pub fn order_expired_minutes(extra_param: &str) -> Result<Option<u32>, BizError> {
    let key = "extra_param";
    unique_keys(key, extra_param)?;
    let value: serde_json::Value = serde_json::from_str(extra_param)
        .map_err(|_| BizError::Invalid { key, reason: "must be a JSON object".into() })?;
    let direct = value.get("orderExpiredTime").and_then(|v| v.as_str()).map(str::to_owned);
    let nested = value.get("merchantExt").and_then(|v| v.as_str()).and_then(|ext| {
        ext.split([';', ',', '&'])
            .find_map(|part| part.trim().strip_prefix("orderExpiredTime=").map(str::to_owned))
    });
    let Some(text) = direct.or(nested) else { return Ok(None) };
    parse_duration_minutes(&text, ORDER_EXPIRED_MINUTES_MAX).map(Some).ok_or_else(|| {
        BizError::Invalid {
            key,
            reason: format!(
                "orderExpiredTime {text:?} is not a whole number of m, h or d between 1m and 30d"
            ),
        }
    })
}

/// Parses a duration like `90m`, `2h`, `7d` (whole units) into minutes within 1m..=7d.
///
/// ```
/// # use hongbao_protocol::biz::parse_pay_timeout;
/// assert_eq!(parse_pay_timeout("1h"), Some(60));
/// assert_eq!(parse_pay_timeout("1.5h"), None);
/// assert_eq!(parse_pay_timeout("8d"), None);
/// ```
pub fn parse_pay_timeout(text: &str) -> Option<u32> {
    parse_duration_minutes(text, PAY_TIMEOUT_MINUTES_MAX)
}

/// Parses `<whole number><m|h|d>` into minutes within 1..=`max_minutes`.
pub fn parse_duration_minutes(text: &str, max_minutes: u32) -> Option<u32> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty()
        || digits.len() > 6
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return None;
    }
    let count: u32 = digits.parse().ok()?;
    let minutes = match unit {
        'm' => count,
        'h' => count.checked_mul(60)?,
        'd' => count.checked_mul(24 * 60)?,
        _ => return None,
    };
    (1..=max_minutes).contains(&minutes).then_some(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn biz(text: &str) -> BizContent {
        BizContent::parse(Some(text)).expect("parses")
    }

    #[test]
    fn a_duplicate_key_is_named_wherever_it_is() {
        for text in [r#"{"a":"1","a":"2","b":"3"}"#, r#"{"b":"3","a":"1","a":"2"}"#] {
            assert_eq!(
                BizContent::parse(Some(text)).map(|_| ()),
                Err(BizError::DuplicateKey("a".into())),
                "{text}"
            );
        }
    }

    #[test]
    fn the_field_bound_is_counted_while_parsing() {
        let fields: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\":1")).collect();
        let text = format!("{{{}}}", fields.join(","));
        assert_eq!(
            BizContent::parse(Some(&text)).map(|_| ()),
            Err(BizError::TooManyFields { max: BIZ_FIELDS_MAX })
        );
    }

    #[test]
    fn nested_objects_refuse_duplicate_keys_too() {
        let quoted =
            biz(r#"{"extra_param":"{\"orderExpiredTime\":\"1m\",\"orderExpiredTime\":\"30d\"}"}"#);
        assert!(
            matches!(quoted.extra_param(), Err(BizError::Invalid { reason, .. }) if reason.contains("orderExpiredTime more than once"))
        );
        let nested = biz(r#"{"extra_param":{"a":1,"a":2}}"#);
        assert!(nested.extra_param().is_err());
        assert!(
            order_expired_minutes(r#"{"orderExpiredTime":"1m","orderExpiredTime":"2m"}"#).is_err()
        );
        let params = biz(r#"{"business_params":{"x":"1","x":"2"}}"#);
        assert!(params.object("business_params").is_err());
    }

    #[test]
    fn fund_trans_objects_are_read_as_objects_or_json_strings() {
        let nested = biz(r#"{"business_params":{"sub_biz_scene":"REDPACKET"}}"#);
        let quoted = biz(r#"{"business_params":"{\"sub_biz_scene\":\"REDPACKET\"}"}"#);
        for given in [nested, quoted] {
            let (map, text) = given.object("business_params").expect("object").expect("present");
            assert_eq!(map["sub_biz_scene"], "REDPACKET");
            assert_eq!(text, r#"{"sub_biz_scene":"REDPACKET"}"#);
        }
        assert!(biz(r#"{"business_params":"[1]"}"#).object("business_params").is_err());
        assert_eq!(biz(r#"{"business_params":""}"#).object("business_params"), Ok(None));
        assert_eq!(
            biz(r#"{"p":{"a":1}}"#).passback("p"),
            Ok(Some(r#"{"a":1}"#.into())),
            "an object passback is kept as compact JSON"
        );
    }

    #[test]
    fn participants_need_a_type_and_a_name_with_logon_ids() {
        let user = biz(
            r#"{"payee_info":{"identity":"2088000000000001","identity_type":"ALIPAY_USER_ID"}}"#,
        )
        .participant("payee_info")
        .expect("valid")
        .expect("present");
        assert_eq!(user.identity_type, ParticipantType::UserId);
        assert_eq!(user.name, None);
        let logon = r#"{"payee_info":{"identity":"a@b.com","identity_type":"ALIPAY_LOGON_ID","name":"王"}}"#;
        assert_eq!(
            biz(logon).participant("payee_info").expect("valid").map(|p| p.name),
            Some(Some("王".into()))
        );
        for bad in [
            r#"{"payee_info":{"identity":"a@b.com","identity_type":"ALIPAY_LOGON_ID"}}"#,
            r#"{"payee_info":{"identity":"2088","identity_type":"ALIPAY_USER_ID"}}"#,
            r#"{"payee_info":{"identity":"x","identity_type":"ALIPAY_OPEN_ID"}}"#,
            r#"{"payee_info":{"identity":"2088000000000001"}}"#,
            r#"{"payee_info":{"identity":1,"identity_type":"ALIPAY_USER_ID"}}"#,
        ] {
            assert!(biz(bad).participant("payee_info").is_err(), "{bad}");
        }
    }

    #[test]
    fn fund_trans_times_are_beijing_minutes() {
        // 2018-03-23 19:15 Beijing = 11:15 UTC.
        let at = biz(r#"{"time_expire":"2018-03-23 19:15"}"#).beijing_minute("time_expire");
        assert_eq!(at, Ok(Some(1_521_803_700_000)));
        for bad in ["2018-03-23 19:15:00", "2018-13-01 00:00", "2018-03-23T19:15", "tomorrow"] {
            let text = format!(r#"{{"time_expire":"{bad}"}}"#);
            assert!(biz(&text).beijing_minute("time_expire").is_err(), "{bad}");
        }
    }

    #[test]
    fn structure_errors_are_told_apart() {
        assert_eq!(BizContent::parse(None).expect_err("missing"), BizError::Missing);
        assert_eq!(BizContent::parse(Some("  ")).expect_err("blank"), BizError::Missing);
        assert!(matches!(BizContent::parse(Some("{oops")), Err(BizError::NotJson(_))));
        assert_eq!(BizContent::parse(Some("[1]")).expect_err("array"), BizError::NotObject);
        assert_eq!(
            BizContent::parse(Some(r#"{"a":"1","a":"2"}"#)).expect_err("dup"),
            BizError::DuplicateKey("a".into())
        );
    }

    #[test]
    fn amounts_are_read_exactly_from_strings_and_number_literals() {
        assert_eq!(biz(r#"{"amount":"100.00"}"#).amount("amount"), Ok(Fen::from_fen(10000)));
        assert_eq!(biz(r#"{"amount":100.00}"#).amount("amount"), Ok(Fen::from_fen(10000)));
        assert_eq!(biz(r#"{"amount":0.29}"#).amount("amount"), Ok(Fen::from_fen(29)));
        for bad in [
            r#""1e3""#,
            "1e3",
            r#""0.001""#,
            r#""-1""#,
            "-1",
            r#""100000000.01""#,
            r#""１００""#,
            "true",
            "[]",
            r#""""#,
            "null",
        ] {
            let content = format!(r#"{{"amount":{bad}}}"#);
            assert!(biz(&content).amount("amount").is_err(), "{bad} accepted");
        }
        assert_eq!(biz("{}").amount("amount"), Err(BizError::MissingField("amount")));
    }

    #[test]
    fn ids_titles_and_users_are_checked() {
        let b = biz(&format!(
            r#"{{"ok":"A-1_b.2","long":"{}","ctl":"a\u0001","cn":"红包","title":"{}","u":"2088102000000001","bad_u":"2089102000000001","n":5}}"#,
            "x".repeat(65),
            "红".repeat(51)
        ));
        assert_eq!(b.required_id("ok"), Ok("A-1_b.2".into()));
        assert!(matches!(b.id("long"), Err(BizError::Invalid { .. })));
        assert!(matches!(b.id("ctl"), Err(BizError::Invalid { .. })));
        assert!(matches!(b.id("cn"), Err(BizError::Invalid { .. })));
        assert!(matches!(b.text("title"), Err(BizError::Invalid { .. })));
        assert_eq!(b.text("cn"), Ok(Some("红包".into())));
        assert_eq!(b.user_id("u"), Ok(Some("2088102000000001".into())));
        assert!(b.user_id("bad_u").is_err());
        assert_eq!(b.id("n"), Err(BizError::WrongType { key: "n", expected: "a string" }));
        assert_eq!(b.required_id("absent"), Err(BizError::MissingField("absent")));
    }

    #[test]
    fn extra_param_accepts_a_json_string_or_object() {
        assert_eq!(
            biz(r#"{"extra_param":"{\"orderExpiredTime\":\"10m\"}"}"#).extra_param(),
            Ok(Some(r#"{"orderExpiredTime":"10m"}"#.into()))
        );
        assert_eq!(
            biz(r#"{"extra_param":{"orderExpiredTime":"10m"}}"#).extra_param(),
            Ok(Some(r#"{"orderExpiredTime":"10m"}"#.into()))
        );
        assert!(biz(r#"{"extra_param":"not json"}"#).extra_param().is_err());
        assert!(biz(r#"{"extra_param":"[1]"}"#).extra_param().is_err());
    }

    #[test]
    fn pay_timeout_takes_whole_units_in_range() {
        for (text, minutes) in
            [("1m", 1), ("90m", 90), ("1h", 60), ("7d", 10080), ("10080m", 10080)]
        {
            assert_eq!(parse_pay_timeout(text), Some(minutes), "{text}");
        }
        for bad in ["0m", "1.5h", "8d", "10081m", "h", "01h", "1H", "1 h", "-1m", "1s", "１h"] {
            assert_eq!(parse_pay_timeout(bad), None, "{bad}");
        }
    }
}

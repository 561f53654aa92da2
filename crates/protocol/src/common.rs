//! The common request parameters (`CommonParams`): presence and syntax of what every request
//! carries besides `biz_content`.
//!
//! `CommonParams::parse` checks presence and syntax in one fixed order, so a request breaking two
//! rules always gets the same answer; registry checks (method, app) and the signature follow in the
//! gateway, in the order documented in docs/errors.md.

use crate::error::RequestError;
use crate::params::Params;
use chrono::{NaiveDateTime, TimeDelta};
use hongbao_sign::SignType;

/// The checked common parameters of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommonParams {
    /// `app_id`, not yet looked up.
    pub app_id: String,
    /// `method`, not yet looked up.
    pub method: String,
    /// `sign_type`.
    pub sign_type: SignType,
    /// `sign`, base64 (not yet verified).
    pub sign: String,
    /// `timestamp` as sent, in the client's local time.
    pub timestamp: NaiveDateTime,
    /// `notify_url`, when given.
    pub notify_url: Option<String>,
    /// `return_url`, when given.
    pub return_url: Option<String>,
    /// `app_auth_token`, when given.
    pub app_auth_token: Option<String>,
    /// `app_cert_sn` (certificate mode), when given.
    pub app_cert_sn: Option<String>,
    /// `alipay_root_cert_sn` (certificate mode), when given.
    pub alipay_root_cert_sn: Option<String>,
}

/// Longest `notify_url` / `return_url` Alipay documents.
pub const URL_LEN_MAX: usize = 256;

/// SDKs send the client's *local* time (Java sends GMT+8), so the window is every time zone's
/// offset from UTC (−12 h … +14 h) plus this much clock skew.
pub const TIMESTAMP_SKEW_MAX: TimeDelta = TimeDelta::minutes(15);

/// Parses `yyyy-MM-dd HH:mm:ss` strictly (no missing zero padding, no trailing text, no leap
/// second: chrono reads `:60` as one, which no SDK's clock produces).
pub fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    use chrono::Timelike;
    if text.len() != 19 {
        return None;
    }
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    if parsed.nanosecond() >= 1_000_000_000 {
        return None;
    }
    (parsed.format("%Y-%m-%d %H:%M:%S").to_string() == text).then_some(parsed)
}

fn check_url(params: &Params, key: &'static str) -> Result<Option<String>, RequestError> {
    let Some(url) = params.get_nonblank(key) else { return Ok(None) };
    let lower = url.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    let has_host = url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    let clean = url.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if !scheme_ok || !has_host || !clean || url.chars().count() > URL_LEN_MAX {
        return Err(RequestError::InvalidUrl { key });
    }
    Ok(Some(url.to_owned()))
}

impl CommonParams {
    /// Checks presence and syntax, in this order: method, app_id, sign_type, sign, timestamp
    /// (format, then window around `now_utc`), version, format, notify_url, return_url.
    pub fn parse(params: &Params, now_utc: NaiveDateTime) -> Result<CommonParams, RequestError> {
        let method = params.get_nonblank("method").ok_or(RequestError::MissingMethod)?;
        let app_id = params.get_nonblank("app_id").ok_or(RequestError::MissingAppId)?;
        let sign_type_text =
            params.get_nonblank("sign_type").ok_or(RequestError::MissingSignType)?;
        let sign_type = SignType::parse(sign_type_text)
            .ok_or_else(|| RequestError::InvalidSignType(sign_type_text.to_owned()))?;
        let sign = params.get_nonblank("sign").ok_or(RequestError::MissingSign)?;
        let timestamp_text =
            params.get_nonblank("timestamp").ok_or(RequestError::MissingTimestamp)?;
        let timestamp = parse_timestamp(timestamp_text)
            .ok_or_else(|| RequestError::InvalidTimestamp(timestamp_text.to_owned()))?;
        let earliest = now_utc - TimeDelta::hours(12) - TIMESTAMP_SKEW_MAX;
        let latest = now_utc + TimeDelta::hours(14) + TIMESTAMP_SKEW_MAX;
        if timestamp < earliest || timestamp > latest {
            return Err(RequestError::TimestampOutOfWindow(timestamp_text.to_owned()));
        }
        let version = params.get_nonblank("version").ok_or(RequestError::MissingVersion)?;
        if version != "1.0" {
            return Err(RequestError::InvalidVersion(version.to_owned()));
        }
        if let Some(format) = params.get_nonblank("format") {
            if !format.eq_ignore_ascii_case("json") {
                return Err(RequestError::InvalidFormat(format.to_owned()));
            }
        }
        let notify_url = check_url(params, "notify_url")?;
        let return_url = check_url(params, "return_url")?;
        Ok(CommonParams {
            app_id: app_id.to_owned(),
            method: method.to_owned(),
            sign_type,
            sign: sign.to_owned(),
            timestamp,
            notify_url,
            return_url,
            app_auth_token: params.get_nonblank("app_auth_token").map(str::to_owned),
            app_cert_sn: params.get_nonblank("app_cert_sn").map(str::to_owned),
            alipay_root_cert_sn: params.get_nonblank("alipay_root_cert_sn").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        parse_timestamp("2026-11-23 12:00:00").expect("valid")
    }

    fn valid() -> Params {
        [
            ("app_id", "2021000000000001"),
            ("method", "alipay.fund.coupon.operation.query"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("sign", "abc"),
            ("timestamp", "2026-11-23 20:00:00"),
            ("version", "1.0"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_complete_request_parses() {
        let common = CommonParams::parse(&valid(), now()).expect("valid");
        assert_eq!(common.sign_type, SignType::Rsa2);
        assert_eq!(common.method, "alipay.fund.coupon.operation.query");
    }

    #[test]
    fn each_rule_in_precedence_order() {
        // Each row breaks one more rule than the row below it would see; the first broken rule wins.
        let cases: Vec<(&str, Option<&str>, RequestError)> = vec![
            ("method", None, RequestError::MissingMethod),
            ("method", Some(" "), RequestError::MissingMethod),
            ("app_id", None, RequestError::MissingAppId),
            ("sign_type", None, RequestError::MissingSignType),
            ("sign_type", Some("rsa2"), RequestError::InvalidSignType("rsa2".into())),
            ("sign_type", Some("MD5"), RequestError::InvalidSignType("MD5".into())),
            ("sign", None, RequestError::MissingSign),
            ("timestamp", None, RequestError::MissingTimestamp),
            (
                "timestamp",
                Some("2026-11-23T20:00:00"),
                RequestError::InvalidTimestamp("2026-11-23T20:00:00".into()),
            ),
            (
                "timestamp",
                Some("2026-1-23 20:00:00"),
                RequestError::InvalidTimestamp("2026-1-23 20:00:00".into()),
            ),
            (
                "timestamp",
                Some("2026-11-31 20:00:00"),
                RequestError::InvalidTimestamp("2026-11-31 20:00:00".into()),
            ),
            (
                "timestamp",
                Some("2026-11-22 23:44:59"),
                RequestError::TimestampOutOfWindow("2026-11-22 23:44:59".into()),
            ),
            (
                "timestamp",
                Some("2026-11-24 02:15:01"),
                RequestError::TimestampOutOfWindow("2026-11-24 02:15:01".into()),
            ),
            ("version", None, RequestError::MissingVersion),
            ("version", Some("2.0"), RequestError::InvalidVersion("2.0".into())),
            ("format", Some("xml"), RequestError::InvalidFormat("xml".into())),
            ("notify_url", Some("ftp://x"), RequestError::InvalidUrl { key: "notify_url" }),
            (
                "notify_url",
                Some("javascript:alert(1)"),
                RequestError::InvalidUrl { key: "notify_url" },
            ),
            ("return_url", Some("http://"), RequestError::InvalidUrl { key: "return_url" }),
        ];
        for (key, value, expected) in cases {
            let mut params = valid();
            match value {
                Some(v) => params.insert(key, v),
                None => {
                    params.remove(key);
                }
            }
            assert_eq!(CommonParams::parse(&params, now()), Err(expected), "{key}={value:?}");
        }
        let mut both = valid();
        both.remove("method");
        both.remove("app_id");
        assert_eq!(CommonParams::parse(&both, now()), Err(RequestError::MissingMethod));
    }

    #[test]
    fn a_leap_second_is_not_a_timestamp() {
        assert_eq!(parse_timestamp("2026-11-23 11:59:60"), None);
        assert!(parse_timestamp("2026-11-23 11:59:59").is_some());
    }

    #[test]
    fn window_edges_and_optional_params() {
        let mut params = valid();
        params.insert("timestamp", "2026-11-22 23:45:00");
        params.insert("format", "JSON");
        params.insert("notify_url", "https://merchant.example/notify");
        assert!(CommonParams::parse(&params, now()).is_ok());
        params.insert("timestamp", "2026-11-24 02:15:00");
        assert!(CommonParams::parse(&params, now()).is_ok());
        let long = format!("https://e.example/{}", "a".repeat(240));
        params.insert("notify_url", long);
        assert_eq!(
            CommonParams::parse(&params, now()),
            Err(RequestError::InvalidUrl { key: "notify_url" })
        );
    }
}

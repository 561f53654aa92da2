//! Alipay-shaped identifiers.
//!
//! `auth_no` (28 digits) = `yyyyMMdd` + `10002001` + route (2) + `02` + sequence (8);
//! `operation_id` (20 digits) = `yyyyMMdd` + sequence (8) + route (2) + `02`: the shapes of the
//! real ids in the spec (§4), where the two route digits of an operation match its order's. The
//! date is Beijing's; the sequence is the store's, so ids are unique while fewer than 10^8 are
//! issued per day.

use chrono::{DateTime, FixedOffset};

fn beijing_date(now_ms: i64) -> String {
    let Some(offset) = FixedOffset::east_opt(8 * 3600) else { return "19700101".into() };
    DateTime::from_timestamp_millis(now_ms)
        .map(|t| t.with_timezone(&offset).format("%Y%m%d").to_string())
        .unwrap_or_else(|| "19700101".into())
}

/// Two digits derived from the app id, shared by an app's auth_nos and operation_ids.
pub fn route_digits(app_id: &str) -> u8 {
    (app_id.bytes().fold(0u32, |acc, b| (acc * 31 + u32::from(b)) % 100)) as u8
}

/// An auth_no for sequence number `sequence`.
pub fn auth_no(now_ms: i64, route: u8, sequence: i64) -> String {
    format!("{}10002001{route:02}02{:08}", beijing_date(now_ms), sequence.rem_euclid(100_000_000))
}

/// An operation_id for sequence number `sequence`.
pub fn operation_id(now_ms: i64, route: u8, sequence: i64) -> String {
    format!("{}{:08}{route:02}02", beijing_date(now_ms), sequence.rem_euclid(100_000_000))
}

/// Which fund.trans document an id is for: Alipay's sends carry `75`, transfers `70` (spec §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransDocument {
    /// A send (`alipay.fund.trans.app.pay`) and its returns.
    Send,
    /// A claim or B2C transfer (`alipay.fund.trans.uni.transfer`).
    Transfer,
}

impl TransDocument {
    fn digits(self) -> &'static str {
        match self {
            TransDocument::Send => "75",
            TransDocument::Transfer => "70",
        }
    }
}

/// A fund.trans `order_id` (32 digits): `yyyyMMdd` + `1100` + `75`/`70` + `0000` + route (2) +
/// sequence (12), the shape of the real ids in std-red-packet-spec.md §1.4.
pub fn trans_order_id(now_ms: i64, document: TransDocument, route: u8, sequence: i64) -> String {
    let sequence = sequence.rem_euclid(1_000_000_000_000);
    format!("{}1100{}0000{route:02}{sequence:012}", beijing_date(now_ms), document.digits())
}

/// A fund.trans fund flow id (`pay_fund_order_id`, a return's `refund_order_id`; 32 digits):
/// `yyyyMMdd` + `1100` + `75`/`70` + `0015` + route (2) + sequence (12).
pub fn trans_fund_id(now_ms: i64, document: TransDocument, route: u8, sequence: i64) -> String {
    let sequence = sequence.rem_euclid(1_000_000_000_000);
    format!("{}1100{}0015{route:02}{sequence:012}", beijing_date(now_ms), document.digits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_real_shapes() {
        // 2018-08-17 12:00 Beijing.
        let now_ms = 1_534_478_400_000;
        let auth = auth_no(now_ms, 86, 94_782_485);
        assert_eq!(auth, "2018081710002001860294782485");
        let op = operation_id(now_ms, 86, 58_743_299);
        assert_eq!(op, "20180817587432998602");
        assert!(route_digits("2021000000000001") < 100);
        let send = trans_order_id(now_ms, TransDocument::Send, 64, 63_056);
        assert_eq!(send, "20180817110075000064000000063056");
        assert_eq!(trans_fund_id(now_ms, TransDocument::Transfer, 6, 1).len(), 32);
    }
}

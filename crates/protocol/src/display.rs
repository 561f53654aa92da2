//! Display forms Alipay prints: `gmt_*` times in Beijing time and masked logon ids.

use chrono::{DateTime, FixedOffset, NaiveDateTime};

const BEIJING_OFFSET_SECONDS: i32 = 8 * 3600;

/// Formats a Unix time in milliseconds as `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), the
/// form of every `gmt_*` field.
///
/// ```
/// # use hongbao_protocol::display::format_beijing;
/// assert_eq!(format_beijing(0), "1970-01-01 08:00:00");
/// ```
pub fn format_beijing(unix_ms: i64) -> String {
    // +8 h is always a valid offset; the `else` only satisfies the type.
    let Some(offset) = FixedOffset::east_opt(BEIJING_OFFSET_SECONDS) else { return String::new() };
    DateTime::from_timestamp_millis(unix_ms)
        .map(|t| t.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Parses a `gmt_*` Beijing time back to Unix milliseconds.
pub fn parse_beijing(text: &str) -> Option<i64> {
    let naive = crate::common::parse_timestamp(text)?;
    Some(naive_beijing_to_ms(naive))
}

fn naive_beijing_to_ms(naive: NaiveDateTime) -> i64 {
    naive.and_utc().timestamp_millis() - i64::from(BEIJING_OFFSET_SECONDS) * 1000
}

/// Masks a logon id for display, as Alipay does ("仅作展示使用，默认会加“*”号处理"):
/// e-mail local parts keep their first ⌈2n/3⌉ characters (`ali*@alipay.com`,
/// `zhan**@alitest.com`, the seed's examples); 11-digit phone numbers keep 3 + 4
/// (`182****8182`); anything else keeps its first third.
///
/// ```
/// # use hongbao_protocol::display::mask_logon_id;
/// assert_eq!(mask_logon_id("zhangs@alitest.com"), "zhan**@alitest.com");
/// assert_eq!(mask_logon_id("alip@alipay.com"), "ali*@alipay.com");
/// assert_eq!(mask_logon_id("18212348182"), "182****8182");
/// ```
pub fn mask_logon_id(logon_id: &str) -> String {
    if let Some((local, domain)) = logon_id.split_once('@') {
        let chars: Vec<char> = local.chars().collect();
        let keep = (chars.len() * 2).div_ceil(3).min(chars.len().saturating_sub(1));
        let kept: String = chars.iter().take(keep).collect();
        return format!("{kept}{}@{domain}", "*".repeat(chars.len().saturating_sub(keep)));
    }
    let chars: Vec<char> = logon_id.chars().collect();
    if chars.len() == 11 && chars.iter().all(char::is_ascii_digit) {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[7..].iter().collect();
        return format!("{head}****{tail}");
    }
    let keep = chars.len().div_ceil(3).min(chars.len().saturating_sub(1));
    let kept: String = chars.iter().take(keep).collect();
    format!("{kept}{}", "*".repeat(chars.len() - keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_round_trips() {
        let ms = 1_700_000_000_000;
        let text = format_beijing(ms);
        assert_eq!(text, "2023-11-15 06:13:20");
        assert_eq!(parse_beijing(&text), Some(ms));
    }

    #[test]
    fn masks_never_reveal_the_whole_id() {
        for id in ["a@b.c", "ab@x.com", "13800138000", "u", "someone"] {
            let masked = mask_logon_id(id);
            assert_ne!(masked, id, "{id} was not masked");
            assert_eq!(masked.chars().count(), id.chars().count());
        }
    }
}

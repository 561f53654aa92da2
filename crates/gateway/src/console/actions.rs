//! What the console does, shared by its pages and its JSON API: each action checks its input,
//! then asks the store (money goes through the ledger's decisions) or the gateway's rules.

use crate::error::{to_alipay, ApiError};
use crate::inject::{CallRule, NotifyRule};
use crate::notify::Delivery;
use crate::sandbox::ADVANCE_MINUTES_MAX;
use crate::Gateway;
use hongbao_ledger::Rejection;
use hongbao_money::Fen;
use hongbao_protocol::biz::parse_duration_minutes;
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::sign_content::sign_notify;
use hongbao_protocol::{Charset, Method, Params, SignType};
use hongbao_store::{SandboxUser, StoreError};
use http::StatusCode;

/// Why an action was refused, shown on the page or answered as `{"error": …}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleError {
    /// The API's status.
    pub status: StatusCode,
    /// What to tell the merchant.
    pub message: String,
}

impl ConsoleError {
    /// A refused input (400).
    pub fn bad(message: impl Into<String>) -> ConsoleError {
        ConsoleError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// Nothing there (404).
    pub fn missing(message: impl Into<String>) -> ConsoleError {
        ConsoleError { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    /// The ledger refused: its sub_code and message, through the one mapping.
    pub fn rejected(rejection: Rejection) -> ConsoleError {
        let status = match rejection {
            Rejection::UniqueViolation => StatusCode::CONFLICT,
            Rejection::PayeeNotExist => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        let alipay = to_alipay(&ApiError::Rejected(rejection));
        ConsoleError { status, message: format!("{}: {}", alipay.sub_code, alipay.sub_msg) }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(err: StoreError) -> ConsoleError {
        tracing::error!(error = %err, "a sandbox console action failed in the store");
        ConsoleError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the store failed (logged); try again".into(),
        }
    }
}

/// Queues a notification again (same notify_id) and wakes the worker.
pub async fn resend(gateway: &Gateway, notify_id: &str) -> Result<(), ConsoleError> {
    let now_ms = gateway.clock.now_ms();
    if !gateway.store.resend_notification(notify_id, None, now_ms).await? {
        return Err(ConsoleError::missing(format!("no notification {notify_id}")));
    }
    gateway.notify_wake.notify_one();
    Ok(())
}

/// An http(s) URL of at most 256 characters, without spaces.
fn check_url(url: &str) -> Result<(), ConsoleError> {
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.len() > 256 || url.chars().any(char::is_whitespace) {
        return Err(ConsoleError::bad("give an http:// or https:// URL of at most 256 characters"));
    }
    Ok(())
}

/// The `notify_type` of a test notification.
pub const TEST_NOTIFY_TYPE: &str = "hongbao.console.test";

/// Sends one signed test notification to `url` now (as the app `app_id` would get it) and
/// answers what came back. Nothing is stored: it is not part of the outbox.
pub async fn test_notification(
    gateway: &Gateway,
    url: &str,
    app_id: &str,
) -> Result<Delivery, ConsoleError> {
    check_url(url)?;
    if !gateway.apps.contains_key(app_id) {
        return Err(ConsoleError::bad(format!("no app {app_id}")));
    }
    let now_ms = gateway.clock.now_ms();
    let mut params = Params::new();
    params.insert("notify_id", format!("test{}", crate::clock::wall_now_ms()));
    params.insert("notify_time", format_beijing(now_ms));
    params.insert("notify_type", TEST_NOTIFY_TYPE);
    params.insert("app_id", app_id);
    params.insert("charset", Charset::Utf8.as_str());
    params.insert("version", "1.0");
    params.insert("sign_type", SignType::Rsa2.as_str());
    let sign = sign_notify(&params, Charset::Utf8, SignType::Rsa2, &gateway.gateway_key)
        .map_err(|err| ConsoleError::bad(format!("cannot sign: {err}")))?;
    params.insert("sign", sign);
    let body = params.to_form(Charset::Utf8).unwrap_or_default();
    // The notify destination policy holds here too: a literal address now, a name as it
    // resolves (`destination::Resolver`), no proxy, no redirects.
    if let Err(refused) = gateway.destinations.check_url(url) {
        return Err(ConsoleError::bad(format!("not sent: the destination {refused}")));
    }
    let resolver = std::sync::Arc::new(crate::destination::Resolver::new(std::sync::Arc::clone(
        &gateway.destinations,
    )));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(resolver)
        .user_agent("hongbao-notify/1.0")
        .build()
        .map_err(|err| ConsoleError::bad(format!("no HTTP client: {err}")))?;
    let content_type = "application/x-www-form-urlencoded;charset=utf-8".to_owned();
    Ok(crate::notify::post(&client, url, body, content_type).await)
}

/// A user to create, as typed.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// `2088` and 12 digits; empty: one is made.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Cashier password; empty: 111111.
    pub password: String,
    /// Opening balance, `"100.00"`.
    pub balance: String,
    /// Real name (optional).
    pub real_name: String,
}

/// The sandbox password of users made without one.
pub const PASSWORD_DEFAULT: &str = "111111";

fn is_user_id(text: &str) -> bool {
    text.len() == 16 && text.starts_with("2088") && text.bytes().all(|b| b.is_ascii_digit())
}

/// A fresh-looking user id: `2088` and 12 digits from the wall clock (a clash is refused by the
/// ledger as UNIQUE_VIOLATION, and the next try has another).
fn made_user_id() -> String {
    let micros = crate::clock::wall_now_ms().unsigned_abs().wrapping_mul(1000)
        + u64::from(std::process::id() % 1000);
    format!("2088{:012}", micros % 1_000_000_000_000)
}

/// Creates a sandbox user with its opening balance, issued from `issuance`.
pub async fn create_user(gateway: &Gateway, input: NewUser) -> Result<SandboxUser, ConsoleError> {
    let user_id = match input.user_id.trim() {
        "" => made_user_id(),
        given if is_user_id(given) => given.to_owned(),
        given => {
            return Err(ConsoleError::bad(format!("user_id {given:?} is not 2088 and 12 digits")))
        }
    };
    let logon_id = input.logon_id.trim();
    if logon_id.is_empty()
        || logon_id.chars().count() > 100
        || logon_id.chars().any(char::is_whitespace)
    {
        return Err(ConsoleError::bad("logon_id must be 1 to 100 characters without spaces"));
    }
    let password = match input.password.as_str() {
        "" => PASSWORD_DEFAULT,
        given if given.chars().count() <= 64 => given,
        _ => return Err(ConsoleError::bad("password must be at most 64 characters")),
    };
    let balance_text = match input.balance.trim() {
        "" => "0.00",
        given => given,
    };
    let opening_balance = Fen::parse_non_negative(balance_text)
        .map_err(|err| ConsoleError::bad(format!("balance {balance_text:?}: {err}")))?;
    let real_name = match input.real_name.trim() {
        "" => None,
        given if given.chars().count() <= 64 => Some(given.to_owned()),
        _ => return Err(ConsoleError::bad("real_name must be at most 64 characters")),
    };
    let user = SandboxUser {
        user_id,
        logon_id: logon_id.to_owned(),
        password: password.to_owned(),
        opening_balance,
        real_name,
    };
    let now_ms = gateway.clock.now_ms();
    gateway.store.create_user(user.clone(), now_ms).await?.map_err(ConsoleError::rejected)?;
    tracing::info!(user_id = %user.user_id, balance = %user.opening_balance, "sandbox console created a user");
    Ok(user)
}

/// Issues `amount` to a user from `issuance`; answers the new balance.
pub async fn top_up(gateway: &Gateway, user_id: &str, amount: &str) -> Result<Fen, ConsoleError> {
    let amount = Fen::parse_amount(amount.trim())
        .map_err(|err| ConsoleError::bad(format!("amount {:?}: {err}", amount.trim())))?;
    let now_ms = gateway.clock.now_ms();
    let balance =
        gateway.store.top_up(user_id, amount, now_ms).await?.map_err(ConsoleError::rejected)?;
    tracing::info!(user_id, %amount, %balance, "sandbox console topped a user up");
    Ok(balance)
}

/// A call rule, as typed.
#[derive(Clone, Debug, Default)]
pub struct NewCallRule {
    /// Only this app's calls (empty: any).
    pub app_id: String,
    /// The method's name.
    pub method: String,
    /// The code (empty with sub_code empty: the real answer, late).
    pub code: String,
    /// The sub_code.
    pub sub_code: String,
    /// How many calls.
    pub count: u32,
    /// Run the method first.
    pub after_money_moved: bool,
    /// Delay before the answer.
    pub delay_ms: u64,
}

/// Adds a call rule.
pub fn add_call_rule(gateway: &Gateway, input: NewCallRule) -> Result<CallRule, ConsoleError> {
    let method = Method::parse(input.method.trim())
        .ok_or_else(|| ConsoleError::bad(format!("no method {:?}", input.method.trim())))?;
    if matches!(method, Method::PagePay | Method::AppPay | Method::TransAppPay) {
        return Err(ConsoleError::bad(
            "page.pay and app.pay are answered by the payer pages; their rules are not supported",
        ));
    }
    let app_id = match input.app_id.trim() {
        "" => None,
        given if gateway.apps.contains_key(given) => Some(given.to_owned()),
        given => return Err(ConsoleError::bad(format!("no app {given}"))),
    };
    let answer = match (input.code.trim(), input.sub_code.trim()) {
        ("", "") => None,
        // "20000 isp.unknow-error" typed into one field.
        (both, "") if both.contains(' ') => both
            .split_once(' ')
            .map(|(code, sub_code)| (code.trim().to_owned(), sub_code.trim().to_owned())),
        (code, sub_code) => Some((code.to_owned(), sub_code.to_owned())),
    };
    let rule = CallRule {
        id: 0,
        app_id,
        method,
        answer,
        after_money_moved: input.after_money_moved,
        delay_ms: input.delay_ms,
        remaining: input.count,
    };
    gateway.inject.add_call(rule).map_err(|err| ConsoleError::bad(err.to_string()))
}

/// Adds a notify rule.
pub fn add_notify_rule(
    gateway: &Gateway,
    url_prefix: &str,
    delay_ms: u64,
    fail: u32,
) -> Result<NotifyRule, ConsoleError> {
    let rule = NotifyRule {
        id: 0,
        url_prefix: url_prefix.trim().to_owned(),
        delay_ms,
        fail_remaining: fail,
    };
    gateway.inject.add_notify(rule).map_err(|err| ConsoleError::bad(err.to_string()))
}

/// Removes a rule.
pub fn remove_rule(gateway: &Gateway, id: u64) -> Result<(), ConsoleError> {
    match gateway.inject.remove(id) {
        true => Ok(()),
        false => Err(ConsoleError::missing(format!("no rule #{id}"))),
    }
}

/// Moves the sandbox clock forward by `by` (`90m`, `2h`, `3d`); answers the new time.
pub fn advance(gateway: &Gateway, by: &str) -> Result<i64, ConsoleError> {
    let minutes = parse_duration_minutes(by.trim(), ADVANCE_MINUTES_MAX).ok_or_else(|| {
        ConsoleError::bad(format!("by={by:?}: give whole minutes, hours or days, e.g. 90m, 2h, 3d"))
    })?;
    if !gateway.clock.advance_ms(i64::from(minutes) * 60_000) {
        return Err(ConsoleError {
            status: StatusCode::CONFLICT,
            message: "this server's clock cannot move".into(),
        });
    }
    tracing::info!(minutes, "sandbox clock advanced from the console");
    gateway.scheduler_wake.notify_one();
    gateway.notify_wake.notify_one();
    Ok(gateway.clock.now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_user_ids_are_sandbox_ids() {
        assert!(is_user_id(&made_user_id()));
        assert!(!is_user_id("2088123"));
        assert!(!is_user_id("1088000000000001"));
    }

    #[test]
    fn only_http_urls_are_sent_test_notifications() {
        assert!(check_url("http://127.0.0.1:9/notify").is_ok());
        assert!(check_url("ftp://127.0.0.1/").is_err());
        assert!(check_url("http://a b").is_err());
        assert!(check_url(&format!("http://{}", "a".repeat(300))).is_err());
    }
}

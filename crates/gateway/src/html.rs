//! Server-rendered HTML for the cashier and the wallet: one stylesheet, escaping, two languages.
//! Plain HTML forms, no JavaScript needed, and none allowed: every payer page carries a
//! restrictive Content-Security-Policy, may not be framed (clickjacking the Pay button) and is
//! never cached (`secure`). Merchant-given text is shown without the invisible characters that
//! could disguise it (`visible`).

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

/// Page language: Chinese by default, English with `lang=en`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From a `lang` parameter.
    pub fn parse(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The parameter value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Bidirectional overrides, embeddings, isolates and marks, and zero-width characters: shown
/// verbatim they can make a title read as something else (`\u{202E}` reverses what follows), and
/// a payer has no use for them.
fn invisible(ch: char) -> bool {
    matches!(ch,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Merchant-given text as a payer sees it: escaped, without invisible formatting characters.
pub fn visible(text: &str) -> String {
    let kept: String = text.chars().filter(|ch| !invisible(*ch)).collect();
    escape(&kept)
}

/// The Content-Security-Policy of every payer page: nothing but its own inline style; no
/// script, no frame, no base change; and no page may frame it.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

/// Puts the payer pages' security headers on `response` (pages, redirects, results).
pub fn secure(mut response: Response) -> Response {
    use http::header::{HeaderValue, CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The cashier's URL names the order; the merchant's return page need not learn it.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

const STYLE: &str = r#"
*{box-sizing:border-box}button,input,textarea{font-family:inherit}a{color:#1677ff}body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",Helvetica,Arial,sans-serif;background:#f2f4f7;color:#1f2329}
header{background:#1677ff;color:#fff;padding:14px 24px;display:flex;justify-content:space-between;align-items:center}
header .brand{font-size:18px;font-weight:600;letter-spacing:.5px}header .brand small{font-weight:400;opacity:.85;margin-left:8px}
header a{color:#fff;opacity:.9;text-decoration:none;font-size:13px;margin-left:12px}
main{max-width:560px;margin:32px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:28px 32px;margin-bottom:16px}
.merchant{color:#646a73;font-size:14px}.title{font-size:16px;margin:6px 0 18px}
.amount{font-size:40px;font-weight:600;color:#1f2329}.amount small{font-size:18px;margin-right:4px}
.meta{color:#8f959e;font-size:13px;margin-top:8px}
label{display:block;font-size:14px;color:#4e5969;margin:14px 0 6px}
input[type=text],input[type=password],textarea{width:100%;padding:10px 12px;border:1px solid #d0d3d6;border-radius:6px;font-size:15px}
textarea{min-height:120px;font-family:Menlo,Consolas,monospace;font-size:12px}
.actions{display:flex;gap:12px;margin-top:22px}
button{flex:1;padding:11px 0;border-radius:6px;font-size:16px;cursor:pointer;border:1px solid #1677ff}
button.primary{background:#1677ff;color:#fff}button.secondary{background:#fff;color:#1677ff}
.error{background:#fff2f0;border:1px solid #ffccc7;color:#cf1322;padding:10px 12px;border-radius:6px;font-size:14px;margin-bottom:12px}
.ok{color:#389e0d;font-size:22px;font-weight:600}.closed{color:#1f2329;font-size:22px;font-weight:600}.failed{color:#cf1322;font-size:22px;font-weight:600}
.users{font-size:13px;color:#4e5969;margin:14px 0 0;padding-left:18px}.users code{color:#1f2329}
pre{background:#f7f8fa;border-radius:6px;padding:12px;white-space:pre-wrap;word-break:break-all;font-size:12px}
.hint{color:#8f959e;font-size:12px;margin-top:14px;line-height:1.6}
footer{text-align:center;color:#a0a5ad;font-size:12px;margin:24px 0}
"#;

/// Which payer surface a page belongs to: its header names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// The cashier (page.pay), and pages of the server itself.
    Cashier,
    /// The wallet (app.pay order strings).
    Wallet,
}

/// A complete cashier page around `body`.
pub fn page(lang: Lang, title: &str, body: &str, status: StatusCode) -> Response {
    page_on(Surface::Cashier, lang, title, body, status)
}

/// A complete page of `surface` around `body`.
pub fn page_on(
    surface: Surface,
    lang: Lang,
    title: &str,
    body: &str,
    status: StatusCode,
) -> Response {
    let sub = match surface {
        Surface::Cashier => lang.t("红包收银台 · 沙箱", "Red packet cashier · sandbox"),
        Surface::Wallet => lang.t("钱包 · 沙箱", "Wallet · sandbox"),
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head><body><header><span class=\"brand\">hongbao<small>{sub}</small></span><span><a id=\"lang-zh\" href=\"?lang=zh\">中文</a><a id=\"lang-en\" href=\"?lang=en\">English</a></span></header><main>{body}</main><footer>{footer}</footer></body></html>",
        code = lang.code(),
        title = escape(title),
        footer = lang.t("这是 hongbao 沙箱：不涉及真实资金。", "This is the hongbao sandbox: no real money moves."),
    );
    secure((status, Html(html)).into_response())
}

/// What an error page says the payer (or the developer behind them) can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong: signature, parameters, charset.
    BadRequest,
    /// The page names an order that does not exist.
    NoSuchOrder,
}

/// A page saying what went wrong, with Alipay's code, sub_code and sub_msg.
pub fn error_page(
    lang: Lang,
    kind: ErrorKind,
    code: &str,
    sub_code: &str,
    sub_msg: &str,
) -> Response {
    let (heading, hint, status) = match kind {
        ErrorKind::BadRequest => (
            lang.t("无法完成支付请求", "This payment request cannot be processed"),
            lang.t(
                "请检查商户的签名、参数与字符集设置后重新发起。",
                "Check the merchant's signature, parameters and charset, then start again.",
            ),
            StatusCode::BAD_REQUEST,
        ),
        ErrorKind::NoSuchOrder => (
            lang.t("没有这笔订单", "No such order"),
            lang.t(
                "链接里的订单不存在（或不属于这里）：请回到商户重新发起支付。",
                "The order in this link does not exist here: go back to the merchant and start the payment again.",
            ),
            StatusCode::NOT_FOUND,
        ),
    };
    let body = format!(
        "<div class=\"card\"><div class=\"failed\" id=\"heading\">{heading}</div><p class=\"meta\">code {code} · {sub_code}</p><pre id=\"error\">{msg}</pre><p class=\"hint\">{hint}</p></div>",
        code = escape(code),
        sub_code = escape(sub_code),
        msg = escape(sub_msg),
    );
    page(lang, lang.t("支付请求错误", "Payment request error"), &body, status)
}

/// The order card's opening: merchant, title, amount, order number. The caller closes the card.
pub fn order_summary(lang: Lang, merchant: &str, view: &hongbao_ledger::OperationView) -> String {
    format!(
        "<div class=\"card\"><div class=\"merchant\">{m_label} {merchant}</div><div class=\"title\" id=\"order-title\">{title}</div><div class=\"amount\" id=\"amount\"><small>¥</small>{amount}</div><div class=\"meta\">{no_label} {out_order_no}</div>",
        m_label = lang.t("收款方", "Merchant"),
        merchant = visible(merchant),
        title = visible(&view.order_title),
        amount = view.amount,
        no_label = lang.t("订单号", "Order no."),
        out_order_no = visible(&view.out_order_no),
    )
}

/// What the payer's card shows besides the form: the message of a failed try and the login it
/// was made with (kept, so that only the password is typed again), and the sandbox accounts to
/// list (the demo's).
#[derive(Clone, Copy, Debug, Default)]
pub struct Attempt<'a> {
    /// Why the last try failed.
    pub error: Option<&'a str>,
    /// The login of the last try.
    pub login: Option<&'a str>,
    /// Sandbox accounts (user id, logon id) to list under the form.
    pub users: &'a [(String, String)],
}

/// The order card's pay-before line (Beijing time), for the cashier and the wallet alike; none
/// for an order without a deadline.
pub fn pay_before(lang: Lang, deadline_ms: Option<i64>) -> String {
    match deadline_ms {
        Some(deadline) => format!(
            "<div class=\"meta\" id=\"deadline\">{} {}</div>",
            lang.t("请在此时间前完成支付（北京时间）：", "Pay before (Beijing time):"),
            hongbao_protocol::display::format_beijing(deadline)
        ),
        None => String::new(),
    }
}

/// The payer's card: an error line, a sandbox login, Pay and Cancel (`name=action`), posted to
/// `action` with `hidden` fields.
pub fn pay_form(lang: Lang, action: &str, hidden: &[(&str, &str)], attempt: Attempt<'_>) -> String {
    let error = attempt
        .error
        .map(|e| format!("<div class=\"error\" id=\"error\">{}</div>", escape(e)))
        .unwrap_or_default();
    let hidden: String = hidden
        .iter()
        .map(|(name, value)| {
            format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value))
        })
        .collect();
    format!(
        "<div class=\"card\">{error}<form method=\"post\" action=\"{action}\" accept-charset=\"utf-8\">{hidden}\
         <label for=\"login\">{login_label}</label><input type=\"text\" id=\"login\" name=\"login\" autocomplete=\"username\" placeholder=\"2088… / name@example.com\" value=\"{login}\">\
         <label for=\"password\">{password_label}</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
         <div class=\"actions\"><button class=\"primary\" id=\"pay\" name=\"action\" value=\"pay\" type=\"submit\">{pay}</button><button class=\"secondary\" id=\"cancel\" name=\"action\" value=\"cancel\" type=\"submit\">{cancel}</button></div></form>\
         {users}<p class=\"hint\">{hint}</p></div>",
        action = escape(action),
        login = escape(attempt.login.unwrap_or("")),
        users = users_list(lang, attempt.users),
        login_label = lang.t("沙箱账号（用户号或登录名）", "Sandbox account (user id or logon id)"),
        password_label = lang.t("支付密码", "Payment password"),
        pay = lang.t("确认付款", "Pay"),
        cancel = lang.t("取消", "Cancel"),
        hint = lang.t(
            "沙箱账号与密码见 hongbao 配置文件中的 [[user]]。",
            "Sandbox accounts and passwords are the [[user]] entries of the hongbao configuration."
        ),
    )
}

/// The sandbox accounts, listed for the payer to pick one.
fn users_list(lang: Lang, users: &[(String, String)]) -> String {
    if users.is_empty() {
        return String::new();
    }
    let items: String = users
        .iter()
        .map(|(user_id, logon_id)| {
            format!("<li><code>{}</code> · <code>{}</code></li>", escape(logon_id), escape(user_id))
        })
        .collect();
    format!(
        "<p class=\"meta\">{}</p><ul class=\"users\" id=\"users\">{items}</ul>",
        lang.t("沙箱账号（登录名 · 用户号）：", "Sandbox accounts (logon id · user id):")
    )
}

/// Decodes a browser form (UTF-8, as our pages declare) into pairs; undecodable parts are dropped.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    hongbao_protocol::form::parse_form_lenient(body)
        .into_iter()
        .filter_map(|(k, v)| Some((String::from_utf8(k).ok()?, String::from_utf8(v).ok()?)))
        .collect()
}

/// The value of `key` in decoded form fields.
pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_never_reach_the_payer() {
        // "红包 (reversed: gnp.exe)" with an override, zero-width space and joiner, BOM, isolate.
        let title = "\u{202E}abc\u{202C}红\u{200B}包\u{200D}\u{FEFF}\u{2066}x\u{2069}";
        assert_eq!(visible(title), "abc红包x");
        assert_eq!(visible("<b>"), "&lt;b&gt;");
    }

    #[test]
    fn payer_pages_carry_the_security_headers() {
        let response = page(Lang::Zh, "t", "<p>x</p>", StatusCode::OK);
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }
}

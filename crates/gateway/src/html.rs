//! Server-rendered HTML for the cashier, the wallet and the landing page, in maud (every
//! interpolated text is escaped), and the page skeleton the console shares: one stylesheet, two
//! languages. Plain HTML forms, no JavaScript needed, and none allowed: every payer page carries a
//! restrictive Content-Security-Policy, may not be framed (clickjacking the Pay button) and is
//! never cached (`secure`). Merchant-given text is shown without the invisible characters that
//! could disguise it (`visible`).

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};

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

/// Merchant-given text as a payer sees it: without invisible formatting characters. Escaping is
/// maud's, when the text is rendered.
pub fn visible(text: &str) -> String {
    text.chars().filter(|ch| !invisible(*ch)).collect()
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

/// The skeleton of every hongbao page, the payer's and the console's: the document in `lang`,
/// its head (`title`, the stylesheet of its part), the blue header (`header`: the brand and the
/// links on its right), `main` and, when given, the footer line.
pub(crate) fn document(
    lang: Lang,
    title: &str,
    style: &'static str,
    header: Markup,
    main: Markup,
    footer: Option<&str>,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) }
                style { (PreEscaped(style)) }
            }
            body {
                header { (header) }
                main { (main) }
                @if let Some(footer) = footer { footer { (footer) } }
            }
        }
    }
}

/// The header's brand: hongbao and which part of it this is.
pub(crate) fn brand(sub: &str) -> Markup {
    html! { span.brand { "hongbao" small { (sub) } } }
}

/// The zh/en switch: links to the same page in the other language.
pub(crate) fn lang_switch() -> Markup {
    html! {
        a id="lang-zh" href="?lang=zh" { "中文" }
        a id="lang-en" href="?lang=en" { "English" }
    }
}

/// A complete cashier page around `body`.
pub fn page(lang: Lang, title: &str, body: Markup, status: StatusCode) -> Response {
    page_on(Surface::Cashier, lang, title, body, status)
}

/// A complete page of `surface` around `body`.
pub fn page_on(
    surface: Surface,
    lang: Lang,
    title: &str,
    body: Markup,
    status: StatusCode,
) -> Response {
    let sub = match surface {
        Surface::Cashier => lang.t("红包收银台 · 沙箱", "Red packet cashier · sandbox"),
        Surface::Wallet => lang.t("钱包 · 沙箱", "Wallet · sandbox"),
    };
    let header = html! { (brand(sub)) span { (lang_switch()) } };
    let footer = lang.t(
        "这是 hongbao 沙箱：不涉及真实资金。",
        "This is the hongbao sandbox: no real money moves.",
    );
    let markup = document(lang, title, STYLE, header, body, Some(footer));
    secure((status, Html(markup.into_string())).into_response())
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
    let body = html! {
        div.card {
            div.failed id="heading" { (heading) }
            p.meta { "code " (code) " · " (sub_code) }
            pre id="error" { (sub_msg) }
            p.hint { (hint) }
        }
    };
    page(lang, lang.t("支付请求错误", "Payment request error"), body, status)
}

/// The order card: merchant, title, amount, order number, then `more` (the order's state, or
/// its pay-before line).
pub fn order_card(
    lang: Lang,
    merchant: &str,
    view: &hongbao_ledger::OperationView,
    more: Markup,
) -> Markup {
    html! {
        div.card {
            div.merchant { (lang.t("收款方", "Merchant")) " " (visible(merchant)) }
            div.title id="order-title" { (visible(&view.order_title)) }
            div.amount id="amount" { small { "¥" } (view.amount) }
            div.meta { (lang.t("订单号", "Order no.")) " " (visible(&view.out_order_no)) }
            (more)
        }
    }
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
pub fn pay_before(lang: Lang, deadline_ms: Option<i64>) -> Markup {
    html! {
        @if let Some(deadline) = deadline_ms {
            div.meta id="deadline" {
                (lang.t("请在此时间前完成支付（北京时间）：", "Pay before (Beijing time):"))
                " " (hongbao_protocol::display::format_beijing(deadline))
            }
        }
    }
}

/// The payer's card: an error line, a sandbox login, Pay and Cancel (`name=action`), posted to
/// `action` with `hidden` fields.
pub fn pay_form(lang: Lang, action: &str, hidden: &[(&str, &str)], attempt: Attempt<'_>) -> Markup {
    html! {
        div.card {
            @if let Some(error) = attempt.error { div.error id="error" { (error) } }
            form method="post" action=(action) accept-charset="utf-8" {
                @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
                label for="login" { (lang.t("沙箱账号（用户号或登录名）", "Sandbox account (user id or logon id)")) }
                input type="text" id="login" name="login" autocomplete="username"
                    placeholder="2088… / name@example.com" value=(attempt.login.unwrap_or(""));
                label for="password" { (lang.t("支付密码", "Payment password")) }
                input type="password" id="password" name="password" autocomplete="current-password";
                div.actions {
                    button.primary id="pay" name="action" value="pay" type="submit" { (lang.t("确认付款", "Pay")) }
                    button.secondary id="cancel" name="action" value="cancel" type="submit" { (lang.t("取消", "Cancel")) }
                }
            }
            (users_list(lang, attempt.users))
            p.hint {
                (lang.t(
                    "沙箱账号与密码见 hongbao 配置文件中的 [[user]]。",
                    "Sandbox accounts and passwords are the [[user]] entries of the hongbao configuration.",
                ))
            }
        }
    }
}

/// The sandbox accounts, listed for the payer to pick one.
fn users_list(lang: Lang, users: &[(String, String)]) -> Markup {
    html! {
        @if !users.is_empty() {
            p.meta { (lang.t("沙箱账号（登录名 · 用户号）：", "Sandbox accounts (logon id · user id):")) }
            ul.users id="users" {
                @for (user_id, logon_id) in users { li { code { (logon_id) } " · " code { (user_id) } } }
            }
        }
    }
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
    use hongbao_ledger::{
        OperationKind, OperationStatus, OperationType, OperationView, PacketStatus, Product,
    };
    use hongbao_money::Fen;
    use hongbao_store::PaymentOrder;

    /// Markup, quotes of both kinds and an ampersand, as a merchant could put in any text.
    const HOSTILE: &str = "<script>alert(\"x\")</script>' onmouseover='go()' & <b>bold</b>";
    /// `HOSTILE` as it must appear in the page: text, never markup or an attribute's end.
    const HOSTILE_SHOWN: &str =
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' onmouseover='go()' &amp; &lt;b&gt;bold&lt;/b&gt;";

    fn hostile_order(status: PacketStatus) -> PaymentOrder {
        PaymentOrder {
            app_id: "2021000000000001".into(),
            fund_method: hongbao_ledger::FundMethod::Page,
            status,
            pay_deadline_ms: Some(1_764_000_000_000),
            return_url: Some(format!("https://shop.example/back?q=\"{HOSTILE}")),
            call: Default::default(),
            view: OperationView {
                auth_no: "2026120210002001140200000001".into(),
                out_order_no: HOSTILE.into(),
                operation_id: "20261202100020011402000000011".into(),
                out_request_no: HOSTILE.into(),
                amount: Fen::from_fen(888),
                order_title: HOSTILE.into(),
                operation_type: OperationType::Pay,
                status: OperationStatus::Init,
                remark: HOSTILE.into(),
                payer_user_id: None,
                payer_logon_id: None,
                payee_user_id: None,
                payee_logon_id: None,
                gmt_create_ms: 1_764_000_000_000,
                gmt_trans_ms: None,
                extra_param: Some(HOSTILE.into()),
                total_pay_refund_amount: Fen::from_fen(0),
                kind: OperationKind::Fund,
                product: Product::Coupon,
                packet_auth_no: None,
                passback_params: Some(HOSTILE.into()),
            },
        }
    }

    /// No markup of the merchant's survives, and its text is shown.
    fn assert_escaped(page: &str, what: &str) {
        assert!(!page.contains("<script") && !page.contains("<b>"), "{what}: {page}");
        assert!(!page.contains("='go()'\""), "{what}: an attribute left open: {page}");
        assert!(page.contains(HOSTILE_SHOWN), "{what} shows the text: {page}");
    }

    #[test]
    fn invisible_characters_never_reach_the_payer() {
        // "红包 (reversed: gnp.exe)" with an override, zero-width space and joiner, BOM, isolate.
        let title = "\u{202E}abc\u{202C}红\u{200B}包\u{200D}\u{FEFF}\u{2066}x\u{2069}";
        assert_eq!(visible(title), "abc红包x");
        let mut order = hostile_order(PacketStatus::WaitPay);
        order.view.order_title = title.into();
        let card = order_card(Lang::Zh, "商户\u{202E}", &order.view, html! {}).into_string();
        assert!(card.contains(">abc红包x</div>") && card.contains("收款方 商户</div>"), "{card}");
    }

    #[test]
    fn payer_pages_carry_the_security_headers() {
        let response = page(Lang::Zh, "t", html! { p { "x" } }, StatusCode::OK);
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    }

    #[test]
    fn merchant_text_is_escaped_on_the_cashier_the_wallet_and_the_landing_page() {
        let users = [(HOSTILE.to_owned(), HOSTILE.to_owned())];
        let attempt = Attempt { error: Some(HOSTILE), login: Some(HOSTILE), users: &users };
        for lang in [Lang::Zh, Lang::En] {
            for (status, closed_by_time) in [
                (PacketStatus::WaitPay, false),
                (PacketStatus::WaitPay, true),
                (PacketStatus::Funded, false),
                (PacketStatus::Closed, false),
            ] {
                let order = hostile_order(status);
                let body =
                    crate::cashier::order_body(lang, HOSTILE, &order, closed_by_time, attempt);
                assert_escaped(&body.into_string(), "the cashier");
            }
            let order = hostile_order(PacketStatus::WaitPay);
            let wallet = crate::wallet::confirm_body(lang, HOSTILE, &order, attempt).into_string();
            assert_escaped(&wallet, "the wallet");
            // The login typed stays in its field, as text.
            assert!(wallet.contains(&format!("value=\"{HOSTILE_SHOWN}\"")), "{wallet}");
            let json = serde_json::json!({ "result": HOSTILE }).to_string();
            let result = crate::wallet::result_body(lang, &json).into_string();
            assert!(!result.contains("<script") && result.contains("&lt;script&gt;"), "{result}");

            let apps = [crate::landing::AppLine {
                app_id: "2021000000000001",
                name: HOSTILE,
                certificate: false,
            }];
            let landing = crate::landing::landing_body(lang, HOSTILE, &apps).into_string();
            assert_escaped(&landing, "the landing page");
        }
        // The return_url is an attribute: its quote cannot end the href.
        let paid = crate::cashier::order_body(
            Lang::En,
            "m",
            &hostile_order(PacketStatus::Funded),
            false,
            Attempt::default(),
        )
        .into_string();
        assert!(paid.contains("href=\"https://shop.example/back?q=&quot;&lt;script&gt;"), "{paid}");
    }

    async fn text_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        String::from_utf8(bytes.map(|b| b.to_vec()).unwrap_or_default()).unwrap_or_default()
    }

    /// The error page shows what the gateway answered, and sub_msg can quote the request.
    #[tokio::test]
    async fn the_error_page_escapes_what_it_quotes() {
        let error = error_page(Lang::En, ErrorKind::NoSuchOrder, "40004", HOSTILE, HOSTILE);
        assert_eq!(error.status(), StatusCode::NOT_FOUND);
        let shown = text_of(error).await;
        assert!(shown.contains("<div class=\"failed\" id=\"heading\">No such order</div>"));
        assert!(!shown.contains("<script") && shown.contains(HOSTILE_SHOWN), "{shown}");
        let titled = page_on(Surface::Wallet, Lang::Zh, HOSTILE, html! {}, StatusCode::OK);
        let shown = text_of(titled).await;
        assert!(
            shown.contains("<title>&lt;script&gt;") && shown.contains("钱包 · 沙箱"),
            "{shown}"
        );
    }
}

//! `/console/…`: the console's server-rendered pages (maud: every interpolated text is escaped),
//! in the cashier's style with its zh/en switch, usable without JavaScript.
//!
//! Login: `/console/?token=…` (or the login form) sets the HttpOnly, SameSite=Strict cookie and
//! redirects to the same page without the token. Every form that changes state is a POST that
//! carries the CSRF field (`super::same_origin_form`) and answers with a redirect (303) to the
//! page it came from, with what happened in `flash`.

use super::actions::{self, ConsoleError, NewCallRule, NewUser};
use super::api::read_body;
use super::json::{schedule_after, snippets};
use super::{
    cookie, csrf_token, harden, refusal, same_origin_form, same_secret, standing, Standing, COOKIE,
    LANG_COOKIE, PAGE_ROWS,
};
use crate::html::{brand, document, field, form_fields, lang_switch, Lang};
use crate::sandbox::PeerAddr;
use crate::{AppCredential, Gateway};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use hongbao_protocol::display::format_beijing;
use hongbao_store::console::USER_HISTORY_MAX;
use hongbao_store::{JournalEntry, LogFilter, NotifyFilter, OrderFilter, OrderSummary};
use http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use maud::{html, Markup};
use std::sync::Arc;

/// The pages' routes.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/console", get(|| async { axum::response::Redirect::permanent("/console/") }))
        .route("/console/", get(requests))
        .route("/console/login", post(login))
        .route("/console/logout", post(logout))
        .route("/console/requests/{log_id}", get(request))
        .route("/console/notifications", get(notifications))
        .route("/console/notifications/test", post(test_notification))
        .route("/console/notifications/{notify_id}/resend", post(resend))
        .route("/console/orders", get(orders))
        .route("/console/orders/{auth_no}", get(order))
        .route("/console/users", get(users).post(create_user))
        .route("/console/users/{user_id}", get(user))
        .route("/console/users/{user_id}/top-up", post(top_up))
        .route("/console/apps", get(apps))
        .route("/console/faults", get(faults))
        .route("/console/faults/calls", post(add_call_rule))
        .route("/console/faults/notify", post(add_notify_rule))
        .route("/console/faults/{id}/remove", post(remove_rule))
        .route("/console/clock", get(clock))
        .route("/console/clock/advance", post(advance))
        .with_state(gateway)
}

/// A GET's context: its fields, language and the token's CSRF value.
struct Page {
    fields: Vec<(String, String)>,
    lang: Lang,
    csrf: String,
}

impl Page {
    fn field(&self, name: &str) -> Option<String> {
        field(&self.fields, name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }
}

/// The page's language: a `lang` link wins (and is remembered by `layout`), then the cookie.
fn lang_of(headers: &HeaderMap, fields: &[(String, String)]) -> Lang {
    match field(fields, "lang") {
        Some(given) => Lang::parse(Some(given)),
        None => Lang::parse(cookie(headers, LANG_COOKIE)),
    }
}

/// Admits a page view: refusals first, then the token in the URL (logs in and redirects to the
/// same page without it), then the cookie (anonymous: the login page).
fn admit(
    gateway: &Gateway,
    peer: Option<Extension<PeerAddr>>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Page, Box<Response>> {
    let peer = peer.map(|Extension(p)| p);
    let standing = standing(gateway, peer, headers, false);
    if let Some(refused) = refusal(standing, false) {
        return Err(Box::new(refused));
    }
    let fields = form_fields(uri.query().unwrap_or("").as_bytes());
    let lang = lang_of(headers, &fields);
    let token = gateway.sandbox.console_token.clone().unwrap_or_default();
    if let Some(presented) = field(&fields, "token") {
        if same_secret(presented, &token) {
            let kept: Vec<(String, String)> =
                fields.iter().filter(|(k, _)| k != "token").cloned().collect();
            return Err(Box::new(logged_in(uri.path(), &kept, &token, lang)));
        }
        return Err(Box::new(login_page(
            lang,
            Some(lang.t("令牌不正确。", "Wrong token.")),
            StatusCode::UNAUTHORIZED,
        )));
    }
    if standing != Standing::Allowed {
        return Err(Box::new(login_page(lang, None, StatusCode::UNAUTHORIZED)));
    }
    Ok(Page { fields, lang, csrf: csrf_token(&token) })
}

fn query_string(fields: &[(String, String)]) -> String {
    let encoded: Vec<String> =
        fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict")
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    harden(response)
}

fn logged_in(path: &str, kept: &[(String, String)], token: &str, lang: Lang) -> Response {
    let mut response = see_other(&format!("{path}{}", query_string(kept)));
    for value in [
        session_cookie(token),
        format!("{LANG_COOKIE}={}; Path=/console; SameSite=Strict", lang.code()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",Helvetica,Arial,sans-serif;background:#f2f4f7;color:#1f2329;font-size:14px}
a{color:#1677ff}header{background:#1677ff;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap}
header .brand{font-size:18px;font-weight:600}header .brand small{font-weight:400;opacity:.85;margin-left:8px}
header a{color:#fff;opacity:.9;text-decoration:none;margin-left:12px}header a.on{opacity:1;font-weight:600;text-decoration:underline}
main{max-width:1200px;margin:20px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 22px;margin-bottom:16px;overflow-x:auto}
h1{font-size:18px;margin:0 0 12px}h2{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top;font-size:13px}
th{color:#646a73;font-weight:500}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f8fa;border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all;font-size:12px;margin:4px 0}
form.inline{display:inline}form.row{display:flex;gap:8px;flex-wrap:wrap;align-items:end}
label{display:flex;flex-direction:column;font-size:12px;color:#4e5969;gap:4px}
input,select{padding:6px 8px;border:1px solid #d0d3d6;border-radius:6px;font-size:13px}
button{padding:6px 14px;border-radius:6px;font-size:13px;cursor:pointer;border:1px solid #1677ff;background:#1677ff;color:#fff}
.flash{background:#f6ffed;border:1px solid #b7eb8f;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.flash.bad{background:#fff2f0;border-color:#ffccc7;color:#cf1322}
.ok{color:#389e0d}.bad{color:#cf1322}.muted{color:#8f959e}.tag{background:#fff7e6;color:#d46b08;border-radius:4px;padding:1px 6px;font-size:12px}
footer{text-align:center;color:#a0a5ad;font-size:12px;margin:24px 0}
"#;

const SECTIONS: [(&str, &str, &str); 7] = [
    ("/console/", "请求日志", "Requests"),
    ("/console/notifications", "通知", "Notifications"),
    ("/console/orders", "资金", "Money"),
    ("/console/users", "用户", "Users"),
    ("/console/apps", "应用", "Apps"),
    ("/console/faults", "故障注入", "Faults"),
    ("/console/clock", "时钟", "Clock"),
];

fn layout(page: &Page, section: &str, title: &str, body: Markup) -> Response {
    let flash = page.field("flash");
    let bad = page.field("bad").is_some();
    let header = html! {
        (brand(page.t("沙箱控制台", "Sandbox console")))
        nav {
            @for (path, zh, en) in SECTIONS {
                a id={ "nav-" (path.trim_start_matches("/console/").trim_start_matches('/')) } href=(path) class=[(path == section).then_some("on")] { (page.lang.t(zh, en)) }
            }
            (lang_switch())
        }
    };
    let main = html! {
        @if let Some(flash) = &flash {
            div.flash.bad[bad] id="flash" { (flash) }
        }
        (body)
    };
    let footer =
        page.t("hongbao 沙箱：不涉及真实资金。", "The hongbao sandbox: no real money moves.");
    let title = format!("{title} · hongbao console");
    let markup = document(page.lang, &title, STYLE, header, main, Some(footer));
    let mut response = (StatusCode::OK, axum::response::Html(markup.into_string())).into_response();
    // A language chosen by link is remembered.
    if let Some(given) = page.field("lang") {
        let value = format!(
            "{LANG_COOKIE}={}; Path=/console; SameSite=Strict",
            Lang::parse(Some(&given)).code()
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    harden(response)
}

fn login_page(lang: Lang, error: Option<&str>, status: StatusCode) -> Response {
    let main = html! {
        div.card style="max-width:480px;margin:40px auto" {
            h1 { (lang.t("登录控制台", "Log in to the console")) }
            @if let Some(error) = error { div.flash.bad id="flash" { (error) } }
            form.row method="post" action="/console/login" {
                label { (lang.t("控制台令牌", "Console token"))
                    input type="password" id="token" name="token" autocomplete="off" size="40"; }
                input type="hidden" name="lang" value=(lang.code());
                button id="login" type="submit" { (lang.t("登录", "Log in")) }
            }
            p.muted { (lang.t("令牌是配置文件 [sandbox] console_token；hongbao console url 打印登录地址。",
                "The token is [sandbox] console_token of the configuration; `hongbao console url` prints the login URL.")) }
        }
    };
    let header = brand(lang.t("沙箱控制台", "Sandbox console"));
    let markup = document(lang, "hongbao console", STYLE, header, main, None);
    harden((status, axum::response::Html(markup.into_string())).into_response())
}

/// A POST's standing: refused, anonymous, cross-site, or its form fields.
async fn admit_form(
    gateway: &Gateway,
    peer: Option<Extension<PeerAddr>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<(String, String)>, Response> {
    let standing = standing(gateway, peer.map(|Extension(p)| p), headers, false);
    if let Some(refused) = refusal(standing, false) {
        return Err(refused);
    }
    let lang = Lang::parse(cookie(headers, LANG_COOKIE));
    if standing != Standing::Allowed {
        // A cross-site POST arrives without the SameSite=Strict cookie: it ends here.
        return Err(login_page(lang, None, StatusCode::UNAUTHORIZED));
    }
    let bytes = match read_body(gateway, body).await {
        Ok(bytes) => bytes,
        Err(err) => return Err(harden((err.status, err.message).into_response())),
    };
    let fields = form_fields(&bytes);
    if !same_origin_form(gateway, headers, field(&fields, "csrf")) {
        return Err(harden(
            (StatusCode::FORBIDDEN, "this form did not come from the console's own pages")
                .into_response(),
        ));
    }
    Ok(fields)
}

/// Back to `path` with what happened.
fn done(path: &str, outcome: Result<String, ConsoleError>) -> Response {
    match outcome {
        Ok(message) => see_other(&format!("{path}?flash={}", encode(&message))),
        Err(err) => see_other(&format!("{path}?bad=1&flash={}", encode(&err.message))),
    }
}

fn csrf_field(page: &Page) -> Markup {
    html! { input type="hidden" name="csrf" value=(page.csrf); }
}

macro_rules! page {
    ($gateway:expr, $peer:expr, $headers:expr, $uri:expr) => {
        match admit(&$gateway, $peer, &$headers, &$uri) {
            Ok(page) => page,
            Err(response) => return *response,
        }
    };
}

macro_rules! form {
    ($gateway:expr, $peer:expr, $headers:expr, $body:expr) => {
        match admit_form(&$gateway, $peer, &$headers, $body).await {
            Ok(fields) => fields,
            Err(response) => return response,
        }
    };
}

fn get_field(fields: &[(String, String)], name: &str) -> String {
    field(fields, name).unwrap_or("").trim().to_owned()
}

fn store_failed(page: &Page, section: &str, err: impl Into<ConsoleError>) -> Response {
    let err = err.into();
    layout(page, section, "error", html! { div.flash.bad id="flash" { (err.message) } })
}

fn ms(us: i64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

async fn login(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let standing = standing(&gateway, peer.map(|Extension(p)| p), &headers, false);
    if let Some(refused) = refusal(standing, false) {
        return refused;
    }
    let bytes = match read_body(&gateway, body).await {
        Ok(bytes) => bytes,
        Err(err) => return harden((err.status, err.message).into_response()),
    };
    let fields = form_fields(&bytes);
    let lang = Lang::parse(field(&fields, "lang"));
    let token = gateway.sandbox.console_token.clone().unwrap_or_default();
    match field(&fields, "token") {
        Some(presented) if same_secret(presented.trim(), &token) => {
            logged_in("/console/", &[], &token, lang)
        }
        _ => {
            login_page(lang, Some(lang.t("令牌不正确。", "Wrong token.")), StatusCode::UNAUTHORIZED)
        }
    }
}

async fn logout(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let _fields = form!(gateway, peer, headers, body);
    let mut response = see_other("/console/");
    let value = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn requests(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let filter = LogFilter {
        app_id: page.field("app_id"),
        method: page.field("method"),
        code: page.field("code"),
        id: page.field("id"),
        before_log_id: page.field("before").and_then(|b| b.parse().ok()),
        limit: PAGE_ROWS,
    };
    let rows = match gateway.store.request_log(filter).await {
        Ok(rows) => rows,
        Err(err) => return store_failed(&page, "/console/", err),
    };
    let value = |name: &str| page.field(name).unwrap_or_default();
    let body = html! {
        div.card {
            h1 { (page.t("请求日志", "Request log")) }
            @if !gateway.request_log.is_on() {
                p.bad { (page.t("请求日志未开启。", "The request log is off.")) }
            }
            @if gateway.request_log.dropped() > 0 {
                p.bad { (page.t("因队列已满而丢弃的行：", "Rows dropped because the queue was full: ")) (gateway.request_log.dropped()) }
            }
            form.row method="get" action="/console/" {
                label { "app_id" input name="app_id" value=(value("app_id")); }
                label { "method" input name="method" value=(value("method")) size="34"; }
                label { "code / sub_code" input name="code" value=(value("code")); }
                label { (page.t("任意单号（out_order_no、auth_no、operation_id…）", "Any id (out_order_no, auth_no, operation_id…)")) input id="filter-id" name="id" value=(value("id")) size="30"; }
                button id="filter" type="submit" { (page.t("筛选", "Filter")) }
            }
            table id="requests" {
                tr { th { (page.t("时间", "Time")) } th { "app" } th { "method" } th { "charset" } th { "sign" } th { "code" } th { "sub_code" } th { "ms" } th {} }
                @for row in &rows {
                    @let entry = &row.entry;
                    tr {
                        td { a href={ "/console/requests/" (row.log_id) } { (format_beijing(entry.at_ms)) } }
                        td { (entry.app_id.as_deref().unwrap_or("")) }
                        td { (entry.method.as_deref().unwrap_or(&entry.path)) }
                        td { (entry.charset.as_deref().unwrap_or("")) }
                        td { (entry.sign_type.as_deref().unwrap_or("")) " "
                            @match entry.sign_ok { Some(true) => span.ok { "✓" }, Some(false) => span.bad { "✗" }, None => {} } }
                        td class=[(entry.code.as_deref() != Some("10000")).then_some("bad")] { (entry.code.as_deref().unwrap_or("")) }
                        td { (entry.sub_code.as_deref().unwrap_or("")) }
                        td.num { (ms(entry.latency_us)) }
                        td { @if entry.injected.is_some() { span.tag { (page.t("注入", "injected")) } } }
                    }
                }
            }
            @if let Some(last) = rows.last() {
                @if rows.len() as u32 == PAGE_ROWS {
                    p { a href={ "/console/?before=" (last.log_id) } { (page.t("更早 →", "Older →")) } }
                }
            }
        }
    };
    layout(&page, "/console/", page.t("请求日志", "Requests"), body)
}

async fn request(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(log_id): Path<String>,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let found = match log_id.parse::<i64>() {
        Ok(id) => gateway.store.request_log_entry(id).await,
        Err(_) => Ok(None),
    };
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => {
            return store_failed(
                &page,
                "/console/",
                ConsoleError::missing(format!("no request {log_id}")),
            )
        }
        Err(err) => return store_failed(&page, "/console/", err),
    };
    let entry = &row.entry;
    let body = html! {
        div.card id="request" {
            h1 { (entry.method.as_deref().unwrap_or(&entry.path)) }
            table {
                tr { th { (page.t("时间", "Time")) } td { (format_beijing(entry.at_ms)) } }
                tr { th { "request id" } td { (entry.request_id) } }
                tr { th { "HTTP" } td { (entry.http_method) " " (entry.path) " → " (entry.http_status) } }
                tr { th { "app_id" } td { (entry.app_id.as_deref().unwrap_or("")) } }
                tr { th { "charset / sign_type" } td { (entry.charset.as_deref().unwrap_or("")) " / " (entry.sign_type.as_deref().unwrap_or("")) } }
                tr { th { (page.t("签名", "Signature")) } td id="sign-result" { @match entry.sign_ok { Some(true) => span.ok { (page.t("验签通过", "verified")) }, Some(false) => span.bad { (page.t("验签失败", "did not verify")) }, None => span.muted { (page.t("未检查", "not checked")) } } } }
                tr { th { "code / sub_code" } td id="code" { (entry.code.as_deref().unwrap_or("")) " " (entry.sub_code.as_deref().unwrap_or("")) } }
                tr { th { (page.t("耗时", "Latency")) } td { (ms(entry.latency_us)) " ms" } }
                @if let Some(rule) = &entry.injected { tr { th { (page.t("注入", "Injected")) } td id="injected" { span.tag { (rule) } } } }
                tr { th { (page.t("单号", "Ids")) } td { @for id in &entry.refs { a href={ "/console/?id=" (encode(id)) } { (id) } " " } } }
            }
            @if let Some(biz) = &entry.biz_content { h2 { "biz_content" } pre id="biz-content" { (biz) } }
            @if let Some(params) = &entry.params { h2 { (page.t("公共参数", "Parameters")) } pre { (params) } }
            @if let Some(sign) = &entry.sign_content { h2 { (page.t("网关构造的待签名内容与提示", "The sign content the gateway built, and the hint")) } pre id="sign-content" { (sign) } }
            @if let Some(answer) = &entry.answer { h2 { (page.t("应答", "Answer")) } pre id="answer" { (answer) } }
        }
    };
    layout(&page, "/console/", page.t("请求", "Request"), body)
}

async fn notifications(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let filter = NotifyFilter { app_id: page.field("app_id"), status: None, limit: PAGE_ROWS };
    let records = match gateway.store.list_notifications(filter).await {
        Ok(records) => records,
        Err(err) => return store_failed(&page, "/console/notifications", err),
    };
    let mut app_ids: Vec<&String> = gateway.apps.keys().collect();
    app_ids.sort();
    let body = html! {
        div.card {
            h1 { (page.t("发送测试通知", "Send a test notification")) }
            form.row method="post" action="/console/notifications/test" {
                (csrf_field(&page))
                label { "URL" input id="test-url" name="url" size="50" placeholder="http://127.0.0.1:8080/notify"; }
                label { "app_id" select name="app_id" { @for app_id in &app_ids { option value=(app_id) { (app_id) } } } }
                button id="test-send" type="submit" { (page.t("发送", "Send")) }
            }
        }
        div.card {
            h1 { (page.t("通知", "Notifications")) }
            table id="notifications" {
                tr { th { "notify_id" } th { "event" } th { "URL" } th { (page.t("状态", "Status")) } th { (page.t("下次尝试", "Next attempt")) } th { (page.t("尝试", "Attempts")) } th {} }
                @for record in &records {
                    tr.notification {
                        td { (record.notify_id) br; span.muted { (record.operation_id) } }
                        td { (record.event.as_str()) }
                        td { (record.notify_url) }
                        td { (record.status.as_str()) }
                        td { @if let Some(next) = record.next_attempt_at_ms { (format_beijing(next)) } }
                        td {
                            table.attempts {
                                @for attempt in &record.history {
                                    tr.attempt {
                                        td { (format_beijing(attempt.at_ms)) }
                                        td class=(if attempt.delivered { "ok" } else { "bad" }) { (attempt.http_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                                        td { (attempt.answer.as_deref().or(attempt.error.as_deref()).unwrap_or("")) }
                                        td.num { (attempt.latency_ms.map(|l| format!("{l} ms")).unwrap_or_default()) }
                                    }
                                }
                                @if let (Some(last), false) = (record.history.last(), record.status.as_str() == "DELIVERED") {
                                    @let later = schedule_after(last.at_ms, record.attempts);
                                    @if !later.is_empty() {
                                        tr { td colspan="4" .muted { (page.t("其后按支付宝的间隔：", "Then on Alipay's schedule: ")) @for at in later.iter().skip(1).take(3) { (format_beijing(*at)) "; " } } }
                                    }
                                }
                            }
                        }
                        td {
                            form.inline method="post" action={ "/console/notifications/" (record.notify_id) "/resend" } {
                                (csrf_field(&page))
                                button.resend type="submit" { (page.t("重发", "Resend")) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&page, "/console/notifications", page.t("通知", "Notifications"), body)
}

async fn resend(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(notify_id): Path<String>,
    body: Body,
) -> Response {
    let _fields = form!(gateway, peer, headers, body);
    let outcome =
        actions::resend(&gateway, &notify_id).await.map(|()| format!("{notify_id}: queued again"));
    done("/console/notifications", outcome)
}

async fn test_notification(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let outcome = actions::test_notification(
        &gateway,
        &get_field(&fields, "url"),
        &get_field(&fields, "app_id"),
    )
    .await
    .and_then(|delivery| match delivery.delivered {
        true => Ok(format!(
            "delivered: HTTP 200 \"success\" in {} ms",
            delivery.latency_ms.unwrap_or(0)
        )),
        false => {
            Err(ConsoleError::bad(format!("not delivered: {}", delivery.error.unwrap_or_default())))
        }
    });
    done("/console/notifications", outcome)
}

fn orders_table(page: &Page, orders: &[OrderSummary]) -> Markup {
    html! {
        table.orders {
            tr { th { (page.t("创建", "Created")) } th { "out_order_no" } th { "auth_no" } th { (page.t("产品", "Product")) } th { (page.t("状态", "State")) } th { (page.t("金额", "Amount")) } th { (page.t("已发", "Disbursed")) } th { (page.t("已退", "Refunded")) } th { (page.t("剩余", "Remaining")) } th { (page.t("到期", "Expires")) } }
            @for order in orders {
                tr {
                    td { (format_beijing(order.created_at_ms)) }
                    td { (order.out_order_no) br; span.muted { (order.order_title) } }
                    td { a href={ "/console/orders/" (order.auth_no) } { (order.auth_no) } }
                    td { (order.product.as_str()) " " (order.kind.as_str()) }
                    td { (order.packet.status.as_str()) }
                    td.num { (order.packet.amount) }
                    td.num { (order.packet.disbursed) }
                    td.num { (order.packet.refunded) }
                    td.num { (order.packet.remaining()) }
                    td { @if let Some(at) = order.expire_at_ms.or(order.pay_deadline_ms) { (format_beijing(at)) } }
                }
            }
        }
    }
}

fn entry_table(entry: &JournalEntry) -> Markup {
    html! {
        table.entry {
            tr { td colspan="2" .muted { "#" (entry.entry_id) " " (entry.memo) " · " (format_beijing(entry.created_at_ms)) } }
            @for posting in &entry.postings {
                tr { td { (posting.account.id()) } td.num { (posting.amount) } }
            }
        }
    }
}

async fn orders(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let filter = OrderFilter {
        app_id: page.field("app_id"),
        id: page.field("id"),
        limit: PAGE_ROWS,
        ..OrderFilter::default()
    };
    let found = match gateway.store.orders(filter).await {
        Ok(found) => found,
        Err(err) => return store_failed(&page, "/console/orders", err),
    };
    let body = html! {
        div.card {
            h1 { (page.t("红包与单据", "Packets and orders")) }
            form.row method="get" action="/console/orders" {
                label { "app_id" input name="app_id" value=(page.field("app_id").unwrap_or_default()); }
                label { (page.t("任意单号", "Any id")) input name="id" value=(page.field("id").unwrap_or_default()); }
                button type="submit" { (page.t("筛选", "Filter")) }
            }
            (orders_table(&page, &found))
        }
    };
    layout(&page, "/console/orders", page.t("资金", "Money"), body)
}

async fn order(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(auth_no): Path<String>,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let detail = match gateway.store.order_detail(&auth_no).await {
        Ok(Some(detail)) => detail,
        Ok(None) => {
            return store_failed(
                &page,
                "/console/orders",
                ConsoleError::missing(format!("no order {auth_no}")),
            )
        }
        Err(err) => return store_failed(&page, "/console/orders", err),
    };
    let order = &detail.order;
    let body = html! {
        div.card id="order" {
            h1 { (order.order_title) }
            (orders_table(&page, std::slice::from_ref(order)))
            p.muted {
                "app " (order.app_id)
                @if let Some(payer) = &order.payer_user_id { " · payer " a href={ "/console/users/" (payer) } { (payer) } }
                @if let Some(payee) = &order.payee_user_id { " · payee " a href={ "/console/users/" (payee) } { (payee) } }
                @if let Some(packet) = &order.packet_auth_no { " · packet " a href={ "/console/orders/" (packet) } { (packet) } }
                @if let Some(deadline) = order.pay_deadline_ms { " · pay by " (format_beijing(deadline)) }
                @if let Some(url) = &order.notify_url { " · notify_url " (url) }
            }
            h2 { (page.t("操作与分录", "Operations and journal entries")) }
            table {
                tr { th { "operation_id" } th { "out_request_no" } th { "type" } th { (page.t("状态", "Status")) } th { (page.t("金额", "Amount")) } th { (page.t("分录", "Entry")) } }
                @for op in &detail.operations {
                    tr {
                        td { (op.view.operation_id) } td { (op.view.out_request_no) }
                        td { (op.view.operation_type.as_str()) @if !op.view.remark.is_empty() { br; span.muted { (op.view.remark) } } }
                        td { (op.view.status.as_str()) } td.num { (op.view.amount) }
                        td { @if let Some(entry) = &op.entry { (entry_table(entry)) } }
                    }
                }
            }
            @if !detail.disbursements.is_empty() {
                h2 { (page.t("从此红包发放的单据", "Disbursed from this packet")) }
                (orders_table(&page, &detail.disbursements))
            }
        }
    };
    layout(&page, "/console/orders", &order.out_order_no, body)
}

async fn users(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let found = match gateway.store.users(super::PAGE_ROWS_MAX).await {
        Ok(found) => found,
        Err(err) => return store_failed(&page, "/console/users", err),
    };
    let body = html! {
        div.card {
            h1 { (page.t("创建沙箱用户", "Create a sandbox user")) }
            form.row method="post" action="/console/users" {
                (csrf_field(&page))
                label { "user_id" input name="user_id" placeholder=(page.t("留空自动生成", "empty: made for you")); }
                label { "logon_id" input id="new-logon" name="logon_id" placeholder="name@example.com"; }
                label { (page.t("密码", "Password")) input name="password" placeholder="111111"; }
                label { (page.t("姓名", "Real name")) input name="real_name"; }
                label { (page.t("初始余额", "Opening balance")) input id="new-balance" name="balance" placeholder="100.00"; }
                button id="create-user" type="submit" { (page.t("创建", "Create")) }
            }
        }
        div.card {
            h1 { (page.t("用户", "Users")) }
            table id="users" {
                tr { th { "user_id" } th { "logon_id" } th { (page.t("姓名", "Name")) } th { (page.t("余额", "Balance")) } th { (page.t("充值", "Top up")) } }
                @for user in &found {
                    tr {
                        td { a href={ "/console/users/" (user.user_id) } { (user.user_id) } }
                        td { (user.logon_id) }
                        td { (user.real_name.as_deref().unwrap_or("")) }
                        td.num { (user.balance) }
                        td {
                            form.inline method="post" action={ "/console/users/" (user.user_id) "/top-up" } {
                                (csrf_field(&page))
                                input name="amount" size="8" placeholder="10.00";
                                " " button type="submit" { (page.t("充值", "Top up")) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&page, "/console/users", page.t("用户", "Users"), body)
}

async fn user(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let detail = match gateway.store.user_detail(&user_id, USER_HISTORY_MAX).await {
        Ok(Some(detail)) => detail,
        Ok(None) => {
            return store_failed(
                &page,
                "/console/users",
                ConsoleError::missing(format!("no user {user_id}")),
            )
        }
        Err(err) => return store_failed(&page, "/console/users", err),
    };
    let body = html! {
        div.card id="user" {
            h1 { (detail.user.user_id) " · " (detail.user.logon_id) }
            p { (page.t("余额 ", "Balance ")) strong id="balance" { (detail.user.balance) } }
            h2 { (page.t("流水", "History")) }
            @for entry in &detail.history { (entry_table(entry)) }
        }
    };
    layout(&page, "/console/users", &detail.user.user_id, body)
}

async fn create_user(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let input = NewUser {
        user_id: get_field(&fields, "user_id"),
        logon_id: get_field(&fields, "logon_id"),
        password: get_field(&fields, "password"),
        balance: get_field(&fields, "balance"),
        real_name: get_field(&fields, "real_name"),
    };
    let outcome = actions::create_user(&gateway, input).await.map(|user| {
        format!(
            "created {} ({}) with {}, password {}",
            user.user_id, user.logon_id, user.opening_balance, user.password
        )
    });
    done("/console/users", outcome)
}

async fn top_up(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let outcome = actions::top_up(&gateway, &user_id, &get_field(&fields, "amount"))
        .await
        .map(|balance| format!("{user_id}: balance now {balance}"));
    done("/console/users", outcome)
}

async fn apps(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let base = super::base_url(&headers);
    let mut apps: Vec<&crate::App> = gateway.apps.values().collect();
    apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
    let alipay_public =
        gateway.gateway_key.public_key().and_then(|key| key.to_pem()).unwrap_or_default();
    let body = html! {
        div.card {
            h1 { (page.t("网关", "Gateway")) }
            pre { (base) "/gateway.do" }
            h2 { (page.t("支付宝公钥（公钥模式）", "Alipay public key (public key mode)")) }
            pre id="alipay-public-key" { (alipay_public) }
            @if let Some(certs) = &gateway.certs {
                p { "alipay_cert_sn " code { (certs.signing().sn()) } " · alipay_root_cert_sn " code { (certs.root().sn()) } }
                h2 { "alipayCertPublicKey_RSA2.crt" } pre { (certs.signing().to_pem().unwrap_or_default()) }
                h2 { "alipayRootCert.crt" } pre { (certs.root().to_pem().unwrap_or_default()) }
            }
        }
        @for app in apps {
            @let certificate = matches!(app.credential, AppCredential::Certificate(_));
            @let snippet = snippets(&app.app_id, &base, certificate);
            div.card.app id={ "app-" (app.app_id) } {
                h1 { (app.name) " · " (app.app_id) }
                p { (page.t("模式：", "Mode: ")) (if certificate { page.t("公钥证书", "public key certificate") } else { page.t("公钥", "public key") })
                    " · " (page.t("商户账户 ", "merchant account ")) (app.merchant_user_id)
                    " · " (page.t("内容加密：未使用", "content encryption: none")) }
                @match &app.credential {
                    AppCredential::PublicKey(key) => { h2 { (page.t("应用公钥", "App public key")) } pre { (key.to_pem().unwrap_or_default()) } }
                    AppCredential::Certificate(cert) => { h2 { "appCertPublicKey.crt · app_cert_sn " (cert.certificate.sn()) } pre { (cert.certificate.to_pem().unwrap_or_default()) } }
                }
                @for (name, key) in [("Node (alipay-sdk)", "node"), ("Python (alipay-sdk-python)", "python"), ("Java (alipay-sdk-java)", "java"), ("PHP (AopClient)", "php")] {
                    h2 { (name) }
                    pre { (snippet[key].as_str().unwrap_or("")) }
                }
            }
        }
    };
    layout(&page, "/console/apps", page.t("应用", "Apps"), body)
}

async fn faults(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let (calls, notify) = gateway.inject.list();
    let mut app_ids: Vec<&String> = gateway.apps.keys().collect();
    app_ids.sort();
    let methods: Vec<&str> = hongbao_protocol::Method::ALL
        .iter()
        .filter(|m| {
            !matches!(
                m.channel(),
                hongbao_protocol::method::Channel::Page
                    | hongbao_protocol::method::Channel::OrderString
            )
        })
        .map(|m| m.name())
        .collect();
    let body = html! {
        div.card {
            h1 { (page.t("让接下来的调用失败", "Make the next calls fail")) }
            form.row method="post" action="/console/faults/calls" {
                (csrf_field(&page))
                label { "app_id" select name="app_id" { option value="" { (page.t("任意", "any")) } @for app_id in &app_ids { option value=(app_id) { (app_id) } } } }
                label { "method" select id="rule-method" name="method" { @for method in &methods { option value=(method) { (method) } } } }
                label { "code" input id="rule-code" name="code" placeholder="20000" size="6"; }
                label { "sub_code" input id="rule-sub-code" name="sub_code" placeholder="isp.unknow-error"; }
                label { (page.t("次数", "Count")) input name="count" value="1" size="4"; }
                label { (page.t("延迟 ms", "Delay ms")) input name="delay_ms" value="0" size="6"; }
                label { (page.t("资金已变动后", "After the money moved")) input type="checkbox" name="after_money_moved" value="true"; }
                button id="add-rule" type="submit" { (page.t("添加", "Add")) }
            }
            p.muted { (page.t("可用的应答：20000 isp.unknow-error、40004 SYSTEM_ERROR，以及该方法文档中的业务 sub_code。", "Answers: 20000 isp.unknow-error, 40004 SYSTEM_ERROR, and each business sub_code the method documents.")) }
            table id="call-rules" {
                @for rule in &calls {
                    tr { td { (rule.describe()) } td { (rule.method.name()) } td { (rule.app_id.as_deref().unwrap_or("*")) } td { (rule.remaining) " left" }
                        td { form.inline method="post" action={ "/console/faults/" (rule.id) "/remove" } { (csrf_field(&page)) button type="submit" { (page.t("删除", "Remove")) } } } }
                }
            }
        }
        div.card {
            h1 { (page.t("通知地址规则", "Notify endpoint rules")) }
            form.row method="post" action="/console/faults/notify" {
                (csrf_field(&page))
                label { (page.t("URL 前缀", "URL prefix")) input name="url_prefix" size="40" placeholder="http://127.0.0.1:8080/"; }
                label { (page.t("延迟 ms", "Delay ms")) input name="delay_ms" value="0" size="6"; }
                label { (page.t("失败次数", "Fail N attempts")) input name="fail" value="1" size="4"; }
                button type="submit" { (page.t("添加", "Add")) }
            }
            table {
                @for rule in &notify {
                    tr { td { "#" (rule.id) } td { (rule.url_prefix) } td { (rule.delay_ms) " ms" } td { (rule.fail_remaining) " failures left" }
                        td { form.inline method="post" action={ "/console/faults/" (rule.id) "/remove" } { (csrf_field(&page)) button type="submit" { (page.t("删除", "Remove")) } } } }
                }
            }
        }
    };
    layout(&page, "/console/faults", page.t("故障注入", "Faults"), body)
}

async fn add_call_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let input = NewCallRule {
        app_id: get_field(&fields, "app_id"),
        method: get_field(&fields, "method"),
        code: get_field(&fields, "code"),
        sub_code: get_field(&fields, "sub_code"),
        count: get_field(&fields, "count").parse().unwrap_or(0),
        after_money_moved: get_field(&fields, "after_money_moved") == "true",
        delay_ms: get_field(&fields, "delay_ms").parse().unwrap_or(u64::MAX),
    };
    done("/console/faults", actions::add_call_rule(&gateway, input).map(|rule| rule.describe()))
}

async fn add_notify_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let outcome = actions::add_notify_rule(
        &gateway,
        &get_field(&fields, "url_prefix"),
        get_field(&fields, "delay_ms").parse().unwrap_or(u64::MAX),
        get_field(&fields, "fail").parse().unwrap_or(u32::MAX),
    )
    .map(|rule| format!("notify rule #{} added", rule.id));
    done("/console/faults", outcome)
}

async fn remove_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let _fields = form!(gateway, peer, headers, body);
    let outcome = id
        .parse::<u64>()
        .map_err(|_| ConsoleError::bad("a rule id is a number"))
        .and_then(|id| actions::remove_rule(&gateway, id).map(|()| format!("rule #{id} removed")));
    done("/console/faults", outcome)
}

async fn clock(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let page = page!(gateway, peer, headers, uri);
    let body = html! {
        div.card {
            h1 { (page.t("沙箱时钟", "Sandbox clock")) }
            p { (page.t("业务时间（北京时间）：", "Business time (Beijing): ")) strong id="now" { (format_beijing(gateway.clock.now_ms())) } }
            form.row method="post" action="/console/clock/advance" {
                (csrf_field(&page))
                label { (page.t("前进", "Advance by")) input id="advance-by" name="by" placeholder="2h" size="8"; }
                button id="advance" type="submit" { (page.t("前进", "Advance")) }
            }
            p.muted { (page.t("整数的 m、h 或 d；到期的红包与通知随即处理。", "Whole m, h or d; due packets and notifications are handled at once.")) }
        }
    };
    layout(&page, "/console/clock", page.t("时钟", "Clock"), body)
}

async fn advance(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fields = form!(gateway, peer, headers, body);
    let outcome = actions::advance(&gateway, &get_field(&fields, "by"))
        .map(|now| format!("now {}", format_beijing(now)));
    done("/console/clock", outcome)
}

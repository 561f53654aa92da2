//! The wallet page: the stand-in for the Alipay app in `alipay.fund.coupon.order.app.pay` and in
//! `alipay.fund.trans.app.pay` (a `STD_RED_PACKET` send, which only its bound payer may pay).
//!
//! A merchant app's order string (what the official SDKs' `sdkExecute` / `sdk_execute` build)
//! opens `/wallet?order_string=<the string, URL-encoded>` (or is pasted into `/wallet`); the page
//! verifies it like a gateway request, shows the payment and a sandbox login, and on confirm
//! answers what the wallet SDK returns to the app: `resultStatus` 9000 with the signed
//! `alipay_fund_coupon_order_app_pay_response` as `result` (the merchant verifies it on its
//! server), or 6001 when the payer cancels. `Accept: application/json` gets that object as JSON.
//!
//! As on the cashier, the result is signed with the stored call's charset and sign_type, never
//! the page's fields, wrong passwords are throttled, and every answer carries the payer pages'
//! security headers.

use crate::cashier::{failure_page, lang_field, load_order, secured, try_login};
use crate::error::{to_alipay, ApiError, TransMethod, WalletResult};
use crate::html::{
    field, form_fields, order_card, page_on, pay_before, pay_form, Attempt, Lang, Surface,
};
use crate::methods::fund::payer_side_order;
use crate::methods::order_node;
use crate::methods::trans::{app_pay_node, send_order};
use crate::sandbox::PeerAddr;
use crate::verify::verify;
use crate::Gateway;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use hongbao_ledger::{CompletePayment, FundMethod, OperationView, Product};
use hongbao_protocol::envelope::response_key;
use hongbao_protocol::params::{decode_request, peek_ascii};
use hongbao_protocol::Method;
use hongbao_store::PaymentOrder;
use http::{HeaderMap, StatusCode, Uri};
use maud::{html, Markup};
use std::sync::Arc;

/// `/wallet` (open or paste an order string) and `/wallet/pay` (confirm or cancel).
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/wallet", get(open))
        .route("/wallet/pay", post(pay))
        .layer(axum::middleware::map_response(secured))
        .with_state(gateway)
}

async fn open(State(gateway): State<Arc<Gateway>>, uri: Uri) -> Response {
    let raw = hongbao_protocol::form::parse_form_lenient(uri.query().unwrap_or("").as_bytes());
    let lang = Lang::parse(peek_ascii(&raw, "lang").as_deref());
    let order_string =
        raw.iter().find(|(k, _)| k.as_slice() == b"order_string").map(|(_, v)| v.clone());
    let Some(order_string) = order_string.filter(|s| !s.is_empty()) else {
        return paste_form(lang);
    };
    let request = match decode_request(&order_string, b"") {
        Ok(request) => request,
        Err(err) => return failure_page(lang, Method::AppPay, "", &err.into()),
    };
    let method_name = request.params.get("method").unwrap_or("").to_owned();
    let method = match Method::parse(&method_name) {
        Some(method @ (Method::AppPay | Method::TransAppPay)) => method,
        _ => return failure_page(lang, Method::AppPay, "", &ApiError::NotAppPay(method_name)),
    };
    let verified = match verify(&gateway, request) {
        Ok(verified) => verified,
        Err(err) => return failure_page(lang, method, "", &err),
    };
    let app_id = &verified.app().app_id;
    let created = match method {
        Method::TransAppPay => send_order(&gateway, &verified).await,
        _ => payer_side_order(&gateway, &verified, FundMethod::App).await,
    };
    let view = match created {
        Ok(view) => view,
        Err(err) => return failure_page(lang, method, app_id, &err),
    };
    confirm_page(&gateway, lang, &view.auth_no, Attempt::default()).await
}

fn paste_form(lang: Lang) -> Response {
    let body = html! {
        div.card {
            div.title {
                (lang.t("hongbao 钱包（支付宝 App 的沙箱替身）", "hongbao wallet (a sandbox stand-in for the Alipay app)"))
            }
            form method="get" action="/wallet" accept-charset="utf-8" {
                input type="hidden" name="lang" value=(lang.code());
                label for="order_string" { (lang.t("订单串（sdkExecute 的结果）", "Order string (what sdkExecute returned)")) }
                textarea id="order_string" name="order_string"
                    placeholder="app_id=…&biz_content=…&method=alipay.fund.coupon.order.app.pay&…&sign=…" {}
                div.actions { button.primary id="open" type="submit" { (lang.t("打开", "Open")) } }
            }
            p.hint {
                (lang.t(
                    "测试版 App 可直接打开 /wallet?order_string=<URL 编码后的订单串>，并读取结果页中的 JSON（或以 Accept: application/json 请求）。",
                    "A test build of the app can open /wallet?order_string=<the URL-encoded order string> and read the JSON on the result page (or ask with Accept: application/json).",
                ))
            }
        }
    };
    page_on(Surface::Wallet, lang, lang.t("hongbao 钱包", "hongbao wallet"), body, StatusCode::OK)
}

async fn confirm_page(
    gateway: &Gateway,
    lang: Lang,
    auth_no: &str,
    attempt: Attempt<'_>,
) -> Response {
    let (order, merchant) = match load_order(gateway, Method::AppPay, auth_no, lang).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let attempt = Attempt { users: &gateway.sandbox.login_users, ..attempt };
    let body = confirm_body(lang, &merchant, &order, attempt);
    page_on(Surface::Wallet, lang, lang.t("hongbao 钱包", "hongbao wallet"), body, StatusCode::OK)
}

/// The wallet's cards for an unpaid order: the order with its pay-before line, and the login.
pub(crate) fn confirm_body(
    lang: Lang,
    merchant: &str,
    order: &PaymentOrder,
    attempt: Attempt<'_>,
) -> Markup {
    let auth_no = order.view.auth_no.as_str();
    html! {
        (order_card(lang, merchant, &order.view, pay_before(lang, order.pay_deadline_ms)))
        (pay_form(lang, "/wallet/pay", &[("auth_no", auth_no), ("lang", lang.code())], attempt))
    }
}

/// Which app.pay an order was created by: a fund.trans send or a fund.coupon packet.
fn app_pay_method(view: &OperationView) -> Method {
    match view.product {
        Product::StdRedPacket => Method::TransAppPay,
        Product::Coupon => Method::AppPay,
    }
}

/// What the wallet SDK hands back to the merchant app.
fn wallet_result(outcome: WalletResult, result: &str) -> String {
    serde_json::json!({
        "resultStatus": outcome.result_status(),
        "result": result,
        "memo": outcome.memo(),
    })
    .to_string()
}

fn result_response(lang: Lang, headers: &HeaderMap, json: String) -> Response {
    let wants_json = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    if wants_json {
        return ([(http::header::CONTENT_TYPE, "application/json;charset=utf-8")], json)
            .into_response();
    }
    page_on(
        Surface::Wallet,
        lang,
        lang.t("支付结果", "Payment result"),
        result_body(lang, &json),
        StatusCode::OK,
    )
}

/// The result page's card: the wallet SDK's answer as the app receives it.
pub(crate) fn result_body(lang: Lang, json: &str) -> Markup {
    html! {
        div.card {
            div.title { (lang.t("钱包返回给 App 的结果", "What the wallet returns to the app")) }
            pre id="result" { (json) }
            p.hint { (lang.t("请在商户服务端验证 result 的签名。", "Verify the signature of result on the merchant's server.")) }
        }
    }
}

/// The payer's confirm or cancel, recorded in the request log (`reqlog::tag_page`).
async fn pay(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let peer = peer.map(|Extension(PeerAddr(addr))| addr.ip().to_canonical());
    let body = match crate::body::read(body).await {
        Ok(body) => body,
        Err(err) => return failure_page(Lang::Zh, Method::AppPay, "", &err.into()),
    };
    let fields = form_fields(&body);
    let action = format!("wallet: {}", field(&fields, "action").unwrap_or("pay"));
    let auth_no = field(&fields, "auth_no").unwrap_or("").to_owned();
    let response = pay_on(&gateway, peer, &headers, fields).await;
    crate::reqlog::tag_page(&gateway, response, Method::AppPay, &auth_no, action).await
}

async fn pay_on(
    gateway: &Gateway,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    fields: Vec<(String, String)>,
) -> Response {
    let lang = lang_field(&fields);
    let auth_no = field(&fields, "auth_no").unwrap_or("").to_owned();
    if field(&fields, "action") == Some("cancel") {
        return result_response(lang, headers, wallet_result(WalletResult::Cancelled, ""));
    }
    let (app_id, method, call) = match load_order(gateway, Method::AppPay, &auth_no, lang).await {
        Ok((order, _)) => (order.app_id, app_pay_method(&order.view), order.call),
        Err(page) => return page,
    };
    // What the app verifies is signed the way it called, whatever the page sent.
    let charset = crate::notify::wire_charset(call.charset);
    let sign_type = crate::notify::wire_sign_type(call.sign_type);
    let app = gateway.apps.get(&app_id);
    let login = field(&fields, "login").unwrap_or("").trim();
    let password = field(&fields, "password").unwrap_or("");
    let payer = match try_login(gateway, lang, peer, login, password).await {
        Ok(Ok(payer)) => payer,
        Ok(Err(message)) => {
            let attempt =
                Attempt { error: Some(&message), login: Some(login), ..Attempt::default() };
            return confirm_page(gateway, lang, &auth_no, attempt).await;
        }
        Err(err) => return failure_page(lang, Method::AppPay, &app_id, &err),
    };
    let now_ms = gateway.clock.now_ms();
    let view = match gateway
        .store
        .complete_payment(CompletePayment {
            auth_no: auth_no.clone(),
            payer_user_id: payer,
            now_ms,
        })
        .await
    {
        Ok(Ok(view)) => view,
        Ok(Err(rejection)) => {
            let err = match method {
                Method::TransAppPay => {
                    ApiError::TransRejected { method: TransMethod::AppPay, rejection }
                }
                _ => ApiError::Rejected(rejection),
            };
            let alipay = to_alipay(&err);
            let attempt =
                Attempt { error: Some(&alipay.sub_msg), login: Some(login), ..Attempt::default() };
            return confirm_page(gateway, lang, &auth_no, attempt).await;
        }
        Err(err) => return failure_page(lang, method, &app_id, &err.into()),
    };
    gateway.recent_requests.remember(&view.operation_id);
    gateway.notify_wake.notify_one();
    let key = response_key(method.name()).unwrap_or_default();
    let node = match method {
        Method::TransAppPay => app_pay_node(&view),
        _ => order_node(&view),
    };
    // In clear even for an encrypted order string: the merchant reads `result` with the app
    // SDK's sync-result parser (Java `parseAppSyncResult`), which decrypts nothing.
    let signed = gateway.sign_answer(&key, &node, charset, sign_type, app, None);
    let signed = match signed {
        Ok(signed) => signed,
        Err(err) => return failure_page(lang, method, &app_id, &err.into()),
    };
    // render wrote the node in the charset, so its bytes always decode; the lossy fallback is
    // never taken.
    let result = charset.decode(&signed).unwrap_or_else(|| String::from_utf8_lossy(&signed).into());
    result_response(lang, headers, wallet_result(WalletResult::Paid, &result))
}

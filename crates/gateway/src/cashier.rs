//! `alipay.fund.coupon.order.page.pay`: what the official SDKs' `pageExecute` produces (an
//! auto-submitting form or a GET URL) lands here through `/gateway.do`, is verified like any
//! request, creates the packet (PAY operation INIT) and redirects to the cashier page:
//! merchant, title, amount, a sandbox login and Pay / Cancel. Pay moves the money and sends the
//! browser back to `return_url` with Alipay's signed return parameters.
//!
//! Errors are readable HTML pages here, never JSON: a person is looking at them.
//!
//! The page is the payer's, so nothing it sends decides what is signed for the merchant: the
//! return parameters are signed with the charset and sign_type of the stored call
//! (`PaymentOrder::call`). Wrong passwords are throttled per account and per client
//! (`throttle`), and every response carries the payer pages' security headers
//! (`html::secure`).

use crate::error::{log_failure, to_alipay, ApiError};
use crate::html::{
    error_page, field, form_fields, order_card, page, pay_before, pay_form, Attempt, ErrorKind,
    Lang,
};
use crate::methods::fund::payer_side_order;
use crate::sandbox::PeerAddr;
use crate::verify::verify;
use crate::Gateway;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Extension;
use hongbao_ledger::{CompletePayment, FundMethod, OperationView, PacketStatus, Rejection};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::method::PAGE_PAY_RETURN;
use hongbao_protocol::params::DecodedRequest;
use hongbao_protocol::sign_content::sign_notify;
use hongbao_protocol::RequestError;
use hongbao_protocol::{Method, Params};
use hongbao_store::PaymentOrder;
use http::StatusCode;
use maud::{html, Markup};
use std::collections::HashMap;
use std::sync::Arc;

/// `/cashier/{auth_no}`: show (GET) and act (POST).
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/cashier/{auth_no}", get(show).post(act))
        .layer(axum::middleware::map_response(secured))
        .with_state(gateway)
}

/// The payer pages' security headers on every answer of their routes (redirects, results).
pub(crate) async fn secured(response: Response) -> Response {
    crate::html::secure(response)
}

/// A login tried on a payer page: throttled, then checked against the sandbox users. `Err`
/// holds the message for the page (wrong password, or locked) or a store failure.
pub(crate) async fn try_login(
    gateway: &Gateway,
    lang: Lang,
    peer: Option<std::net::IpAddr>,
    login: &str,
    password: &str,
) -> Result<Result<String, String>, ApiError> {
    let now_ms = gateway.clock.now_ms();
    if let Err(locked) = gateway.logins.check(login, peer, now_ms) {
        return Ok(Err(locked.message(lang == Lang::En)));
    }
    match gateway.store.authenticate(login, password).await? {
        Some(payer) => {
            gateway.logins.succeeded(login);
            Ok(Ok(payer))
        }
        None => {
            gateway.logins.failed(login, peer, now_ms);
            Ok(Err(lang.t("账号或密码错误", "Wrong account or password").to_owned()))
        }
    }
}

/// The page of a failed payer-side request (shared with the wallet): logged like a failure on
/// `/gateway.do`, with the method and the app (empty while unknown), and shown with its Alipay
/// code.
pub(crate) fn failure_page(lang: Lang, method: Method, app_id: &str, err: &ApiError) -> Response {
    log_failure(method, app_id, err);
    let alipay = to_alipay(err);
    let kind = match err {
        ApiError::Rejected(Rejection::AuthOrderNotExist) => ErrorKind::NoSuchOrder,
        _ => ErrorKind::BadRequest,
    };
    error_page(lang, kind, alipay.code, alipay.sub_code, &alipay.sub_msg)
}

/// The `lang` of a submitted form.
pub(crate) fn lang_field(fields: &[(String, String)]) -> Lang {
    Lang::parse(field(fields, "lang"))
}

/// A page.pay request arriving at `/gateway.do` from the payer's browser.
pub async fn page_pay(
    gateway: &Gateway,
    decoded: Result<DecodedRequest, RequestError>,
) -> Response {
    let lang = Lang::Zh;
    let request = match decoded {
        Ok(request) => request,
        Err(err) => return failure_page(lang, Method::PagePay, "", &err.into()),
    };
    let verified = match verify(gateway, request) {
        Ok(verified) => verified,
        Err(err) => return failure_page(lang, Method::PagePay, "", &err),
    };
    match payer_side_order(gateway, &verified, FundMethod::Page).await {
        Ok(view) => Redirect::to(&format!("/cashier/{}", view.auth_no)).into_response(),
        Err(err) => failure_page(lang, Method::PagePay, &verified.app().app_id, &err),
    }
}

async fn show(
    State(gateway): State<Arc<Gateway>>,
    Path(auth_no): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(query.get("lang").map(String::as_str));
    render(&gateway, &auth_no, lang, Attempt::default()).await
}

/// The order behind a cashier (page.pay) or wallet (app.pay) page, with the merchant's name, or
/// the page saying why there is none.
pub(crate) async fn load_order(
    gateway: &Gateway,
    method: Method,
    auth_no: &str,
    lang: Lang,
) -> Result<(PaymentOrder, String), Response> {
    match gateway.store.payment_order(auth_no).await {
        Ok(Some(order)) => {
            let merchant =
                gateway.apps.get(&order.app_id).map(|a| a.name.clone()).unwrap_or_default();
            Ok((order, merchant))
        }
        Ok(None) => {
            let err = ApiError::Rejected(Rejection::AuthOrderNotExist);
            Err(failure_page(lang, method, "", &err))
        }
        Err(err) => Err(failure_page(lang, method, "", &err.into())),
    }
}

async fn render(gateway: &Gateway, auth_no: &str, lang: Lang, attempt: Attempt<'_>) -> Response {
    let (order, merchant) = match load_order(gateway, Method::PagePay, auth_no, lang).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let attempt = Attempt { users: &gateway.sandbox.login_users, ..attempt };
    let closed_by_time = order.pay_deadline_ms.is_some_and(|d| gateway.clock.now_ms() >= d);
    let body = order_body(lang, &merchant, &order, closed_by_time, attempt);
    page(lang, lang.t("hongbao 收银台", "hongbao cashier"), body, StatusCode::OK)
}

/// The cashier's cards for `order`: paid, closed, or waiting for the payer's login.
pub(crate) fn order_body(
    lang: Lang,
    merchant: &str,
    order: &PaymentOrder,
    closed_by_time: bool,
    attempt: Attempt<'_>,
) -> Markup {
    let closed = || {
        let status = html! {
            p.closed id="status" { (lang.t("订单已关闭（超时未支付）", "Closed: not paid in time")) }
        };
        order_card(lang, merchant, &order.view, status)
    };
    match order.status {
        PacketStatus::Funded => {
            let status = html! {
                p.ok id="status" { (lang.t("已支付", "Paid")) }
                (back_link(lang, order.return_url.as_deref()))
            };
            order_card(lang, merchant, &order.view, status)
        }
        PacketStatus::Closed => closed(),
        PacketStatus::WaitPay if closed_by_time => closed(),
        PacketStatus::WaitPay => {
            let action = format!("/cashier/{}", order.view.auth_no);
            html! {
                (order_card(lang, merchant, &order.view, pay_before(lang, order.pay_deadline_ms)))
                (pay_form(lang, &action, &[("lang", lang.code())], attempt))
            }
        }
    }
}

fn back_link(lang: Lang, return_url: Option<&str>) -> Markup {
    html! {
        @if let Some(url) = return_url {
            p { a id="back" href=(url) { (lang.t("返回商户", "Back to the merchant")) } }
        }
    }
}

/// The payer's Pay or Cancel, recorded in the request log (`reqlog::tag_page`).
async fn act(
    State(gateway): State<Arc<Gateway>>,
    Path(auth_no): Path<String>,
    peer: Option<Extension<PeerAddr>>,
    body: Body,
) -> Response {
    let peer = peer.map(|Extension(PeerAddr(addr))| addr.ip().to_canonical());
    let body = match crate::body::read(body).await {
        Ok(body) => body,
        Err(err) => return failure_page(Lang::Zh, Method::PagePay, "", &err.into()),
    };
    let fields = form_fields(&body);
    let action = format!("cashier: {}", field(&fields, "action").unwrap_or("pay"));
    let response = act_on(&gateway, auth_no.clone(), peer, fields).await;
    crate::reqlog::tag_page(&gateway, response, Method::PagePay, &auth_no, action).await
}

async fn act_on(
    gateway: &Gateway,
    auth_no: String,
    peer: Option<std::net::IpAddr>,
    fields: Vec<(String, String)>,
) -> Response {
    let lang = lang_field(&fields);
    let (order, _) = match load_order(gateway, Method::PagePay, &auth_no, lang).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if field(&fields, "action") == Some("cancel") {
        let body = html! {
            div.card {
                p.closed id="status" { (lang.t("已取消支付", "Payment cancelled")) }
                p.meta {
                    (lang.t(
                        "订单未支付，超时后自动关闭。",
                        "The order stays unpaid and closes when its pay_timeout passes.",
                    ))
                }
                (back_link(lang, order.return_url.as_deref()))
            }
        };
        return page(lang, lang.t("已取消", "Cancelled"), body, StatusCode::OK);
    }
    let (login, password) =
        (field(&fields, "login").unwrap_or("").trim(), field(&fields, "password").unwrap_or(""));
    let payer = match try_login(gateway, lang, peer, login, password).await {
        Ok(Ok(payer)) => payer,
        Ok(Err(message)) => {
            let attempt =
                Attempt { error: Some(&message), login: Some(login), ..Attempt::default() };
            return render(gateway, &auth_no, lang, attempt).await;
        }
        Err(err) => return failure_page(lang, Method::PagePay, &order.app_id, &err),
    };
    let now_ms = gateway.clock.now_ms();
    let paid = gateway
        .store
        .complete_payment(CompletePayment {
            auth_no: auth_no.clone(),
            payer_user_id: payer,
            now_ms,
        })
        .await;
    let view = match paid {
        Ok(Ok(view)) => view,
        Ok(Err(Rejection::BalanceNotEnough)) => {
            let message = lang.t("余额不足", "Balance not enough");
            let attempt =
                Attempt { error: Some(message), login: Some(login), ..Attempt::default() };
            return render(gateway, &auth_no, lang, attempt).await;
        }
        Ok(Err(_)) => return render(gateway, &auth_no, lang, Attempt::default()).await,
        Err(err) => return failure_page(lang, Method::PagePay, &order.app_id, &err.into()),
    };
    gateway.recent_requests.remember(&view.operation_id);
    gateway.notify_wake.notify_one();
    match &order.return_url {
        Some(return_url) => match return_params(gateway, &order, &view) {
            Some(query) => {
                let separator = if return_url.contains('?') { '&' } else { '?' };
                Redirect::to(&format!("{return_url}{separator}{query}")).into_response()
            }
            None => render(gateway, &auth_no, lang, Attempt::default()).await,
        },
        None => render(gateway, &auth_no, lang, Attempt::default()).await,
    }
}

/// Alipay's signed return parameters (`method = …page.pay.return`), signed like a notify
/// (`rsaCheckV1`) in the stored call's charset and sign_type, URL-encoded in UTF-8 with the
/// call's charset named.
fn return_params(gateway: &Gateway, order: &PaymentOrder, view: &OperationView) -> Option<String> {
    let charset = crate::notify::wire_charset(order.call.charset);
    let sign_type = crate::notify::wire_sign_type(order.call.sign_type);
    let app_id = order.app_id.as_str();
    let mut params = Params::new();
    params.insert("method", PAGE_PAY_RETURN);
    params.insert("app_id", app_id);
    params.insert("auth_app_id", app_id);
    params.insert("charset", charset.as_str());
    params.insert("version", "1.0");
    params.insert("sign_type", sign_type.as_str());
    params.insert("timestamp", format_beijing(gateway.clock.now_ms()));
    params.insert("out_order_no", &view.out_order_no);
    params.insert("out_request_no", &view.out_request_no);
    params.insert("auth_no", &view.auth_no);
    params.insert("operation_id", &view.operation_id);
    params.insert("amount", view.amount.to_string());
    params.insert("status", view.status.as_str());
    if let Some(trans) = view.gmt_trans_ms {
        params.insert("gmt_trans", format_beijing(trans));
    }
    let sign = sign_notify(&params, charset, sign_type, &gateway.gateway_key).ok()?;
    params.insert("sign", sign);
    String::from_utf8(params.to_form(charset)?).ok()
}

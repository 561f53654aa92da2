//! `/console/api/…`: the console as JSON for test suites (docs/console.md). Every route needs
//! `Authorization: Bearer <console_token>` from an allowed peer; bodies are JSON objects of at
//! most `BODY_BYTES_MAX` bytes read within the gateway's body timeout; listings are bounded by
//! `PAGE_ROWS_MAX`.

use super::actions::{self, ConsoleError, NewCallRule, NewUser};
use super::{harden, json, refusal, standing, Standing, PAGE_ROWS, PAGE_ROWS_MAX};
use crate::html::form_fields;
use crate::sandbox::PeerAddr;
use crate::Gateway;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Extension;
use hongbao_ledger::NotifyStatus;
use hongbao_protocol::display::format_beijing;
use hongbao_store::console::USER_HISTORY_MAX;
use hongbao_store::{LogFilter, NotifyFilter, OrderFilter};
use http::{header, HeaderMap, StatusCode, Uri};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;

/// Largest request body the console reads (its forms and JSON are small).
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// The API's routes.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/console/api/requests", get(requests))
        .route("/console/api/requests/{log_id}", get(request))
        .route("/console/api/notifications", get(notifications))
        .route("/console/api/notifications/test", post(test_notification))
        .route("/console/api/notifications/{notify_id}/resend", post(resend))
        .route("/console/api/orders", get(orders))
        .route("/console/api/orders/{auth_no}", get(order))
        .route("/console/api/users", get(users).post(create_user))
        .route("/console/api/users/{user_id}", get(user))
        .route("/console/api/users/{user_id}/top-up", post(top_up))
        .route("/console/api/apps", get(apps))
        .route("/console/api/rules", get(rules))
        .route("/console/api/rules/calls", post(add_call_rule))
        .route("/console/api/rules/notify", post(add_notify_rule))
        .route("/console/api/rules/{id}", delete(remove_rule))
        .route("/console/api/clock", get(clock))
        .route("/console/api/clock/advance", post(advance))
        .with_state(gateway)
}

/// The request's fields (query string) and credentials, checked first by every route.
struct Call {
    query: Vec<(String, String)>,
}

impl Call {
    fn field(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn limit(&self) -> Result<u32, ConsoleError> {
        match self.field("limit") {
            None => Ok(PAGE_ROWS),
            Some(text) => match text.parse::<u32>() {
                Ok(limit) if (1..=PAGE_ROWS_MAX).contains(&limit) => Ok(limit),
                _ => Err(ConsoleError::bad(format!("limit must be 1 to {PAGE_ROWS_MAX}"))),
            },
        }
    }
}

fn admit(
    gateway: &Gateway,
    peer: Option<Extension<PeerAddr>>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Call, Box<Response>> {
    let standing = standing(gateway, peer.map(|Extension(p)| p), headers, true);
    if let Some(refused) = refusal(standing, true) {
        return Err(Box::new(refused));
    }
    if standing != Standing::Allowed {
        return Err(Box::new(answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong bearer token (Authorization: Bearer <console_token>)"}),
        )));
    }
    Ok(Call { query: form_fields(uri.query().unwrap_or("").as_bytes()) })
}

fn answer(status: StatusCode, value: Value) -> Response {
    harden(
        (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response(),
    )
}

fn ok(value: Value) -> Response {
    answer(StatusCode::OK, value)
}

fn failed(err: ConsoleError) -> Response {
    answer(err.status, json!({"error": err.message}))
}

/// Reads a bounded body within the gateway's body timeout.
pub(crate) async fn read_body(gateway: &Gateway, body: Body) -> Result<Bytes, ConsoleError> {
    let limited = http_body_util::Limited::new(body, BODY_BYTES_MAX);
    match tokio::time::timeout(gateway.limits.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(ConsoleError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the body is over {BODY_BYTES_MAX} bytes or broke off"),
        }),
        Err(_) => Err(ConsoleError {
            status: StatusCode::REQUEST_TIMEOUT,
            message: "the body did not arrive in time".into(),
        }),
    }
}

/// A JSON object body (empty: `{}`).
async fn object(
    gateway: &Gateway,
    body: Body,
) -> Result<serde_json::Map<String, Value>, ConsoleError> {
    let bytes = read_body(gateway, body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ConsoleError::bad("the body must be a JSON object")),
        Err(err) => Err(ConsoleError::bad(format!("the body is not JSON: {err}"))),
    }
}

fn text(object: &serde_json::Map<String, Value>, key: &str) -> Result<String, ConsoleError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(_) => Err(ConsoleError::bad(format!("{key} must be a string"))),
    }
}

fn number(
    object: &serde_json::Map<String, Value>,
    key: &str,
    default: u64,
) -> Result<u64, ConsoleError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .ok_or_else(|| ConsoleError::bad(format!("{key} must be a whole number"))),
    }
}

fn flag(object: &serde_json::Map<String, Value>, key: &str) -> bool {
    matches!(object.get(key), Some(Value::Bool(true)))
}

macro_rules! admitted {
    ($gateway:expr, $peer:expr, $headers:expr, $uri:expr) => {
        match admit(&$gateway, $peer, &$headers, &$uri) {
            Ok(call) => call,
            Err(refused) => return *refused,
        }
    };
}

fn result(value: Result<Value, ConsoleError>) -> Response {
    match value {
        Ok(value) => ok(value),
        Err(err) => failed(err),
    }
}

async fn requests(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let before_log_id = match call.field("before") {
                None => None,
                Some(text) => Some(
                    text.parse::<i64>()
                        .map_err(|_| ConsoleError::bad("before must be a log_id"))?,
                ),
            };
            let filter = LogFilter {
                app_id: call.field("app_id"),
                method: call.field("method"),
                code: call.field("code"),
                id: call.field("id"),
                before_log_id,
                limit: call.limit()?,
            };
            let rows = gateway.store.request_log(filter).await?;
            let list: Vec<Value> = rows.iter().map(|row| json::request(row, false)).collect();
            Ok(json!({
                "requests": list,
                "logging": gateway.request_log.is_on(),
                "dropped": gateway.request_log.dropped(),
            }))
        }
        .await,
    )
}

async fn request(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(log_id): Path<String>,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let log_id =
                log_id.parse::<i64>().map_err(|_| ConsoleError::bad("a log_id is a number"))?;
            match gateway.store.request_log_entry(log_id).await? {
                Some(row) => Ok(json::request(&row, true)),
                None => Err(ConsoleError::missing(format!("no request {log_id}"))),
            }
        }
        .await,
    )
}

async fn notifications(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let status = match call.field("status") {
                None => None,
                Some(text) => Some(
                    NotifyStatus::parse(&text.to_ascii_uppercase())
                        .ok_or_else(|| ConsoleError::bad("status: PENDING, DELIVERED or FAILED"))?,
                ),
            };
            let filter =
                NotifyFilter { app_id: call.field("app_id"), status, limit: call.limit()? };
            let records = gateway.store.list_notifications(filter).await?;
            let list: Vec<Value> = records.iter().map(json::notification).collect();
            Ok(json!({"notifications": list}))
        }
        .await,
    )
}

async fn resend(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(notify_id): Path<String>,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(actions::resend(&gateway, &notify_id).await.map(|()| json!({"queued": notify_id})))
}

async fn test_notification(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let object = object(&gateway, body).await?;
            let delivery = actions::test_notification(
                &gateway,
                &text(&object, "url")?,
                &text(&object, "app_id")?,
            )
            .await?;
            Ok(json::delivery(&delivery))
        }
        .await,
    )
}

async fn orders(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let filter = OrderFilter {
                app_id: call.field("app_id"),
                id: call.field("id"),
                limit: call.limit()?,
                ..OrderFilter::default()
            };
            let found = gateway.store.orders(filter).await?;
            Ok(json!({"orders": found.iter().map(json::order).collect::<Vec<_>>()}))
        }
        .await,
    )
}

async fn order(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(auth_no): Path<String>,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            match gateway.store.order_detail(&auth_no).await? {
                Some(detail) => Ok(json::order_detail(&detail)),
                None => Err(ConsoleError::missing(format!("no order {auth_no}"))),
            }
        }
        .await,
    )
}

async fn users(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let found = gateway.store.users(call.limit()?).await?;
            Ok(json!({"users": found.iter().map(json::user).collect::<Vec<_>>()}))
        }
        .await,
    )
}

async fn user(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            match gateway.store.user_detail(&user_id, USER_HISTORY_MAX).await? {
                Some(detail) => Ok(json::user_detail(&detail)),
                None => Err(ConsoleError::missing(format!("no user {user_id}"))),
            }
        }
        .await,
    )
}

async fn create_user(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    let created = async {
        let object = object(&gateway, body).await?;
        let input = NewUser {
            user_id: text(&object, "user_id")?,
            logon_id: text(&object, "logon_id")?,
            password: text(&object, "password")?,
            balance: text(&object, "balance")?,
            real_name: text(&object, "real_name")?,
        };
        let user = actions::create_user(&gateway, input).await?;
        Ok(json!({
            "user_id": user.user_id,
            "logon_id": user.logon_id,
            "password": user.password,
            "balance": user.opening_balance.to_string(),
            "real_name": user.real_name,
        }))
    }
    .await;
    match created {
        Ok(value) => answer(StatusCode::CREATED, value),
        Err(err) => failed(err),
    }
}

async fn top_up(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let object = object(&gateway, body).await?;
            let balance = actions::top_up(&gateway, &user_id, &text(&object, "amount")?).await?;
            Ok(json!({"user_id": user_id, "balance": balance.to_string()}))
        }
        .await,
    )
}

async fn apps(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    let base = super::base_url(&headers);
    let mut list: Vec<Value> =
        gateway.apps.values().map(|app| json::app(&gateway, app, &base)).collect();
    list.sort_by(|a, b| a["app_id"].as_str().cmp(&b["app_id"].as_str()));
    ok(json!({"apps": list, "gateway_url": format!("{base}/gateway.do")}))
}

async fn rules(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    let (calls, notify) = gateway.inject.list();
    ok(json!({
        "calls": calls.iter().map(json::call_rule).collect::<Vec<_>>(),
        "notify": notify.iter().map(json::notify_rule).collect::<Vec<_>>(),
    }))
}

async fn add_call_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    let added = async {
        let object = object(&gateway, body).await?;
        let count = u32::try_from(number(&object, "count", 1)?)
            .map_err(|_| ConsoleError::bad("count is too large"))?;
        let input = NewCallRule {
            app_id: text(&object, "app_id")?,
            method: text(&object, "method")?,
            code: text(&object, "code")?,
            sub_code: text(&object, "sub_code")?,
            count,
            after_money_moved: flag(&object, "after_money_moved"),
            delay_ms: number(&object, "delay_ms", 0)?,
        };
        actions::add_call_rule(&gateway, input).map(|rule| json::call_rule(&rule))
    }
    .await;
    match added {
        Ok(value) => answer(StatusCode::CREATED, value),
        Err(err) => failed(err),
    }
}

async fn add_notify_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    let added = async {
        let object = object(&gateway, body).await?;
        let fail = u32::try_from(number(&object, "fail", 0)?)
            .map_err(|_| ConsoleError::bad("fail is too large"))?;
        let delay_ms = number(&object, "delay_ms", 0)?;
        actions::add_notify_rule(&gateway, &text(&object, "url_prefix")?, delay_ms, fail)
            .map(|rule| json::notify_rule(&rule))
    }
    .await;
    match added {
        Ok(value) => answer(StatusCode::CREATED, value),
        Err(err) => failed(err),
    }
}

async fn remove_rule(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        id.parse::<u64>()
            .map_err(|_| ConsoleError::bad("a rule id is a number"))
            .and_then(|id| actions::remove_rule(&gateway, id).map(|()| json!({"removed": id}))),
    )
}

fn clock_json(gateway: &Gateway) -> Value {
    let now_ms = gateway.clock.now_ms();
    json!({"now": format_beijing(now_ms), "now_ms": now_ms})
}

async fn clock(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    ok(clock_json(&gateway))
}

async fn advance(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let _call = admitted!(gateway, peer, headers, uri);
    result(
        async {
            let object = object(&gateway, body).await?;
            actions::advance(&gateway, &text(&object, "by")?)?;
            Ok(clock_json(&gateway))
        }
        .await,
    )
}

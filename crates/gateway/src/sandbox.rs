//! Sandbox controls: time you can control. Off unless a token is configured, served only to
//! loopback peers, and every call needs `Authorization: Bearer <token>`.
//!
//! `GET /sandbox/clock` tells the server's business time; `POST /sandbox/clock/advance` with
//! `by=2h` (form or query; whole m, h or d) moves it forward, so a merchant's test suite can
//! expire packets and walk the notify schedule in seconds. Deadlines fire at once after a move.

use crate::html::form_fields;
use crate::Gateway;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use hongbao_protocol::biz::parse_duration_minutes;
use hongbao_protocol::display::format_beijing;
use http::{HeaderMap, StatusCode, Uri};
use std::net::SocketAddr;
use std::sync::Arc;

/// The peer of a connection, put on every request by `server::serve`.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// Longest single advance: one year.
pub const ADVANCE_MINUTES_MAX: u32 = 366 * 24 * 60;

/// `/sandbox/clock` and `/sandbox/clock/advance`.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/sandbox/clock", get(now))
        .route("/sandbox/clock/advance", post(advance))
        .with_state(gateway)
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, [(http::header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// The refusal, unless the control is on, the peer is loopback and the token matches.
fn refusal(gateway: &Gateway, peer: Option<PeerAddr>, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = gateway.sandbox.clock_token.as_deref() else {
        return Some(json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "sandbox clock control is off (set [sandbox] clock_token)"}),
        ));
    };
    // A dual-stack listener ([::]:port) sees IPv4 clients as ::ffff:a.b.c.d.
    if !peer.is_some_and(|PeerAddr(addr)| addr.ip().to_canonical().is_loopback()) {
        return Some(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "sandbox controls answer loopback clients only"}),
        ));
    }
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let matches = presented.len() == token.len()
        && presented.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !matches {
        return Some(json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "missing or wrong bearer token"}),
        ));
    }
    None
}

fn clock_json(gateway: &Gateway) -> serde_json::Value {
    let now_ms = gateway.clock.now_ms();
    serde_json::json!({ "now": format_beijing(now_ms), "now_ms": now_ms })
}

async fn now(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&gateway, peer.map(|Extension(p)| p), &headers) {
        return refused;
    }
    json(StatusCode::OK, clock_json(&gateway))
}

async fn advance(
    State(gateway): State<Arc<Gateway>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    if let Some(refused) = refusal(&gateway, peer.map(|Extension(p)| p), &headers) {
        return refused;
    }
    let body = match crate::body::read(body).await {
        Ok(body) => body,
        Err(err) => {
            return json(StatusCode::BAD_REQUEST, serde_json::json!({"error": err.to_string()}))
        }
    };
    let mut fields = form_fields(uri.query().unwrap_or("").as_bytes());
    fields.extend(form_fields(&body));
    let by = fields
        .iter()
        .find(|(k, _)| k == "by")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let Some(minutes) = parse_duration_minutes(&by, ADVANCE_MINUTES_MAX) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": format!("by={by:?}: give whole minutes, hours or days, e.g. 90m, 2h, 3d")}),
        );
    };
    if !gateway.clock.advance_ms(i64::from(minutes) * 60_000) {
        return json(
            StatusCode::CONFLICT,
            serde_json::json!({"error": "this server's clock cannot move"}),
        );
    }
    tracing::info!(minutes, "sandbox clock advanced");
    gateway.scheduler_wake.notify_one();
    gateway.notify_wake.notify_one();
    json(StatusCode::OK, clock_json(&gateway))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn gateway(token: Option<&str>) -> (Gateway, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hongbao_store::SqliteStore::open(&dir.path().join("db")).expect("store");
        let key = hongbao_sign::PrivateKey::generate(1024).expect("key");
        let mut gateway = Gateway::new(
            HashMap::new(),
            key,
            Arc::new(store),
            Arc::new(crate::ManualClock::new(0)),
        );
        gateway.sandbox.clock_token = token.map(str::to_owned);
        (gateway, dir)
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        headers
    }

    #[tokio::test]
    async fn off_by_default_loopback_only_and_token_bound() {
        let loopback = Some(PeerAddr("127.0.0.1:5000".parse().expect("addr")));
        let remote = Some(PeerAddr("192.0.2.7:5000".parse().expect("addr")));
        let (off, _dir) = gateway(None);
        let status = |refusal: Option<Response>| refusal.map(|r| r.status());
        assert_eq!(
            status(refusal(&off, loopback, &bearer("anything"))),
            Some(StatusCode::NOT_FOUND)
        );
        let (on, _dir) = gateway(Some("0123456789abcdef"));
        assert_eq!(
            status(refusal(&on, remote, &bearer("0123456789abcdef"))),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(refusal(&on, None, &bearer("0123456789abcdef"))),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(refusal(&on, loopback, &bearer("0123456789abcdeF"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(refusal(&on, loopback, &HeaderMap::new())),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(status(refusal(&on, loopback, &bearer("0123456789abcdef"))), None);
        let mapped = Some(PeerAddr("[::ffff:127.0.0.1]:5000".parse().expect("addr")));
        assert_eq!(
            status(refusal(&on, mapped, &bearer("0123456789abcdef"))),
            None,
            "IPv4-mapped loopback (a dual-stack listener's view of 127.0.0.1) is loopback"
        );
        let mapped_remote = Some(PeerAddr("[::ffff:192.0.2.7]:5000".parse().expect("addr")));
        assert_eq!(
            status(refusal(&on, mapped_remote, &bearer("0123456789abcdef"))),
            Some(StatusCode::FORBIDDEN)
        );
    }
}

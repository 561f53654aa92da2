//! Receiving what Alipay posts, in an axum server: fund.coupon notifications at the
//! `notify_url` given on a call, and fund.trans messages (`alipay.fund.trans.order.changed`) at
//! the app's application gateway (应用网关). Each post is verified over its raw body before
//! anything in it is believed; a verified post is answered `success` (else Alipay sends it again),
//! anything else `fail`.
//!
//! Against the demo: add `message_url = "http://127.0.0.1:8000/alipay/gateway"` to the demo app
//! in `hongbao-data/hongbao.toml`, start `cargo run -p hongbao -- serve`, then
//!
//! ```text
//! cargo run -p hongbao-client --example notify_axum
//! ```
//!
//! and give `notify_url = http://127.0.0.1:8000/alipay/notify` to your calls. Settings as in
//! `pay_disburse_query` (`HONGBAO_APP_PRIVATE_KEY`, `HONGBAO_ALIPAY_PUBLIC_KEY`, …), plus
//! `HONGBAO_NOTIFY_LISTEN` (`127.0.0.1:8000`).

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hongbao_client::*;
use std::sync::{Arc, Mutex};

/// What the handlers accepted, in order (your code would update its orders here, idempotently:
/// the same notify_id can arrive twice).
#[derive(Clone, Default)]
pub struct Inbox {
    /// Verified fund.coupon notifications.
    pub notifies: Arc<Mutex<Vec<Notify>>>,
    /// Verified fund.trans messages.
    pub messages: Arc<Mutex<Vec<TransOrderChanged>>>,
}

#[derive(Clone)]
struct App {
    client: Client,
    inbox: Inbox,
}

/// The two endpoints: `POST /alipay/notify` and `POST /alipay/gateway`.
pub fn router(client: Client, inbox: Inbox) -> axum::Router {
    axum::Router::new()
        .route("/alipay/notify", post(notify))
        .route("/alipay/gateway", post(message))
        .with_state(App { client, inbox })
}

/// A fund.coupon notification: the raw form body, verified in its own charset.
async fn notify(State(app): State<App>, body: Bytes) -> &'static str {
    match app.client.verify_notify_form(&body) {
        Ok(notify) => {
            if let Ok(mut notifies) = app.inbox.notifies.lock() {
                notifies.push(notify);
            }
            "success"
        }
        // Forged, tampered or not for this app: refuse it, and never act on its content.
        Err(_) => "fail",
    }
}

/// An `alipay.fund.trans.order.changed` message.
async fn message(State(app): State<App>, body: Bytes) -> &'static str {
    match app.client.verify_trans_message_form(&body) {
        Ok(changed) => {
            if let Ok(mut messages) = app.inbox.messages.lock() {
                messages.push(changed);
            }
            "success"
        }
        Err(_) => "fail",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_owned());
    let app_key = std::fs::read_to_string(var(
        "HONGBAO_APP_PRIVATE_KEY",
        "hongbao-data/keys/app_private.pem",
    ))?;
    let alipay_key = std::fs::read_to_string(var(
        "HONGBAO_ALIPAY_PUBLIC_KEY",
        "hongbao-data/keys/gateway_public.pem",
    ))?;
    let client = Client::builder(
        var("HONGBAO_GATEWAY", HONGBAO_LOCAL_GATEWAY),
        var("HONGBAO_APP_ID", "2021000000000001"),
        PrivateKey::from_text(&app_key)?,
        PublicKey::from_text(&alipay_key)?,
    )
    .build()?;
    let listen = var("HONGBAO_NOTIFY_LISTEN", "127.0.0.1:8000");
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "notifications: http://{listen}/alipay/notify, messages: http://{listen}/alipay/gateway"
    );
    axum::serve(listener, router(client, Inbox::default())).await?;
    Ok(())
}

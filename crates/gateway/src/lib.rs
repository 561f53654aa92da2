//! The OpenAPI gateway: `/gateway.do` and everything between the socket and the store.
//!
//! Request path: read the body under a cap → decode the form in the request charset → route by
//! the method (page.pay to the cashier) → check the common parameters → look up method and app →
//! verify the signature (`verify`) → parse
//! `biz_content` → run the command against the store → build the response node → sign it in the
//! request charset and sign type. Every outcome, errors included, leaves as a signed
//! `<method>_response` envelope with HTTP 200 (see `error::to_alipay`, the only place that knows
//! Alipay's codes).
//!
//! It never knows SQL (the store does) nor the CLI.

pub mod cashier;
pub mod clock;
pub mod dispatch;
pub mod error;
mod html;
pub mod methods;
pub mod notify;
pub mod sandbox;
pub mod scheduler;
pub mod server;
pub mod verify;
pub mod wallet;

use hongbao_sign::{PrivateKey, PublicKey};
use hongbao_store::Store;
use std::collections::HashMap;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SandboxClock, SystemClock};

/// A registered merchant app.
#[derive(Clone, Debug)]
pub struct App {
    /// `app_id`.
    pub app_id: String,
    /// Display name (cashier page).
    pub name: String,
    /// Verifies the app's requests.
    pub public_key: PublicKey,
    /// The app's own account: the only allowed agreement.pay payer, and the payer of its
    /// fund.trans B2C red packets.
    pub merchant_user_id: String,
    /// Its application gateway (应用网关): where fund.trans messages
    /// (`alipay.fund.trans.order.changed`) go. `None`: no messages.
    pub message_url: Option<String>,
}

/// Limits of the gateway, each named `*_max`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body accepted.
    pub body_bytes_max: usize,
    /// How long a client may take to send its whole body.
    pub body_read_timeout: std::time::Duration,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: std::time::Duration,
    /// Most connections open at once; more wait in the kernel backlog.
    pub connections_max: usize,
    /// Most requests being worked on at once (verify, store, sign). Beyond it a request is
    /// shed at once with a signed 20000 (HTTP 503 when it names no method) instead of queueing
    /// without bound.
    pub inflight_max: usize,
    /// How long a request may wait for one of those places before it is shed: a short, bounded
    /// queue that absorbs bursts (1,000 claimers on one packet) without growing without bound.
    /// One second: 1,000 claimers arriving at once on a store that commits 1,500 claims a
    /// second (PostgreSQL on two cores) are all served; a longer wait only hides overload.
    pub admission_wait: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes_max: 1024 * 1024,
            body_read_timeout: std::time::Duration::from_secs(15),
            header_read_timeout: std::time::Duration::from_secs(10),
            connections_max: 10_000,
            inflight_max: 512,
            admission_wait: std::time::Duration::from_secs(1),
        }
    }
}

/// Everything a request needs, shared by all requests.
pub struct Gateway {
    /// Registered apps by app_id.
    pub apps: HashMap<String, App>,
    /// Signs every answer ("the Alipay private key").
    pub gateway_key: PrivateKey,
    /// The ledger's storage.
    pub store: Arc<dyn Store>,
    /// Business time (gmt_* fields, timeouts).
    pub clock: Arc<dyn Clock>,
    /// Limits.
    pub limits: Limits,
    /// Admission to the request work, sized by `limits.inflight_max` (see `set_limits`).
    pub inflight: Arc<tokio::sync::Semaphore>,
    /// Wakes the notify worker when a command queued a notification.
    pub notify_wake: tokio::sync::Notify,
    /// Wakes the deadline scheduler (after the sandbox clock moved).
    pub scheduler_wake: tokio::sync::Notify,
    /// Red packet policy.
    pub policy: Policy,
    /// Sandbox controls (off by default).
    pub sandbox: Sandbox,
}

/// Red packet policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// How long a funded packet's remainder waits before it goes back to the payer, when the
    /// pay call's `extra_param` names no `orderExpiredTime` (Alipay's self-service default: 48 h).
    pub packet_expiry_default_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { packet_expiry_default_ms: 48 * 3_600_000 }
    }
}

/// Sandbox controls: off unless a token is configured; served on loopback connections only.
#[derive(Clone, Debug, Default)]
pub struct Sandbox {
    /// Bearer token of the clock control; `None` disables it.
    pub clock_token: Option<String>,
}

impl Gateway {
    /// A gateway with default limits, policy and sandbox (controls off).
    pub fn new(
        apps: HashMap<String, App>,
        gateway_key: PrivateKey,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Gateway {
        Gateway {
            apps,
            gateway_key,
            store,
            clock,
            inflight: Arc::new(tokio::sync::Semaphore::new(Limits::default().inflight_max)),
            limits: Limits::default(),
            notify_wake: tokio::sync::Notify::new(),
            scheduler_wake: tokio::sync::Notify::new(),
            policy: Policy::default(),
            sandbox: Sandbox::default(),
        }
    }

    /// Replaces the limits (and resizes the in-flight admission with them).
    pub fn set_limits(&mut self, limits: Limits) {
        self.inflight = Arc::new(tokio::sync::Semaphore::new(limits.inflight_max));
        self.limits = limits;
    }

    /// The axum router: `/gateway.do`, the cashier, the wallet and the sandbox controls.
    pub fn router(self: &Arc<Gateway>) -> axum::Router {
        dispatch::router(Arc::clone(self))
            .merge(cashier::router(Arc::clone(self)))
            .merge(wallet::router(Arc::clone(self)))
            .merge(sandbox::router(Arc::clone(self)))
    }
}

//! `/healthz` and `/readyz`, for load balancers and orchestrators; cheap and unauthenticated.
//!
//! - `/healthz`: 200 while the process serves HTTP (liveness: restart it when this fails).
//! - `/readyz`: 200 only while the store answers a trivial read within `STORE_DEADLINE`
//!   (`Store::ping`: a read on the database, and its group-commit writer still runs), the notify
//!   worker and the deadline scheduler run and made progress within `WORKER_STALE_AFTER`, and the
//!   process is not stopping; else 503 with one line per reason (`store: …`, `notify worker: …`).
//!   A load balancer sends traffic elsewhere meanwhile; nothing restarts.
//!
//! The workers report through `Heartbeat`: `start` when their loop begins (the guard reports the
//! stop when the loop ends, however it ends) and `beat` on every turn.

use crate::Gateway;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{header, StatusCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `/readyz` waits for the store's trivial read.
pub const STORE_DEADLINE: Duration = Duration::from_secs(1);
/// A worker that has not turned its loop for this long is stuck. Longer than any single store
/// call may take (`postgres::POOL_WAIT` plus `CONNECT_TIMEOUT`) and a notify attempt's timeout.
pub const WORKER_STALE_AFTER: Duration = Duration::from_secs(60);

/// The readiness state the workers and the server loop report.
#[derive(Debug)]
pub struct Health {
    /// Since when the process counts heartbeats (monotonic).
    epoch: Instant,
    /// The notify worker (`notify::run`).
    pub notify: Heartbeat,
    /// The deadline scheduler (`scheduler::run`).
    pub scheduler: Heartbeat,
    /// Set when a graceful stop began: the load balancer should stop sending.
    pub stopping: AtomicBool,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            epoch: Instant::now(),
            notify: Heartbeat::default(),
            scheduler: Heartbeat::default(),
            stopping: AtomicBool::new(false),
        }
    }
}

/// One worker's liveness.
#[derive(Debug, Default)]
pub struct Heartbeat {
    running: AtomicBool,
    /// Milliseconds after `Health::epoch` of the last turn.
    last_beat_ms: AtomicU64,
}

/// Reports the worker stopped when dropped.
pub struct Running<'a>(&'a Heartbeat);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl Health {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The worker's loop begins; it is running until the guard drops.
    pub fn start<'a>(&self, heartbeat: &'a Heartbeat) -> Running<'a> {
        heartbeat.last_beat_ms.store(self.elapsed_ms(), Ordering::Release);
        heartbeat.running.store(true, Ordering::Release);
        Running(heartbeat)
    }

    /// The worker turned its loop once more.
    pub fn beat(&self, heartbeat: &Heartbeat) {
        heartbeat.last_beat_ms.store(self.elapsed_ms(), Ordering::Release);
    }

    fn worker_problem(&self, name: &str, heartbeat: &Heartbeat) -> Option<String> {
        if !heartbeat.running.load(Ordering::Acquire) {
            return Some(format!("{name}: not running"));
        }
        let idle_ms =
            self.elapsed_ms().saturating_sub(heartbeat.last_beat_ms.load(Ordering::Acquire));
        (Duration::from_millis(idle_ms) > WORKER_STALE_AFTER)
            .then(|| format!("{name}: no progress for {} s", idle_ms / 1000))
    }
}

/// Why the gateway is not ready; empty when it is.
pub async fn readiness(gateway: &Gateway) -> Vec<String> {
    let mut reasons = Vec::new();
    if gateway.health.stopping.load(Ordering::Acquire) {
        reasons.push("stopping: graceful shutdown in progress".to_owned());
    }
    match tokio::time::timeout(STORE_DEADLINE, gateway.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => reasons.push(format!("store: {err}")),
        Err(_) => {
            reasons.push(format!("store: no answer within {} ms", STORE_DEADLINE.as_millis()))
        }
    }
    let health = &gateway.health;
    reasons.extend(health.worker_problem("notify worker", &health.notify));
    reasons.extend(health.worker_problem("deadline scheduler", &health.scheduler));
    reasons
}

/// The routes, on the gateway's own listener.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(gateway)
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".to_owned())
}

async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    let reasons = readiness(&gateway).await;
    if reasons.is_empty() {
        return text(StatusCode::OK, "ready\n".to_owned());
    }
    tracing::debug!(reasons = %reasons.join("; "), "not ready");
    let mut body = String::from("not ready\n");
    for reason in reasons {
        body.push_str(&reason);
        body.push('\n');
    }
    text(StatusCode::SERVICE_UNAVAILABLE, body)
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}

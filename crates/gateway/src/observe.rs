//! What the gateway tells its operators: a request id and a tracing span per request, one log
//! line per request, the request metrics, and the metrics read when Prometheus scrapes.
//!
//! - Request id: the client's `X-Request-Id` when it is a plain token of at most 64 characters
//!   (load balancers set one), else a new one (`REQUEST_ID_HEADER`); sent back in the same header.
//!   It is a field of the `request` span, so every line logged while the request runs (the store's
//!   included, and the PostgreSQL writer's, which keeps the caller's span) carries it; the notify
//!   worker logs it for the notifications a request queued (`RecentRequests`).
//! - The log line (`request`, info; debug for the probes and /metrics): `http_method`, `path`
//!   (never the query: GET requests carry their parameters there), `status`, `method`, `app_id`,
//!   `code`, `sub_code`, `latency_ms`. Never a key, password, token or `biz_content`.
//! - Metrics (`metrics` facade; names and meaning in docs/operations.md): `/gateway.do` calls by
//!   method (unknown names collapse into `unknown`), code and sub_code, their duration, requests
//!   shed; on scrape (`refresh_gauges`) in-flight work, pool use, outbox depth and age, scheduler
//!   lag.

use crate::Gateway;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hongbao_protocol::envelope::ResponseNode;
use hongbao_protocol::method::Method;
use http::{HeaderValue, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id taken from a client.
pub const REQUEST_ID_BYTES_MAX: usize = 64;
/// Operations whose request id the notify worker can still find (the newest ones).
pub const RECENT_REQUESTS_MAX: usize = 65_536;
/// How long a scrape waits for the store's figures.
pub const GAUGES_DEADLINE: Duration = Duration::from_secs(2);

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request the current task serves, if any.
pub fn current_request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// What `/gateway.do` answered, left on the response for the log line and the metrics.
#[derive(Clone, Debug, Default)]
pub struct CallOutcome {
    /// The `method` parameter as sent (any text).
    pub method: Option<String>,
    /// The `app_id` parameter as sent.
    pub app_id: Option<String>,
    /// The answer's `code` (`10000`, `40004`…), `None` for answers without an envelope.
    pub code: Option<String>,
    /// The answer's `sub_code`.
    pub sub_code: Option<String>,
}

impl CallOutcome {
    /// The outcome of an answer carrying `node`.
    pub fn of_node(method: Option<&str>, app_id: Option<&str>, node: &ResponseNode) -> CallOutcome {
        let text = |key: &str| node.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        CallOutcome {
            method: method.map(str::to_owned),
            app_id: app_id.map(str::to_owned),
            code: text("code"),
            sub_code: text("sub_code"),
        }
    }

    /// Puts the outcome on `response`.
    pub fn tag(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// The `method` label: a served method's name, else `unknown` (the label set stays bounded
/// whatever clients send).
pub fn method_label(method: Option<&str>) -> &'static str {
    method.and_then(Method::parse).map(Method::name).unwrap_or("unknown")
}

fn new_request_id() -> Arc<str> {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // A random prefix per process, so ids of several processes behind one balancer differ.
    let prefix = *PREFIX.get_or_init(|| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish() as u32
    });
    Arc::from(format!("{prefix:08x}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed)))
}

fn client_request_id(request: &Request) -> Option<Arc<str>> {
    let value = request.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= REQUEST_ID_BYTES_MAX
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| Arc::from(value))
}

/// Untrusted text as a log field: printable ASCII, at most 64 characters.
fn shown(text: Option<&str>) -> Option<String> {
    text.map(|t| t.chars().filter(|c| c.is_ascii_graphic()).take(64).collect())
}

/// The middleware around every route: span, request id, log line, request metrics, and the
/// request log's row for a response that carries one (`reqlog::Logged`).
pub async fn observe(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = client_request_id(&request).unwrap_or_else(new_request_id);
    let http_method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response =
        REQUEST_ID.scope(Arc::clone(&request_id), next.run(request).instrument(span.clone())).await;
    let latency = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    if let Some(logged) = response.extensions_mut().remove::<crate::reqlog::Logged>() {
        let outcome = response.extensions().get::<CallOutcome>().cloned().unwrap_or_default();
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(|to| to.chars().take(256).collect());
        gateway.request_log.push(crate::reqlog::Raw {
            logged,
            outcome,
            request_id: request_id.to_string(),
            http_method: http_method.to_string(),
            path: path.clone(),
            http_status: status,
            location,
            latency,
            at_ms: gateway.clock.now_ms(),
            wall_ms: crate::clock::wall_now_ms(),
        });
    }
    // Microsecond resolution is all a log line needs.
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    let _entered = span.enter();
    if path == "/gateway.do" {
        let outcome = response.extensions().get::<CallOutcome>().cloned().unwrap_or_default();
        let method = method_label(outcome.method.as_deref());
        // Answers without an envelope (a body timeout, a shed request naming no method) count
        // under their HTTP status.
        let code = outcome.code.clone().unwrap_or_else(|| format!("http_{status}"));
        let sub_code = outcome.sub_code.clone().unwrap_or_default();
        metrics::counter!("hongbao_requests_total", "method" => method, "code" => code.clone(), "sub_code" => sub_code.clone())
            .increment(1);
        metrics::histogram!("hongbao_request_duration_seconds", "method" => method).record(latency);
        tracing::info!(
            http_method = %http_method,
            path = %path,
            status,
            method = shown(outcome.method.as_deref()),
            app_id = shown(outcome.app_id.as_deref()),
            code = %code,
            sub_code = %sub_code,
            latency_ms,
            "request"
        );
    } else if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        tracing::debug!(http_method = %http_method, path = %path, status, latency_ms, "request");
    } else {
        tracing::info!(http_method = %http_method, path = %path, status, latency_ms, "request");
    }
    response
}

/// The request ids of the newest operations that queued a notification, so that the notify
/// worker's log lines name the request that caused them. In memory and bounded: after a restart,
/// on another process, or `RECENT_REQUESTS_MAX` operations later, a notification is logged
/// without one (its `operation_id` still links it to the request's answer).
#[derive(Debug, Default)]
pub struct RecentRequests {
    inner: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    by_operation: HashMap<String, Arc<str>>,
    /// Oldest first, for eviction.
    order: VecDeque<String>,
}

impl RecentRequests {
    /// Remembers the current request as the one behind `operation_id`.
    pub fn remember(&self, operation_id: &str) {
        let Some(request_id) = current_request_id() else { return };
        let Ok(mut guard) = self.inner.lock() else { return };
        let recent = &mut *guard;
        if recent.by_operation.insert(operation_id.to_owned(), request_id).is_none() {
            recent.order.push_back(operation_id.to_owned());
            if recent.order.len() > RECENT_REQUESTS_MAX {
                if let Some(oldest) = recent.order.pop_front() {
                    recent.by_operation.remove(&oldest);
                }
            }
        }
    }

    /// The request behind `operation_id`, when remembered.
    pub fn request_of(&self, operation_id: &str) -> Option<Arc<str>> {
        self.inner.lock().ok()?.by_operation.get(operation_id).cloned()
    }
}

/// Sets the gauges that are read rather than counted: in-flight work, pool use, and (one
/// bounded query) outbox depth, oldest pending notification, scheduler lag.
pub async fn refresh_gauges(gateway: &Gateway) {
    let inflight_max = gateway.limits.inflight_max;
    let inflight = inflight_max.saturating_sub(gateway.inflight.available_permits());
    metrics::gauge!("hongbao_requests_in_flight").set(inflight as f64);
    metrics::gauge!("hongbao_requests_in_flight_max").set(inflight_max as f64);
    for pool in gateway.store.pools() {
        let name = pool.pool;
        metrics::gauge!("hongbao_store_connections", "pool" => name, "state" => "in_use")
            .set(pool.in_use as f64);
        metrics::gauge!("hongbao_store_connections", "pool" => name, "state" => "idle")
            .set(pool.idle as f64);
        metrics::gauge!("hongbao_store_connections_max", "pool" => name).set(pool.max as f64);
        metrics::gauge!("hongbao_store_connections_waiting", "pool" => name)
            .set(pool.waiting as f64);
    }
    match tokio::time::timeout(GAUGES_DEADLINE, gateway.store.gauges()).await {
        Ok(Ok(gauges)) => {
            let now_ms = gateway.clock.now_ms();
            let age_seconds = |since_ms: Option<i64>| {
                since_ms.map(|ms| (now_ms.saturating_sub(ms)).max(0) as f64 / 1000.0).unwrap_or(0.0)
            };
            metrics::gauge!("hongbao_notify_outbox_pending").set(gauges.notify_pending as f64);
            metrics::gauge!("hongbao_notify_oldest_pending_age_seconds")
                .set(age_seconds(gauges.notify_oldest_pending_ms));
            // A deadline still ahead is no lag.
            metrics::gauge!("hongbao_scheduler_lag_seconds")
                .set(age_seconds(gauges.deadline_earliest_ms.filter(|ms| *ms <= now_ms)));
            metrics::gauge!("hongbao_store_up").set(1.0);
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading the store's figures for /metrics failed");
            metrics::gauge!("hongbao_store_up").set(0.0);
        }
        Err(_) => {
            tracing::warn!("the store's figures for /metrics took longer than {GAUGES_DEADLINE:?}");
            metrics::gauge!("hongbao_store_up").set(0.0);
        }
    }
}

/// Histogram buckets of the durations, in seconds: a signed answer takes about a millisecond,
/// a stuck one up to the admission wait, a batch up to the PostgreSQL lock timeout.
pub const DURATION_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];
/// Histogram buckets of the group-commit batch sizes (the SQLite writer takes up to 128).
pub const BATCH_SIZE_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The HELP text of every metric (docs/operations.md explains them at length).
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "hongbao_requests_total",
        "/gateway.do calls answered, by method (unknown names: unknown), code and sub_code"
    );
    describe_histogram!(
        "hongbao_request_duration_seconds",
        Unit::Seconds,
        "/gateway.do calls from the first byte read to the answer, by method"
    );
    describe_counter!(
        "hongbao_requests_shed_total",
        "calls refused at admission (inflight_max busy for admission_wait): signed 20000 or HTTP 503"
    );
    describe_gauge!("hongbao_requests_in_flight", "calls admitted and being worked on");
    describe_gauge!("hongbao_requests_in_flight_max", "the admission bound (inflight_max)");
    describe_histogram!(
        "hongbao_store_commit_seconds",
        Unit::Seconds,
        "one group-commit batch, BEGIN to COMMIT returned, by store"
    );
    describe_histogram!("hongbao_store_batch_size", "commands per group-commit batch, by store");
    describe_gauge!(
        "hongbao_store_connections",
        "connections of each store pool by state (in_use, idle); for writer queues, commands queued"
    );
    describe_gauge!("hongbao_store_connections_max", "the bound of each store pool or queue");
    describe_gauge!("hongbao_store_connections_waiting", "callers waiting for a pooled connection");
    describe_gauge!("hongbao_store_up", "1 when the store answered the last scrape's figures");
    describe_gauge!("hongbao_notify_outbox_pending", "notifications waiting for delivery");
    describe_gauge!(
        "hongbao_notify_oldest_pending_age_seconds",
        Unit::Seconds,
        "business time since the oldest pending notification's state change committed"
    );
    describe_counter!(
        "hongbao_notify_attempts_total",
        "notify deliveries by result: delivered, retry (scheduled again), failed (gave up)"
    );
    describe_gauge!(
        "hongbao_scheduler_lag_seconds",
        Unit::Seconds,
        "business time since the oldest deadline that is due and not yet fired (0: none)"
    );
    // Counters that start at zero, so that rates exist before the first event.
    metrics::counter!("hongbao_requests_shed_total").absolute(0);
    for result in ["delivered", "retry", "failed"] {
        metrics::counter!("hongbao_notify_attempts_total", "result" => result).absolute(0);
    }
}

/// Renders the metrics in Prometheus text format (the exporter the binary installed).
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// `/metrics` for a listener of its own (`[metrics] listen`): scraping stays off the gateway's
/// public address.
pub fn metrics_router(gateway: Arc<Gateway>, render: Render) -> axum::Router {
    let route = axum::routing::get(move |State(gateway): State<Arc<Gateway>>| {
        let render = Arc::clone(&render);
        async move {
            refresh_gauges(&gateway).await;
            (
                StatusCode::OK,
                [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                render(),
            )
                .into_response()
        }
    });
    axum::Router::new()
        .route("/metrics", route)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&gateway), observe))
        .with_state(gateway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_collapse_into_one_label() {
        assert_eq!(
            method_label(Some("alipay.fund.coupon.order.disburse")),
            "alipay.fund.coupon.order.disburse"
        );
        assert_eq!(method_label(Some("alipay.trade.pay")), "unknown");
        assert_eq!(method_label(Some("x".repeat(500).as_str())), "unknown");
        assert_eq!(method_label(None), "unknown");
    }

    #[test]
    fn request_ids_are_unique_and_client_ids_must_be_plain() {
        let first = new_request_id();
        assert_ne!(first, new_request_id());
        assert_eq!(first.len(), 16);
        let with = |value: &str| {
            let request = Request::builder()
                .header(REQUEST_ID_HEADER, value)
                .body(axum::body::Body::empty())
                .expect("request");
            client_request_id(&request)
        };
        assert_eq!(with("lb-7f3a.2").as_deref(), Some("lb-7f3a.2"));
        assert_eq!(with("two words"), None);
        assert_eq!(with(&"a".repeat(65)), None);
    }

    #[tokio::test]
    async fn recent_requests_are_bounded_and_keyed_by_operation() {
        let recent = RecentRequests::default();
        recent.remember("outside-a-request");
        assert_eq!(recent.request_of("outside-a-request"), None);
        REQUEST_ID
            .scope(Arc::from("req-1"), async {
                for n in 0..RECENT_REQUESTS_MAX + 1 {
                    recent.remember(&format!("op{n}"));
                }
            })
            .await;
        assert_eq!(recent.request_of("op0"), None, "the oldest was forgotten");
        assert_eq!(recent.request_of("op1").as_deref(), Some("req-1"));
        assert_eq!(recent.inner.lock().expect("lock").by_operation.len(), RECENT_REQUESTS_MAX);
    }
}

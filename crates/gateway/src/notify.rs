//! Asynchronous notifications: the outbox worker that POSTs signed forms to `notify_url` until
//! the merchant answers exactly `success`.
//!
//! Format (Alipay's, spec §3.6): `application/x-www-form-urlencoded;charset=<charset>`, values
//! encoded in the charset of the originating call; common fields `notify_id`, `notify_time`,
//! `notify_type`, `app_id`, `charset`, `version`, `sign_type`, `sign` and the operation's fields;
//! signed like `rsaCheckV1` (all but `sign` and `sign_type`, sorted, `k=v&…`) with the gateway key
//! and the call's sign_type.
//!
//! Delivery: claimed from the outbox under a lease, at most `concurrency_max` at once and
//! `per_app_max` of one app (claimed round robin over the apps, so one app's dead endpoint costs
//! the others nothing), each with a per-attempt timeout and a response read capped at
//! `RESPONSE_BYTES_MAX`; redirects are not followed, no proxy is used, and every destination
//! passes the notify destination policy (`destination`) first: a refused one is recorded as a
//! failed attempt and nothing is sent. Failed attempts retry on Alipay's schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h: 8 tries in
//! about 25 h) on the gateway's injected clock, then the row is marked FAILED. A resend keeps the
//! notify_id; a crash between sending and recording repeats the attempt after the lease (at least
//! once, de-duplicated by notify_id).

use crate::destination::{refusal_in, Resolver};
use crate::Gateway;
use hongbao_ledger::notify::ClaimShare;
use hongbao_ledger::{
    BizScene, NotifyAttempt, NotifyCharset, NotifyEvent, NotifySignType, OperationStatus, Product,
};
use hongbao_protocol::display::{format_beijing, mask_logon_id};
use hongbao_protocol::method;
use hongbao_protocol::sign_content::sign_notify;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_store::PendingNotify;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Alipay's retry schedule and attempt bound, decided in the ledger (`hongbao_ledger::notify`).
pub use hongbao_ledger::notify::{
    next_attempt_at, NOTIFY_ATTEMPTS_MAX as ATTEMPTS_MAX, RETRY_SCHEDULE_MS,
};
/// Most bytes of a merchant's answer read; `success` is 7.
pub const RESPONSE_BYTES_MAX: usize = 64;

/// Notifier settings.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Timeout of one attempt (connect, send, answer).
    pub attempt_timeout: Duration,
    /// Most deliveries in flight.
    pub concurrency_max: usize,
    /// Most deliveries of one app in flight: an app whose endpoint hangs holds this many of the
    /// places, never the others' (`ClaimShare`).
    pub per_app_max: usize,
    /// How long a claimed row stays invisible to other workers.
    pub lease_ms: i64,
    /// How often the outbox is polled when nothing wakes the worker.
    pub poll_interval: Duration,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            attempt_timeout: Duration::from_secs(5),
            concurrency_max: 32,
            per_app_max: 8,
            // Three attempt timeouts: long enough that a live delivery records first, short
            // enough that a crash delays the retry by seconds, not minutes.
            lease_ms: 15_000,
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// The `notify_type` of each event. Alipay documents `fund_stdtrustee_refund.success` for
/// refunds; the others follow its pattern (our choice, docs/notifications.md).
pub fn notify_type(event: NotifyEvent) -> &'static str {
    match event {
        NotifyEvent::PaySuccess => "fund_stdtrustee_pay.success",
        NotifyEvent::DisburseSuccess => "fund_stdtrustee_disburse.success",
        NotifyEvent::RefundSuccess => "fund_stdtrustee_refund.success",
        NotifyEvent::PayClosed => "fund_stdtrustee_pay.closed",
    }
}

/// The notification's parameters, without `sign`: a fund.coupon notification, or for a
/// fund.trans document its `alipay.fund.trans.order.changed` message (`message_params`).
pub fn notify_params(pending: &PendingNotify) -> Params {
    if pending.view.product == Product::StdRedPacket {
        return message_params(pending);
    }
    let view = &pending.view;
    let mut params = Params::new();
    params.insert("notify_id", &pending.notify_id);
    params.insert("notify_time", format_beijing(pending.created_at_ms));
    params.insert("notify_type", notify_type(pending.event));
    params.insert("app_id", &pending.app_id);
    params.insert("charset", pending.target.charset.as_str());
    params.insert("version", "1.0");
    params.insert("sign_type", pending.target.sign_type.as_str());
    params.insert("auth_no", &view.auth_no);
    params.insert("out_order_no", &view.out_order_no);
    params.insert("operation_id", &view.operation_id);
    params.insert("out_request_no", &view.out_request_no);
    params.insert("operation_type", view.operation_type.as_str());
    params.insert("amount", view.amount.to_string());
    params.insert("status", view.status.as_str());
    params.insert("gmt_create", format_beijing(view.gmt_create_ms));
    if let Some(trans) = view.gmt_trans_ms {
        params.insert("gmt_trans", format_beijing(trans));
    }
    let (user_id, logon_id, prefix) = match pending.event {
        NotifyEvent::DisburseSuccess => (&view.payee_user_id, &view.payee_logon_id, "payee"),
        _ => (&view.payer_user_id, &view.payer_logon_id, "payer"),
    };
    if let Some(user_id) = user_id {
        params.insert(format!("{prefix}_user_id"), user_id);
    }
    if let Some(logon_id) = logon_id {
        params.insert(format!("{prefix}_logon_id"), mask_logon_id(logon_id));
    }
    params
}

/// A fund.trans `alipay.fund.trans.order.changed` message (std-red-packet-spec §4), in
/// Alipay's message style: `msg_method`, `biz_content` as a JSON string, `app_id`, `notify_id`,
/// `utc_timestamp` (epoch ms), `version` 1.1, `charset`, `sign_type`; signed like every
/// notification (all but `sign` and `sign_type`). Which changes send one beyond a paid send,
/// and `origin_interface` of the automatic return, are inferred (docs/std-red-packet.md).
pub fn message_params(pending: &PendingNotify) -> Params {
    let view = &pending.view;
    let scene = BizScene::of(view);
    let origin_interface = match scene {
        BizScene::PersonalPay => method::TRANS_APP_PAY,
        BizScene::PersonalCollection | BizScene::DirectTransfer => method::TRANS_UNI_TRANSFER,
        BizScene::Refund => method::TRANS_REFUND,
    };
    let success = view.status == OperationStatus::Success;
    let (status, action_type) = match view.status {
        OperationStatus::Success => ("SUCCESS", "FINISH"),
        OperationStatus::Init => ("WAIT_PAY", "CREATE"),
        OperationStatus::Closed => ("CLOSED", "CLOSE"),
    };
    // A return is shown under its send's order_id, with its out_request_no as out_biz_no.
    let out_biz_no = match scene {
        BizScene::Refund => &view.out_request_no,
        _ => &view.out_order_no,
    };
    let time = view.gmt_trans_ms.filter(|_| success).map(format_beijing);
    let mut content = serde_json::Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            content.insert(key.to_owned(), serde_json::Value::String(value));
        }
    };
    put("action_type", Some(action_type.to_owned()));
    put("biz_scene", Some(scene.as_str().to_owned()));
    put("order_id", Some(view.auth_no.clone()));
    put("origin_interface", Some(origin_interface.to_owned()));
    put("out_biz_no", Some(out_biz_no.clone()));
    put("passback_params", view.passback_params.clone());
    put("pay_fund_order_id", success.then(|| view.operation_id.clone()));
    put("product_code", Some(view.product.as_str().to_owned()));
    let receiver = matches!(scene, BizScene::PersonalCollection | BizScene::DirectTransfer);
    put("receiver_user_id", view.payee_user_id.clone().filter(|_| receiver));
    if scene == BizScene::Refund {
        put("refund_date", time.clone());
    } else {
        put("pay_date", time);
    }
    put("status", Some(status.to_owned()));
    put("trans_amount", Some(view.amount.to_string()));
    let mut params = Params::new();
    params.insert("msg_method", method::TRANS_ORDER_CHANGED);
    params.insert("biz_content", serde_json::Value::Object(content).to_string());
    params.insert("app_id", &pending.app_id);
    params.insert("notify_id", &pending.notify_id);
    params.insert("utc_timestamp", pending.created_at_ms.to_string());
    params.insert("version", "1.1");
    params.insert("charset", pending.target.charset.as_str());
    params.insert("sign_type", pending.target.sign_type.as_str());
    params
}

/// The signed form body and its Content-Type.
pub fn signed_body(
    gateway: &Gateway,
    pending: &PendingNotify,
) -> Result<(Vec<u8>, String), String> {
    let charset = wire_charset(pending.target.charset);
    let sign_type = wire_sign_type(pending.target.sign_type);
    let mut params = notify_params(pending);
    let sign = sign_notify(&params, charset, sign_type, &gateway.gateway_key)
        .map_err(|err| err.to_string())?;
    params.insert("sign", sign);
    let body = params.to_form(charset).ok_or("a value has no representation in the charset")?;
    Ok((body, format!("application/x-www-form-urlencoded;charset={}", charset.as_str())))
}

/// The wire charset of a notify target's charset.
pub fn wire_charset(charset: NotifyCharset) -> Charset {
    match charset {
        NotifyCharset::Utf8 => Charset::Utf8,
        NotifyCharset::Gbk => Charset::Gbk,
        NotifyCharset::Gb2312 => Charset::Gb2312,
    }
}

/// The wire sign type of a notify target's sign type.
pub fn wire_sign_type(sign_type: NotifySignType) -> SignType {
    match sign_type {
        NotifySignType::Rsa2 => SignType::Rsa2,
        NotifySignType::Rsa => SignType::Rsa,
    }
}

/// A call's charset as a notify target keeps it.
pub fn notify_charset(charset: Charset) -> NotifyCharset {
    match charset {
        Charset::Utf8 => NotifyCharset::Utf8,
        Charset::Gbk => NotifyCharset::Gbk,
        Charset::Gb2312 => NotifyCharset::Gb2312,
    }
}

/// A call's sign type as a notify target keeps it.
pub fn notify_sign_type(sign_type: SignType) -> NotifySignType {
    match sign_type {
        SignType::Rsa2 => NotifySignType::Rsa2,
        SignType::Rsa => NotifySignType::Rsa,
    }
}

/// The delivery side of the worker: its HTTP client, its places (`concurrency_max` in all, at
/// most `per_app_max` for one app) and the deliveries in flight by app. `run` drives it in a
/// loop; tests drive it one `round` at a time.
pub struct Notifier {
    gateway: Arc<Gateway>,
    config: NotifyConfig,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
}

/// One claim and the deliveries it started.
pub struct Round {
    /// How many notifications were claimed.
    pub claimed: usize,
    deliveries: Vec<tokio::task::JoinHandle<()>>,
}

impl Round {
    /// Waits until every delivery of the round has recorded its attempt.
    pub async fn finish(self) -> usize {
        for delivery in self.deliveries {
            let _ = delivery.await;
        }
        self.claimed
    }
}

impl Notifier {
    /// A notifier for `gateway`; fails only when the HTTP client cannot be built.
    pub fn new(gateway: Arc<Gateway>, config: NotifyConfig) -> Result<Notifier, reqwest::Error> {
        let resolver = Arc::new(Resolver::new(Arc::clone(&gateway.destinations)));
        let client = reqwest::Client::builder()
            .timeout(config.attempt_timeout)
            .connect_timeout(config.attempt_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve and connect where the policy never looks.
            .no_proxy()
            .dns_resolver(resolver)
            .user_agent("hongbao-notify/1.0")
            .build()?;
        let permits = Arc::new(Semaphore::new(config.concurrency_max));
        Ok(Notifier { gateway, config, client, permits, in_flight: Arc::default() })
    }

    /// Claims what is due now (as many as there are free places, shared among the apps:
    /// `ClaimShare`) and starts delivering it.
    pub async fn round(&self) -> Round {
        let free = u32::try_from(self.permits.available_permits()).unwrap_or(u32::MAX);
        if free == 0 {
            return Round { claimed: 0, deliveries: Vec::new() };
        }
        let in_flight: Vec<(String, u32)> = match self.in_flight.lock() {
            Ok(map) => map.iter().map(|(app, count)| (app.clone(), *count)).collect(),
            Err(_) => Vec::new(),
        };
        let per_app_max = u32::try_from(self.config.per_app_max).unwrap_or(u32::MAX);
        let share = ClaimShare { limit: free, per_app_max, in_flight };
        let now_ms = self.gateway.clock.now_ms();
        let batch = match self
            .gateway
            .store
            .claim_due_notifications(now_ms, self.config.lease_ms, share)
            .await
        {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(error = %err, "claiming notifications failed; will retry");
                return Round { claimed: 0, deliveries: Vec::new() };
            }
        };
        let claimed = batch.len();
        let mut deliveries = Vec::with_capacity(claimed);
        for pending in batch {
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else { break };
            let slot = AppSlot::take(&self.in_flight, &pending.app_id);
            let gateway = Arc::clone(&self.gateway);
            let client = self.client.clone();
            deliveries.push(tokio::spawn(async move {
                deliver(&gateway, &client, pending).await;
                drop(slot);
                drop(permit);
            }));
        }
        Round { claimed, deliveries }
    }

    /// Waits (at most two attempt timeouts) for the deliveries in flight.
    async fn drain(&self) {
        let all = u32::try_from(self.config.concurrency_max).unwrap_or(u32::MAX);
        let wait = self.config.attempt_timeout * 2;
        let _ = tokio::time::timeout(wait, self.permits.acquire_many(all)).await;
    }
}

/// One delivery of an app in flight, counted until it ends.
struct AppSlot {
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
    app_id: String,
}

impl AppSlot {
    fn take(in_flight: &Arc<Mutex<HashMap<String, u32>>>, app_id: &str) -> AppSlot {
        if let Ok(mut map) = in_flight.lock() {
            *map.entry(app_id.to_owned()).or_insert(0) += 1;
        }
        AppSlot { in_flight: Arc::clone(in_flight), app_id: app_id.to_owned() }
    }
}

impl Drop for AppSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.in_flight.lock() {
            if let Some(count) = map.get_mut(&self.app_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    map.remove(&self.app_id);
                }
            }
        }
    }
}

/// Runs the worker until `shutdown` fires, then waits (at most two attempt timeouts) for the
/// deliveries in flight, so each stops after its current attempt and records it. Wake it early
/// with `gateway.notify_wake`.
pub async fn run(
    gateway: Arc<Gateway>,
    config: NotifyConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let poll_interval = config.poll_interval;
    let notifier = match Notifier::new(Arc::clone(&gateway), config) {
        Ok(notifier) => notifier,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the notify HTTP client; notifications stay queued");
            return;
        }
    };
    let _running = gateway.health.start(&gateway.health.notify);
    loop {
        gateway.health.beat(&gateway.health.notify);
        if *shutdown.borrow() {
            break;
        }
        // Deliveries run on their own; the next round claims what their ends free.
        drop(notifier.round().await);
        tokio::select! {
            _ = tokio::time::sleep(poll_interval) => {}
            _ = gateway.notify_wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
    notifier.drain().await;
}

async fn deliver(gateway: &Gateway, client: &reqwest::Client, pending: PendingNotify) {
    use tracing::Instrument;
    // The request that queued it, when this process answered it recently (observe).
    let request_id = gateway.recent_requests.request_of(&pending.view.operation_id);
    let span = tracing::info_span!(
        "notify",
        notify_id = %pending.notify_id,
        operation_id = %pending.view.operation_id,
        request_id = request_id.as_deref(),
    );
    deliver_in_span(gateway, client, pending).instrument(span).await
}

async fn deliver_in_span(gateway: &Gateway, client: &reqwest::Client, pending: PendingNotify) {
    let url = &pending.target.url;
    // A sandbox console rule may delay the attempt or fail it unsent (`inject`).
    let fault = gateway.inject.take_notify(url);
    if let Some(fault) = &fault {
        tokio::time::sleep(fault.delay).await;
    }
    let attempted = match (&fault, gateway.destinations.check_url(url)) {
        (Some(fault), _) if fault.fail => Delivery::failed(format!(
            "failed on purpose by the sandbox console ({}); nothing was sent",
            fault.rule
        )),
        // A literal address is judged here; a name when it resolves (`destination::Resolver`).
        (_, Err(refused)) => Delivery::failed(format!("not sent: the destination {refused}")),
        (_, Ok(())) => match signed_body(gateway, &pending) {
            Ok((body, content_type)) => post(client, url, body, content_type).await,
            Err(err) => Delivery::failed(format!("cannot build the notification: {err}")),
        },
    };
    let Delivery { delivered, http_status, error, answer, latency_ms } = attempted;
    let at_ms = gateway.clock.now_ms();
    let attempts_made = pending.attempts + 1;
    let attempt =
        NotifyAttempt { at_ms, delivered, http_status, error: error.clone(), answer, latency_ms };
    // The ledger decides the retry (`next_attempt_at`); the metric only names the outcome.
    let result = match (delivered, next_attempt_at(at_ms, attempts_made)) {
        (true, _) => "delivered",
        (false, Some(_)) => "retry",
        (false, None) => "failed",
    };
    metrics::counter!("hongbao_notify_attempts_total", "result" => result).increment(1);
    if delivered {
        tracing::info!(attempt = attempts_made, http_status, "notify delivered");
    } else {
        tracing::info!(attempt = attempts_made, error = ?error, result, "notify attempt failed");
    }
    if let Err(err) = gateway.store.record_notify_attempt(&pending.notify_id, attempt).await {
        // The lease runs out and the attempt repeats: at least once, same notify_id.
        tracing::warn!(notify_id = %pending.notify_id, error = %err, "recording a notify attempt failed");
    }
}

/// What one POST to a merchant found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// HTTP 200 with exactly `success`.
    pub delivered: bool,
    /// The status, when an answer came.
    pub http_status: Option<u16>,
    /// Why it failed.
    pub error: Option<String>,
    /// The first `RESPONSE_BYTES_MAX` bytes of the answer, as text.
    pub answer: Option<String>,
    /// How long it took.
    pub latency_ms: Option<i64>,
}

impl Delivery {
    fn failed(error: String) -> Delivery {
        Delivery {
            delivered: false,
            http_status: None,
            error: Some(error),
            answer: None,
            latency_ms: None,
        }
    }
}

/// POSTs a signed notification body to `url` once.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    content_type: String,
) -> Delivery {
    let started = std::time::Instant::now();
    let elapsed = |started: std::time::Instant| {
        Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
    };
    let response =
        match client.post(url).header("content-type", content_type).body(body).send().await {
            Ok(response) => response,
            Err(err) => {
                return Delivery {
                    latency_ms: elapsed(started),
                    ..Delivery::failed(describe(&err))
                }
            }
        };
    let status = response.status().as_u16();
    let mut response = response;
    let mut answer = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                answer.extend_from_slice(&chunk);
                if answer.len() > RESPONSE_BYTES_MAX {
                    break;
                }
            }
            Ok(None) => break,
            Err(err) => {
                return Delivery {
                    http_status: Some(status),
                    latency_ms: elapsed(started),
                    ..Delivery::failed(describe(&err))
                }
            }
        }
    }
    let latency_ms = elapsed(started);
    let shown: String =
        String::from_utf8_lossy(&answer[..answer.len().min(RESPONSE_BYTES_MAX)]).into_owned();
    if status == 200 && answer == b"success" {
        return Delivery {
            delivered: true,
            http_status: Some(status),
            error: None,
            answer: Some(shown),
            latency_ms,
        };
    }
    Delivery {
        delivered: false,
        http_status: Some(status),
        error: Some(format!("HTTP {status} answered {shown:?}, not \"success\"")),
        answer: Some(shown),
        latency_ms,
    }
}

fn describe(err: &reqwest::Error) -> String {
    if let Some(refused) = refusal_in(err) {
        return format!("not sent: the destination {refused}");
    }
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_attempts_on_alipays_schedule() {
        let mut now = 0;
        let mut total = 0;
        for attempts_made in 1..ATTEMPTS_MAX {
            let next = next_attempt_at(now, attempts_made).expect("scheduled");
            total += next - now;
            now = next;
        }
        assert_eq!(next_attempt_at(now, ATTEMPTS_MAX), None, "the 8th failure gives up");
        assert_eq!(total, (4 + 10 + 10 + 60 + 120 + 360 + 900) * 60_000);
        assert_eq!(next_attempt_at(0, 1), Some(4 * 60_000));
    }
}

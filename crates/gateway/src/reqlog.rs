//! The request log's write path: every `/gateway.do` call and payer page action, recorded off
//! the request's critical path.
//!
//! A handler leaves a `Logged` on its response (the raw request bytes and answer bytes, shared,
//! not copied; what verification found; the injection rule that shaped the answer). `observe`
//! takes it off, adds the request id, latency and status, and `RequestLog::push`es it into a
//! bounded channel (`QUEUE_MAX`) without waiting. One task (`run`) decodes the requests again,
//! builds the rows (`LogEntry`: parameters, biz_content, the answer, the ids for the console's
//! filter, each text cut to `TEXT_BYTES_MAX`) and appends them in batches of up to `BATCH_MAX`
//! (one store write per batch), then prunes what the retention no longer keeps.
//!
//! When the channel is full (the store is slower than the calls for a while), new rows are
//! dropped, never waited for: a request is never slowed by its log. Each dropped row counts in
//! `hongbao_request_log_dropped_total` and in `RequestLog::dropped` (shown by the console).

use crate::clock::wall_now_ms;
use crate::observe::CallOutcome;
use crate::Gateway;
use bytes::Bytes;
use hongbao_protocol::params::decode_request;
use hongbao_protocol::Charset;
use hongbao_store::{LogEntry, LogKind, Retention};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Rows waiting for the writer task; beyond it rows are dropped (and counted).
pub const QUEUE_MAX: usize = 8192;
/// Rows per store write.
pub const BATCH_MAX: usize = 1024;
/// The pause after each write, so that under load rows go in a few large transactions a
/// second instead of one small one per wake-up: on SQLite each is a turn of the ledger's one
/// writer (crates/bench/FINDINGS.md has the figures before and after, and why the fsync is not
/// what costs); a quiet console still sees a call at once, since the first row after a pause is
/// written without waiting. `QUEUE_MAX` holds `QUEUE_MAX / FLUSH_PAUSE` rows a second.
pub const FLUSH_PAUSE: Duration = Duration::from_millis(200);
/// Longest text kept per column (biz_content, answers, sign content): 16 KiB.
pub const TEXT_BYTES_MAX: usize = 16 * 1024;
/// How often the retention runs (and at start).
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// The ids a call may name or answer, kept for the console's id filter.
pub const REF_KEYS: [&str; 8] = [
    "out_order_no",
    "out_request_no",
    "auth_no",
    "operation_id",
    "out_biz_no",
    "order_id",
    "pay_fund_order_id",
    "notify_id",
];

/// What a handler leaves on its response for the log.
#[derive(Clone, Debug)]
pub enum Logged {
    /// A `/gateway.do` call.
    Call(CallLog),
    /// A payer page action (cashier, wallet).
    Page(PageLog),
}

/// A `/gateway.do` call as received and answered.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    /// The raw query string.
    pub query: Bytes,
    /// The raw body.
    pub body: Bytes,
    /// The answer's bytes (a signed envelope), when it had one.
    pub answer: Option<Bytes>,
    /// Its charset.
    pub charset: Option<Charset>,
    /// Whether the signature verified (`None`: verification did not get that far).
    pub sign_ok: Option<bool>,
    /// On a failed signature: the sign content the gateway built, and the hint.
    pub sign_content: Option<String>,
    /// The injection rule behind the answer.
    pub injected: Option<String>,
    /// An encrypted request's biz_content, decrypted (the raw one is ciphertext).
    pub decrypted_biz_content: Option<String>,
}

/// A payer page action.
#[derive(Clone, Debug, Default)]
pub struct PageLog {
    /// The method of the order it shows or pays.
    pub method: Option<String>,
    /// The order's app.
    pub app_id: Option<String>,
    /// What happened (`shown`, `paid`, `cancelled`, `wrong password`, an error…).
    pub action: String,
    /// The order's ids.
    pub refs: Vec<String>,
}

/// A `Logged` with what `observe` knows.
#[derive(Debug)]
pub struct Raw {
    /// What the handler left.
    pub logged: Logged,
    /// The outcome the handler tagged (method, app, code).
    pub outcome: CallOutcome,
    /// Request id.
    pub request_id: String,
    /// `GET`, `POST`.
    pub http_method: String,
    /// The path.
    pub path: String,
    /// HTTP status.
    pub http_status: u16,
    /// Where a redirect went.
    pub location: Option<String>,
    /// First byte to answer.
    pub latency: Duration,
    /// Business time.
    pub at_ms: i64,
    /// Wall-clock time.
    pub wall_ms: i64,
}

/// The sending side: on when the gateway has a writer task for it.
#[derive(Debug, Default)]
pub struct RequestLog {
    sender: Option<mpsc::Sender<Raw>>,
    dropped: AtomicU64,
    retention: Option<Retention>,
}

/// The receiving side, for `run`.
pub struct RequestLogReceiver {
    receiver: mpsc::Receiver<Raw>,
    retention: Retention,
}

impl RequestLog {
    /// A log that records (with its receiver for `run`), kept within `retention`.
    pub fn on(retention: Retention) -> (RequestLog, RequestLogReceiver) {
        let (sender, receiver) = mpsc::channel(QUEUE_MAX);
        let log = RequestLog {
            sender: Some(sender),
            dropped: AtomicU64::new(0),
            retention: Some(retention),
        };
        (log, RequestLogReceiver { receiver, retention })
    }

    /// True when calls are recorded.
    pub fn is_on(&self) -> bool {
        self.sender.is_some()
    }

    /// The retention in force, when on.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
    }

    /// Rows dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues a row without waiting; a full queue drops it (counted).
    pub fn push(&self, raw: Raw) {
        let Some(sender) = &self.sender else { return };
        if sender.try_send(raw).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("hongbao_request_log_dropped_total").increment(1);
        }
    }
}

/// Tags a payer page's answer for the log (when it is on): the order it showed or acted on, by
/// its ids, and what the payer did. `observe` adds the status and where a redirect went.
pub async fn tag_page(
    gateway: &Gateway,
    mut response: axum::response::Response,
    method: hongbao_protocol::Method,
    auth_no: &str,
    action: String,
) -> axum::response::Response {
    if !gateway.request_log.is_on() {
        return response;
    }
    // One point lookup, only while the log is on: the page's own code stays as it was.
    let order = gateway.store.payment_order(auth_no).await.ok().flatten();
    let mut refs = vec![auth_no.chars().take(128).collect::<String>()];
    if let Some(order) = &order {
        refs.push(order.view.out_order_no.clone());
        refs.push(order.view.operation_id.clone());
    }
    response.extensions_mut().insert(Logged::Page(PageLog {
        method: Some(method.name().to_owned()),
        app_id: order.map(|order| order.app_id),
        action,
        refs,
    }));
    response
}

/// Writes queued rows until every sender is gone (the gateway dropped) or `shutdown` fires,
/// then the rows still queued; prunes every `PRUNE_INTERVAL`.
pub async fn run(
    gateway: Arc<Gateway>,
    log: RequestLogReceiver,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let RequestLogReceiver { mut receiver, retention } = log;
    let mut prune = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            received = receiver.recv_many(&mut batch, BATCH_MAX) => {
                if received == 0 {
                    break;
                }
                write(&gateway, batch).await;
                tokio::select! {
                    _ = tokio::time::sleep(FLUSH_PAUSE) => {}
                    _ = shutdown.changed() => {
                        drain(&gateway, &mut receiver).await;
                        break;
                    }
                }
            }
            _ = prune.tick() => {
                match gateway.store.prune_request_log(retention, wall_now_ms()).await {
                    Ok(deleted) if deleted > 0 => tracing::debug!(deleted, "request log pruned"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "pruning the request log failed"),
                }
            }
            _ = shutdown.changed() => {
                drain(&gateway, &mut receiver).await;
                break;
            }
        }
    }
}

/// What arrived before the stop is still written.
async fn drain(gateway: &Gateway, receiver: &mut mpsc::Receiver<Raw>) {
    receiver.close();
    let mut batch = Vec::new();
    while receiver.recv_many(&mut batch, BATCH_MAX).await > 0 {
        write(gateway, std::mem::take(&mut batch)).await;
    }
}

async fn write(gateway: &Gateway, batch: Vec<Raw>) {
    let rows: Vec<LogEntry> = batch.into_iter().map(entry).collect();
    let count = rows.len();
    if let Err(err) = gateway.store.append_request_log(rows).await {
        metrics::counter!("hongbao_request_log_dropped_total").increment(count as u64);
        tracing::warn!(error = %err, rows = count, "writing the request log failed; rows lost");
    }
}

/// Text cut to `TEXT_BYTES_MAX` on a character boundary, saying so.
pub fn bounded(text: String) -> String {
    if text.len() <= TEXT_BYTES_MAX {
        return text;
    }
    let mut end = TEXT_BYTES_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(cut: {} bytes in all)", &text[..end], text.len())
}

/// The ids (`REF_KEYS`) a JSON object names, each at most 128 characters.
fn refs_of(value: &serde_json::Value, into: &mut Vec<String>) {
    let Some(object) = value.as_object() else { return };
    for key in REF_KEYS {
        if let Some(id) = object.get(key).and_then(|v| v.as_str()) {
            let id = id.trim();
            if !id.is_empty() && id.len() <= 128 && !into.iter().any(|known| known == id) {
                into.push(id.to_owned());
            }
        }
    }
}

/// The response node inside an envelope's text (`{"<method>_response":{…},"sign":"…"}`).
fn answer_node(envelope: &str) -> Option<serde_json::Value> {
    let parsed: serde_json::Value = serde_json::from_str(envelope).ok()?;
    let object = parsed.as_object()?;
    object.iter().find(|(key, _)| key.ends_with("_response")).map(|(_, node)| node.clone())
}

/// Builds the stored row.
pub fn entry(raw: Raw) -> LogEntry {
    let mut entry = LogEntry {
        request_id: raw.request_id,
        at_ms: raw.at_ms,
        wall_ms: raw.wall_ms,
        http_method: raw.http_method,
        path: raw.path,
        app_id: raw.outcome.app_id,
        method: raw.outcome.method,
        code: raw.outcome.code,
        sub_code: raw.outcome.sub_code,
        http_status: raw.http_status,
        latency_us: i64::try_from(raw.latency.as_micros()).unwrap_or(i64::MAX),
        ..LogEntry::default()
    };
    let redirect = raw.location.map(|to| format!("HTTP {} → {to}", raw.http_status));
    match raw.logged {
        Logged::Call(call) => {
            entry.kind = Some(LogKind::Gateway);
            entry.sign_ok = call.sign_ok;
            entry.sign_content = call.sign_content.map(bounded);
            entry.injected = call.injected;
            if let Ok(request) = decode_request(&call.query, &call.body) {
                let mut params = serde_json::Map::new();
                for (key, value) in request.params.iter() {
                    match key {
                        "biz_content" => {}
                        // The signature is long and says nothing by itself.
                        "sign" => {
                            let short: String = value.chars().take(24).collect();
                            params.insert(key.to_owned(), format!("{short}…").into());
                        }
                        _ => {
                            params.insert(key.to_owned(), value.into());
                        }
                    }
                }
                entry.charset = request.params.get("charset").map(str::to_owned);
                entry.sign_type = request.params.get("sign_type").map(str::to_owned);
                let biz =
                    call.decrypted_biz_content.as_deref().or(request.params.get("biz_content"));
                if let Some(biz) = biz {
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(biz) {
                        refs_of(&value, &mut entry.refs);
                    }
                    entry.biz_content = Some(bounded(biz.to_owned()));
                }
                entry.params = Some(bounded(serde_json::Value::Object(params).to_string()));
            }
            let charset = call.charset.unwrap_or(Charset::Utf8);
            entry.answer = match &call.answer {
                Some(bytes) => {
                    let text = charset
                        .decode(bytes)
                        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
                    if let Some(node) = answer_node(&text) {
                        refs_of(&node, &mut entry.refs);
                    }
                    Some(bounded(text))
                }
                None => redirect.or_else(|| Some(format!("HTTP {} (a page)", entry.http_status))),
            };
        }
        Logged::Page(page) => {
            entry.kind = Some(LogKind::Page);
            entry.method = page.method.or(entry.method);
            entry.app_id = page.app_id.or(entry.app_id);
            entry.answer = Some(match redirect {
                Some(redirect) => format!("{}; {redirect}", page.action),
                None => page.action,
            });
            entry.refs = page.refs;
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let long = "红".repeat(TEXT_BYTES_MAX);
        let cut = bounded(long.clone());
        assert!(cut.len() < long.len());
        assert!(cut.contains("cut:"));
        assert_eq!(bounded("short".into()), "short");
    }

    #[test]
    fn rows_carry_the_ids_of_request_and_answer() {
        let body = "app_id=2021&method=alipay.fund.coupon.order.disburse&charset=utf-8&sign_type=RSA2&sign=abcdefghijklmnopqrstuvwxyz0123456789&biz_content=%7B%22out_order_no%22%3A%22D1%22%2C%22auth_no%22%3A%22A1%22%7D";
        let answer = r#"{"alipay_fund_coupon_order_disburse_response":{"code":"10000","msg":"Success","operation_id":"OP9","auth_no":"A1"},"sign":"x"}"#;
        let raw = Raw {
            logged: Logged::Call(CallLog {
                body: Bytes::from(body),
                answer: Some(Bytes::from(answer)),
                charset: Some(Charset::Utf8),
                sign_ok: Some(true),
                ..CallLog::default()
            }),
            outcome: CallOutcome {
                method: Some("alipay.fund.coupon.order.disburse".into()),
                app_id: Some("2021".into()),
                code: Some("10000".into()),
                sub_code: None,
            },
            request_id: "r1".into(),
            http_method: "POST".into(),
            path: "/gateway.do".into(),
            http_status: 200,
            location: None,
            latency: Duration::from_micros(1500),
            at_ms: 5,
            wall_ms: 6,
        };
        let row = entry(raw);
        assert_eq!(row.refs, vec!["D1", "A1", "OP9"]);
        assert_eq!(row.biz_content.as_deref(), Some(r#"{"out_order_no":"D1","auth_no":"A1"}"#));
        assert_eq!(row.charset.as_deref(), Some("utf-8"));
        assert_eq!(row.latency_us, 1500);
        let params: serde_json::Value =
            serde_json::from_str(row.params.as_deref().expect("params")).expect("json");
        assert_eq!(params["sign"], "abcdefghijklmnopqrstuvwx…");
        assert!(params.get("biz_content").is_none());
        assert_eq!(row.answer.as_deref(), Some(answer));
    }
}

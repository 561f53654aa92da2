//! Notifications (issue: signed async notifications): a real local HTTP receiver fails the first
//! deliveries in various ways, then answers `success`. Exactly one delivery is accepted per state
//! change, retries follow Alipay's schedule on the injected clock, every notification verifies
//! with the notify rule, and nothing is lost across a restart.
//!
//! The worker is driven one round at a time (`spawn_app_stepped`, `notify_round`): a round that
//! claims nothing at a given clock is the proof that nothing was due, and the stored next attempt
//! says when something will be, so no test waits in the hope that nothing happens (issue 16).
//! Where the worker must run on its own (fairness between apps), it does.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use axum::extract::State;
use axum::routing::post;
use hongbao_gateway::notify::RETRY_SCHEDULE_MS;
use hongbao_ledger::NotifyStatus;
use hongbao_protocol::form::parse_form;
use hongbao_protocol::sign_content::verify_notify;
use hongbao_protocol::{Charset, Params};
use hongbao_store::{NotifyFilter, Store};
use hongbao_test_support::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Reply {
    ServerError,
    WrongBody,
    Hang,
    Success,
}

#[derive(Default)]
struct Receiver {
    script: Mutex<Vec<Reply>>,
    received: Mutex<Vec<(String, Vec<u8>)>>,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, &'static str) {
    let content_type =
        headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let reply = {
        let mut received = receiver.received.lock().expect("lock");
        received.push((content_type, body.to_vec()));
        let script = receiver.script.lock().expect("lock");
        script.get(received.len() - 1).copied().unwrap_or(Reply::Success)
    };
    match reply {
        Reply::ServerError => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "success"),
        Reply::WrongBody => (axum::http::StatusCode::OK, "fail"),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (axum::http::StatusCode::OK, "success")
        }
        Reply::Success => (axum::http::StatusCode::OK, "success"),
    }
}

async fn start_receiver(script: Vec<Reply>) -> (Arc<Receiver>, SocketAddr) {
    let receiver = Arc::new(Receiver { script: Mutex::new(script), ..Receiver::default() });
    let router =
        axum::Router::new().route("/notify", post(receive)).with_state(Arc::clone(&receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (receiver, addr)
}

impl Receiver {
    fn count(&self) -> usize {
        self.received.lock().expect("lock").len()
    }

    /// Decodes and verifies every delivery; returns their parameter sets.
    fn verified(&self) -> Vec<Params> {
        let public = gateway_key().public_key().expect("public");
        let received = self.received.lock().expect("lock");
        received
            .iter()
            .map(|(content_type, body)| {
                let label = content_type.split("charset=").nth(1).expect("charset declared");
                let charset = Charset::parse(label).expect("known charset");
                let params: Params = parse_form(body)
                    .expect("form")
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            charset.decode(&k).expect("key"),
                            charset.decode(&v).expect("value in the charset"),
                        )
                    })
                    .collect();
                assert_eq!(
                    params.get("charset"),
                    Some(label),
                    "the body is in the charset it declares"
                );
                assert!(verify_notify(&params, charset, &public), "notify signature: {params:?}");
                params
            })
            .collect()
    }
}

fn disburse_with_notify(auth_no: &str, out_order_no: &str, url: &str) -> Call {
    let biz = format!(
        r#"{{"out_order_no":"{out_order_no}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"领取","amount":"1.00","payee_user_id":"{ALICE}"}}"#
    );
    Call::new(DISBURSE, &biz).param("notify_url", url)
}

/// The app's notifications, newest first.
async fn records(app: &TestApp) -> Vec<hongbao_store::NotifyRecord> {
    app.store
        .list_notifications(NotifyFilter { limit: 1_000, ..NotifyFilter::default() })
        .await
        .expect("list")
}

/// The next attempt of the only notification, as stored.
async fn next_attempt(app: &TestApp) -> Option<i64> {
    let records = records(app).await;
    assert_eq!(records.len(), 1, "{records:?}");
    records[0].next_attempt_at_ms
}

#[tokio::test]
async fn retries_follow_the_schedule_until_success_and_stop_there() {
    let app = spawn_app_stepped().await;
    let (receiver, addr) =
        start_receiver(vec![Reply::ServerError, Reply::WrongBody, Reply::Hang]).await;
    let auth_no = app.call(PAY, &pay_biz("N1", "10.00")).await.field("auth_no").to_owned();
    let answer =
        app.send(&disburse_with_notify(&auth_no, "N1-D", &format!("http://{addr}/notify"))).await;
    assert_eq!(answer.code(), "10000");
    assert_eq!(app.notify_round().await, 1, "due at once");
    assert_eq!(receiver.count(), 1);
    // The schedule as stored, and not a moment before it.
    let first_failure = app.clock.now_ms_for_tests();
    assert_eq!(next_attempt(&app).await, Some(first_failure + RETRY_SCHEDULE_MS[0]));
    app.clock.advance_ms(RETRY_SCHEDULE_MS[0] - 1000);
    assert_eq!(app.notify_round().await, 0, "nothing is due before 4 minutes");
    app.clock.advance_ms(1000);
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 2);
    app.clock.advance_ms(RETRY_SCHEDULE_MS[1]);
    // The third answer hangs past the attempt timeout (0.5 s in tests): the round ends when the
    // attempt has timed out and been recorded.
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 3);
    app.clock.advance_ms(RETRY_SCHEDULE_MS[2]);
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 4);
    assert_eq!(next_attempt(&app).await, None, "delivered: no next attempt");
    for delay in &RETRY_SCHEDULE_MS[3..] {
        app.clock.advance_ms(*delay);
        assert_eq!(app.notify_round().await, 0, "delivered once, then no more attempts");
    }
    assert_eq!(receiver.count(), 4);

    let deliveries = receiver.verified();
    let notify_id = deliveries[0].get("notify_id").expect("notify_id").to_owned();
    for params in &deliveries {
        assert_eq!(params.get("notify_id"), Some(notify_id.as_str()), "retries keep the notify_id");
        assert_eq!(params.get("notify_type"), Some("fund_stdtrustee_disburse.success"));
        assert_eq!(params.get("operation_id"), Some(answer.field("operation_id")));
        assert_eq!(params.get("amount"), Some("1.00"));
        assert_eq!(params.get("payee_user_id"), Some(ALICE));
        assert_eq!(params.get("operation_type"), Some("PAY"));
        assert_eq!(params.get("status"), Some("SUCCESS"));
        assert_eq!(params.get("app_id"), Some(APP_A));
        assert_eq!(params.get("version"), Some("1.0"));
        assert_eq!(params.get("sign_type"), Some("RSA2"));
    }
    let records = app
        .store
        .list_notifications(NotifyFilter {
            app_id: Some(APP_A.into()),
            limit: 10,
            ..NotifyFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, NotifyStatus::Delivered);
    assert_eq!(records[0].history.len(), 4);
    assert_eq!(records[0].history.iter().filter(|h| h.delivered).count(), 1);
    assert!(
        records[0].history[2].error.as_deref().unwrap_or("").contains("timed out"),
        "{:?}",
        records[0].history
    );
}

#[tokio::test]
async fn gives_up_after_eight_attempts_and_a_resend_keeps_the_notify_id() {
    let app = spawn_app_stepped().await;
    let (receiver, addr) = start_receiver(vec![Reply::ServerError; 8]).await;
    let auth_no = app.call(PAY, &pay_biz("N2", "10.00")).await.field("auth_no").to_owned();
    let refund = format!(
        r#"{{"auth_no":"{auth_no}","out_request_no":"R","amount":"2.00","remark":"退回"}}"#
    );
    let call = Call::new(REFUND, &refund).param("notify_url", &format!("http://{addr}/notify"));
    assert_eq!(app.send(&call).await.code(), "10000");
    assert_eq!(app.notify_round().await, 1);
    for delay in RETRY_SCHEDULE_MS {
        app.clock.advance_ms(delay);
        assert_eq!(app.notify_round().await, 1);
    }
    assert_eq!(receiver.count(), 8);
    assert_eq!(next_attempt(&app).await, None, "given up: nothing scheduled");
    app.clock.advance_ms(24 * 3_600_000);
    assert_eq!(app.notify_round().await, 0, "8 tries, then given up");
    let records = records(&app).await;
    assert_eq!((records[0].status.as_str(), records[0].attempts), ("FAILED", 8));
    assert!(records[0].last_error.as_deref().unwrap_or("").contains("HTTP 500"));

    let now = app.clock.now_ms_for_tests();
    assert!(app
        .store
        .resend_notification(&records[0].notify_id, Some(APP_A), now)
        .await
        .expect("resend"));
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 9);
    let deliveries = receiver.verified();
    assert_eq!(deliveries[8].get("notify_id"), deliveries[0].get("notify_id"));
    assert_eq!(deliveries[8].get("notify_type"), Some("fund_stdtrustee_refund.success"));
    assert_eq!(deliveries[8].get("payer_user_id"), Some(MERCHANT_A));
    assert_eq!(deliveries[8].get("remark"), None, "the documented fields only");
    // Another app cannot resend it.
    assert!(!app
        .store
        .resend_notification(&records[0].notify_id, Some(APP_B), now)
        .await
        .expect("resend"));
}

#[tokio::test]
async fn refused_connections_are_retried_and_recorded() {
    let app = spawn_app_stepped().await;
    // A port with nobody listening.
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let auth_no = app.call(PAY, &pay_biz("N3", "10.00")).await.field("auth_no").to_owned();
    let answer =
        app.send(&disburse_with_notify(&auth_no, "N3-D", &format!("http://{closed}/notify"))).await;
    assert_eq!(answer.code(), "10000", "a dead notify_url never blocks the call");
    assert_eq!(app.notify_round().await, 1);
    let records = records(&app).await;
    assert_eq!((records[0].status, records[0].attempts), (NotifyStatus::Pending, 1));
    assert!(
        records[0].last_error.as_deref().unwrap_or("").contains("connection"),
        "{:?}",
        records[0].last_error
    );
    assert_eq!(
        records[0].next_attempt_at_ms,
        Some(app.clock.now_ms_for_tests() + RETRY_SCHEDULE_MS[0])
    );
}

#[tokio::test]
async fn gbk_calls_get_gbk_notifications() {
    let app = spawn_app_stepped().await;
    let (receiver, addr) = start_receiver(vec![]).await;
    let auth_no = app.call(PAY, &pay_biz("N4", "10.00")).await.field("auth_no").to_owned();
    let biz = format!(
        r#"{{"out_order_no":"N4-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"红包","amount":"1.00","payee_logon_id":"{BOB_LOGON}"}}"#
    );
    let call = Call::new(DISBURSE, &biz)
        .charset(Charset::Gbk, "GBK")
        .param("notify_url", &format!("http://{addr}/notify"));
    assert_eq!(app.send(&call).await.code(), "10000");
    assert_eq!(app.notify_round().await, 1);
    let deliveries = receiver.verified();
    assert_eq!(deliveries[0].get("charset"), Some("GBK"));
    assert_eq!(deliveries[0].get("payee_logon_id"), Some("138****8000"));
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart_in_the_middle_of_the_schedule() {
    let app = spawn_app_stepped().await;
    let (receiver, addr) = start_receiver(vec![Reply::ServerError]).await;
    let auth_no = app.call(PAY, &pay_biz("N5", "10.00")).await.field("auth_no").to_owned();
    assert_eq!(
        app.send(&disburse_with_notify(&auth_no, "N5-D", &format!("http://{addr}/notify")))
            .await
            .code(),
        "10000"
    );
    assert_eq!(app.notify_round().await, 1);
    let later = app.clock.now_ms_for_tests() + RETRY_SCHEDULE_MS[0];
    assert_eq!(next_attempt(&app).await, Some(later));
    let dir = app.stop().await;
    let app = spawn_app_stepped_in(dir).await;
    assert_eq!(next_attempt(&app).await, Some(later), "the schedule survives the restart");
    app.clock.advance_ms(later - app.clock.now_ms_for_tests());
    assert_eq!(app.notify_round().await, 1);
    let deliveries = receiver.verified();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].get("notify_id"), deliveries[1].get("notify_id"));
    assert_eq!(records(&app).await[0].status, NotifyStatus::Delivered);
}

#[tokio::test]
async fn a_notify_url_over_256_characters_is_refused_on_the_call() {
    let app = spawn_app().await;
    let auth_no = app.call(PAY, &pay_biz("N6", "10.00")).await.field("auth_no").to_owned();
    let url = format!("http://127.0.0.1/{}", "a".repeat(250));
    let answer = app.send(&disburse_with_notify(&auth_no, "N6-D", &url)).await;
    assert_eq!((answer.code(), answer.sub_code()), ("40002", "isv.invalid-parameter"));
    assert_eq!(app.balance(ALICE).await, 0, "refused calls move nothing");
}

#[tokio::test]
async fn a_merchant_lists_its_own_notifications_and_nobody_elses() {
    let app = spawn_app_stepped().await;
    let (receiver, addr) = start_receiver(vec![Reply::WrongBody]).await;
    let auth_no = app.call(PAY, &pay_biz("N7", "10.00")).await.field("auth_no").to_owned();
    assert_eq!(
        app.send(&disburse_with_notify(&auth_no, "N7-D", &format!("http://{addr}/notify")))
            .await
            .code(),
        "10000"
    );
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 1);
    let mine = app.call(NOTIFY_LIST, r#"{"status":"PENDING","limit":"5"}"#).await;
    assert_eq!(mine.code(), "10000");
    let list = mine.node["notifications"].as_array().expect("array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["notify_type"], "fund_stdtrustee_disburse.success");
    assert_eq!(list[0]["attempts"][0]["http_status"], "200");
    assert!(list[0]["attempts"][0]["error"].as_str().unwrap_or("").contains("\"fail\""));
    assert!(!list[0]["next_attempt_time"].as_str().unwrap_or("").is_empty());
    let theirs = app.send(&Call::new(NOTIFY_LIST, "{}").app(APP_B, app_b_key())).await;
    assert_eq!(theirs.node["notifications"].as_array().map(Vec::len), Some(0));
    let bad = app.call(NOTIFY_LIST, r#"{"limit":"1000"}"#).await;
    assert_eq!(bad.sub_code(), "ILLEGAL_ARGUMENT");
}

/// Item 2: the notify destination policy. A literal address it refuses is refused on the call
/// (signed, nothing stored); a name is judged when the worker resolves it, at every attempt
/// (DNS rebinding), and a refused one is sent nothing: the attempt records the refusal, never an
/// answer. The platform policy here denies loopback; all traffic stays on this machine.
#[tokio::test]
async fn the_destination_policy_refuses_literals_on_the_call_and_names_at_delivery() {
    let deny: Vec<ipnet::IpNet> =
        ["127.0.0.0/8", "::1/128"].iter().map(|n| n.parse().expect("cidr")).collect();
    let options = AppOptions {
        workers: Workers::Stepped,
        destinations: hongbao_gateway::destination::DestinationPolicy::new(&[], &deny),
        ..AppOptions::default()
    };
    let app = spawn_app_with_options(tempfile::tempdir().expect("tempdir"), options).await;
    let (receiver, addr) = start_receiver(vec![]).await;
    let auth_no = app.call(PAY, &pay_biz("N8", "10.00")).await.field("auth_no").to_owned();
    for literal in
        [format!("http://{addr}/notify"), format!("http://[::ffff:127.0.0.1]:{}/n", addr.port())]
    {
        let answer = app.send(&disburse_with_notify(&auth_no, "N8-D", &literal)).await;
        assert_eq!((answer.code(), answer.sub_code()), ("40002", "isv.invalid-parameter"));
        assert!(answer.sub_msg().contains("does not send to"), "{}", answer.sub_msg());
    }
    assert!(records(&app).await.is_empty(), "a refused call stores nothing");
    assert_eq!(app.balance(ALICE).await, 0, "and moves nothing");

    let by_name = format!("http://localhost:{}/notify", addr.port());
    let answer = app.send(&disburse_with_notify(&auth_no, "N8-D", &by_name)).await;
    assert_eq!(answer.code(), "10000", "a name is judged when it is resolved");
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 0, "nothing was sent to a refused address");
    let records = records(&app).await;
    assert_eq!((records[0].status, records[0].attempts), (NotifyStatus::Pending, 1));
    let attempt = &records[0].history[0];
    assert_eq!(attempt.http_status, None, "no answer is shown for a refused destination");
    assert!(attempt.error.as_deref().unwrap_or("").contains("not sent"), "{attempt:?}");
    // And again at the next attempt: every resolution is judged.
    app.clock.advance_ms(RETRY_SCHEDULE_MS[0]);
    assert_eq!(app.notify_round().await, 1);
    assert_eq!(receiver.count(), 0);
}

/// A TCP endpoint that accepts connections and never answers (a merchant's hung handler).
async fn dead_endpoint() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Item 3: app A floods an endpoint that never answers with 160 notifications while app B's
/// one notification is queued; with the production worker settings (32 places, 5 s attempts)
/// B's arrives within a second, and A's flood is still being worked through when it does.
/// First in first out, B waited for five rounds of A's timeouts (25 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apps_dead_endpoint_costs_another_app_nothing() {
    let options = AppOptions {
        workers: Workers::Background(hongbao_gateway::notify::NotifyConfig::default()),
        ..AppOptions::default()
    };
    let app = spawn_app_with_options(tempfile::tempdir().expect("tempdir"), options).await;
    let dead = format!("http://{}/notify", dead_endpoint().await);
    let auth_no = app.call(PAY, &pay_biz("F1", "1000.00")).await.field("auth_no").to_owned();
    for index in 0..160 {
        let answer = app.send(&disburse_with_notify(&auth_no, &format!("F1-{index}"), &dead)).await;
        assert_eq!(answer.code(), "10000");
    }
    let (receiver, addr) = start_receiver(vec![]).await;
    let pay_b = format!(
        r#"{{"out_order_no":"F2","out_request_no":"pay1","order_title":"t","amount":"10.00","payer_user_id":"{MERCHANT_B}"}}"#
    );
    let paid = app.send(&Call::new(PAY, &pay_b).app(APP_B, app_b_key())).await;
    let b_auth_no = paid.field("auth_no").to_owned();
    let disburse_b = disburse_with_notify(&b_auth_no, "F2-D", &format!("http://{addr}/notify"))
        .app(APP_B, app_b_key());
    let started = std::time::Instant::now();
    assert_eq!(app.send(&disburse_b).await.code(), "10000");
    while receiver.count() == 0 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waited = started.elapsed();
    assert_eq!(receiver.count(), 1, "B's notification arrived");
    let untried = records(&app)
        .await
        .iter()
        .filter(|r| r.app_id == APP_A && r.status == NotifyStatus::Pending && r.attempts == 0)
        .count();
    eprintln!(
        "app B's notification arrived after {waited:?}; {untried} of app A's 160 not yet tried"
    );
    assert!(waited < Duration::from_secs(1), "app B waited {waited:?} behind app A's flood");
    assert!(untried >= 100, "the flood was still being worked through ({untried} untried)");
}

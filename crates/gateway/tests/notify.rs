//! Notifications (issue: signed async notifications): a real local HTTP receiver fails the first
//! deliveries in various ways, then answers `success`. Exactly one delivery is accepted per state
//! change, retries follow Alipay's schedule on the injected clock, every notification verifies
//! with the notify rule, and nothing is lost across a restart.
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

    async fn wait_for(&self, count: usize) {
        for _ in 0..200 {
            if self.count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {count} deliveries, got {}", self.count());
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

/// Waits until the outbox settles (the in-flight attempt is recorded).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn retries_follow_the_schedule_until_success_and_stop_there() {
    let app = spawn_app().await;
    let (receiver, addr) =
        start_receiver(vec![Reply::ServerError, Reply::WrongBody, Reply::Hang]).await;
    let auth_no = app.call(PAY, &pay_biz("N1", "10.00")).await.field("auth_no").to_owned();
    let answer =
        app.send(&disburse_with_notify(&auth_no, "N1-D", &format!("http://{addr}/notify"))).await;
    assert_eq!(answer.code(), "10000");
    receiver.wait_for(1).await;
    settle().await;
    // Not a moment before the schedule says.
    app.clock.advance_ms(RETRY_SCHEDULE_MS[0] - 1000);
    settle().await;
    assert_eq!(receiver.count(), 1, "retried before 4 minutes");
    app.clock.advance_ms(1000);
    receiver.wait_for(2).await;
    settle().await;
    app.clock.advance_ms(RETRY_SCHEDULE_MS[1]);
    receiver.wait_for(3).await;
    // The third answer hangs past the attempt timeout (0.5 s in tests).
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.clock.advance_ms(RETRY_SCHEDULE_MS[2]);
    receiver.wait_for(4).await;
    settle().await;
    for delay in &RETRY_SCHEDULE_MS[3..] {
        app.clock.advance_ms(*delay);
        settle().await;
    }
    assert_eq!(receiver.count(), 4, "delivered once, then no more attempts");

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
    let app = spawn_app().await;
    let (receiver, addr) = start_receiver(vec![Reply::ServerError; 8]).await;
    let auth_no = app.call(PAY, &pay_biz("N2", "10.00")).await.field("auth_no").to_owned();
    let refund = format!(
        r#"{{"auth_no":"{auth_no}","out_request_no":"R","amount":"2.00","remark":"退回"}}"#
    );
    let call = Call::new(REFUND, &refund).param("notify_url", &format!("http://{addr}/notify"));
    assert_eq!(app.send(&call).await.code(), "10000");
    receiver.wait_for(1).await;
    for (index, delay) in RETRY_SCHEDULE_MS.iter().enumerate() {
        settle().await;
        app.clock.advance_ms(*delay);
        receiver.wait_for(index + 2).await;
    }
    settle().await;
    app.clock.advance_ms(24 * 3_600_000);
    settle().await;
    assert_eq!(receiver.count(), 8, "8 tries, then given up");
    let records = app
        .store
        .list_notifications(NotifyFilter { limit: 10, ..NotifyFilter::default() })
        .await
        .expect("list");
    assert_eq!((records[0].status.as_str(), records[0].attempts), ("FAILED", 8));
    assert!(records[0].last_error.as_deref().unwrap_or("").contains("HTTP 500"));

    let now = app.clock.now_ms_for_tests();
    assert!(app
        .store
        .resend_notification(&records[0].notify_id, Some(APP_A), now)
        .await
        .expect("resend"));
    app.gateway.notify_wake.notify_one();
    receiver.wait_for(9).await;
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
    let app = spawn_app().await;
    // A port with nobody listening.
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let auth_no = app.call(PAY, &pay_biz("N3", "10.00")).await.field("auth_no").to_owned();
    let answer =
        app.send(&disburse_with_notify(&auth_no, "N3-D", &format!("http://{closed}/notify"))).await;
    assert_eq!(answer.code(), "10000", "a dead notify_url never blocks the call");
    for _ in 0..50 {
        let records = app
            .store
            .list_notifications(NotifyFilter { limit: 1, ..NotifyFilter::default() })
            .await
            .expect("list");
        if records.first().is_some_and(|r| r.attempts == 1) {
            assert_eq!(records[0].status, NotifyStatus::Pending);
            assert!(
                records[0].last_error.as_deref().unwrap_or("").contains("connection"),
                "{:?}",
                records[0].last_error
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the refused attempt was never recorded");
}

#[tokio::test]
async fn gbk_calls_get_gbk_notifications() {
    let app = spawn_app().await;
    let (receiver, addr) = start_receiver(vec![]).await;
    let auth_no = app.call(PAY, &pay_biz("N4", "10.00")).await.field("auth_no").to_owned();
    let biz = format!(
        r#"{{"out_order_no":"N4-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"红包","amount":"1.00","payee_logon_id":"{BOB_LOGON}"}}"#
    );
    let call = Call::new(DISBURSE, &biz)
        .charset(Charset::Gbk, "GBK")
        .param("notify_url", &format!("http://{addr}/notify"));
    assert_eq!(app.send(&call).await.code(), "10000");
    receiver.wait_for(1).await;
    let deliveries = receiver.verified();
    assert_eq!(deliveries[0].get("charset"), Some("GBK"));
    assert_eq!(deliveries[0].get("payee_logon_id"), Some("138****8000"));
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart_in_the_middle_of_the_schedule() {
    let app = spawn_app().await;
    let (receiver, addr) = start_receiver(vec![Reply::ServerError]).await;
    let auth_no = app.call(PAY, &pay_biz("N5", "10.00")).await.field("auth_no").to_owned();
    assert_eq!(
        app.send(&disburse_with_notify(&auth_no, "N5-D", &format!("http://{addr}/notify")))
            .await
            .code(),
        "10000"
    );
    receiver.wait_for(1).await;
    settle().await;
    let later = app.clock.now_ms_for_tests() + RETRY_SCHEDULE_MS[0];
    let dir = app.stop().await;
    let app = spawn_app_in(dir).await;
    app.clock.advance_ms(later - app.clock.now_ms_for_tests());
    receiver.wait_for(2).await;
    settle().await;
    let deliveries = receiver.verified();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].get("notify_id"), deliveries[1].get("notify_id"));
    let records = app
        .store
        .list_notifications(NotifyFilter { limit: 10, ..NotifyFilter::default() })
        .await
        .expect("list");
    assert_eq!(records[0].status, NotifyStatus::Delivered);
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
    let app = spawn_app().await;
    let (receiver, addr) = start_receiver(vec![Reply::WrongBody]).await;
    let auth_no = app.call(PAY, &pay_biz("N7", "10.00")).await.field("auth_no").to_owned();
    assert_eq!(
        app.send(&disburse_with_notify(&auth_no, "N7-D", &format!("http://{addr}/notify")))
            .await
            .code(),
        "10000"
    );
    receiver.wait_for(1).await;
    settle().await;
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

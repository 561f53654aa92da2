//! The request log and the console's fault rules, end to end through `/gateway.do` on a real
//! listener: every call is logged off its path (decoded biz_content, the ids it named and was
//! answered, the exact sign content of a failed signature), an injected answer is signed like
//! any other and marked in the log, an injection before the money moves moves nothing, one
//! "after the money moved" commits and its identical retry replays it, and a notify rule fails
//! attempts unsent that Alipay's schedule then retries. An encrypted call is logged decrypted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use axum::routing::post;
use hongbao_gateway::inject::{CallRule, NotifyRule};
use hongbao_gateway::notify::RETRY_SCHEDULE_MS;
use hongbao_ledger::NotifyStatus;
use hongbao_protocol::{Method, SignType};
use hongbao_store::{LogFilter, LoggedRequest, NotifyFilter, Store};
use hongbao_test_support::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Polls the log (written off the request's path) until a row names `id`.
async fn logged(app: &TestApp, id: &str, rows: usize) -> Vec<LoggedRequest> {
    for _ in 0..250 {
        let found = app
            .store
            .request_log(LogFilter { id: Some(id.into()), limit: 50, ..LogFilter::default() })
            .await
            .expect("log");
        if found.len() >= rows {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {rows} request-log rows name {id}");
}

fn rule(method: Method, code: &str, sub_code: &str, after_money_moved: bool) -> CallRule {
    CallRule {
        id: 0,
        app_id: Some(APP_A.into()),
        method,
        answer: Some((code.into(), sub_code.into())),
        after_money_moved,
        delay_ms: 0,
        remaining: 1,
    }
}

#[tokio::test]
async fn every_call_is_logged_with_what_it_named_and_was_answered() {
    let app = spawn_app_console().await;
    let paid =
        app.send(&Call::new(PAY, &pay_biz("LOG-1", "10.00")).sign_type(SignType::Rsa2)).await;
    assert_eq!(paid.code(), "10000");
    let auth_no = paid.field("auth_no").to_owned();

    // Found by the merchant's id and by Alipay's.
    let by_order = logged(&app, "LOG-1", 1).await;
    let by_auth = logged(&app, &auth_no, 1).await;
    assert_eq!(by_order[0].log_id, by_auth[0].log_id);
    let row = app.store.request_log_entry(by_order[0].log_id).await.expect("entry").expect("row");
    let entry = &row.entry;
    assert_eq!(entry.method.as_deref(), Some(PAY));
    assert_eq!(entry.app_id.as_deref(), Some(APP_A));
    assert_eq!(entry.charset.as_deref(), Some("utf-8"));
    assert_eq!(entry.sign_type.as_deref(), Some("RSA2"));
    assert_eq!(entry.code.as_deref(), Some("10000"));
    assert_eq!(entry.sign_ok, Some(true));
    assert_eq!(entry.biz_content.as_deref(), Some(pay_biz("LOG-1", "10.00").as_str()));
    assert!(entry.answer.as_deref().is_some_and(|a| a.contains(&auth_no)), "{entry:?}");
    assert!(entry.refs.contains(&paid.field("operation_id").to_owned()), "{:?}", entry.refs);
    assert!(entry.latency_us > 0);
    assert!(entry.injected.is_none());

    // A signature that does not verify: the exact sign content the gateway built is kept.
    let forged = Call::new(PAY, &pay_biz("LOG-2", "1.00")).app(APP_A, stranger_key());
    let request = post_request(
        "/gateway.do",
        &forged.body(),
        "application/x-www-form-urlencoded;charset=utf-8",
    );
    let refused = String::from_utf8(raw(app.addr, &request).await.body).expect("utf-8");
    assert!(refused.contains("isv.invalid-signature"), "{refused}");
    let row = logged(&app, "LOG-2", 1).await.remove(0);
    assert_eq!(row.entry.sign_ok, Some(false));
    let sign_content = row.entry.sign_content.expect("sign content");
    assert!(sign_content.starts_with("app_id=2021000000000001&biz_content="), "{sign_content}");
    assert!(sign_content.contains("LOG-2"));
    assert_eq!(row.entry.sub_code.as_deref(), Some("isv.invalid-signature"));
}

#[tokio::test]
async fn an_injected_answer_is_signed_moves_nothing_and_is_marked_in_the_log() {
    let app = spawn_app_console().await;
    let before = app.balance(MERCHANT_A).await;
    app.gateway
        .inject
        .add_call(rule(Method::AgreementPay, "40004", "BALANCE_NOT_ENOUGH", false))
        .expect("rule");
    // `send` verifies the answer's signature with the gateway key.
    let injected = app.call(PAY, &pay_biz("INJ-1", "10.00")).await;
    assert_eq!((injected.code(), injected.sub_code()), ("40004", "BALANCE_NOT_ENOUGH"));
    assert_eq!(app.balance(MERCHANT_A).await, before, "an injected refusal moves nothing");
    let row = logged(&app, "INJ-1", 1).await.remove(0);
    assert!(row.entry.injected.as_deref().is_some_and(|r| r.starts_with("rule #1")), "{row:?}");
    assert_eq!(row.entry.sub_code.as_deref(), Some("BALANCE_NOT_ENOUGH"));

    // The rule is used up: the identical call now runs for real.
    let real = app.call(PAY, &pay_biz("INJ-1", "10.00")).await;
    assert_eq!(real.code(), "10000");
    assert_eq!(app.balance(MERCHANT_A).await, before - 1_000);
    assert!(app.gateway.inject.list().0.is_empty());
    app.assert_invariants().await;
}

#[tokio::test]
async fn after_the_money_moved_the_merchant_sees_a_failure_and_the_retry_replays() {
    let app = spawn_app_console().await;
    let before = app.balance(MERCHANT_A).await;
    app.gateway
        .inject
        .add_call(rule(Method::AgreementPay, "20000", "isp.unknow-error", true))
        .expect("rule");
    let lost = app.call(PAY, &pay_biz("LATE-1", "10.00")).await;
    assert_eq!((lost.code(), lost.sub_code()), ("20000", "isp.unknow-error"));
    assert_eq!(app.balance(MERCHANT_A).await, before - 1_000, "the operation did succeed");
    let retried = app.call(PAY, &pay_biz("LATE-1", "10.00")).await;
    assert_eq!(retried.code(), "10000");
    assert_eq!(app.balance(MERCHANT_A).await, before - 1_000, "the retry replays, once");
    let rows = logged(&app, "LATE-1", 2).await;
    assert!(rows[1].entry.injected.as_deref().is_some_and(|r| r.contains("after the money moved")));
    assert!(rows[0].entry.injected.is_none());
    app.assert_invariants().await;

    // 40004 SYSTEM_ERROR is a business answer fund.trans and fund.coupon methods alike may get.
    app.gateway
        .inject
        .add_call(rule(Method::Disburse, "40004", "SYSTEM_ERROR", false))
        .expect("rule");
    let biz = format!(
        r#"{{"out_order_no":"LATE-1-D","deduct_auth_no":"{}","out_request_no":"1","order_title":"领取","amount":"1.00","payee_user_id":"{ALICE}"}}"#,
        retried.field("auth_no")
    );
    let busy = app.call(DISBURSE, &biz).await;
    assert_eq!(
        (busy.code(), busy.sub_code(), busy.sub_msg()),
        ("40004", "SYSTEM_ERROR", "系统繁忙")
    );
    assert_eq!(app.balance(ALICE).await, 0);
}

#[tokio::test]
async fn a_notify_rule_fails_attempts_unsent_and_the_schedule_retries() {
    let app = spawn_app_console().await;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/notify",
        post(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "success"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let url = format!("http://{addr}/notify");
    app.gateway
        .inject
        .add_notify(NotifyRule { id: 0, url_prefix: url.clone(), delay_ms: 0, fail_remaining: 1 })
        .expect("rule");
    let auth_no = app.call(PAY, &pay_biz("NOT-1", "10.00")).await.field("auth_no").to_owned();
    let biz = format!(
        r#"{{"out_order_no":"NOT-1-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"领取","amount":"1.00","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(
        app.send(&Call::new(DISBURSE, &biz).param("notify_url", &url)).await.code(),
        "10000"
    );

    let history = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            store
                .list_notifications(NotifyFilter { limit: 5, ..NotifyFilter::default() })
                .await
                .expect("list")
                .remove(0)
        }
    };
    let mut record = history(&app).await;
    for _ in 0..250 {
        if record.attempts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        record = history(&app).await;
    }
    assert_eq!(record.attempts, 1);
    assert!(!record.history[0].delivered);
    assert!(record.history[0].error.as_deref().is_some_and(|e| e.contains("on purpose")));
    assert_eq!(received.load(Ordering::SeqCst), 0, "nothing was sent");

    // The schedule's next attempt goes through (the rule is used up).
    app.clock.advance_ms(RETRY_SCHEDULE_MS[0]);
    app.gateway.notify_wake.notify_one();
    for _ in 0..250 {
        if record.status == NotifyStatus::Delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        record = history(&app).await;
    }
    assert_eq!(record.status, NotifyStatus::Delivered);
    assert_eq!(received.load(Ordering::SeqCst), 1);
    let last = record.history.last().expect("attempt");
    assert_eq!(last.answer.as_deref(), Some("success"));
    assert!(last.latency_ms.is_some());
}

#[tokio::test]
async fn an_encrypted_call_is_logged_with_its_decrypted_biz_content() {
    let app = spawn_app_console().await;
    let biz = pay_biz("ENC-LOG-1", "10.00");
    let call = Call::new(PAY, &biz).encrypted(encrypt_key(APP_A_ENCRYPT_KEY));
    assert_eq!(app.send(&call).await.code(), "10000");
    // Found by the id inside the ciphertext: the log decrypted it.
    let row = logged(&app, "ENC-LOG-1", 1).await.remove(0);
    assert_eq!(row.entry.biz_content.as_deref(), Some(biz.as_str()));
}

#[tokio::test]
async fn a_payer_page_action_is_logged_with_its_order() {
    let app = spawn_app_console().await;
    let biz = r#"{"out_order_no":"PAGE-LOG-1","out_request_no":"pay1","order_title":"年会红包","amount":"8.00"}"#;
    let call = Call::new(PAGE_PAY, biz).param("return_url", "http://127.0.0.1:9/return");
    let form = "application/x-www-form-urlencoded";
    let opened = raw(app.addr, &post_request("/gateway.do", &call.body(), form)).await;
    assert_eq!(opened.status, 303);
    let cashier = opened.header("location").expect("location").to_owned();
    let path = cashier.split('?').next().expect("path").to_owned();
    let auth_no = path.trim_start_matches("/cashier/").to_owned();
    let pay =
        "login=merchant-b%40example.com&password=111111&action=pay&charset=utf-8&sign_type=RSA2";
    let paid = raw(app.addr, &post_request(&path, pay.as_bytes(), form)).await;
    assert_eq!(paid.status, 303, "back to return_url");

    let rows = logged(&app, &auth_no, 1).await;
    let page = rows.iter().find(|row| row.entry.path == path).expect("the cashier's row");
    let answer = page.entry.answer.as_deref().expect("answer");
    assert!(answer.starts_with("cashier: pay; HTTP 303 → http://127.0.0.1:9/return?"), "{answer}");
    assert_eq!(page.entry.app_id.as_deref(), Some(APP_A));
    assert_eq!(page.entry.method.as_deref(), Some(PAGE_PAY));
    // The page.pay call itself: a redirect to the cashier, found by the merchant's id.
    let by_order = logged(&app, "PAGE-LOG-1", 2).await;
    let call_row = by_order.iter().find(|row| row.entry.path == "/gateway.do").expect("call");
    assert!(call_row.entry.answer.as_deref().is_some_and(|a| a.contains(&path)), "{call_row:?}");
}

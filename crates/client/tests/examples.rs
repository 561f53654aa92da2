//! The crate's examples run, as written, against a spawned hongbao: `pay_disburse_query` funds,
//! pays out and queries; `notify_axum`'s router receives a fund.coupon notification and a
//! fund.trans message from the gateway, verified, and refuses a forged post.
//!
//! Method: each example file is compiled into this test as a module (`#[path]`), so the code a
//! user runs with `cargo run --example` is the code tested here, against `spawn_app` /
//! `spawn_app_messaging` (an in-process gateway on a free loopback port). The demo's own files
//! and defaults are exercised by crates/cli/tests/client_examples.rs against `hongbao serve`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

#[path = "../examples/pay_disburse_query.rs"]
#[allow(dead_code)] // its main, run by `cargo run --example`
mod pay_disburse_query;

#[path = "../examples/notify_axum.rs"]
#[allow(dead_code)]
mod notify_axum;

use hongbao_client::*;
use hongbao_test_support::*;
use std::time::Duration;

fn demo_for(app: &TestApp) -> pay_disburse_query::Demo {
    pay_disburse_query::Demo {
        gateway: format!("http://{}/gateway.do", app.addr),
        app_id: APP_A.to_owned(),
        app_private_key: app_a_key().to_pkcs8_pem().expect("pem"),
        alipay_public_key: gateway_key().public_key().expect("public").to_pem().expect("pem"),
        payer: UserId::new(MERCHANT_A),
        payee: UserId::new(ALICE),
        run: "test".to_owned(),
    }
}

#[tokio::test]
async fn pay_disburse_query_runs_against_a_spawned_gateway() {
    let app = spawn_app().await;
    let summary = pay_disburse_query::run(&demo_for(&app)).await.expect("the example runs");
    assert_eq!(summary.paid.status, OperationStatus::Success);
    assert_eq!(summary.disbursed.amount, Fen::from_fen(300));
    assert_eq!(summary.pay_detail.operation_type, OperationType::Pay);
    assert_eq!(summary.pay_detail.amount, Fen::from_fen(1000));
    assert_eq!(summary.disburse_detail.payee_user_id, Some(UserId::new(ALICE)));
    assert_eq!(app.balance(ALICE).await, 300);
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 1000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_axum_example_verifies_what_the_gateway_posts_and_refuses_forgeries() {
    // The example's server first, so that the gateway's message_url can name it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = spawn_app_messaging(&format!("http://{addr}/alipay/gateway")).await;
    let client = demo_for(&app).client().expect("client");
    let inbox = notify_axum::Inbox::default();
    let router = notify_axum::router(client.clone(), inbox.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    // A fund.coupon pay with a notify_url, and a B2C red packet (a fund.trans message).
    let pay = AgreementPayRequest::new(
        OutOrderNo::new("notified-1"),
        OutRequestNo::new("pay-1"),
        "红包",
        Fen::from_fen(500),
        UserId::new(MERCHANT_A),
    )
    .notify_url(format!("http://{addr}/alipay/notify"));
    let paid = client.agreement_pay(&pay).await.expect("paid");
    let b2c = TransferRequest::direct(
        OutBizNo::new("b2c-notified"),
        Fen::from_fen(188),
        Participant::user_id(UserId::new(ALICE)).name(ALICE_NAME),
    );
    let sent = client.transfer(&b2c).await.expect("B2C paid");

    // Delivered by the gateway's notify worker; wait for both (bounded).
    for _ in 0..250 {
        let notified = !inbox.notifies.lock().unwrap().is_empty();
        let messaged = !inbox.messages.lock().unwrap().is_empty();
        if notified && messaged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notifies = inbox.notifies.lock().unwrap().clone();
    assert_eq!(notifies.len(), 1, "one notification, answered success once");
    assert_eq!(notifies[0].auth_no, Some(paid.auth_no.clone()));
    assert_eq!(notifies[0].status, Some(OperationStatus::Success));
    assert_eq!(notifies[0].amount, Some(Fen::from_fen(500)));
    let messages = inbox.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].biz_scene, Some(BizScene::DirectTransfer));
    assert_eq!(messages[0].order_id, Some(sent.order_id.clone()));
    assert_eq!(messages[0].receiver_user_id, Some(UserId::new(ALICE)));
    assert_eq!(messages[0].trans_amount, Some(Fen::from_fen(188)));

    // A post the gateway did not sign is refused, and not recorded.
    let http = post_form(addr, "/alipay/notify", b"notify_id=x&amount=9.99&sign=AAAA").await;
    assert!(http.ends_with("fail"), "{http}");
    let http = post_form(
        addr,
        "/alipay/gateway",
        b"msg_method=alipay.fund.trans.order.changed&biz_content=%7B%7D&sign=AAAA",
    )
    .await;
    assert!(http.ends_with("fail"), "{http}");
    assert_eq!(inbox.notifies.lock().unwrap().len(), 1);
    assert_eq!(inbox.messages.lock().unwrap().len(), 1);
}

/// POSTs a form body over a plain TCP connection and returns the whole HTTP answer as text.
async fn post_form(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> String {
    let request = post_request(path, body, "application/x-www-form-urlencoded");
    let answer = raw(addr, &request).await;
    format!("{} {}", answer.status, String::from_utf8_lossy(&answer.body))
}

#[test]
fn the_readme_example_is_the_tested_crate_doc_example() {
    // The README's lines must appear, in order, among the crate doc example's (which runs as a
    // doc test, its setup lines hidden).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust block in the README");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("lib.rs");
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    let mut at = 0;
    for line in block.lines().filter(|line| !line.trim().is_empty()) {
        let found = doc[at..].iter().position(|doc_line| *doc_line == line);
        let found = found.unwrap_or_else(|| panic!("README line not in the crate doc: {line}"));
        at += found + 1;
    }
}

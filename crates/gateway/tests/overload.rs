//! Overload (issue: reliability): beyond its in-flight capacity the gateway sheds requests at
//! once with a signed 20000 `isp.unknow-error` in the request's own node (HTTP 503 only when the
//! request names no method), does nothing for them, and serves normally afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_protocol::{Charset, SignType};
use hongbao_test_support::*;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_capacity_requests_get_a_signed_20000_and_nothing_happens() {
    let app = Arc::new(
        spawn_app_with(hongbao_gateway::Limits {
            inflight_max: 1,
            admission_wait: std::time::Duration::ZERO,
            ..test_limits()
        })
        .await,
    );
    let auth_no = app.call(PAY, &pay_biz("HOT", "100.00")).await.field("auth_no").to_owned();
    let mut tasks = Vec::new();
    for index in 0..200 {
        let app = Arc::clone(&app);
        let biz = format!(
            r#"{{"out_order_no":"S{index}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"0.01","payee_user_id":"{ALICE}"}}"#
        );
        tasks.push(tokio::spawn(async move {
            let answer = app.call(DISBURSE, &biz).await;
            (answer.code().to_owned(), answer.sub_code().to_owned())
        }));
    }
    let (mut served, mut shed) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            (code, _) if code == "10000" => served += 1,
            (code, sub_code) => {
                assert_eq!((code.as_str(), sub_code.as_str()), ("20000", "isp.unknow-error"));
                shed += 1;
            }
        }
    }
    assert!(shed > 0, "200 concurrent requests through 1 slot shed none");
    assert_eq!(app.balance(ALICE).await, served, "exactly the served disburses moved money");
    app.assert_invariants().await;

    // Without a method there is no node to answer in: HTTP 503.
    let guard = Arc::clone(&app.gateway.inflight).try_acquire_owned().expect("the only slot");
    let anonymous = raw(
        app.addr,
        &post_request("/gateway.do", b"charset=utf-8", "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(anonymous.status, 503);
    let named = raw(
        app.addr,
        &post_request(
            "/gateway.do",
            &Call::new(QUERY, "{}").body(),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    let answer = verify_answer(named, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.code(), "20000");
    drop(guard);
    assert_eq!(
        app.call(QUERY, r#"{"out_order_no":"HOT","out_request_no":"pay1"}"#).await.code(),
        "10000"
    );
}

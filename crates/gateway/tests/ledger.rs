//! The red packet methods end to end through `/gateway.do` (issue: the ledger): the full
//! scenario, exactly-once replays, isolation between apps, business refusals that change nothing,
//! and a hot packet under 64 concurrent claimers. Money invariants are checked after each test.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_store::Store;
use hongbao_test_support::*;
use std::collections::HashSet;

fn disburse_biz(
    out_order_no: &str,
    packet: (&str, &str),
    payee: (&str, &str),
    amount: &str,
) -> String {
    format!(
        r#"{{"out_order_no":"{out_order_no}","{}":"{}","out_request_no":"d1","order_title":"领红包","amount":"{amount}","{}":"{}"}}"#,
        packet.0, packet.1, payee.0, payee.1
    )
}

fn refund_biz(auth_no: &str, out_request_no: &str, amount: &str) -> String {
    format!(
        r#"{{"auth_no":"{auth_no}","out_request_no":"{out_request_no}","amount":"{amount}","remark":"退回"}}"#
    )
}

#[tokio::test]
async fn full_red_packet_scenario() {
    let app = spawn_app().await;
    let pay = app.call(PAY, &pay_biz("P1", "100.00")).await;
    assert_eq!(
        (pay.code(), pay.field("status"), pay.field("amount")),
        ("10000", "SUCCESS", "100.00")
    );
    let auth_no = pay.field("auth_no").to_owned();
    assert_eq!(auth_no.len(), 28);
    assert_eq!(pay.field("operation_id").len(), 20);
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 10000);

    let to_alice = app
        .call(
            DISBURSE,
            &disburse_biz("D1", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "30.00"),
        )
        .await;
    assert_eq!((to_alice.code(), to_alice.field("status")), ("10000", "SUCCESS"));
    assert_ne!(to_alice.field("auth_no"), auth_no, "a disburse is an order of its own");
    let to_bob = app
        .call(
            DISBURSE,
            &disburse_biz(
                "D2",
                ("deduct_out_order_no", "P1"),
                ("payee_logon_id", BOB_LOGON),
                "20.00",
            ),
        )
        .await;
    assert_eq!(to_bob.code(), "10000");
    let refund = app.call(REFUND, &refund_biz(&auth_no, "R1", "50.00")).await;
    assert_eq!((refund.code(), refund.field("amount")), ("10000", "50.00"));
    assert_eq!((app.balance(ALICE).await, app.balance(BOB).await), (3000, 2000));
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 5000);

    // Every lookup path of every operation.
    let operations = [
        ("P1", auth_no.as_str(), "pay1", pay.field("operation_id"), "PAY", "100.00"),
        ("D1", to_alice.field("auth_no"), "d1", to_alice.field("operation_id"), "PAY", "30.00"),
        ("D2", to_bob.field("auth_no"), "d1", to_bob.field("operation_id"), "PAY", "20.00"),
        ("P1", auth_no.as_str(), "R1", refund.field("operation_id"), "REFUND", "50.00"),
    ];
    for (out_order_no, order_auth_no, out_request_no, operation_id, operation_type, amount) in
        operations
    {
        for biz in [
            format!(r#"{{"auth_no":"{order_auth_no}","operation_id":"{operation_id}"}}"#),
            format!(r#"{{"out_order_no":"{out_order_no}","out_request_no":"{out_request_no}"}}"#),
            format!(r#"{{"auth_no":"{order_auth_no}","out_request_no":"{out_request_no}"}}"#),
            format!(r#"{{"out_order_no":"{out_order_no}","operation_id":"{operation_id}"}}"#),
            // Alipay ids win when both are given: a wrong merchant id is ignored.
            format!(
                r#"{{"auth_no":"{order_auth_no}","out_order_no":"nope","operation_id":"{operation_id}","out_request_no":"nope"}}"#
            ),
        ] {
            let found = app.call(QUERY, &biz).await;
            assert_eq!(found.code(), "10000", "{biz}: {}", found.sub_msg());
            assert_eq!(found.field("operation_id"), operation_id, "{biz}");
            assert_eq!(found.field("operation_type"), operation_type);
            assert_eq!(found.field("amount"), amount);
            assert_eq!(found.field("status"), "SUCCESS");
            assert_eq!(found.field("total_pay_refund_amount"), "50.00");
            assert_eq!(found.field("payer_user_id"), MERCHANT_A);
            assert!(hongbao_protocol::common::parse_timestamp(found.field("gmt_create")).is_some());
            assert!(hongbao_protocol::common::parse_timestamp(found.field("gmt_trans")).is_some());
        }
    }
    let bob_view = app.call(QUERY, r#"{"out_order_no":"D2","out_request_no":"d1"}"#).await;
    assert_eq!(bob_view.field("payee_user_id"), BOB);
    assert_eq!(bob_view.field("payee_logon_id"), "138****8000");
    assert_eq!(bob_view.field("order_title"), "领红包");

    // Replays return the original result and move nothing.
    let replay = app.call(PAY, &pay_biz("P1", "100.00")).await;
    for field in ["auth_no", "operation_id", "gmt_trans", "amount", "status"] {
        assert_eq!(replay.field(field), pay.field(field), "{field}");
    }
    let replay = app
        .call(
            DISBURSE,
            &disburse_biz(
                "D1",
                ("deduct_out_order_no", "P1"),
                ("payee_logon_id", ALICE_LOGON),
                "30.00",
            ),
        )
        .await;
    assert_eq!(
        replay.field("operation_id"),
        to_alice.field("operation_id"),
        "same packet and payee by other names is the same request"
    );
    assert_eq!(
        app.call(REFUND, &refund_biz(&auth_no, "R1", "50.00")).await.field("operation_id"),
        refund.field("operation_id")
    );
    // Same ids, other parameters.
    assert_eq!(app.call(PAY, &pay_biz("P1", "99.00")).await.sub_code(), "UNIQUE_VIOLATION");
    assert_eq!(
        app.call(REFUND, &refund_biz(&auth_no, "R1", "1.00")).await.sub_code(),
        "UNIQUE_VIOLATION"
    );
    assert_eq!(
        app.call(REFUND, &refund_biz(&auth_no, "pay1", "1.00")).await.sub_code(),
        "UNIQUE_VIOLATION",
        "reusing the pay's out_request_no"
    );
    // Nothing left: 100 − 30 − 20 − 50.
    assert_eq!(
        app.call(REFUND, &refund_biz(&auth_no, "R2", "0.01")).await.sub_code(),
        "MONEY_NOT_ENOUGH"
    );
    assert_eq!(
        app.call(
            DISBURSE,
            &disburse_biz("D3", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "0.01")
        )
        .await
        .sub_code(),
        "MONEY_NOT_ENOUGH"
    );
    assert_eq!((app.balance(ALICE).await, app.balance(BOB).await), (3000, 2000));
    app.assert_invariants().await;
}

#[tokio::test]
async fn business_refusals_change_nothing() {
    let app = spawn_app().await;
    let auth_no = app.call(PAY, &pay_biz("P", "10.00")).await.field("auth_no").to_owned();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            PAY,
            format!(
                r#"{{"out_order_no":"X1","out_request_no":"1","order_title":"t","amount":"1.00","payer_user_id":"{ALICE}"}}"#
            ),
            "PAYER_NOT_MATCH",
        ),
        (PAY, pay_biz("X2", "100000000.00"), "BALANCE_NOT_ENOUGH"),
        (PAY, pay_biz("X3", "1e3"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz("X4", "0.001"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz("X5", "-1"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz("X6", "100000000.01"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz("X7", "１００"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz(&"x".repeat(65), "1.00"), "ILLEGAL_ARGUMENT"),
        (PAY, pay_biz("X8\\u0001", "1.00"), "ILLEGAL_ARGUMENT"),
        (
            PAY,
            format!(
                r#"{{"out_order_no":"X9","out_request_no":"1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_A}","pay_timeout":"1.5h"}}"#
            ),
            "ILLEGAL_ARGUMENT",
        ),
        (
            DISBURSE,
            disburse_biz(
                "Y1",
                ("deduct_auth_no", &auth_no),
                ("payee_user_id", "2088999999999999"),
                "1.00",
            ),
            "PAYEE_NOT_EXIST",
        ),
        (
            DISBURSE,
            disburse_biz(
                "Y2",
                ("deduct_auth_no", "2000000000000000000000000000"),
                ("payee_user_id", ALICE),
                "1.00",
            ),
            "AUTH_ORDER_NOT_EXIST",
        ),
        (
            DISBURSE,
            disburse_biz("Y3", ("deduct_out_order_no", "nope"), ("payee_user_id", ALICE), "1.00"),
            "AUTH_ORDER_NOT_EXIST",
        ),
        (
            DISBURSE,
            disburse_biz("Y4", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "10.01"),
            "MONEY_NOT_ENOUGH",
        ),
        (
            DISBURSE,
            disburse_biz("P", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "1.00"),
            "UNIQUE_VIOLATION",
        ),
        (
            DISBURSE,
            format!(
                r#"{{"out_order_no":"Y5","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"1.00"}}"#
            ),
            "ILLEGAL_ARGUMENT",
        ),
        (REFUND, refund_biz(&auth_no, "R", "10.01"), "MONEY_NOT_ENOUGH"),
        (REFUND, refund_biz("2000000000000000000000000000", "R", "1.00"), "AUTH_ORDER_NOT_EXIST"),
        (
            REFUND,
            r#"{"auth_no":"x","out_request_no":"R","amount":"1.00"}"#.to_owned(),
            "ILLEGAL_ARGUMENT",
        ),
    ];
    for (method, biz, sub_code) in cases {
        let answer = app.call(method, &biz).await;
        assert_eq!(
            (answer.code(), answer.sub_code()),
            ("40004", sub_code),
            "{method} {biz}: {}",
            answer.sub_msg()
        );
    }
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 1000);
    assert_eq!(app.balance(ALICE).await, 0);
    // A refused request stored nothing: the same ids work once fixed.
    assert_eq!(
        app.call(
            DISBURSE,
            &disburse_biz("Y4", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "10.00")
        )
        .await
        .code(),
        "10000"
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn one_app_can_never_read_or_move_another_apps_orders() {
    let app = spawn_app().await;
    let pay = app.call(PAY, &pay_biz("SHARED", "10.00")).await;
    let auth_no = pay.field("auth_no");
    let as_b = |method: &str, biz: String| Call::new(method, &biz).app(APP_B, app_b_key());
    let forbidden = [
        as_b(
            QUERY,
            format!(r#"{{"auth_no":"{auth_no}","operation_id":"{}"}}"#, pay.field("operation_id")),
        ),
        as_b(
            DISBURSE,
            disburse_biz("B1", ("deduct_auth_no", auth_no), ("payee_user_id", ALICE), "1.00"),
        ),
        as_b(REFUND, refund_biz(auth_no, "B1", "1.00")),
    ];
    for call in forbidden {
        assert_eq!(app.send(&call).await.sub_code(), "ACCESS_FORBIDDEN");
    }
    // Merchant ids are scoped per app: B's "SHARED" is its own, unrelated order.
    let mine = as_b(QUERY, r#"{"out_order_no":"SHARED","out_request_no":"pay1"}"#.into());
    assert_eq!(app.send(&mine).await.sub_code(), "AUTH_ORDER_NOT_EXIST");
    let b_pay = format!(
        r#"{{"out_order_no":"SHARED","out_request_no":"pay1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_B}"}}"#
    );
    assert_eq!(app.send(&as_b(PAY, b_pay)).await.code(), "10000");
    // A's request replayed under B's app_id is B's own request: A's merchant is not B's payer.
    let replay_as_b = Call::new(PAY, &pay_biz("SHARED", "10.00")).app(APP_B, app_b_key());
    assert_eq!(app.send(&replay_as_b).await.sub_code(), "PAYER_NOT_MATCH");
    assert_eq!(app.balance(ALICE).await, 0);
    app.assert_invariants().await;
}

/// 64 tasks claim and refund from one hot packet at once; exactly what the packet allows is
/// paid out, and every 10000 answer is in the ledger exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_packet_under_64_concurrent_claimers() {
    let app = std::sync::Arc::new(spawn_app().await);
    let auth_no = app.call(PAY, &pay_biz("HOT", "10.00")).await.field("auth_no").to_owned();
    let mut tasks = Vec::new();
    for index in 0..64 {
        let app = app.clone();
        let auth_no = auth_no.clone();
        tasks.push(tokio::spawn(async move {
            // Every fourth task refunds 0.30, the others claim 0.25: 48 × 0.25 + 16 × 0.30 = 16.80 > 10.00.
            let answer = if index % 4 == 0 {
                app.call(REFUND, &refund_biz(&auth_no, &format!("R{index}"), "0.30")).await
            } else {
                let payee = if index % 2 == 0 { ALICE } else { BOB };
                app.call(
                    DISBURSE,
                    &disburse_biz(
                        &format!("C{index}"),
                        ("deduct_auth_no", &auth_no),
                        ("payee_user_id", payee),
                        "0.25",
                    ),
                )
                .await
            };
            (
                index,
                answer.code().to_owned(),
                answer.sub_code().to_owned(),
                answer.field("operation_id").to_owned(),
            )
        }));
    }
    let mut paid_out = 0;
    let mut operation_ids = HashSet::new();
    for task in tasks {
        let (index, code, sub_code, operation_id) = task.await.expect("task");
        match code.as_str() {
            "10000" => {
                paid_out += if index % 4 == 0 { 30 } else { 25 };
                assert!(operation_ids.insert(operation_id), "an operation id answered twice");
            }
            "40004" => assert_eq!(sub_code, "MONEY_NOT_ENOUGH"),
            other => panic!("unexpected code {other}"),
        }
    }
    assert!(paid_out <= 1000, "paid out {paid_out} fen from a 1000 fen packet");
    assert!(paid_out > 1000 - 30, "a remainder below the smallest request ({paid_out})");
    let snapshot = app.store.snapshot().await.expect("snapshot");
    let hot = snapshot.packets.iter().find(|p| p.auth_no == auth_no).expect("packet");
    assert_eq!(hot.packet.disbursed.fen() + hot.packet.refunded.fen(), paid_out);
    for operation_id in &operation_ids {
        let count = snapshot
            .operations
            .iter()
            .filter(|op| &op.operation_id == operation_id && op.entries == 1)
            .count();
        assert_eq!(count, 1, "{operation_id} is in the ledger once");
    }
    app.assert_invariants().await;
}

/// N identical requests racing produce one effect and N identical answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_requests_racing_move_money_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let auth_no = app.call(PAY, &pay_biz("RACE", "10.00")).await.field("auth_no").to_owned();
    let biz =
        disburse_biz("RACE-D", ("deduct_auth_no", &auth_no), ("payee_user_id", ALICE), "1.00");
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let app = app.clone();
        let biz = biz.clone();
        tasks.push(tokio::spawn(async move {
            let answer = app.call(DISBURSE, &biz).await;
            (
                answer.code().to_owned(),
                answer.field("operation_id").to_owned(),
                answer.field("gmt_trans").to_owned(),
            )
        }));
    }
    let mut answers = HashSet::new();
    for task in tasks {
        answers.insert(task.await.expect("task"));
    }
    assert_eq!(answers.len(), 1, "every racer got the same answer: {answers:?}");
    assert_eq!(answers.iter().next().map(|a| a.0.as_str()), Some("10000"));
    assert_eq!(app.balance(ALICE).await, 100);
    app.assert_invariants().await;
}

#[tokio::test]
async fn extra_param_and_pay_timeout_are_validated_stored_and_echoed() {
    let app = spawn_app().await;
    // Node's SDK snake-cases nested keys, so extra_param arrives as a string or as an object.
    let as_string = format!(
        r#"{{"out_order_no":"E1","out_request_no":"pay1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_A}","pay_timeout":"90m","extra_param":"{{\"orderExpiredTime\":\"10m\"}}"}}"#
    );
    assert_eq!(app.call(PAY, &as_string).await.code(), "10000");
    let found = app.call(QUERY, r#"{"out_order_no":"E1","out_request_no":"pay1"}"#).await;
    assert_eq!(found.field("extra_param"), r#"{"orderExpiredTime":"10m"}"#);
    let as_object = format!(
        r#"{{"out_order_no":"E2","out_request_no":"pay1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_A}","extra_param":{{"merchantExt":"orderExpiredTime=1m"}}}}"#
    );
    assert_eq!(app.call(PAY, &as_object).await.code(), "10000");
    let found = app.call(QUERY, r#"{"out_order_no":"E2","out_request_no":"pay1"}"#).await;
    assert_eq!(found.field("extra_param"), r#"{"merchantExt":"orderExpiredTime=1m"}"#);
    let too_long = format!(
        r#"{{"out_order_no":"E3","out_request_no":"pay1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_A}","extra_param":"{{\"k\":\"{}\"}}"}}"#,
        "x".repeat(300)
    );
    assert_eq!(app.call(PAY, &too_long).await.sub_code(), "ILLEGAL_ARGUMENT");
    // A replay with another pay_timeout is another request.
    let other_timeout = as_string.replace("90m", "2h");
    assert_eq!(app.call(PAY, &other_timeout).await.sub_code(), "UNIQUE_VIOLATION");
    app.assert_invariants().await;
}

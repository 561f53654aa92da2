//! Round trips against a running hongbao: every served method through the typed calls, under
//! utf-8/RSA2 and GBK/RSA, with business errors as typed gateway errors and replays answered
//! with the first outcome.
//!
//! Method: `hongbao_test_support::spawn_app()` starts an in-process gateway on port 0 with a
//! fresh SQLite file; the client is configured like a merchant's (app A's private key, the
//! gateway's public key) and checks every answer's signature itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_client::{
    AgreementPayRequest, Charset, Client, DisburseRequest, DisburseSubCode, ErrorKind, Fen,
    LogonId, OperationQueryRequest, OperationQuerySubCode, OperationRef, OperationStatus,
    OperationType, OrderRef, OutOrderNo, OutRequestNo, PayTimeout, Payee, RefundRequest,
    RefundSubCode, RetryPolicy, SignType, UserId,
};
use hongbao_test_support::{
    app_a_key, gateway_key, spawn_app, TestApp, ALICE, ALICE_LOGON, APP_A, BOB, BOB_LOGON,
    MERCHANT_A, MERCHANT_BALANCE,
};

fn client_for(app: &TestApp, charset: Charset, sign_type: SignType) -> Client {
    Client::builder(
        format!("http://{}/gateway.do", app.addr),
        APP_A,
        app_a_key(),
        gateway_key().public_key().expect("public"),
    )
    .charset(charset)
    .sign_type(sign_type)
    .retry(RetryPolicy::none())
    .build()
    .expect("client builds")
}

fn fen(text: &str) -> Fen {
    Fen::parse_amount(text).expect("amount")
}

/// The whole packet life through the typed calls; `tag` keeps ids apart between runs.
async fn packet_life(client: &Client, tag: &str) {
    let packet_no = format!("{tag}-packet");
    let title = "红包发放";
    let pay = AgreementPayRequest::new(
        OutOrderNo::new(&packet_no),
        OutRequestNo::new("pay-1"),
        title,
        fen("10.00"),
        UserId::new(MERCHANT_A),
    )
    .pay_timeout(PayTimeout::minutes(30).expect("30m"));
    let paid = client.agreement_pay(&pay).await.expect("pay succeeds");
    assert_eq!(paid.status, OperationStatus::Success);
    assert_eq!(paid.amount, fen("10.00"));
    assert_eq!(paid.out_order_no, Some(OutOrderNo::new(&packet_no)));
    assert_eq!(paid.out_request_no, OutRequestNo::new("pay-1"));
    assert!(paid.gmt_trans.is_some(), "a successful pay has a gmt_trans");

    // A replay of the identical request answers the first outcome; nothing moves twice.
    let replay = client.agreement_pay(&pay).await.expect("replay succeeds");
    assert_eq!(replay, paid);

    let to_alice = DisburseRequest::new(
        OutOrderNo::new(format!("{tag}-claim-a")),
        OrderRef::AuthNo(paid.auth_no.clone()),
        OutRequestNo::new("claim-a"),
        "红包领取",
        fen("3.00"),
        Payee::UserId(UserId::new(ALICE)),
    );
    let claimed = client.disburse(&to_alice).await.expect("disburse to Alice");
    assert_eq!(claimed.status, OperationStatus::Success);
    assert_eq!(claimed.amount, fen("3.00"));

    let to_bob = DisburseRequest::new(
        OutOrderNo::new(format!("{tag}-claim-b")),
        OrderRef::OutOrderNo(OutOrderNo::new(&packet_no)),
        OutRequestNo::new("claim-b"),
        "红包领取",
        fen("2.00"),
        Payee::LogonId(LogonId::new(BOB_LOGON)),
    );
    client.disburse(&to_bob).await.expect("disburse to Bob by logon id");

    // Both ids of one payee are accepted; ids of two users are refused, typed.
    let both = |no: &str, logon_id: &str| {
        DisburseRequest::new(
            OutOrderNo::new(format!("{tag}-{no}")),
            OrderRef::AuthNo(paid.auth_no.clone()),
            OutRequestNo::new(no),
            "红包领取",
            fen("0.50"),
            Payee::UserIdAndLogonId { user_id: UserId::new(BOB), logon_id: LogonId::new(logon_id) },
        )
    };
    client.disburse(&both("claim-c", BOB_LOGON)).await.expect("Bob by both ids");
    let mixed = client.disburse(&both("claim-d", ALICE_LOGON)).await.expect_err("two users");
    assert_eq!(DisburseSubCode::of(&mixed), Some(DisburseSubCode::IllegalArgument));

    // 4.50 is left: refunding 5.00 is a verified business error, not a success.
    let too_much = RefundRequest::new(
        paid.auth_no.clone(),
        OutRequestNo::new("refund-x"),
        fen("5.00"),
        "退回",
    );
    let err = client.refund(&too_much).await.expect_err("over the remainder");
    let gateway = err.gateway().expect("a gateway error");
    assert_eq!(gateway.code(), "40004");
    assert_eq!(gateway.sub_code(), Some("MONEY_NOT_ENOUGH"));
    assert_eq!(RefundSubCode::of(&err), Some(RefundSubCode::MoneyNotEnough));
    assert!(!RefundSubCode::MoneyNotEnough.retry_can_help());
    assert!(gateway.sub_msg().is_some_and(|m| !m.is_empty()));
    assert!(!err.outcome_unknown(), "a business refusal is a known outcome");

    let refund = RefundRequest::new(
        paid.auth_no.clone(),
        OutRequestNo::new("refund-1"),
        fen("4.50"),
        "退回",
    );
    let refunded = client.refund(&refund).await.expect("refund the rest");
    assert_eq!(refunded.amount, fen("4.50"));
    assert_eq!(refunded.status, OperationStatus::Success);

    // Every operation, by merchant ids and by Alipay ids.
    let by_merchant = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::OutOrderNo(OutOrderNo::new(&packet_no)),
            OperationRef::OutRequestNo(OutRequestNo::new("pay-1")),
        ))
        .await
        .expect("query the pay");
    assert_eq!(by_merchant.operation_type, OperationType::Pay);
    assert_eq!(by_merchant.operation_id, paid.operation_id);
    assert_eq!(by_merchant.amount, fen("10.00"));
    assert_eq!(by_merchant.order_title.as_deref(), Some(title));
    assert_eq!(by_merchant.payer_user_id, Some(UserId::new(MERCHANT_A)));
    assert!(by_merchant.gmt_create.is_some());
    assert_eq!(by_merchant.total_pay_refund_amount, Some(fen("4.50")));

    let disburse = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::AuthNo(claimed.auth_no.clone()),
            OperationRef::OperationId(claimed.operation_id.clone()),
        ))
        .await
        .expect("query the disburse");
    assert_eq!(disburse.operation_type, OperationType::Pay);
    assert_eq!(disburse.payee_user_id, Some(UserId::new(ALICE)));
    assert_eq!(disburse.amount, fen("3.00"));

    let refund_detail = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::AuthNo(paid.auth_no.clone()),
            OperationRef::OutRequestNo(OutRequestNo::new("refund-1")),
        ))
        .await
        .expect("query the refund");
    assert_eq!(refund_detail.operation_type, OperationType::Refund);
    assert_eq!(refund_detail.status, OperationStatus::Success);
    assert_eq!(refund_detail.amount, fen("4.50"));
    assert_eq!(refund_detail.remark.as_deref(), Some("退回"));

    let missing = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::OutOrderNo(OutOrderNo::new(format!("{tag}-nope"))),
            OperationRef::OutRequestNo(OutRequestNo::new("nope")),
        ))
        .await
        .expect_err("unknown order");
    assert_eq!(missing.gateway().and_then(|g| g.sub_code()), Some("AUTH_ORDER_NOT_EXIST"));
    assert_eq!(OperationQuerySubCode::of(&missing), Some(OperationQuerySubCode::AuthOrderNotExist));
}

#[tokio::test]
async fn every_method_round_trips_in_utf8_rsa2_and_gbk_rsa() {
    let app = spawn_app().await;
    let utf8 = client_for(&app, Charset::Utf8, SignType::Rsa2);
    let gbk = client_for(&app, Charset::Gbk, SignType::Rsa);
    packet_life(&utf8, "u8").await;
    packet_life(&gbk, "gbk").await;
    app.assert_invariants().await;
    // Two packets of 10.00: 5.50 each went to users (3.00 to Alice, 2.00 + 0.50 to Bob),
    // 4.50 each came back.
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 2 * 550);
    assert_eq!(app.balance(ALICE).await, 2 * 300);
    assert_eq!(app.balance(BOB).await, 2 * 250);
}

#[tokio::test]
async fn execute_returns_the_verified_node_and_gateway_errors_are_typed() {
    let app = spawn_app().await;
    let client = client_for(&app, Charset::Utf8, SignType::Rsa2);
    let biz = format!(
        r#"{{"out_order_no":"raw-1","out_request_no":"pay-1","order_title":"t","amount":"1.00","payer_user_id":"{MERCHANT_A}"}}"#
    );
    let node = client.execute(hongbao_client::AGREEMENT_PAY, &biz).await.expect("pays");
    assert_eq!(node.code(), "10000");
    assert_eq!(node.get("amount"), Some("1.00"));
    assert!(node.node().starts_with("{\"code\":\"10000\""));

    let err = client.execute("alipay.no.such.method", "{}").await.expect_err("unknown method");
    match err.kind() {
        ErrorKind::Gateway(gateway) => {
            assert_eq!(gateway.code(), "40002");
            assert_eq!(gateway.sub_code(), Some("isv.invalid-method"));
        }
        other => panic!("expected a verified gateway error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_with_the_wrong_gateway_key_rejects_real_answers() {
    let app = spawn_app().await;
    let client = Client::builder(
        format!("http://{}/gateway.do", app.addr),
        APP_A,
        app_a_key(),
        hongbao_test_support::stranger_key().public_key().expect("public"),
    )
    .retry(RetryPolicy::none())
    .build()
    .expect("builds");
    let err = client
        .agreement_pay(&AgreementPayRequest::new(
            OutOrderNo::new("k-1"),
            OutRequestNo::new("pay-1"),
            "t",
            fen("1.00"),
            UserId::new(MERCHANT_A),
        ))
        .await
        .expect_err("unverifiable");
    assert_eq!(
        err.kind(),
        &ErrorKind::Signature(hongbao_client::SignatureFailure::Mismatch),
        "{err}"
    );
    assert!(err.outcome_unknown(), "the pay did happen, but the client cannot know it");
}

/// Interface content encryption: the same packet life with the app's AES key, in utf-8/RSA2 and
/// GBK/RSA; the gateway receives ciphertext (it would refuse a ciphertext it cannot open) and
/// the client reads answers that came encrypted. A client holding another key gets the
/// gateway's verified 40003, answered in clear.
#[tokio::test]
async fn every_method_round_trips_encrypted() {
    use hongbao_test_support::{encrypt_key, APP_A_ENCRYPT_KEY};
    let app = spawn_app().await;
    let encrypted = |charset, sign_type, key: &str| {
        Client::builder(
            format!("http://{}/gateway.do", app.addr),
            APP_A,
            app_a_key(),
            gateway_key().public_key().expect("public"),
        )
        .charset(charset)
        .sign_type(sign_type)
        .encrypt_key(encrypt_key(key))
        .retry(RetryPolicy::none())
        .build()
        .expect("client builds")
    };
    packet_life(&encrypted(Charset::Utf8, SignType::Rsa2, APP_A_ENCRYPT_KEY), "aes-u8").await;
    packet_life(&encrypted(Charset::Gbk, SignType::Rsa, APP_A_ENCRYPT_KEY), "aes-gbk").await;
    assert_eq!(app.balance(ALICE).await, 2 * 300);

    // The answers really came encrypted: the same call over raw HTTP shows a string node.
    let call = hongbao_test_support::Call::new(
        hongbao_client::OPERATION_QUERY,
        r#"{"out_order_no":"aes-u8-packet","out_request_no":"pay-1"}"#,
    )
    .encrypted(encrypt_key(APP_A_ENCRYPT_KEY));
    let answer = app.send(&call).await;
    assert!(answer.encrypted && answer.field("amount") == "10.00", "{:?}", answer.node);

    let wrong = encrypted(Charset::Utf8, SignType::Rsa2, "MDEyMzQ1Njc4OWFiY2RlZg==");
    let err = wrong
        .agreement_pay(&AgreementPayRequest::new(
            OutOrderNo::new("aes-w"),
            OutRequestNo::new("pay-1"),
            "t",
            fen("1.00"),
            UserId::new(MERCHANT_A),
        ))
        .await
        .expect_err("another key");
    let gateway = err.gateway().expect("a verified gateway error");
    assert_eq!(
        (gateway.code(), gateway.sub_code()),
        ("40003", Some("isv.decryption-error-unknown"))
    );
    assert!(!err.outcome_unknown());
    app.assert_invariants().await;
}

/// The page.pay URL and the app.pay order string of an encrypting client carry
/// `encrypt_type=AES` and ciphertext, and the cashier and the wallet open them.
#[tokio::test]
async fn encrypted_page_and_app_requests_reach_the_cashier_and_the_wallet() {
    use hongbao_client::{AppPayRequest, CashierPayRequest};
    use hongbao_test_support::{encode_component, encrypt_key, raw, APP_A_ENCRYPT_KEY};
    let app = spawn_app().await;
    let gateway = format!("http://{}/gateway.do", app.addr);
    let client = Client::builder(&gateway, APP_A, app_a_key(), gateway_key().public_key().unwrap())
        .encrypt_key(encrypt_key(APP_A_ENCRYPT_KEY))
        .build()
        .expect("client builds");
    let get = |path: String| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let url = client
        .page_pay_url(&CashierPayRequest::new(
            OutOrderNo::new("aes-page"),
            OutRequestNo::new("pay-1"),
            "加密红包",
            fen("1.11"),
        ))
        .expect("url");
    assert!(url.contains("encrypt_type=AES") && !url.contains("aes-page"), "{url}");
    let path = url.strip_prefix(&format!("http://{}", app.addr)).expect("on the gateway");
    let redirect = raw(app.addr, &get(path.to_owned())).await;
    assert_eq!(redirect.status, 303, "{}", String::from_utf8_lossy(&redirect.body));
    let cashier = raw(app.addr, &get(redirect.header("location").unwrap().to_owned())).await;
    assert!(String::from_utf8_lossy(&cashier.body).contains("加密红包"));

    let order = client
        .app_pay_order_string(&AppPayRequest::new(
            OutOrderNo::new("aes-app"),
            OutRequestNo::new("pay-1"),
            "钱包红包",
            fen("2.22"),
        ))
        .expect("order string");
    assert!(order.contains("encrypt_type=AES") && !order.contains("aes-app"), "{order}");
    let encoded: String = encode_component(order.as_bytes()).into_iter().map(char::from).collect();
    let wallet = raw(app.addr, &get(format!("/wallet?order_string={encoded}"))).await;
    let html = String::from_utf8_lossy(&wallet.body).into_owned();
    assert_eq!(wallet.status, 200, "{html}");
    assert!(html.contains("钱包红包") && html.contains("2.22"), "{html}");
}

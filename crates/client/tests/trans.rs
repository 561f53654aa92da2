//! Today's red packet product (`STD_RED_PACKET` over `alipay.fund.trans.*`) through the typed
//! calls against a running hongbao, in both key modes: a public-key app (utf-8/RSA2, GBK/RSA
//! and with interface content encryption) and a certificate-mode app configured from its three
//! certificate files (clear and encrypted). One life:
//! the send's order string paid in the wallet and its result verified, claims by account id
//! and by logon id, a replay, typed refusals, returns (a refused one resubmitted under its
//! number), every query path, a B2C red packet, and the `alipay.fund.trans.order.changed`
//! messages received at the app's application gateway and verified by the client.
//!
//! Method: `spawn_app_messaging` starts an in-process gateway on a free loopback port whose
//! apps post their messages to an axum inbox of this test; the client checks every answer's
//! signature itself. Money is checked by the sandbox balances and the ledger's invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use axum::extract::State;
use axum::routing::post;
use hongbao_client::*;
use hongbao_test_support::*;
use std::sync::{Arc, Mutex};

/// The bodies the app's application gateway received.
#[derive(Default)]
struct Inbox(Mutex<Vec<Vec<u8>>>);

async fn receive(State(inbox): State<Arc<Inbox>>, body: axum::body::Bytes) -> &'static str {
    inbox.0.lock().expect("lock").push(body.to_vec());
    "success"
}

/// The inbox and the `message_url` that names it.
async fn start_inbox() -> (Arc<Inbox>, String) {
    let inbox = Arc::new(Inbox::default());
    let router =
        axum::Router::new().route("/gateway", post(receive)).with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (inbox, format!("http://{addr}/gateway"))
}

impl Inbox {
    /// Waits (bounded) for the message about `out_biz_no` in `scene`; every message received
    /// so far must verify with the client.
    async fn wait_for(
        &self,
        client: &Client,
        scene: BizScene,
        out_biz_no: &str,
    ) -> TransOrderChanged {
        for _ in 0..250 {
            let bodies = self.0.lock().expect("lock").clone();
            let messages: Vec<TransOrderChanged> = bodies
                .iter()
                .map(|body| client.verify_trans_message_form(body).expect("a message verifies"))
                .collect();
            let found = messages.into_iter().find(|message| {
                message.biz_scene.as_ref() == Some(&scene)
                    && message.out_biz_no.as_ref().map(OutBizNo::as_str) == Some(out_biz_no)
            });
            if let Some(message) = found {
                assert_eq!(message.app_id.as_deref(), Some(client.app_id()));
                return message;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no {scene:?} message for {out_biz_no}");
    }
}

fn fen(text: &str) -> Fen {
    Fen::parse_amount(text).expect("amount")
}

fn gateway_url(app: &TestApp) -> String {
    format!("http://{}/gateway.do", app.addr)
}

/// APP_A, configured with keys.
fn public_key_client(app: &TestApp, charset: Charset, sign_type: SignType) -> Client {
    public_key_builder(app, charset, sign_type).build().expect("client builds")
}

fn public_key_builder(app: &TestApp, charset: Charset, sign_type: SignType) -> ClientBuilder {
    Client::builder(gateway_url(app), APP_A, app_a_key(), gateway_key().public_key().expect("pk"))
        .charset(charset)
        .sign_type(sign_type)
        .retry(RetryPolicy::none())
}

/// APP_C, configured as a merchant would: the three files of the console.
fn certificate_builder(app: &TestApp, dir: &std::path::Path) -> ClientBuilder {
    let files = [
        ("appCertPublicKey_2021000000000003.crt", app_c_cert().to_pem().expect("pem")),
        ("alipayCertPublicKey_RSA2.crt", gateway_cert().to_pem().expect("pem")),
        ("alipayRootCert.crt", root_bundle_pem().to_owned()),
    ];
    for (name, pem) in &files {
        std::fs::write(dir.join(name), pem).expect("write");
    }
    let certs =
        Certificates::from_files(dir.join(files[0].0), dir.join(files[1].0), dir.join(files[2].0))
            .expect("the certificate files");
    Client::builder_with_certificates(gateway_url(app), APP_C, app_c_key(), certs)
        .retry(RetryPolicy::none())
}

/// The whole STD_RED_PACKET life of one send through `client`; `tag` keeps ids apart.
async fn red_packet_life(app: &TestApp, inbox: &Inbox, client: &Client, tag: &str) {
    let id = |name: &str| format!("{tag}-{name}");
    let sender = MERCHANT_B; // a user with a balance, paying in the wallet
    let sender_before = app.balance(sender).await;
    let (alice_before, bob_before) = (app.balance(ALICE).await, app.balance(BOB).await);
    let merchant_before = app.balance(MERCHANT_A).await;

    // The send: an order string signed by the merchant server, paid in the wallet.
    let send =
        TransAppPayRequest::new(OutBizNo::new(id("send")), fen("100.00"), UserId::new(sender))
            .order_title("拼手气红包")
            .passback_params("room-8");
    let order_string = client.trans_app_pay_order_string(&send).expect("signed");
    let by_send_no =
        CommonQueryRequest::by_out_biz_no(OutBizNo::new(id("send")), BizScene::PersonalPay);
    let unseen = client.common_query(&by_send_no).await.expect_err("not opened yet");
    assert_eq!(CommonQuerySubCode::of(&unseen), Some(CommonQuerySubCode::OrderNotExist));
    assert!(CommonQuerySubCode::OrderNotExist.retry_can_help());

    let result = app.wallet_pay(&order_string, sender).await;
    let paid = client.verify_trans_app_pay_result(&result).expect("the wallet's result verifies");
    assert_eq!(
        (paid.out_biz_no.as_str(), &paid.status),
        (id("send").as_str(), &TransStatus::Success)
    );
    let send_id = paid.order_id.clone().expect("a paid send has an order_id");
    let forged = client.verify_trans_app_pay_result(&result.replace("SUCCESS", "CLOSED"));
    assert!(
        matches!(forged.as_ref().map_err(Error::kind), Err(ErrorKind::Signature(_))),
        "{forged:?}"
    );
    assert_eq!(app.balance(sender).await, sender_before - 10_000);
    let message = inbox.wait_for(client, BizScene::PersonalPay, &id("send")).await;
    assert_eq!(message.status, Some(TransStatus::Success));
    assert_eq!(message.order_id.as_ref(), Some(&send_id));
    assert_eq!(message.trans_amount, Some(fen("100.00")));
    assert_eq!(message.passback_params.as_deref(), Some("room-8"));
    assert_eq!(message.origin_interface.as_deref(), Some(TRANS_APP_PAY));

    // Claims: by account id (with the real name checked), by logon id; a replay; refusals.
    let alice = Participant::user_id(UserId::new(ALICE)).name(ALICE_NAME);
    let claim = TransferRequest::claim(
        OutBizNo::new(id("claim-1")),
        send_id.clone(),
        fen("30.00"),
        alice.clone(),
    )
    .order_title("红包领取");
    let claimed = client.transfer(&claim).await.expect("claimed");
    assert_eq!(claimed.status, TransStatus::Success);
    assert_eq!(claimed.out_biz_no, OutBizNo::new(id("claim-1")));
    assert_ne!(claimed.order_id, send_id, "a claim is a document of its own");
    assert!(claimed.trans_date.is_some());
    let claim_flow = claimed.pay_fund_order_id.clone().expect("a paid claim has a fund flow");
    assert_eq!(client.transfer(&claim).await.expect("replayed"), claimed, "a replay");
    let mut changed = claim.clone();
    changed.trans_amount = fen("31.00");
    let err = client.transfer(&changed).await.expect_err("same out_biz_no, other amount");
    assert_eq!(TransferSubCode::of(&err), Some(TransferSubCode::PaymentInfoInconsistency));
    let bob = Participant::logon_id(LogonId::new(BOB_LOGON), "鲍勃");
    let by_logon =
        TransferRequest::claim(OutBizNo::new(id("claim-2")), send_id.clone(), fen("20.00"), bob);
    assert_eq!(
        client.transfer(&by_logon).await.expect("claimed by logon id").status,
        TransStatus::Success
    );
    let greedy = TransferRequest::claim(
        OutBizNo::new(id("claim-3")),
        send_id.clone(),
        fen("50.01"),
        alice.clone(),
    );
    let err = client.transfer(&greedy).await.expect_err("50.00 is left");
    assert_eq!(TransferSubCode::of(&err), Some(TransferSubCode::PaymentMoneyNotEnough));
    assert!(!err.outcome_unknown() && !err.is_retryable());
    let impostor = Participant::user_id(UserId::new(ALICE)).name("李四");
    let wrong_name = TransferRequest::claim(
        OutBizNo::new(id("claim-4")),
        send_id.clone(),
        fen("1.00"),
        impostor,
    );
    let err = client.transfer(&wrong_name).await.expect_err("not Alice's real name");
    assert_eq!(TransferSubCode::of(&err), Some(TransferSubCode::PayeeUserinfoError));
    let nowhere = TransferRequest::claim(
        OutBizNo::new(id("claim-5")),
        OrderId::new("20261118110075000006640099999999"),
        fen("1.00"),
        alice.clone(),
    );
    let err = client.transfer(&nowhere).await.expect_err("no such send");
    assert_eq!(TransferSubCode::of(&err), Some(TransferSubCode::OrderNotExist));
    assert_eq!(app.balance(ALICE).await, alice_before + 3000);
    assert_eq!(app.balance(BOB).await, bob_before + 2000);
    let message = inbox.wait_for(client, BizScene::PersonalCollection, &id("claim-1")).await;
    assert_eq!(message.receiver_user_id, Some(UserId::new(ALICE)));
    assert_eq!(message.trans_amount, Some(fen("30.00")));

    // Returns: 10.00, then 40.01 refused (40.00 is left) and resubmitted under its number.
    let back = client
        .trans_refund(
            &TransRefundRequest::new(
                send_id.clone(),
                OutRequestNo::new(id("return-1")),
                fen("10.00"),
            )
            .remark("退回"),
        )
        .await
        .expect("returned");
    assert_eq!(
        (back.order_id.clone(), back.refund_amount, back.status.clone()),
        (send_id.clone(), fen("10.00"), TransStatus::Success)
    );
    assert_eq!(back.out_request_no, OutRequestNo::new(id("return-1")));
    let over =
        TransRefundRequest::new(send_id.clone(), OutRequestNo::new(id("return-2")), fen("40.01"));
    let err = client.trans_refund(&over).await.expect_err("more than is left");
    assert_eq!(TransRefundSubCode::of(&err), Some(TransRefundSubCode::RefundMoneyNotEnough));
    let rest =
        TransRefundRequest::new(send_id.clone(), OutRequestNo::new(id("return-2")), fen("40.00"));
    assert_eq!(client.trans_refund(&rest).await.expect("resubmitted").refund_amount, fen("40.00"));
    assert_eq!(app.balance(sender).await, sender_before - 5000);
    let message = inbox.wait_for(client, BizScene::Refund, &id("return-1")).await;
    assert!(message.refund_date.is_some());

    // Every query path.
    let found = client.common_query(&by_send_no).await.expect("the send");
    assert_eq!((found.order_id.as_ref(), &found.status), (Some(&send_id), &TransStatus::Success));
    assert_eq!(found.trans_amount, Some(fen("100.00")));
    assert_eq!(found.passback_params.as_deref(), Some("room-8"));
    let by_order = CommonQueryRequest::by_order_id(claimed.order_id.clone());
    let found = client.common_query(&by_order).await.expect("the claim");
    assert_eq!(found.receiver_user_id, Some(UserId::new(ALICE)));
    assert_eq!(found.trans_amount, Some(fen("30.00")));
    let by_flow = CommonQueryRequest::by_pay_fund_order_id(claim_flow);
    let found = client.common_query(&by_flow).await.expect("the claim by its fund flow");
    assert_eq!(found.out_biz_no, Some(OutBizNo::new(id("claim-1"))));
    let by_return = CommonQueryRequest::by_return(OutRequestNo::new(id("return-1")));
    let found = client.common_query(&by_return).await.expect("the return");
    assert_eq!((found.order_id.as_ref(), &found.status), (Some(&send_id), &TransStatus::Success));
    assert_eq!(found.trans_amount, Some(fen("10.00")));
    let by_refund_id = CommonQueryRequest::by_refund_order_id(back.refund_order_id.clone());
    assert_eq!(client.common_query(&by_refund_id).await.expect("by its number"), found);

    // A B2C red packet from the app's merchant account.
    let b2c = TransferRequest::direct(OutBizNo::new(id("b2c")), fen("8.88"), alice)
        .order_title("B2C现金红包")
        .remark("感谢参与");
    let gift = client.transfer(&b2c).await.expect("B2C paid");
    assert_eq!(gift.status, TransStatus::Success);
    let by_b2c_no =
        CommonQueryRequest::by_out_biz_no(OutBizNo::new(id("b2c")), BizScene::DirectTransfer);
    assert_eq!(client.common_query(&by_b2c_no).await.expect("found").order_id, Some(gift.order_id));
    assert_eq!(app.balance(MERCHANT_A).await, merchant_before - 888);
    assert_eq!(app.balance(ALICE).await, alice_before + 3000 + 888);
    let message = inbox.wait_for(client, BizScene::DirectTransfer, &id("b2c")).await;
    assert_eq!(message.origin_interface.as_deref(), Some(TRANS_UNI_TRANSFER));

    app.assert_invariants().await;
}

#[tokio::test]
async fn a_red_packet_life_with_a_public_key_app_in_utf8_rsa2_gbk_rsa_and_encrypted() {
    let (inbox, message_url) = start_inbox().await;
    let app = spawn_app_messaging(&message_url).await;
    red_packet_life(&app, &inbox, &public_key_client(&app, Charset::Utf8, SignType::Rsa2), "u")
        .await;
    red_packet_life(&app, &inbox, &public_key_client(&app, Charset::Gbk, SignType::Rsa), "g").await;
    // Interface content encryption: requests, the order string and answers are AES ciphertext;
    // the wallet's result and the messages stay clear.
    let encrypted = public_key_builder(&app, Charset::Gbk, SignType::Rsa2)
        .encrypt_key(encrypt_key(APP_A_ENCRYPT_KEY))
        .build()
        .expect("client builds");
    red_packet_life(&app, &inbox, &encrypted, "e").await;
    let send = TransAppPayRequest::new(OutBizNo::new("e-x"), fen("1.00"), UserId::new(MERCHANT_B));
    let order_string = encrypted.trans_app_pay_order_string(&send).expect("signed");
    assert!(order_string.contains("encrypt_type=AES"), "{order_string}");
    assert!(!order_string.contains("e-x") && !order_string.contains("STD_RED_PACKET"));
}

#[tokio::test]
async fn a_red_packet_life_with_a_certificate_app_configured_from_files_clear_and_encrypted() {
    let (inbox, message_url) = start_inbox().await;
    let app = spawn_app_messaging(&message_url).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = certificate_builder(&app, dir.path()).build().expect("client builds");
    red_packet_life(&app, &inbox, &client, "c").await;
    assert_eq!(client.known_alipay_cert_sns(), vec![gateway_cert().sn().to_owned()]);
    let encrypted = certificate_builder(&app, dir.path())
        .encrypt_key(encrypt_key(APP_C_ENCRYPT_KEY))
        .build()
        .expect("client builds");
    red_packet_life(&app, &inbox, &encrypted, "ce").await;
}

//! `STD_RED_PACKET` over `alipay.fund.trans.*` through the gateway, over raw HTTP: a send paid
//! in the wallet by its bound payer, claims, a B2C red packet, returns, every query path, the
//! automatic return on the sandbox clock, the `alipay.fund.trans.order.changed` messages (signed,
//! to the app's message_url), and the product's refusals, each a signed error that changes
//! nothing. Both products share one ledger: a fund.coupon disburse cannot name a send.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use axum::extract::State;
use axum::routing::post;
use hongbao_protocol::form::parse_form;
use hongbao_protocol::method::{
    TRANS_APP_PAY, TRANS_COMMON_QUERY, TRANS_ORDER_CHANGED, TRANS_REFUND, TRANS_UNI_TRANSFER,
};
use hongbao_protocol::sign_content::verify_notify;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_test_support::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The messages the app's application gateway received.
#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Vec<u8>>>,
}

async fn receive(State(inbox): State<Arc<Inbox>>, body: axum::body::Bytes) -> &'static str {
    inbox.messages.lock().expect("lock").push(body.to_vec());
    "success"
}

async fn start_inbox() -> (Arc<Inbox>, SocketAddr) {
    let inbox = Arc::new(Inbox::default());
    let router =
        axum::Router::new().route("/gateway", post(receive)).with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (inbox, addr)
}

impl Inbox {
    /// The verified messages so far, as (params, biz_content JSON).
    fn verified(&self) -> Vec<(Params, serde_json::Value)> {
        let public = gateway_key().public_key().expect("public");
        self.messages
            .lock()
            .expect("lock")
            .iter()
            .map(|body| {
                let params: Params = parse_form(body)
                    .expect("form")
                    .into_iter()
                    .map(|(k, v)| {
                        (String::from_utf8(k).expect("utf-8"), String::from_utf8(v).expect("utf-8"))
                    })
                    .collect();
                assert_eq!(params.get("sign_type"), Some("RSA2"));
                assert!(
                    verify_notify(&params, Charset::Utf8, &public),
                    "a message verifies with the gateway key"
                );
                let content = serde_json::from_str(params.get("biz_content").expect("content"))
                    .expect("biz_content is JSON");
                (params, content)
            })
            .collect()
    }

    /// Waits until a message with this scene, status, order and out_biz_no arrived; returns its
    /// biz_content.
    async fn wait_for(
        &self,
        scene: &str,
        status: &str,
        order_id: &str,
        out_biz_no: &str,
    ) -> serde_json::Value {
        for _ in 0..200 {
            let found = self.verified().into_iter().find(|(_, content)| {
                content["biz_scene"] == scene
                    && content["status"] == status
                    && content["order_id"] == order_id
                    && content["out_biz_no"] == out_biz_no
            });
            if let Some((params, content)) = found {
                assert_eq!(params.get("msg_method"), Some(TRANS_ORDER_CHANGED));
                assert_eq!(params.get("version"), Some("1.1"));
                assert_eq!(params.get("app_id"), Some(APP_A));
                return content;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no {scene} {status} message for {order_id}: {:?}", self.verified());
    }
}

fn send_biz(out_biz_no: &str, amount: &str, payer: &str) -> String {
    format!(
        r#"{{"out_biz_no":"{out_biz_no}","trans_amount":"{amount}","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY","order_title":"拼手气红包","business_params":{{"sub_biz_scene":"REDPACKET","payer_binded_alipay_uid":"{payer}"}},"passback_params":"{{\"k\":\"v\"}}"}}"#
    )
}

fn claim_biz(out_biz_no: &str, order_id: &str, amount: &str, payee: &str) -> String {
    format!(
        r#"{{"out_biz_no":"{out_biz_no}","trans_amount":{amount},"product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_COLLECTION","original_order_id":"{order_id}","payee_info":{{"identity":"{payee}","identity_type":"ALIPAY_USER_ID"}},"business_params":"{{\"sub_biz_scene\":\"REDPACKET\"}}"}}"#
    )
}

/// Pays a send's order string in the wallet as `login`; returns the wallet's JSON answer.
async fn wallet_pay(app: &TestApp, order_string: &[u8], login: &str) -> serde_json::Value {
    let encoded: String = encode_component(order_string).into_iter().map(char::from).collect();
    let page = raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await;
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert_eq!(page.status, 200, "{html}");
    let auth_no = html
        .split("name=\"auth_no\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the wallet shows the send")
        .to_owned();
    let form: Params = [
        ("auth_no", auth_no.as_str()),
        ("login", login),
        ("password", "111111"),
        ("action", "pay"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .collect();
    let body = form.to_form(Charset::Utf8).expect("form");
    let mut request = post_request("/wallet/pay", &body, "application/x-www-form-urlencoded");
    let at = request.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    request.splice(at..at, b"\r\nAccept: application/json".iter().copied());
    let http = raw(app.addr, &request).await;
    serde_json::from_slice(&http.body).unwrap_or_else(
        |_| serde_json::json!({ "html": String::from_utf8_lossy(&http.body).into_owned() }),
    )
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_send_is_paid_claimed_returned_and_queried_on_one_ledger() {
    let (inbox, inbox_addr) = start_inbox().await;
    let app = spawn_app_messaging(&format!("http://{inbox_addr}/gateway")).await;
    let sender = MERCHANT_B; // a user with a balance, paying from the wallet
    let before = app.balance(sender).await;

    // Send: the order string is paid in the wallet, only by the bound payer.
    let order_string = Call::new(TRANS_APP_PAY, &send_biz("S1", "100.00", sender)).body();
    let refused = wallet_pay(&app, &order_string, ALICE).await;
    assert!(
        refused["html"].as_str().unwrap_or("").contains("PAYER_NOT_MATCH")
            || refused["html"].as_str().unwrap_or("").contains("付款人"),
        "{refused}"
    );
    // Reopened a minute later (a payer coming back), the order string names the same send.
    app.clock.advance_ms(60_000);
    let paid = wallet_pay(&app, &order_string, sender).await;
    assert_eq!(paid["resultStatus"], "9000", "{paid}");
    let result = paid["result"].as_str().expect("result");
    let node =
        hongbao_protocol::envelope::find_signed_node(result, "alipay_fund_trans_app_pay_response")
            .expect("the signed app.pay response");
    let public = gateway_key().public_key().expect("public");
    assert!(public.verify(
        SignType::Rsa2,
        node.node.as_bytes(),
        node.sign.as_deref().expect("sign")
    ));
    let answer: serde_json::Value = serde_json::from_str(node.node).expect("json");
    assert_eq!(answer["status"], "SUCCESS");
    assert_eq!(answer["out_biz_no"], "S1");
    let order_id = answer["order_id"].as_str().expect("order_id").to_owned();
    assert_eq!(order_id.len(), 32, "fund.trans ids are 32 digits");
    assert_eq!(app.balance(sender).await, before - 10_000);
    let message = inbox.wait_for("PERSONAL_PAY", "SUCCESS", &order_id, "S1").await;
    assert_eq!(message["action_type"], "FINISH");
    assert_eq!(message["origin_interface"], TRANS_APP_PAY);
    assert_eq!(message["trans_amount"], "100.00");
    assert_eq!(message["passback_params"], "{\"k\":\"v\"}");

    // Two claims; the second is refused when it overdraws; an identical claim replays.
    let first = app.call(TRANS_UNI_TRANSFER, &claim_biz("C1", &order_id, "30.00", ALICE)).await;
    assert_eq!(first.code(), "10000", "{:?}", first.node);
    assert_eq!(first.field("status"), "SUCCESS");
    let again = app.call(TRANS_UNI_TRANSFER, &claim_biz("C1", &order_id, "30.00", ALICE)).await;
    assert_eq!(again.field("order_id"), first.field("order_id"), "an identical claim replays");
    let other = app.call(TRANS_UNI_TRANSFER, &claim_biz("C1", &order_id, "31.00", ALICE)).await;
    assert_eq!(other.sub_code(), "PAYMENT_INFO_INCONSISTENCY");
    assert_eq!(other.field("out_biz_no"), "C1", "a failure echoes out_biz_no");
    let over = app.call(TRANS_UNI_TRANSFER, &claim_biz("C2", &order_id, "70.01", BOB)).await;
    assert_eq!(over.sub_code(), "PAYMENT_MONEY_NOT_ENOUGH");
    let second = app.call(TRANS_UNI_TRANSFER, &claim_biz("C2", &order_id, "50.00", BOB)).await;
    assert_eq!(second.code(), "10000", "{:?}", second.node);
    assert_eq!(app.balance(ALICE).await, 3_000);
    assert_eq!(app.balance(BOB).await, 5_000);

    // A payee named by logon id must carry the right real name.
    let named = |name: &str| {
        format!(
            r#"{{"out_biz_no":"C3","trans_amount":"1.00","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_COLLECTION","original_order_id":"{order_id}","payee_info":{{"identity":"{ALICE_LOGON}","identity_type":"ALIPAY_LOGON_ID","name":"{name}"}},"business_params":{{"sub_biz_scene":"REDPACKET"}}}}"#
        )
    };
    assert_eq!(
        app.call(TRANS_UNI_TRANSFER, &named("李四")).await.sub_code(),
        "PAYEE_USERINFO_ERROR"
    );
    assert_eq!(app.call(TRANS_UNI_TRANSFER, &named(ALICE_NAME)).await.code(), "10000");

    // A return of part of the rest; more than is left is refused; the same request replays.
    let ret = |no: &str, amount: &str| {
        format!(
            r#"{{"order_id":"{order_id}","out_request_no":"{no}","refund_amount":"{amount}","remark":"红包退回"}}"#
        )
    };
    assert_eq!(
        app.call(TRANS_REFUND, &ret("R1", "19.01")).await.sub_code(),
        "REFUND_MONEY_NOT_ENOUGH"
    );
    let returned = app.call(TRANS_REFUND, &ret("R1", "10.00")).await;
    assert_eq!(returned.code(), "10000", "{:?}", returned.node);
    assert_eq!(returned.field("refund_amount"), "10.00");
    assert_eq!(returned.field("order_id"), order_id);
    let replayed = app.call(TRANS_REFUND, &ret("R1", "10.00")).await;
    assert_eq!(replayed.field("refund_order_id"), returned.field("refund_order_id"));
    assert_eq!(
        app.call(TRANS_REFUND, &ret("R1", "5.00")).await.sub_code(),
        "REFUND_INFO_INCONSISTENCY"
    );
    assert_eq!(app.balance(sender).await, before - 10_000 + 1_000);

    // Every query path names the same documents.
    let app = &app;
    let query = |biz: String| async move { app.call(TRANS_COMMON_QUERY, &biz).await };
    let by_order = query(format!(r#"{{"order_id":"{order_id}"}}"#)).await;
    assert_eq!(by_order.field("status"), "SUCCESS");
    assert_eq!(by_order.field("trans_amount"), "100.00");
    let pay_fund_order_id = by_order.field("pay_fund_order_id").to_owned();
    let by_fund =
        query(format!(r#"{{"pay_fund_order_id":"{pay_fund_order_id}","order_id":"ignored"}}"#))
            .await;
    assert_eq!(by_fund.field("order_id"), order_id, "pay_fund_order_id wins");
    let by_merchant = query(
        r#"{"out_biz_no":"S1","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY"}"#
            .to_owned(),
    )
    .await;
    assert_eq!(by_merchant.field("order_id"), order_id);
    let claim = query(
        r#"{"out_biz_no":"C2","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_COLLECTION"}"#
            .to_owned(),
    )
    .await;
    assert_eq!(claim.field("receiver_user_id"), BOB);
    assert_eq!(claim.field("trans_amount"), "50.00");
    let wrong_scene = query(
        r#"{"out_biz_no":"C2","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY"}"#
            .to_owned(),
    )
    .await;
    assert_eq!(wrong_scene.sub_code(), "ORDER_NOT_EXIST");
    let refund = query(
        r#"{"out_biz_no":"R1","product_code":"STD_RED_PACKET","biz_scene":"REFUND"}"#.to_owned(),
    )
    .await;
    assert_eq!(refund.field("pay_fund_order_id"), returned.field("refund_order_id"));
    let missing = query(r#"{"out_biz_no":"S1"}"#.to_owned()).await;
    assert_eq!(
        missing.sub_code(),
        "INVALID_PARAMETER",
        "out_biz_no needs product_code and biz_scene"
    );
    let foreign = app
        .send(
            &Call::new(TRANS_COMMON_QUERY, &format!(r#"{{"order_id":"{order_id}"}}"#))
                .app(APP_B, app_b_key()),
        )
        .await;
    assert_eq!(foreign.sub_code(), "NO_ORDER_PERMISSION");

    // The products never name each other's orders.
    let coupon = format!(
        r#"{{"out_order_no":"D1","deduct_auth_no":"{order_id}","out_request_no":"1","order_title":"t","amount":"1.00","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(app.call(DISBURSE, &coupon).await.sub_code(), "ILLEGAL_ARGUMENT");

    // At refund_time_expire (48 h after payment by default) the rest goes back by itself.
    app.clock.advance_ms(48 * 3_600_000);
    let back = inbox.wait_for("REFUND", "SUCCESS", &order_id, "EXPIRE_REFUND").await;
    // 100 − 30 − 50 − 1 − 10 = 9.00 was left.
    assert_eq!(back["trans_amount"], "9.00");
    let manual = inbox.wait_for("REFUND", "SUCCESS", &order_id, "R1").await;
    assert_eq!(manual["trans_amount"], "10.00");
    assert_eq!(app.balance(sender).await, before - 10_000 + 1_000 + 900);
    let late = app.call(TRANS_UNI_TRANSFER, &claim_biz("C9", &order_id, "0.01", ALICE)).await;
    assert_eq!(late.sub_code(), "ORDER_STATUS_INVALID");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_b2c_red_packet_is_paid_from_the_merchant_account() {
    let app = spawn_app().await;
    let merchant_before = app.balance(MERCHANT_A).await;
    let biz = |no: &str, payee: &str, amount: &str| {
        format!(
            r#"{{"out_biz_no":"{no}","trans_amount":"{amount}","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER","order_title":"B2C现金红包","payee_info":{{"identity":"{payee}","identity_type":"ALIPAY_USER_ID","name":"{ALICE_NAME}"}},"business_params":{{"sub_biz_scene":"REDPACKET"}}}}"#
        )
    };
    let paid = app.call(TRANS_UNI_TRANSFER, &biz("B1", ALICE, "8.88")).await;
    assert_eq!(paid.code(), "10000", "{:?}", paid.node);
    assert_eq!(app.balance(ALICE).await, 888);
    assert_eq!(app.balance(MERCHANT_A).await, merchant_before - 888);
    let to_self = app.call(TRANS_UNI_TRANSFER, &biz("B2", MERCHANT_A, "1.00")).await;
    assert_eq!(to_self.sub_code(), "PAYER_PAYEE_CANNOT_SAME");
    let query = app
        .call(
            TRANS_COMMON_QUERY,
            r#"{"out_biz_no":"B1","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER"}"#,
        )
        .await;
    assert_eq!(query.field("receiver_user_id"), ALICE);
    app.assert_invariants().await;
}

#[tokio::test]
async fn fund_trans_refusals_are_signed_and_change_nothing() {
    let app = spawn_app().await;
    let snapshot_before =
        hongbao_store::Store::snapshot(&app.store).await.expect("snapshot").balances;
    let rows: &[(&str, String, &str)] = &[
        (
            TRANS_UNI_TRANSFER,
            claim_biz("X1", "20190620110075000006640000063056", "1.00", ALICE),
            "ORDER_NOT_EXIST",
        ),
        (
            TRANS_UNI_TRANSFER,
            claim_biz("X1", "A", "1.00", ALICE).replace("STD_RED_PACKET", "TRANS_ACCOUNT_NO_PWD"),
            "INVALID_PARAMETER",
        ),
        (
            TRANS_UNI_TRANSFER,
            claim_biz("X1", "A", "1.00", ALICE).replace("PERSONAL_COLLECTION", "PERSONAL_PAY"),
            "INVALID_PARAMETER",
        ),
        (
            TRANS_UNI_TRANSFER,
            claim_biz("X1", "A", "1.00", ALICE).replace("REDPACKET", "OTHER"),
            "INVALID_PARAMETER",
        ),
        (TRANS_UNI_TRANSFER, claim_biz("X1", "A", "1.00", "2088999999999999"), "ORDER_NOT_EXIST"),
        (TRANS_UNI_TRANSFER, claim_biz("X1", "A", "-1", ALICE), "INVALID_PARAMETER"),
        (TRANS_UNI_TRANSFER, claim_biz("X1", "A", "1.001", ALICE), "INVALID_PARAMETER"),
        (
            TRANS_REFUND,
            r#"{"order_id":"A","out_request_no":"R","refund_amount":"1.00"}"#.into(),
            "ORDER_NOT_EXIST",
        ),
        (TRANS_REFUND, r#"{"order_id":"A","refund_amount":"1.00"}"#.into(), "INVALID_PARAMETER"),
        (TRANS_COMMON_QUERY, r#"{}"#.into(), "INVALID_PARAMETER"),
        (TRANS_COMMON_QUERY, r#"{"order_id":"A"}"#.into(), "ORDER_NOT_EXIST"),
        (
            TRANS_COMMON_QUERY,
            r#"{"out_biz_no":"S","product_code":"STD_RED_PACKET","biz_scene":"LOTTERY"}"#.into(),
            "INVALID_PARAMETER",
        ),
    ];
    for (method, biz, sub_code) in rows {
        let answer = app.call(method, biz).await;
        assert_eq!(answer.code(), "40004", "{method} {biz}: {:?}", answer.node);
        assert_eq!(answer.sub_code(), *sub_code, "{method} {biz}: {:?}", answer.node);
    }
    // A send POSTed straight to the gateway goes to the wallet, as Alipay's goes to its cashier.
    let call = Call::new(TRANS_APP_PAY, &send_biz("S9", "1.00", MERCHANT_B));
    let http = raw(
        app.addr,
        &post_request(
            "/gateway.do",
            &call.body(),
            "application/x-www-form-urlencoded;charset=utf-8",
        ),
    )
    .await;
    assert_eq!(http.status, 302);
    assert!(http.header("location").unwrap_or("").starts_with("/wallet?order_string="));
    assert_eq!(
        hongbao_store::Store::snapshot(&app.store).await.expect("snapshot").balances,
        snapshot_before
    );
    app.assert_invariants().await;
}

/// Alipay serves fund.trans to certificate-mode apps (required in production): their answers
/// carry `alipay_cert_sn` like every other method's, refusals included.
#[tokio::test]
async fn a_certificate_app_uses_fund_trans_and_its_answers_carry_the_cert_sn() {
    let app = spawn_app().await;
    let sn = gateway_cert().sn().to_owned();
    let biz = format!(
        r#"{{"out_biz_no":"CB1","trans_amount":"1.00","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER","payee_info":{{"identity":"{ALICE}","identity_type":"ALIPAY_USER_ID"}},"business_params":{{"sub_biz_scene":"REDPACKET"}}}}"#
    );
    let paid = app.send(&Call::new(TRANS_UNI_TRANSFER, &biz).cert_app()).await;
    assert_eq!(
        (paid.code(), paid.cert_sn.as_deref()),
        ("10000", Some(sn.as_str())),
        "{:?}",
        paid.node
    );
    let order_id = paid.field("order_id").to_owned();
    let query = format!(r#"{{"order_id":"{order_id}"}}"#);
    let found = app.send(&Call::new(TRANS_COMMON_QUERY, &query).cert_app()).await;
    assert_eq!((found.field("status"), found.cert_sn.as_deref()), ("SUCCESS", Some(sn.as_str())));
    let refused = app
        .send(
            &Call::new(
                TRANS_REFUND,
                &format!(
                    r#"{{"order_id":"{order_id}","out_request_no":"r","refund_amount":"1.00"}}"#
                ),
            )
            .cert_app(),
        )
        .await;
    assert_eq!(
        (refused.sub_code(), refused.cert_sn.as_deref()),
        ("INVALID_PARAMETER", Some(sn.as_str())),
        "a B2C transfer is no send to return from"
    );
    app.assert_invariants().await;
}

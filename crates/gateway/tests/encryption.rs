//! Interface content encryption (接口内容加密, issue 17) through the gateway, over raw HTTP:
//! encrypted requests on every method, in utf-8 and GBK, public-key and certificate mode, answer
//! encrypted and never carrying the plaintext node; every decryption failure a signed error in
//! clear that changes nothing; `encrypt_type` in the query or the body; and the payer side
//! (page.pay form, app.pay and fund.trans order strings) decrypted and shown.
//!
//! Method: requests are signed over the ciphertext exactly as the SDKs build them
//! (`Call::encrypted`); answers are verified over the quoted ciphertext and decrypted with the
//! app's key (`verify_answer_with`). The hostile rows build their ciphertexts by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::LedgerSnapshot;
use hongbao_protocol::encryption::{encrypt_biz_content, EncryptKey};
use hongbao_protocol::envelope::find_signed_node;
use hongbao_protocol::method::{TRANS_APP_PAY, TRANS_COMMON_QUERY, TRANS_UNI_TRANSFER};
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_store::Store;
use hongbao_test_support::*;

fn key_a() -> EncryptKey {
    encrypt_key(APP_A_ENCRYPT_KEY)
}

fn fingerprint(snapshot: &LedgerSnapshot) -> String {
    let mut balances: Vec<String> =
        snapshot.balances.iter().map(|(a, b)| format!("{}={}", a.id(), b)).collect();
    balances.sort();
    format!(
        "{balances:?} entries={} operations={} packets={}",
        snapshot.entries.len(),
        snapshot.operations.len(),
        snapshot.packets.len()
    )
}

async fn ledger(app: &TestApp) -> String {
    fingerprint(&app.store.snapshot().await.expect("snapshot"))
}

/// Every field name and string value of a node, quoted as a clear answer writes them (quotes
/// never occur in base64, so a hit is the plaintext, never chance).
fn quoted_parts(node: &serde_json::Value) -> Vec<String> {
    let object = node.as_object().expect("object");
    object
        .keys()
        .cloned()
        .chain(object.values().filter_map(|v| v.as_str().map(str::to_owned)))
        .map(|text| serde_json::to_string(&text).expect("quotes"))
        .collect()
}

/// The answer's raw body holds no plaintext of its node: not a field name, not a value, only
/// `{"<key>":"<base64>","sign":"…"}` (and `alipay_cert_sn` after it).
fn assert_opaque(answer: &Answer) {
    assert!(answer.encrypted, "the answer to an encrypted request is encrypted: {:?}", answer.node);
    let body = String::from_utf8_lossy(&answer.http.body).into_owned();
    for part in quoted_parts(&answer.node) {
        assert!(!body.contains(&part), "the body shows {part}: {body}");
    }
    let found = find_signed_node(&body, &answer.key).expect("node");
    let ciphertext = found.ciphertext().expect("a string node");
    assert!(ciphertext.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
    assert!(body.starts_with(&format!("{{\"{}\":\"{ciphertext}\",\"sign\":\"", answer.key)));
}

fn query_biz(out_order_no: &str, out_request_no: &str) -> String {
    format!(r#"{{"out_order_no":"{out_order_no}","out_request_no":"{out_request_no}"}}"#)
}

#[tokio::test]
async fn pay_disburse_refund_and_query_run_encrypted_in_utf8_and_gbk() {
    let app = spawn_app().await;
    for (charset, label, sign_type) in
        [(Charset::Utf8, "utf-8", SignType::Rsa2), (Charset::Gbk, "GBK", SignType::Rsa)]
    {
        let tag = label.to_ascii_lowercase();
        let send = |method: &str, biz: String| {
            let call = Call::new(method, &biz)
                .charset(charset, label)
                .sign_type(sign_type)
                .encrypted(key_a());
            let app = &app;
            async move { app.send(&call).await }
        };
        let pay = send(PAY, pay_biz(&format!("E-{tag}"), "100.00")).await;
        assert_eq!((pay.code(), pay.field("status")), ("10000", "SUCCESS"), "{:?}", pay.node);
        assert_opaque(&pay);
        let auth_no = pay.field("auth_no").to_owned();
        let disburse = send(
            DISBURSE,
            format!(
                r#"{{"out_order_no":"E-{tag}-d","deduct_auth_no":"{auth_no}","out_request_no":"d1","order_title":"红包领取","amount":"30.00","payee_user_id":"{ALICE}"}}"#
            ),
        )
        .await;
        assert_eq!(disburse.field("status"), "SUCCESS", "{:?}", disburse.node);
        assert_opaque(&disburse);
        let refund = send(
            REFUND,
            format!(
                r#"{{"auth_no":"{auth_no}","out_request_no":"r1","amount":"70.00","remark":"退回"}}"#
            ),
        )
        .await;
        assert_eq!(refund.field("amount"), "70.00", "{:?}", refund.node);
        assert_opaque(&refund);
        // A business error after decryption is encrypted too.
        let over = send(
            REFUND,
            format!(
                r#"{{"auth_no":"{auth_no}","out_request_no":"r2","amount":"0.01","remark":"退回"}}"#
            ),
        )
        .await;
        assert_eq!((over.code(), over.sub_code()), ("40004", "MONEY_NOT_ENOUGH"));
        assert_opaque(&over);
        let query = send(QUERY, query_biz(&format!("E-{tag}-d"), "d1")).await;
        assert_eq!(query.field("order_title"), "红包领取", "{:?}", query.node);
        assert_eq!(query.field("payee_user_id"), ALICE);
        assert_opaque(&query);
        // The same ledger answers a clear query in clear.
        let clear = app
            .send(
                &Call::new(QUERY, &query_biz(&format!("E-{tag}"), "pay1")).charset(charset, label),
            )
            .await;
        assert!(!clear.encrypted);
        assert_eq!(clear.field("total_pay_refund_amount"), "70.00");
    }
    assert_eq!(app.balance(ALICE).await, 6_000);
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 6_000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn certificate_mode_answers_encrypted_with_alipay_cert_sn_after_sign() {
    let app = spawn_app().await;
    let call = Call::new(PAY, &pay_biz("C-1", "1.00"))
        .cert_app()
        .encrypted(encrypt_key(APP_C_ENCRYPT_KEY));
    let answer = app.send(&call).await;
    assert_eq!(answer.code(), "10000", "{:?}", answer.node);
    assert!(answer.encrypted);
    assert_eq!(answer.cert_sn.as_deref(), Some(gateway_cert().sn()));
    let body = String::from_utf8(answer.http.body.clone()).expect("utf-8");
    assert!(body.ends_with(&format!("\",\"alipay_cert_sn\":\"{}\"}}", gateway_cert().sn())));
    // APP_A's key does not open APP_C's requests: the key is the app's own.
    let crossed = app
        .send(
            &Call::new(PAY, &pay_biz("C-2", "1.00")).cert_app().param("encrypt_type", "AES").param(
                "biz_content",
                &encrypt_biz_content(&key_a(), &pay_biz("C-2", "1.00"), Charset::Utf8).unwrap(),
            ),
        )
        .await;
    assert_eq!((crossed.code(), crossed.sub_code()), ("40003", "isv.decryption-error-unknown"));
    assert!(!crossed.encrypted && crossed.cert_sn.is_some());
}

#[tokio::test]
async fn fund_trans_methods_run_encrypted() {
    let app = spawn_app().await;
    let biz = format!(
        r#"{{"out_biz_no":"T1","trans_amount":"2.00","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER","order_title":"现金红包","payee_info":{{"identity":"{ALICE}","identity_type":"ALIPAY_USER_ID"}},"business_params":{{"sub_biz_scene":"REDPACKET"}}}}"#
    );
    let answer = app.send(&Call::new(TRANS_UNI_TRANSFER, &biz).encrypted(key_a())).await;
    assert_eq!(answer.field("status"), "SUCCESS", "{:?}", answer.node);
    assert_opaque(&answer);
    let query = app
        .send(
            &Call::new(
                TRANS_COMMON_QUERY,
                r#"{"out_biz_no":"T1","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER"}"#,
            )
            .encrypted(key_a()),
        )
        .await;
    assert_eq!(query.field("receiver_user_id"), ALICE, "{:?}", query.node);
    assert_opaque(&query);
    assert_eq!(app.balance(ALICE).await, 200);
}

/// One request signed by APP_A's key over `biz_content` as given, with extra parameters.
fn raw_call(biz_content: &str, extra: &[(&str, &str)]) -> Call {
    let mut call = Call::new(PAY, biz_content);
    for (key, value) in extra {
        call = call.param(key, value);
    }
    call
}

#[tokio::test]
async fn every_decryption_failure_is_a_signed_error_in_clear_that_changes_nothing() {
    let app = spawn_app().await;
    let other_key = EncryptKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZg==").unwrap();
    let plain = pay_biz("H-1", "10.00");
    let sealed = |key: &EncryptKey, text: &str, charset| {
        encrypt_biz_content(key, text, charset).expect("encrypts")
    };
    let aes = [("encrypt_type", "AES")];
    let rows: Vec<(&str, Call, &str, &str)> = vec![
        (
            "an app without encrypt_key",
            raw_call(&sealed(&key_a(), &plain, Charset::Utf8), &aes).app(APP_B, app_b_key()),
            "40002",
            "isv.decryption-error-not-valid-encrypt-key",
        ),
        (
            "an unknown encrypt_type",
            raw_call(&sealed(&key_a(), &plain, Charset::Utf8), &[("encrypt_type", "DES")]),
            "40002",
            "isv.invalid-encrypt-type",
        ),
        (
            "SM4, which this gateway does not decrypt",
            raw_call(&sealed(&key_a(), &plain, Charset::Utf8), &[("encrypt_type", "SM4")]),
            "40002",
            "isv.decryption-error-not-valid-encrypt-type",
        ),
        (
            "a ciphertext without encrypt_type",
            raw_call(&sealed(&key_a(), &plain, Charset::Utf8), &[]),
            "40001",
            "isv.decryption-error-missing-encrypt-type",
        ),
        (
            "a ciphertext that is not base64",
            raw_call("not*base64!", &aes),
            "40002",
            "isv.invalid-encrypt",
        ),
        (
            "a ciphertext of 20 bytes (no whole blocks)",
            raw_call("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &aes),
            "40002",
            "isv.invalid-encrypt",
        ),
        (
            "a clear biz_content sent as encrypted",
            raw_call(&plain, &aes),
            "40002",
            "isv.invalid-encrypt",
        ),
        (
            "another key (bad padding)",
            raw_call(&sealed(&other_key, &plain, Charset::Utf8), &aes),
            "40003",
            "isv.decryption-error-unknown",
        ),
        (
            "a GBK plaintext in a utf-8 request",
            raw_call(&sealed(&key_a(), &plain, Charset::Gbk), &aes),
            "40003",
            "isv.decryption-error-unknown",
        ),
        (
            "a plaintext that is not JSON",
            raw_call(&key_a().encrypt(b"out_order_no=H-1&amount=10.00").unwrap(), &aes),
            "40003",
            "isv.decryption-error-unknown",
        ),
    ];
    let before = ledger(&app).await;
    for (name, call, code, sub_code) in rows {
        // `send` verifies the signature and panics on an encrypted answer: these are in clear.
        let answer = app.send(&call).await;
        assert_eq!(
            (answer.code(), answer.sub_code()),
            (code, sub_code),
            "{name}: {:?}",
            answer.node
        );
        assert!(!answer.encrypted, "{name}");
        assert!(!answer.sub_msg().is_empty(), "{name}");
        assert_eq!(answer.key, "alipay_fund_coupon_order_agreement_pay_response", "{name}");
    }
    // The signature covers the ciphertext: one signed over the plaintext is refused before any
    // decryption, and says nothing about the app's key (APP_B has none).
    let mut signed_plain = raw_call(&plain, &aes).app(APP_B, app_b_key()).signed();
    signed_plain.insert("biz_content", sealed(&key_a(), &plain, Charset::Utf8));
    let http = raw(
        app.addr,
        &post_request(
            "/gateway.do",
            &form_encode(&signed_plain, Charset::Utf8),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    let answer = verify_answer(http, Some(PAY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "isv.invalid-signature");
    assert_eq!(ledger(&app).await, before, "no decryption failure changed the ledger");
    let missing = app.call(QUERY, &query_biz("H-1", "pay1")).await;
    assert_eq!(missing.sub_code(), "AUTH_ORDER_NOT_EXIST");
    // Fixed, the same ids work: nothing was stored for them.
    let fixed = app.send(&Call::new(PAY, &plain).encrypted(key_a())).await;
    assert_eq!(fixed.field("status"), "SUCCESS", "{:?}", fixed.node);
    app.assert_invariants().await;
}

#[tokio::test]
async fn encrypt_type_works_in_the_query_as_in_the_body() {
    // Node puts encrypt_type in the POST body with biz_content, the official Python SDK in the
    // URL query with the other common parameters.
    let app = spawn_app().await;
    let signed = Call::new(PAY, &pay_biz("Q-1", "1.00")).encrypted(key_a()).signed();
    let (query, body): (Params, Params) = {
        let mut query = Params::new();
        let mut body = Params::new();
        for (key, value) in signed.iter() {
            if key == "biz_content" {
                body.insert(key, value);
            } else {
                query.insert(key, value);
            }
        }
        (query, body)
    };
    let target = format!(
        "/gateway.do?{}",
        String::from_utf8(form_encode(&query, Charset::Utf8)).expect("ascii")
    );
    let http = raw(
        app.addr,
        &post_request(
            &target,
            &form_encode(&body, Charset::Utf8),
            "application/x-www-form-urlencoded;charset=utf-8",
        ),
    )
    .await;
    let answer = verify_answer_with(http, Some(PAY), Charset::Utf8, SignType::Rsa2, Some(&key_a()));
    assert_eq!(answer.field("status"), "SUCCESS", "{:?}", answer.node);
    assert_opaque(&answer);
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

fn text(http: &HttpResponse) -> String {
    String::from_utf8_lossy(&http.body).into_owned()
}

/// Opens an order string in the wallet: the confirm page's HTML.
async fn open_wallet(app: &TestApp, order_string: &[u8]) -> (u16, String) {
    let encoded: String = encode_component(order_string).into_iter().map(char::from).collect();
    let page = raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await;
    (page.status, text(&page))
}

fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        .to_owned()
}

async fn wallet_pay(app: &TestApp, auth_no: &str, login: &str) -> serde_json::Value {
    let form: Params = [
        ("auth_no", auth_no),
        ("login", login),
        ("password", "111111"),
        ("action", "pay"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .collect();
    let mut request = post_request(
        "/wallet/pay",
        &form.to_form(Charset::Utf8).expect("form"),
        "application/x-www-form-urlencoded",
    );
    let at = request.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    request.splice(at..at, b"\r\nAccept: application/json".iter().copied());
    serde_json::from_slice(&raw(app.addr, &request).await.body).expect("wallet JSON")
}

#[tokio::test]
async fn the_payer_side_decrypts_page_pay_and_app_pay_and_shows_the_order() {
    let app = spawn_app().await;
    // page.pay: the SDK's auto-submitting form, biz_content encrypted.
    let biz = r#"{"out_order_no":"PG-1","out_request_no":"pay1","order_title":"年会红包","amount":"8.88"}"#;
    let call = Call::new(PAGE_PAY, biz)
        .param("return_url", "http://merchant.example/return")
        .encrypted(key_a());
    assert!(!String::from_utf8_lossy(&call.body()).contains("PG-1"), "the form carries ciphertext");
    let http = raw(
        app.addr,
        &post_request("/gateway.do", &call.body(), "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(http.status, 303, "{}", text(&http));
    let cashier = http.header("location").expect("location").to_owned();
    let html = text(&raw(app.addr, &get(&cashier)).await);
    assert!(
        html.contains("年会红包") && html.contains("8.88"),
        "the cashier shows the order: {html}"
    );

    // app.pay: the order string (sdkExecute) in the wallet.
    let order = Call::new(
        APP_PAY,
        r#"{"out_order_no":"AP-1","out_request_no":"pay1","order_title":"新春红包","amount":"6.66"}"#,
    )
    .encrypted(key_a())
    .body();
    let (status, html) = open_wallet(&app, &order).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("新春红包") && html.contains("6.66"),
        "the wallet shows the order: {html}"
    );
    let paid = wallet_pay(&app, &hidden(&html, "auth_no"), "merchant-b@example.com").await;
    assert_eq!(paid["resultStatus"], "9000", "{paid}");
    // The app SDK's sync-result parser decrypts nothing: the result is signed, in clear.
    let result = paid["result"].as_str().expect("result");
    let node = find_signed_node(result, "alipay_fund_coupon_order_app_pay_response").expect("node");
    assert!(!node.encrypted);
    let public = gateway_key().public_key().expect("public");
    assert!(public.verify(SignType::Rsa2, node.node.as_bytes(), node.sign.as_deref().unwrap()));
    assert!(node.node.contains("\"amount\":\"6.66\""));

    // alipay.fund.trans.app.pay (a STD_RED_PACKET send), POSTed to /gateway.do as the SDK does,
    // goes to the wallet with its parameters: decrypted there.
    let send = format!(
        r#"{{"out_biz_no":"S-1","trans_amount":"5.20","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY","order_title":"拼手气红包","business_params":{{"sub_biz_scene":"REDPACKET","payer_binded_alipay_uid":"{MERCHANT_B}"}}}}"#
    );
    let body = Call::new(TRANS_APP_PAY, &send).encrypted(key_a()).body();
    let http =
        raw(app.addr, &post_request("/gateway.do", &body, "application/x-www-form-urlencoded"))
            .await;
    assert_eq!(http.status, 302, "{}", text(&http));
    let html = text(&raw(app.addr, &get(http.header("location").expect("location"))).await);
    assert!(
        html.contains("拼手气红包") && html.contains("5.20"),
        "the wallet shows the send: {html}"
    );
    let paid = wallet_pay(&app, &hidden(&html, "auth_no"), "merchant-b@example.com").await;
    assert_eq!(paid["resultStatus"], "9000", "{paid}");
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE - 666 - 520);

    // A ciphertext the key does not open: the payer sees the error page, nothing is created.
    let bad = Call::new(APP_PAY, "{}")
        .param("encrypt_type", "AES")
        .param("biz_content", "AAAAAAAAAAAAAAAAAAAAAA==")
        .body();
    let (status, html) = open_wallet(&app, &bad).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("isv.decryption-error-unknown"), "{html}");
    app.assert_invariants().await;
}

/// Notifications of an encrypted call go out in clear, signed like any (Alipay's async
/// notifications carry no encrypted content; no SDK's notify check decrypts).
#[tokio::test]
async fn notifications_of_an_encrypted_call_are_in_clear() {
    use axum::extract::State;
    use hongbao_protocol::sign_content::verify_notify;
    use std::sync::{Arc, Mutex};
    async fn receive(
        State(bodies): State<Arc<Mutex<Vec<Vec<u8>>>>>,
        body: axum::body::Bytes,
    ) -> &'static str {
        bodies.lock().expect("lock").push(body.to_vec());
        "success"
    }
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new()
        .route("/notify", axum::routing::post(receive))
        .with_state(Arc::clone(&bodies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let app = spawn_app().await;
    let call = Call::new(PAY, &pay_biz("N-1", "3.00"))
        .param("notify_url", &format!("http://{addr}/notify"))
        .encrypted(key_a());
    let answer = app.send(&call).await;
    assert!(answer.encrypted && answer.field("status") == "SUCCESS", "{:?}", answer.node);
    let mut delivered = None;
    for _ in 0..200 {
        if let Some(body) = bodies.lock().expect("lock").first().cloned() {
            delivered = Some(body);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = delivered.expect("the notification arrives");
    let params: Params = hongbao_protocol::form::parse_form(&body)
        .expect("form")
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect();
    assert!(verify_notify(&params, Charset::Utf8, &gateway_key().public_key().unwrap()));
    assert_eq!(params.get("out_order_no"), Some("N-1"), "in clear: {params:?}");
    assert_eq!(params.get("amount"), Some("3.00"));
    assert_eq!(params.get("encrypt_type"), None);
}

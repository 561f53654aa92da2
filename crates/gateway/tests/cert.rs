//! Certificate mode (issue: 公钥证书模式) over raw HTTP: a certificate-mode app (APP_C) pays,
//! disburses, refunds and queries beside public-key apps; every answer to it carries
//! `alipay_cert_sn` after `sign`, errors included; the hostile inputs of the issue (wrong and
//! missing SNs, another CA's certificate, a root SN over non-RSA roots only, a certificate for
//! another key, an expired certificate) are each a signed error that changes nothing;
//! `alipay.open.app.alipaycert.download` serves the gateway certificate; page.pay and app.pay
//! from a certificate app are verified the same way and their returns signed as before.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use base64::Engine;
use hongbao_ledger::LedgerSnapshot;
use hongbao_protocol::envelope::find_signed_node;
use hongbao_protocol::method::ALIPAYCERT_DOWNLOAD;
use hongbao_protocol::{Charset, SignType};
use hongbao_sign::cert::ec_root_pem;
use hongbao_sign::{Certificate, RootBundle};
use hongbao_store::Store;
use hongbao_test_support::*;

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

async fn send_raw(app: &TestApp, body: &[u8], method: &str) -> Answer {
    let request = post_request("/gateway.do", body, "application/x-www-form-urlencoded");
    verify_answer(raw(app.addr, &request).await, Some(method), Charset::Utf8, SignType::Rsa2)
}

#[tokio::test]
async fn a_certificate_app_runs_every_method_and_every_answer_carries_the_gateway_cert_sn() {
    let app = spawn_app().await;
    let sn = gateway_cert().sn();
    let paid = app.send(&Call::new(PAY, &pay_biz("C1", "10.00")).cert_app()).await;
    assert_eq!(paid.code(), "10000", "{}", paid.sub_msg());
    assert_eq!(paid.cert_sn.as_deref(), Some(sn));
    let auth_no = paid.field("auth_no").to_owned();
    let disburse = format!(
        r#"{{"out_order_no":"C1-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"领红包","amount":"3.00","payee_user_id":"{ALICE}"}}"#
    );
    let claimed = app.send(&Call::new(DISBURSE, &disburse).cert_app()).await;
    assert_eq!((claimed.code(), claimed.cert_sn.as_deref()), ("10000", Some(sn)));
    let refund = format!(
        r#"{{"auth_no":"{auth_no}","out_request_no":"r1","amount":"7.00","remark":"退回"}}"#
    );
    let refunded = app.send(&Call::new(REFUND, &refund).cert_app()).await;
    assert_eq!((refunded.code(), refunded.cert_sn.as_deref()), ("10000", Some(sn)));
    let query = format!(r#"{{"auth_no":"{auth_no}","out_request_no":"r1"}}"#);
    let found = app.send(&Call::new(QUERY, &query).cert_app()).await;
    assert_eq!((found.field("amount"), found.cert_sn.as_deref()), ("7.00", Some(sn)));
    // A business refusal is an answer to the certificate app too.
    let again = app.send(&Call::new(REFUND, &refund.replace("7.00", "1.00")).cert_app()).await;
    assert_eq!((again.sub_code(), again.cert_sn.as_deref()), ("UNIQUE_VIOLATION", Some(sn)));
    assert_eq!(app.balance(ALICE).await, 300);

    // Public-key apps are answered as before, even when they send certificate SNs (ignored,
    // as Alipay ignores them for a key-mode app).
    let plain = app.call(PAY, &pay_biz("A1", "1.00")).await;
    assert_eq!((plain.code(), plain.cert_sn.as_deref()), ("10000", None));
    let with_sns = Call::new(PAY, &pay_biz("A2", "1.00"))
        .param("app_cert_sn", "00000000000000000000000000000000")
        .param("alipay_root_cert_sn", "whatever");
    let answered = app.send(&with_sns).await;
    assert_eq!((answered.code(), answered.cert_sn.as_deref()), ("10000", None));
    app.assert_invariants().await;
}

#[tokio::test]
async fn every_hostile_certificate_request_gets_a_signed_error_and_changes_nothing() {
    let app = spawn_app().await;
    let before = fingerprint(&app.store.snapshot().await.expect("snapshot"));
    let root_sn = root_bundle().sn().to_owned();
    let app_sn = app_c_cert().sn().to_owned();
    let ec_only_sn = {
        let ec = ec_root_pem(cert_subject("hongbao Test EC Root"), CERT_VALID_FROM, CERT_VALID_TO)
            .expect("ec");
        assert!(RootBundle::from_pem(&ec).is_err(), "no RSA root: no bundle SN");
        Certificate::from_pem(&ec).expect("ec cert").sn().to_owned()
    };
    let foreign_root_sn = foreign_ca().certificate().sn().to_owned();
    let foreign_cert = foreign_ca()
        .issue(
            cert_subject(APP_C),
            &app_c_key().public_key().expect("pk"),
            CERT_VALID_FROM,
            CERT_VALID_TO,
        )
        .expect("issued");
    let other_key_cert = test_ca()
        .issue(
            cert_subject(APP_C),
            &stranger_key().public_key().expect("pk"),
            CERT_VALID_FROM,
            CERT_VALID_TO,
        )
        .expect("issued");
    let pay = || Call::new(PAY, &pay_biz("H1", "5.00"));
    let without = |call: Call, key: &str| {
        let mut call = call;
        call.params.remove(key);
        call
    };
    let rows: Vec<(&str, Call, &str, String)> = vec![
        (
            "missing app_cert_sn",
            without(pay().cert_app(), "app_cert_sn"),
            "isv.missing-app-cert-sn",
            app_sn.clone(),
        ),
        (
            "blank app_cert_sn",
            pay().cert_app().param("app_cert_sn", " "),
            "isv.missing-app-cert-sn",
            app_sn.clone(),
        ),
        (
            "wrong app_cert_sn",
            pay().cert_app().param("app_cert_sn", "0123456789abcdef0123456789abcdef"),
            "isv.app-cert-not-exist",
            app_sn.clone(),
        ),
        (
            "the root's SN as app_cert_sn",
            pay().cert_app().param("app_cert_sn", &root_sn),
            "isv.app-cert-not-exist",
            app_sn.clone(),
        ),
        (
            "a certificate from another CA",
            pay().cert_app().param("app_cert_sn", foreign_cert.sn()),
            "isv.app-cert-not-exist",
            app_sn.clone(),
        ),
        (
            "a certificate for another key, signed with it",
            pay().cert_app().param("app_cert_sn", other_key_cert.sn()).app(APP_C, stranger_key()),
            "isv.app-cert-not-exist",
            app_sn.clone(),
        ),
        (
            "the app's SN, signed with another key",
            pay().cert_app().app(APP_C, stranger_key()),
            "isv.invalid-signature",
            String::new(),
        ),
        (
            "missing alipay_root_cert_sn",
            without(pay().cert_app(), "alipay_root_cert_sn"),
            "isv.missing-alipay-root-cert-sn",
            root_sn.clone(),
        ),
        (
            "a root SN over the EC root only",
            pay().cert_app().param("alipay_root_cert_sn", &ec_only_sn),
            "isv.invalid-alipay-root-cert-sn",
            root_sn.clone(),
        ),
        (
            "the EC root's SN appended",
            pay().cert_app().param("alipay_root_cert_sn", &format!("{root_sn}_{ec_only_sn}")),
            "isv.invalid-alipay-root-cert-sn",
            root_sn.clone(),
        ),
        (
            "another CA's root SN",
            pay().cert_app().param("alipay_root_cert_sn", &foreign_root_sn),
            "isv.invalid-alipay-root-cert-sn",
            root_sn.clone(),
        ),
        (
            "SNs sent unsigned",
            {
                let mut call =
                    without(without(pay().cert_app(), "app_cert_sn"), "alipay_root_cert_sn");
                call.params.insert("sign", "x");
                call
            },
            "isv.missing-app-cert-sn",
            app_sn.clone(),
        ),
    ];
    for (name, call, sub_code, expected) in &rows {
        let answer = app.send(call).await;
        assert_eq!(answer.sub_code(), *sub_code, "row {name:?}: {}", answer.sub_msg());
        assert_eq!(answer.code(), "40002", "row {name:?}");
        assert!(
            answer.sub_msg().contains(expected.as_str()),
            "row {name:?} names {expected}: {}",
            answer.sub_msg()
        );
        assert_eq!(answer.cert_sn.as_deref(), Some(gateway_cert().sn()), "row {name:?}");
    }
    // The SNs are signed like any parameter: adding them after signing breaks the signature.
    let mut unsigned =
        without(without(pay().cert_app(), "app_cert_sn"), "alipay_root_cert_sn").signed();
    unsigned.insert("app_cert_sn", app_sn.as_str());
    unsigned.insert("alipay_root_cert_sn", root_sn.as_str());
    let answer = send_raw(&app, &form_encode(&unsigned, Charset::Utf8), PAY).await;
    assert_eq!(answer.sub_code(), "isv.invalid-signature", "{}", answer.sub_msg());
    assert!(answer.sub_msg().contains(&format!("app_cert_sn={app_sn}")), "{}", answer.sub_msg());

    // Expired: the certificate's validity is checked on the gateway's clock.
    app.clock.advance_ms((CERT_VALID_TO + 86_400) * 1000 - app.clock.now_ms_for_tests());
    let expired = app.send(&pay().cert_app()).await;
    assert_eq!(expired.sub_code(), "isv.app-cert-expired", "{}", expired.sub_msg());
    assert!(expired.sub_msg().contains(&app_sn));
    assert_eq!(expired.cert_sn.as_deref(), Some(gateway_cert().sn()));

    let after = fingerprint(&app.store.snapshot().await.expect("snapshot"));
    assert_eq!(before, after, "hostile certificate requests changed the ledger");
    let query =
        app.send(&Call::new(QUERY, r#"{"out_order_no":"H1","out_request_no":"pay1"}"#)).await;
    assert_eq!(query.sub_code(), "AUTH_ORDER_NOT_EXIST");
}

#[tokio::test]
async fn alipaycert_download_serves_the_gateway_certificate_by_sn() {
    let app = spawn_app().await;
    for call in [Call::new(ALIPAYCERT_DOWNLOAD, "").cert_app(), Call::new(ALIPAYCERT_DOWNLOAD, "")]
    {
        let biz = format!(r#"{{"alipay_cert_sn":"{}"}}"#, gateway_cert().sn());
        let answer = app.send(&call.param("biz_content", &biz)).await;
        assert_eq!(answer.code(), "10000", "{}", answer.sub_msg());
        let pem = base64::engine::general_purpose::STANDARD
            .decode(answer.field("alipay_cert_content"))
            .expect("base64");
        let cert = Certificate::from_pem(std::str::from_utf8(&pem).expect("utf-8")).expect("pem");
        assert_eq!(cert.sn(), gateway_cert().sn());
        assert!(root_bundle().verify(&cert, CERT_VALID_FROM + 10).is_ok());
        assert!(cert.public_key().expect("key") == gateway_key().public_key().expect("key"));
    }
    let unknown = app
        .send(
            &Call::new(
                ALIPAYCERT_DOWNLOAD,
                r#"{"alipay_cert_sn":"0123456789abcdef0123456789abcdef"}"#,
            )
            .cert_app(),
        )
        .await;
    assert_eq!((unknown.code(), unknown.sub_code()), ("40004", "isv.alipay-cert-not-exist"));
    assert!(unknown.sub_msg().contains(gateway_cert().sn()), "{}", unknown.sub_msg());
    let missing = app.send(&Call::new(ALIPAYCERT_DOWNLOAD, "{}").cert_app()).await;
    assert_eq!(missing.sub_code(), "ILLEGAL_ARGUMENT");
}

fn text(http: &HttpResponse) -> String {
    String::from_utf8_lossy(&http.body).into_owned()
}

#[tokio::test]
async fn page_pay_and_app_pay_from_a_certificate_app_are_verified_the_same_way() {
    let app = spawn_app().await;
    let biz = |out_order_no: &str| {
        format!(
            r#"{{"out_order_no":"{out_order_no}","out_request_no":"pay1","order_title":"年会红包","amount":"2.00"}}"#
        )
    };
    let page = Call::new(PAGE_PAY, &biz("CP1"))
        .cert_app()
        .param("return_url", "http://merchant.example/return");
    let http = raw(
        app.addr,
        &post_request("/gateway.do", &page.body(), "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(http.status, 303, "{}", text(&http));
    let mut missing = Call::new(PAGE_PAY, &biz("CP2")).cert_app();
    missing.params.remove("app_cert_sn");
    let http = raw(
        app.addr,
        &post_request("/gateway.do", &missing.body(), "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(http.status, 400);
    assert!(text(&http).contains("isv.missing-app-cert-sn"), "{}", text(&http));

    // app.pay: the order string carries the SNs; the wallet's signed result carries alipay_cert_sn.
    let order =
        String::from_utf8(Call::new(APP_PAY, &biz("CA1")).cert_app().body()).expect("ascii");
    let encoded: String = encode_component(order.as_bytes()).into_iter().map(char::from).collect();
    let opened = raw(
        app.addr,
        &format!(
            "GET /wallet?order_string={encoded} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", text(&opened));
    let html = text(&opened);
    let field = |name: &str| {
        html.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect(name)
            .to_owned()
    };
    let form: hongbao_protocol::Params = [
        ("auth_no", field("auth_no")),
        ("login", "merchant-b@example.com".to_owned()),
        ("password", "111111".to_owned()),
        ("action", "pay".to_owned()),
        ("charset", "utf-8".to_owned()),
        ("sign_type", "RSA2".to_owned()),
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
    let result: serde_json::Value =
        serde_json::from_slice(&raw(app.addr, &request).await.body).expect("json");
    assert_eq!(result["resultStatus"], "9000", "{result}");
    let signed = result["result"].as_str().expect("result");
    let found =
        find_signed_node(signed, "alipay_fund_coupon_order_app_pay_response").expect("node");
    assert_eq!(found.cert_sn.as_deref(), Some(gateway_cert().sn()));
    let public = gateway_cert().public_key().expect("key");
    assert!(public.verify(
        SignType::Rsa2,
        found.node.as_bytes(),
        found.sign.as_deref().expect("sign")
    ));
    app.assert_invariants().await;
}

/// Notifications to a certificate app are signed by the gateway key exactly as in public-key
/// mode (Java's `rsaCertCheckV1` is `rsaCheckV1` with the key of `alipayCertPublicKey_RSA2.crt`):
/// the key the gateway certificate certifies verifies them, and nothing is added.
#[tokio::test]
async fn notifications_to_a_certificate_app_verify_with_the_gateway_certificates_key() {
    use hongbao_protocol::form::parse_form;
    use hongbao_protocol::sign_content::verify_notify;
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().expect("lock").push(body.to_vec());
                "success"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let notify_url = format!("http://{}/notify", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let app = spawn_app().await;
    let paid = app
        .send(&Call::new(PAY, &pay_biz("CN1", "1.00")).cert_app().param("notify_url", &notify_url))
        .await;
    assert_eq!(paid.code(), "10000", "{}", paid.sub_msg());
    let body = 'wait: {
        for _ in 0..250 {
            if let Some(body) = received.lock().expect("lock").first().cloned() {
                break 'wait body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no notification arrived");
    };
    let params: hongbao_protocol::Params = parse_form(&body)
        .expect("form")
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).expect("k"), String::from_utf8(v).expect("v")))
        .collect();
    let certified = gateway_cert().public_key().expect("key");
    assert!(verify_notify(&params, Charset::Utf8, &certified), "{params:?}");
    assert_eq!(params.get("app_id"), Some(APP_C));
    assert_eq!(params.get("alipay_cert_sn"), None, "nothing is added to a notification");
}

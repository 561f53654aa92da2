//! The gateway's wire behaviour (issue: the OpenAPI gateway): request shapes every official SDK
//! uses, signatures and their diagnostics, envelopes, the error model and hostile input. Each test
//! talks raw HTTP to an in-process gateway and verifies every answer's signature.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_protocol::{Charset, SignType};
use hongbao_test_support::*;

const UNKNOWN_QUERY: &str =
    r#"{"auth_no":"2014021601002000640012345678","operation_id":"20140216010020006400"}"#;

#[tokio::test]
async fn well_formed_query_for_unknown_ids_is_a_signed_auth_order_not_exist() {
    let app = spawn_app().await;
    let answer = app.call(QUERY, UNKNOWN_QUERY).await;
    assert_eq!((answer.code(), answer.sub_code()), ("40004", "AUTH_ORDER_NOT_EXIST"));
    assert_eq!(answer.key, "alipay_fund_coupon_operation_query_response");
}

#[tokio::test]
async fn get_with_everything_in_the_query_works_like_python_alipay_sdk() {
    let app = spawn_app().await;
    let call = Call::new(QUERY, UNKNOWN_QUERY).sign_type(SignType::Rsa);
    let query = String::from_utf8(call.body()).expect("ascii");
    let request =
        format!("GET /gateway.do?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = verify_answer(
        raw(app.addr, request.as_bytes()).await,
        Some(QUERY),
        Charset::Utf8,
        SignType::Rsa,
    );
    assert_eq!(answer.sub_code(), "AUTH_ORDER_NOT_EXIST");
}

#[tokio::test]
async fn absolute_form_target_with_params_split_like_the_official_python_sdk() {
    let app = spawn_app().await;
    let call = Call::new(QUERY, UNKNOWN_QUERY);
    let mut signed = call.signed();
    let biz = signed.remove("biz_content").expect("biz");
    let query = String::from_utf8(form_encode(&signed, Charset::Utf8)).expect("ascii");
    let body = [b"biz_content=".as_slice(), &encode_component(biz.as_bytes())].concat();
    let target = format!("http://127.0.0.1/gateway.do?{query}");
    let request = post_request(&target, &body, "application/x-www-form-urlencoded;charset=utf-8");
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "AUTH_ORDER_NOT_EXIST");
}

/// Item 4: the PHP SDK's `AopClient::pageExecute` (POST) puts `charset` in the form action's
/// query and again among the form's fields, signed once. The same value twice is one
/// parameter; two values stay refused (which one was signed would be a guess).
#[tokio::test]
async fn a_parameter_repeated_with_its_own_value_is_accepted_like_the_php_sdk_sends_it() {
    let app = spawn_app().await;
    let biz = r#"{"out_order_no":"PHP1","out_request_no":"pay1","order_title":"hongbao","amount":"1.00"}"#;
    let call = Call::new(PAGE_PAY, biz).param("return_url", "http://merchant.example/return");
    let php = post_request(
        "/gateway.do?charset=utf-8",
        &call.body(),
        "application/x-www-form-urlencoded",
    );
    let http = raw(app.addr, &php).await;
    assert_eq!(
        http.status,
        303,
        "the PHP SDK's form reaches the cashier: {}",
        String::from_utf8_lossy(&http.body)
    );
    assert!(http.header("location").unwrap_or("").starts_with("/cashier/"));
    // The same on the JSON path, every common parameter given in both places.
    let signed = Call::new(QUERY, UNKNOWN_QUERY).signed();
    let mut common = signed.clone();
    common.remove("biz_content");
    let query = String::from_utf8(form_encode(&common, Charset::Utf8)).expect("ascii");
    let both = post_request(
        &format!("/gateway.do?{query}"),
        &form_encode(&signed, Charset::Utf8),
        "application/x-www-form-urlencoded",
    );
    let answer =
        verify_answer(raw(app.addr, &both).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "AUTH_ORDER_NOT_EXIST", "{}", answer.sub_msg());
    // Another value in the second place is still refused.
    let other =
        post_request("/gateway.do?charset=GBK", &call.body(), "application/x-www-form-urlencoded");
    let http = raw(app.addr, &other).await;
    assert_eq!(http.status, 400);
    assert!(String::from_utf8_lossy(&http.body).contains("charset is given more than once"));
}

#[tokio::test]
async fn gbk_request_gets_a_gbk_body_signed_over_gbk_bytes() {
    let app = spawn_app().await;
    // A Chinese title and a GBK charset label in a different case: charset comes from the
    // parameter, compared case-insensitively, never from the Content-Type.
    let call = Call::new(PAY, &pay_biz("gbk-1", "1.00")).charset(Charset::Gbk, "gbk");
    let request = post_request(
        "/gateway.do",
        &call.body(),
        "application/x-www-form-urlencoded;charset=UTF-8",
    );
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(PAY), Charset::Gbk, SignType::Rsa2);
    assert_eq!(answer.code(), "10000");
    let query = r#"{"out_order_no":"gbk-1","out_request_no":"pay1"}"#;
    let call = Call::new(QUERY, query).charset(Charset::Gb2312, "GB2312");
    let request = post_request("/gateway.do", &call.body(), "application/x-www-form-urlencoded");
    let http = raw(app.addr, &request).await;
    // 红包发放 in GBK is in the body as raw bytes.
    assert!(http.body.windows(8).any(|w| w == [0xba, 0xec, 0xb0, 0xfc, 0xb7, 0xa2, 0xb7, 0xc5]));
    let answer = verify_answer(http, Some(QUERY), Charset::Gb2312, SignType::Rsa2);
    assert_eq!(answer.field("order_title"), "红包发放");
}

#[tokio::test]
async fn wrong_key_gets_40002_with_the_exact_sign_content() {
    let app = spawn_app().await;
    let call = Call::new(QUERY, UNKNOWN_QUERY).app(APP_A, stranger_key());
    let answer = app.send(&call).await;
    assert_eq!((answer.code(), answer.sub_code()), ("40002", "isv.invalid-signature"));
    let expected = hongbao_protocol::sign_content::request_sign_content(&call.params);
    assert!(
        answer.sub_msg().contains(&format!("网关生成的验签字符串为：{expected}")),
        "sub_msg lacks the sign content: {}",
        answer.sub_msg()
    );
    assert!(
        !answer.sub_msg().contains("hint"),
        "no hint applies to a wrong key: {}",
        answer.sub_msg()
    );
}

#[tokio::test]
async fn gbk_request_signed_over_utf8_bytes_gets_a_charset_hint() {
    let app = spawn_app().await;
    let call = Call::new(PAY, &pay_biz("gbk-utf8", "1.00")).charset(Charset::Gbk, "GBK");
    let mut signed = call.params.clone();
    let utf8_sign = hongbao_protocol::sign_content::sign_request(
        &signed,
        Charset::Utf8,
        SignType::Rsa2,
        &app_a_key(),
    )
    .expect("signs");
    signed.insert("sign", utf8_sign);
    let request = post_request(
        "/gateway.do",
        &form_encode(&signed, Charset::Gbk),
        "application/x-www-form-urlencoded",
    );
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(PAY), Charset::Gbk, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "isv.invalid-signature");
    assert!(answer.sub_msg().contains("UTF-8"), "{}", answer.sub_msg());
    assert!(answer.sub_msg().contains("charset=GBK"), "{}", answer.sub_msg());
}

#[tokio::test]
async fn rsa_signature_labelled_rsa2_gets_an_algorithm_hint() {
    let app = spawn_app().await;
    let call = Call::new(QUERY, UNKNOWN_QUERY);
    let mut signed = call.params.clone();
    let sha1 = hongbao_protocol::sign_content::sign_request(
        &signed,
        Charset::Utf8,
        SignType::Rsa,
        &app_a_key(),
    )
    .expect("signs");
    signed.insert("sign", sha1);
    let request = post_request(
        "/gateway.do",
        &form_encode(&signed, Charset::Utf8),
        "application/x-www-form-urlencoded",
    );
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "isv.invalid-signature");
    assert!(
        answer.sub_msg().contains("verifies as RSA, but sign_type says RSA2"),
        "{}",
        answer.sub_msg()
    );
}

#[tokio::test]
async fn tampered_biz_content_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let call = Call::new(PAY, &pay_biz("tamper", "1.00"));
    let mut signed = call.signed();
    signed.insert("biz_content", pay_biz("tamper", "9999.00"));
    let request = post_request(
        "/gateway.do",
        &form_encode(&signed, Charset::Utf8),
        "application/x-www-form-urlencoded",
    );
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(PAY), Charset::Utf8, SignType::Rsa2);
    assert_eq!((answer.code(), answer.sub_code()), ("40002", "isv.invalid-signature"));
    assert!(answer.sub_msg().contains("9999.00"), "the sign content shows what was received");
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE);
    let query = app.call(QUERY, r#"{"out_order_no":"tamper","out_request_no":"pay1"}"#).await;
    assert_eq!(query.sub_code(), "AUTH_ORDER_NOT_EXIST");
}

#[tokio::test]
async fn blank_values_and_unknown_extra_params_are_accepted_and_signed_over() {
    let app = spawn_app().await;
    // alipay_sdk and a udf param are signed; a blank notify_url is left out of the sign content
    // on both sides (Node SDK issue #48).
    let call = Call::new(QUERY, UNKNOWN_QUERY)
        .param("alipay_sdk", "alipay-sdk-nodejs-4.0.0")
        .param("terminal_type", "web");
    let mut body = call.body();
    body.extend_from_slice(b"&notify_url=&return_url=+");
    let request = post_request("/gateway.do", &body, "application/x-www-form-urlencoded");
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "AUTH_ORDER_NOT_EXIST");
    // An unknown parameter that was not signed breaks the signature.
    let mut body = call.body();
    body.extend_from_slice(b"&injected=1");
    let request = post_request("/gateway.do", &body, "application/x-www-form-urlencoded");
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "isv.invalid-signature");
}

/// One row per rule: the request, the node it must answer in, and the expected code/sub_code.
#[tokio::test]
async fn error_model_rows() {
    let app = spawn_app().await;
    let base = Call::new(QUERY, UNKNOWN_QUERY);
    let without = |key: &str| {
        let mut params = base.signed();
        params.remove(key);
        form_encode(&params, Charset::Utf8)
    };
    let with = |key: &str, value: &str| {
        let mut params = base.signed();
        params.insert(key, value);
        form_encode(&params, Charset::Utf8)
    };
    let resigned = |key: &str, value: &str| base.clone().param(key, value).body();
    let truncated_sign = {
        let mut params = base.signed();
        let sign = params.get("sign").expect("sign").to_owned();
        params.insert("sign", &sign[..sign.len() / 2]);
        form_encode(&params, Charset::Utf8)
    };
    // (name, body, method node expected, code, sub_code)
    type Row<'a> = (&'a str, Vec<u8>, Option<&'a str>, &'a str, &'a str);
    let rows: Vec<Row> = vec![
        ("no method", without("method"), None, "40001", "isv.missing-method"),
        (
            "unknown method",
            with("method", "alipay.trade.pay"),
            Some("alipay.trade.pay"),
            "40002",
            "isv.invalid-method",
        ),
        ("no app_id", without("app_id"), Some(QUERY), "40001", "isv.missing-app-id"),
        (
            "unknown app_id",
            resigned("app_id", "2021999999999999"),
            Some(QUERY),
            "40002",
            "isv.invalid-app-id",
        ),
        ("no sign_type", without("sign_type"), Some(QUERY), "40001", "isv.missing-signature-type"),
        (
            "bad sign_type",
            with("sign_type", "MD5"),
            Some(QUERY),
            "40002",
            "isv.invalid-signature-type",
        ),
        ("no sign", without("sign"), Some(QUERY), "40001", "isv.missing-signature"),
        ("truncated sign", truncated_sign, Some(QUERY), "40002", "isv.invalid-signature"),
        ("no timestamp", without("timestamp"), Some(QUERY), "40001", "isv.missing-timestamp"),
        (
            "bad timestamp",
            resigned("timestamp", "2026/11/23 10:00:00"),
            Some(QUERY),
            "40002",
            "isv.invalid-timestamp",
        ),
        (
            "stale timestamp",
            resigned("timestamp", "2020-01-01 00:00:00"),
            Some(QUERY),
            "40002",
            "isv.invalid-timestamp",
        ),
        ("no version", without("version"), Some(QUERY), "40001", "isv.missing-version"),
        ("bad version", resigned("version", "2.0"), Some(QUERY), "40002", "isv.invalid-parameter"),
        ("xml format", resigned("format", "xml"), Some(QUERY), "40002", "isv.invalid-format"),
        ("no charset", without("charset"), Some(QUERY), "40002", "isv.invalid-charset"),
        ("latin1 charset", with("charset", "latin1"), Some(QUERY), "40002", "isv.invalid-charset"),
        (
            "app_auth_token",
            resigned("app_auth_token", "201509BBeff9351ad1874306903e96b91d248A36"),
            Some(QUERY),
            "20001",
            "aop.invalid-app-auth-token",
        ),
        (
            "non-JSON biz_content",
            resigned("biz_content", "{not json"),
            Some(QUERY),
            "40004",
            "ILLEGAL_ARGUMENT",
        ),
        ("no biz_content", without("biz_content"), Some(QUERY), "40002", "isv.invalid-signature"),
        (
            "pairing broken",
            resigned("biz_content", r#"{"auth_no":"2014021601002000640012345678"}"#),
            Some(QUERY),
            "40004",
            "ILLEGAL_ARGUMENT",
        ),
        (
            "pairing broken other side",
            resigned("biz_content", r#"{"operation_id":"1","out_request_no":"2"}"#),
            Some(QUERY),
            "40004",
            "ILLEGAL_ARGUMENT",
        ),
        (
            "ftp notify_url",
            resigned("notify_url", "ftp://x/y"),
            Some(QUERY),
            "40002",
            "isv.invalid-parameter",
        ),
    ];
    for (name, body, method, code, sub_code) in rows {
        let request = post_request("/gateway.do", &body, "application/x-www-form-urlencoded");
        let answer =
            verify_answer(raw(app.addr, &request).await, method, Charset::Utf8, SignType::Rsa2);
        assert_eq!(
            (answer.code(), answer.sub_code()),
            (code, sub_code),
            "row {name:?}: {}",
            answer.sub_msg()
        );
        assert!(!answer.sub_msg().is_empty(), "row {name:?} explains itself");
    }
}

#[tokio::test]
async fn hostile_bytes_get_signed_errors_not_crashes() {
    let app = spawn_app().await;
    let base = Call::new(QUERY, UNKNOWN_QUERY);
    let mut bad_percent = base.body();
    bad_percent.extend_from_slice(b"&x=%G1");
    let mut gbk_as_utf8 = base.body();
    gbk_as_utf8.extend_from_slice(b"&order_title=%BA%EC");
    // The same app_id twice is one parameter (issue 16, the PHP SDK's form); another is refused.
    let mut duplicate = base.body();
    duplicate.extend_from_slice(b"&app_id=2021000000000002");
    for (name, body, sub_code) in [
        ("bad percent-encoding", bad_percent, "isv.invalid-parameter"),
        ("GBK bytes labelled utf-8", gbk_as_utf8, "isv.invalid-charset"),
        ("duplicated parameter, two values", duplicate, "isv.invalid-parameter"),
    ] {
        let request = post_request("/gateway.do", &body, "application/x-www-form-urlencoded");
        let answer = verify_answer(
            raw(app.addr, &request).await,
            Some(QUERY),
            Charset::Utf8,
            SignType::Rsa2,
        );
        assert_eq!(
            (answer.code(), answer.sub_code()),
            ("40002", sub_code),
            "{name}: {}",
            answer.sub_msg()
        );
    }
}

#[tokio::test]
async fn body_over_the_cap_is_refused_without_buffering_it() {
    let app = spawn_app().await;
    let query = "method=alipay.fund.coupon.operation.query&charset=utf-8&sign_type=RSA";
    let body = vec![b'a'; 2 * 1024 * 1024];
    let request =
        post_request(&format!("/gateway.do?{query}"), &body, "application/x-www-form-urlencoded");
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa);
    assert_eq!((answer.code(), answer.sub_code()), ("40002", "isv.invalid-parameter"));
    assert!(answer.sub_msg().contains("1048576"), "{}", answer.sub_msg());
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let app = spawn_app().await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Headers never finish: the connection is closed after the header timeout (0.5 s here).
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(b"POST /gateway.do HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let mut buf = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server must close a connection whose headers never finish");
    // A body that never arrives: 408 after the body timeout (1 s here), not a hung task.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"POST /gateway.do HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\nabc")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "a stalled body must not hold the connection");
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

#[tokio::test]
async fn arbitrary_bytes_never_break_the_gateway() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let app = spawn_app().await;
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(any::<u8>(), 0..400),
    );
    let handle = tokio::runtime::Handle::current();
    let addr = app.addr;
    let result = tokio::task::spawn_blocking(move || {
        runner.run(&strategy, |(query_bytes, body)| {
            let query: String =
                encode_component(&query_bytes).into_iter().map(char::from).collect();
            let request = post_request(
                &format!("/gateway.do?{query}"),
                &body,
                "application/x-www-form-urlencoded",
            );
            let http = handle.block_on(raw(addr, &request));
            prop_assert_eq!(http.status, 200);
            prop_assert!(http.body.ends_with(b"\"}"), "a signed envelope");
            Ok(())
        })
    })
    .await
    .expect("runner");
    assert!(result.is_ok(), "{result:?}");
    // The server still answers normally afterwards.
    assert_eq!(app.call(QUERY, UNKNOWN_QUERY).await.sub_code(), "AUTH_ORDER_NOT_EXIST");
}

#[tokio::test]
async fn a_polled_query_gets_the_same_verified_bytes_and_is_signed_once() {
    for entries in [4096, 0] {
        let limits =
            hongbao_gateway::Limits { signature_cache_entries: entries, ..Default::default() };
        let app = spawn_app_with(limits).await;
        let pay = app.call(PAY, &pay_biz("POLL1", "10.00")).await;
        assert_eq!(pay.code(), "10000");
        let before = app.gateway.signatures_remembered();
        let query = format!(
            r#"{{"auth_no":"{}","operation_id":"{}"}}"#,
            pay.field("auth_no"),
            pay.field("operation_id")
        );
        // A merchant polling for SUCCESS: three identical answers, each verified by `call`.
        let polls = [
            app.call(QUERY, &query).await,
            app.call(QUERY, &query).await,
            app.call(QUERY, &query).await,
        ];
        assert!(polls.iter().all(|poll| poll.field("status") == "SUCCESS"));
        assert!(
            polls.iter().all(|poll| poll.http.body == polls[0].http.body),
            "byte-identical answers"
        );
        // The same bytes under RSA are another signature: signed, not looked up.
        let rsa = app.send(&Call::new(QUERY, &query).sign_type(SignType::Rsa)).await;
        assert_eq!(rsa.field("status"), "SUCCESS");
        let remembered = app.gateway.signatures_remembered();
        if entries == 0 {
            assert_eq!(remembered, 0, "a memo of 0 entries remembers nothing");
        } else {
            assert_eq!(remembered, before + 2, "one RSA2 signature for the three polls, one RSA");
        }
    }
}

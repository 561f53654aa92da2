//! Answers the client must refuse, and the retry contract.
//!
//! Goal: a tampered answer, one signed with another key, an unsigned error (as real Alipay sends
//! for `isv.invalid-app-id`), a non-200 status and an answer without a response node are all
//! errors of the right kind, never data; ambiguous outcomes are retried with byte-identical
//! requests, a bounded number of times.
//!
//! Method: a scripted fake gateway (a raw TCP listener on port 0) answers with prepared bodies,
//! signed here with the test gateway key or a stranger's, and records every request it gets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_client::{
    AgreementPayRequest, Client, ErrorKind, Fen, HttpRequest, OperationStatus, OutOrderNo,
    OutRequestNo, RetryPolicy, SignatureFailure, Transport, TransportError, TransportFuture,
    UserId,
};
use hongbao_sign::{PrivateKey, SignType};
use hongbao_test_support::{app_a_key, gateway_key, stranger_key, APP_A, MERCHANT_A};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAY_KEY: &str = "alipay_fund_coupon_order_agreement_pay_response";
const SUCCESS_NODE: &str = r#"{"code":"10000","msg":"Success","auth_no":"2026111810002001","out_order_no":"p-1","operation_id":"20261118000001","out_request_no":"pay-1","amount":"10.00","status":"SUCCESS","gmt_trans":"2026-11-18 10:00:00"}"#;

fn envelope(node: &str, key: &PrivateKey) -> Vec<u8> {
    let sign = key.sign(SignType::Rsa2, node.as_bytes()).expect("signs");
    format!(r#"{{"{PAY_KEY}":{node},"sign":"{sign}"}}"#).into_bytes()
}

/// A fake gateway answering the scripted `(status, body)` pairs in turn (the last one again once
/// they run out). Returns its URL and the raw requests it received.
async fn fake_gateway(script: Vec<(u16, Vec<u8>)>) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    tokio::spawn(async move {
        let mut turn = 0;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let request = read_request(&mut stream).await;
            recorded.lock().expect("lock").push(request);
            let (status, body) = script[turn.min(script.len() - 1)].clone();
            turn += 1;
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
    });
    (format!("http://{addr}/gateway.do"), seen)
}

/// Reads one request: the head, then `Content-Length` bytes of body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        if n == 0 {
            return bytes;
        }
        bytes.extend_from_slice(&buf[..n]);
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return bytes;
            }
        }
    }
}

fn client(url: &str, retry: RetryPolicy) -> Client {
    Client::builder(url, APP_A, app_a_key(), gateway_key().public_key().expect("public"))
        .retry(retry)
        .build()
        .expect("builds")
}

fn pay() -> AgreementPayRequest {
    AgreementPayRequest::new(
        OutOrderNo::new("p-1"),
        OutRequestNo::new("pay-1"),
        "红包",
        Fen::from_fen(1000),
        UserId::new(MERCHANT_A),
    )
}

async fn pay_against(script: Vec<(u16, Vec<u8>)>) -> hongbao_client::Error {
    let (url, _) = fake_gateway(script).await;
    client(&url, RetryPolicy::none()).agreement_pay(&pay()).await.expect_err("must be refused")
}

#[tokio::test]
async fn a_correctly_signed_answer_is_read() {
    let (url, seen) = fake_gateway(vec![(200, envelope(SUCCESS_NODE, &gateway_key()))]).await;
    let paid = client(&url, RetryPolicy::none()).agreement_pay(&pay()).await.expect("verifies");
    assert_eq!(paid.status, OperationStatus::Success);
    assert_eq!(paid.amount, Fen::from_fen(1000));
    assert_eq!(
        paid.gmt_trans.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-18T10:00:00+08:00")
    );
    // The request went as the official Python SDK sends it.
    let request = String::from_utf8(seen.lock().expect("lock")[0].clone()).expect("ascii");
    assert!(request.starts_with("POST /gateway.do?timestamp="), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded;charset=utf-8"),
        "{request}"
    );
    assert!(request.ends_with("\r\n\r\nbiz_content=%7B%22out_order_no%22%3A%22p-1%22%2C%22out_request_no%22%3A%22pay-1%22%2C%22order_title%22%3A%22%E7%BA%A2%E5%8C%85%22%2C%22amount%22%3A%2210.00%22%2C%22payer_user_id%22%3A%222088100000000001%22%7D"), "{request}");
}

#[tokio::test]
async fn a_tampered_answer_is_rejected() {
    let mut body = envelope(SUCCESS_NODE, &gateway_key());
    let text = String::from_utf8(body.clone()).expect("utf-8").replace("10.00", "99.00");
    body = text.into_bytes();
    let err = pay_against(vec![(200, body)]).await;
    assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn an_answer_signed_with_another_key_is_rejected() {
    let err = pay_against(vec![(200, envelope(SUCCESS_NODE, &stranger_key()))]).await;
    assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
}

#[tokio::test]
async fn unsigned_errors_are_rejected_not_reported_as_gateway_errors() {
    // Real Alipay leaves isv.invalid-app-id unsigned; anyone could have written it.
    let node = r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}"#;
    for body in [
        format!(r#"{{"{PAY_KEY}":{node}}}"#),
        format!(r#"{{"{PAY_KEY}":{node},"sign":""}}"#),
        format!(r#"{{"error_response":{node}}}"#),
    ] {
        let err = pay_against(vec![(200, body.clone().into_bytes())]).await;
        assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Unsigned), "{body}");
        assert!(err.gateway().is_none());
    }
}

#[tokio::test]
async fn a_signed_error_response_node_is_a_gateway_error() {
    let node = r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"无效签名"}"#;
    let sign = gateway_key().sign(SignType::Rsa2, node.as_bytes()).expect("signs");
    let body = format!(r#"{{"error_response":{node},"sign":"{sign}"}}"#);
    let err = pay_against(vec![(200, body.into_bytes())]).await;
    let gateway = err.gateway().expect("verified gateway error");
    assert_eq!(gateway.sub_code(), Some("isv.invalid-signature"));
    assert_eq!(gateway.node(), node);
}

#[tokio::test]
async fn bodies_without_a_node_and_non_200_statuses_are_refused() {
    let err = pay_against(vec![(200, b"<html>gateway</html>".to_vec())]).await;
    assert!(matches!(err.kind(), ErrorKind::Signature(SignatureFailure::NoResponseNode { .. })));
    let err = pay_against(vec![(502, envelope(SUCCESS_NODE, &gateway_key()))]).await;
    assert!(matches!(err.kind(), ErrorKind::HttpStatus { status: 502, .. }), "{err:?}");
}

#[tokio::test]
async fn an_answer_that_proves_the_url_wrong_is_not_retried() {
    // A 404, or a redirect (what hongbao answers to an app.pay POSTed to /gateway.do), comes
    // from no Alipay gateway: resending cannot help and nothing was done.
    for status in [404, 302, 400, 405] {
        let (url, seen) = fake_gateway(vec![(status, b"<html>not here</html>".to_vec())]).await;
        let retry = RetryPolicy::new(4, Duration::ZERO, Duration::ZERO);
        let err = client(&url, retry).agreement_pay(&pay()).await.expect_err("wrong URL");
        assert!(matches!(err.kind(), ErrorKind::HttpStatus { status: s, .. } if *s == status));
        assert_eq!(seen.lock().expect("lock").len(), 1, "HTTP {status} is sent once");
        assert!(!err.is_retryable() && !err.outcome_unknown(), "HTTP {status}");
    }
    // A proxy's 503 or 429 may pass: retried (the script answers 503, 429, then success).
    let (url, seen) = fake_gateway(vec![
        (503, Vec::new()),
        (429, Vec::new()),
        (200, envelope(SUCCESS_NODE, &gateway_key())),
    ])
    .await;
    let retry = RetryPolicy::new(3, Duration::ZERO, Duration::ZERO);
    client(&url, retry).agreement_pay(&pay()).await.expect("third attempt");
    assert_eq!(seen.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    // A redirect to another host would send the signed request elsewhere: it is not followed.
    let (target, target_seen) =
        fake_gateway(vec![(200, envelope(SUCCESS_NODE, &gateway_key()))]).await;
    let head = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = read_request(&mut stream).await;
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    let err = client(&format!("http://{addr}/gateway.do"), RetryPolicy::none())
        .agreement_pay(&pay())
        .await
        .expect_err("a redirect is no answer");
    assert!(matches!(err.kind(), ErrorKind::HttpStatus { status: 307, .. }), "{err:?}");
    assert!(target_seen.lock().expect("lock").is_empty(), "the redirect was not followed");
}

#[tokio::test]
async fn a_verified_success_with_a_bad_amount_is_malformed() {
    let node = SUCCESS_NODE.replace("\"10.00\"", "\"10.001\"");
    let err = pay_against(vec![(200, envelope(&node, &gateway_key()))]).await;
    assert!(
        matches!(err.kind(), ErrorKind::Malformed { field, .. } if field == "amount"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_outcomes_are_retried_with_the_identical_request() {
    let busy = r#"{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}"#;
    let (url, seen) = fake_gateway(vec![
        (200, envelope(busy, &gateway_key())),
        (503, Vec::new()),
        (200, envelope(SUCCESS_NODE, &gateway_key())),
    ])
    .await;
    let retry = RetryPolicy::new(3, Duration::from_millis(10), Duration::from_millis(50));
    let paid = client(&url, retry).agreement_pay(&pay()).await.expect("third attempt succeeds");
    assert_eq!(paid.status, OperationStatus::Success);
    let requests = seen.lock().expect("lock").clone();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r == &requests[0]), "every attempt sends the same bytes");
}

#[tokio::test]
async fn retries_are_bounded_and_business_errors_are_not_retried() {
    let busy = r#"{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}"#;
    let (url, seen) = fake_gateway(vec![(200, envelope(busy, &gateway_key()))]).await;
    let retry = RetryPolicy::new(4, Duration::from_millis(20), Duration::from_millis(40));
    let started = Instant::now();
    let err = client(&url, retry).agreement_pay(&pay()).await.expect_err("always busy");
    assert_eq!(seen.lock().expect("lock").len(), 4);
    // Backoffs of 20, 40 and 40 ms between the four attempts, each jittered to at least half.
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(err.outcome_unknown());
    assert_eq!(err.gateway().map(|g| g.code()), Some("20000"));

    let refused = r#"{"code":"40004","msg":"Business Failed","sub_code":"UNIQUE_VIOLATION","sub_msg":"重复"}"#;
    let (url, seen) = fake_gateway(vec![(200, envelope(refused, &gateway_key()))]).await;
    let err =
        client(&url, RetryPolicy::default()).agreement_pay(&pay()).await.expect_err("refused");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert!(!err.outcome_unknown());
    // Signature failures are not retried either.
    let (url, seen) = fake_gateway(vec![(200, envelope(SUCCESS_NODE, &stranger_key()))]).await;
    client(&url, RetryPolicy::default()).agreement_pay(&pay()).await.expect_err("unverifiable");
    assert_eq!(seen.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_timeout_is_a_transport_error_that_says_so() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = Client::builder(
        format!("http://{addr}/gateway.do"),
        APP_A,
        app_a_key(),
        gateway_key().public_key().expect("public"),
    )
    .timeout(Duration::from_millis(200))
    .retry(RetryPolicy::none())
    .build()
    .expect("builds");
    let err = client.agreement_pay(&pay()).await.expect_err("times out");
    assert!(matches!(err.kind(), ErrorKind::Transport { timed_out: true, .. }), "{err:?}");
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn a_refused_connection_says_nothing_was_sent_and_leaves_no_unknown_outcome() {
    // A port with no listener: bound, read, then closed.
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let url = format!("http://{closed}/gateway.do");
    let retry = RetryPolicy::new(2, Duration::from_millis(1), Duration::from_millis(1));
    let err = client(&url, retry).agreement_pay(&pay()).await.expect_err("nothing listens");
    assert!(matches!(err.kind(), ErrorKind::Unreachable { .. }), "{err:?}");
    assert!(!err.outcome_unknown(), "nothing was sent, so nothing happened");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
}

/// A transport that fails with each of `script` in turn (the last one repeats).
struct Failing(Mutex<Vec<TransportError>>);

impl Transport for Failing {
    fn post<'a>(&'a self, _request: HttpRequest<'a>) -> TransportFuture<'a> {
        let mut script = self.0.lock().expect("lock");
        let next = if script.len() > 1 {
            script.remove(0)
        } else {
            TransportError::unreachable(script[0].to_string())
        };
        Box::pin(async move { Err(next) })
    }
}

#[tokio::test]
async fn a_refused_retry_after_a_timeout_keeps_the_outcome_unknown() {
    // The first attempt timed out (it may have reached the gateway), the retry could not
    // connect: the call as a whole may still have taken effect.
    let failing = Failing(Mutex::new(vec![
        TransportError::timeout("no answer in 15 s"),
        TransportError::unreachable("connection refused"),
    ]));
    let retry = RetryPolicy::new(2, Duration::from_millis(1), Duration::from_millis(1));
    let client = Client::builder(
        "http://127.0.0.1:9/gateway.do",
        APP_A,
        app_a_key(),
        gateway_key().public_key().expect("public"),
    )
    .retry(retry)
    .transport(Arc::new(failing))
    .build()
    .expect("builds");
    let err = client.agreement_pay(&pay()).await.expect_err("fails");
    assert!(matches!(err.kind(), ErrorKind::Transport { .. }), "{err:?}");
    assert!(err.outcome_unknown(), "{err}");
    assert!(err.to_string().contains("an earlier attempt may have reached the gateway"), "{err}");
}

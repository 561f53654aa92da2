//! The bad input catalogue (issue: reliability): 60+ malformed or hostile requests, each with
//! the code and sub_code it must get, every answer signed (and in the request's own node unless
//! it names no usable method), and the ledger unchanged by all of them together.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::LedgerSnapshot;
use hongbao_protocol::{Charset, SignType};
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

/// A request body and where its answer must be found.
struct Row {
    name: String,
    body: Vec<u8>,
    node: Option<String>,
    code: &'static str,
    sub_code: &'static str,
}

fn signed(call: &Call) -> Vec<u8> {
    call.body()
}

fn without(call: &Call, key: &str) -> Vec<u8> {
    let mut params = call.signed();
    params.remove(key);
    form_encode(&params, Charset::Utf8)
}

fn with_unsigned(call: &Call, key: &str, value: &str) -> Vec<u8> {
    let mut params = call.signed();
    params.insert(key, value);
    form_encode(&params, Charset::Utf8)
}

fn appended(call: &Call, extra: &[u8]) -> Vec<u8> {
    let mut body = call.body();
    body.extend_from_slice(extra);
    body
}

#[tokio::test]
async fn every_hostile_request_gets_its_error_and_changes_nothing() {
    let app = spawn_app().await;
    let pay = app.call(PAY, &pay_biz("P", "10.00")).await;
    let auth_no = pay.field("auth_no").to_owned();
    let operation_id = pay.field("operation_id").to_owned();
    let other = Call::new(PAY, &format!(r#"{{"out_order_no":"B","out_request_no":"pay1","order_title":"t","amount":"5.00","payer_user_id":"{MERCHANT_B}"}}"#))
        .app(APP_B, app_b_key());
    let other = app.send(&other).await;
    let other_auth_no = other.field("auth_no").to_owned();
    let other_operation_id = other.field("operation_id").to_owned();
    let before = fingerprint(&app.store.snapshot().await.expect("snapshot"));

    let query = |biz: &str| Call::new(QUERY, biz);
    let good_query =
        query(&format!(r#"{{"auth_no":"{auth_no}","operation_id":"{operation_id}"}}"#));
    let pay_with = |field: &str, value: &str| {
        let mut biz: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&pay_biz("X", "1.00")).expect("json");
        biz.insert(field.into(), serde_json::Value::String(value.into()));
        Call::new(PAY, &serde_json::Value::Object(biz).to_string())
    };
    let pay_raw = |fragment: &str| {
        Call::new(
            PAY,
            &format!(
                r#"{{"out_order_no":"X","out_request_no":"1","order_title":"t","payer_user_id":"{MERCHANT_A}",{fragment}}}"#
            ),
        )
    };
    let disburse = |fragment: &str| {
        Call::new(
            DISBURSE,
            &format!(
                r#"{{"out_order_no":"D","out_request_no":"1","order_title":"t","amount":"1.00",{fragment}}}"#
            ),
        )
    };
    let refund = |fragment: &str| Call::new(REFUND, &format!("{{{fragment}}}"));
    let sign_of_b = Call::new(QUERY, "{}").app(APP_A, app_b_key());
    let replay_as_b = {
        let mut params = good_query.signed();
        params.insert("app_id", APP_B);
        form_encode(&params, Charset::Utf8)
    };
    let many_params = {
        let mut body = good_query.body();
        for i in 0..300 {
            body.extend_from_slice(format!("&p{i}=1").as_bytes());
        }
        body
    };
    let gbk_title_as_utf8 = {
        let call = pay_with("order_title", "红包");
        let mut params = call.signed();
        params.insert("charset", "utf-8");
        form_encode(&params, Charset::Gbk)
    };
    let q = Some(QUERY.to_owned());
    let p = Some(PAY.to_owned());
    let d = Some(DISBURSE.to_owned());
    let r = Some(REFUND.to_owned());
    let row = |name: &str,
               body: Vec<u8>,
               node: &Option<String>,
               code: &'static str,
               sub_code: &'static str| Row {
        name: name.into(),
        body,
        node: node.clone(),
        code,
        sub_code,
    };
    let future =
        (chrono::Utc::now() + chrono::TimeDelta::days(2)).format("%Y-%m-%d %H:%M:%S").to_string();
    let leap_second = chrono::Utc::now().format("%Y-%m-%d %H:59:60").to_string();
    let many_fields = {
        let fields: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\":1")).collect();
        format!("{{{}}}", fields.join(","))
    };
    let rows = vec![
        row("missing method", without(&good_query, "method"), &None, "40001", "isv.missing-method"),
        row("missing app_id", without(&good_query, "app_id"), &q, "40001", "isv.missing-app-id"),
        row("missing sign_type", without(&good_query, "sign_type"), &q, "40001", "isv.missing-signature-type"),
        row("missing sign", without(&good_query, "sign"), &q, "40001", "isv.missing-signature"),
        row("missing timestamp", without(&good_query, "timestamp"), &q, "40001", "isv.missing-timestamp"),
        row("missing version", without(&good_query, "version"), &q, "40001", "isv.missing-version"),
        row("missing charset", without(&good_query, "charset"), &q, "40002", "isv.invalid-charset"),
        row("method twice, two values", appended(&good_query, format!("&method={PAY}").as_bytes()), &q, "40002", "isv.invalid-parameter"),
        row("biz_content twice", appended(&good_query, b"&biz_content=%7B%7D"), &q, "40002", "isv.invalid-parameter"),
        row("unknown method", signed(&good_query.clone().param("method", "alipay.trade.pay")), &Some("alipay.trade.pay".into()), "40002", "isv.invalid-method"),
        row("method with spaces", signed(&good_query.clone().param("method", "alipay fund")), &None, "40002", "isv.invalid-method"),
        row("unknown app_id", signed(&good_query.clone().param("app_id", "2021999999999999")), &q, "40002", "isv.invalid-app-id"),
        row("overlong app_id", signed(&good_query.clone().param("app_id", &"9".repeat(100))), &q, "40002", "isv.invalid-app-id"),
        row("sign_type MD5", with_unsigned(&good_query, "sign_type", "MD5"), &q, "40002", "isv.invalid-signature-type"),
        row("sign_type lowercase", with_unsigned(&good_query, "sign_type", "rsa2"), &q, "40002", "isv.invalid-signature-type"),
        row("stale timestamp", signed(&good_query.clone().param("timestamp", "2020-01-01 00:00:00")), &q, "40002", "isv.invalid-timestamp"),
        row("future timestamp", signed(&good_query.clone().param("timestamp", &future)), &q, "40002", "isv.invalid-timestamp"),
        row("timestamp format", signed(&good_query.clone().param("timestamp", "20261123120000")), &q, "40002", "isv.invalid-timestamp"),
        row("version 2.0", signed(&good_query.clone().param("version", "2.0")), &q, "40002", "isv.invalid-parameter"),
        row("format xml", signed(&good_query.clone().param("format", "xml")), &q, "40002", "isv.invalid-format"),
        row("charset latin1", with_unsigned(&good_query, "charset", "latin1"), &q, "40002", "isv.invalid-charset"),
        row("GBK bytes labelled utf-8", gbk_title_as_utf8, &p, "40002", "isv.invalid-charset"),
        row("bad percent-encoding", appended(&good_query, b"&x=%ZZ"), &q, "40002", "isv.invalid-parameter"),
        row("truncated sign", { let mut params = good_query.signed(); let sign = params.get("sign").expect("sign")[..100].to_owned(); params.insert("sign", sign); form_encode(&params, Charset::Utf8) }, &q, "40002", "isv.invalid-signature"),
        row("signed with another app's key", signed(&sign_of_b), &q, "40002", "isv.invalid-signature"),
        row("replay under another app_id", replay_as_b, &q, "40002", "isv.invalid-signature"),
        row("unsigned extra parameter", appended(&good_query, b"&extra=1"), &q, "40002", "isv.invalid-signature"),
        row("app_auth_token", signed(&good_query.clone().param("app_auth_token", "201509BBeff9351ad1874306903e96b91d248A36")), &q, "20001", "aop.invalid-app-auth-token"),
        row("ftp notify_url", signed(&good_query.clone().param("notify_url", "ftp://x/y")), &q, "40002", "isv.invalid-parameter"),
        row("300-character notify_url", signed(&good_query.clone().param("notify_url", &format!("http://x/{}", "a".repeat(300)))), &q, "40002", "isv.invalid-parameter"),
        row("300 parameters", many_params, &q, "40002", "isv.invalid-parameter"),
        row("biz_content missing", without(&Call::new(QUERY, "").param("biz_content", " "), "biz_content"), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("biz_content dropped after signing", without(&good_query, "biz_content"), &q, "40002", "isv.invalid-signature"),
        row("biz_content blank (signed)", signed(&Call::new(QUERY, " ")), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("biz_content not JSON", signed(&Call::new(QUERY, "{auth_no:1}")), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("biz_content an array", signed(&Call::new(QUERY, "[]")), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("biz_content duplicate keys", signed(&Call::new(QUERY, r#"{"auth_no":"1","auth_no":"2","operation_id":"3"}"#)), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("amount 1e3", signed(&pay_with("amount", "1e3")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount 0.001", signed(&pay_with("amount", "0.001")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount -1", signed(&pay_with("amount", "-1")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount 100000000.01", signed(&pay_with("amount", "100000000.01")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount full-width", signed(&pay_with("amount", "１００")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount 0", signed(&pay_with("amount", "0")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount empty", signed(&pay_with("amount", "")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount a boolean", signed(&pay_raw(r#""amount":true"#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount number with exponent", signed(&pay_raw(r#""amount":1e2"#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("amount missing", signed(&pay_raw(r#""x":"1""#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("out_order_no 65 characters", signed(&pay_with("out_order_no", &"o".repeat(65))), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("out_order_no control character", signed(&pay_with("out_order_no", "a\u{7}b")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("out_order_no non-ASCII", signed(&pay_with("out_order_no", "订单1")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("out_request_no empty", signed(&pay_with("out_request_no", "")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("order_title empty", signed(&pay_with("order_title", "   ")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("order_title too long", signed(&pay_with("order_title", &"长".repeat(51))), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("payer_user_id malformed", signed(&pay_with("payer_user_id", "2088abc")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("payer not the merchant", signed(&pay_with("payer_user_id", ALICE)), &p, "40004", "PAYER_NOT_MATCH"),
        row("pay_timeout 1.5h", signed(&pay_with("pay_timeout", "1.5h")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("pay_timeout 8d", signed(&pay_with("pay_timeout", "8d")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("extra_param not JSON", signed(&pay_with("extra_param", "orderExpiredTime=1m")), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("orderExpiredTime 1.5h", signed(&pay_with("extra_param", r#"{"orderExpiredTime":"1.5h"}"#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("balance not enough", signed(&pay_with("amount", "100000000.00")), &p, "40004", "BALANCE_NOT_ENOUGH"),
        row("disburse without a packet", signed(&disburse(&format!(r#""payee_user_id":"{ALICE}""#))), &d, "40004", "ILLEGAL_ARGUMENT"),
        row("disburse without a payee", signed(&disburse(&format!(r#""deduct_auth_no":"{auth_no}""#))), &d, "40004", "ILLEGAL_ARGUMENT"),
        row("disburse payee malformed", signed(&disburse(&format!(r#""deduct_auth_no":"{auth_no}","payee_user_id":"1""#))), &d, "40004", "ILLEGAL_ARGUMENT"),
        row("disburse unknown packet", signed(&disburse(&format!(r#""deduct_auth_no":"1{}","payee_user_id":"{ALICE}""#, &auth_no[1..]))), &d, "40004", "AUTH_ORDER_NOT_EXIST"),
        row("disburse another app's packet", signed(&disburse(&format!(r#""deduct_auth_no":"{other_auth_no}","payee_user_id":"{ALICE}""#))), &d, "40004", "ACCESS_FORBIDDEN"),
        row("disburse mismatched payee pair", signed(&disburse(&format!(r#""deduct_auth_no":"{auth_no}","payee_user_id":"{ALICE}","payee_logon_id":"{BOB_LOGON}""#))), &d, "40004", "ILLEGAL_ARGUMENT"),
        row("disburse unknown payee", signed(&disburse(&format!(r#""deduct_auth_no":"{auth_no}","payee_logon_id":"nobody@example.com""#))), &d, "40004", "PAYEE_NOT_EXIST"),
        row("disburse more than left", signed(&disburse(&format!(r#""deduct_auth_no":"{auth_no}","payee_user_id":"{ALICE}""#)).param("biz_content", &format!(r#"{{"out_order_no":"D","out_request_no":"1","order_title":"t","amount":"10.01","deduct_auth_no":"{auth_no}","payee_user_id":"{ALICE}"}}"#))), &d, "40004", "MONEY_NOT_ENOUGH"),
        row("refund without auth_no", signed(&refund(r#""out_request_no":"R","amount":"1.00","remark":"r""#)), &r, "40004", "ILLEGAL_ARGUMENT"),
        row("refund without remark", signed(&refund(&format!(r#""auth_no":"{auth_no}","out_request_no":"R","amount":"1.00""#))), &r, "40004", "ILLEGAL_ARGUMENT"),
        row("refund more than left", signed(&refund(&format!(r#""auth_no":"{auth_no}","out_request_no":"R","amount":"10.01","remark":"r""#))), &r, "40004", "MONEY_NOT_ENOUGH"),
        row("refund another app's packet", signed(&refund(&format!(r#""auth_no":"{other_auth_no}","out_request_no":"R","amount":"1.00","remark":"r""#))), &r, "40004", "ACCESS_FORBIDDEN"),
        row("refund reusing the pay's out_request_no", signed(&refund(&format!(r#""auth_no":"{auth_no}","out_request_no":"pay1","amount":"1.00","remark":"r""#))), &r, "40004", "UNIQUE_VIOLATION"),
        row("replay with another amount", signed(&Call::new(PAY, &pay_biz("P", "11.00"))), &p, "40004", "UNIQUE_VIOLATION"),
        row("query auth_no only", signed(&query(&format!(r#"{{"auth_no":"{auth_no}"}}"#))), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("query operation_id only", signed(&query(&format!(r#"{{"operation_id":"{operation_id}"}}"#))), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("query empty strings", signed(&query(r#"{"auth_no":"","out_order_no":"","operation_id":"","out_request_no":""}"#)), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("query another app's order", signed(&query(&format!(r#"{{"auth_no":"{other_auth_no}","operation_id":"{other_operation_id}"}}"#))), &q, "40004", "ACCESS_FORBIDDEN"),
        row("query mismatched id pair", signed(&query(&format!(r#"{{"auth_no":"{auth_no}","operation_id":"{other_operation_id}"}}"#))), &q, "40004", "AUTH_OPERATION_NOT_EXIST"),
        row("query non-ASCII id", signed(&query(r#"{"out_order_no":"红包","out_request_no":"1"}"#)), &q, "40004", "ILLEGAL_ARGUMENT"),
        // Issue 16: bounds before work, exact names for what is wrong, the destination policy.
        row("charset twice with different values", appended(&good_query, b"&charset=GBK"), &q, "40002", "isv.invalid-parameter"),
        row("half a million empty pairs", { let mut body = good_query.body(); body.extend_from_slice(&b"&a".repeat(500_000)); body }, &q, "40002", "isv.invalid-parameter"),
        row("timestamp with a leap second", signed(&good_query.clone().param("timestamp", &leap_second)), &q, "40002", "isv.invalid-timestamp"),
        row("biz_content duplicate key before the last", signed(&Call::new(QUERY, r#"{"auth_no":"1","auth_no":"2","operation_id":"3","out_request_no":"4"}"#)), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("biz_content of 10,000 fields", signed(&Call::new(QUERY, &many_fields)), &q, "40004", "ILLEGAL_ARGUMENT"),
        row("extra_param duplicate keys", signed(&pay_with("extra_param", r#"{"orderExpiredTime":"1m","orderExpiredTime":"30d"}"#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("extra_param object with duplicate keys", signed(&pay_raw(r#""amount":"1.00","extra_param":{"orderExpiredTime":"1m","orderExpiredTime":"30d"}"#)), &p, "40004", "ILLEGAL_ARGUMENT"),
        row("notify_url unspecified in decimal", signed(&good_query.clone().param("notify_url", "http://0/latest/meta-data/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified in octal", signed(&good_query.clone().param("notify_url", "http://00.00.00.00/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified in hex", signed(&good_query.clone().param("notify_url", "http://0x0/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified in dotted hex", signed(&good_query.clone().param("notify_url", "http://0x0.0x0.0x0.0x0/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified IPv4-mapped", signed(&good_query.clone().param("notify_url", "http://[::ffff:0.0.0.0]/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url IPv6 unspecified", signed(&good_query.clone().param("notify_url", "http://[::]/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified", signed(&good_query.clone().param("notify_url", "http://0.0.0.0:8080/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url IPv6 unspecified in full", signed(&good_query.clone().param("notify_url", "http://[0:0:0:0:0:0:0:0]/")), &q, "40002", "isv.invalid-parameter"),
        row("notify_url unspecified with a trailing dot", signed(&good_query.clone().param("notify_url", "http://0.0.0.0./")), &q, "40002", "isv.invalid-parameter"),
    ];
    assert!(rows.len() >= 95, "the catalogue has {} rows", rows.len());
    for row in &rows {
        let request = post_request("/gateway.do", &row.body, "application/x-www-form-urlencoded");
        let answer = verify_answer(
            raw(app.addr, &request).await,
            row.node.as_deref(),
            Charset::Utf8,
            SignType::Rsa2,
        );
        assert_eq!(
            (answer.code(), answer.sub_code()),
            (row.code, row.sub_code),
            "row {:?}: {}",
            row.name,
            answer.sub_msg()
        );
        assert!(!answer.sub_msg().is_empty(), "row {:?} explains itself", row.name);
        // The sub_msg names what is wrong, not something else (issue 16: a duplicate key
        // before the last was once reported as a trailing comma).
        let named = match row.name.as_str() {
            "biz_content duplicate key before the last" => Some("auth_no more than once"),
            "extra_param duplicate keys" | "extra_param object with duplicate keys" => {
                Some("orderExpiredTime more than once")
            }
            "biz_content of 10,000 fields" => Some("more than 64 fields"),
            "half a million empty pairs" => Some("more than 256 parameters"),
            "charset twice with different values" => Some("charset is given more than once"),
            name if name.starts_with("notify_url ") => Some("does not send to"),
            _ => None,
        };
        if let Some(named) = named {
            assert!(answer.sub_msg().contains(named), "row {:?}: {}", row.name, answer.sub_msg());
        }
    }
    // A 2 MiB body, answered without being read.
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let request = post_request(
        &format!("/gateway.do?method={QUERY}&charset=utf-8"),
        &huge,
        "application/x-www-form-urlencoded",
    );
    let answer =
        verify_answer(raw(app.addr, &request).await, Some(QUERY), Charset::Utf8, SignType::Rsa2);
    assert_eq!(answer.sub_code(), "isv.invalid-parameter");

    let after = fingerprint(&app.store.snapshot().await.expect("snapshot"));
    assert_eq!(before, after, "the catalogue changed the ledger");
    app.assert_invariants().await;
}

/// Sends `head` (a request head promising a body) and `partial` of its body, then stops; returns
/// what the server sent before it closed the connection, or `None` when it still held the
/// connection open after `within`.
async fn stall(
    addr: std::net::SocketAddr,
    head: String,
    partial: Vec<u8>,
    within: std::time::Duration,
) -> Option<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // A server that already answered may refuse the rest of the body: that is fine here.
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let _ = stream.write_all(&partial).await;
    }
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(answer),
        Err(_) => None,
    }
}

/// Item 1: every route, whether or not its handler reads the body, lets go of a client that
/// sent its headers and part of a body once the body deadline (1 s in tests) has passed.
#[tokio::test]
async fn a_half_sent_body_is_let_go_on_every_route() {
    let app = spawn_app().await;
    let pay = app.call(PAY, &pay_biz("S", "10.00")).await;
    assert_eq!(pay.code(), "10000");
    let routes = [
        "POST /gateway.do",
        "POST /cashier/2026111800000000000001",
        "POST /wallet/pay",
        "POST /sandbox/clock/advance",
        "GET /wallet",
        "GET /cashier/2026111800000000000001",
        "GET /healthz",
        "GET /readyz",
        "GET /sandbox/clock",
        "POST /no/such/route",
    ];
    for route in routes {
        let head = format!(
            "{route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SANDBOX_TOKEN}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n"
        );
        let answered =
            stall(app.addr, head, b"by=1".to_vec(), std::time::Duration::from_secs(5)).await;
        assert!(answered.is_some(), "{route}: the connection is still held after 5 s");
    }
    // The gateway answers as before.
    assert_eq!(app.call(PAY, &pay_biz("S2", "1.00")).await.code(), "10000");
}

/// Item 1: the pages take forms of a few KiB; more is refused before it is read, with a page
/// that says why.
#[tokio::test]
async fn a_page_body_over_its_cap_is_refused() {
    let app = spawn_app().await;
    let big = vec![b'a'; 64 * 1024];
    for path in ["/cashier/2026111800000000000001", "/wallet/pay"] {
        let http =
            raw(app.addr, &post_request(path, &big, "application/x-www-form-urlencoded")).await;
        let text = String::from_utf8_lossy(&http.body).into_owned();
        assert_eq!(http.status, 400, "{path}: {text}");
        assert!(text.contains("exceeds 16384 bytes"), "{path}: {text}");
    }
}

/// Item 6: a broken chunked body is named as such, not as a body over the size cap.
#[tokio::test]
async fn a_malformed_chunked_body_is_named() {
    let app = spawn_app().await;
    let request = format!(
        "POST /gateway.do?method={QUERY}&charset=utf-8 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nab=cd\r\nzz\r\nxyz\r\n0\r\n\r\n"
    );
    let answer = verify_answer(
        raw(app.addr, request.as_bytes()).await,
        Some(QUERY),
        Charset::Utf8,
        SignType::Rsa2,
    );
    assert_eq!(answer.sub_code(), "isv.invalid-parameter");
    assert!(answer.sub_msg().contains("malformed"), "{}", answer.sub_msg());
    assert!(!answer.sub_msg().contains("exceeds"), "{}", answer.sub_msg());
}

/// Item 1: bodies still arriving share one budget. Stalled near-cap bodies beyond it are shed at
/// once (signed 20000, nothing done) instead of each holding its memory until its deadline.
#[tokio::test]
async fn stalled_bodies_beyond_the_buffering_budget_are_shed_at_once() {
    const BODIES: usize = 12;
    const SENT: usize = 900 * 1024;
    let budget = 4 * 1024 * 1024;
    let app = spawn_app_with(hongbao_gateway::Limits {
        body_buffer_bytes_max: budget,
        body_read_timeout: std::time::Duration::from_secs(5),
        ..test_limits()
    })
    .await;
    let head = format!(
        "POST /gateway.do?method={QUERY}&charset=utf-8 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        1000 * 1024
    );
    let part = vec![b'x'; SENT];
    let answers = futures_join(
        (0..BODIES)
            .map(|_| stall(app.addr, head.clone(), part.clone(), std::time::Duration::from_secs(3)))
            .collect(),
    )
    .await;
    // At most budget / SENT bodies fit; every other one is let go well before the 5 s deadline.
    let let_go: Vec<Vec<u8>> = answers.into_iter().flatten().collect();
    assert!(
        let_go.len() >= BODIES - budget / SENT,
        "{} of {BODIES} stalled bodies let go at once; at most {} fit the budget",
        let_go.len(),
        budget / SENT
    );
    // What was answered (the connection may close before the client reads it) is a signed
    // 20000: nothing was done, the identical request may be retried.
    for bytes in let_go.iter().filter(|bytes| bytes.windows(4).any(|w| w == b"\r\n\r\n")) {
        let answer =
            verify_answer(parse_response(bytes), Some(QUERY), Charset::Utf8, SignType::Rsa2);
        assert_eq!((answer.code(), answer.sub_code()), ("20000", "isp.unknow-error"));
    }
}

/// Joins futures without a futures crate: each on its own task.
async fn futures_join<T: Send + 'static>(
    futures: Vec<impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

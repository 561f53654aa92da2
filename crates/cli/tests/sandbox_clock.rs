//! Timeouts through the sandbox clock control against a running server: `hongbao clock advance`
//! expires a packet and its remainder comes back as a REFUND operation, in seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;
use std::io::Write;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const TOKEN: &str = "sandbox-token-for-tests-0123456789";

#[tokio::test]
async fn clock_advance_expires_a_packet_on_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let mut file = std::fs::OpenOptions::new().append(true).open(&config).expect("config");
    writeln!(file, "\n[sandbox]\nclock_token = \"{TOKEN}\"").expect("append");
    let server = ServerProcess::start(BIN, &config);
    let biz = format!(
        r#"{{"out_order_no":"CLK","out_request_no":"pay1","order_title":"t","amount":"10.00","payer_user_id":"{MERCHANT_A}","extra_param":"{{\"orderExpiredTime\":\"30m\"}}"}}"#
    );
    let auth_no = server.send(&Call::new(PAY, &biz)).await.field("auth_no").to_owned();
    let url = format!("http://{}/gateway.do", server.addr);
    let clock = |args: &[&str], token: &str| {
        std::process::Command::new(BIN)
            .arg("clock")
            .args(args)
            .args(["--url", &url, "--token", token])
            .output()
            .expect("runs")
    };
    let refused = clock(&["advance", "30m"], "wrong-token-wrong-token");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("missing or wrong bearer token"));
    // `clock now` prints a table as the client commands do, and one JSON object with --json.
    let now = clock(&["now"], TOKEN);
    let table = String::from_utf8_lossy(&now.stdout).into_owned();
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{table}{}", String::from_utf8_lossy(&now.stderr));
    assert_eq!((rows[0][0], rows[1][0]), ("now", "now_ms"), "{table}");
    let as_json = clock(&["now", "--json"], TOKEN);
    let as_json: serde_json::Value = serde_json::from_slice(&as_json.stdout).expect("one object");
    let table_ms: i64 = rows[1][1].parse().expect("now_ms is a number");
    let json_ms: i64 = as_json["now_ms"].as_str().and_then(|ms| ms.parse().ok()).expect("now_ms");
    assert!(json_ms >= table_ms, "the clock does not go back: {json_ms} after {table_ms}");
    let moved = clock(&["advance", "30m"], TOKEN);
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    let query = format!(r#"{{"auth_no":"{auth_no}","out_request_no":"EXPIRE_REFUND"}}"#);
    let mut last = String::new();
    for _ in 0..50 {
        let answer = server.send(&Call::new(QUERY, &query)).await;
        if answer.field("status") == "SUCCESS" {
            assert_eq!(
                (answer.field("operation_type"), answer.field("amount")),
                ("REFUND", "10.00")
            );
            assert_eq!(answer.field("total_pay_refund_amount"), "10.00");
            server.stop();
            return;
        }
        last = answer.sub_code().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the expiry refund never appeared ({last})");
}

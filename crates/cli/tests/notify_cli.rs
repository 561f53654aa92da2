//! `hongbao notify list|resend` against the store of a running server: the operator sees each
//! notification's attempts and last error and can resend it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");

fn hongbao(args: &[&str], config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(BIN).args(args).arg("--config").arg(config).output().expect("runs")
}

#[tokio::test]
async fn operator_lists_attempts_and_resends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let server = ServerProcess::start(BIN, &config);
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let pay = server
        .send(
            &Call::new(PAY, &pay_biz("OPS", "10.00"))
                .param("notify_url", &format!("http://{closed}/n")),
        )
        .await;
    assert_eq!(pay.code(), "10000");
    let mut listed = String::new();
    for _ in 0..100 {
        let output = hongbao(&["notify", "list", "--json"], &config);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        listed = String::from_utf8_lossy(&output.stdout).into_owned();
        if listed.contains("\"attempts\":1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // One JSON object per line, parsed as JSON (not Rust's Debug text).
    let lines: Vec<serde_json::Value> = listed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    assert_eq!(lines.len(), 1, "{listed}");
    let record = &lines[0];
    assert_eq!(
        (record["event"].as_str(), record["status"].as_str()),
        (Some("PAY_SUCCESS"), Some("PENDING"))
    );
    assert_eq!(record["notify_url"].as_str(), Some(format!("http://{closed}/n").as_str()));
    assert!(
        record["history"][0]["error"].as_str().is_some_and(|e| e.contains("connection failed")),
        "{listed}"
    );
    assert_eq!(record["history"][0]["http_status"], serde_json::Value::Null);
    let notify_id = record["notify_id"].as_str().expect("an id").to_owned();

    let table = hongbao(&["notify", "list"], &config);
    assert!(String::from_utf8_lossy(&table.stdout).contains(&notify_id));
    let resent = hongbao(&["notify", "resend", &notify_id], &config);
    assert!(resent.status.success(), "{}", String::from_utf8_lossy(&resent.stderr));
    let unknown = hongbao(&["notify", "resend", "nope"], &config);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no notification nope"));
    server.stop();
}

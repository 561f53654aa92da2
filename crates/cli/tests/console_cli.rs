//! `hongbao console url` and `hongbao inject …` against a running server: the login URL carries
//! the configured token, and a fault rule added from the command line makes the next call of
//! its method answer the injected code (signed), then goes; a wrong code is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;
use std::io::Write;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const TOKEN: &str = "console-token-for-tests-0123456789";

#[tokio::test]
async fn the_cli_prints_the_login_url_and_injects_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let mut file = std::fs::OpenOptions::new().append(true).open(&config).expect("config");
    writeln!(file, "\n[sandbox]\nconsole_token = \"{TOKEN}\"").expect("append");
    let server = ServerProcess::start(BIN, &config);
    let base = format!("http://{}", server.addr);
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .args(["--config", config.to_str().expect("path"), "--url", &base])
            .output()
            .expect("runs")
    };
    let url = run(&["console", "url"]);
    assert!(url.status.success(), "{}", String::from_utf8_lossy(&url.stderr));
    assert_eq!(
        String::from_utf8_lossy(&url.stdout).trim(),
        format!("{base}/console/?token={TOKEN}")
    );

    let refused =
        run(&["inject", "call", "--method", QUERY, "--code", "40004", "--sub-code", "NOPE"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot answer"));
    let added = run(&[
        "inject",
        "call",
        "--method",
        QUERY,
        "--code",
        "40004",
        "--sub-code",
        "SYSTEM_ERROR",
        "--count",
        "2",
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let listed = run(&["inject", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("SYSTEM_ERROR"));

    let query = r#"{"out_order_no":"none","out_request_no":"pay1"}"#;
    let injected = server.send(&Call::new(QUERY, query)).await;
    assert_eq!((injected.code(), injected.sub_code()), ("40004", "SYSTEM_ERROR"));
    let id = serde_json::from_slice::<serde_json::Value>(&added.stdout).expect("json")["id"]
        .as_u64()
        .expect("id")
        .to_string();
    assert!(run(&["inject", "remove", &id]).status.success());
    let real = server.send(&Call::new(QUERY, query)).await;
    assert_eq!(real.sub_code(), "AUTH_ORDER_NOT_EXIST", "the rule is gone");
    assert_eq!(run(&["inject", "remove", &id]).status.code(), Some(1));
    server.stop();
}

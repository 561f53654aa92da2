//! `hongbao serve` as a process: start-up errors are one clear line, and a restart on the same
//! data folder answers every earlier operation exactly as before (durable commits, versioned
//! migrations that run again harmlessly).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");

#[tokio::test]
async fn restart_on_the_same_data_answers_every_earlier_operation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let server = ServerProcess::start(BIN, &config);
    let pay = server.send(&Call::new(PAY, &pay_biz("KEEP", "100.00"))).await;
    assert_eq!(pay.code(), "10000");
    let auth_no = pay.field("auth_no").to_owned();
    let disburse = format!(
        r#"{{"out_order_no":"KEEP-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"12.34","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(server.send(&Call::new(DISBURSE, &disburse)).await.code(), "10000");
    let refund =
        format!(r#"{{"auth_no":"{auth_no}","out_request_no":"R","amount":"0.66","remark":"r"}}"#);
    assert_eq!(server.send(&Call::new(REFUND, &refund)).await.code(), "10000");
    let queries = [
        r#"{"out_order_no":"KEEP","out_request_no":"pay1"}"#.to_owned(),
        r#"{"out_order_no":"KEEP-D","out_request_no":"1"}"#.to_owned(),
        format!(r#"{{"auth_no":"{auth_no}","out_request_no":"R"}}"#),
    ];
    let mut before = Vec::new();
    for query in &queries {
        let answer = server.send(&Call::new(QUERY, query)).await;
        assert_eq!(answer.code(), "10000", "{query}");
        before.push(answer.node);
    }
    server.stop();

    let server = ServerProcess::start(BIN, &config);
    for (query, earlier) in queries.iter().zip(&before) {
        let answer = server.send(&Call::new(QUERY, query)).await;
        assert_eq!(&answer.node, earlier, "{query} answers differently after a restart");
    }
    // A replay after the restart still replays, and nothing was paid twice.
    let replay = server.send(&Call::new(DISBURSE, &disburse)).await;
    assert_eq!(replay.node["operation_id"], before[1]["operation_id"]);
    let balance = server
        .send(&Call::new(
            QUERY,
            &format!(r#"{{"auth_no":"{auth_no}","operation_id":"{}"}}"#, pay.field("operation_id")),
        ))
        .await;
    assert_eq!(balance.field("total_pay_refund_amount"), "0.66");
}

fn start_failure(config_text: &str, files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    write_server_config(dir.path());
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config_text).expect("write");
    let output = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(!output.status.success(), "start-up must fail");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("hongbao:")).collect();
    assert_eq!(lines.len(), 1, "one clear line, got: {stderr}");
    lines[0].to_owned()
}

#[test]
fn bad_configuration_stops_start_up_with_one_clear_line() {
    let head = "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite://data/x.db\"\ngateway_private_key = \"keys/gateway_private.pem\"\n";
    let app = |id: &str, key: &str| {
        format!("[[app]]\napp_id = \"{id}\"\napp_public_key = \"{key}\"\nmerchant_user_id = \"{MERCHANT_A}\"\n")
    };
    let user = format!(
        "[[user]]\nuser_id = \"{MERCHANT_A}\"\nlogon_id = \"m@x.com\"\nbalance = \"1.00\"\n"
    );
    let line = start_failure(&format!("{head}{}{user}", app("A1", "keys/missing.pem")), &[]);
    assert!(line.contains("app_public_key") && line.contains("missing.pem"), "{line}");
    let line = start_failure(
        &format!("{head}{}{user}", app("A1", "garbage.pem")),
        &[("garbage.pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")],
    );
    assert!(line.contains("app_public_key") && line.contains("not an RSA public key"), "{line}");
    let line = start_failure(
        &format!(
            "{head}{}{}{user}",
            app("A1", "keys/app_a_public.pem"),
            app("A1", "keys/app_a_public.pem")
        ),
        &[],
    );
    assert!(line.contains("A1 appears twice"), "{line}");
    let bad_gateway = head.replace("keys/gateway_private.pem", "keys/app_a_public.pem");
    let line =
        start_failure(&format!("{bad_gateway}{}{user}", app("A1", "keys/app_a_public.pem")), &[]);
    assert!(line.contains("gateway_private_key"), "{line}");
}

#[test]
fn loose_private_key_permissions_get_a_warning_and_keys_never_reach_the_output() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let key_path = dir.path().join("keys/gateway_private.pem");
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let key_text = std::fs::read_to_string(&key_path).expect("key");
    let secret_line = key_text.lines().nth(1).expect("a base64 line").to_owned();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut warned = false;
    let mut seen = String::new();
    for line in std::io::BufReader::new(stderr).lines().take(20) {
        let line = line.expect("utf-8");
        seen.push_str(&line);
        if line.contains("readable by group or others") {
            warned = true;
            break;
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    assert!(warned, "no warning for a 0644 private key: {seen}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains(&secret_line) && !seen.contains(&secret_line),
        "key material in the output"
    );
}

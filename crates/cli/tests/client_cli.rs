//! The client commands of `hongbao` against a running server: each method, `--json`, the table,
//! and exit codes that tell success (0), usage (1), business failure (2) and transport or
//! signature failure (3) apart; page-url and app-string outputs that the cashier and wallet
//! accept; verify-notify on a real and a tampered notification.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_protocol::sign_content::sign_notify;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_test_support::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");

fn write_profile(dir: &std::path::Path, name: &str, gateway: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("app_private.pem"), app_a_key().to_pkcs1_pem().expect("pem"))
        .expect("write");
    std::fs::write(
        dir.join("gateway_public.pem"),
        gateway_key().public_key().expect("pk").to_pem().expect("pem"),
    )
    .expect("write");
    let profile = dir.join(name);
    std::fs::write(
        &profile,
        format!("gateway = \"{gateway}\"\napp_id = \"{APP_A}\"\napp_private_key = \"app_private.pem\"\nalipay_public_key = \"gateway_public.pem\"\n"),
    )
    .expect("write");
    profile
}

fn hongbao(profile: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("--profile").arg(profile).output().expect("runs")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {} / {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn client_commands_round_trip_with_telling_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(BIN, &write_server_config(dir.path()));
    let profile =
        write_profile(dir.path(), "client.toml", &format!("http://{}/gateway.do", server.addr));

    let pay = hongbao(
        &profile,
        &[
            "pay",
            "--out-order-no",
            "CLI1",
            "--out-request-no",
            "1",
            "--title",
            "红包",
            "--amount",
            "10.00",
            "--payer-user-id",
            MERCHANT_A,
            "--json",
        ],
    );
    assert_eq!(pay.status.code(), Some(0), "{}", String::from_utf8_lossy(&pay.stderr));
    let auth_no = json(&pay)["auth_no"].as_str().expect("auth_no").to_owned();
    let disburse = hongbao(
        &profile,
        &[
            "disburse",
            "--out-order-no",
            "CLI1-D",
            "--out-request-no",
            "1",
            "--deduct-auth-no",
            &auth_no,
            "--title",
            "t",
            "--amount",
            "3.00",
            "--payee-user-id",
            ALICE,
            "--json",
        ],
    );
    assert_eq!(disburse.status.code(), Some(0), "{}", String::from_utf8_lossy(&disburse.stderr));
    assert_eq!(json(&disburse)["amount"], "3.00");

    let too_much = hongbao(
        &profile,
        &[
            "refund",
            "--auth-no",
            &auth_no,
            "--out-request-no",
            "R",
            "--amount",
            "7.01",
            "--remark",
            "r",
            "--json",
        ],
    );
    assert_eq!(too_much.status.code(), Some(2), "a verified business failure exits 2");
    assert!(String::from_utf8_lossy(&too_much.stdout).contains("MONEY_NOT_ENOUGH"));
    let refund = hongbao(
        &profile,
        &[
            "refund",
            "--auth-no",
            &auth_no,
            "--out-request-no",
            "R",
            "--amount",
            "7.00",
            "--remark",
            "r",
        ],
    );
    assert_eq!(refund.status.code(), Some(0));

    let table = hongbao(&profile, &["query", "--out-order-no", "CLI1", "--out-request-no", "1"]);
    assert_eq!(table.status.code(), Some(0));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("SUCCESS") && text.contains("7.00"), "readable table: {text}");

    let bad_amount = hongbao(
        &profile,
        &[
            "refund",
            "--auth-no",
            &auth_no,
            "--out-request-no",
            "R2",
            "--amount",
            "0.001",
            "--remark",
            "r",
        ],
    );
    assert_eq!(bad_amount.status.code(), Some(1), "usage errors exit 1 and send nothing");

    // A signed page.pay URL and app.pay order string that hongbao's own pages accept.
    let url = hongbao(
        &profile,
        &[
            "page-url",
            "--out-order-no",
            "CLI2",
            "--out-request-no",
            "1",
            "--title",
            "t",
            "--amount",
            "1.00",
            "--return-url",
            "http://merchant.example/back",
        ],
    );
    assert_eq!(url.status.code(), Some(0), "{}", String::from_utf8_lossy(&url.stderr));
    let url = String::from_utf8_lossy(&url.stdout).trim().to_owned();
    let path = url
        .split_once(&server.addr.to_string())
        .map(|(_, p)| p.to_owned())
        .expect("a URL on the server");
    let opened = raw(
        server.addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(opened.status, 303, "{}", String::from_utf8_lossy(&opened.body));
    assert!(opened.header("location").unwrap_or("").starts_with("/cashier/"));
    let order = hongbao(
        &profile,
        &[
            "app-string",
            "--out-order-no",
            "CLI3",
            "--out-request-no",
            "1",
            "--title",
            "t",
            "--amount",
            "1.00",
        ],
    );
    assert_eq!(order.status.code(), Some(0));
    let order = String::from_utf8_lossy(&order.stdout).trim().to_owned();
    let encoded: String = encode_component(order.as_bytes()).into_iter().map(char::from).collect();
    let wallet = raw(
        server.addr,
        format!(
            "GET /wallet?order_string={encoded} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(wallet.status, 200, "{}", String::from_utf8_lossy(&wallet.body));

    // verify-notify: a notification signed by the gateway key, then a tampered copy.
    let mut params: Params = [
        ("notify_id", "n1"),
        ("notify_type", "fund_stdtrustee_refund.success"),
        ("amount", "7.00"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .collect();
    let sign = sign_notify(&params, Charset::Utf8, SignType::Rsa2, &gateway_key()).expect("signs");
    params.insert("sign", sign);
    let verify = |body: Vec<u8>| {
        let mut child = Command::new(BIN)
            .args(["verify-notify", "--profile"])
            .arg(&profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        child.stdin.take().expect("stdin").write_all(&body).expect("write");
        child.wait_with_output().expect("waits")
    };
    assert_eq!(verify(params.to_form(Charset::Utf8).expect("form")).status.code(), Some(0));
    params.insert("amount", "700.00");
    let forged = verify(params.to_form(Charset::Utf8).expect("form"));
    assert_eq!(forged.status.code(), Some(3), "a forged notify exits 3");
    let said = String::from_utf8_lossy(&forged.stderr);
    assert!(
        said.contains("not genuine")
            && said.contains("amount=700.00&charset=utf-8&notify_id=n1&notify_type=")
            && said.contains(&profile.display().to_string()),
        "a failed verification names the content it checked and the profile's key: {said}"
    );
    assert!(!said.contains("response rejected"), "a notification is not a response: {said}");

    // A URL without /gateway.do reaches the server but no gateway: nothing happened, exit 1.
    for (path, status) in [("/gateway", "HTTP 404"), ("/", "HTTP 405")] {
        let url = format!("http://{}{path}", server.addr);
        let wrong_path = write_profile(dir.path(), "path.toml", &url);
        let not_found =
            hongbao(&wrong_path, &["query", "--out-order-no", "CLI1", "--out-request-no", "1"]);
        let said = String::from_utf8_lossy(&not_found.stderr);
        assert_eq!(not_found.status.code(), Some(1), "{said}");
        assert!(said.contains(status) && said.contains("end in /gateway.do"), "{said}");
        assert!(!said.contains("unknown"), "{said}");
    }
    server.stop();

    // Nothing listening: nothing was sent, so the outcome is known (nothing happened): exit 1,
    // and no advice to resend as if the call might have gone through.
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let dead = write_profile(dir.path(), "dead.toml", &format!("http://{closed}/gateway.do"));
    let unreachable = hongbao(&dead, &["query", "--out-order-no", "CLI1", "--out-request-no", "1"]);
    let said = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was sent") && !said.contains("unknown"), "{said}");
    let as_json = json(&hongbao(
        &dead,
        &["query", "--json", "--out-order-no", "CLI1", "--out-request-no", "1"],
    ));
    assert_eq!(as_json["error"]["kind"], "unreachable");
    assert_eq!(as_json["error"]["outcome_unknown"], false);

    // `query --help` names both ways of naming the order and the operation.
    let help = Command::new(BIN).args(["query", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--auth-no", "--out-order-no", "--operation-id", "--out-request-no"] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    assert!(help.contains("instead of --auth-no"), "{help}");
}

//! The first ten minutes, as a newcomer has them: `hongbao serve` with no configuration in an
//! empty folder makes the demo (keys, apps, users, a client profile, the sandbox clock on) and
//! tells in its banner where everything is; then every documented CLI client command runs
//! against it with the profile the demo wrote — no file written by hand — and `/` explains the
//! server to a browser.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const MERCHANT: &str = "2088102000000001";
const ALICE: &str = "2088102000000002";

/// The demo server and the banner lines it printed.
struct Demo {
    child: Child,
    banner: Vec<String>,
    address: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(folder: &Path) -> Demo {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(folder)
        .env_remove("HONGBAO_LISTEN")
        .env_remove("HONGBAO_DATABASE")
        .env("HONGBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hongbao serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    // The banner ends with the line about the request log.
    while !banner.last().is_some_and(|line: &String| line.contains("every call is logged")) {
        let line = lines.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!("the banner did not finish: {banner:#?}");
        });
        banner.push(line);
    }
    let first = &banner[0];
    let address = first
        .strip_prefix("hongbao gateway listening on http://")
        .and_then(|rest| rest.strip_suffix("/gateway.do"))
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_owned();
    Demo { child, banner, address }
}

fn hongbao(folder: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(folder).output().expect("runs")
}

fn ok_json(output: &Output) -> serde_json::Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{} / {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)))
}

fn get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn the_demo_from_an_empty_folder_serves_every_documented_client_command() {
    let folder = tempfile::tempdir().expect("tempdir");
    let demo = start_demo(folder.path());
    let banner = demo.banner.join("\n");
    let profile = folder.path().join("hongbao-data/client.toml");
    assert!(profile.exists(), "the demo writes the CLI's profile:\n{banner}");
    assert!(banner.contains("hongbao-data/client.toml"), "the banner names it:\n{banner}");
    for expected in ["cashier", "/wallet", "cashier password 111111", "sandbox clock control: on"] {
        assert!(banner.contains(expected), "the banner says {expected:?}:\n{banner}");
    }
    let token = banner
        .split("--token ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the clock token in the banner")
        .to_owned();
    assert!(token.len() >= 16);

    // The documented client commands, with the default profile path (hongbao-data/client.toml).
    let pay = ok_json(&hongbao(
        folder.path(),
        &[
            "pay",
            "--out-order-no",
            "first-1",
            "--out-request-no",
            "1",
            "--title",
            "红包",
            "--amount",
            "10.00",
            "--payer-user-id",
            MERCHANT,
            "--json",
        ],
    ));
    let auth_no = pay["auth_no"].as_str().expect("auth_no").to_owned();
    let disburse = ok_json(&hongbao(
        folder.path(),
        &[
            "disburse",
            "--out-order-no",
            "first-1-d",
            "--out-request-no",
            "1",
            "--deduct-auth-no",
            &auth_no,
            "--title",
            "红包领取",
            "--amount",
            "3.00",
            "--payee-user-id",
            ALICE,
            "--json",
        ],
    ));
    assert_eq!(disburse["status"], "SUCCESS");
    let refund = ok_json(&hongbao(
        folder.path(),
        &[
            "refund",
            "--auth-no",
            &auth_no,
            "--out-request-no",
            "r1",
            "--amount",
            "7.00",
            "--remark",
            "退回",
            "--json",
        ],
    ));
    assert_eq!(refund["amount"], "7.00");
    let query = ok_json(&hongbao(
        folder.path(),
        &["query", "--out-order-no", "first-1", "--out-request-no", "r1", "--json"],
    ));
    assert_eq!(query["operation_type"], "REFUND");
    let page = hongbao(
        folder.path(),
        &[
            "page-url",
            "--out-order-no",
            "first-2",
            "--out-request-no",
            "1",
            "--title",
            "红包",
            "--amount",
            "1.00",
        ],
    );
    let url = String::from_utf8_lossy(&page.stdout).trim().to_owned();
    assert!(url.contains("method=alipay.fund.coupon.order.page.pay"), "{url}");
    let app = hongbao(
        folder.path(),
        &[
            "app-string",
            "--out-order-no",
            "first-3",
            "--out-request-no",
            "1",
            "--title",
            "红包",
            "--amount",
            "1.00",
        ],
    );
    assert!(String::from_utf8_lossy(&app.stdout).contains("app_id="), "an order string");

    // The operator commands read the demo's own config.
    let url = format!("http://{}", demo.address);
    let clock = hongbao(folder.path(), &["clock", "now", "--url", &url, "--token", &token]);
    assert_eq!(clock.status.code(), Some(0), "{}", String::from_utf8_lossy(&clock.stderr));
    let notify = hongbao(folder.path(), &["notify", "list"]);
    assert_eq!(notify.status.code(), Some(0), "{}", String::from_utf8_lossy(&notify.stderr));

    // A browser pointed at the server is told what it is.
    let landing = get(&demo.address, "/");
    assert!(landing.starts_with("HTTP/1.1 200"), "{landing}");
    assert!(landing.contains("/gateway.do") && landing.contains("/healthz"), "{landing}");
}

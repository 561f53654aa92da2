//! The first ten minutes, as a newcomer has them: `hongbao serve` with no configuration in an
//! empty folder makes the demo (keys, apps, users, a client profile, the sandbox clock on) and
//! tells in its banner where everything is; then every documented CLI client command runs
//! against it with the profile the demo wrote — no file written by hand — and `/` explains the
//! server to a browser.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::ServerProcess;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const MERCHANT: &str = "2088102000000001";
const ALICE: &str = "2088102000000002";

/// The demo, started with no configuration in `folder`: `hongbao serve --listen 127.0.0.1:0`
/// plus `extra`, its whole banner read.
fn start_demo_with(folder: &Path, extra: &[&str]) -> ServerProcess {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(folder)
        .env_remove("HONGBAO_LISTEN")
        .env_remove("HONGBAO_LISTEN_TLS")
        .env_remove("HONGBAO_DATABASE")
        .env("HONGBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    ServerProcess::spawn(command)
}

fn start_demo(folder: &Path) -> ServerProcess {
    start_demo_with(folder, &[])
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
    for expected in [
        "cashier",
        "/wallet",
        "cashier password 111111",
        "sandbox clock control: on",
        "sandbox console: http://",
    ] {
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
    // The certificate-mode app's and the encrypting app's profiles, written by the demo too.
    for (profile, out_order_no) in [
        ("hongbao-data/client-cert.toml", "first-cert"),
        ("hongbao-data/client-aes.toml", "first-aes"),
    ] {
        let paid = ok_json(&hongbao(
            folder.path(),
            &[
                "pay",
                "--profile",
                profile,
                "--out-order-no",
                out_order_no,
                "--out-request-no",
                "1",
                "--title",
                "红包",
                "--amount",
                "2.00",
                "--payer-user-id",
                MERCHANT,
                "--json",
            ],
        ));
        assert_eq!(paid["amount"], "2.00", "{profile}: {paid}");
        let found = ok_json(&hongbao(
            folder.path(),
            &[
                "query",
                "--profile",
                profile,
                "--out-order-no",
                out_order_no,
                "--out-request-no",
                "1",
                "--json",
            ],
        ));
        assert_eq!(found["amount"], "2.00", "{profile}: {found}");
    }
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
    let url = format!("http://{}", demo.addr);
    let clock = hongbao(folder.path(), &["clock", "now", "--url", &url, "--token", &token]);
    assert_eq!(clock.status.code(), Some(0), "{}", String::from_utf8_lossy(&clock.stderr));
    let notify = hongbao(folder.path(), &["notify", "list"]);
    assert_eq!(notify.status.code(), Some(0), "{}", String::from_utf8_lossy(&notify.stderr));

    // A browser pointed at the server is told what it is.
    let landing = get(&demo.addr.to_string(), "/");
    assert!(landing.starts_with("HTTP/1.1 200"), "{landing}");
    assert!(landing.contains("/gateway.do") && landing.contains("/healthz"), "{landing}");
}

/// One HTTPS GET of `path` on `address` for host name `host`, trusting only `ca` (PEM); the
/// handshake's error when the certificate does not verify for that name.
fn https_get(address: &str, host: &str, ca: &Path, path: &str) -> Result<String, String> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_verify(SslVerifyMode::PEER);
    // Only the sandbox CA: the system store must not make this pass.
    let store = {
        let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
        for cert in openssl::x509::X509::stack_from_pem(&std::fs::read(ca).unwrap()).unwrap() {
            store.add_cert(cert).unwrap();
        }
        store.build()
    };
    connector.set_cert_store(store);
    let connector = connector.build();
    let tcp = std::net::TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = connector.connect(host, tcp).map_err(|err| err.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    Ok(answer)
}

/// `--listen-tls` serves the same routes over TLS with the certificate the demo issued from its
/// sandbox CA: valid for localhost, 127.0.0.1 and Alipay's gateway names, for no other name,
/// and for no client that does not trust the sandbox CA.
#[test]
fn the_demo_serves_https_with_a_certificate_from_its_sandbox_ca() {
    let folder = tempfile::tempdir().expect("tempdir");
    let demo = start_demo_with(folder.path(), &["--listen-tls", "127.0.0.1:0"]);
    let line = demo.banner.iter().find(|line| line.starts_with("hongbao gateway also on https://"));
    let tls_address = line
        .and_then(|line| line.strip_prefix("hongbao gateway also on https://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the banner names the https listener: {:#?}", demo.banner))
        .to_owned();
    let data = folder.path().join("hongbao-data");
    let ca = data.join("certs/sandbox_ca.crt");
    for host in ["localhost", "openapi.alipay.com", "openapi-sandbox.dl.alipaydev.com"] {
        let answer = https_get(&tls_address, host, &ca, "/healthz").expect(host);
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    // The same gateway behind both listeners: the landing page names /gateway.do.
    let landing = https_get(&tls_address, "localhost", &ca, "/").expect("landing");
    assert!(landing.contains("/gateway.do"), "{landing}");
    let wrong_name = https_get(&tls_address, "example.org", &ca, "/healthz");
    assert!(wrong_name.is_err(), "a name the certificate is not for: {wrong_name:?}");
    // A client trusting another CA (the certificate-mode root bundle's EC root only would do
    // too) refuses the server.
    let other = folder.path().join("other_ca.pem");
    let other_ca = hongbao_sign::Authority::new_root(
        hongbao_sign::Subject {
            common_name: "other",
            organizational_unit: "x",
            organization: "x",
            country: "CN",
        },
        &hongbao_sign::PrivateKey::generate(2048).unwrap(),
        0,
        4_000_000_000,
    )
    .unwrap();
    std::fs::write(&other, other_ca.certificate().to_pem().unwrap()).unwrap();
    assert!(https_get(&tls_address, "localhost", &other, "/healthz").is_err());
    // The plain listener goes on serving.
    assert!(get(&demo.addr.to_string(), "/healthz").starts_with("HTTP/1.1 200"));
    let config = std::fs::read_to_string(data.join("hongbao.toml")).unwrap();
    assert!(config.contains("tls_cert = \"certs/gateway_tls.crt\""), "{config}");
}

/// `listen_tls` without a certificate stops start-up with one line naming what is missing.
#[test]
fn listen_tls_without_a_certificate_is_refused_at_start_up() {
    let folder = tempfile::tempdir().expect("tempdir");
    drop(start_demo(folder.path()));
    let config = folder.path().join("hongbao-data/hongbao.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text: String = text
        .lines()
        .filter(|line| !line.starts_with("tls_cert") && !line.starts_with("tls_key"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&config, text).unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0"])
        .env_remove("HONGBAO_LISTEN_TLS")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen_tls needs tls_cert and tls_key"), "{stderr}");
}

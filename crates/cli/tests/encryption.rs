//! Interface content encryption through the binary (issue 17): the demo gives both its apps an
//! AES key and prints them with the other keys; `hongbao-client`, configured with a printed key,
//! runs an encrypted call against the demo in public-key and certificate mode; and start-up
//! refuses a bad `encrypt_key` with one line naming the app.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_client::{
    AgreementPayRequest, Certificates, Client, EncryptKey, Fen, OperationStatus, OutOrderNo,
    OutRequestNo, PrivateKey, PublicKey, UserId,
};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const APP: &str = "2021000000000001";
const CERT_APP: &str = "2021000000000003";
const MERCHANT: &str = "2088102000000001";

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|err| panic!("{}: {err}", path.as_ref().display()))
}

/// Starts the demo in `data`, returns the process, its gateway URL and the banner lines (up to
/// the sandbox users).
fn start_demo(data: &Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hongbao starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let done = line.contains("sandbox users");
        banner.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let url =
        banner[0].strip_prefix("hongbao gateway listening on ").expect("first line").to_owned();
    (child, url, banner)
}

/// The AES key the banner prints under `app_id`'s line.
fn printed_key(banner: &[String], app_id: &str) -> String {
    let at = banner
        .iter()
        .position(|line| line.trim_start().starts_with(&format!("app_id {app_id} ")))
        .unwrap_or_else(|| panic!("no line for {app_id}: {banner:?}"));
    let line = &banner[at + 1];
    line.split("(encryptKey / encrypt_key): ")
        .nth(1)
        .unwrap_or_else(|| panic!("no AES key under {app_id}: {line:?}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_demo_prints_each_apps_aes_key_and_an_encrypting_client_uses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let (mut server, gateway, banner) = start_demo(&data);
    let key_text = printed_key(&banner, APP);
    let cert_key_text = printed_key(&banner, CERT_APP);
    assert_ne!(key_text, cert_key_text, "one key per app, as Alipay issues them");
    let config = read(data.join("hongbao.toml"));
    assert!(config.contains(&format!("encrypt_key = \"{key_text}\"")), "{config}");
    assert_eq!(EncryptKey::from_base64(&key_text).expect("a key").bits(), 128);

    let app_key = PrivateKey::from_text(&read(data.join("keys/app_private.pem"))).unwrap();
    let alipay_key = PublicKey::from_text(&read(data.join("keys/gateway_public.pem"))).unwrap();
    let client = Client::builder(&gateway, APP, app_key, alipay_key)
        .encrypt_key(EncryptKey::from_base64(&key_text).unwrap())
        .build()
        .unwrap();
    let pay = AgreementPayRequest::new(
        OutOrderNo::new("aes-demo"),
        OutRequestNo::new("pay-1"),
        "红包",
        Fen::from_fen(100),
        UserId::new(MERCHANT),
    );
    assert_eq!(client.agreement_pay(&pay).await.expect("pays").status, OperationStatus::Success);

    let certs = Certificates::from_pem(
        &read(data.join(format!("certs/app_{CERT_APP}.crt"))),
        &read(data.join("certs/alipay_cert.crt")),
        &read(data.join("certs/alipay_root.crt")),
    )
    .unwrap();
    let cert_app_key =
        PrivateKey::from_text(&read(data.join(format!("keys/app_{CERT_APP}_private.pem"))))
            .unwrap();
    let cert_client = Client::builder_with_certificates(&gateway, CERT_APP, cert_app_key, certs)
        .encrypt_key(EncryptKey::from_base64(&cert_key_text).unwrap())
        .build()
        .unwrap();
    let pay = AgreementPayRequest::new(
        OutOrderNo::new("aes-cert"),
        OutRequestNo::new("pay-1"),
        "红包",
        Fen::from_fen(100),
        UserId::new(MERCHANT),
    );
    assert_eq!(
        cert_client.agreement_pay(&pay).await.expect("pays").status,
        OperationStatus::Success
    );
    let _ = server.kill();
    let _ = server.wait();

    // A bad encrypt_key stops start-up with one line naming the app and the key.
    let line = format!("encrypt_key = \"{key_text}\"");
    let aes_256 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    for (name, replacement, expected) in [
        ("not base64", "encrypt_key = \"not base64!\"", Some("is not base64")),
        ("15 bytes", "encrypt_key = \"AAAAAAAAAAAAAAAAAAAA\"", Some("decodes to 15 bytes")),
        ("AES-256 is taken, as by the SDKs", &*format!("encrypt_key = \"{aes_256}\""), None),
    ] {
        let path = data.join("aes.toml");
        std::fs::write(&path, config.replace(&line, replacement)).unwrap();
        let Some(expected) = expected else {
            let mut child = Command::new(BIN)
                .args(["serve", "--config", path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut first = String::new();
            BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
            let _ = child.kill();
            let _ = child.wait();
            assert!(first.starts_with("hongbao gateway listening on"), "{name}: {first:?}");
            continue;
        };
        let output = Command::new(BIN)
            .args(["serve", "--config", path.to_str().unwrap()])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        for part in [&format!("[[app]] {APP} encrypt_key"), expected] {
            assert!(stderr.contains(part), "{name}: {stderr:?} lacks {part:?}");
        }
    }
}

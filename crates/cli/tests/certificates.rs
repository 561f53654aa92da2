//! Certificate mode through the binary (issue: 公钥证书模式): the demo's certificate-mode app
//! driven by `hongbao-client` from the three files the demo prints, across a `hongbao cert rotate`
//! and a restart (the client downloads the new certificate by SN, checks it against the root and
//! verifies answers before and after); `hongbao cert issue`; and start-up refusing each bad
//! certificate configuration with one line naming the key and the file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_client::{
    AgreementPayRequest, Certificates, Client, ErrorKind, Fen, OperationStatus, OutOrderNo,
    OutRequestNo, PrivateKey, SignatureFailure, UserId,
};
use hongbao_protocol::method::ALIPAYCERT_DOWNLOAD;
use hongbao_sign::Certificate;
use hongbao_test_support::ServerProcess;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const CERT_APP: &str = "2021000000000003";
const MERCHANT: &str = "2088102000000001";

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|err| panic!("{}: {err}", path.as_ref().display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn client_from_demo(data: &Path, gateway: &str) -> Client {
    let certs = Certificates::from_pem(
        &read(data.join(format!("certs/app_{CERT_APP}.crt"))),
        &read(data.join("certs/alipay_cert.crt")),
        &read(data.join("certs/alipay_root.crt")),
    )
    .expect("the demo's certificates load");
    let key = PrivateKey::from_text(&read(data.join(format!("keys/app_{CERT_APP}_private.pem"))))
        .expect("key");
    // The default retry policy: the first call after a restart may meet a pooled connection the
    // old server closed, and is resent (identical bytes).
    Client::builder_with_certificates(gateway, CERT_APP, key, certs).build().expect("client")
}

fn hongbao(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("hongbao runs")
}

#[tokio::test]
async fn the_client_downloads_and_trusts_the_rotated_gateway_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let listen = format!("127.0.0.1:{}", free_port());
    let gateway = format!("http://{listen}/gateway.do");
    let data_dir = data.to_str().expect("utf-8 path");

    let server = ServerProcess::start_demo(BIN, &data, &listen);
    let client = client_from_demo(&data, &gateway);
    let first_sn = Certificate::from_pem(&read(data.join("certs/alipay_cert.crt")))
        .expect("cert")
        .sn()
        .to_owned();
    let pay = |n: u32| {
        AgreementPayRequest::new(
            OutOrderNo::new(format!("R{n}")),
            OutRequestNo::new("pay1"),
            "红包",
            Fen::from_fen(100),
            UserId::new(MERCHANT),
        )
    };
    let paid = client.agreement_pay(&pay(1)).await.expect("paid before the rotation");
    assert_eq!(paid.status, OperationStatus::Success);
    assert_eq!(client.known_alipay_cert_sns(), vec![first_sn.clone()]);
    server.stop();

    let rotated = hongbao(&["cert", "rotate", "--data-dir", data_dir]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let second_sn = Certificate::from_pem(&read(data.join("certs/alipay_cert.crt")))
        .expect("cert")
        .sn()
        .to_owned();
    assert_ne!(second_sn, first_sn);
    assert!(
        String::from_utf8_lossy(&rotated.stdout).contains(&format!("{first_sn} -> {second_sn}"))
    );

    let server = ServerProcess::start_demo(BIN, &data, &listen);
    let paid = client.agreement_pay(&pay(2)).await.expect("paid after the rotation");
    assert_eq!(paid.status, OperationStatus::Success);
    let mut known = vec![first_sn.clone(), second_sn.clone()];
    known.sort();
    assert_eq!(client.known_alipay_cert_sns(), known, "the new certificate was downloaded");
    // The replay of the first pay verifies too, and the old certificate stays downloadable.
    assert_eq!(
        client.agreement_pay(&pay(1)).await.expect("replay").status,
        OperationStatus::Success
    );
    let old = client
        .execute(ALIPAYCERT_DOWNLOAD, &format!(r#"{{"alipay_cert_sn":"{first_sn}"}}"#))
        .await
        .expect("the old certificate downloads");
    assert!(old.get("alipay_cert_content").is_some_and(|content| !content.is_empty()));

    // A client whose root bundle is another CA's refuses the gateway's certificate at build.
    let other = dir.path().join("other");
    let other_server = ServerProcess::start_demo(BIN, &other, "127.0.0.1:0");
    other_server.stop();
    let foreign_root = Certificates::from_pem(
        &read(data.join(format!("certs/app_{CERT_APP}.crt"))),
        &read(data.join("certs/alipay_cert.crt")),
        &read(other.join("certs/alipay_root.crt")),
    )
    .expect("loads");
    let key = PrivateKey::from_text(&read(data.join(format!("keys/app_{CERT_APP}_private.pem"))))
        .expect("key");
    let refused = Client::builder_with_certificates(&gateway, CERT_APP, key, foreign_root).build();
    assert!(matches!(refused.map(|_| ()).unwrap_err().kind(), ErrorKind::Invalid { .. }));

    // A gateway signing with a certificate from another CA: the client cannot trust its SN.
    server.stop();
    let config = read(data.join("hongbao.toml"));
    std::fs::write(
        data.join("hongbao.toml"),
        config
            .replace("certs/alipay_root.crt", "../other/certs/alipay_root.crt")
            .replace("certs/alipay_cert.crt", "../other/certs/alipay_cert.crt")
            .replace("keys/gateway_private.pem", "../other/keys/gateway_private.pem")
            .replace(
                &format!("certs/app_{CERT_APP}.crt"),
                &format!("../other/certs/app_{CERT_APP}.crt"),
            ),
    )
    .expect("config");
    let _server = ServerProcess::start_demo(BIN, &data, &listen);
    let other_key =
        PrivateKey::from_text(&read(other.join(format!("keys/app_{CERT_APP}_private.pem"))))
            .expect("key");
    let certs = Certificates::from_pem(
        &read(other.join(format!("certs/app_{CERT_APP}.crt"))),
        &read(data.join("certs/alipay_cert.crt")),
        &read(data.join("certs/alipay_root.crt")),
    )
    .expect("loads");
    // Configured with this demo's gateway certificate and root, but the app certificate and
    // key of the other demo (which the gateway now holds): answers name a certificate that
    // does not chain to the client's root.
    let confused = Client::builder_with_certificates(&gateway, CERT_APP, other_key, certs)
        .build()
        .expect("builds");
    let err = confused.agreement_pay(&pay(3)).await.expect_err("untrusted");
    assert!(
        matches!(err.kind(), ErrorKind::Signature(SignatureFailure::UntrustedCertificate { .. })),
        "{err}"
    );
}

fn refused(config: &Path) -> String {
    let output = hongbao(&["serve", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn cert_issue_and_start_up_refusals_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let server = ServerProcess::start_demo(BIN, &data, "127.0.0.1:0");
    server.stop();
    let other = dir.path().join("other");
    ServerProcess::start_demo(BIN, &other, "127.0.0.1:0").stop();
    let config_path = data.join("hongbao.toml");
    let config = read(&config_path);
    let data_dir = data.to_str().expect("utf-8");

    // hongbao cert issue, from a public key and from a CSR.
    let issued = hongbao(&[
        "cert",
        "issue",
        "--data-dir",
        data_dir,
        "--app-id",
        "2021000000000009",
        "--public-key",
        data.join("keys/app_public.pem").to_str().unwrap(),
        "--out",
        data.join("certs/app9.crt").to_str().unwrap(),
    ]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let app9 = Certificate::from_pem(&read(data.join("certs/app9.crt"))).expect("issued");
    assert!(String::from_utf8_lossy(&issued.stdout).contains(app9.sn()));
    let csr_key = PrivateKey::generate(2048).expect("key");
    let csr = {
        use std::io::Write;
        let key_file = dir.path().join("csr_key.pem");
        std::fs::write(&key_file, csr_key.to_pkcs8_pem().unwrap()).unwrap();
        let out = Command::new("openssl")
            .args([
                "req",
                "-new",
                "-key",
                key_file.to_str().unwrap(),
                "-subj",
                "/C=CN/O=shop/OU=pay/CN=2021000000000010",
            ])
            .output();
        match out {
            Ok(out) if out.status.success() => Some(out.stdout),
            _ => {
                let _ = std::io::stderr().write_all(
                    b"no openssl binary: the CSR case is covered by hongbao-sign's unit test\n",
                );
                None
            }
        }
    };
    if let Some(csr) = csr {
        std::fs::write(dir.path().join("app10.csr"), csr).unwrap();
        let issued = hongbao(&[
            "cert",
            "issue",
            "--data-dir",
            data_dir,
            "--app-id",
            "2021000000000010",
            "--csr",
            dir.path().join("app10.csr").to_str().unwrap(),
            "--out",
            dir.path().join("app10.crt").to_str().unwrap(),
        ]);
        assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
        let cert = Certificate::from_pem(&read(dir.path().join("app10.crt"))).expect("issued");
        assert!(cert.public_key().unwrap() == csr_key.public_key().unwrap());
        assert!(cert.subject().starts_with("CN=2021000000000010,OU=pay,O=shop,C=CN"));
    }
    let expired = hongbao(&[
        "cert",
        "issue",
        "--data-dir",
        data_dir,
        "--app-id",
        "2021000000000011",
        "--public-key",
        data.join("keys/app_public.pem").to_str().unwrap(),
        "--out",
        data.join("certs/expired.crt").to_str().unwrap(),
        "--days",
        "-1",
    ]);
    assert!(expired.status.success(), "{}", String::from_utf8_lossy(&expired.stderr));
    // A bundle of the demo's EC root alone (the part after the blank line).
    let bundle = read(data.join("certs/alipay_root.crt"));
    let ec = bundle.split("\n\n").nth(1).expect("the EC root after a blank line");
    std::fs::write(data.join("certs/ec_only.crt"), ec).unwrap();
    let other_app_cert = format!("../other/certs/app_{CERT_APP}.crt");

    let app_cert_line = format!("app_cert = \"certs/app_{CERT_APP}.crt\"");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "both app_public_key and app_cert",
            config.replace(
                &app_cert_line,
                &format!("{app_cert_line}\napp_public_key = \"keys/app_public.pem\""),
            ),
            vec!["[[app]] 2021000000000003", "app_public_key and app_cert"],
        ),
        (
            "gateway_cert without root_cert",
            config.replace("root_cert = \"certs/alipay_root.crt\"\n", ""),
            vec!["gateway_cert", "root_cert"],
        ),
        (
            "app_cert without certificate mode",
            config
                .replace("gateway_cert = \"certs/alipay_cert.crt\"\n", "")
                .replace("root_cert = \"certs/alipay_root.crt\"\n", "")
                .replace("gateway_cert_previous = \"certs/previous\"\n", ""),
            vec![
                "[[app]] 2021000000000003 app_cert certs/app_2021000000000003.crt",
                "gateway_cert and root_cert",
            ],
        ),
        (
            "a gateway_cert for another key",
            config.replace(
                "gateway_cert = \"certs/alipay_cert.crt\"",
                "gateway_cert = \"certs/app9.crt\"",
            ),
            vec!["gateway_cert certs/app9.crt", "does not certify", "gateway_private_key"],
        ),
        (
            "an app_cert from another CA",
            config.replace(&app_cert_line, &format!("app_cert = \"{other_app_cert}\"")),
            vec!["app_cert", &other_app_cert, "root_cert certs/alipay_root.crt"],
        ),
        (
            "an expired app_cert",
            config.replace(&app_cert_line, "app_cert = \"certs/expired.crt\""),
            vec!["app_cert certs/expired.crt", "expired"],
        ),
        (
            "a root bundle of EC roots only",
            config.replace(
                "root_cert = \"certs/alipay_root.crt\"",
                "root_cert = \"certs/ec_only.crt\"",
            ),
            vec!["root_cert certs/ec_only.crt", "RSA"],
        ),
        (
            "a missing app_cert file",
            config.replace(&app_cert_line, "app_cert = \"certs/none.crt\""),
            vec!["app_cert", "certs/none.crt"],
        ),
    ];
    for (name, text, expected) in cases {
        let path = data.join("broken.toml");
        std::fs::write(&path, text).unwrap();
        let line = refused(&path);
        for part in expected {
            assert!(line.contains(part), "case {name:?}: {line:?} lacks {part:?}");
        }
    }
}

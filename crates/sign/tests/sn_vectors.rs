//! SN vectors from the SDKs themselves: certificates made here (several issuers, a Chinese common
//! name, 127-bit serials, a root bundle with an EC root between two RSA roots) are handed to the
//! installed, unmodified Node SDK (`alipay-sdk` 4.14, which computes `appCertSn`,
//! `alipayCertSn` and `alipayRootCertSn` when it is configured with certificate contents) and to
//! python-alipay-sdk's `DCAliPay.get_cert_sn` / `get_root_cert_sn`; their answers must equal
//! `Certificate::sn` and `RootBundle::sn`.
//!
//! Needs `bash interop/setup.sh`; skips with a printed reason when the SDKs are absent, except
//! under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_sign::cert::ec_root_pem;
use hongbao_sign::{Authority, Certificate, PrivateKey, RootBundle, Subject};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const NOW: i64 = 1_795_000_000;
const YEAR: i64 = 365 * 86_400;

fn interop_dir() -> PathBuf {
    std::env::var_os("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/interop"))
}

fn skip(reason: &str) -> bool {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {reason}");
    eprintln!("skipped: {reason} (run bash interop/setup.sh)");
    true
}

fn run(program: &PathBuf, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("writes");
    let output = child.wait_with_output().expect("runs");
    assert!(output.status.success(), "{program:?} failed");
    String::from_utf8(output.stdout).expect("utf-8")
}

struct Vectors {
    certificates: Vec<Certificate>,
    bundle: RootBundle,
    bundle_pem: String,
}

fn subject<'a>(common_name: &'a str, organization: &'a str) -> Subject<'a> {
    Subject {
        common_name,
        organizational_unit: "Certification Authority",
        organization,
        country: "CN",
    }
}

fn vectors() -> Vectors {
    let root_key = PrivateKey::generate(2048).expect("key");
    let root = Authority::new_root(
        subject("hongbao Sandbox Root CA R1", "hongbao sandbox"),
        &root_key,
        NOW - YEAR,
        NOW + 10 * YEAR,
    )
    .expect("root");
    let chinese = Authority::new_root(
        subject("红包沙箱证书颁发机构 Class 2", "红包 沙箱"),
        &PrivateKey::generate(2048).expect("key"),
        NOW - YEAR,
        NOW + 10 * YEAR,
    )
    .expect("root");
    let key = PrivateKey::generate(2048).expect("key").public_key().expect("pk");
    let mut certificates = Vec::new();
    for (authority, name) in
        [(&root, "2021000000000003"), (&chinese, "支付宝(中国)网络技术有限公司")]
    {
        for _ in 0..3 {
            let cert = authority
                .issue(subject(name, "hongbao sandbox"), &key, NOW, NOW + YEAR)
                .expect("issued");
            certificates.push(cert);
        }
    }
    let ec = ec_root_pem(subject("hongbao Sandbox EC Root", "hongbao sandbox"), NOW, NOW + YEAR)
        .expect("ec root");
    let bundle_pem = format!(
        "{}\n{}\n{}",
        root.certificate().to_pem().expect("pem").trim_end(),
        ec.trim_end(),
        chinese.certificate().to_pem().expect("pem").trim_end()
    )
    .replace("-----END CERTIFICATE-----\n-----BEGIN", "-----END CERTIFICATE-----\n\n-----BEGIN");
    let bundle = RootBundle::from_pem(&bundle_pem).expect("bundle");
    Vectors { certificates, bundle, bundle_pem }
}

#[test]
fn certificate_and_root_sns_equal_the_node_sdks() {
    let node_modules = interop_dir().join("node/node_modules");
    if !node_modules.join("alipay-sdk").exists() && skip("alipay-sdk (npm) is not installed") {
        return;
    }
    let vectors = vectors();
    // The SDK's public constructor computes the SNs from certificate contents (alipay.ts).
    let script = format!(
        r#"const {{ AlipaySdk }} = require({sdk:?});
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = input.certificates.map((cert) => {{
  const sdk = new AlipaySdk({{ appId: '2021', privateKey: input.private_key,
    appCertContent: cert, alipayPublicCertContent: cert, alipayRootCertContent: input.bundle }});
  return [sdk.config.appCertSn, sdk.config.alipayCertSn, sdk.config.alipayRootCertSn];
}});
process.stdout.write(JSON.stringify(out));"#,
        sdk = node_modules.join("alipay-sdk").display().to_string()
    );
    let input = serde_json::json!({
        "private_key": PrivateKey::generate(1024).unwrap().to_pkcs1_pem().unwrap(),
        "certificates": vectors.certificates.iter().map(|c| c.to_pem().unwrap()).collect::<Vec<_>>(),
        "bundle": vectors.bundle_pem,
    });
    let output = run(&PathBuf::from("node"), &["-e", &script], &input.to_string());
    let answers: Vec<[String; 3]> = serde_json::from_str(&output).expect("json");
    assert_eq!(answers.len(), vectors.certificates.len());
    for (cert, [app_sn, alipay_sn, root_sn]) in vectors.certificates.iter().zip(&answers) {
        assert_eq!(app_sn, cert.sn(), "appCertSn of {}", cert.subject());
        assert_eq!(alipay_sn, cert.sn(), "alipayCertSn of {}", cert.subject());
        assert_eq!(root_sn, vectors.bundle.sn(), "alipayRootCertSn");
    }
    assert_eq!(vectors.bundle.sn().split('_').count(), 2, "the EC root is skipped");
}

#[test]
fn certificate_and_root_sns_equal_python_alipay_sdks() {
    let python = interop_dir().join("venv-fzlee/bin/python");
    if !python.exists() && skip("python-alipay-sdk (venv-fzlee) is not installed") {
        return;
    }
    let vectors = vectors();
    let script = "import json, sys\nfrom alipay import DCAliPay\ninput = json.load(sys.stdin)\n\
                  print(json.dumps({'certs': [DCAliPay.get_cert_sn(c) for c in input['certificates']],\n\
                  'root': DCAliPay.get_root_cert_sn(input['bundle'])}))";
    let input = serde_json::json!({
        "certificates": vectors.certificates.iter().map(|c| c.to_pem().unwrap()).collect::<Vec<_>>(),
        "bundle": vectors.bundle_pem,
    });
    let output = run(&python, &["-c", script], &input.to_string());
    let answer: serde_json::Value = serde_json::from_str(&output).expect("json");
    for (cert, sn) in vectors.certificates.iter().zip(answer["certs"].as_array().expect("list")) {
        assert_eq!(sn.as_str(), Some(cert.sn()), "get_cert_sn of {}", cert.subject());
    }
    assert_eq!(answer["root"].as_str(), Some(vectors.bundle.sn()));
}

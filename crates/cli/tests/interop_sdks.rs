//! Interop: three real, unmodified Alipay client SDKs against a spawned `hongbao serve`, with
//! response-signature verification on.
//!
//! Goal: prove that an application written against the official Python SDK
//! (`alipay-sdk-python`, utf-8 and GBK), the community python-alipay-sdk (fzlee) and the official
//! Node SDK (`alipay-sdk`) can run the whole red packet flow on hongbao — fund a packet, hand it
//! out to two users (by user id and by logon id), refund the rest, look every operation up by
//! every id pair, replay requests, and hit the two business errors — and that every answer
//! passes the SDK's own signature check, under RSA2 and RSA.
//!
//! Method: `interop/setup.sh` installs the SDKs once (see `interop/README.md` for the runner
//! contract). Each `#[test]` (one per SDK) starts its own `hongbao serve` on a free port with a
//! fresh config, keys and SQLite file in a temp dir, runs its charset × sign_type combinations in
//! parallel against it (ids are unique per combination), checks that a runner holding the
//! wrong gateway key rejects our answers, then restarts the server on the same database and
//! reads the balances from its banner to check the money moved exactly.
//!
//! Certificate mode (公钥证书模式): the Node SDK (`appCertPath`, `alipayPublicCertPath`,
//! `alipayRootCertPath`) and python-alipay-sdk's `DCAliPay` run the same flow as a
//! certificate-mode app (the config's second app, with a certificate from a CA made here; the
//! root bundle holds an EC root after a blank line); the SNs each SDK computed must be the
//! gateway's; then a page.pay form and URL and an app.pay order string built by the SDK are
//! accepted by the cashier and the wallet, and the raw answer to an SDK-signed request carries
//! the gateway certificate's `alipay_cert_sn` after `sign` (the SDKs do not check it, so this
//! test does).
//!
//! Interface content encryption (接口内容加密): both apps have an `encrypt_key`; the Node SDK
//! (`encryptKey`, `needEncrypt: true`) and the official Python SDK (`encrypt_type = 'AES'`,
//! `encrypt_key`) run the same flow encrypted (Node in public-key and certificate mode, Python
//! in utf-8 and GBK), every answer checked on the wire to be encrypted (neither SDK insists).
//! Two SDK defects are worked around in the runners, nothing else changed: Node verifies the
//! wrong text of an encrypted answer with `validateSign: true` (alipay-sdk-nodejs-all#82), so
//! encrypted calls verify the exact span with the SDK's own `rsaCheck`, while a clear error (a
//! runner holding the wrong AES key gets 40003 `isv.decryption-error-unknown` in clear) is read
//! with `validateSign: true`; the Python SDK raises a `TypeError` on every encrypted call on
//! Python 3, so `py_official.py` wraps the `AES` it calls to pass the bytes it meant. The
//! encrypted page.pay URL and app.pay order string each SDK builds open the cashier and the
//! wallet with the order decrypted.
//!
//! Without `node` / `python3`, or when setup fails, the tests print `SKIP interop_sdks: …` and
//! pass; under `CI=true` they fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::{repo_root, run_with_timeout};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const APP_ID: &str = "2021000000000077";
/// The certificate-mode app (same merchant account).
const CERT_APP_ID: &str = "2021000000000078";
const MERCHANT: &str = "2088102000000001";
const MERCHANT_LOGON: &str = "merchant@example.com";
const USER_A: &str = "2088102000000002";
const USER_A_LOGON: &str = "alice@example.com";
const USER_B: &str = "2088102000000003";
const USER_B_LOGON: &str = "bob@example.com";
const USER_A_NAME: &str = "王小红";
const CLOCK_TOKEN: &str = "interop-clock-token-0123456789";
const MERCHANT_OPENING_FEN: i64 = 100_000_000;
const USER_OPENING_FEN: i64 = 100_000;

use hongbao_protocol::method::{AGREEMENT_PAY as PAY, DISBURSE, OPERATION_QUERY as QUERY, REFUND};

const PACKET_TITLE: &str = "红包发放";
const DISBURSE_TITLE: &str = "红包领取";
const REFUND_REMARK: &str = "退回";

const RUNNER_TIMEOUT: Duration = Duration::from_secs(120);
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Setup and the skip rule
// ---------------------------------------------------------------------------------------------

fn interop_dir() -> PathBuf {
    match std::env::var_os("INTEROP_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("target/interop"),
    }
}

fn tool_runs(program: &str) -> Result<(), String> {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{program} --version` failed ({status})")),
        Err(err) => Err(format!("`{program}` not found ({err})")),
    }
}

/// Runs `interop/setup.sh` once per test binary; the error is the reason to skip.
fn setup() -> &'static Result<(), String> {
    static SETUP: OnceLock<Result<(), String>> = OnceLock::new();
    SETUP.get_or_init(|| {
        tool_runs("node")?;
        tool_runs("python3")?;
        let started = Instant::now();
        let output = Command::new("bash")
            .arg("interop/setup.sh")
            .current_dir(repo_root())
            .env("INTEROP_DIR", interop_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run bash interop/setup.sh: {err}"))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "interop/setup.sh failed ({}):\n{}",
                output.status,
                tail.join("\n")
            ));
        }
        eprintln!("interop_sdks: interop/setup.sh done in {:.1?}", started.elapsed());
        Ok(())
    })
}

/// True when the SDKs are installed. Otherwise skips (prints why) or, under `CI=true`, fails.
fn sdks_ready() -> bool {
    match setup() {
        Ok(()) => true,
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("interop_sdks cannot run under CI=true: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIP interop_sdks: {reason}");
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys, config and the server process
// ---------------------------------------------------------------------------------------------

/// A temp dir with the gateway key, the app key, an unrelated "wrong" gateway public key and a
/// config naming a fresh SQLite file.
struct Fixture {
    dir: tempfile::TempDir,
    /// Both apps' AES key (`encrypt_key`).
    encrypt_key: String,
    /// A key the gateway does not hold.
    wrong_encrypt_key: String,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_messages(None)
    }

    /// A fixture whose public-key app has an application gateway (`message_url`) for fund.trans
    /// messages, and whose sandbox clock control is on (`CLOCK_TOKEN`).
    fn with_messages(message_url: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let write =
            |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
        let gateway = hongbao_sign::PrivateKey::generate(2048).expect("gateway key");
        write("gateway_private.pem", &gateway.to_pkcs1_pem().unwrap());
        write("gateway_public.pem", &gateway.public_key().unwrap().to_pem().unwrap());
        let app = hongbao_sign::PrivateKey::generate(2048).expect("app key");
        write("app_private.pem", &app.to_pkcs1_pem().unwrap());
        write("app_public.pem", &app.public_key().unwrap().to_pem().unwrap());
        let wrong = hongbao_sign::PrivateKey::generate(2048).expect("wrong key");
        write("wrong_public.pem", &wrong.public_key().unwrap().to_pem().unwrap());
        // Certificate mode: a CA, the bundle (RSA root, blank line, EC root), the gateway key's
        // certificate, the certificate app's key and certificate, and a "wrong" Alipay
        // certificate (same CA, another key).
        let now = chrono::Utc::now().timestamp();
        let (from, to) = (now - 86_400, now + 365 * 86_400);
        let subject = |common_name| hongbao_sign::Subject {
            common_name,
            organizational_unit: "Certification Authority",
            organization: "hongbao interop",
            country: "CN",
        };
        let ca_key = hongbao_sign::PrivateKey::generate(2048).expect("ca key");
        let ca = hongbao_sign::Authority::new_root(subject("interop Root CA"), &ca_key, from, to)
            .expect("ca");
        let ec = hongbao_sign::cert::ec_root_pem(subject("interop EC Root"), from, to).expect("ec");
        let root_pem = ca.certificate().to_pem().unwrap();
        write("alipay_root.crt", &format!("{}\n\n{ec}", root_pem.trim_end()));
        let issue = |name, key: &hongbao_sign::PrivateKey| {
            ca.issue(subject(name), &key.public_key().unwrap(), from, to).unwrap().to_pem().unwrap()
        };
        write("alipay_cert.crt", &issue("interop gateway", &gateway));
        write("wrong_alipay_cert.crt", &issue("interop gateway", &wrong));
        let cert_app = hongbao_sign::PrivateKey::generate(2048).expect("cert app key");
        write("cert_app_private.pem", &cert_app.to_pkcs1_pem().unwrap());
        write("cert_app.crt", &issue(CERT_APP_ID, &cert_app));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in ["gateway_private.pem", "app_private.pem", "cert_app_private.pem"] {
                let perms = std::fs::Permissions::from_mode(0o600);
                std::fs::set_permissions(dir.path().join(name), perms).unwrap();
            }
        }
        let messages =
            message_url.map(|url| format!("message_url = \"{url}\"\n")).unwrap_or_default();
        let encrypt_key = hongbao_sign::EncryptKey::generate().unwrap().to_base64();
        let wrong_encrypt_key = hongbao_sign::EncryptKey::generate().unwrap().to_base64();
        let mut config = format!(
            "listen = \"127.0.0.1:0\"\n\
             database = \"sqlite://data/hongbao.db\"\n\
             gateway_private_key = \"gateway_private.pem\"\n\
             gateway_cert = \"alipay_cert.crt\"\nroot_cert = \"alipay_root.crt\"\n\n\
             [[app]]\napp_id = \"{APP_ID}\"\nname = \"interop shop\"\n\
             app_public_key = \"app_public.pem\"\nmerchant_user_id = \"{MERCHANT}\"\n{messages}\
             encrypt_key = \"{encrypt_key}\"\n\n\
             [[app]]\napp_id = \"{CERT_APP_ID}\"\nname = \"interop shop (certificate mode)\"\n\
             app_cert = \"cert_app.crt\"\nmerchant_user_id = \"{MERCHANT}\"\n\
             encrypt_key = \"{encrypt_key}\"\n"
        );
        for (user_id, logon_id, balance_fen) in [
            (MERCHANT, MERCHANT_LOGON, MERCHANT_OPENING_FEN),
            (USER_A, USER_A_LOGON, USER_OPENING_FEN),
            (USER_B, USER_B_LOGON, USER_OPENING_FEN),
        ] {
            config.push_str(&format!(
                "\n[[user]]\nuser_id = \"{user_id}\"\nlogon_id = \"{logon_id}\"\nbalance = \"{}\"\n",
                fen_text(balance_fen)
            ));
            if user_id == USER_A {
                config.push_str(&format!("real_name = \"{USER_A_NAME}\"\n"));
            }
        }
        config.push_str(&format!("\n[sandbox]\nclock_token = \"{CLOCK_TOKEN}\"\n"));
        write("hongbao.toml", &config);
        Fixture { dir, encrypt_key, wrong_encrypt_key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running `hongbao serve`; killed on drop (its log is printed if the test is failing).
struct Server {
    child: Child,
    url: String,
    lines: Receiver<String>,
    log: PathBuf,
}

impl Server {
    fn start(fixture: &Fixture) -> Server {
        let log = fixture.path("server.log");
        let log_file =
            std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hongbao"))
            .arg("serve")
            .arg("--config")
            .arg(fixture.path("hongbao.toml"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_remove("HONGBAO_LISTEN")
            .env_remove("HONGBAO_DATABASE")
            .env("HONGBAO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn hongbao serve");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, url: String::new(), lines, log };
        let first = server.next_line();
        let url = first
            .strip_prefix("hongbao gateway listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from hongbao serve: {first:?}"));
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/gateway.do"), "{first:?}");
        server.url = url.to_owned();
        server
    }

    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(line) => line,
            Err(err) => {
                let status = self.child.try_wait().ok().flatten();
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("no line from hongbao serve ({err}; exit status {status:?}); log:\n{log}")
            }
        }
    }

    /// The balances the start-up banner prints for `user_ids`.
    fn banner_balances_fen(&mut self, user_ids: &[&str]) -> Vec<i64> {
        let mut banner = Vec::new();
        let mut found = vec![None; user_ids.len()];
        while found.iter().any(Option::is_none) {
            let line = self.next_line();
            for (slot, user_id) in found.iter_mut().zip(user_ids) {
                if line.trim_start().starts_with(user_id) && line.contains("balance") {
                    let balance = line.split_whitespace().last().unwrap_or_default();
                    *slot = Some(fen(balance));
                }
            }
            banner.push(line);
            assert!(
                banner.len() < 100,
                "banner has no balance lines for {user_ids:?}:\n{}",
                banner.join("\n")
            );
        }
        found.into_iter().map(Option::unwrap).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!("--- hongbao serve log (last lines) ---\n{}\n---", tail.join("\n"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Runners
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sdk {
    PyOfficial,
    PyFzlee,
    Node,
}

impl Sdk {
    fn short(self) -> &'static str {
        match self {
            Sdk::PyOfficial => "pyo",
            Sdk::PyFzlee => "pyf",
            Sdk::Node => "node",
        }
    }

    fn command(self) -> Command {
        let repo = repo_root();
        let mut command = match self {
            Sdk::PyOfficial => {
                let mut c = Command::new(interop_dir().join("venv-official/bin/python"));
                c.arg(repo.join("interop/py_official.py"));
                c
            }
            Sdk::PyFzlee => {
                let mut c = Command::new(interop_dir().join("venv-fzlee/bin/python"));
                c.arg(repo.join("interop/py_fzlee.py"));
                c
            }
            Sdk::Node => {
                let mut c = Command::new("node");
                c.arg(repo.join("interop/node/runner.mjs"));
                c
            }
        };
        command.env("INTEROP_DIR", interop_dir()).env("PYTHONIOENCODING", "utf-8");
        command
    }
}

/// One SDK configuration.
#[derive(Clone, Copy, Debug)]
struct Combo {
    sdk: Sdk,
    charset: &'static str,
    sign_type: &'static str,
    /// Certificate mode (the certificate app, configured with the three files).
    cert: bool,
    /// Interface content encryption: the runner holds the app's AES key and encrypts every call.
    encrypt: bool,
}

impl Combo {
    /// Prefix of every merchant id this combination uses, so combinations never collide.
    fn tag(&self) -> String {
        let charset = if self.charset.eq_ignore_ascii_case("GBK") { "gbk" } else { "u8" };
        let mode = if self.cert { "-cert" } else { "" };
        let aes = if self.encrypt { "-aes" } else { "" };
        format!(
            "{}-{}-{}{mode}{aes}",
            self.sdk.short(),
            charset,
            self.sign_type.to_ascii_lowercase()
        )
    }

    /// Runs `calls` (execute ops: `(method, biz_content)`) in one runner process against
    /// `gateway`; returns `results`, one per call.
    fn run(
        &self,
        fixture: &Fixture,
        gateway: &str,
        calls: &[(&str, Value)],
        alipay_public: &str,
    ) -> Vec<Value> {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(method, biz)| json!({"op": "execute", "method": method, "biz_content": biz}))
            .collect();
        self.run_ops(fixture, gateway, calls, alipay_public)
    }

    /// Runs any runner ops (see interop/README.md) in one runner process; encrypted combinations
    /// with the app's AES key.
    fn run_ops(
        &self,
        fixture: &Fixture,
        gateway: &str,
        calls: Vec<Value>,
        alipay_public: &str,
    ) -> Vec<Value> {
        let aes = self.encrypt.then_some(fixture.encrypt_key.as_str());
        self.run_ops_keyed(fixture, gateway, calls, alipay_public, aes)
    }

    /// `run_ops` with the runner holding `encrypt_key` (or none). An encrypted runner's
    /// `execute` answers must have come encrypted on the wire, or in clear where the call says
    /// `expect_clear`: the SDKs read either, so the test checks.
    fn run_ops_keyed(
        &self,
        fixture: &Fixture,
        gateway: &str,
        calls: Vec<Value>,
        alipay_public: &str,
        encrypt_key: Option<&str>,
    ) -> Vec<Value> {
        let mut input = json!({
            "gateway": gateway,
            "app_id": APP_ID,
            "app_private_key_file": fixture.path("app_private.pem"),
            "alipay_public_key_file": fixture.path(alipay_public),
            "charset": self.charset,
            "sign_type": self.sign_type,
            "calls": calls,
        });
        if let Some(key) = encrypt_key {
            input["encrypt_key"] = json!(key);
        }
        if self.cert {
            // The same trust, as certificates: the gateway's own certificate or the wrong one.
            let alipay_cert = match alipay_public {
                "gateway_public.pem" => "alipay_cert.crt",
                _ => "wrong_alipay_cert.crt",
            };
            input["app_id"] = json!(CERT_APP_ID);
            input["app_private_key_file"] = json!(fixture.path("cert_app_private.pem"));
            input["certificates"] = json!({
                "app_cert_file": fixture.path("cert_app.crt"),
                "alipay_cert_file": fixture.path(alipay_cert),
                "alipay_root_cert_file": fixture.path("alipay_root.crt"),
            });
        }
        let (status, stdout, stderr) =
            run_with_timeout(self.sdk.command(), input.to_string().as_bytes(), RUNNER_TIMEOUT);
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        if !stderr.trim().is_empty() {
            eprintln!("[{}] runner stderr:\n{}", self.tag(), stderr.trim_end());
        }
        assert!(
            status == Some(0),
            "[{}] runner exit status {status:?}; stderr:\n{stderr}",
            self.tag()
        );
        let output: Value = serde_json::from_slice(&stdout).unwrap_or_else(|err| {
            panic!(
                "[{}] runner stdout is not JSON ({err}): {}",
                self.tag(),
                String::from_utf8_lossy(&stdout)
            )
        });
        if self.cert {
            // The SNs the SDK computed from the files are the gateway's.
            let sn = |name: &str| {
                hongbao_sign::Certificate::from_pem(
                    &std::fs::read_to_string(fixture.path(name)).unwrap(),
                )
                .unwrap()
                .sn()
                .to_owned()
            };
            let root = hongbao_sign::RootBundle::from_pem(
                &std::fs::read_to_string(fixture.path("alipay_root.crt")).unwrap(),
            )
            .unwrap();
            assert_eq!(output["sns"]["app_cert_sn"], json!(sn("cert_app.crt")), "[{}]", self.tag());
            assert_eq!(output["sns"]["alipay_root_cert_sn"], json!(root.sn()), "[{}]", self.tag());
            assert_eq!(root.sn().split('_').count(), 1, "the EC root does not count");
        }
        let results = output["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            results.len(),
            calls.len(),
            "[{}] results do not answer calls: {output}",
            self.tag()
        );
        if encrypt_key.is_some() {
            for (call, result) in calls.iter().zip(&results) {
                if call["op"] != json!("execute") || result["ok"] != json!(true) {
                    continue;
                }
                let expected =
                    if call["expect_clear"] == json!(true) { "clear" } else { "encrypted" };
                assert_eq!(
                    result["wire"],
                    json!(expected),
                    "[{}] {} answered with the node {expected} expected: {result}",
                    self.tag(),
                    call["method"]
                );
            }
        }
        results
    }
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// `"100.00"` → 10000.
fn fen(text: &str) -> i64 {
    let (whole, cents) = text.split_once('.').unwrap_or_else(|| panic!("not an amount: {text:?}"));
    assert_eq!(cents.len(), 2, "not an amount: {text:?}");
    whole.parse::<i64>().expect("amount") * 100 + cents.parse::<i64>().expect("amount")
}

fn fen_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn all_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

/// `yyyy-MM-dd HH:mm:ss`.
fn is_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

/// The verified node of an `ok:true` result.
fn verified_node<'a>(result: &'a Value, what: &str) -> &'a Value {
    assert_eq!(result["ok"], json!(true), "{what}: the SDK did not accept the answer: {result}");
    let node = &result["response"];
    assert!(node.is_object(), "{what}: no response node: {result}");
    node
}

fn text<'a>(node: &'a Value, key: &str, what: &str) -> &'a str {
    node[key].as_str().unwrap_or_else(|| panic!("{what}: {key} missing or not a string in {node}"))
}

/// A verified `10000` answer of an order method; returns (auth_no, operation_id, gmt_trans).
fn expect_order_success(result: &Value, amount: &str, what: &str) -> (String, String, String) {
    let node = verified_node(result, what);
    assert_eq!(node["code"], json!("10000"), "{what}: {node}");
    assert!(node.get("sub_code").is_none(), "{what}: {node}");
    assert_eq!(node["status"], json!("SUCCESS"), "{what}: {node}");
    assert_eq!(node["amount"], json!(amount), "{what}: {node}");
    let auth_no = text(node, "auth_no", what);
    let operation_id = text(node, "operation_id", what);
    let gmt_trans = text(node, "gmt_trans", what);
    assert!(all_digits(auth_no, 28), "{what}: auth_no {auth_no:?} is not 28 digits");
    assert!(all_digits(operation_id, 20), "{what}: operation_id {operation_id:?} is not 20 digits");
    assert!(is_datetime(gmt_trans), "{what}: gmt_trans {gmt_trans:?} is not yyyy-MM-dd HH:mm:ss");
    (auth_no.to_owned(), operation_id.to_owned(), gmt_trans.to_owned())
}

/// A verified, signed `40004` with `sub_code`.
fn expect_business_error(result: &Value, sub_code: &str, what: &str) {
    let node = verified_node(result, what);
    assert_eq!(node["code"], json!("40004"), "{what}: {node}");
    assert_eq!(node["sub_code"], json!(sub_code), "{what}: {node}");
    assert!(
        node["sub_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no sub_msg in {node}"
    );
}

/// One operation as the scenario created it, for the query checks.
struct Operation {
    name: &'static str,
    auth_no: String,
    out_order_no: String,
    operation_id: String,
    out_request_no: String,
    operation_type: &'static str,
    amount: &'static str,
    order_title: &'static str,
    payee_user_id: Option<&'static str>,
    masked_payee_logon_of: Option<&'static str>,
    remark: Option<&'static str>,
}

impl Operation {
    /// The four lookups: (auth_no | out_order_no) × (operation_id | out_request_no).
    fn lookups(&self) -> [(&'static str, Value); 4] {
        [
            (
                "auth_no+operation_id",
                json!({"auth_no": self.auth_no, "operation_id": self.operation_id}),
            ),
            (
                "out_order_no+out_request_no",
                json!({"out_order_no": self.out_order_no, "out_request_no": self.out_request_no}),
            ),
            (
                "auth_no+out_request_no",
                json!({"auth_no": self.auth_no, "out_request_no": self.out_request_no}),
            ),
            (
                "out_order_no+operation_id",
                json!({"out_order_no": self.out_order_no, "operation_id": self.operation_id}),
            ),
        ]
    }

    fn check_query(&self, result: &Value, what: &str) {
        let node = verified_node(result, what);
        assert_eq!(node["code"], json!("10000"), "{what}: {node}");
        assert!(node.get("sub_code").is_none(), "{what}: {node}");
        for (key, want) in [
            ("auth_no", self.auth_no.as_str()),
            ("out_order_no", self.out_order_no.as_str()),
            ("operation_id", self.operation_id.as_str()),
            ("out_request_no", self.out_request_no.as_str()),
            ("operation_type", self.operation_type),
            ("status", "SUCCESS"),
            ("amount", self.amount),
            ("order_title", self.order_title),
            ("payer_user_id", MERCHANT),
            ("total_pay_refund_amount", "50.00"),
        ] {
            assert_eq!(node[key], json!(want), "{what}: {key} in {node}");
        }
        if let Some(payee) = self.payee_user_id {
            assert_eq!(node["payee_user_id"], json!(payee), "{what}: payee_user_id in {node}");
        }
        if let Some(logon_id) = self.masked_payee_logon_of {
            let masked = text(node, "payee_logon_id", what);
            assert!(
                masked.contains('*') && masked != logon_id,
                "{what}: payee_logon_id {masked:?} is not masked"
            );
        }
        if let Some(remark) = self.remark {
            assert_eq!(node["remark"], json!(remark), "{what}: remark in {node}");
        }
        let gmt_create = text(node, "gmt_create", what);
        assert!(is_datetime(gmt_create), "{what}: gmt_create {gmt_create:?}");
        if let Some(gmt_trans) = node.get("gmt_trans") {
            assert!(gmt_trans.as_str().is_some_and(is_datetime), "{what}: gmt_trans in {node}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

/// Fund 100.00, disburse 30.00 to A (by user id, packet by auth_no) and 20.00 to B (by logon
/// id, packet by out_order_no), refund 50.00, replay, conflict, overdraw, then query all four
/// operations by all four id pairs. Three runner runs: each step needs ids from the one before.
fn scenario(combo: Combo, fixture: &Fixture, gateway: &str) {
    let started = Instant::now();
    let tag = combo.tag();
    let run = |calls: &[(&str, Value)]| combo.run(fixture, gateway, calls, "gateway_public.pem");
    let packet_no = format!("{tag}-packet");
    let disburse_a_no = format!("{tag}-disburse-a");
    let disburse_b_no = format!("{tag}-disburse-b");

    // a. Fund the packet from the merchant's own account.
    let pay_biz = json!({
        "out_order_no": packet_no,
        "out_request_no": "pay1",
        "order_title": PACKET_TITLE,
        "amount": "100.00",
        "payer_user_id": MERCHANT,
    });
    let results = run(&[(PAY, pay_biz.clone())]);
    let (packet_auth_no, pay_operation_id, pay_gmt_trans) =
        expect_order_success(&results[0], "100.00", &format!("[{tag}] agreement.pay"));

    // b, c, e, f, g.
    let disburse_a_biz = json!({
        "out_order_no": disburse_a_no,
        "deduct_auth_no": packet_auth_no,
        "out_request_no": "disburse-a-1",
        "order_title": DISBURSE_TITLE,
        "amount": "30.00",
        "payee_user_id": USER_A,
    });
    let disburse_b_biz = json!({
        "out_order_no": disburse_b_no,
        "deduct_out_order_no": packet_no,
        "out_request_no": "disburse-b-1",
        "order_title": DISBURSE_TITLE,
        "amount": "20.00",
        "payee_logon_id": USER_B_LOGON,
    });
    let refund_biz = json!({
        "auth_no": packet_auth_no,
        "out_request_no": "refund1",
        "amount": "50.00",
        "remark": REFUND_REMARK,
    });
    let mut pay_conflict_biz = pay_biz.clone();
    pay_conflict_biz["amount"] = json!("99.00");
    let overdraw_biz = json!({
        "auth_no": packet_auth_no,
        "out_request_no": "refund2",
        "amount": "0.01",
        "remark": REFUND_REMARK,
    });
    let results = run(&[
        (DISBURSE, disburse_a_biz.clone()),
        (DISBURSE, disburse_b_biz),
        (REFUND, refund_biz),
        (PAY, pay_biz),
        (DISBURSE, disburse_a_biz),
        (PAY, pay_conflict_biz),
        (REFUND, overdraw_biz),
    ]);
    let (a_auth_no, a_operation_id, a_gmt_trans) =
        expect_order_success(&results[0], "30.00", &format!("[{tag}] disburse A"));
    let (b_auth_no, b_operation_id, _) =
        expect_order_success(&results[1], "20.00", &format!("[{tag}] disburse B"));
    let (refund_auth_no, refund_operation_id, _) =
        expect_order_success(&results[2], "50.00", &format!("[{tag}] refund"));
    assert_eq!(
        refund_auth_no, packet_auth_no,
        "[{tag}] a refund answers with the packet's auth_no"
    );
    let auth_nos = [&packet_auth_no, &a_auth_no, &b_auth_no];
    assert!(
        auth_nos.iter().enumerate().all(|(i, x)| auth_nos[i + 1..].iter().all(|y| x != y)),
        "[{tag}] {auth_nos:?}"
    );
    let operation_ids = [&pay_operation_id, &a_operation_id, &b_operation_id, &refund_operation_id];
    assert!(
        operation_ids
            .iter()
            .enumerate()
            .all(|(i, x)| operation_ids[i + 1..].iter().all(|y| x != y)),
        "[{tag}] operation ids repeat: {operation_ids:?}"
    );
    // e. Identical replays answer the original result.
    let replayed =
        expect_order_success(&results[3], "100.00", &format!("[{tag}] agreement.pay replay"));
    assert_eq!(
        replayed,
        (packet_auth_no.clone(), pay_operation_id.clone(), pay_gmt_trans),
        "[{tag}] pay replay"
    );
    let replayed =
        expect_order_success(&results[4], "30.00", &format!("[{tag}] disburse A replay"));
    assert_eq!(
        replayed,
        (a_auth_no.clone(), a_operation_id.clone(), a_gmt_trans),
        "[{tag}] disburse replay"
    );
    // f, g.
    expect_business_error(
        &results[5],
        "UNIQUE_VIOLATION",
        &format!("[{tag}] agreement.pay 99.00 with used ids"),
    );
    expect_business_error(
        &results[6],
        "MONEY_NOT_ENOUGH",
        &format!("[{tag}] refund of an empty packet"),
    );

    // d. Every operation by every lookup path.
    let operations = [
        Operation {
            name: "pay",
            auth_no: packet_auth_no.clone(),
            out_order_no: packet_no.clone(),
            operation_id: pay_operation_id,
            out_request_no: "pay1".into(),
            operation_type: "PAY",
            amount: "100.00",
            order_title: PACKET_TITLE,
            payee_user_id: None,
            masked_payee_logon_of: None,
            remark: None,
        },
        Operation {
            name: "disburse A",
            auth_no: a_auth_no,
            out_order_no: disburse_a_no,
            operation_id: a_operation_id,
            out_request_no: "disburse-a-1".into(),
            operation_type: "PAY",
            amount: "30.00",
            order_title: DISBURSE_TITLE,
            payee_user_id: Some(USER_A),
            masked_payee_logon_of: None,
            remark: None,
        },
        Operation {
            name: "disburse B",
            auth_no: b_auth_no,
            out_order_no: disburse_b_no,
            operation_id: b_operation_id,
            out_request_no: "disburse-b-1".into(),
            operation_type: "PAY",
            amount: "20.00",
            order_title: DISBURSE_TITLE,
            payee_user_id: Some(USER_B),
            masked_payee_logon_of: Some(USER_B_LOGON),
            remark: None,
        },
        Operation {
            name: "refund",
            auth_no: packet_auth_no,
            out_order_no: packet_no,
            operation_id: refund_operation_id,
            out_request_no: "refund1".into(),
            operation_type: "REFUND",
            amount: "50.00",
            order_title: PACKET_TITLE,
            payee_user_id: None,
            masked_payee_logon_of: None,
            remark: Some(REFUND_REMARK),
        },
    ];
    let mut calls = Vec::new();
    let mut whats = Vec::new();
    for operation in &operations {
        for (path, biz) in operation.lookups() {
            calls.push((QUERY, biz));
            whats.push((operation, format!("[{tag}] query {} by {path}", operation.name)));
        }
    }
    let results = run(&calls);
    for (result, (operation, what)) in results.iter().zip(&whats) {
        operation.check_query(result, what);
    }
    eprintln!("interop_sdks: [{tag}] ok: 23 calls verified in {:.1?}", started.elapsed());
}

/// A runner that trusts another gateway key must reject our (correctly signed) answer.
fn wrong_key_is_rejected(combo: Combo, fixture: &Fixture, gateway: &str) {
    let tag = combo.tag();
    let biz = json!({"out_order_no": format!("{tag}-packet"), "out_request_no": "pay1"});
    let results = combo.run(fixture, gateway, &[(QUERY, biz)], "wrong_public.pem");
    assert_eq!(
        results[0]["ok"],
        json!(false),
        "[{tag}] the SDK accepted an answer under the wrong alipay public key: {}",
        results[0]
    );
    let error = results[0]["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "[{tag}] ok:false without an error: {}", results[0]);
    let short: String = error.chars().take(100).collect();
    eprintln!("interop_sdks: [{tag}] wrong alipay public key rejected: {short}…");
}

/// Runs `combos` in parallel on one server, the wrong-key check, then restarts the server and
/// checks the balances: per combination the merchant pays 100.00 and gets 50.00 back, A gets
/// 30.00 and B 20.00.
fn run_sdk(combos: &[Combo]) {
    if !sdks_ready() {
        return;
    }
    let started = Instant::now();
    let fixture = Fixture::new();
    let mut server = Server::start(&fixture);
    eprintln!("interop_sdks: {:?} against {}", combos[0].sdk, server.url);
    std::thread::scope(|scope| {
        for combo in combos {
            let (fixture, gateway) = (&fixture, server.url.as_str());
            scope.spawn(move || scenario(*combo, fixture, gateway));
        }
    });
    wrong_key_is_rejected(combos[0], &fixture, &server.url);
    for combo in combos {
        if combo.cert {
            certificate_payer_side_and_envelope(*combo, &fixture, &server.url);
        }
        if combo.encrypt {
            encryption_clear_errors_and_payer_side(*combo, &fixture, &server.url);
        }
    }
    drop(server);

    server = Server::start(&fixture);
    let balances = server.banner_balances_fen(&[MERCHANT, USER_A, USER_B]);
    let n = combos.len() as i64;
    assert_eq!(
        balances,
        vec![
            MERCHANT_OPENING_FEN - 5_000 * n,
            USER_OPENING_FEN + 3_000 * n,
            USER_OPENING_FEN + 2_000 * n
        ],
        "balances (merchant, A, B) after {n} scenarios"
    );
    eprintln!("interop_sdks: {:?} done in {:.1?}", combos[0].sdk, started.elapsed());
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_python_sdk_runs_the_red_packet_flow_in_utf8_and_gbk() {
    let mut combos = Vec::new();
    for charset in ["utf-8", "GBK"] {
        for sign_type in ["RSA2", "RSA"] {
            combos.push(Combo {
                sdk: Sdk::PyOfficial,
                charset,
                sign_type,
                cert: false,
                encrypt: false,
            });
        }
    }
    run_sdk(&combos);
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn python_alipay_sdk_runs_the_red_packet_flow() {
    run_sdk(&[
        Combo {
            sdk: Sdk::PyFzlee,
            charset: "utf-8",
            sign_type: "RSA2",
            cert: false,
            encrypt: false,
        },
        Combo {
            sdk: Sdk::PyFzlee,
            charset: "utf-8",
            sign_type: "RSA",
            cert: false,
            encrypt: false,
        },
    ]);
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_node_sdk_runs_the_red_packet_flow_in_certificate_mode() {
    run_sdk(&[
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA2", cert: true, encrypt: false },
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA", cert: true, encrypt: false },
    ]);
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn python_alipay_sdk_dcalipay_runs_the_red_packet_flow_in_certificate_mode() {
    run_sdk(&[
        Combo {
            sdk: Sdk::PyFzlee,
            charset: "utf-8",
            sign_type: "RSA2",
            cert: true,
            encrypt: false,
        },
        Combo { sdk: Sdk::PyFzlee, charset: "utf-8", sign_type: "RSA", cert: true, encrypt: false },
    ]);
}

/// One HTTP/1.1 request to the server behind `gateway`; returns (status, Location, body).
fn http(gateway: &str, method: &str, target: &str, body: &[u8]) -> (u16, String, String) {
    http_with(gateway, method, target, body, "")
}

/// `http` with extra header lines (each ending in `\r\n`).
fn http_with(
    gateway: &str,
    method: &str,
    target: &str,
    body: &[u8],
    headers: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let authority = gateway.trim_start_matches("http://").split('/').next().unwrap();
    let path = target.strip_prefix(&format!("http://{authority}")).unwrap_or(target);
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let location = head
        .lines()
        .find_map(|line| {
            line.strip_prefix("location: ").or_else(|| line.strip_prefix("Location: "))
        })
        .unwrap_or_default()
        .to_owned();
    (status, location, body.to_owned())
}

/// The payer's side and the envelope in certificate mode, with requests the SDK signed: the
/// page.pay GET URL (and Node's POST form) reach the cashier, the app.pay order string opens the
/// wallet's confirm page (both verified with the SNs the SDK added), and the answer to an
/// SDK-signed operation.query URL carries `alipay_cert_sn` = the gateway certificate's SN,
/// after `sign`, its node signed by that certificate's key.
fn certificate_payer_side_and_envelope(combo: Combo, fixture: &Fixture, gateway: &str) {
    let tag = combo.tag();
    let page_biz = |out_order_no: &str| {
        json!({"out_order_no": format!("{tag}-{out_order_no}"), "out_request_no": "pay1",
               "order_title": PACKET_TITLE, "amount": "1.00"})
    };
    let page_pay = hongbao_protocol::method::PAGE_PAY;
    let app_pay = hongbao_protocol::method::APP_PAY;
    let mut ops = vec![
        json!({"op": "page_execute", "method": page_pay, "biz_content": page_biz("page-get"),
               "return_url": "http://127.0.0.1:1/return", "http_method": "GET"}),
        json!({"op": "sdk_execute", "method": app_pay, "biz_content": page_biz("app")}),
        json!({"op": "page_execute", "method": QUERY, "http_method": "GET",
               "biz_content": {"out_order_no": format!("{tag}-packet"), "out_request_no": "pay1"}}),
    ];
    if combo.sdk == Sdk::Node {
        ops.push(
            json!({"op": "page_execute", "method": page_pay, "biz_content": page_biz("page-post"),
                        "return_url": "http://127.0.0.1:1/return", "http_method": "POST"}),
        );
    }
    let results = combo.run_ops(fixture, gateway, ops, "gateway_public.pem");
    let (status, location, body) = http(gateway, "GET", results[0]["page"].as_str().unwrap(), b"");
    assert_eq!(status, 303, "[{tag}] page.pay GET URL: {body}");
    assert!(location.starts_with("/cashier/"), "[{tag}] {location}");

    let order_string = results[1]["order_string"].as_str().unwrap();
    assert!(order_string.contains("app_cert_sn="), "[{tag}] {order_string}");
    let encoded: String =
        order_string
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    let (status, _, body) = http(gateway, "GET", &format!("/wallet?order_string={encoded}"), b"");
    assert_eq!(status, 200, "[{tag}] app.pay order string in the wallet: {body}");
    assert!(body.contains("name=\"auth_no\""), "[{tag}] the wallet shows the order: {body}");

    let (status, _, body) = http(gateway, "GET", results[2]["page"].as_str().unwrap(), b"");
    assert_eq!(status, 200);
    let gateway_cert = hongbao_sign::Certificate::from_pem(
        &std::fs::read_to_string(fixture.path("alipay_cert.crt")).unwrap(),
    )
    .unwrap();
    let found = hongbao_protocol::envelope::find_signed_node(
        &body,
        "alipay_fund_coupon_operation_query_response",
    )
    .unwrap_or_else(|| panic!("[{tag}] {body}"));
    assert_eq!(found.cert_sn.as_deref(), Some(gateway_cert.sn()), "[{tag}] {body}");
    assert!(
        body.ends_with(&format!("\",\"alipay_cert_sn\":\"{}\"}}", gateway_cert.sn())),
        "[{tag}] {body}"
    );
    // Encrypted (the SDK encrypted the query): the signed node is the quoted ciphertext.
    assert_eq!(found.encrypted, combo.encrypt, "[{tag}] {body}");
    let clear = match found.ciphertext() {
        Some(ciphertext) => {
            let aes = hongbao_sign::EncryptKey::from_base64(&fixture.encrypt_key).unwrap();
            String::from_utf8(aes.decrypt(ciphertext).unwrap()).unwrap()
        }
        None => found.node.to_owned(),
    };
    let node: Value = serde_json::from_str(&clear).unwrap();
    assert_eq!(node["code"], json!("10000"), "[{tag}] {body}");
    let sign_type = hongbao_sign::SignType::parse(combo.sign_type).unwrap();
    assert!(
        gateway_cert.public_key().unwrap().verify(
            sign_type,
            found.node.as_bytes(),
            found.sign.as_deref().unwrap()
        ),
        "[{tag}] the node verifies with the certificate's key"
    );

    if combo.sdk == Sdk::Node {
        // Node's auto-submitting form: its action and hidden inputs, posted as a browser would.
        let form = results[3]["page"].as_str().unwrap();
        let action = form.split("action=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
        let mut fields = hongbao_protocol::Params::new();
        for input in form.split("<input").skip(1) {
            let attr = |name: &str| {
                input.split(&format!("{name}=\"")).nth(1).and_then(|s| s.split('"').next()).unwrap()
            };
            fields.insert(attr("name"), attr("value").replace("&quot;", "\""));
        }
        let body = fields.to_form(hongbao_protocol::Charset::Utf8).unwrap();
        let (status, location, text) = http(gateway, "POST", action, &body);
        assert_eq!(status, 303, "[{tag}] page.pay form: {text}");
        assert!(location.starts_with("/cashier/"), "[{tag}] {location}");
    }
    eprintln!("interop_sdks: [{tag}] certificate mode: page.pay, app.pay and alipay_cert_sn ok");
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_node_sdk_runs_the_red_packet_flow() {
    run_sdk(&[
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA2", cert: false, encrypt: false },
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA", cert: false, encrypt: false },
    ]);
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_python_sdk_runs_the_red_packet_flow_encrypted_in_utf8_and_gbk() {
    run_sdk(&[
        Combo {
            sdk: Sdk::PyOfficial,
            charset: "utf-8",
            sign_type: "RSA2",
            cert: false,
            encrypt: true,
        },
        Combo {
            sdk: Sdk::PyOfficial,
            charset: "GBK",
            sign_type: "RSA2",
            cert: false,
            encrypt: true,
        },
        Combo {
            sdk: Sdk::PyOfficial,
            charset: "GBK",
            sign_type: "RSA",
            cert: false,
            encrypt: true,
        },
    ]);
}

#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_node_sdk_runs_the_red_packet_flow_encrypted_in_both_modes() {
    run_sdk(&[
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA2", cert: false, encrypt: true },
        Combo { sdk: Sdk::Node, charset: "utf-8", sign_type: "RSA", cert: true, encrypt: true },
    ]);
}

/// Encryption beyond the flow, with requests the SDK built: a runner holding another AES key
/// gets the gateway's 40003 `isv.decryption-error-unknown` signed and in clear, and the SDK
/// verifies it (Node with `validateSign: true`); the encrypted page.pay URL reaches the cashier
/// and the encrypted app.pay order string the wallet, each showing the decrypted order.
fn encryption_clear_errors_and_payer_side(combo: Combo, fixture: &Fixture, gateway: &str) {
    let tag = combo.tag();
    let query = json!({"op": "execute", "method": QUERY, "validate_sign": true, "expect_clear": true,
                       "biz_content": {"out_order_no": format!("{tag}-packet"), "out_request_no": "pay1"}});
    let results = combo.run_ops_keyed(
        fixture,
        gateway,
        vec![query],
        "gateway_public.pem",
        Some(&fixture.wrong_encrypt_key),
    );
    let node = verified_node(&results[0], &format!("[{tag}] another AES key"));
    assert_eq!(node["code"], json!("40003"), "[{tag}] {node}");
    assert_eq!(node["sub_code"], json!("isv.decryption-error-unknown"), "[{tag}] {node}");
    if combo.sdk == Sdk::Node {
        assert_eq!(results[0]["validate_sign"], json!(true), "[{tag}] {}", results[0]);
        // FIXME(alipay-sdk-nodejs-all#82): the reason for rsaCheck above. With validateSign:
        // true, Node 4.14 verifies the wrong text of a correct encrypted answer and throws;
        // when a release fixes it, this flips and the runner can use validateSign: true.
        let query = json!({"op": "execute", "method": QUERY, "validate_sign": true,
                           "biz_content": {"out_order_no": format!("{tag}-packet"), "out_request_no": "pay1"}});
        let results = combo.run_ops(fixture, gateway, vec![query], "gateway_public.pem");
        assert_eq!(results[0]["ok"], json!(false), "[{tag}] #82 is fixed? {}", results[0]);
        let error = results[0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("验签失败"), "[{tag}] {error}");
    }

    let biz = |out_order_no: &str, title: &str| {
        json!({"out_order_no": format!("{tag}-{out_order_no}"), "out_request_no": "pay1",
               "order_title": title, "amount": "1.23"})
    };
    let page_pay = hongbao_protocol::method::PAGE_PAY;
    let app_pay = hongbao_protocol::method::APP_PAY;
    let ops = vec![
        json!({"op": "page_execute", "method": page_pay, "biz_content": biz("aes-page", "加密红包"),
               "return_url": "http://127.0.0.1:1/return", "http_method": "GET"}),
        json!({"op": "sdk_execute", "method": app_pay, "biz_content": biz("aes-app", "加密钱包红包")}),
    ];
    let results = combo.run_ops(fixture, gateway, ops, "gateway_public.pem");
    let url = results[0]["page"].as_str().unwrap();
    assert!(url.contains("encrypt_type=AES") && !url.contains("aes-page"), "[{tag}] {url}");
    let (status, location, body) = http(gateway, "GET", url, b"");
    assert_eq!(status, 303, "[{tag}] encrypted page.pay URL: {body}");
    let (status, _, page) = http(gateway, "GET", &location, b"");
    assert_eq!(status, 200, "[{tag}] cashier: {page}");
    assert!(page.contains("加密红包") && page.contains("1.23"), "[{tag}] cashier shows: {page}");

    let order_string = results[1]["order_string"].as_str().unwrap();
    assert!(order_string.contains("encrypt_type=AES"), "[{tag}] {order_string}");
    let encoded: String =
        order_string
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    let (status, _, page) = http(gateway, "GET", &format!("/wallet?order_string={encoded}"), b"");
    assert_eq!(status, 200, "[{tag}] encrypted app.pay order string: {page}");
    assert!(page.contains("加密钱包红包") && page.contains("name=\"auth_no\""), "[{tag}] {page}");
    eprintln!("interop_sdks: [{tag}] encryption: clear 40003, page.pay and app.pay decrypted");
}

/// A receiver that answers `success` to every POST and hands over each body with its
/// Content-Type.
fn notify_receiver() -> (String, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let (mut length, mut content_type) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("content-type:") {
                    content_type = line["content-type:".len()..].trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess",
                );
                let _ = sender.send((content_type, body));
            }
        }
    });
    (url, receiver)
}

/// Decodes a captured notification into its parameters (strings, in the declared charset).
fn notification_params(
    content_type: &str,
    body: &[u8],
) -> (String, serde_json::Map<String, Value>) {
    let label = content_type.split("charset=").nth(1).expect("charset declared").to_owned();
    let charset = hongbao_protocol::Charset::parse(&label).expect("known charset");
    let mut params = serde_json::Map::new();
    for (key, value) in hongbao_protocol::form::parse_form(body).expect("form") {
        let key = charset.decode(&key).expect("key");
        params.insert(key, Value::String(charset.decode(&value).expect("value")));
    }
    (label, params)
}

/// The official SDKs' own notify verification accepts hongbao's notifications (and refuses a
/// tampered one): Node `checkNotifySign` and `checkNotifySignV2`, the official Python SDK's
/// documented recipe, python-alipay-sdk's `verify`; for utf-8 and GBK, RSA2 and RSA.
#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_sdks_verify_hongbao_notifications() {
    if !sdks_ready() {
        return;
    }
    let fixture = Fixture::new();
    let server = Server::start(&fixture);
    let (notify_url, captured) = notify_receiver();
    for (charset, sign_type) in [("utf-8", "RSA2"), ("GBK", "RSA2"), ("utf-8", "RSA")] {
        let maker = Combo { sdk: Sdk::PyOfficial, charset, sign_type, cert: false, encrypt: false };
        let tag = format!("notify-{}", maker.tag());
        let execute = |method: &str, biz: Value| json!({"op": "execute", "method": method, "biz_content": biz, "notify_url": notify_url});
        let pay = maker.run_ops(
            &fixture,
            &server.url,
            vec![execute(
                PAY,
                json!({"out_order_no": format!("{tag}-p"), "out_request_no": "pay1",
                "order_title": PACKET_TITLE, "amount": "10.00", "payer_user_id": MERCHANT}),
            )],
            "gateway_public.pem",
        );
        let auth_no = text(verified_node(&pay[0], &tag), "auth_no", &tag).to_owned();
        let moves = maker.run_ops(
            &fixture,
            &server.url,
            vec![
                execute(
                    DISBURSE,
                    json!({"out_order_no": format!("{tag}-d"), "deduct_auth_no": auth_no,
                    "out_request_no": "d1", "order_title": DISBURSE_TITLE, "amount": "1.00",
                    "payee_logon_id": USER_A_LOGON}),
                ),
                execute(
                    REFUND,
                    json!({"auth_no": auth_no, "out_request_no": "r1", "amount": "2.00",
                    "remark": REFUND_REMARK}),
                ),
            ],
            "gateway_public.pem",
        );
        assert!(moves.iter().all(|r| r["ok"] == json!(true)), "[{tag}] {moves:?}");
        let mut notifications = Vec::new();
        for _ in 0..3 {
            let (content_type, body) =
                captured.recv_timeout(Duration::from_secs(20)).expect("a notification arrives");
            notifications.push(notification_params(&content_type, &body));
        }
        let types: Vec<&str> =
            notifications.iter().map(|(_, p)| p["notify_type"].as_str().unwrap_or("")).collect();
        for expected in [
            "fund_stdtrustee_pay.success",
            "fund_stdtrustee_disburse.success",
            "fund_stdtrustee_refund.success",
        ] {
            assert!(types.contains(&expected), "[{tag}] {types:?}");
        }
        for (label, params) in &notifications {
            assert!(label.eq_ignore_ascii_case(charset), "[{tag}] notify charset {label}");
            let mut tampered = params.clone();
            tampered.insert("amount".into(), json!("999.00"));
            let sdks: &[Sdk] = if charset == "GBK" {
                &[Sdk::PyOfficial]
            } else {
                &[Sdk::PyOfficial, Sdk::PyFzlee, Sdk::Node]
            };
            for sdk in sdks {
                let verifier = Combo { sdk: *sdk, charset, sign_type, cert: false, encrypt: false };
                let results = verifier.run_ops(
                    &fixture,
                    &server.url,
                    vec![
                        json!({"op": "verify_notify", "params": params}),
                        json!({"op": "verify_notify", "params": tampered}),
                    ],
                    "gateway_public.pem",
                );
                let what = format!("[{tag}] {sdk:?} on {}", params["notify_type"]);
                assert_eq!(results[0]["verified"], json!(true), "{what}: {}", results[0]);
                assert_eq!(
                    results[1]["verified"],
                    json!(false),
                    "{what} accepted a tampered notify: {}",
                    results[1]
                );
                if matches!(sdk, Sdk::Node) {
                    assert_eq!(results[0]["verified_v1"], json!(true), "{what}: checkNotifySign");
                    assert_eq!(results[0]["verified_v2"], json!(true), "{what}: checkNotifySignV2");
                }
            }
        }
        eprintln!("interop_sdks: [{tag}] 3 notifications verified by the official SDKs");
    }
}

/// Pays an `alipay.fund.trans.app.pay` order string in the wallet as `login`; the wallet's JSON.
fn wallet_pay(gateway: &str, order_string: &str, login: &str) -> Value {
    let encoded: String =
        order_string
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    let (status, _, page) = http(gateway, "GET", &format!("/wallet?order_string={encoded}"), b"");
    assert_eq!(status, 200, "the wallet opens the order string: {page}");
    let auth_no = page
        .split("name=\"auth_no\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("the wallet shows the send: {page}"));
    let mut form = hongbao_protocol::Params::new();
    for (key, value) in [
        ("auth_no", auth_no),
        ("login", login),
        ("password", "111111"),
        ("action", "pay"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
    ] {
        form.insert(key, value);
    }
    let body = form.to_form(hongbao_protocol::Charset::Utf8).unwrap();
    let (status, _, answer) =
        http_with(gateway, "POST", "/wallet/pay", &body, "Accept: application/json\r\n");
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).unwrap_or_else(|_| panic!("the wallet answers JSON: {answer}"))
}

/// Today's product through the official SDKs (`STD_RED_PACKET` over `alipay.fund.trans.*`): the
/// official Python SDK's `AlipayFundTrans*Request` classes and the Node SDK's `sdkExecute` /
/// `exec`, response verification on. A send built with sdkExecute is paid in the wallet by its
/// bound payer, claimed twice (by user id with the real name, by logon id), partly returned,
/// looked up by every query path, and its rest returned automatically when the sandbox clock
/// passes the default 48 h; every `alipay.fund.trans.order.changed` message reaches the app's
/// message_url and verifies with the SDKs' own notify verification (a tampered one does not).
#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn official_sdks_run_the_std_red_packet_flow() {
    use hongbao_protocol::method::{
        TRANS_APP_PAY, TRANS_COMMON_QUERY, TRANS_REFUND, TRANS_UNI_TRANSFER,
    };
    if !sdks_ready() {
        return;
    }
    let (message_url, captured) = notify_receiver();
    let fixture = Fixture::with_messages(Some(&message_url));
    let server = Server::start(&fixture);
    let mut messages: Vec<Value> = Vec::new();
    for sdk in [Sdk::PyOfficial, Sdk::Node] {
        let combo = Combo { sdk, charset: "utf-8", sign_type: "RSA2", cert: false, encrypt: false };
        let tag = combo.tag();
        let out_biz_no = format!("{tag}-send");
        let send = json!({
            "out_biz_no": out_biz_no, "trans_amount": "100.00", "product_code": "STD_RED_PACKET",
            "biz_scene": "PERSONAL_PAY", "order_title": "拼手气红包",
            "business_params": {"sub_biz_scene": "REDPACKET", "payer_binded_alipay_uid": USER_B},
        });
        let made = combo.run_ops(
            &fixture,
            &server.url,
            vec![json!({"op": "sdk_execute", "method": TRANS_APP_PAY, "biz_content": send})],
            "gateway_public.pem",
        );
        let order_string = made[0]["order_string"].as_str().expect("order string").to_owned();
        let paid = wallet_pay(&server.url, &order_string, USER_B_LOGON);
        assert_eq!(paid["resultStatus"], json!("9000"), "[{tag}] {paid}");
        let result = paid["result"].as_str().expect("result");
        let node: Value = serde_json::from_str::<Value>(result).unwrap()
            ["alipay_fund_trans_app_pay_response"]
            .clone();
        assert_eq!(node["status"], json!("SUCCESS"), "[{tag}] {paid}");
        let order_id = node["order_id"].as_str().expect("order_id").to_owned();

        let claim = |no: &str, amount: &str, payee: Value| {
            json!({"op": "execute", "method": TRANS_UNI_TRANSFER, "biz_content": {
                "out_biz_no": format!("{tag}-{no}"), "trans_amount": amount,
                "product_code": "STD_RED_PACKET", "biz_scene": "PERSONAL_COLLECTION",
                "original_order_id": order_id, "order_title": "红包领取", "payee_info": payee,
                "business_params": {"sub_biz_scene": "REDPACKET"}}})
        };
        let query =
            |biz: Value| json!({"op": "execute", "method": TRANS_COMMON_QUERY, "biz_content": biz});
        let results = combo.run_ops(
            &fixture,
            &server.url,
            vec![
                claim("c1", "30.00", json!({"identity": USER_A, "identity_type": "ALIPAY_USER_ID", "name": USER_A_NAME})),
                claim("c2", "50.00", json!({"identity": USER_B_LOGON, "identity_type": "ALIPAY_LOGON_ID", "name": "李四"})),
                claim("c3", "20.01", json!({"identity": USER_A, "identity_type": "ALIPAY_USER_ID"})),
                json!({"op": "execute", "method": TRANS_REFUND, "biz_content": {
                    "order_id": order_id, "out_request_no": format!("{tag}-r1"),
                    "refund_amount": "10.00", "remark": "红包退回"}}),
                query(json!({"order_id": order_id})),
                query(json!({"out_biz_no": out_biz_no, "product_code": "STD_RED_PACKET", "biz_scene": "PERSONAL_PAY"})),
                query(json!({"out_biz_no": format!("{tag}-c2"), "product_code": "STD_RED_PACKET", "biz_scene": "PERSONAL_COLLECTION"})),
                query(json!({"out_biz_no": format!("{tag}-r1"), "product_code": "STD_RED_PACKET", "biz_scene": "REFUND"})),
            ],
            "gateway_public.pem",
        );
        let node = |index: usize| verified_node(&results[index], &tag).clone();
        assert_eq!(node(0)["status"], json!("SUCCESS"), "[{tag}] claim 1: {}", results[0]);
        assert_eq!(node(1)["status"], json!("SUCCESS"), "[{tag}] claim 2: {}", results[1]);
        expect_business_error(&results[2], "PAYMENT_MONEY_NOT_ENOUGH", &tag);
        assert_eq!(node(3)["refund_amount"], json!("10.00"), "[{tag}] return: {}", results[3]);
        let send_query = node(4);
        assert_eq!(send_query["status"], json!("SUCCESS"), "[{tag}] {send_query}");
        assert_eq!(send_query["trans_amount"], json!("100.00"));
        assert_eq!(node(5)["order_id"], json!(order_id), "[{tag}] by out_biz_no");
        assert_eq!(node(6)["receiver_user_id"], json!(USER_B), "[{tag}] the logon id claim");
        assert_eq!(node(7)["pay_fund_order_id"], node(3)["refund_order_id"], "[{tag}] the return");
        let by_fund = combo.run_ops(
            &fixture,
            &server.url,
            vec![query(json!({"pay_fund_order_id": send_query["pay_fund_order_id"]}))],
            "gateway_public.pem",
        );
        assert_eq!(verified_node(&by_fund[0], &tag)["order_id"], json!(order_id));

        // The rest (100 − 30 − 50 − 10) goes back when the clock passes the default 48 h.
        let (status, _, body) = http_with(
            &server.url,
            "POST",
            "/sandbox/clock/advance",
            b"by=49h",
            &format!("Authorization: Bearer {CLOCK_TOKEN}\r\n"),
        );
        assert_eq!(status, 200, "[{tag}] clock: {body}");
        let mut mine = 0;
        while mine < 5 {
            let (content_type, body) = captured
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("[{tag}] {mine} of 5 messages arrived: {messages:?}"));
            let (_, params) = notification_params(&content_type, &body);
            let content: Value =
                serde_json::from_str(params["biz_content"].as_str().unwrap_or("")).unwrap();
            if content["order_id"] == json!(order_id)
                || content["out_biz_no"].as_str().unwrap_or("").starts_with(&tag)
            {
                mine += 1;
            }
            messages.push(json!({"params": params, "content": content}));
        }
        let expired = messages.iter().find(|m| {
            m["content"]["order_id"] == json!(order_id)
                && m["content"]["out_biz_no"] == json!("EXPIRE_REFUND")
        });
        let expired =
            expired.unwrap_or_else(|| panic!("[{tag}] no automatic return: {messages:?}"));
        assert_eq!(expired["content"]["trans_amount"], json!("10.00"), "[{tag}]");
        eprintln!("interop_sdks: [{tag}] STD_RED_PACKET flow ok");
    }
    // Every message verifies with every SDK's own notify verification; a tampered one does not.
    for message in &messages {
        let params = &message["params"];
        assert_eq!(params["msg_method"], json!("alipay.fund.trans.order.changed"));
        let mut tampered = params.clone();
        tampered["biz_content"] =
            json!(params["biz_content"].as_str().unwrap().replace("SUCCESS", "FAIL"));
        for sdk in [Sdk::PyOfficial, Sdk::Node] {
            let verifier =
                Combo { sdk, charset: "utf-8", sign_type: "RSA2", cert: false, encrypt: false };
            let results = verifier.run_ops(
                &fixture,
                &server.url,
                vec![
                    json!({"op": "verify_notify", "params": params}),
                    json!({"op": "verify_notify", "params": tampered}),
                ],
                "gateway_public.pem",
            );
            assert_eq!(results[0]["verified"], json!(true), "{sdk:?}: {message}");
            assert_eq!(results[1]["verified"], json!(false), "{sdk:?} accepted a tampered message");
        }
    }
}

#[test]
fn scenario_checks_accept_and_refuse_what_they_should() {
    // The helpers above decide pass or fail for every SDK answer; pin their edges.
    assert!(is_datetime("2024-02-29 23:59:59"));
    assert!(!is_datetime("2024-02-29T23:59:59"));
    assert!(!is_datetime("2024-2-29 23:59:59"));
    assert!(all_digits("2014021601002000640012345678", 28));
    assert!(!all_digits("201402160100200064001234567x", 28));
    assert_eq!(fen("100.00"), 10_000);
    assert_eq!(fen_text(100_000_000 - 5_000 * 4), "999800.00");
    let signed_error = json!({"ok": true, "response": {"code": "40004", "sub_code": "MONEY_NOT_ENOUGH", "sub_msg": "x"}});
    expect_business_error(&signed_error, "MONEY_NOT_ENOUGH", "sample");
}

// ---------------------------------------------------------------------------------------------
// The README's unmodified Python snippet, on port 80 and over TLS on 443
// ---------------------------------------------------------------------------------------------

/// The README's "Try it in 30 seconds" block, as written there.
fn readme_python_snippet() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let marker = "```python\n# The unmodified official Python SDK against the demo";
    let start =
        readme.find(marker).expect("the README's unmodified Python block") + "```python\n".len();
    let end = start + readme[start..].find("\n```").expect("the block ends");
    readme[start..end].to_owned()
}

/// Why ports 80 and 443 of 127.0.0.1 cannot be bound here, if they cannot.
fn low_ports_unavailable() -> Option<String> {
    for port in [80, 443] {
        if let Err(err) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return Some(format!("cannot bind 127.0.0.1:{port} ({err}); run as root or lower net.ipv4.ip_unprivileged_port_start"));
        }
    }
    None
}

/// The official Python SDK dials 80 or 443 whatever the port of its `server_url`; the README
/// tells a merchant to serve those ports instead of patching the SDK. This runs the README's
/// block byte for byte against the demo on port 80, then over TLS on 443 with the URL turned
/// to `https://localhost/gateway.do` and the sandbox CA trusted through `SSL_CERT_FILE`, and
/// checks that without the CA the SDK refuses the connection (the certificate really is
/// checked). Needs root (CI runs as root); elsewhere it skips with the reason.
#[test]
#[cfg_attr(
    hongbao_no_interop,
    ignore = "SKIPPED: needs node and python3 (the official SDKs, interop/setup.sh)"
)]
fn the_readme_python_snippet_runs_unmodified_on_port_80_and_over_tls_on_443() {
    if !sdks_ready() {
        return;
    }
    if let Some(reason) = low_ports_unavailable() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the port 80/443 interop test cannot run under CI=true: {reason}");
        }
        eprintln!("SKIP the_readme_python_snippet_runs_unmodified_on_port_80_and_over_tls_on_443: {reason}");
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hongbao"));
    command
        .args(["serve", "--listen", "127.0.0.1:80", "--listen-tls", "127.0.0.1:443"])
        .current_dir(folder.path())
        .env_remove("HONGBAO_LISTEN")
        .env_remove("HONGBAO_LISTEN_TLS")
        .env_remove("HONGBAO_DATABASE")
        .env("HONGBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let demo = hongbao_test_support::ServerProcess::spawn(command);
    let banner = &demo.banner;
    assert_eq!(banner[0], "hongbao gateway listening on http://127.0.0.1:80/gateway.do");
    assert!(
        banner[1].starts_with("hongbao gateway also on https://127.0.0.1:443/gateway.do"),
        "{}",
        banner[1]
    );

    let snippet = readme_python_snippet();
    let http_url = "\"http://127.0.0.1/gateway.do\"";
    assert!(snippet.contains(http_url), "the snippet names the portless URL: {snippet}");
    let python = interop_dir().join("venv-official/bin/python");
    let run = |code: &str, ca: Option<&std::path::Path>| {
        let mut command = Command::new(&python);
        command.arg("-c").arg(code).current_dir(folder.path()).env_remove("SSL_CERT_FILE");
        if let Some(ca) = ca {
            command.env("SSL_CERT_FILE", ca);
        }
        let (sender, received) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(command.stdin(Stdio::null()).output());
        });
        received
            .recv_timeout(RUNNER_TIMEOUT)
            .expect("the README's Python snippet finished in time")
            .expect("python runs")
    };
    let verified = |output: &std::process::Output, what: &str| {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{what}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // execute() returned the node only after the SDK verified its signature.
        let node: Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{what}: {stdout}"));
        assert_eq!(node["code"], "10000", "{what}: {node}");
        assert!(all_digits(node["auth_no"].as_str().unwrap_or(""), 28), "{what}: {node}");
        assert_eq!(node["amount"], "100.00", "{what}: {node}");
    };
    verified(&run(&snippet, None), "port 80");

    let tls = snippet.replace(http_url, "\"https://localhost/gateway.do\"");
    let ca = folder.path().join("hongbao-data/certs/sandbox_ca.crt");
    verified(&run(&tls, Some(&ca)), "TLS on 443 with the sandbox CA trusted");
    let refused = run(&tls, None);
    assert!(
        !refused.status.success(),
        "without the sandbox CA the SDK must refuse the certificate"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("CERTIFICATE_VERIFY_FAILED"), "{stderr}");
}

//! Dev-only test support: an in-process gateway on port 0 with a fresh SQLite file, a signing client
//! that speaks raw HTTP/1.1 (so tests control every byte), and envelope verification.

// Test code: an expectation that fails is the test failing, so unwrap and expect are the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hongbao_gateway::reqlog::RequestLog;
use hongbao_gateway::{
    App, AppCertificate, AppCredential, Gateway, GatewayCerts, Limits, ManualClock,
};
use hongbao_money::Fen;
use hongbao_protocol::encryption::{encrypt_biz_content, EncryptKey, ENCRYPT_TYPE};
use hongbao_protocol::envelope::{find_signed_node, response_key, ERROR_RESPONSE_KEY};
use hongbao_protocol::sign_content::sign_request;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_sign::cert::ec_root_pem;
use hongbao_sign::{Authority, Certificate, PrivateKey, PublicKey, RootBundle, Subject};
use hongbao_store::{Retention, SandboxUser, SqliteStore, Store};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const APP_A: &str = "2021000000000001";
pub const APP_B: &str = "2021000000000002";
/// A certificate-mode app (公钥证书模式), paying from MERCHANT_A's account like APP_A.
pub const APP_C: &str = "2021000000000003";
pub const MERCHANT_A: &str = "2088100000000001";
pub const MERCHANT_B: &str = "2088100000000002";
pub const ALICE: &str = "2088100000000003";
pub const ALICE_LOGON: &str = "alice@example.com";
/// Alice's real name (a fund.trans payee's `name` is checked against it).
pub const ALICE_NAME: &str = "王小红";
pub const BOB: &str = "2088100000000004";
pub const BOB_LOGON: &str = "13800138000";
pub const MERCHANT_BALANCE: i64 = 100_000_000; // 1,000,000.00
/// The sandbox clock control's token in `spawn_app`.
pub const SANDBOX_TOKEN: &str = "test-sandbox-token";
/// APP_A's AES content-encryption key (AES-128, as Alipay issues them).
pub const APP_A_ENCRYPT_KEY: &str = "cW8mcZgoMGUVp5g7uv7bHw==";
/// APP_C's (certificate mode): AES-256, the longest key the SDKs take. APP_B has none.
pub const APP_C_ENCRYPT_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// An `encrypt_key` text as a key.
pub fn encrypt_key(text: &str) -> EncryptKey {
    EncryptKey::from_base64(text).expect("test encrypt key")
}
/// The sandbox console's token in `spawn_app_console`.
pub const CONSOLE_TOKEN: &str = "test-console-token-0123";

const VECTOR_PRIVATE: &str = include_str!("../../sign/testdata/vector_private_pkcs1.pem");

pub fn app_a_key() -> PrivateKey {
    PrivateKey::from_text(VECTOR_PRIVATE).expect("vector key")
}

fn generated(slot: &'static OnceLock<PrivateKey>) -> PrivateKey {
    slot.get_or_init(|| PrivateKey::generate(2048).expect("generate")).clone()
}

pub fn app_b_key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    generated(&KEY)
}

pub fn gateway_key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    generated(&KEY)
}

pub fn stranger_key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    generated(&KEY)
}

pub fn app_c_key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    generated(&KEY)
}

/// Validity of every test certificate: 2023-11 to 2036-07, around both the wall clock and the
/// tests' manual clock.
pub const CERT_VALID_FROM: i64 = 1_700_000_000;
pub const CERT_VALID_TO: i64 = 2_100_000_000;

pub fn cert_subject(common_name: &str) -> Subject<'_> {
    Subject {
        common_name,
        organizational_unit: "Certification Authority",
        organization: "hongbao test",
        country: "CN",
    }
}

/// The tests' certificate authority (the sandbox's Alipay CA).
pub fn test_ca() -> &'static Authority {
    static CA: OnceLock<Authority> = OnceLock::new();
    CA.get_or_init(|| {
        let key = PrivateKey::generate(2048).expect("generate");
        Authority::new_root(
            cert_subject("hongbao Test Root CA"),
            &key,
            CERT_VALID_FROM,
            CERT_VALID_TO,
        )
        .expect("root")
    })
}

/// Another CA, trusted by nobody here.
pub fn foreign_ca() -> &'static Authority {
    static CA: OnceLock<Authority> = OnceLock::new();
    CA.get_or_init(|| {
        let key = PrivateKey::generate(2048).expect("generate");
        Authority::new_root(
            cert_subject("Somebody Else's CA"),
            &key,
            CERT_VALID_FROM,
            CERT_VALID_TO,
        )
        .expect("root")
    })
}

/// The root bundle (alipayRootCert.crt): the test CA, then an EC root, a blank line between.
pub fn root_bundle_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let ec = ec_root_pem(cert_subject("hongbao Test EC Root"), CERT_VALID_FROM, CERT_VALID_TO)
            .expect("ec root");
        format!(
            "{}
{}",
            test_ca().certificate().to_pem().expect("pem").trim_end(),
            ec
        )
        .replacen(
            "-----END CERTIFICATE-----
",
            "-----END CERTIFICATE-----

",
            1,
        )
    })
}

pub fn root_bundle() -> RootBundle {
    RootBundle::from_pem(root_bundle_pem()).expect("bundle")
}

/// The gateway key's certificate (alipayCertPublicKey_RSA2.crt).
pub fn gateway_cert() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let key = gateway_key().public_key().expect("public");
        test_ca()
            .issue(cert_subject("hongbao test gateway"), &key, CERT_VALID_FROM, CERT_VALID_TO)
            .expect("issued")
    })
}

/// APP_C's certificate (appCertPublicKey_2021000000000003.crt).
pub fn app_c_cert() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let key = app_c_key().public_key().expect("public");
        test_ca().issue(cert_subject(APP_C), &key, CERT_VALID_FROM, CERT_VALID_TO).expect("issued")
    })
}

/// The gateway's certificate-mode state of `spawn_app`.
pub fn gateway_certs() -> GatewayCerts {
    GatewayCerts::new(root_bundle(), gateway_cert().clone(), &[]).expect("gateway certs")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: SqliteStore,
    pub clock: Arc<ManualClock>,
    pub gateway: Arc<Gateway>,
    pub dir: tempfile::TempDir,
    /// A stepped app's notifier, driven one `notify_round` at a time.
    pub notifier: Option<hongbao_gateway::notify::Notifier>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server loop and the background workers, joined by `stop`.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub fn test_limits() -> Limits {
    Limits {
        header_read_timeout: std::time::Duration::from_millis(500),
        body_read_timeout: std::time::Duration::from_millis(1000),
        ..Limits::default()
    }
}

/// Fast polling and short timeouts, so notify tests run in milliseconds of real time.
pub fn test_notify_config() -> hongbao_gateway::notify::NotifyConfig {
    hongbao_gateway::notify::NotifyConfig {
        attempt_timeout: std::time::Duration::from_millis(500),
        concurrency_max: 8,
        per_app_max: 4,
        lease_ms: 60_000,
        poll_interval: std::time::Duration::from_millis(20),
    }
}

/// How a test app runs its notify worker and deadline scheduler.
#[derive(Clone, Debug)]
pub enum Workers {
    /// In the background, polling (the notify worker with this configuration).
    Background(hongbao_gateway::notify::NotifyConfig),
    /// Not at all on their own: the test drives them one step at a time (`notify_round`,
    /// `fire_deadlines`), so it can assert that a step did nothing.
    Stepped,
}

/// Everything `spawn_app_with_options` may vary.
#[derive(Clone, Debug)]
pub struct AppOptions {
    pub limits: Limits,
    /// APP_A's application gateway (`message_url`) for fund.trans messages.
    pub message_url: Option<String>,
    pub workers: Workers,
    pub destinations: hongbao_gateway::destination::DestinationPolicy,
    /// `[sandbox] list_users`: the payer pages list the sandbox accounts.
    pub list_users: bool,
    /// The sandbox console on (`CONSOLE_TOKEN`) and the request log written.
    pub console: bool,
}

impl Default for AppOptions {
    fn default() -> AppOptions {
        AppOptions {
            limits: test_limits(),
            message_url: None,
            workers: Workers::Background(test_notify_config()),
            destinations: Default::default(),
            list_users: false,
            console: false,
        }
    }
}

/// `spawn_app` with the sandbox console on (`CONSOLE_TOKEN`) and the request log written.
pub async fn spawn_app_console() -> TestApp {
    let options = AppOptions { console: true, ..AppOptions::default() };
    spawn_app_with_options(tempfile::tempdir().expect("tempdir"), options).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("tempdir")).await
}

/// `spawn_app` with other limits.
pub async fn spawn_app_with(limits: Limits) -> TestApp {
    let options = AppOptions { limits, ..AppOptions::default() };
    spawn_app_with_options(tempfile::tempdir().expect("tempdir"), options).await
}

pub async fn spawn_app_in(dir: tempfile::TempDir) -> TestApp {
    spawn_app_with_options(dir, AppOptions::default()).await
}

/// `spawn_app` whose workers run only when the test steps them.
pub async fn spawn_app_stepped() -> TestApp {
    spawn_app_stepped_in(tempfile::tempdir().expect("tempdir")).await
}

/// `spawn_app_stepped` on an existing data folder (a restart).
pub async fn spawn_app_stepped_in(dir: tempfile::TempDir) -> TestApp {
    spawn_app_with_options(dir, AppOptions { workers: Workers::Stepped, ..AppOptions::default() })
        .await
}

/// `spawn_app` whose APP_A and APP_C (the certificate-mode app) have an application gateway
/// (`message_url`) for fund.trans messages.
pub async fn spawn_app_messaging(message_url: &str) -> TestApp {
    let options = AppOptions { message_url: Some(message_url.to_owned()), ..AppOptions::default() };
    spawn_app_with_options(tempfile::tempdir().expect("tempdir"), options).await
}

pub async fn spawn_app_with_options(dir: tempfile::TempDir, options: AppOptions) -> TestApp {
    let AppOptions { limits, message_url, workers, destinations, list_users, console } = options;
    let mut login_users = Vec::new();
    let store = SqliteStore::open(&dir.path().join("hongbao.db")).expect("store opens");
    let now_ms = 1_795_000_000_000; // 2026-11-18
    for (user_id, logon_id, balance, real_name) in [
        (MERCHANT_A, "merchant-a@example.com", MERCHANT_BALANCE, None),
        (MERCHANT_B, "merchant-b@example.com", MERCHANT_BALANCE, None),
        (ALICE, ALICE_LOGON, 0, Some(ALICE_NAME)),
        (BOB, BOB_LOGON, 0, None),
    ] {
        if list_users {
            login_users.push((user_id.to_owned(), logon_id.to_owned()));
        }
        store
            .ensure_user(
                SandboxUser {
                    user_id: user_id.into(),
                    logon_id: logon_id.into(),
                    password: "111111".into(),
                    opening_balance: Fen::from_fen(balance),
                    real_name: real_name.map(str::to_owned),
                },
                now_ms,
            )
            .await
            .expect("user");
    }
    let public = |key: PrivateKey| AppCredential::PublicKey(key.public_key().expect("public"));
    let certified =
        AppCredential::Certificate(AppCertificate::new(app_c_cert().clone()).expect("app cert"));
    let apps = [
        (APP_A, MERCHANT_A, public(app_a_key()), Some(APP_A_ENCRYPT_KEY)),
        (APP_B, MERCHANT_B, public(app_b_key()), None),
        (APP_C, MERCHANT_A, certified, Some(APP_C_ENCRYPT_KEY)),
    ]
    .into_iter()
    .map(|(app_id, merchant, credential, aes)| {
        (
            app_id.to_owned(),
            App {
                app_id: app_id.into(),
                name: format!("shop {app_id}"),
                credential,
                merchant_user_id: merchant.into(),
                message_url: if app_id == APP_B { None } else { message_url.clone() },
                encrypt_key: aes.map(encrypt_key),
            },
        )
    })
    .collect();
    let clock = Arc::new(ManualClock::new(now_ms));
    let mut gateway = Gateway::new(apps, gateway_key(), Arc::new(store.clone()), clock.clone());
    gateway.set_limits(limits.clone());
    gateway.sandbox.clock_token = Some(SANDBOX_TOKEN.to_owned());
    gateway.sandbox.login_users = login_users;
    gateway.certs = Some(gateway_certs());
    gateway.destinations = Arc::new(destinations);
    let request_log = console.then(|| {
        gateway.sandbox.console_token = Some(CONSOLE_TOKEN.to_owned());
        let (log, receiver) = RequestLog::on(Retention::default());
        gateway.request_log = log;
        receiver
    });
    let gateway = Arc::new(gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let router = gateway.router();
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut notifier = None;
    if let Some(receiver) = request_log {
        tasks.push(tokio::spawn(hongbao_gateway::reqlog::run(
            Arc::clone(&gateway),
            receiver,
            workers_stopped.clone(),
        )));
    }
    match workers {
        Workers::Background(config) => {
            tasks.push(tokio::spawn(hongbao_gateway::scheduler::run(
                Arc::clone(&gateway),
                std::time::Duration::from_millis(20),
                workers_stopped.clone(),
            )));
            tasks.push(tokio::spawn(hongbao_gateway::notify::run(
                Arc::clone(&gateway),
                config,
                workers_stopped,
            )));
        }
        Workers::Stepped => {
            let stepped =
                hongbao_gateway::notify::Notifier::new(Arc::clone(&gateway), test_notify_config())
                    .expect("notifier");
            notifier = Some(stepped);
        }
    }
    tasks.push(tokio::spawn(async move {
        let _ = hongbao_gateway::server::serve(listener, router, limits, async {
            let _ = stop.await;
        })
        .await;
        let _ = stop_workers.send(true);
    }));
    TestApp { addr, store, clock, gateway, dir, notifier, shutdown: Some(shutdown), tasks }
}

/// Percent-encodes like the official Python SDK (`quote_plus` in the charset).
pub fn form_encode(params: &Params, charset: Charset) -> Vec<u8> {
    params.to_form(charset).expect("encodable")
}

pub fn encode_component(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &byte in bytes {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{byte:02X}").as_bytes()),
        }
    }
    out
}

/// A request under construction: common params filled in for app A, RSA2, utf-8.
#[derive(Clone)]
pub struct Call {
    pub params: Params,
    pub charset: Charset,
    pub sign_type: SignType,
    pub key: PrivateKey,
    /// Content encryption: `biz_content` is encrypted with it when signed, and the answer
    /// decrypted with it.
    pub encrypt: Option<EncryptKey>,
}

impl Call {
    pub fn new(method: &str, biz_content: &str) -> Call {
        let mut params = Params::new();
        params.insert("app_id", APP_A);
        params.insert("method", method);
        params.insert("format", "JSON");
        params.insert("charset", "utf-8");
        params.insert("sign_type", "RSA2");
        params.insert("timestamp", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
        params.insert("version", "1.0");
        params.insert("biz_content", biz_content);
        Call {
            params,
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            key: app_a_key(),
            encrypt: None,
        }
    }

    /// Encrypts the call as an SDK with `encrypt_key` does: `encrypt_type=AES`, `biz_content`
    /// encrypted in the call's charset at signing time.
    pub fn encrypted(mut self, key: EncryptKey) -> Call {
        self.params.insert(ENCRYPT_TYPE, "AES");
        self.encrypt = Some(key);
        self
    }

    pub fn app(mut self, app_id: &str, key: PrivateKey) -> Call {
        self.params.insert("app_id", app_id);
        self.key = key;
        self
    }

    /// As APP_C, in certificate mode: its key and both SNs, as an SDK configured with the three
    /// certificate files sends them.
    pub fn cert_app(self) -> Call {
        self.app(APP_C, app_c_key())
            .param("app_cert_sn", app_c_cert().sn())
            .param("alipay_root_cert_sn", root_bundle().sn())
    }

    pub fn charset(mut self, charset: Charset, label: &str) -> Call {
        self.params.insert("charset", label);
        self.charset = charset;
        self
    }

    pub fn sign_type(mut self, sign_type: SignType) -> Call {
        self.params.insert("sign_type", sign_type.as_str());
        self.sign_type = sign_type;
        self
    }

    pub fn param(mut self, key: &str, value: &str) -> Call {
        self.params.insert(key, value);
        self
    }

    /// The signed parameter set.
    pub fn signed(&self) -> Params {
        let mut params = self.params.clone();
        if let (Some(key), Some(biz)) = (&self.encrypt, self.params.get("biz_content")) {
            let sealed = encrypt_biz_content(key, biz, self.charset).expect("encrypts");
            params.insert("biz_content", sealed);
        }
        let sign = sign_request(&params, self.charset, self.sign_type, &self.key).expect("signs");
        params.insert("sign", sign);
        params
    }

    /// The signed form body.
    pub fn body(&self) -> Vec<u8> {
        form_encode(&self.signed(), self.charset)
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads one response (the request should say `Connection: close`).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut bytes = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut bytes))
            .await;
    parse_response(&bytes)
}

/// Like `raw`, but `None` when the server is unreachable or the answer is cut off (a server
/// killed mid-request): the caller retries the identical bytes.
pub async fn try_raw(addr: SocketAddr, request: &[u8]) -> Option<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut bytes = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .ok()?
        .ok()?;
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let response = parse_response(&bytes);
    let declared: Option<usize> = response.header("content-length").and_then(|v| v.parse().ok());
    (declared == Some(bytes.len() - split - 4)).then_some(response)
}

pub fn parse_response(bytes: &[u8]) -> HttpResponse {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("complete head");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpResponse { status, headers, body: bytes[split + 4..].to_vec() }
}

/// GETs `path` (`Connection: close`).
pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

/// The value of one series in Prometheus text (`name{labels}` exactly as rendered), 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

pub fn post_request(path_and_query: &str, body: &[u8], content_type: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// A verified answer: the node as JSON, checked against the gateway public key in the response
/// charset, the way the Java SDK extracts it.
pub struct Answer {
    pub http: HttpResponse,
    pub key: String,
    pub node: serde_json::Value,
    /// The top-level `alipay_cert_sn` (answers to certificate-mode apps).
    pub cert_sn: Option<String>,
    /// The node came encrypted (a JSON string); `node` is its decryption.
    pub encrypted: bool,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.node["code"].as_str().unwrap_or("")
    }
    pub fn sub_code(&self) -> &str {
        self.node["sub_code"].as_str().unwrap_or("")
    }
    pub fn sub_msg(&self) -> &str {
        self.node["sub_msg"].as_str().unwrap_or("")
    }
    pub fn field(&self, name: &str) -> &str {
        self.node[name].as_str().unwrap_or("")
    }
}

/// Decodes and verifies an envelope; panics when it is not a correctly signed one, or when it
/// is encrypted (answers to clear requests never are).
pub fn verify_answer(
    http: HttpResponse,
    method: Option<&str>,
    charset: Charset,
    sign_type: SignType,
) -> Answer {
    verify_answer_with(http, method, charset, sign_type, None)
}

/// `verify_answer` for a request encrypted with `encrypt`: an encrypted node (the signature over
/// the quoted string) is decrypted with it; a clear one is verified as usual.
pub fn verify_answer_with(
    http: HttpResponse,
    method: Option<&str>,
    charset: Charset,
    sign_type: SignType,
    encrypt: Option<&EncryptKey>,
) -> Answer {
    assert_eq!(http.status, 200, "every gateway answer is HTTP 200");
    let content_type = http.header("content-type").unwrap_or("").to_ascii_lowercase();
    assert!(
        content_type.contains(&format!("charset={}", charset.as_str().to_ascii_lowercase())),
        "Content-Type {content_type:?} does not declare {}",
        charset.as_str()
    );
    let text = charset.decode(&http.body).expect("body in the declared charset");
    let key = method.and_then(response_key).unwrap_or_else(|| ERROR_RESPONSE_KEY.to_owned());
    let found = find_signed_node(&text, &key).unwrap_or_else(|| panic!("no {key} node in {text}"));
    let sign = found.sign.clone().expect("every answer is signed");
    let public: PublicKey = gateway_key().public_key().expect("public");
    let node_bytes = charset.encode(found.node).expect("encodable");
    assert!(
        public.verify(sign_type, &node_bytes, &sign),
        "signature does not verify over {}",
        found.node
    );
    // Nothing between the node and "sign" (the official Python SDK's rule); an alipay_cert_sn
    // comes after sign, last.
    let after = &text[text.find(found.node).expect("node") + found.node.len()..];
    assert!(after.starts_with(",\"sign\":\""), "sign must follow the node directly: {after}");
    if let Some(sn) = &found.cert_sn {
        assert!(text.ends_with(&format!(",\"alipay_cert_sn\":\"{sn}\"}}")), "{text}");
    }
    let clear = match (found.ciphertext(), encrypt) {
        (None, _) => found.node.to_owned(),
        (Some(ciphertext), Some(aes)) => {
            let bytes = aes.decrypt(ciphertext).expect("the answer decrypts with the app's key");
            charset.decode(&bytes).expect("the decrypted node is in the request charset")
        }
        (Some(_), None) => panic!("an encrypted answer to a clear request: {text}"),
    };
    let node: serde_json::Value = serde_json::from_str(&clear).expect("node is JSON");
    Answer { http, key, node, cert_sn: found.cert_sn, encrypted: found.encrypted }
}

impl TestApp {
    /// Stops the server and its workers and waits until they have ended (the server after its
    /// open requests, the notify worker after its deliveries in flight), keeping the data folder
    /// for a restart.
    pub async fn stop(self) -> tempfile::TempDir {
        let TestApp { dir, shutdown, tasks, gateway, store, notifier, .. } = self;
        drop(shutdown);
        for task in tasks {
            task.await.expect("a server or worker task panicked");
        }
        drop((notifier, gateway, store));
        dir
    }

    /// A stepped app: claims what is due now, delivers it and waits until every attempt is
    /// recorded; returns how many notifications were claimed (0: nothing was due).
    pub async fn notify_round(&self) -> usize {
        let notifier = self.notifier.as_ref().expect("a stepped app (spawn_app_stepped)");
        notifier.round().await.finish().await
    }

    /// A stepped app: one scheduler tick at the current clock; returns what fired.
    pub async fn fire_deadlines(&self) -> Vec<hongbao_ledger::FiredDeadline> {
        assert!(self.notifier.is_some(), "a stepped app (spawn_app_stepped)");
        hongbao_gateway::scheduler::tick(&self.gateway).await.expect("deadlines fire")
    }

    /// Signs and POSTs `call` (params in the body), returns the verified answer.
    pub async fn send(&self, call: &Call) -> Answer {
        let request = post_request(
            "/gateway.do",
            &call.body(),
            "application/x-www-form-urlencoded;charset=utf-8",
        );
        let http = raw(self.addr, &request).await;
        let method = call.params.get("method").map(str::to_owned);
        verify_answer_with(
            http,
            method.as_deref(),
            call.charset,
            call.sign_type,
            call.encrypt.as_ref(),
        )
    }

    pub async fn call(&self, method: &str, biz_content: &str) -> Answer {
        self.send(&Call::new(method, biz_content)).await
    }

    pub async fn assert_invariants(&self) {
        let snapshot = self.store.snapshot().await.expect("snapshot");
        let violations = hongbao_ledger::check_invariants(&snapshot);
        assert!(violations.is_empty(), "money invariants broken: {violations:?}");
    }

    pub async fn balance(&self, user_id: &str) -> i64 {
        self.store.balance(user_id).await.expect("balance").expect("user exists").fen()
    }

    /// Pays an app.pay order string in the wallet page as `login` (password 111111), as the
    /// payer would in the Alipay app; returns the `result` the wallet hands the app (the signed
    /// response text). Panics when the wallet does not answer 9000.
    pub async fn wallet_pay(&self, order_string: &str, login: &str) -> String {
        let encoded: String =
            encode_component(order_string.as_bytes()).into_iter().map(char::from).collect();
        let page = raw(
            self.addr,
            format!(
                "GET /wallet?order_string={encoded} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        let html = String::from_utf8_lossy(&page.body).into_owned();
        assert_eq!(page.status, 200, "{html}");
        // The order goes back as a browser sends it; the wallet answers in the order's own
        // charset and sign_type (kept with the order since its call).
        let auth_no = html
            .split("name=\"auth_no\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("the wallet shows no order: {html}"))
            .to_owned();
        let form: Params = [
            ("auth_no", auth_no.as_str()),
            ("login", login),
            ("password", "111111"),
            ("action", "pay"),
        ]
        .into_iter()
        .collect();
        let body = form.to_form(Charset::Utf8).expect("form");
        let mut request = post_request("/wallet/pay", &body, "application/x-www-form-urlencoded");
        let at = request.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
        request.splice(at..at, b"\r\nAccept: application/json".iter().copied());
        let http = raw(self.addr, &request).await;
        let answer: serde_json::Value = serde_json::from_slice(&http.body).unwrap_or_else(|_| {
            panic!("the wallet refused: {}", String::from_utf8_lossy(&http.body))
        });
        assert_eq!(answer["resultStatus"], "9000", "{answer}");
        answer["result"].as_str().expect("result").to_owned()
    }
}

// The wire names, defined once in the wire model; PAY and QUERY are the tests' short names.
pub use hongbao_protocol::method::{
    APP_PAY, DISBURSE, NOTIFY_LIST, PAGE_PAY, PAGE_PAY_RETURN, REFUND,
};
pub const PAY: &str = hongbao_protocol::method::AGREEMENT_PAY;
pub const QUERY: &str = hongbao_protocol::method::OPERATION_QUERY;

pub fn pay_biz(out_order_no: &str, amount: &str) -> String {
    format!(
        r#"{{"out_order_no":"{out_order_no}","out_request_no":"pay1","order_title":"红包发放","amount":"{amount}","payer_user_id":"{MERCHANT_A}"}}"#
    )
}

/// Writes a config folder (keys + hongbao.toml) for a `hongbao serve` process with the same
/// apps, keys and users as `spawn_app`. Returns the config path.
pub fn write_server_config(dir: &std::path::Path) -> std::path::PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    std::fs::write(keys.join("gateway_private.pem"), gateway_key().to_pkcs8_pem().expect("pem"))
        .expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        let private = keys.join("gateway_private.pem");
        std::fs::set_permissions(private, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    std::fs::write(
        keys.join("app_a_public.pem"),
        app_a_key().public_key().expect("pk").to_pem().expect("pem"),
    )
    .expect("write");
    std::fs::write(
        keys.join("app_b_public.txt"),
        app_b_key().public_key().expect("pk").to_bare_base64().expect("b64"),
    )
    .expect("write");
    let mut config = String::from(
        "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite://data/hongbao.db\"\ngateway_private_key = \"keys/gateway_private.pem\"\n",
    );
    config.push_str(&format!(
        "[[app]]\napp_id = \"{APP_A}\"\napp_public_key = \"keys/app_a_public.pem\"\nmerchant_user_id = \"{MERCHANT_A}\"\nencrypt_key = \"{APP_A_ENCRYPT_KEY}\"\n\
         [[app]]\napp_id = \"{APP_B}\"\napp_public_key = \"keys/app_b_public.txt\"\nmerchant_user_id = \"{MERCHANT_B}\"\n"
    ));
    for (user_id, logon_id, balance) in [
        (MERCHANT_A, "merchant-a@example.com", "1000000.00"),
        (MERCHANT_B, "merchant-b@example.com", "1000000.00"),
        (ALICE, ALICE_LOGON, "0.00"),
        (BOB, BOB_LOGON, "0.00"),
    ] {
        config.push_str(&format!("[[user]]\nuser_id = \"{user_id}\"\nlogon_id = \"{logon_id}\"\nbalance = \"{balance}\"\n"));
    }
    let path = dir.join("hongbao.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

/// Points a `write_server_config` file at another database (e.g. a PostgreSQL test database).
pub fn use_database(config: &std::path::Path, database_url: &str) {
    let text = std::fs::read_to_string(config).expect("config");
    let replaced = text.replace(
        "database = \"sqlite://data/hongbao.db\"",
        &format!("database = \"{database_url}\""),
    );
    assert!(replaced.contains(database_url), "the config names the database");
    std::fs::write(config, replaced).expect("config");
}

/// A running `hongbao serve` process; killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// The `/metrics` listener, when the config has `[metrics] listen`.
    pub metrics_addr: Option<SocketAddr>,
    /// The start-up banner as printed, up to its last line (the one about the request log).
    pub banner: Vec<String>,
}

/// Appends `[metrics] listen = "127.0.0.1:0"` to a `write_server_config` file.
pub fn enable_metrics(config: &std::path::Path) {
    let mut text = std::fs::read_to_string(config).expect("config");
    text.push_str("[metrics]\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(config, text).expect("config");
}

impl ServerProcess {
    /// Starts `binary serve --config config` and waits for its "listening on" line.
    pub fn start(binary: &str, config: &std::path::Path) -> ServerProcess {
        ServerProcess::start_with(
            binary,
            &["serve".as_ref(), "--config".as_ref(), config.as_os_str()],
        )
    }

    /// Starts the demo, `binary serve --data-dir data_dir --listen listen` (made on first run).
    pub fn start_demo(binary: &str, data_dir: &std::path::Path, listen: &str) -> ServerProcess {
        let args = [
            "serve".as_ref(),
            "--data-dir".as_ref(),
            data_dir.as_os_str(),
            "--listen".as_ref(),
            listen.as_ref(),
        ];
        ServerProcess::start_with(binary, &args)
    }

    fn start_with(binary: &str, args: &[&std::ffi::OsStr]) -> ServerProcess {
        let mut command = std::process::Command::new(binary);
        command.args(args).stderr(std::process::Stdio::inherit());
        ServerProcess::spawn(command)
    }

    /// Starts a prepared `hongbao serve` command (its stdout is taken here) and waits for its
    /// whole banner: the "listening on" line first, the metrics line second when metrics are
    /// on, the line about the request log last.
    pub fn spawn(mut command: std::process::Command) -> ServerProcess {
        use std::io::BufRead;
        let mut child =
            command.stdout(std::process::Stdio::piped()).spawn().expect("hongbao starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut banner: Vec<String> = Vec::new();
        while !banner.last().is_some_and(|line| line.contains("every call is logged")) {
            match lines.next() {
                Some(Ok(line)) => banner.push(line),
                _ => panic!("hongbao serve stopped before its banner ended: {banner:#?}"),
            }
        }
        let url =
            banner[0].strip_prefix("hongbao gateway listening on http://").expect("listening line");
        let addr = url.trim_end_matches("/gateway.do").parse().expect("address");
        let metrics_addr = banner[1]
            .strip_prefix("hongbao metrics on http://")
            .map(|url| url.trim_end_matches("/metrics").parse().expect("metrics address"));
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServerProcess { child, addr, metrics_addr, banner }
    }

    /// GETs `path` from the gateway listener (`Connection: close`).
    pub async fn get(&self, path: &str) -> HttpResponse {
        get(self.addr, path).await
    }

    /// The `/metrics` text.
    pub async fn scrape(&self) -> String {
        let addr = self.metrics_addr.expect("metrics are on");
        let response = get(addr, "/metrics").await;
        assert_eq!(response.status, 200);
        String::from_utf8(response.body).expect("utf-8")
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM (graceful) and waits for it.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    /// Signs and sends `call`, returning the verified answer.
    pub async fn send(&self, call: &Call) -> Answer {
        let request =
            post_request("/gateway.do", &call.body(), "application/x-www-form-urlencoded");
        let method = call.params.get("method").map(str::to_owned);
        verify_answer_with(
            raw(self.addr, &request).await,
            method.as_deref(),
            call.charset,
            call.sign_type,
            call.encrypt.as_ref(),
        )
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Runs `command` in the repository root with `input` on stdin; `None` status means it ran past
/// `timeout` and was killed. For the official-SDK runners (interop/).
pub fn run_with_timeout(
    mut command: std::process::Command,
    input: &[u8],
    timeout: std::time::Duration,
) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut child = command
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => break status.code(),
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };
    let _ = writer.join();
    (status, out_reader.join().unwrap(), err_reader.join().unwrap())
}

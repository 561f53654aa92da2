//! The OpenAPI gateway: `/gateway.do` and everything between the socket and the store.
//!
//! Request path: read the body under a cap → decode the form in the request charset → route by
//! the method (page.pay to the cashier) → check the common parameters → look up method and app →
//! check a certificate-mode app's SNs and verify the signature, then decrypt an encrypted
//! `biz_content` (`verify`) → parse `biz_content` → run the command against the store → build
//! the response node → sign it in the request charset and sign type (`Gateway::sign_answer`,
//! which encrypts the node when the request was encrypted and adds `alipay_cert_sn` for
//! certificate-mode apps). Every outcome, errors included, leaves as a signed
//! `<method>_response` envelope with HTTP 200 (see `error::to_alipay`, the only place that knows
//! Alipay's codes).
//!
//! It never knows SQL (the store does) nor the CLI.

pub mod body;
pub mod cashier;
pub mod clock;
pub mod console;
pub mod destination;
pub mod dispatch;
pub mod error;
pub mod health;
mod html;
pub mod inject;
pub mod landing;
pub mod methods;
pub mod notify;
pub mod observe;
pub mod reqlog;
pub mod sandbox;
pub mod scheduler;
pub mod server;
pub mod throttle;
pub mod tls;
pub mod verify;
pub mod wallet;

use hongbao_protocol::encryption::EncryptKey;
use hongbao_protocol::envelope::{render_answer, NodeForm, RenderError, ResponseNode};
use hongbao_protocol::{Charset, SignType};
use hongbao_sign::{
    CachingSigner, CertError, Certificate, PrivateKey, PublicKey, RootBundle, SignError, Source,
};
use hongbao_store::Store;
use std::collections::HashMap;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SandboxClock, SystemClock};

/// A registered merchant app.
#[derive(Clone, Debug)]
pub struct App {
    /// `app_id`.
    pub app_id: String,
    /// Display name (cashier page).
    pub name: String,
    /// Verifies the app's requests: a public key or a certificate.
    pub credential: AppCredential,
    /// The app's own account: the only allowed agreement.pay payer, and the payer of its
    /// fund.trans B2C red packets.
    pub merchant_user_id: String,
    /// Its application gateway (应用网关): where fund.trans messages
    /// (`alipay.fund.trans.order.changed`) go. `None`: no messages.
    pub message_url: Option<String>,
    /// Its AES key for interface content encryption (接口内容加密): requests with
    /// `encrypt_type=AES` are decrypted with it and answered encrypted. `None`: such requests
    /// are refused; clear ones work either way.
    pub encrypt_key: Option<EncryptKey>,
}

impl App {
    /// The key that verifies the app's requests (in certificate mode, the certified one).
    pub fn public_key(&self) -> &PublicKey {
        match &self.credential {
            AppCredential::PublicKey(key) => key,
            AppCredential::Certificate(cert) => &cert.public_key,
        }
    }

    /// The app's certificate, when it is in certificate mode.
    pub fn certificate(&self) -> Option<&AppCertificate> {
        match &self.credential {
            AppCredential::PublicKey(_) => None,
            AppCredential::Certificate(cert) => Some(cert),
        }
    }
}

/// How an app's requests are verified: Alipay's two modes. Either way the signature is checked
/// the same way, with `App::public_key`; certificate mode adds the SN checks of `verify` and
/// `alipay_cert_sn` on every answer.
#[derive(Clone, Debug)]
pub enum AppCredential {
    /// 公钥模式: the app's public key, as uploaded.
    PublicKey(PublicKey),
    /// 公钥证书模式: the app's public key certificate.
    Certificate(AppCertificate),
}

/// An app certificate with what the request checks need of it, read once.
#[derive(Clone, Debug)]
pub struct AppCertificate {
    /// The certificate (its SN is what requests must send as `app_cert_sn`).
    pub certificate: Certificate,
    /// The key it certifies.
    pub public_key: PublicKey,
    /// Validity, Unix seconds: not before, not after.
    pub validity: (i64, i64),
}

impl AppCertificate {
    /// Reads the key and validity of an app certificate (an RSA key is required).
    pub fn new(certificate: Certificate) -> Result<AppCertificate, CertError> {
        let public_key = certificate.public_key()?;
        let validity = certificate.validity()?;
        Ok(AppCertificate { certificate, public_key, validity })
    }
}

/// The gateway's side of certificate mode: the root bundle apps' certificates chain to, and the
/// certificates of the gateway key.
#[derive(Clone, Debug)]
pub struct GatewayCerts {
    root: RootBundle,
    signing: Certificate,
    /// Every downloadable certificate (the signing one and earlier ones): SN → base64 of its PEM,
    /// as `alipay.open.app.alipaycert.download` answers it.
    contents: HashMap<String, String>,
}

impl GatewayCerts {
    /// `signing` certifies the gateway key (the caller checks that); `previous` are earlier
    /// gateway certificates, still downloadable by SN after a rotation.
    pub fn new(
        root: RootBundle,
        signing: Certificate,
        previous: &[Certificate],
    ) -> Result<GatewayCerts, CertError> {
        use base64::Engine;
        let mut contents = HashMap::new();
        for cert in previous.iter().chain(std::iter::once(&signing)) {
            let pem = cert.to_pem()?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(pem.as_bytes());
            contents.insert(cert.sn().to_owned(), encoded);
        }
        Ok(GatewayCerts { root, signing, contents })
    }

    /// The root bundle.
    pub fn root(&self) -> &RootBundle {
        &self.root
    }

    /// The certificate of the gateway key: its SN goes on every answer to a certificate app.
    pub fn signing(&self) -> &Certificate {
        &self.signing
    }

    /// Base64 of the PEM of the gateway certificate with this SN.
    pub fn content(&self, sn: &str) -> Option<&str> {
        self.contents.get(sn).map(String::as_str)
    }
}

/// Limits of the gateway, each named `*_max`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body accepted on `/gateway.do`.
    pub body_bytes_max: usize,
    /// Largest request body accepted on every other route: the pages' forms, the sandbox
    /// control (a login form is a few hundred bytes).
    pub page_body_bytes_max: usize,
    /// Most bytes of request bodies still arriving, all connections together; a body that
    /// would go beyond it is shed as overload (`body::BodyBudget`).
    pub body_buffer_bytes_max: usize,
    /// How long a client may take to send its whole body, on every route.
    pub body_read_timeout: std::time::Duration,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: std::time::Duration,
    /// Most connections open at once; more wait in the kernel backlog.
    pub connections_max: usize,
    /// Most requests being worked on at once (verify, store, sign). Beyond it a request is
    /// shed at once with a signed 20000 (HTTP 503 when it names no method) instead of queueing
    /// without bound.
    pub inflight_max: usize,
    /// How long a request may wait for one of those places before it is shed: a short, bounded
    /// queue that absorbs bursts (1,000 claimers on one packet) without growing without bound.
    /// One second: 1,000 claimers arriving at once on a store that commits 1,500 claims a
    /// second (PostgreSQL on two cores) are all served; a longer wait only hides overload.
    pub admission_wait: std::time::Duration,
    /// How long a graceful stop waits for the requests in flight before it closes their
    /// connections.
    pub shutdown_grace: std::time::Duration,
    /// Most answer signatures remembered for answers whose bytes come again (a polled query,
    /// a replayed retry): `sign::CachingSigner`. 0 signs every answer afresh.
    pub signature_cache_entries: usize,
}

impl Limits {
    /// The body cap of the route at `path`.
    pub fn body_cap(&self, path: &str) -> usize {
        if path == "/gateway.do" {
            self.body_bytes_max
        } else {
            self.page_body_bytes_max
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes_max: 1024 * 1024,
            page_body_bytes_max: 16 * 1024,
            // 64 bodies of the largest size at once, or thousands of ordinary ones.
            body_buffer_bytes_max: 64 * 1024 * 1024,
            body_read_timeout: std::time::Duration::from_secs(15),
            header_read_timeout: std::time::Duration::from_secs(10),
            connections_max: 10_000,
            inflight_max: 512,
            admission_wait: std::time::Duration::from_secs(1),
            shutdown_grace: std::time::Duration::from_secs(10),
            // About 400 bytes each: under 2 MB, a few seconds of polling at full speed.
            signature_cache_entries: 4096,
        }
    }
}

/// Everything a request needs, shared by all requests.
pub struct Gateway {
    /// Registered apps by app_id.
    pub apps: HashMap<String, App>,
    /// Signs every answer ("the Alipay private key").
    pub gateway_key: PrivateKey,
    /// The same key for answers, remembering recent signatures (see `Limits`).
    answer_signer: CachingSigner,
    /// The ledger's storage.
    pub store: Arc<dyn Store>,
    /// Business time (gmt_* fields, timeouts).
    pub clock: Arc<dyn Clock>,
    /// Limits.
    pub limits: Limits,
    /// Admission to the request work, sized by `limits.inflight_max` (see `set_limits`).
    pub inflight: Arc<tokio::sync::Semaphore>,
    /// Wakes the notify worker when a command queued a notification.
    pub notify_wake: tokio::sync::Notify,
    /// Wakes the deadline scheduler (after the sandbox clock moved).
    pub scheduler_wake: tokio::sync::Notify,
    /// Red packet policy.
    pub policy: Policy,
    /// Sandbox controls (off by default).
    pub sandbox: Sandbox,
    /// Certificate mode: required when any app has a certificate.
    pub certs: Option<GatewayCerts>,
    /// Where notifications and messages may go (`[notify]`).
    pub destinations: Arc<destination::DestinationPolicy>,
    /// Wrong passwords on the payer pages, per account and per client.
    pub logins: throttle::LoginThrottle,
    /// What `/readyz` reports: worker heartbeats, a graceful stop in progress.
    pub health: health::Health,
    /// The request behind each recent operation, for the notify worker's log lines.
    pub recent_requests: observe::RecentRequests,
    /// The request log's sending side (off unless `reqlog::RequestLog::on`).
    pub request_log: reqlog::RequestLog,
    /// The sandbox console's fault rules.
    pub inject: inject::Injections,
}

/// Red packet policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// How long a funded packet's remainder waits before it goes back to the payer, when the
    /// pay call's `extra_param` names no `orderExpiredTime` (Alipay's self-service default: 48 h).
    pub packet_expiry_default_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { packet_expiry_default_ms: 48 * 3_600_000 }
    }
}

/// Sandbox controls: off unless a token is configured; served on loopback connections only
/// (the console: unless `console_public`).
#[derive(Clone, Debug, Default)]
pub struct Sandbox {
    /// Bearer token of the clock control; `None` disables it.
    pub clock_token: Option<String>,
    /// Sandbox accounts (user id, logon id) listed on the payer pages' login card, so that a
    /// payer trying the demo need not look them up; empty (the default) lists none.
    pub login_users: Vec<(String, String)>,
    /// The sandbox console's token (`/console/`, `console`); `None` turns the console off.
    pub console_token: Option<String>,
    /// Serve the console to clients that are not on loopback too.
    pub console_public: bool,
}

impl Gateway {
    /// A gateway with default limits, policy and sandbox (controls off).
    pub fn new(
        apps: HashMap<String, App>,
        gateway_key: PrivateKey,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Gateway {
        Gateway {
            apps,
            answer_signer: CachingSigner::new(
                gateway_key.clone(),
                Limits::default().signature_cache_entries,
            ),
            gateway_key,
            store,
            clock,
            inflight: Arc::new(tokio::sync::Semaphore::new(Limits::default().inflight_max)),
            limits: Limits::default(),
            notify_wake: tokio::sync::Notify::new(),
            scheduler_wake: tokio::sync::Notify::new(),
            policy: Policy::default(),
            sandbox: Sandbox::default(),
            certs: None,
            destinations: Arc::default(),
            logins: throttle::LoginThrottle::default(),
            health: health::Health::default(),
            recent_requests: observe::RecentRequests::default(),
            request_log: reqlog::RequestLog::default(),
            inject: inject::Injections::default(),
        }
    }

    /// Signs an answer envelope with the gateway key in the request's charset and sign type. An
    /// answer to a certificate-mode `app` carries `alipay_cert_sn` (the gateway certificate's
    /// SN), whatever it answers; every other answer is the public-key envelope. With `encrypt`
    /// (the request was encrypted and decrypted with that key), the node goes encrypted.
    pub fn sign_answer(
        &self,
        key: &str,
        node: &ResponseNode,
        charset: Charset,
        sign_type: SignType,
        app: Option<&App>,
        encrypt: Option<&EncryptKey>,
    ) -> Result<Vec<u8>, SignError> {
        let cert_sn = match (app.and_then(App::certificate), &self.certs) {
            (Some(_), Some(certs)) => Some(certs.signing().sn()),
            _ => None,
        };
        let form = encrypt.map_or(NodeForm::Clear, NodeForm::Encrypted);
        render_answer(key, node, charset, form, cert_sn, |bytes| {
            let (signature, source) = self.answer_signer.sign(sign_type, bytes)?;
            if source == Source::Remembered {
                metrics::counter!("hongbao_signatures_remembered_total").increment(1);
            }
            Ok(signature)
        })
        .map_err(|err| match err {
            RenderError::Sign(err) | RenderError::Encrypt(err) => err,
        })
    }

    /// How many answer signatures are remembered now (`Limits::signature_cache_entries`).
    pub fn signatures_remembered(&self) -> usize {
        self.answer_signer.remembered()
    }

    /// Replaces the limits (and resizes the in-flight admission with them).
    pub fn set_limits(&mut self, limits: Limits) {
        self.inflight = Arc::new(tokio::sync::Semaphore::new(limits.inflight_max));
        self.answer_signer =
            CachingSigner::new(self.gateway_key.clone(), limits.signature_cache_entries);
        self.limits = limits;
    }

    /// The axum router: `/gateway.do`, the cashier, the wallet, the sandbox controls and
    /// console, and the health probes, each request in its own span with a request id and a log
    /// line (`observe`, which also hands calls to the request log).
    pub fn router(self: &Arc<Gateway>) -> axum::Router {
        dispatch::router(Arc::clone(self))
            .merge(cashier::router(Arc::clone(self)))
            .merge(wallet::router(Arc::clone(self)))
            .merge(sandbox::router(Arc::clone(self)))
            .merge(console::router(Arc::clone(self)))
            .merge(health::router(Arc::clone(self)))
            .merge(landing::router(Arc::clone(self)))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(self), observe::observe))
    }
}

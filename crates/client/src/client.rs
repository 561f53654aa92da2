//! [`Client`]: configuration, the HTTP exchange with retries and its tracing span. The typed
//! calls are in `coupon` and `trans`.
//!
//! One [`Transport`] (by default a reqwest connection pool) per `Client`; cloning a `Client`
//! shares it. Every call is signed once, sent as the official Python SDK sends it (POST, common
//! parameters in the query, `biz_content` in a form body labelled with the charset), and its
//! answer verified (`Response::verify`) before anything in it is read. In certificate mode
//! (`cert`) the answer is verified with the key of the certificate it names, downloaded and
//! checked first when new.
//!
//! Each call runs in a `tracing` span `alipay_call` with the method, the app_id and the call's
//! ids (out_order_no, out_request_no, out_biz_no, …), and records the attempts and the answer's
//! code and sub_code. Keys, signatures and the signed URL are never recorded.

use crate::cert::{CertState, Certificates};
use crate::error::{Error, ErrorKind, SignatureFailure};
use crate::notify::{Notify, TransOrderChanged};
use crate::request::{RequestParts, SignedRequest, Signer, TIMESTAMP_FORMAT};
use crate::response::Response;
use crate::retry::RetryPolicy;
use crate::transport::{HttpOptions, HttpRequest, ReqwestTransport, Transport, TransportError};
use chrono::NaiveDateTime;
use hongbao_protocol::encryption::EncryptKey;
use hongbao_protocol::envelope::{find_signed_node, response_key, SignedNode, ERROR_RESPONSE_KEY};
use hongbao_protocol::method::ALIPAYCERT_DOWNLOAD;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_sign::{PrivateKey, PublicKey};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Largest response body read: red packet answers are well under 4 KiB; a bigger body is a
/// misconfigured URL, not an answer.
///
/// ```
/// assert_eq!(hongbao_client::RESPONSE_BYTES_MAX, 1024 * 1024); // 1 MiB
/// ```
pub const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

/// Default total timeout of one HTTP attempt (the official Python SDK's 15 s).
///
/// ```
/// assert_eq!(hongbao_client::TIMEOUT_DEFAULT, std::time::Duration::from_secs(15));
/// ```
pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(15);
/// Default connect timeout (the official Java SDK's 3 s).
///
/// ```
/// use hongbao_client::{CONNECT_TIMEOUT_DEFAULT, TIMEOUT_DEFAULT};
/// assert!(CONNECT_TIMEOUT_DEFAULT < TIMEOUT_DEFAULT);
/// assert_eq!(CONNECT_TIMEOUT_DEFAULT.as_secs(), 3);
/// ```
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(3);

const USER_AGENT: &str = concat!("hongbao-client/", env!("CARGO_PKG_VERSION"));

/// The ids a call's span can carry (the `alipay_call` span's fields).
pub(crate) const SPAN_IDS: &[&str] = &[
    "out_order_no",
    "out_request_no",
    "out_biz_no",
    "auth_no",
    "operation_id",
    "order_id",
    "pay_fund_order_id",
];

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            timeout: TIMEOUT_DEFAULT,
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            proxy: None,
            root_certificates_pem: Vec::new(),
            built_in_roots: true,
            user_agent: USER_AGENT,
        }
    }
}

type Clock = Arc<dyn Fn() -> NaiveDateTime + Send + Sync>;

/// Options of one call beyond `biz_content`: the common parameters a call may add.
///
/// ```
/// use hongbao_client::CallOptions;
/// let options = CallOptions::new().notify_url("https://shop.example/notify");
/// assert_eq!(options.notify_url.as_deref(), Some("https://shop.example/notify"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// `notify_url`.
    pub notify_url: Option<String>,
    /// `return_url` (page calls).
    pub return_url: Option<String>,
    /// `app_auth_token`, for an ISV acting for a merchant on Alipay (hongbao refuses it).
    pub app_auth_token: Option<String>,
}

impl CallOptions {
    /// No options.
    ///
    /// ```
    /// use hongbao_client::CallOptions;
    /// let options = CallOptions::new();
    /// assert_eq!(options.notify_url, None);
    /// assert_eq!(options, CallOptions::default());
    /// ```
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// use hongbao_client::CallOptions;
    /// let options = CallOptions::new().notify_url("https://shop.example/notify");
    /// let params = client.signed_params("alipay.fund.coupon.order.refund", "{}", &options)?;
    /// assert_eq!(params.get("notify_url"), Some("https://shop.example/notify"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// Sets `return_url`.
    ///
    /// ```
    /// use hongbao_client::CallOptions;
    /// let options = CallOptions::new().return_url("https://shop.example/paid");
    /// assert_eq!(options.return_url.as_deref(), Some("https://shop.example/paid"));
    /// ```
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Sets `app_auth_token`.
    ///
    /// ```
    /// use hongbao_client::CallOptions;
    /// let options = CallOptions::new().app_auth_token("202401BBa1c2d3");
    /// assert_eq!(options.app_auth_token.as_deref(), Some("202401BBa1c2d3"));
    /// ```
    pub fn app_auth_token(mut self, token: impl Into<String>) -> Self {
        self.app_auth_token = Some(token.into());
        self
    }
}

/// Builds a [`Client`]. Defaults: utf-8, RSA2, 15 s timeout, 3 s connect timeout, no proxy,
/// the system's TLS roots, [`RetryPolicy::default`], local time for `timestamp` (as every
/// official SDK sends).
///
/// ```
/// use hongbao_client::{Client, Charset, SignType, RetryPolicy, PrivateKey, HONGBAO_LOCAL_GATEWAY};
/// let app_key = PrivateKey::generate(1024)?;
/// let alipay_key = app_key.public_key()?; // normally the gateway's public key, from a file
/// let client = Client::builder(HONGBAO_LOCAL_GATEWAY, "2021000000000001", app_key, alipay_key)
///     .charset(Charset::Gbk)
///     .sign_type(SignType::Rsa2)
///     .timeout(std::time::Duration::from_secs(5))
///     .retry(RetryPolicy::none())
///     .build()?;
/// assert_eq!(client.charset(), Charset::Gbk);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClientBuilder {
    gateway: String,
    app_id: String,
    app_private_key: PrivateKey,
    /// `None` in certificate mode: the Alipay certificate's key.
    alipay_public_key: Option<PublicKey>,
    charset: Charset,
    sign_type: SignType,
    http: HttpOptions,
    transport: Option<Arc<dyn Transport>>,
    retry: RetryPolicy,
    clock: Option<Clock>,
    certificates: Option<Certificates>,
    encrypt_key: Option<EncryptKey>,
}

impl ClientBuilder {
    /// Interface content encryption (接口内容加密): the app's AES key (`encrypt_key`, the base64
    /// text Alipay's console shows, read with [`EncryptKey::from_base64`]). Every call then sends
    /// `encrypt_type=AES` with `biz_content` encrypted in the charset, as the official SDKs do
    /// with their `encryptKey` / `encrypt_key`, and encrypted answers are decrypted after they
    /// verify. Page and app.pay requests are encrypted too.
    ///
    /// ```
    /// # use hongbao_client::{Client, CallOptions, EncryptKey, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// let aes = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==")?;
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .encrypt_key(aes.clone())
    ///     .build()?;
    /// let params = client.signed_params("alipay.fund.coupon.order.refund", r#"{"a":"b"}"#, &CallOptions::new())?;
    /// assert_eq!(params.get("encrypt_type"), Some("AES"));
    /// assert_eq!(aes.decrypt(params.get("biz_content").unwrap())?, br#"{"a":"b"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encrypt_key(mut self, key: EncryptKey) -> Self {
        self.encrypt_key = Some(key);
        self
    }

    /// The request (and response) charset.
    ///
    /// ```
    /// # use hongbao_client::{Client, Charset, CallOptions, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .charset(Charset::Gbk)
    ///     .build()?;
    /// let params = client.signed_params("alipay.fund.coupon.order.refund", "{}", &CallOptions::new())?;
    /// assert_eq!(params.get("charset"), Some("GBK"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn charset(mut self, charset: Charset) -> Self {
        self.charset = charset;
        self
    }

    /// RSA2 (SHA256withRSA, recommended) or RSA (SHA1withRSA).
    ///
    /// ```
    /// # use hongbao_client::{Client, SignType, CallOptions, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .sign_type(SignType::Rsa)
    ///     .build()?;
    /// let params = client.signed_params("alipay.fund.coupon.order.refund", "{}", &CallOptions::new())?;
    /// assert_eq!(params.get("sign_type"), Some("RSA"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Total time for one attempt (connect, send, read the answer) of the built-in transport.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?; // accepts, never answers
    /// # let gateway = format!("http://{}/gateway.do", silent.local_addr()?);
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::{Client, ErrorKind, RetryPolicy};
    /// use std::time::Duration;
    /// let client = Client::builder(gateway, "2021", key.clone(), key.public_key()?)
    ///     .timeout(Duration::from_millis(200))
    ///     .retry(RetryPolicy::none())
    ///     .build()?;
    /// let err = client.execute("alipay.fund.coupon.operation.query", "{}").await.unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Transport { timed_out: true, .. }));
    /// assert!(err.outcome_unknown()); // the gateway may still be processing it
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// Time to open a connection (built-in transport).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?; // nobody listens
    /// # let gateway = format!("http://{closed}/gateway.do");
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::{Client, ErrorKind, RetryPolicy};
    /// use std::time::Duration;
    /// let client = Client::builder(gateway, "2021", key.clone(), key.public_key()?)
    ///     .connect_timeout(Duration::from_secs(1))
    ///     .retry(RetryPolicy::none())
    ///     .build()?;
    /// let err = client.execute("alipay.fund.coupon.operation.query", "{}").await.unwrap_err();
    /// // Refused at once: no connection, so nothing was sent and nothing happened.
    /// assert!(matches!(err.kind(), ErrorKind::Unreachable { .. }));
    /// assert!(!err.outcome_unknown());
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// The retry policy for ambiguous outcomes (see [`RetryPolicy`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?; // nobody listens
    /// # let gateway = format!("http://{closed}/gateway.do");
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::{Client, RetryPolicy};
    /// use std::time::{Duration, Instant};
    /// let client = Client::builder(gateway, "2021", key.clone(), key.public_key()?)
    ///     .retry(RetryPolicy::new(3, Duration::from_millis(40), Duration::from_millis(40)))
    ///     .build()?;
    /// let started = Instant::now();
    /// let err = client.execute("alipay.fund.coupon.operation.query", "{}").await.unwrap_err();
    /// assert!(err.is_retryable());
    /// // 3 attempts, 2 pauses, each jittered within [20 ms, 40 ms].
    /// assert!(started.elapsed() >= Duration::from_millis(40));
    /// # Ok(()) }
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sends every call through this HTTP proxy (`http://host:port`, or `https://…`; user and
    /// password in the URL if it needs them), as the built-in transport's only route out.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// // A stand-in proxy on loopback: it records the request line and refuses with 502.
    /// let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let proxy_url = format!("http://{}", proxy.local_addr()?);
    /// let seen = tokio::spawn(async move {
    ///     let (mut stream, _) = proxy.accept().await.unwrap();
    ///     let mut head = vec![0u8; 4096];
    ///     let n = stream.read(&mut head).await.unwrap();
    ///     stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await.unwrap();
    ///     String::from_utf8_lossy(&head[..n]).into_owned()
    /// });
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::{Client, ErrorKind, RetryPolicy};
    /// let client = Client::builder("http://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .proxy(&proxy_url)
    ///     .retry(RetryPolicy::none())
    ///     .build()?;
    /// let err = client.execute("alipay.fund.coupon.operation.query", "{}").await.unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::HttpStatus { status: 502, .. }));
    /// // The proxy got the absolute URL: gw.example itself was never contacted.
    /// assert!(seen.await?.starts_with("POST http://gw.example/gateway.do?timestamp="));
    /// # Ok(()) }
    /// ```
    pub fn proxy(mut self, url: &str) -> Self {
        self.http.proxy = Some(url.to_owned());
        self
    }

    /// Trusts the certificates of this PEM text (one or more) as TLS roots too, e.g. a company
    /// proxy's CA; with [`built_in_root_certificates(false)`](Self::built_in_root_certificates)
    /// only them. A text without a certificate is refused by `build`.
    ///
    /// ```
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::{Client, ErrorKind};
    /// let ca_pem = hongbao_test_support::test_ca().certificate().to_pem()?;
    /// let builder = || Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key().unwrap());
    /// assert!(builder().add_root_certificates_pem(&ca_pem).build().is_ok());
    /// let err = builder().add_root_certificates_pem("not a certificate").build().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_root_certificates_pem(mut self, pem: &str) -> Self {
        self.http.root_certificates_pem.push(pem.to_owned());
        self
    }

    /// Whether the system's TLS roots are trusted (yes by default). With `false` only the
    /// certificates given to [`add_root_certificates_pem`](Self::add_root_certificates_pem) are.
    ///
    /// ```
    /// # let key = hongbao_client::PrivateKey::generate(1024)?;
    /// use hongbao_client::Client;
    /// let ca_pem = hongbao_test_support::test_ca().certificate().to_pem()?;
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .add_root_certificates_pem(&ca_pem)
    ///     .built_in_root_certificates(false)
    ///     .build()?;
    /// assert_eq!(client.app_id(), "2021");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn built_in_root_certificates(mut self, trusted: bool) -> Self {
        self.http.built_in_roots = trusted;
        self
    }

    /// Sends calls through this [`Transport`] instead of the built-in one (an HTTP stack of
    /// your own, a recording transport in tests). `timeout`, `connect_timeout`, `proxy` and the
    /// TLS roots are then the transport's business; retries, the body limit and verification
    /// stay the client's. See [`Transport`] for an example.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The source of the `timestamp` parameter (local wall time by default). Tests pin it;
    /// the gateway accepts only times near its own clock.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// # let key = PrivateKey::generate(1024)?;
    /// let fixed = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap();
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .clock(move || fixed)
    ///     .build()?;
    /// let request = CashierPayRequest::new(OutOrderNo::new("o"), OutRequestNo::new("r"), "t", Fen::from_fen(1));
    /// let url = client.page_pay_url(&request)?;
    /// assert!(url.starts_with("https://gw.example/gateway.do?timestamp=2024-01-02+03%3A04%3A05&app_id=2021&"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> NaiveDateTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the configuration and builds the client (and its connection pool).
    ///
    /// ```
    /// use hongbao_client::{Client, ErrorKind, PrivateKey};
    /// let key = PrivateKey::generate(1024)?;
    /// let build = |gateway: &str, app_id: &str| {
    ///     Client::builder(gateway, app_id, key.clone(), key.public_key().unwrap()).build()
    /// };
    /// assert!(build("https://gw.example/gateway.do", "2021").is_ok());
    /// let err = build("https://gw.example/gateway.do?charset=utf-8", "2021").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. })); // a query would go unsigned
    /// assert!(build("https://gw.example/gateway.do", " ").is_err()); // no app_id
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let url = reqwest::Url::parse(&self.gateway).map_err(|err| {
            Error::invalid(format!("gateway {:?} is not a URL", self.gateway)).with_source(err)
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::invalid(format!(
                "gateway {:?} is not an http(s) URL",
                self.gateway
            )));
        }
        // The SDK appends the whole query itself; a query in the configured URL would be sent
        // unsigned (the Python SDK silently drops it; refusing says so).
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(format!(
                "gateway {:?} must not carry a query or fragment",
                self.gateway
            )));
        }
        if self.app_id.trim().is_empty() {
            return Err(Error::invalid("app_id is empty"));
        }
        let transport: Arc<dyn Transport> = match self.transport {
            Some(transport) => transport,
            None => Arc::new(ReqwestTransport::new(&self.http).map_err(Error::invalid)?),
        };
        let clock: Clock = match self.clock {
            Some(clock) => clock,
            None => Arc::new(|| chrono::Local::now().naive_local()),
        };
        let (certs, alipay_public_key) = match (self.certificates, self.alipay_public_key) {
            (None, Some(key)) => (None, key),
            (None, None) => return Err(Error::invalid("no Alipay public key or certificates")),
            (Some(certificates), _) => {
                let certified = certificates.app_cert().public_key().map_err(|err| {
                    Error::invalid(format!("the app certificate: {err}")).with_source(err)
                })?;
                let own = self.app_private_key.public_key().map_err(|err| {
                    Error::invalid("the app private key has no public half").with_source(err)
                })?;
                if certified != own {
                    return Err(Error::invalid(
                        "the app certificate does not certify the app private key",
                    ));
                }
                let state = CertState::new(certificates, chrono::Utc::now().timestamp())?;
                // Notifies and app.pay results name no certificate: the configured one signs them.
                let key = state.configured_key()?;
                (Some(state), key)
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                gateway: self.gateway,
                app_id: self.app_id,
                app_private_key: self.app_private_key,
                alipay_public_key,
                charset: self.charset,
                sign_type: self.sign_type,
                retry: self.retry,
                transport,
                clock,
                certs,
                encrypt_key: self.encrypt_key,
            }),
        })
    }
}

/// A client for one app on one gateway. Cheap to clone (shared connection pool); use one per
/// app for the life of the program.
///
/// ```
/// use hongbao_client::*;
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app};
/// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
/// # let gateway = format!("http://{}/gateway.do", hongbao.addr);
/// # let app_private_pem = app_a_key().to_pkcs8_pem()?;
/// # let gateway_public_pem = gateway_key().public_key()?.to_pem()?;
/// // The texts of keys/app_private.pem and keys/gateway_public.pem:
/// let app_key = PrivateKey::from_text(&app_private_pem)?;
/// let alipay_key = PublicKey::from_text(&gateway_public_pem)?;
/// let client = Client::builder(gateway, "2021000000000001", app_key, alipay_key).build()?;
/// let pay = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包",
///                                    Fen::from_fen(1000), UserId::new("2088100000000001"));
/// let paid = client.agreement_pay(&pay).await?;
/// assert_eq!(paid.status, OperationStatus::Success);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    gateway: String,
    app_id: String,
    app_private_key: PrivateKey,
    alipay_public_key: PublicKey,
    charset: Charset,
    sign_type: SignType,
    retry: RetryPolicy,
    transport: Arc<dyn Transport>,
    clock: Clock,
    certs: Option<CertState>,
    encrypt_key: Option<EncryptKey>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys print redacted through their own Debug.
        f.debug_struct("Client")
            .field("gateway", &self.inner.gateway)
            .field("app_id", &self.inner.app_id)
            .field("charset", &self.inner.charset)
            .field("sign_type", &self.inner.sign_type)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a builder: the gateway URL (see [`ALIPAY_GATEWAY`](crate::ALIPAY_GATEWAY) and
    /// friends), the app id, the app's private key and the gateway's ("Alipay") public key.
    ///
    /// ```
    /// use hongbao_client::{Client, PrivateKey, SignType, ALIPAY_SANDBOX_GATEWAY};
    /// let app_key = PrivateKey::generate(1024)?; // yours; Alipay holds its public key
    /// let alipay_key = PrivateKey::generate(1024)?.public_key()?; // Alipay's, from its console
    /// let client = Client::builder(ALIPAY_SANDBOX_GATEWAY, "9021000000000001", app_key, alipay_key)
    ///     .build()?;
    /// assert_eq!(client.sign_type(), SignType::Rsa2); // the default
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(
        gateway: impl Into<String>,
        app_id: impl Into<String>,
        app_private_key: PrivateKey,
        alipay_public_key: PublicKey,
    ) -> ClientBuilder {
        ClientBuilder {
            gateway: gateway.into(),
            app_id: app_id.into(),
            app_private_key,
            alipay_public_key: Some(alipay_public_key),
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            http: HttpOptions::default(),
            transport: None,
            retry: RetryPolicy::default(),
            clock: None,
            certificates: None,
            encrypt_key: None,
        }
    }

    /// Starts a builder in certificate mode (公钥证书模式): the app's private key and the three
    /// certificate files instead of Alipay's bare public key. Requests then carry `app_cert_sn`
    /// and `alipay_root_cert_sn`; every successful answer must name its `alipay_cert_sn`, and a
    /// certificate the client does not know yet is downloaded
    /// (`alipay.open.app.alipaycert.download`) and checked against the root bundle before its
    /// key is trusted, as the Java SDK does. `build` checks that the app certificate certifies
    /// the private key and that Alipay's certificate chains to the root.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::*;
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let gateway = format!("http://{}/gateway.do", hongbao.addr);
    /// # let (app_cert_pem, alipay_cert_pem) = (app_c_cert().to_pem()?, gateway_cert().to_pem()?);
    /// # let (alipay_root_cert_pem, app_private_key) = (root_bundle_pem(), app_c_key());
    /// use hongbao_client::*;
    /// let certs = Certificates::from_pem(&app_cert_pem, &alipay_cert_pem, &alipay_root_cert_pem)?;
    /// let client =
    ///     Client::builder_with_certificates(gateway, "2021000000000003", app_private_key, certs)
    ///         .build()?;
    /// let pay = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包",
    ///                                    Fen::from_fen(100), UserId::new("2088100000000001"));
    /// let paid = client.agreement_pay(&pay).await?;
    /// assert_eq!(paid.status, OperationStatus::Success);
    /// # Ok(()) }
    /// ```
    pub fn builder_with_certificates(
        gateway: impl Into<String>,
        app_id: impl Into<String>,
        app_private_key: PrivateKey,
        certificates: Certificates,
    ) -> ClientBuilder {
        ClientBuilder {
            gateway: gateway.into(),
            app_id: app_id.into(),
            app_private_key,
            alipay_public_key: None,
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            http: HttpOptions::default(),
            transport: None,
            retry: RetryPolicy::default(),
            clock: None,
            certificates: Some(certificates),
            encrypt_key: None,
        }
    }

    /// The Alipay certificate SNs this client trusts so far (certificate mode; empty otherwise):
    /// the configured one, and any downloaded since.
    ///
    /// ```
    /// # use hongbao_test_support::*;
    /// # let certs = hongbao_client::Certificates::from_pem(&app_c_cert().to_pem()?, &gateway_cert().to_pem()?, root_bundle_pem())?;
    /// use hongbao_client::Client;
    /// let client = Client::builder_with_certificates("https://gw.example/gateway.do", APP_C, app_c_key(), certs)
    ///     .build()?;
    /// assert_eq!(client.known_alipay_cert_sns(), vec![gateway_cert().sn().to_owned()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn known_alipay_cert_sns(&self) -> Vec<String> {
        self.inner.certs.as_ref().map(CertState::sns).unwrap_or_default()
    }

    /// The gateway URL.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, ALIPAY_GATEWAY};
    /// # let key = PrivateKey::generate(1024)?;
    /// let client = Client::builder(ALIPAY_GATEWAY, "2021", key.clone(), key.public_key()?).build()?;
    /// assert_eq!(client.gateway(), "https://openapi.alipay.com/gateway.do");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn gateway(&self) -> &str {
        &self.inner.gateway
    }

    /// The app id.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// assert_eq!(client.app_id(), "2021");
    /// assert_eq!(client.clone().app_id(), "2021"); // clones share the configuration
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The request charset.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// use hongbao_client::Charset;
    /// assert_eq!(client.charset(), Charset::Utf8); // the default
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn charset(&self) -> Charset {
        self.inner.charset
    }

    /// The signature algorithm.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// use hongbao_client::SignType;
    /// assert_eq!(client.sign_type(), SignType::Rsa2); // the default
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_type(&self) -> SignType {
        self.inner.sign_type
    }

    pub(crate) fn sign(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
    ) -> Result<SignedRequest, Error> {
        let signer = Signer {
            app_id: &self.inner.app_id,
            charset: self.inner.charset,
            sign_type: self.inner.sign_type,
            key: &self.inner.app_private_key,
            cert_sns: self.inner.certs.as_ref().map(|certs| {
                (certs.certificates.app_cert_sn(), certs.certificates.alipay_root_cert_sn())
            }),
            encrypt_key: self.inner.encrypt_key.as_ref(),
        };
        let timestamp = (self.inner.clock)().format(TIMESTAMP_FORMAT).to_string();
        let parts = RequestParts {
            method,
            biz_content,
            notify_url: options.notify_url.as_deref(),
            return_url: options.return_url.as_deref(),
            app_auth_token: options.app_auth_token.as_deref(),
        };
        signer.sign(&parts, &timestamp)
    }

    /// The signed parameters of a call, as they would be sent (for logging or other
    /// transports). Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, CallOptions};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let params = client.signed_params("alipay.fund.coupon.operation.query",
    ///                                   r#"{"auth_no":"1","operation_id":"2"}"#, &CallOptions::new())?;
    /// assert_eq!(params.get("sign_type"), Some("RSA2"));
    /// assert!(params.get("sign").is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signed_params(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
    ) -> Result<Params, Error> {
        Ok(self.sign(method, biz_content, options)?.params())
    }

    /// Calls any method with a raw `biz_content` JSON text (sent and signed exactly as given)
    /// and returns the verified node on success. An error answer that verifies is
    /// [`ErrorKind::Gateway`]; ambiguous outcomes are retried (see [`RetryPolicy`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// # use hongbao_client::*;
    /// # client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    /// #     "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
    /// let node = client
    ///     .execute("alipay.fund.coupon.operation.query",
    ///              r#"{"out_order_no":"packet-1","out_request_no":"pay-1"}"#)
    ///     .await?;
    /// assert_eq!(node.get("status"), Some("SUCCESS"));
    /// assert_eq!(node.get("amount"), Some("10.00"));
    /// # Ok(()) }
    /// ```
    pub async fn execute(&self, method: &str, biz_content: &str) -> Result<Response, Error> {
        self.execute_with(method, biz_content, &CallOptions::new()).await
    }

    /// [`Client::execute`] with common parameters such as `notify_url`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// # let funded = client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"),
    /// #     OutRequestNo::new("pay-1"), "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
    /// // hongbao serves merchants only: an ISV's app_auth_token is refused (verifiably).
    /// let options = CallOptions::new().app_auth_token("202401BBa1c2d3");
    /// let biz = format!(r#"{{"auth_no":"{}","out_request_no":"refund-1","amount":"1.00","remark":"退回"}}"#, funded.auth_no);
    /// let err = client.execute_with("alipay.fund.coupon.order.refund", &biz, &options).await
    ///     .unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Gateway(_)));
    /// assert!(!err.outcome_unknown());
    /// # Ok(()) }
    /// ```
    pub async fn execute_with(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
    ) -> Result<Response, Error> {
        self.call(method, biz_content, options, &[]).await
    }

    /// A call in its `alipay_call` span, which carries `ids` (names among [`SPAN_IDS`]).
    pub(crate) async fn call(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
        ids: &[(&'static str, &str)],
    ) -> Result<Response, Error> {
        let span = tracing::info_span!(
            "alipay_call",
            method,
            app_id = self.inner.app_id.as_str(),
            out_order_no = tracing::field::Empty,
            out_request_no = tracing::field::Empty,
            out_biz_no = tracing::field::Empty,
            auth_no = tracing::field::Empty,
            operation_id = tracing::field::Empty,
            order_id = tracing::field::Empty,
            pay_fund_order_id = tracing::field::Empty,
            attempts = tracing::field::Empty,
            code = tracing::field::Empty,
            sub_code = tracing::field::Empty,
        );
        for (name, value) in ids {
            if SPAN_IDS.contains(name) {
                span.record(*name, *value);
            }
        }
        self.call_in_span(method, biz_content, options).instrument(span).await
    }

    async fn call_in_span(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
    ) -> Result<Response, Error> {
        let span = tracing::Span::current();
        let signed = self.sign(method, biz_content, options)?;
        let url = format!("{}?{}", self.inner.gateway, signed.query_string()?);
        let body = signed.body_string()?.into_bytes();
        let content_type =
            format!("application/x-www-form-urlencoded;charset={}", self.inner.charset.as_str());
        let mut attempt = 1;
        // Whether an attempt so far may have reached the gateway: then a last attempt that
        // could not connect does not make the outcome known.
        let mut maybe_sent = false;
        let result = loop {
            let result = self.send_once(&url, &content_type, &body, method).await;
            match result {
                Err(err) if err.is_retryable() && attempt < self.inner.retry.attempts_max() => {
                    maybe_sent |= err.outcome_unknown();
                    let pause = self.inner.retry.pause_after(attempt);
                    tracing::debug!(attempt, error = %err, ?pause, "resending the identical request");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(err) if maybe_sent && matches!(err.kind(), ErrorKind::Unreachable { .. }) => {
                    break Err(Error::new(ErrorKind::Transport {
                        detail: format!("{err}; an earlier attempt may have reached the gateway"),
                        timed_out: false,
                    })
                    .with_source(err));
                }
                result => break result,
            }
        };
        span.record("attempts", attempt);
        match &result {
            Ok(response) => {
                span.record("code", response.code());
            }
            Err(err) => {
                if let Some(gateway) = err.gateway() {
                    span.record("code", gateway.code());
                    if let Some(sub_code) = gateway.sub_code() {
                        span.record("sub_code", sub_code);
                    }
                }
                if err.outcome_unknown() {
                    tracing::warn!(error = %err, "the outcome is unknown: resend the identical request later, or query it");
                } else {
                    tracing::debug!(error = %err, "call failed");
                }
            }
        }
        result
    }

    async fn send_once(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        method: &str,
    ) -> Result<Response, Error> {
        let bytes = self.fetch(url, content_type, body).await?;
        self.verify_answer(&bytes, method).await
    }

    /// One HTTP exchange: the body of a 200 answer, at most `RESPONSE_BYTES_MAX` bytes.
    async fn fetch(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, Error> {
        let answer = self
            .inner
            .transport
            .post(HttpRequest::new(url, content_type, body))
            .await
            .map_err(TransportError::into_error)?;
        if answer.status != 200 {
            let detail = match answer.status {
                300..=399 => "a redirect: Alipay never redirects a call (is the URL right? page and app methods are opened, not called)",
                404 => "not found: check the gateway URL, which ends in /gateway.do",
                405 => "method not allowed: this URL is not the gateway, check that it ends in /gateway.do",
                _ => "Alipay answers every call with 200: this came from a proxy or a wrong URL",
            };
            return Err(Error::new(ErrorKind::HttpStatus {
                status: answer.status,
                detail: detail.to_owned(),
            }));
        }
        if answer.body.len() > RESPONSE_BYTES_MAX {
            return Err(Error::new(ErrorKind::Transport {
                detail: format!("response body over {RESPONSE_BYTES_MAX} bytes"),
                timed_out: false,
            }));
        }
        Ok(answer.body)
    }

    /// Verifies an answer and turns error answers into errors. Certificate mode picks the key by
    /// the answer's `alipay_cert_sn`, downloading and checking a certificate it does not know.
    async fn verify_answer(&self, bytes: &[u8], method: &str) -> Result<Response, Error> {
        let key = match &self.inner.certs {
            None => self.inner.alipay_public_key.clone(),
            Some(certs) => match self.named_cert_sn(bytes, method)? {
                Some(sn) => match certs.key(&sn) {
                    Some(key) => key,
                    None => self.download_alipay_cert(certs, &sn).await?,
                },
                None => self.inner.alipay_public_key.clone(),
            },
        };
        Response::verify_decrypting(
            bytes,
            method,
            self.inner.charset,
            self.inner.sign_type,
            &key,
            self.inner.encrypt_key.as_ref(),
        )?
        .into_result()
    }

    /// The `alipay_cert_sn` an answer names, before anything is trusted. A successful answer
    /// must name one (an error answer may not, as Alipay's unsigned ones).
    fn named_cert_sn(&self, bytes: &[u8], method: &str) -> Result<Option<String>, Error> {
        let Some(text) = self.inner.charset.decode(bytes) else { return Ok(None) };
        let key = response_key(method).unwrap_or_default();
        let Some(found) =
            find_signed_node(&text, &key).or_else(|| find_signed_node(&text, ERROR_RESPONSE_KEY))
        else {
            return Ok(None);
        };
        if let Some(sn) = found.cert_sn.clone().filter(|sn| !sn.trim().is_empty()) {
            return Ok(Some(sn));
        }
        let code = self
            .clear_node(&found)
            .and_then(|node| serde_json::from_str::<serde_json::Value>(&node).ok())
            .and_then(|node| node.get("code").and_then(|c| c.as_str().map(str::to_owned)));
        if code.as_deref() == Some("10000") {
            return Err(Error::signature(SignatureFailure::CertSnMissing));
        }
        Ok(None)
    }

    /// A found node's clear text, not yet trusted: decrypted with the client's key when the
    /// answer is encrypted (`None` when it cannot be).
    fn clear_node(&self, found: &SignedNode<'_>) -> Option<String> {
        match found.ciphertext() {
            None => Some(found.node.to_owned()),
            Some(ciphertext) => {
                let bytes = self.inner.encrypt_key.as_ref()?.decrypt(ciphertext).ok()?;
                self.inner.charset.decode(&bytes)
            }
        }
    }

    /// `alipay.open.app.alipaycert.download` for an SN the client does not know: the certificate
    /// must have that SN and chain to the root bundle, and the download's own answer must verify
    /// with its key; only then is it kept.
    async fn download_alipay_cert(&self, certs: &CertState, sn: &str) -> Result<PublicKey, Error> {
        let untrusted = |reason: String| {
            Error::signature(SignatureFailure::UntrustedCertificate { sn: sn.to_owned(), reason })
        };
        let biz = serde_json::json!({ "alipay_cert_sn": sn }).to_string();
        let signed = self.sign(ALIPAYCERT_DOWNLOAD, &biz, &CallOptions::new())?;
        let url = format!("{}?{}", self.inner.gateway, signed.query_string()?);
        let content_type =
            format!("application/x-www-form-urlencoded;charset={}", self.inner.charset.as_str());
        let body = signed.body_string()?.into_bytes();
        let bytes = self.fetch(&url, &content_type, &body).await?;
        // Read the content unverified: the certificate is what gets checked, then the answer.
        let text = self.inner.charset.decode(&bytes).unwrap_or_default();
        let key = response_key(ALIPAYCERT_DOWNLOAD).unwrap_or_default();
        let content = find_signed_node(&text, &key)
            .and_then(|found| self.clear_node(&found))
            .and_then(|node| serde_json::from_str::<serde_json::Value>(&node).ok())
            .and_then(|node| {
                node.get("alipay_cert_content").and_then(|c| c.as_str().map(str::to_owned))
            })
            .ok_or_else(|| untrusted("the download answered no alipay_cert_content".into()))?;
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| untrusted("alipay_cert_content is not base64 of a PEM text".into()))?;
        let now_s = chrono::Utc::now().timestamp();
        let candidate = certs.check(sn, &pem, now_s)?;
        Response::verify_decrypting(
            &bytes,
            ALIPAYCERT_DOWNLOAD,
            self.inner.charset,
            self.inner.sign_type,
            &candidate,
            self.inner.encrypt_key.as_ref(),
        )
        .map_err(|err| untrusted(format!("the download answer: {err}")))?
        .into_result()?;
        certs.keep(sn, candidate.clone());
        Ok(candidate)
    }

    /// Verifies a `result` the wallet (the Alipay app) handed over after an app.pay of `method`.
    pub(crate) fn verify_wallet_result(
        &self,
        result: &str,
        method: &str,
    ) -> Result<Response, Error> {
        // Certificate mode: the result names the certificate that signed it; only a known one is
        // used here (this call sends nothing, so it downloads nothing).
        let named = find_signed_node(result, &response_key(method).unwrap_or_default())
            .and_then(|found| found.cert_sn);
        let key = match (&self.inner.certs, named) {
            (Some(certs), Some(sn)) => certs.key(&sn).ok_or_else(|| {
                Error::signature(SignatureFailure::UntrustedCertificate {
                    sn,
                    reason: "not known to this client yet (make any call first)".into(),
                })
            })?,
            _ => self.inner.alipay_public_key.clone(),
        };
        // The wallet hands the result over in clear, encrypted order string or not (the Java
        // SDK's parseAppSyncResult decrypts nothing).
        Response::verify_text(result, method, self.inner.charset, self.inner.sign_type, &key, None)?
            .into_result()
    }

    /// Verifies a notify's decoded parameters with the Alipay public key (see [`Notify`]).
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, Params, ErrorKind, SignatureFailure};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let forged: Params = [("notify_id", "n1"), ("amount", "1.00"), ("sign", "AAAA")].into_iter().collect();
    /// let err = client.verify_notify(&forged).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_notify(&self, params: &Params) -> Result<Notify, Error> {
        Notify::verify(params, self.inner.charset, &self.inner.alipay_public_key)
    }

    /// Verifies a raw notify body (`application/x-www-form-urlencoded`).
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, SignType, Charset, Params};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let params: Params = [("notify_id", "n1"), ("amount", "1.00"), ("sign_type", "RSA2")].into_iter().collect();
    /// let sign = hongbao_protocol::sign_content::sign_notify(&params, Charset::Utf8, SignType::Rsa2, &key)?;
    /// let body = format!("notify_id=n1&amount=1.00&sign_type=RSA2&sign={}",
    ///                    sign.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
    /// let notify = client.verify_notify_form(body.as_bytes())?;
    /// assert_eq!(notify.notify_id.as_deref(), Some("n1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_notify_form(&self, body: &[u8]) -> Result<Notify, Error> {
        Notify::verify_form(body, self.inner.charset, &self.inner.alipay_public_key)
    }

    /// What [`verify_notify_form`](Client::verify_notify_form) checks the signature over, for
    /// the same body (see [`Notify::sign_content_of_form`]).
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let content = client.notify_sign_content(b"notify_id=n1&amount=7.00&sign=forged")?;
    /// assert_eq!(content, "amount=7.00&notify_id=n1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notify_sign_content(&self, body: &[u8]) -> Result<String, Error> {
        Notify::sign_content_of_form(body, self.inner.charset)
    }

    /// Verifies an `alipay.fund.trans.order.changed` message's decoded parameters with the
    /// Alipay public key (certificate mode: the configured Alipay certificate's; messages name
    /// no certificate). See [`TransOrderChanged`].
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let mut params: Params = [("msg_method", "alipay.fund.trans.order.changed"),
    ///     ("biz_content", r#"{"biz_scene":"REFUND","status":"SUCCESS","trans_amount":"9.00"}"#),
    ///     ("notify_id", "n2"), ("charset", "utf-8"), ("sign_type", "RSA2")].into_iter().collect();
    /// params.insert("sign", hongbao_protocol::sign_content::sign_notify(&params, Charset::Utf8, SignType::Rsa2, &key)?);
    /// let returned = client.verify_trans_message(&params)?;
    /// assert_eq!(returned.biz_scene, Some(BizScene::Refund));
    /// params.insert("notify_id", "n3"); // changed after signing
    /// assert!(client.verify_trans_message(&params).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_trans_message(&self, params: &Params) -> Result<TransOrderChanged, Error> {
        TransOrderChanged::verify(params, self.inner.charset, &self.inner.alipay_public_key)
    }

    /// Verifies a raw `alipay.fund.trans.order.changed` message body (form-encoded), as the
    /// application gateway (应用网关) receives it.
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let mut params: Params = [("msg_method", "alipay.fund.trans.order.changed"),
    ///     ("biz_content", r#"{"biz_scene":"PERSONAL_PAY","status":"CLOSED"}"#), ("charset", "utf-8")]
    ///     .into_iter().collect();
    /// params.insert("sign", hongbao_protocol::sign_content::sign_notify(&params, Charset::Utf8, SignType::Rsa2, &key)?);
    /// let body = params.to_form(Charset::Utf8).unwrap();
    /// let closed = client.verify_trans_message_form(&body)?;
    /// assert_eq!(closed.status, Some(TransStatus::Closed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_trans_message_form(&self, body: &[u8]) -> Result<TransOrderChanged, Error> {
        TransOrderChanged::verify_form(body, self.inner.charset, &self.inner.alipay_public_key)
    }
}

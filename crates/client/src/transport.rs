//! The HTTP exchange behind every call, as a small trait ([`Transport`]): one POST, its status
//! and body. The client ships one built on reqwest, configured through the builder (timeouts,
//! proxy, TLS roots); reqwest's types stay out of the public API, so upgrading it is not a
//! breaking change for users. A program with an HTTP stack of its own implements `Transport`.
//!
//! The request a transport gets is final: signed, encoded, the signature in its URL. It must
//! send it unchanged, never follow redirects (an Alipay gateway answers every call with HTTP
//! 200; anything else proves the URL wrong and is reported, not followed), and never log the URL.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One POST to the gateway.
///
/// ```
/// use hongbao_client::HttpRequest;
/// let request = HttpRequest::new("https://gw.example/gateway.do?app_id=2021", "text/plain", b"a=1");
/// assert_eq!(request.body, b"a=1");
/// assert_eq!(request.body_bytes_max, hongbao_client::RESPONSE_BYTES_MAX);
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct HttpRequest<'a> {
    /// The gateway URL with the signed common parameters in its query (secret-free but signed:
    /// do not log it).
    pub url: &'a str,
    /// `Content-Type`, e.g. `application/x-www-form-urlencoded;charset=utf-8`.
    pub content_type: &'a str,
    /// The form body (`biz_content`).
    pub body: &'a [u8],
    /// The largest answer body to read; a transport stops reading beyond it.
    pub body_bytes_max: usize,
}

impl<'a> HttpRequest<'a> {
    /// A request for `url`, with the client's body limit.
    ///
    /// ```
    /// use hongbao_client::HttpRequest;
    /// let request = HttpRequest::new("http://127.0.0.1:9999/gateway.do", "text/plain", b"");
    /// assert_eq!(request.content_type, "text/plain");
    /// ```
    pub fn new(url: &'a str, content_type: &'a str, body: &'a [u8]) -> Self {
        HttpRequest { url, content_type, body, body_bytes_max: crate::RESPONSE_BYTES_MAX }
    }
}

/// What came back: the status and the body bytes, exactly as received (the signature covers
/// them).
///
/// ```
/// use hongbao_client::HttpResponse;
/// let answer = HttpResponse::new(200, b"{}".to_vec());
/// assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{}"[..]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// An answer.
    ///
    /// ```
    /// use hongbao_client::HttpResponse;
    /// assert_eq!(HttpResponse::new(404, Vec::new()).status, 404);
    /// ```
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        HttpResponse { status, body }
    }
}

/// No answer arrived: the connection failed, a timeout expired, the body could not be read.
///
/// ```
/// use hongbao_client::TransportError;
/// let err = TransportError::new("connection refused");
/// assert!(!err.is_timeout());
/// assert!(TransportError::timeout("no answer in 15 s").is_timeout());
/// assert_eq!(err.to_string(), "connection refused");
/// ```
#[derive(Debug)]
pub struct TransportError {
    detail: String,
    timed_out: bool,
    /// No connection was made: not a byte of the request left.
    unreachable: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TransportError {
    /// A failure other than a timeout.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// assert_eq!(TransportError::new("reset").to_string(), "reset");
    /// ```
    pub fn new(detail: impl Into<String>) -> Self {
        TransportError { detail: detail.into(), timed_out: false, unreachable: false, source: None }
    }

    /// A timeout: the gateway may still be processing the request.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// assert!(TransportError::timeout("read timed out").is_timeout());
    /// ```
    pub fn timeout(detail: impl Into<String>) -> Self {
        TransportError { detail: detail.into(), timed_out: true, unreachable: false, source: None }
    }

    /// No connection could be made (refused, no route, a name that does not resolve, a TLS
    /// handshake that failed): nothing of the request was sent. Only say so when it is certain;
    /// the caller then reports that nothing happened instead of an unknown outcome.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// let err = TransportError::unreachable("connection refused");
    /// assert!(err.is_unreachable() && !err.is_timeout());
    /// ```
    pub fn unreachable(detail: impl Into<String>) -> Self {
        TransportError { detail: detail.into(), timed_out: false, unreachable: true, source: None }
    }

    /// True when no connection was made, so nothing was sent.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// assert!(!TransportError::new("reset by peer").is_unreachable());
    /// ```
    pub fn is_unreachable(&self) -> bool {
        self.unreachable
    }

    /// Keeps the underlying error as the `source()`.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// use std::error::Error;
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
    /// let err = TransportError::new("send failed").with_source(io);
    /// assert_eq!(err.source().map(|s| s.to_string()).as_deref(), Some("reset by peer"));
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// True when a timeout expired.
    ///
    /// ```
    /// use hongbao_client::TransportError;
    /// assert!(!TransportError::new("refused").is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.timed_out
    }

    /// The client's error for this failure, the underlying error kept as its source.
    pub(crate) fn into_error(self) -> crate::Error {
        let kind = if self.unreachable {
            crate::ErrorKind::Unreachable { detail: self.detail }
        } else {
            crate::ErrorKind::Transport { detail: self.detail, timed_out: self.timed_out }
        };
        let error = crate::Error::new(kind);
        match self.source {
            Some(source) => error.with_boxed_source(source),
            None => error,
        }
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// The future a [`Transport`] returns.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// Sends one [`HttpRequest`] and returns what came back, without interpreting it: the client
/// checks the status, the size and the signature itself.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hongbao_client::{Client, ErrorKind, HttpRequest, HttpResponse, PrivateKey, RetryPolicy,
///                      Transport, TransportError, TransportFuture};
/// use std::sync::{Arc, Mutex};
///
/// /// Answers every call with HTTP 503 and counts the calls (a stand-in for your HTTP stack).
/// #[derive(Default)]
/// struct Unavailable(Mutex<u32>);
/// impl Transport for Unavailable {
///     fn post<'a>(&'a self, request: HttpRequest<'a>) -> TransportFuture<'a> {
///         Box::pin(async move {
///             assert!(request.url.contains("&sign="));
///             *self.0.lock().unwrap() += 1;
///             Ok::<_, TransportError>(HttpResponse::new(503, b"busy".to_vec()))
///         })
///     }
/// }
/// let transport = Arc::new(Unavailable::default());
/// let key = PrivateKey::generate(1024)?;
/// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
///     .transport(transport.clone())
///     .retry(RetryPolicy::new(2, std::time::Duration::ZERO, std::time::Duration::ZERO))
///     .build()?;
/// let err = client.execute("alipay.fund.coupon.operation.query", "{}").await.unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::HttpStatus { status: 503, .. }));
/// assert_eq!(*transport.0.lock().unwrap(), 2); // a 503 is retried
/// # Ok(()) }
/// ```
pub trait Transport: Send + Sync {
    /// Sends the request.
    fn post<'a>(&'a self, request: HttpRequest<'a>) -> TransportFuture<'a>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn post<'a>(&'a self, request: HttpRequest<'a>) -> TransportFuture<'a> {
        (**self).post(request)
    }
}

/// The configuration of the built-in transport.
#[derive(Clone, Debug)]
pub(crate) struct HttpOptions {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub proxy: Option<String>,
    pub root_certificates_pem: Vec<String>,
    pub built_in_roots: bool,
    pub user_agent: &'static str,
}

/// The built-in transport: one reqwest connection pool.
pub(crate) struct ReqwestTransport {
    http: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new(options: &HttpOptions) -> Result<ReqwestTransport, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(options.user_agent)
            // An Alipay gateway never redirects a call: a redirect proves the URL (or the
            // method: page and app methods are not called, they are opened) wrong.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(proxy) = &options.proxy {
            let proxy =
                reqwest::Proxy::all(proxy).map_err(|err| format!("proxy {proxy:?}: {err}"))?;
            builder = builder.proxy(proxy);
        }
        let mut roots = Vec::new();
        for pem in &options.root_certificates_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|err| format!("TLS root certificates: {err}"))?;
            if certs.is_empty() {
                return Err("TLS root certificates: no certificate in the PEM text".into());
            }
            roots.extend(certs);
        }
        builder = if options.built_in_roots {
            builder.tls_certs_merge(roots)
        } else {
            builder.tls_certs_only(roots)
        };
        let http = builder.build().map_err(|err| format!("the HTTP client: {err}"))?;
        Ok(ReqwestTransport { http })
    }
}

/// A reqwest error as text, its causes included, without the URL (which carries the signature).
fn describe(err: reqwest::Error) -> TransportError {
    let err = err.without_url();
    let mut detail = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        cause = inner.source();
    }
    // reqwest reports a failure while connecting (DNS, TCP, TLS handshake) as `is_connect`:
    // the request had not been written yet. A reused pooled connection that breaks is not one.
    let described = if err.is_connect() {
        TransportError::unreachable(detail)
    } else if err.is_timeout() {
        TransportError::timeout(detail)
    } else {
        TransportError::new(detail)
    };
    described.with_source(err)
}

impl Transport for ReqwestTransport {
    fn post<'a>(&'a self, request: HttpRequest<'a>) -> TransportFuture<'a> {
        Box::pin(async move {
            let mut answer = self
                .http
                .post(request.url)
                .header(reqwest::header::CONTENT_TYPE, request.content_type)
                .body(request.body.to_vec())
                .send()
                .await
                .map_err(describe)?;
            let status = answer.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await.map_err(describe)? {
                body.extend_from_slice(&chunk);
                if body.len() > request.body_bytes_max {
                    // The client refuses it by its length; reading on would only cost memory.
                    break;
                }
            }
            Ok(HttpResponse::new(status, body))
        })
    }
}

//! [`Client`]: configuration, the HTTP exchange with retries, and the typed calls.
//!
//! One `reqwest::Client` (a connection pool) per `Client`; cloning a `Client` shares it. Every
//! call is signed once, sent as the official Python SDK sends it (POST, common parameters in the
//! query, `biz_content` in a form body labelled with the charset), and its answer verified
//! (`Response::verify`) before anything in it is read.

use crate::coupon::{
    AgreementPayRequest, AppPayRequest, DisburseRequest, OperationQueryRequest,
    OperationQueryResponse, OperationResponse, PagePayRequest, RefundRequest, AGREEMENT_PAY,
    APP_PAY, DISBURSE, OPERATION_QUERY, PAGE_PAY, REFUND,
};
use crate::error::{Error, ErrorKind};
use crate::notify::Notify;
use crate::request::{RequestParts, SignedRequest, Signer, TIMESTAMP_FORMAT};
use crate::response::Response;
use crate::retry::RetryPolicy;
use chrono::NaiveDateTime;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_sign::{PrivateKey, PublicKey};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body read: red packet answers are well under 4 KiB; a bigger body is a
/// misconfigured URL, not an answer.
pub const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

/// Default total timeout of one HTTP attempt (the official Python SDK's 15 s).
pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(15);
/// Default connect timeout (the official Java SDK's 3 s).
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(3);

const USER_AGENT: &str = concat!("hongbao-client/", env!("CARGO_PKG_VERSION"));

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
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Sets `notify_url`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// Sets `return_url`.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Sets `app_auth_token`.
    pub fn app_auth_token(mut self, token: impl Into<String>) -> Self {
        self.app_auth_token = Some(token.into());
        self
    }
}

/// Builds a [`Client`]. Defaults: utf-8, RSA2, 15 s timeout, 3 s connect timeout,
/// [`RetryPolicy::default`], local time for `timestamp` (as every official SDK sends).
///
/// ```
/// use hongbao_client::{Client, Charset, SignType, RetryPolicy, PrivateKey, HONGBAO_LOCAL_GATEWAY};
/// let app_key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
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
    alipay_public_key: PublicKey,
    charset: Charset,
    sign_type: SignType,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    clock: Option<Clock>,
}

impl ClientBuilder {
    /// The request (and response) charset.
    pub fn charset(mut self, charset: Charset) -> Self {
        self.charset = charset;
        self
    }

    /// RSA2 (SHA256withRSA, recommended) or RSA (SHA1withRSA).
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Total time for one attempt (connect, send, read the answer).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy for ambiguous outcomes (see [`RetryPolicy`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses this HTTP client (proxies, TLS roots, pools of your own). `timeout` and
    /// `connect_timeout` then are the given client's.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The source of the `timestamp` parameter (local wall time by default). Tests pin it;
    /// the gateway accepts only times near its own clock.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, CashierPayRequest, Fen};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
    /// let fixed = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap();
    /// let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?)
    ///     .clock(move || fixed)
    ///     .build()?;
    /// let url = client.page_pay_url(&CashierPayRequest::new("o", "r", "t", Fen::from_fen(1)))?;
    /// assert!(url.starts_with("https://gw.example/gateway.do?timestamp=2024-01-02+03%3A04%3A05&app_id=2021&"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> NaiveDateTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the configuration and builds the client (and its connection pool).
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
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(USER_AGENT)
                .build()
                .map_err(|err| {
                    Error::invalid("the HTTP client cannot be built").with_source(err)
                })?,
        };
        let clock: Clock = match self.clock {
            Some(clock) => clock,
            None => Arc::new(|| chrono::Local::now().naive_local()),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                gateway: self.gateway,
                app_id: self.app_id,
                app_private_key: self.app_private_key,
                alipay_public_key: self.alipay_public_key,
                charset: self.charset,
                sign_type: self.sign_type,
                retry: self.retry,
                http,
                clock,
            }),
        })
    }
}

/// A client for one app on one gateway. Cheap to clone (shared connection pool); use one per
/// app for the life of the program.
///
/// ```no_run
/// use hongbao_client::{Client, PrivateKey, PublicKey, AgreementPayRequest, Fen, HONGBAO_LOCAL_GATEWAY};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app_key = PrivateKey::from_text(&std::fs::read_to_string("hongbao-data/keys/app_private.pem")?)?;
/// let alipay_key = PublicKey::from_text(&std::fs::read_to_string("hongbao-data/keys/gateway_public.pem")?)?;
/// let client = Client::builder(HONGBAO_LOCAL_GATEWAY, "2021000000000001", app_key, alipay_key).build()?;
/// let paid = client
///     .agreement_pay(&AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000),
///                                              "2088102000000001"))
///     .await?;
/// println!("{} {}", paid.auth_no, paid.status.as_str());
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
    http: reqwest::Client,
    clock: Clock,
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
            alipay_public_key,
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            timeout: TIMEOUT_DEFAULT,
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            retry: RetryPolicy::default(),
            http: None,
            clock: None,
        }
    }

    /// The gateway URL.
    pub fn gateway(&self) -> &str {
        &self.inner.gateway
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The request charset.
    pub fn charset(&self) -> Charset {
        self.inner.charset
    }

    /// The signature algorithm.
    pub fn sign_type(&self) -> SignType {
        self.inner.sign_type
    }

    fn sign(
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
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
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
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// let node = client
    ///     .execute("alipay.fund.coupon.operation.query",
    ///              r#"{"out_order_no":"packet-1","out_request_no":"pay-1"}"#)
    ///     .await?;
    /// println!("{} is {}", node.get("operation_id").unwrap_or(""), node.get("status").unwrap_or(""));
    /// # Ok(()) }
    /// ```
    pub async fn execute(&self, method: &str, biz_content: &str) -> Result<Response, Error> {
        self.execute_with(method, biz_content, &CallOptions::new()).await
    }

    /// [`Client::execute`] with common parameters such as `notify_url`.
    ///
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// use hongbao_client::CallOptions;
    /// let options = CallOptions::new().notify_url("https://shop.example/notify");
    /// let node = client.execute_with("alipay.fund.coupon.order.refund",
    ///     r#"{"auth_no":"2026111810002001","out_request_no":"refund-1","amount":"1.00","remark":"退回"}"#,
    ///     &options).await?;
    /// println!("{}", node.node());
    /// # Ok(()) }
    /// ```
    pub async fn execute_with(
        &self,
        method: &str,
        biz_content: &str,
        options: &CallOptions,
    ) -> Result<Response, Error> {
        let signed = self.sign(method, biz_content, options)?;
        let url = format!("{}?{}", self.inner.gateway, signed.query_string()?);
        let body = signed.body_string()?.into_bytes();
        let content_type =
            format!("application/x-www-form-urlencoded;charset={}", self.inner.charset.as_str());
        let mut attempt = 1;
        loop {
            let result = self.send_once(&url, &content_type, &body, method).await;
            match result {
                Err(err) if err.is_retryable() && attempt < self.inner.retry.attempts_max() => {
                    tokio::time::sleep(self.inner.retry.backoff_after(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn send_once(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        method: &str,
    ) -> Result<Response, Error> {
        let transport = |err: reqwest::Error| {
            // The URL carries the signature: keep it out of messages and logs.
            let err = err.without_url();
            let mut detail = err.to_string();
            let mut cause = std::error::Error::source(&err);
            while let Some(inner) = cause {
                detail.push_str(": ");
                detail.push_str(&inner.to_string());
                cause = inner.source();
            }
            Error::new(ErrorKind::Transport {
                detail,
                timed_out: err.is_timeout(),
                http_status: None,
            })
            .with_source(err)
        };
        let mut http_response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_vec())
            .send()
            .await
            .map_err(transport)?;
        let status = http_response.status();
        if status != reqwest::StatusCode::OK {
            return Err(Error::new(ErrorKind::Transport {
                detail: format!("HTTP {status} (gateways answer every call with 200)"),
                timed_out: false,
                http_status: Some(status.as_u16()),
            }));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = http_response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > RESPONSE_BYTES_MAX {
                return Err(Error::new(ErrorKind::Transport {
                    detail: format!("response body over {RESPONSE_BYTES_MAX} bytes"),
                    timed_out: false,
                    http_status: None,
                }));
            }
            bytes.extend_from_slice(&chunk);
        }
        Response::verify(
            &bytes,
            method,
            self.inner.charset,
            self.inner.sign_type,
            &self.inner.alipay_public_key,
        )?
        .into_result()
    }

    /// `alipay.fund.coupon.order.agreement.pay`: funds a packet from the merchant's account.
    ///
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request = AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001")
    ///     .notify_url("https://shop.example/notify");
    /// let paid = client.agreement_pay(&request).await?;
    /// println!("auth_no {}", paid.auth_no);
    /// # Ok(()) }
    /// ```
    pub async fn agreement_pay(
        &self,
        request: &AgreementPayRequest,
    ) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let response = self.execute_with(AGREEMENT_PAY, &request.biz_content(), &options).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.order.disburse`: pays part of a packet to a user.
    ///
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let claim = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                  "红包领取", Fen::from_fen(300), Payee::UserId("2088102000000002".into()));
    /// let paid = client.disburse(&claim).await?;
    /// println!("{} paid at {:?}", paid.amount, paid.gmt_trans);
    /// # Ok(()) }
    /// ```
    pub async fn disburse(&self, request: &DisburseRequest) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let response = self.execute_with(DISBURSE, &request.biz_content(), &options).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.order.refund`: returns unclaimed money to the payer.
    ///
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// use hongbao_client::{RefundRequest, Fen};
    /// let back = client.refund(&RefundRequest::new("2026111810002001", "refund-1", Fen::from_fen(700), "退回")).await;
    /// match back {
    ///     Ok(refund) => println!("returned {}", refund.amount),
    ///     Err(err) if err.gateway().and_then(|g| g.sub_code()) == Some("MONEY_NOT_ENOUGH") => {}
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn refund(&self, request: &RefundRequest) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let response = self.execute_with(REFUND, &request.biz_content(), &options).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.operation.query`: one operation's details.
    ///
    /// ```no_run
    /// # async fn run(client: hongbao_client::Client) -> Result<(), hongbao_client::Error> {
    /// use hongbao_client::{OperationQueryRequest, OrderRef, OperationRef};
    /// let refund = client
    ///     .operation_query(&OperationQueryRequest::new(OrderRef::AuthNo("2026111810002001".into()),
    ///                                                  OperationRef::OutRequestNo("refund-1".into())))
    ///     .await?;
    /// println!("{} {}", refund.operation_type.as_str(), refund.status.as_str());
    /// # Ok(()) }
    /// ```
    pub async fn operation_query(
        &self,
        request: &OperationQueryRequest,
    ) -> Result<OperationQueryResponse, Error> {
        let response = self.execute(OPERATION_QUERY, &request.biz_content()).await?;
        OperationQueryResponse::from_response(&response)
    }

    fn cashier_options(request: &PagePayRequest) -> CallOptions {
        CallOptions {
            notify_url: request.notify_url.clone(),
            return_url: request.return_url.clone(),
            ..CallOptions::new()
        }
    }

    /// `alipay.fund.coupon.order.page.pay` as a GET URL for the payer's browser (the Python
    /// SDK's `page_execute(request, http_method="GET")`, byte for byte). Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, PagePayRequest, Fen};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let url = client.page_pay_url(&PagePayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(100)))?;
    /// assert!(url.contains("&method=alipay.fund.coupon.order.page.pay&"));
    /// assert!(url.contains("&biz_content=%7B%22out_order_no%22%3A%22packet-1%22"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_pay_url(&self, request: &PagePayRequest) -> Result<String, Error> {
        let options = Client::cashier_options(request);
        self.sign(PAGE_PAY, &request.biz_content(), &options)?.page_url(&self.inner.gateway)
    }

    /// `alipay.fund.coupon.order.page.pay` as an auto-submitting HTML form (POST), the markup
    /// of the Python SDK's `page_execute(request)`. Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, PagePayRequest, Fen};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let html = client.page_pay_form(&PagePayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(100)))?;
    /// assert!(html.starts_with("<form name=\"punchout_form\" method=\"post\" action=\"https://gw.example/gateway.do?timestamp="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_pay_form(&self, request: &PagePayRequest) -> Result<String, Error> {
        let options = Client::cashier_options(request);
        self.sign(PAGE_PAY, &request.biz_content(), &options)?.page_form(&self.inner.gateway)
    }

    /// `alipay.fund.coupon.order.app.pay` as the order string the merchant app hands to the
    /// Alipay app SDK (the Python SDK's `sdk_execute`, byte for byte). Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, AppPayRequest, Fen};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let order = client.app_pay_order_string(&AppPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(100)))?;
    /// assert!(order.starts_with("timestamp="));
    /// assert!(order.contains("&sign_type=RSA2&sign="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_pay_order_string(&self, request: &AppPayRequest) -> Result<String, Error> {
        let options = Client::cashier_options(request);
        self.sign(APP_PAY, &request.biz_content(), &options)?.order_string()
    }

    /// Verifies the `result` the Alipay app hands back after an app.pay (a signed
    /// `{"alipay_fund_coupon_order_app_pay_response":{…},"sign":"…"}` text) on your server,
    /// and reads it. Never trust it unverified on the device.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, SignType, OperationStatus};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"A1","out_order_no":"packet-1","operation_id":"O1","out_request_no":"pay-1","amount":"1.00","status":"SUCCESS","gmt_trans":"2024-01-02 03:04:05"}"#;
    /// let sign = key.sign(SignType::Rsa2, node.as_bytes())?; // done by Alipay
    /// let result = format!(r#"{{"alipay_fund_coupon_order_app_pay_response":{node},"sign":"{sign}","sign_type":"RSA2"}}"#);
    /// let paid = client.verify_app_pay_result(&result)?;
    /// assert_eq!(paid.status, OperationStatus::Success);
    /// assert!(client.verify_app_pay_result(&result.replace("1.00", "9.00")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_app_pay_result(&self, result: &str) -> Result<OperationResponse, Error> {
        let response = Response::verify_text(
            result,
            APP_PAY,
            self.inner.charset,
            self.inner.sign_type,
            &self.inner.alipay_public_key,
        )?
        .into_result()?;
        OperationResponse::from_response(&response)
    }

    /// Verifies a notify's decoded parameters with the Alipay public key (see [`Notify`]).
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, Params, ErrorKind, SignatureFailure};
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
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
    /// # let key = PrivateKey::from_text(include_str!("../../sign/testdata/vector_private_pkcs1.pem"))?;
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
}

//! The SDK's one error type: `Error { kind }` with a `#[non_exhaustive]` [`ErrorKind`].
//!
//! Five things can go wrong and callers must tell them apart, because they call for different
//! actions: the request could not be built (fix the code or the configuration), no connection
//! could be made (nothing was sent: start the server or fix the URL), the transport failed after
//! that (the outcome is unknown: retry the identical request or query), the answer could not
//! be verified (the outcome is unknown *and* the data is untrusted), or the gateway answered,
//! verifiably, with an error (a business outcome: read `sub_code`).

use std::fmt;

/// Any failure of a client call. `kind()` says which; `outcome_unknown()` says whether the
/// request may have taken effect anyway.
///
/// ```
/// use hongbao_client::{Error, ErrorKind};
///
/// fn describe(err: &Error) -> &'static str {
///     match err.kind() {
///         ErrorKind::Gateway(gateway) if gateway.sub_code() == Some("MONEY_NOT_ENOUGH") => {
///             "not enough money"
///         }
///         ErrorKind::Gateway(_) => "refused by the gateway",
///         ErrorKind::Transport { .. } | ErrorKind::Signature(_) => "unknown: query before resending",
///         _ => "bug or configuration",
///     }
/// }
/// let err: Error = ErrorKind::Transport { detail: "timed out".into(), timed_out: true }.into();
/// assert_eq!(describe(&err), "unknown: query before resending");
/// assert!(err.outcome_unknown());
/// ```
#[derive(Debug)]
pub struct Error {
    // Boxed so a `Result<_, Error>` stays one pointer wide on the success path.
    inner: Box<ErrorInner>,
}

#[derive(Debug)]
struct ErrorInner {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong. New kinds may be added, so a `match` needs a `_` arm.
///
/// ```
/// use hongbao_client::{ErrorKind, SignatureFailure};
/// let kind = ErrorKind::Signature(SignatureFailure::Unsigned);
/// assert_eq!(kind.to_string(), "response rejected: it carries no signature");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be built or the client configured: a key or URL that does not
    /// load, a value the charset cannot hold. Nothing was sent.
    #[error("invalid request or configuration: {detail}")]
    Invalid {
        /// What is wrong.
        detail: String,
    },
    /// No connection to the gateway could be made (refused, no route, a name that does not
    /// resolve, a TLS handshake that failed), on every attempt: nothing was sent, so nothing
    /// happened. The client's retry loop tries again; when it gives up, the request can be sent
    /// later as it is, or not at all.
    #[error("cannot connect to the gateway (nothing was sent): {detail}")]
    Unreachable {
        /// What failed.
        detail: String,
    },
    /// No answer arrived after the request went out, or might have: a connection that broke,
    /// a timeout, a body that could not be read or was over
    /// [`RESPONSE_BYTES_MAX`](crate::RESPONSE_BYTES_MAX). The request may or may not have
    /// taken effect; the client's retry loop resends it.
    #[error("transport failure: {detail}")]
    Transport {
        /// What failed.
        detail: String,
        /// True when a timeout expired (the gateway may still be processing the request).
        timed_out: bool,
    },
    /// An HTTP answer other than 200. Alipay answers every call, errors included, with 200, so
    /// this came from something else: a proxy or load balancer (5xx, 408, 429: may be passing,
    /// retried), or a wrong URL or a method that is opened rather than called (404, a redirect,
    /// other 4xx: retrying cannot help, nothing reached a gateway).
    #[error("HTTP {status}: {detail}")]
    HttpStatus {
        /// The status.
        status: u16,
        /// What it means here.
        detail: String,
    },
    /// An answer arrived but its signature did not verify with the Alipay public key, so
    /// nothing in it is trusted or returned. The request may or may not have taken effect.
    #[error("response rejected: {0}")]
    Signature(SignatureFailure),
    /// The gateway answered, with a valid signature, that the call failed (`code` other than
    /// 10000, or a `sub_code`).
    #[error("{0}")]
    Gateway(GatewayError),
    /// The gateway answered success with a valid signature, but a documented field is missing
    /// or unreadable (for example an amount that is not a decimal). The verified node is kept.
    #[error("verified response has a bad field {field}: {detail}")]
    Malformed {
        /// The field.
        field: String,
        /// What is wrong with it.
        detail: String,
        /// The exact verified node text, for diagnosis.
        node: String,
    },
}

/// Why a response was refused before any of it was parsed.
///
/// ```
/// use hongbao_client::SignatureFailure;
/// assert_eq!(SignatureFailure::Mismatch.to_string(),
///            "its signature does not verify with the Alipay public key");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureFailure {
    /// The body is not valid text in the request charset.
    #[error("the body is not valid {charset}")]
    Undecodable {
        /// The charset expected.
        charset: &'static str,
    },
    /// The body has neither a `<method>_response` nor an `error_response` object.
    #[error("no response node (neither {expected} nor error_response) in the body")]
    NoResponseNode {
        /// The node name looked for.
        expected: String,
    },
    /// No `sign`, or an empty one. Alipay leaves a few gateway errors unsigned (for example
    /// `isv.invalid-app-id`); this SDK refuses them all, since an unsigned answer can come
    /// from anyone.
    #[error("it carries no signature")]
    Unsigned,
    /// The signature does not verify over the node bytes as received.
    #[error("its signature does not verify with the Alipay public key")]
    Mismatch,
    /// Certificate mode: a successful answer that names no `alipay_cert_sn` (the Java SDK's
    /// "ALIPAY_CERT_SN is Empty").
    #[error("it names no alipay_cert_sn (certificate mode needs it on every successful answer)")]
    CertSnMissing,
    /// Certificate mode: the certificate an answer names could not be trusted (its download
    /// failed, or it does not chain to the root bundle).
    #[error("the Alipay certificate {sn} it names cannot be trusted: {reason}")]
    UntrustedCertificate {
        /// The `alipay_cert_sn` of the answer.
        sn: String,
        /// Why.
        reason: String,
    },
}

/// A verified error answer: Alipay's `code`, `msg`, `sub_code` and `sub_msg`, plus the node.
///
/// ```
/// use hongbao_client::GatewayError;
/// let err = GatewayError::new("40004", "Business Failed", Some("MONEY_NOT_ENOUGH"), Some("余额不足"));
/// assert_eq!(err.code(), "40004");
/// assert!(!err.outcome_unknown());
/// assert_eq!(err.to_string(), "gateway error 40004 Business Failed: MONEY_NOT_ENOUGH 余额不足");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayError {
    code: String,
    msg: String,
    sub_code: Option<String>,
    sub_msg: Option<String>,
    node: String,
}

/// Codes and sub_codes after which the request may have taken effect, and which Alipay says to
/// retry with the identical request (spec §2.8: 10003 processing, 20000 unknown; the query API
/// documents `SYSTEM_ERROR` as "retry").
const UNKNOWN_OUTCOME_CODES: &[&str] = &["10003", "20000"];
const UNKNOWN_OUTCOME_SUB_CODES: &[&str] = &[
    "SYSTEM_ERROR",
    "ACQ.SYSTEM_ERROR",
    "isp.unknow-error",
    "aop.unknow-error",
    "REQUEST_PROCESSING",
];

impl GatewayError {
    /// An error answer with an empty node text (for tests and adapters).
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// let err = GatewayError::new("40004", "Business Failed", Some("ILLEGAL_ARGUMENT"), None);
    /// assert_eq!(err.to_string(), "gateway error 40004 Business Failed: ILLEGAL_ARGUMENT");
    /// assert_eq!(err.node(), "");
    /// ```
    pub fn new(code: &str, msg: &str, sub_code: Option<&str>, sub_msg: Option<&str>) -> Self {
        GatewayError {
            code: code.to_owned(),
            msg: msg.to_owned(),
            sub_code: sub_code.map(str::to_owned),
            sub_msg: sub_msg.map(str::to_owned),
            node: String::new(),
        }
    }

    pub(crate) fn with_node(mut self, node: &str) -> Self {
        self.node = node.to_owned();
        self
    }

    /// `code`, e.g. `"40004"`.
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// let err = GatewayError::new("40002", "Invalid Arguments", Some("isv.invalid-signature"), None);
    /// assert_eq!(err.code(), "40002");
    /// ```
    pub fn code(&self) -> &str {
        &self.code
    }

    /// `msg`, e.g. `"Business Failed"`.
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// let err = GatewayError::new("40004", "Business Failed", Some("MONEY_NOT_ENOUGH"), None);
    /// assert_eq!(err.msg(), "Business Failed");
    /// ```
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// `sub_code`, e.g. `"MONEY_NOT_ENOUGH"`.
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// let err = GatewayError::new("40004", "Business Failed", Some("MONEY_NOT_ENOUGH"), None);
    /// assert_eq!(err.sub_code(), Some("MONEY_NOT_ENOUGH"));
    /// assert_eq!(GatewayError::new("10003", "Processing", None, None).sub_code(), None);
    /// ```
    pub fn sub_code(&self) -> Option<&str> {
        self.sub_code.as_deref()
    }

    /// `sub_msg`, the human explanation (often Chinese).
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// let err = GatewayError::new("40004", "Business Failed", Some("MONEY_NOT_ENOUGH"), Some("余额不足"));
    /// assert_eq!(err.sub_msg(), Some("余额不足"));
    /// ```
    pub fn sub_msg(&self) -> Option<&str> {
        self.sub_msg.as_deref()
    }

    /// The exact verified node text (empty when built with `new`).
    ///
    /// ```
    /// use hongbao_client::{PrivateKey, Response, Charset, SignType};
    /// let gateway_key = PrivateKey::generate(1024)?;
    /// let node = r#"{"code":"40004","msg":"Business Failed","sub_code":"ORDER_NOT_EXIST"}"#;
    /// let sign = gateway_key.sign(SignType::Rsa2, node.as_bytes())?;
    /// let body = format!(r#"{{"a_b_response":{node},"sign":"{sign}"}}"#);
    /// let public = gateway_key.public_key()?;
    /// let response = Response::verify(body.as_bytes(), "a.b", Charset::Utf8, SignType::Rsa2, &public)?;
    /// let err = response.into_result().unwrap_err();
    /// assert_eq!(err.gateway().map(|g| g.node()), Some(node));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn node(&self) -> &str {
        &self.node
    }

    /// True for 10003, 20000 and the "system error" sub_codes: the request may have taken
    /// effect; resend it unchanged (same ids) or query it.
    ///
    /// ```
    /// use hongbao_client::GatewayError;
    /// assert!(GatewayError::new("10003", "Processing", None, None).outcome_unknown());
    /// let failed = |sub_code| GatewayError::new("40004", "Business Failed", Some(sub_code), None);
    /// assert!(failed("SYSTEM_ERROR").outcome_unknown());
    /// assert!(!failed("MONEY_NOT_ENOUGH").outcome_unknown());
    /// ```
    pub fn outcome_unknown(&self) -> bool {
        UNKNOWN_OUTCOME_CODES.contains(&self.code.as_str())
            || self.sub_code.as_deref().is_some_and(|sub| UNKNOWN_OUTCOME_SUB_CODES.contains(&sub))
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gateway error {} {}", self.code, self.msg)?;
        if let Some(sub_code) = &self.sub_code {
            write!(f, ": {sub_code}")?;
        }
        if let Some(sub_msg) = &self.sub_msg {
            write!(f, " {sub_msg}")?;
        }
        Ok(())
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { inner: Box::new(ErrorInner { kind, source: None }) }
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid { detail: detail.into() })
    }

    pub(crate) fn signature(failure: SignatureFailure) -> Error {
        Error::new(ErrorKind::Signature(failure))
    }

    pub(crate) fn with_boxed_source(
        mut self,
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    ) -> Error {
        self.inner.source = Some(source);
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// # use hongbao_client::{Client, ErrorKind, PrivateKey};
    /// let app_key = PrivateKey::generate(1024)?;
    /// let alipay_key = app_key.public_key()?;
    /// let err = Client::builder("not a url", "2021000000000001", app_key, alipay_key)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The kind, by value.
    ///
    /// ```
    /// use hongbao_client::{Error, ErrorKind, SignatureFailure};
    /// let err = Error::from(ErrorKind::Signature(SignatureFailure::Unsigned));
    /// assert_eq!(err.into_kind(), ErrorKind::Signature(SignatureFailure::Unsigned));
    /// ```
    pub fn into_kind(self) -> ErrorKind {
        self.inner.kind
    }

    /// The verified gateway error, if this is one.
    ///
    /// ```
    /// use hongbao_client::{Error, ErrorKind, GatewayError, SignatureFailure};
    /// let refused = Error::from(ErrorKind::Gateway(GatewayError::new("40004", "Business Failed",
    ///                                                                Some("MONEY_NOT_ENOUGH"), None)));
    /// assert_eq!(refused.gateway().and_then(|g| g.sub_code()), Some("MONEY_NOT_ENOUGH"));
    /// assert!(Error::from(ErrorKind::Signature(SignatureFailure::Mismatch)).gateway().is_none());
    /// ```
    pub fn gateway(&self) -> Option<&GatewayError> {
        match &self.inner.kind {
            ErrorKind::Gateway(gateway) => Some(gateway),
            _ => None,
        }
    }

    /// True when the request may have taken effect although no success was seen: transport and
    /// signature failures, and the gateway's "unknown"/"processing" answers. The safe next step
    /// is to resend the *identical* request (same `out_order_no`/`out_request_no`) or to query
    /// it; never to send it again under new ids.
    ///
    /// ```
    /// use hongbao_client::{Error, ErrorKind, GatewayError, SignatureFailure};
    /// let busy = GatewayError::new("20000", "Service Currently Unavailable",
    ///                              Some("isp.unknow-error"), None);
    /// assert!(Error::from(ErrorKind::Gateway(busy)).outcome_unknown());
    /// assert!(Error::from(ErrorKind::Signature(SignatureFailure::Mismatch)).outcome_unknown());
    /// assert!(!Error::from(ErrorKind::Invalid { detail: "bad key".into() }).outcome_unknown());
    /// let refused = Error::from(ErrorKind::Unreachable { detail: "connection refused".into() });
    /// assert!(!refused.outcome_unknown()); // nothing was sent
    /// ```
    pub fn outcome_unknown(&self) -> bool {
        match &self.inner.kind {
            ErrorKind::Transport { .. } | ErrorKind::Signature(_) => true,
            ErrorKind::Unreachable { .. } => false,
            ErrorKind::HttpStatus { status, .. } => status_outcome_unknown(*status),
            ErrorKind::Gateway(gateway) => gateway.outcome_unknown(),
            ErrorKind::Invalid { .. } | ErrorKind::Malformed { .. } => false,
        }
    }

    /// True when the client's own retry loop resends the request: transport failures, an HTTP
    /// 5xx, 408 or 429 from something in front of the gateway, and the gateway's
    /// unknown-outcome answers. Not retried: signature failures (an answer that does not verify
    /// points at a wrong key or a tampering proxy, which resending won't fix) and answers that
    /// prove the URL wrong (404, redirects, other 4xx).
    ///
    /// ```
    /// use hongbao_client::{Error, ErrorKind, SignatureFailure};
    /// let timeout = Error::from(ErrorKind::Transport { detail: "timed out".into(), timed_out: true });
    /// assert!(timeout.is_retryable());
    /// let refused = Error::from(ErrorKind::Unreachable { detail: "connection refused".into() });
    /// assert!(refused.is_retryable()); // a server that is restarting may be back
    /// let forged = Error::from(ErrorKind::Signature(SignatureFailure::Mismatch));
    /// assert!(forged.outcome_unknown() && !forged.is_retryable());
    /// let wrong_url = Error::from(ErrorKind::HttpStatus { status: 404, detail: "Not Found".into() });
    /// assert!(!wrong_url.is_retryable() && !wrong_url.outcome_unknown());
    /// let busy_proxy = Error::from(ErrorKind::HttpStatus { status: 502, detail: "Bad Gateway".into() });
    /// assert!(busy_proxy.is_retryable() && busy_proxy.outcome_unknown());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match &self.inner.kind {
            ErrorKind::Transport { .. } | ErrorKind::Unreachable { .. } => true,
            ErrorKind::HttpStatus { status, .. } => status_retryable(*status),
            ErrorKind::Gateway(gateway) => gateway.outcome_unknown(),
            _ => false,
        }
    }

    /// The verified `sub_code`, when this is a gateway error that has one. Read it typed with
    /// the method's enum, e.g. [`RefundSubCode::of`](crate::RefundSubCode::of).
    ///
    /// ```
    /// use hongbao_client::{Error, ErrorKind, GatewayError};
    /// let refused = Error::from(ErrorKind::Gateway(GatewayError::new("40004", "Business Failed",
    ///                                                                Some("MONEY_NOT_ENOUGH"), None)));
    /// assert_eq!(refused.sub_code(), Some("MONEY_NOT_ENOUGH"));
    /// ```
    pub fn sub_code(&self) -> Option<&str> {
        self.gateway().and_then(GatewayError::sub_code)
    }
}

/// Statuses that something in front of the gateway answers while it may be passing the request
/// on or about to: retried.
fn status_retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Statuses after which the request may have reached the gateway: a proxy's 5xx or 408 can come
/// after it forwarded the request. A 429, a 404, a redirect or another 4xx means it did not.
fn status_outcome_unknown(status: u16) -> bool {
    status >= 500 || status == 408
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

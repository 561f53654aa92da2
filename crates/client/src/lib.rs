//! A typed async SDK for Alipay's cash red packet APIs, both generations: the 2017
//! `alipay.fund.coupon.*` product and today's `STD_RED_PACKET` over `alipay.fund.trans.*`. It
//! talks to Alipay's real and sandbox gateways, or to hongbao, alike.
//!
//! What it does: signs requests exactly as the official SDKs do (RSA2/RSA; utf-8, GBK, GB2312;
//! PKCS#1, PKCS#8 and bare-base64 keys), sends them as the official Python SDK does, and
//! verifies **every** answer over the bytes received before reading anything in it. An answer
//! that does not verify, unsigned ones included, is an [`Error`], never data. It also builds
//! the page.pay form / URL and the app.pay order strings, verifies notifications, messages and
//! app.pay results, and retries ambiguous outcomes safely (the identical request, exponential
//! backoff with jitter, see [`RetryPolicy`]). Certificate mode (公钥证书模式, what Alipay
//! requires for red packets in production) is [`Client::builder_with_certificates`] with the
//! three [`Certificates`] files; interface content encryption (接口内容加密) is
//! [`ClientBuilder::encrypt_key`].
//!
//! How it reads: ids are types ([`OutOrderNo`], [`OutRequestNo`], [`AuthNo`], [`UserId`],
//! [`OutBizNo`], [`OrderId`], …), so two cannot be swapped; money is [`Fen`]; each method's
//! refusals are an enum to match ([`RefundSubCode`], [`TransferSubCode`], …) whose variants say
//! whether a retry can help; each call runs in a `tracing` span with its method, app_id and
//! ids (never keys or signatures). HTTP goes through a small [`Transport`] trait (built in:
//! reqwest, configured by the builder: timeouts, proxy, TLS roots), so no HTTP crate's types are
//! part of this API.
//!
//! What it never knows: the server. No gateway, store or ledger code is in its dependency
//! tree; it shares only the wire model (`hongbao-protocol`), signatures (`hongbao-sign`) and
//! money (`hongbao-money`), whose key types it re-exports.
//!
//! ```
//! use hongbao_client::*;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let hongbao = hongbao_test_support::spawn_app().await; // an in-process hongbao, free port
//! # std::env::set_current_dir(hongbao.dir.path())?;
//! # std::fs::create_dir("keys")?;
//! # std::fs::write("keys/app_private.pem", hongbao_test_support::app_a_key().to_pkcs8_pem()?)?;
//! # std::fs::write("keys/gateway_public.pem", hongbao_test_support::gateway_key().public_key()?.to_pem()?)?;
//! let app_key = PrivateKey::from_text(&std::fs::read_to_string("keys/app_private.pem")?)?;
//! let alipay_key = PublicKey::from_text(&std::fs::read_to_string("keys/gateway_public.pem")?)?;
//! let gateway = HONGBAO_LOCAL_GATEWAY; // or ALIPAY_SANDBOX_GATEWAY, ALIPAY_GATEWAY
//! # let gateway = gateway.replace("127.0.0.1:9999", &hongbao.addr.to_string()); // test port
//! let client = Client::builder(gateway, "2021000000000001", app_key, alipay_key).build()?;
//!
//! let pay = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
//!     "红包发放", Fen::parse_amount("10.00")?, UserId::new("2088100000000001"));
//! let packet = client.agreement_pay(&pay).await?;
//! let claim = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::AuthNo(packet.auth_no.clone()),
//!     OutRequestNo::new("claim-1"), "红包领取", Fen::parse_amount("3.00")?,
//!     Payee::UserId(UserId::new("2088100000000003")));
//! assert_eq!(client.disburse(&claim).await?.status, OperationStatus::Success);
//! let refund = RefundRequest::new(packet.auth_no, OutRequestNo::new("refund-1"), Fen::parse_amount("7.00")?, "退回");
//! match client.refund(&refund).await {
//!     Ok(refund) => println!("refunded {} at {:?}", refund.amount, refund.gmt_trans),
//!     Err(err) if err.outcome_unknown() => println!("unknown, query refund-1 later: {err}"),
//!     Err(err) => match RefundSubCode::of(&err) {
//!         Some(RefundSubCode::MoneyNotEnough) => println!("less is left than that"),
//!         _ => println!("refused: {err}"),
//!     },
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod biz;
mod cert;
mod client;
mod coupon;
mod error;
mod ids;
mod notify;
mod request;
mod response;
mod retry;
mod sub_code;
mod trans;
mod transport;

pub use cert::Certificates;
pub use client::{
    CallOptions, Client, ClientBuilder, CONNECT_TIMEOUT_DEFAULT, RESPONSE_BYTES_MAX,
    TIMEOUT_DEFAULT,
};
pub use coupon::{
    AgreementPayRequest, AppPayRequest, CashierPayRequest, DisburseRequest, OperationQueryRequest,
    OperationQueryResponse, OperationRef, OperationResponse, OperationStatus, OperationType,
    OrderRef, PagePayRequest, PayTimeout, Payee, RefundRequest, AGREEMENT_PAY, APP_PAY, DISBURSE,
    OPERATION_QUERY, PAGE_PAY, REFUND,
};
pub use error::{Error, ErrorKind, GatewayError, SignatureFailure};
pub use ids::{
    AuthNo, LogonId, OperationId, OrderId, OutBizNo, OutOrderNo, OutRequestNo, PayFundOrderId,
    RefundOrderId, UserId,
};
pub use notify::{Notify, TransOrderChanged};
pub use response::Response;
pub use retry::{RetryPolicy, ATTEMPTS_MAX_LIMIT};
pub use sub_code::{
    AgreementPaySubCode, CommonQuerySubCode, DisburseSubCode, OperationQuerySubCode, RefundSubCode,
    TransRefundSubCode, TransferSubCode,
};
pub use trans::{
    BizScene, CommonQueryRequest, CommonQueryResponse, Participant, ParticipantIdentity,
    TransAppPayRequest, TransAppPayResponse, TransLookup, TransRefundRequest, TransRefundResponse,
    TransStatus, TransferRequest, TransferResponse, STD_RED_PACKET, TRANS_APP_PAY,
    TRANS_COMMON_QUERY, TRANS_ORDER_CHANGED, TRANS_REFUND, TRANS_UNI_TRANSFER,
};
pub use transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportFuture};

// The types a caller needs to use this crate alone (keys, money, charsets, parameter sets),
// re-exported so that one dependency is enough.
pub use hongbao_money::Fen;
pub use hongbao_protocol::encryption::EncryptKey;
pub use hongbao_protocol::{Charset, Params};
pub use hongbao_sign::{PrivateKey, PublicKey, SignType};

/// Alipay's production gateway.
///
/// ```
/// use hongbao_client::{Client, PrivateKey, ALIPAY_GATEWAY};
/// let key = PrivateKey::generate(1024)?; // production: your app key and Alipay's public key
/// let client = Client::builder(ALIPAY_GATEWAY, "2021000000000001", key.clone(), key.public_key()?)
///     .build()?;
/// assert!(client.gateway().starts_with("https://openapi.alipay.com/"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ALIPAY_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// Alipay's sandbox gateway (since 2023; the old `openapi.alipaydev.com` is retired).
///
/// ```
/// use hongbao_client::{ALIPAY_GATEWAY, ALIPAY_SANDBOX_GATEWAY};
/// assert_ne!(ALIPAY_SANDBOX_GATEWAY, ALIPAY_GATEWAY);
/// assert!(ALIPAY_SANDBOX_GATEWAY.starts_with("https://openapi-sandbox."));
/// ```
pub const ALIPAY_SANDBOX_GATEWAY: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";
/// A hongbao started with `hongbao serve` (the demo's default listen address).
///
/// ```
/// use hongbao_client::{Client, PrivateKey, HONGBAO_LOCAL_GATEWAY};
/// let key = PrivateKey::generate(1024)?;
/// let client = Client::builder(HONGBAO_LOCAL_GATEWAY, "2021000000000001", key.clone(), key.public_key()?)
///     .build()?;
/// assert_eq!(client.gateway(), "http://127.0.0.1:9999/gateway.do"); // plain http: local only
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const HONGBAO_LOCAL_GATEWAY: &str = "http://127.0.0.1:9999/gateway.do";

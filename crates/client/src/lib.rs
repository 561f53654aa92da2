//! A typed async SDK for Alipay's cash red packet API (`alipay.fund.coupon.*`), talking to
//! hongbao or to Alipay's real and sandbox gateways alike.
//!
//! What it does: signs requests exactly as the official SDKs do (RSA2/RSA; utf-8, GBK, GB2312;
//! PKCS#1, PKCS#8 and bare-base64 keys), sends them as the official Python SDK does, and
//! verifies **every** answer over the bytes received before reading anything in it. An answer
//! that does not verify, unsigned ones included, is an [`Error`], never data. It also builds
//! the page.pay form / URL and the app.pay order string, verifies notifies and app.pay results,
//! and retries ambiguous outcomes safely (the identical request, see [`RetryPolicy`]).
//!
//! What it never knows: the server. No gateway, store or ledger code is in its dependency
//! tree; it shares only the wire model (`hongbao-protocol`), signatures (`hongbao-sign`) and
//! money (`hongbao-money`), whose key types it re-exports.
//!
//! ```no_run
//! use hongbao_client::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app_key = PrivateKey::from_text(&std::fs::read_to_string("keys/app_private.pem")?)?;
//! let alipay_key = PublicKey::from_text(&std::fs::read_to_string("keys/gateway_public.pem")?)?;
//! let client = Client::builder(HONGBAO_LOCAL_GATEWAY, "2021000000000001", app_key, alipay_key)
//!     .build()?;
//!
//! let packet = client
//!     .agreement_pay(&AgreementPayRequest::new(
//!         "packet-1", "pay-1", "红包发放", Fen::parse_amount("10.00")?, "2088102000000001"))
//!     .await?;
//! let claim = client
//!     .disburse(&DisburseRequest::new(
//!         "claim-1", OrderRef::AuthNo(packet.auth_no.clone()), "claim-1", "红包领取",
//!         Fen::parse_amount("3.00")?, Payee::UserId("2088102000000002".into())))
//!     .await?;
//! match client
//!     .refund(&RefundRequest::new(&packet.auth_no, "refund-1", Fen::parse_amount("7.00")?, "退回"))
//!     .await
//! {
//!     Ok(refund) => println!("refunded {} at {:?}", refund.amount, refund.gmt_trans),
//!     Err(err) if err.outcome_unknown() => println!("unknown, query refund-1 later: {err}"),
//!     Err(err) => println!("refused: {err}"),
//! }
//! # let _ = claim;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
mod coupon;
mod error;
mod notify;
mod request;
mod response;
mod retry;

pub use client::{
    CallOptions, Client, ClientBuilder, CONNECT_TIMEOUT_DEFAULT, RESPONSE_BYTES_MAX,
    TIMEOUT_DEFAULT,
};
pub use coupon::{
    AgreementPayRequest, AppPayRequest, CashierPayRequest, DisburseRequest, OperationQueryRequest,
    OperationQueryResponse, OperationRef, OperationResponse, OperationStatus, OperationType,
    OrderRef, PagePayRequest, Payee, RefundRequest, AGREEMENT_PAY, APP_PAY, DISBURSE,
    OPERATION_QUERY, PAGE_PAY, REFUND,
};
pub use error::{Error, ErrorKind, GatewayError, SignatureFailure};
pub use notify::Notify;
pub use response::Response;
pub use retry::{RetryPolicy, ATTEMPTS_MAX_LIMIT};

// The types a caller needs to use this crate alone (keys, money, charsets, parameter sets),
// re-exported so that one dependency is enough.
pub use hongbao_money::Fen;
pub use hongbao_protocol::{Charset, Params};
pub use hongbao_sign::{PrivateKey, PublicKey, SignType};

/// Alipay's production gateway.
pub const ALIPAY_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// Alipay's sandbox gateway (since 2023; the old `openapi.alipaydev.com` is retired).
pub const ALIPAY_SANDBOX_GATEWAY: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";
/// A hongbao started with `hongbao serve` (the demo's default listen address).
pub const HONGBAO_LOCAL_GATEWAY: &str = "http://127.0.0.1:9999/gateway.do";

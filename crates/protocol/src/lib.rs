//! The Alipay OpenAPI v1 wire model, shared by the gateway (server side) and the SDK (client side).
//!
//! What it owns: form decoding with the request `charset` (`form`, `charset`, `params`), the common
//! parameters and their checks (`common`), sign content and request/notify signatures
//! (`sign_content`), `biz_content` field parsing (`biz`), the signed `*_response` envelope
//! (`envelope`), and the display forms of times and logon ids (`display`).
//!
//! What it never knows: HTTP, SQL, the ledger. It reports what is wrong as typed errors
//! (`RequestError`); turning those into Alipay codes is the gateway's job.
#![deny(missing_docs)]

pub mod biz;
pub mod charset;
pub mod common;
pub mod display;
pub mod envelope;
pub mod form;
pub mod params;
pub mod sign_content;

pub use charset::Charset;
pub use common::{CommonParams, RequestError};
pub use hongbao_sign::SignType;
pub use params::Params;

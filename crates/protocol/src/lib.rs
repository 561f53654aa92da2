//! The Alipay OpenAPI v1 wire model, shared by the gateway (server side) and the SDK (client side).
//!
//! What it owns: form decoding with the request `charset` (`form`, `charset`, `params`), the
//! common parameters and their checks (`common`), what can be wrong with a request (`error`),
//! the method names (`method`), sign content and request/notify signatures (`sign_content`),
//! `biz_content` field parsing (`biz`), interface content encryption (`encryption`: what is
//! encrypted, how it is framed; the AES cipher itself is `hongbao_sign::aes`), the signed
//! `*_response` envelope (`envelope`, clear or encrypted), and the display forms of times and
//! logon ids (`display`). Modules depend one way: `error` on `form` only, everything else on
//! `error`.
//!
//! What it never knows: HTTP, SQL, the ledger. It reports what is wrong as typed errors
//! (`RequestError`); turning those into Alipay codes is the gateway's job.
#![deny(missing_docs)]

pub mod biz;
pub mod charset;
pub mod common;
pub mod display;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod form;
pub mod method;
pub mod params;
pub mod sign_content;

pub use charset::Charset;
pub use common::CommonParams;
pub use error::{RequestError, SignatureHint};
pub use hongbao_sign::SignType;
pub use method::Method;
pub use params::Params;

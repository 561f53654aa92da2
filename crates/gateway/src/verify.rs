//! A verified request: what `/gateway.do`, the cashier (page.pay) and the wallet (app.pay) all
//! hand to the methods. `verify` is the only way to get one, so a method never sees a request
//! whose method, app or signature was not checked.
//!
//! Depends on the gateway's registry (`Gateway::apps`) and its error type only; the dispatcher,
//! the methods and the pages depend on it, never the other way.

use crate::clock::wall_now_utc;
use crate::error::ApiError;
use crate::{App, Gateway};
use hongbao_ledger::NotifyTarget;
use hongbao_protocol::params::{DecodedRequest, Params};
use hongbao_protocol::sign_content::verify_request;
use hongbao_protocol::{Charset, CommonParams, Method, RequestError};

/// A request whose common parameters, method, app and signature were checked.
pub struct Verified<'a> {
    method: Method,
    app: &'a App,
    common: CommonParams,
    request: DecodedRequest,
}

impl<'a> Verified<'a> {
    /// The method called.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The calling app.
    pub fn app(&self) -> &'a App {
        self.app
    }

    /// Its common parameters.
    pub fn common(&self) -> &CommonParams {
        &self.common
    }

    /// Every parameter, decoded.
    pub fn params(&self) -> &Params {
        &self.request.params
    }

    /// The request charset (answers, pages and notifications keep it).
    pub fn charset(&self) -> Charset {
        self.request.charset
    }

    /// The call's notify target: its `notify_url`, charset and sign_type, when it gave a URL.
    pub fn notify_target(&self) -> Option<NotifyTarget> {
        self.common.notify_url.as_ref().map(|url| NotifyTarget {
            url: url.clone(),
            charset: crate::notify::notify_charset(self.request.charset),
            sign_type: crate::notify::notify_sign_type(self.common.sign_type),
        })
    }
}

/// Common parameters, method, app, signature, app_auth_token: in that order (docs/errors.md).
pub fn verify(gateway: &Gateway, request: DecodedRequest) -> Result<Verified<'_>, ApiError> {
    let common = CommonParams::parse(&request.params, wall_now_utc())?;
    let method = Method::parse(&common.method)
        .ok_or_else(|| RequestError::InvalidMethod(common.method.clone()))?;
    let app = gateway
        .apps
        .get(&common.app_id)
        .ok_or_else(|| RequestError::InvalidAppId(common.app_id.clone()))?;
    verify_request(
        &request.params,
        &request.raw,
        request.charset,
        common.sign_type,
        &common.sign,
        &app.public_key,
    )?;
    if common.app_auth_token.is_some() {
        return Err(RequestError::AppAuthTokenNotSupported.into());
    }
    Ok(Verified { method, app, common, request })
}

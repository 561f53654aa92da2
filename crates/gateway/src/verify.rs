//! A verified request: what `/gateway.do`, the cashier (page.pay) and the wallet (app.pay) all
//! hand to the methods. `verify` is the only way to get one, so a method never sees a request
//! whose method, app, certificate SNs or signature were not checked.
//!
//! Certificate mode adds one step before the signature, which then works as in public-key mode
//! with the certified key: `app_cert_sn` present and naming the app's certificate,
//! `alipay_root_cert_sn` present and equal to the root bundle's SN, the certificate valid on the
//! gateway's clock. A public-key app's SNs are ignored, as Alipay ignores them (docs/errors.md).
//!
//! Interface content encryption (接口内容加密) adds one step after the signature, which covers
//! the ciphertext as received: `encrypt_type` checked, the app's AES key looked up, `biz_content`
//! decrypted in the request charset (`hongbao_protocol::encryption`). Whoever holds a
//! `Verified` reads the plaintext (`Verified::biz_content`), so every method and both payer
//! pages get it from here, and `Verified::answer_key` says how to answer. Nothing about the
//! app's key is told to a request whose signature did not verify.
//!
//! Depends on the gateway's registry (`Gateway::apps`) and its error type only; the dispatcher,
//! the methods and the pages depend on it, never the other way.

use crate::clock::wall_now_utc;
use crate::error::ApiError;
use crate::{App, Gateway};
use hongbao_ledger::{CallFormat, NotifyTarget};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::encryption::{self, decrypt_biz_content, EncryptKey, EncryptType};
use hongbao_protocol::params::{DecodedRequest, Params};
use hongbao_protocol::sign_content::verify_request;
use hongbao_protocol::{Charset, CommonParams, Method, RequestError};
use hongbao_sign::PublicKey;

/// A request whose common parameters, method, app and signature were checked, and whose
/// `biz_content` was decrypted when it came encrypted.
pub struct Verified<'a> {
    method: Method,
    app: &'a App,
    common: CommonParams,
    request: DecodedRequest,
    /// The app's key when the request was encrypted: its answer is encrypted with it.
    answer_key: Option<&'a EncryptKey>,
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

    /// Every parameter, decoded; `biz_content` is the plaintext when the request was encrypted
    /// (the ciphertext was verified and is of no use after).
    pub fn params(&self) -> &Params {
        &self.request.params
    }

    /// The business content: the JSON text as sent, or decrypted.
    pub fn biz_content(&self) -> Option<&str> {
        self.request.params.get("biz_content")
    }

    /// The key the answer is encrypted with: the app's, when the request was encrypted.
    pub fn answer_key(&self) -> Option<&'a EncryptKey> {
        self.answer_key
    }

    /// The request charset (answers, pages and notifications keep it).
    pub fn charset(&self) -> Charset {
        self.request.charset
    }

    /// The call's charset and sign_type, as orders keep them.
    pub fn call_format(&self) -> CallFormat {
        CallFormat {
            charset: crate::notify::notify_charset(self.request.charset),
            sign_type: crate::notify::notify_sign_type(self.common.sign_type),
        }
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

/// Common parameters, method, app, certificate SNs, signature, app_auth_token, the notify
/// destination policy for a literal `notify_url` address, content decryption: in that order
/// (docs/errors.md).
pub fn verify(gateway: &Gateway, mut request: DecodedRequest) -> Result<Verified<'_>, ApiError> {
    let common = CommonParams::parse(&request.params, wall_now_utc())?;
    let method = Method::parse(&common.method)
        .ok_or_else(|| RequestError::InvalidMethod(common.method.clone()))?;
    let app = gateway
        .apps
        .get(&common.app_id)
        .ok_or_else(|| RequestError::InvalidAppId(common.app_id.clone()))?;
    let key = request_key(gateway, app, &common)?;
    verify_request(
        &request.params,
        &request.raw,
        request.charset,
        common.sign_type,
        &common.sign,
        key,
    )?;
    if common.app_auth_token.is_some() {
        return Err(RequestError::AppAuthTokenNotSupported.into());
    }
    // After the signature: only the app learns what the policy refuses. A name is judged when
    // the worker resolves it, at every attempt.
    if let Some(url) = &common.notify_url {
        gateway
            .destinations
            .check_url(url)
            .map_err(|refused| ApiError::DestinationRefused { key: "notify_url", refused })?;
    }
    let answer_key = decrypt(app, &mut request)?;
    Ok(Verified { method, app, common, request, answer_key })
}

/// The content decryption step, after the signature verified: `encrypt_type` (AES, or a
/// ciphertext without it refused), the app's key, then `biz_content` replaced by its plaintext.
/// Returns the key to answer with; `None` for a clear request.
fn decrypt<'a>(
    app: &'a App,
    request: &mut DecodedRequest,
) -> Result<Option<&'a EncryptKey>, RequestError> {
    let Some(EncryptType::Aes) = encryption::requested(&request.params)? else {
        return Ok(None);
    };
    let key = app
        .encrypt_key
        .as_ref()
        .ok_or_else(|| RequestError::MissingEncryptKey { app_id: app.app_id.clone() })?;
    if let Some(ciphertext) = request.params.get_nonblank("biz_content") {
        let plaintext = decrypt_biz_content(key, ciphertext, request.charset)?;
        request.params.insert("biz_content", plaintext);
    }
    Ok(Some(key))
}

/// The key that verifies the app's request, after a certificate-mode app's SN checks (in that
/// order): `app_cert_sn` present, naming the app's certificate; `alipay_root_cert_sn` present,
/// equal to the root bundle's SN; the certificate valid on the gateway's clock (so the sandbox
/// clock can expire it).
fn request_key<'a>(
    gateway: &Gateway,
    app: &'a App,
    common: &CommonParams,
) -> Result<&'a PublicKey, RequestError> {
    let Some(cert) = app.certificate() else {
        return Ok(app.public_key());
    };
    let expected = cert.certificate.sn();
    let sent = common.app_cert_sn.as_deref().ok_or_else(|| RequestError::MissingAppCertSn {
        app_id: app.app_id.clone(),
        expected: expected.to_owned(),
    })?;
    if sent != expected {
        return Err(RequestError::AppCertNotExist {
            app_id: app.app_id.clone(),
            sent: sent.to_owned(),
            expected: expected.to_owned(),
        });
    }
    // Configuration refuses a certificate app without the gateway's certificates; were there
    // none, no root SN would match.
    let root_sn = gateway.certs.as_ref().map(|certs| certs.root().sn()).unwrap_or_default();
    let sent_root = common.alipay_root_cert_sn.as_deref().ok_or_else(|| {
        RequestError::MissingAlipayRootCertSn {
            app_id: app.app_id.clone(),
            expected: root_sn.to_owned(),
        }
    })?;
    if sent_root != root_sn {
        return Err(RequestError::InvalidAlipayRootCertSn {
            sent: sent_root.to_owned(),
            expected: root_sn.to_owned(),
        });
    }
    let now_s = gateway.clock.now_ms().div_euclid(1000);
    let (not_before, not_after) = cert.validity;
    if now_s < not_before || now_s > not_after {
        return Err(RequestError::AppCertExpired {
            sn: expected.to_owned(),
            validity: format!(
                "from {} to {} (Beijing time)",
                format_beijing(not_before.saturating_mul(1000)),
                format_beijing(not_after.saturating_mul(1000))
            ),
        });
    }
    Ok(&cert.public_key)
}

//! `alipay.open.app.alipaycert.download`: a gateway certificate by SN, for the certificate-mode
//! SDKs (Java's `certificateExecute`) that meet an `alipay_cert_sn` they do not know, as after a
//! rotation. The SDK checks the certificate against its root bundle before trusting it.
//!
//! biz_content: `alipay_cert_sn`. Answer: `alipay_cert_content`, base64 of the certificate's PEM.

use crate::error::ApiError;
use crate::Gateway;
use hongbao_protocol::biz::BizContent;
use hongbao_protocol::envelope::ResponseNode;

pub fn download(gateway: &Gateway, biz: &BizContent) -> Result<ResponseNode, ApiError> {
    let sent = biz.required_id("alipay_cert_sn")?;
    let certs = gateway.certs.as_ref();
    match certs.and_then(|certs| certs.content(&sent)) {
        Some(content) => Ok(ResponseNode::success().field("alipay_cert_content", content)),
        None => Err(ApiError::AlipayCertNotExist {
            sent,
            current: certs.map(|certs| certs.signing().sn().to_owned()).unwrap_or_default(),
        }),
    }
}

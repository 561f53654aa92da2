//! The methods hongbao serves, by wire name: defined here once, for the gateway (which looks a
//! request's `method` up), the client SDK (which sends them) and the tests.
//!
//! Alipay sorts its APIs by how a caller reaches them (`Channel`): normal APIs answer a signed
//! JSON envelope, page APIs are opened in the payer's browser (`pageExecute`), and app APIs are
//! an order string the Alipay app pays (`sdkExecute`).

/// `alipay.fund.coupon.order.page.pay`: fund a packet through the PC cashier (a page the
/// payer's browser opens).
///
/// ```
/// assert_eq!(hongbao_protocol::method::PAGE_PAY, "alipay.fund.coupon.order.page.pay");
/// ```
pub const PAGE_PAY: &str = "alipay.fund.coupon.order.page.pay";
/// The `method` of the signed parameters a paid page.pay sends the browser back to
/// `return_url` with.
///
/// ```
/// use hongbao_protocol::method::{PAGE_PAY, PAGE_PAY_RETURN};
/// assert_eq!(PAGE_PAY_RETURN, format!("{PAGE_PAY}.return"));
/// ```
pub const PAGE_PAY_RETURN: &str = "alipay.fund.coupon.order.page.pay.return";
/// `alipay.fund.coupon.order.app.pay`: fund a packet through the Alipay app (an order string).
///
/// ```
/// assert!(hongbao_protocol::method::APP_PAY.ends_with(".app.pay"));
/// ```
pub const APP_PAY: &str = "alipay.fund.coupon.order.app.pay";
/// `alipay.fund.coupon.order.agreement.pay`: fund a packet from the merchant's own account.
///
/// ```
/// assert_eq!(hongbao_protocol::method::AGREEMENT_PAY, "alipay.fund.coupon.order.agreement.pay");
/// ```
pub const AGREEMENT_PAY: &str = "alipay.fund.coupon.order.agreement.pay";
/// `alipay.fund.coupon.order.disburse`: pay part of a packet to a user.
///
/// ```
/// assert_eq!(hongbao_protocol::method::DISBURSE, "alipay.fund.coupon.order.disburse");
/// ```
pub const DISBURSE: &str = "alipay.fund.coupon.order.disburse";
/// `alipay.fund.coupon.order.refund`: return unclaimed money to the payer.
///
/// ```
/// assert_eq!(hongbao_protocol::method::REFUND, "alipay.fund.coupon.order.refund");
/// ```
pub const REFUND: &str = "alipay.fund.coupon.order.refund";
/// `alipay.fund.coupon.operation.query`: one operation's details.
///
/// ```
/// assert_eq!(hongbao_protocol::method::OPERATION_QUERY, "alipay.fund.coupon.operation.query");
/// ```
pub const OPERATION_QUERY: &str = "alipay.fund.coupon.operation.query";
/// `hongbao.notify.list`: the calling app's notifications and their delivery attempts
/// (hongbao's own method; Alipay has none).
///
/// ```
/// assert!(hongbao_protocol::method::NOTIFY_LIST.starts_with("hongbao."));
/// ```
pub const NOTIFY_LIST: &str = "hongbao.notify.list";

/// `alipay.fund.trans.app.pay`: a `STD_RED_PACKET` send, paid in the Alipay app (an order string).
///
/// ```
/// assert_eq!(hongbao_protocol::method::TRANS_APP_PAY, "alipay.fund.trans.app.pay");
/// ```
pub const TRANS_APP_PAY: &str = "alipay.fund.trans.app.pay";
/// `alipay.fund.trans.uni.transfer`: a claim of a send (C2C) or a B2C red packet.
///
/// ```
/// assert_eq!(hongbao_protocol::method::TRANS_UNI_TRANSFER, "alipay.fund.trans.uni.transfer");
/// ```
pub const TRANS_UNI_TRANSFER: &str = "alipay.fund.trans.uni.transfer";
/// `alipay.fund.trans.refund`: returns part of a send's unclaimed rest.
///
/// ```
/// assert_eq!(hongbao_protocol::method::TRANS_REFUND, "alipay.fund.trans.refund");
/// ```
pub const TRANS_REFUND: &str = "alipay.fund.trans.refund";
/// `alipay.fund.trans.common.query`: one fund.trans document.
///
/// ```
/// assert_eq!(hongbao_protocol::method::TRANS_COMMON_QUERY, "alipay.fund.trans.common.query");
/// ```
pub const TRANS_COMMON_QUERY: &str = "alipay.fund.trans.common.query";
/// `alipay.fund.trans.order.changed`: the message (`msg_method`) that reports a fund.trans
/// document's change to the app's application gateway. Not a method to call.
///
/// ```
/// assert!(hongbao_protocol::method::TRANS_ORDER_CHANGED.ends_with(".order.changed"));
/// ```
pub const TRANS_ORDER_CHANGED: &str = "alipay.fund.trans.order.changed";
/// `alipay.open.app.alipaycert.download`: the gateway certificate with a given SN
/// (`alipay_cert_content`, base64 of its PEM), which certificate-mode SDKs fetch when an answer
/// carries an `alipay_cert_sn` they do not know.
///
/// ```
/// assert_eq!(hongbao_protocol::method::ALIPAYCERT_DOWNLOAD, "alipay.open.app.alipaycert.download");
/// ```
pub const ALIPAYCERT_DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

/// How a caller reaches a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A normal API: the merchant's server calls it and reads a signed JSON envelope.
    Json,
    /// A page API: the payer's browser opens it (a form or URL from `pageExecute`) and gets
    /// pages, never JSON.
    Page,
    /// An app API: its signed order string (`sdkExecute`) is paid in the Alipay app.
    OrderString,
}

/// A method this gateway serves. Anything else is `isv.invalid-method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// [`PAGE_PAY`].
    PagePay,
    /// [`APP_PAY`].
    AppPay,
    /// [`AGREEMENT_PAY`].
    AgreementPay,
    /// [`DISBURSE`].
    Disburse,
    /// [`REFUND`].
    Refund,
    /// [`OPERATION_QUERY`].
    OperationQuery,
    /// [`NOTIFY_LIST`].
    NotifyList,
    /// [`TRANS_APP_PAY`].
    TransAppPay,
    /// [`TRANS_UNI_TRANSFER`].
    TransUniTransfer,
    /// [`TRANS_REFUND`].
    TransRefund,
    /// [`TRANS_COMMON_QUERY`].
    TransCommonQuery,
    /// [`ALIPAYCERT_DOWNLOAD`].
    AlipayCertDownload,
}

impl Method {
    /// Every served method.
    pub const ALL: [Method; 12] = [
        Method::PagePay,
        Method::AppPay,
        Method::AgreementPay,
        Method::Disburse,
        Method::Refund,
        Method::OperationQuery,
        Method::NotifyList,
        Method::TransAppPay,
        Method::TransUniTransfer,
        Method::TransRefund,
        Method::TransCommonQuery,
        Method::AlipayCertDownload,
    ];

    /// The wire name.
    ///
    /// ```
    /// use hongbao_protocol::method::{Method, REFUND};
    /// assert_eq!(Method::Refund.name(), REFUND);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Method::PagePay => PAGE_PAY,
            Method::AppPay => APP_PAY,
            Method::AgreementPay => AGREEMENT_PAY,
            Method::Disburse => DISBURSE,
            Method::Refund => REFUND,
            Method::OperationQuery => OPERATION_QUERY,
            Method::NotifyList => NOTIFY_LIST,
            Method::TransAppPay => TRANS_APP_PAY,
            Method::TransUniTransfer => TRANS_UNI_TRANSFER,
            Method::TransRefund => TRANS_REFUND,
            Method::TransCommonQuery => TRANS_COMMON_QUERY,
            Method::AlipayCertDownload => ALIPAYCERT_DOWNLOAD,
        }
    }

    /// The method a wire name names (exactly: Alipay's names are case-sensitive).
    ///
    /// ```
    /// use hongbao_protocol::method::Method;
    /// assert_eq!(Method::parse("alipay.fund.coupon.order.page.pay"), Some(Method::PagePay));
    /// assert_eq!(Method::parse("alipay.trade.pay"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|method| method.name() == name)
    }

    /// How a caller reaches it.
    ///
    /// ```
    /// use hongbao_protocol::method::{Channel, Method};
    /// assert_eq!(Method::PagePay.channel(), Channel::Page);
    /// assert_eq!(Method::Disburse.channel(), Channel::Json);
    /// ```
    pub fn channel(self) -> Channel {
        match self {
            Method::PagePay => Channel::Page,
            Method::AppPay | Method::TransAppPay => Channel::OrderString,
            Method::AgreementPay
            | Method::Disburse
            | Method::Refund
            | Method::OperationQuery
            | Method::NotifyList
            | Method::TransUniTransfer
            | Method::TransRefund
            | Method::TransCommonQuery
            | Method::AlipayCertDownload => Channel::Json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips_through_its_name() {
        for method in Method::ALL {
            assert_eq!(Method::parse(method.name()), Some(method));
        }
        let mut names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len(), "names are distinct");
        assert_eq!(Method::parse(PAGE_PAY_RETURN), None, "the return is not a method to call");
        assert_eq!(Method::parse(TRANS_ORDER_CHANGED), None, "a message is not a method to call");
    }
}

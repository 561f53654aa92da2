//! The six `alipay.fund.coupon.*` methods: request structs (documented fields, builders,
//! compact `biz_content`) and typed responses (amounts as [`Fen`], times parsed, enums).
//!
//! `biz_content` is written compactly, keys in the documented order, optional fields left out
//! when unset, amounts as JSON strings (`"100.00"`), non-ASCII as is. Requests are not checked
//! here beyond their types: the gateway is the authority and answers `ILLEGAL_ARGUMENT`.

use crate::error::Error;
use crate::response::Response;
use chrono::{DateTime, FixedOffset};
use hongbao_money::Fen;
use serde_json::{Map, Value};

// The wire names are defined once, in the wire model shared with the server.
pub use hongbao_protocol::method::{
    AGREEMENT_PAY, APP_PAY, DISBURSE, OPERATION_QUERY, PAGE_PAY, REFUND,
};

/// A compact JSON object written in insertion order (the workspace's `serde_json` keeps it).
struct BizWriter(Map<String, Value>);

impl BizWriter {
    fn new() -> BizWriter {
        BizWriter(Map::new())
    }

    fn text(mut self, key: &str, value: &str) -> BizWriter {
        self.0.insert(key.to_owned(), Value::String(value.to_owned()));
        self
    }

    fn optional(self, key: &str, value: Option<&str>) -> BizWriter {
        match value.filter(|v| !v.is_empty()) {
            Some(value) => self.text(key, value),
            None => self,
        }
    }

    fn amount(self, key: &str, value: Fen) -> BizWriter {
        self.text(key, &value.to_string())
    }

    fn finish(self) -> String {
        Value::Object(self.0).to_string()
    }
}

/// Which packet (fund order): Alipay's `auth_no` (fast path) or the merchant's `out_order_no`.
///
/// ```
/// use hongbao_client::OrderRef;
/// let by_alipay = OrderRef::AuthNo("2024010210002001".into());
/// let by_merchant = OrderRef::OutOrderNo("packet-1".into());
/// assert_ne!(by_alipay, by_merchant);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// `auth_no`, returned by the pay call.
    AuthNo(String),
    /// The merchant's `out_order_no` given to the pay call.
    OutOrderNo(String),
}

/// Which operation: Alipay's `operation_id` or the merchant's `out_request_no`.
///
/// ```
/// use hongbao_client::OperationRef;
/// let op = OperationRef::OutRequestNo("pay-1".into());
/// assert_ne!(op, OperationRef::OperationId("pay-1".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationRef {
    /// `operation_id`, returned by every operation.
    OperationId(String),
    /// The merchant's `out_request_no`.
    OutRequestNo(String),
}

/// Who receives a disburse.
///
/// ```
/// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
/// let payee = Payee::LogonId("13800138000".into());
/// let request = DisburseRequest::new("claim-1", OrderRef::AuthNo("2024".into()), "claim-1", "红包",
///                                    Fen::from_fen(100), payee);
/// assert!(request.biz_content().ends_with(r#""payee_logon_id":"13800138000"}"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payee {
    /// `payee_user_id`: the 2088… account id (recommended).
    UserId(String),
    /// `payee_logon_id`: a phone number or e-mail.
    LogonId(String),
}

/// The fields shared by page.pay and app.pay (the payer picks the account at the cashier).
///
/// ```
/// use hongbao_client::{CashierPayRequest, Fen};
/// let request = CashierPayRequest::new("packet-1", "pay-1", "红包发放", Fen::from_fen(1000))
///     .pay_timeout("30m")
///     .return_url("https://shop.example/return");
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包发放","amount":"10.00","pay_timeout":"30m"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CashierPayRequest {
    /// Merchant order number of the packet, unique per merchant (≤ 64).
    pub out_order_no: String,
    /// Merchant number of this pay operation (≤ 64).
    pub out_request_no: String,
    /// What the payer sees (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The packet amount, 0.01 ..= 100000000.00.
    pub amount: Fen,
    /// Latest pay time, `1m` ..= `7d` (`m`, `h`, `d`; integers); Alipay's default is `1h`.
    pub pay_timeout: Option<String>,
    /// Merchant extension JSON, sent as a string.
    pub extra_param: Option<String>,
    /// Common parameter `notify_url`: where Alipay posts the outcome.
    pub notify_url: Option<String>,
    /// Common parameter `return_url`: where the cashier sends the browser back (page.pay).
    pub return_url: Option<String>,
}

impl CashierPayRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000));
    /// assert_eq!(request.amount.to_string(), "10.00");
    /// assert_eq!(request.pay_timeout, None);
    /// ```
    pub fn new(
        out_order_no: impl Into<String>,
        out_request_no: impl Into<String>,
        order_title: impl Into<String>,
        amount: Fen,
    ) -> Self {
        CashierPayRequest {
            out_order_no: out_order_no.into(),
            out_request_no: out_request_no.into(),
            order_title: order_title.into(),
            amount,
            pay_timeout: None,
            extra_param: None,
            notify_url: None,
            return_url: None,
        }
    }

    /// Sets `pay_timeout`.
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1)).pay_timeout("2h");
    /// assert!(request.biz_content().ends_with(r#","pay_timeout":"2h"}"#));
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: impl Into<String>) -> Self {
        self.pay_timeout = Some(pay_timeout.into());
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1))
    ///     .extra_param(r#"{"campaign":"spring"}"#);
    /// assert!(request.biz_content().ends_with(r#","extra_param":"{\"campaign\":\"spring\"}"}"#));
    /// ```
    pub fn extra_param(mut self, extra_param: impl Into<String>) -> Self {
        self.extra_param = Some(extra_param.into());
        self
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1))
    ///     .notify_url("https://shop.example/notify");
    /// assert_eq!(request.notify_url.as_deref(), Some("https://shop.example/notify"));
    /// assert!(!request.biz_content().contains("notify_url")); // a common parameter, not biz_content
    /// ```
    pub fn notify_url(mut self, notify_url: impl Into<String>) -> Self {
        self.notify_url = Some(notify_url.into());
        self
    }

    /// Sets `return_url`.
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1))
    ///     .return_url("https://shop.example/paid");
    /// assert_eq!(request.return_url.as_deref(), Some("https://shop.example/paid"));
    /// ```
    pub fn return_url(mut self, return_url: impl Into<String>) -> Self {
        self.return_url = Some(return_url.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen};
    /// let request = CashierPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1050));
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包","amount":"10.50"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_order_no", &self.out_order_no)
            .text("out_request_no", &self.out_request_no)
            .text("order_title", &self.order_title)
            .amount("amount", self.amount)
            .optional("pay_timeout", self.pay_timeout.as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }
}

/// The request of `alipay.fund.coupon.order.page.pay` (see [`CashierPayRequest`]).
///
/// ```
/// use hongbao_client::{PagePayRequest, Fen};
/// let request = PagePayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(100))
///     .return_url("https://shop.example/paid");
/// assert_eq!(request.return_url.as_deref(), Some("https://shop.example/paid"));
/// ```
pub type PagePayRequest = CashierPayRequest;
/// The request of `alipay.fund.coupon.order.app.pay` (see [`CashierPayRequest`]).
///
/// ```
/// use hongbao_client::{AppPayRequest, Fen};
/// let request = AppPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(100)).pay_timeout("15m");
/// assert!(request.biz_content().contains(r#""amount":"1.00","pay_timeout":"15m""#));
/// ```
pub type AppPayRequest = CashierPayRequest;

/// `alipay.fund.coupon.order.agreement.pay`: the merchant's own account funds the packet.
///
/// ```
/// use hongbao_client::{AgreementPayRequest, Fen};
/// let request = AgreementPayRequest::new("packet-1", "pay-1", "红包发放", Fen::from_fen(10000),
///                                        "2088102000000001")
///     .extra_param(r#"{"merchantExt":"orderExpiredTime=1m"}"#);
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包发放","amount":"100.00","payer_user_id":"2088102000000001","extra_param":"{\"merchantExt\":\"orderExpiredTime=1m\"}"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgreementPayRequest {
    /// Merchant order number of the packet (≤ 64).
    pub out_order_no: String,
    /// Merchant number of this pay operation (≤ 64).
    pub out_request_no: String,
    /// Title (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The packet amount.
    pub amount: Fen,
    /// The payer: the 2088… account bound to the calling app.
    pub payer_user_id: String,
    /// Latest pay time (`1m` ..= `7d`).
    pub pay_timeout: Option<String>,
    /// Merchant extension JSON, e.g. `{"merchantExt":"orderExpiredTime=1m"}`.
    pub extra_param: Option<String>,
    /// Common parameter `notify_url`.
    pub notify_url: Option<String>,
}

impl AgreementPayRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request =
    ///     AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001");
    /// assert_eq!(request.payer_user_id, "2088102000000001");
    /// assert_eq!(request.amount, Fen::from_fen(1000));
    /// ```
    pub fn new(
        out_order_no: impl Into<String>,
        out_request_no: impl Into<String>,
        order_title: impl Into<String>,
        amount: Fen,
        payer_user_id: impl Into<String>,
    ) -> Self {
        AgreementPayRequest {
            out_order_no: out_order_no.into(),
            out_request_no: out_request_no.into(),
            order_title: order_title.into(),
            amount,
            payer_user_id: payer_user_id.into(),
            pay_timeout: None,
            extra_param: None,
            notify_url: None,
        }
    }

    /// Sets `pay_timeout`.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request =
    ///     AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001")
    ///         .pay_timeout("30m");
    /// assert_eq!(request.pay_timeout.as_deref(), Some("30m"));
    /// assert!(request.biz_content().contains(r#""pay_timeout":"30m""#));
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: impl Into<String>) -> Self {
        self.pay_timeout = Some(pay_timeout.into());
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request =
    ///     AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001")
    ///         .extra_param(r#"{"merchantExt":"orderExpiredTime=1m"}"#);
    /// assert!(request.biz_content().contains(r#""extra_param":"{\"merchantExt\":"#));
    /// ```
    pub fn extra_param(mut self, extra_param: impl Into<String>) -> Self {
        self.extra_param = Some(extra_param.into());
        self
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request =
    ///     AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001")
    ///         .notify_url("https://shop.example/notify");
    /// assert_eq!(request.notify_url.as_deref(), Some("https://shop.example/notify"));
    /// ```
    pub fn notify_url(mut self, notify_url: impl Into<String>) -> Self {
        self.notify_url = Some(notify_url.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen};
    /// let request =
    ///     AgreementPayRequest::new("packet-1", "pay-1", "红包", Fen::from_fen(1000), "2088102000000001");
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包","amount":"10.00","payer_user_id":"2088102000000001"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_order_no", &self.out_order_no)
            .text("out_request_no", &self.out_request_no)
            .text("order_title", &self.order_title)
            .amount("amount", self.amount)
            .text("payer_user_id", &self.payer_user_id)
            .optional("pay_timeout", self.pay_timeout.as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }
}

/// `alipay.fund.coupon.order.disburse`: pays part of a packet to a user. The disburse is an
/// order of its own: its `out_order_no` must differ from the packet's.
///
/// ```
/// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
/// let request = DisburseRequest::new(
///     "claim-1", OrderRef::AuthNo("2024010210002001".into()), "claim-1-op", "红包领取",
///     Fen::from_fen(300), Payee::LogonId("alice@example.com".into()));
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_order_no":"claim-1","deduct_auth_no":"2024010210002001","out_request_no":"claim-1-op","order_title":"红包领取","amount":"3.00","payee_logon_id":"alice@example.com"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DisburseRequest {
    /// Merchant order number of this disburse (≤ 64), not the packet's.
    pub out_order_no: String,
    /// The packet to take the money from: `deduct_auth_no` or `deduct_out_order_no`.
    pub packet: OrderRef,
    /// Merchant operation number (≤ 64).
    pub out_request_no: String,
    /// Title (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The amount paid to the payee.
    pub amount: Fen,
    /// Who is paid.
    pub payee: Payee,
    /// Latest pay time (`1m` ..= `7d`).
    pub pay_timeout: Option<String>,
    /// Merchant extension JSON.
    pub extra_param: Option<String>,
    /// Common parameter `notify_url`.
    pub notify_url: Option<String>,
}

impl DisburseRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let payee = Payee::UserId("2088102000000002".into());
    /// let request = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                    "红包领取", Fen::from_fen(300), payee);
    /// assert_eq!(request.packet, OrderRef::OutOrderNo("packet-1".into()));
    /// assert_eq!(request.amount.to_string(), "3.00");
    /// ```
    pub fn new(
        out_order_no: impl Into<String>,
        packet: OrderRef,
        out_request_no: impl Into<String>,
        order_title: impl Into<String>,
        amount: Fen,
        payee: Payee,
    ) -> Self {
        DisburseRequest {
            out_order_no: out_order_no.into(),
            packet,
            out_request_no: out_request_no.into(),
            order_title: order_title.into(),
            amount,
            payee,
            pay_timeout: None,
            extra_param: None,
            notify_url: None,
        }
    }

    /// Sets `pay_timeout`.
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let payee = Payee::UserId("2088102000000002".into());
    /// let request = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                    "红包领取", Fen::from_fen(300), payee)
    ///     .pay_timeout("1d");
    /// assert!(request.biz_content().ends_with(r#","pay_timeout":"1d"}"#));
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: impl Into<String>) -> Self {
        self.pay_timeout = Some(pay_timeout.into());
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let payee = Payee::UserId("2088102000000002".into());
    /// let request = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                    "红包领取", Fen::from_fen(300), payee)
    ///     .extra_param(r#"{"note":"lucky"}"#);
    /// assert_eq!(request.extra_param.as_deref(), Some(r#"{"note":"lucky"}"#));
    /// ```
    pub fn extra_param(mut self, extra_param: impl Into<String>) -> Self {
        self.extra_param = Some(extra_param.into());
        self
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let payee = Payee::UserId("2088102000000002".into());
    /// let request = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                    "红包领取", Fen::from_fen(300), payee)
    ///     .notify_url("https://shop.example/notify");
    /// assert_eq!(request.notify_url.as_deref(), Some("https://shop.example/notify"));
    /// ```
    pub fn notify_url(mut self, notify_url: impl Into<String>) -> Self {
        self.notify_url = Some(notify_url.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, Payee};
    /// let payee = Payee::UserId("2088102000000002".into());
    /// let request = DisburseRequest::new("claim-1", OrderRef::OutOrderNo("packet-1".into()), "claim-1",
    ///                                    "红包领取", Fen::from_fen(300), payee);
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"claim-1","deduct_out_order_no":"packet-1","out_request_no":"claim-1","order_title":"红包领取","amount":"3.00","payee_user_id":"2088102000000002"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        let writer = BizWriter::new().text("out_order_no", &self.out_order_no);
        let writer = match &self.packet {
            OrderRef::AuthNo(auth_no) => writer.text("deduct_auth_no", auth_no),
            OrderRef::OutOrderNo(out_order_no) => writer.text("deduct_out_order_no", out_order_no),
        };
        let writer = writer
            .text("out_request_no", &self.out_request_no)
            .text("order_title", &self.order_title)
            .amount("amount", self.amount);
        let writer = match &self.payee {
            Payee::UserId(user_id) => writer.text("payee_user_id", user_id),
            Payee::LogonId(logon_id) => writer.text("payee_logon_id", logon_id),
        };
        writer
            .optional("pay_timeout", self.pay_timeout.as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }
}

/// `alipay.fund.coupon.order.refund`: returns (part of) the unclaimed money to the payer.
///
/// ```
/// use hongbao_client::{RefundRequest, Fen};
/// let request = RefundRequest::new("2024010210002001", "refund-1", Fen::from_fen(700), "退回");
/// assert_eq!(
///     request.biz_content(),
///     r#"{"auth_no":"2024010210002001","out_request_no":"refund-1","amount":"7.00","remark":"退回"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// The packet's `auth_no` (not its out_order_no).
    pub auth_no: String,
    /// Merchant number of this refund, different for every refund (≤ 64).
    pub out_request_no: String,
    /// The amount returned, at most what is left.
    pub amount: Fen,
    /// Why (≤ 100 letters or 50 Chinese characters).
    pub remark: String,
    /// Common parameter `notify_url`.
    pub notify_url: Option<String>,
}

impl RefundRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{RefundRequest, Fen};
    /// let request = RefundRequest::new("2024010210002001", "refund-1", Fen::from_fen(700), "退回");
    /// assert_eq!(request.auth_no, "2024010210002001");
    /// assert_eq!(request.remark, "退回");
    /// ```
    pub fn new(
        auth_no: impl Into<String>,
        out_request_no: impl Into<String>,
        amount: Fen,
        remark: impl Into<String>,
    ) -> Self {
        RefundRequest {
            auth_no: auth_no.into(),
            out_request_no: out_request_no.into(),
            amount,
            remark: remark.into(),
            notify_url: None,
        }
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{RefundRequest, Fen};
    /// let request = RefundRequest::new("2024010210002001", "refund-1", Fen::from_fen(700), "退回")
    ///     .notify_url("https://shop.example/notify");
    /// assert_eq!(request.notify_url.as_deref(), Some("https://shop.example/notify"));
    /// ```
    pub fn notify_url(mut self, notify_url: impl Into<String>) -> Self {
        self.notify_url = Some(notify_url.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{RefundRequest, Fen};
    /// let request = RefundRequest::new("2024010210002001", "refund-1", Fen::from_fen(700), "退回");
    /// assert_eq!(request.biz_content(),
    ///            r#"{"auth_no":"2024010210002001","out_request_no":"refund-1","amount":"7.00","remark":"退回"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("auth_no", &self.auth_no)
            .text("out_request_no", &self.out_request_no)
            .amount("amount", self.amount)
            .text("remark", &self.remark)
            .finish()
    }
}

/// `alipay.fund.coupon.operation.query`: one operation, named by an order and an operation.
/// Pair `auth_no` with `operation_id` (fast) or `out_order_no` with `out_request_no`; a refund
/// is found with the packet's `auth_no` and the refund's `out_request_no`.
///
/// ```
/// use hongbao_client::{OperationQueryRequest, OrderRef, OperationRef};
/// let request = OperationQueryRequest::new(OrderRef::OutOrderNo("packet-1".into()),
///                                          OperationRef::OutRequestNo("pay-1".into()));
/// assert_eq!(request.biz_content(), r#"{"out_order_no":"packet-1","out_request_no":"pay-1"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationQueryRequest {
    /// The order.
    pub order: OrderRef,
    /// The operation on it.
    pub operation: OperationRef,
}

impl OperationQueryRequest {
    /// A query for `operation` on `order`.
    ///
    /// ```
    /// use hongbao_client::{OperationQueryRequest, OrderRef, OperationRef};
    /// let request = OperationQueryRequest::new(OrderRef::AuthNo("2024010210002001".into()),
    ///                                          OperationRef::OperationId("20240102000001".into()));
    /// assert_eq!(request.operation, OperationRef::OperationId("20240102000001".into()));
    /// ```
    pub fn new(order: OrderRef, operation: OperationRef) -> Self {
        OperationQueryRequest { order, operation }
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{OperationQueryRequest, OrderRef, OperationRef};
    /// let request = OperationQueryRequest::new(OrderRef::AuthNo("2024010210002001".into()),
    ///                                          OperationRef::OperationId("20240102000001".into()));
    /// assert_eq!(request.biz_content(), r#"{"auth_no":"2024010210002001","operation_id":"20240102000001"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        let writer = match &self.order {
            OrderRef::AuthNo(auth_no) => BizWriter::new().text("auth_no", auth_no),
            OrderRef::OutOrderNo(out_order_no) => {
                BizWriter::new().text("out_order_no", out_order_no)
            }
        };
        let writer = match &self.operation {
            OperationRef::OperationId(id) => writer.text("operation_id", id),
            OperationRef::OutRequestNo(no) => writer.text("out_request_no", no),
        };
        writer.finish()
    }
}

/// An operation's `status`.
///
/// ```
/// use hongbao_client::OperationStatus;
/// assert_eq!(OperationStatus::parse("SUCCESS"), OperationStatus::Success);
/// assert_eq!(OperationStatus::parse("NEW").as_str(), "NEW");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationStatus {
    /// `INIT`: created, not done (a cashier pay not paid yet).
    Init,
    /// `SUCCESS`: the money moved.
    Success,
    /// `CLOSED`: never done (a pay that timed out).
    Closed,
    /// A value this SDK does not know, kept as sent.
    Other(String),
}

impl OperationStatus {
    /// Reads the wire value.
    ///
    /// ```
    /// use hongbao_client::OperationStatus;
    /// assert_eq!(OperationStatus::parse("INIT"), OperationStatus::Init);
    /// assert_eq!(OperationStatus::parse("CLOSED"), OperationStatus::Closed);
    /// assert_eq!(OperationStatus::parse("FROZEN"), OperationStatus::Other("FROZEN".into()));
    /// ```
    pub fn parse(text: &str) -> OperationStatus {
        match text {
            "INIT" => OperationStatus::Init,
            "SUCCESS" => OperationStatus::Success,
            "CLOSED" => OperationStatus::Closed,
            other => OperationStatus::Other(other.to_owned()),
        }
    }

    /// The wire value.
    ///
    /// ```
    /// use hongbao_client::OperationStatus;
    /// assert_eq!(OperationStatus::Success.as_str(), "SUCCESS");
    /// assert_eq!(OperationStatus::Other("FROZEN".into()).as_str(), "FROZEN");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            OperationStatus::Init => "INIT",
            OperationStatus::Success => "SUCCESS",
            OperationStatus::Closed => "CLOSED",
            OperationStatus::Other(other) => other,
        }
    }
}

/// An operation's `operation_type`. A disburse shows as `PAY` (it pays the payee).
///
/// ```
/// use hongbao_client::OperationType;
/// assert_eq!(OperationType::parse("REFUND"), OperationType::Refund);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationType {
    /// `PAY`.
    Pay,
    /// `REFUND`.
    Refund,
    /// A value this SDK does not know, kept as sent.
    Other(String),
}

impl OperationType {
    /// Reads the wire value.
    ///
    /// ```
    /// use hongbao_client::OperationType;
    /// assert_eq!(OperationType::parse("PAY"), OperationType::Pay);
    /// assert_eq!(OperationType::parse("FREEZE"), OperationType::Other("FREEZE".into()));
    /// ```
    pub fn parse(text: &str) -> OperationType {
        match text {
            "PAY" => OperationType::Pay,
            "REFUND" => OperationType::Refund,
            other => OperationType::Other(other.to_owned()),
        }
    }

    /// The wire value.
    ///
    /// ```
    /// use hongbao_client::OperationType;
    /// assert_eq!(OperationType::Refund.as_str(), "REFUND");
    /// assert_eq!(OperationType::parse("PAY").as_str(), "PAY");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            OperationType::Pay => "PAY",
            OperationType::Refund => "REFUND",
            OperationType::Other(other) => other,
        }
    }
}

/// The answer of agreement.pay, disburse and refund (and the `result` of an app.pay): the
/// order and the operation, with the amount and status.
///
/// ```
/// # use hongbao_client::{Client, PrivateKey, SignType};
/// # let key = PrivateKey::generate(1024)?;
/// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
/// use hongbao_client::{Fen, OperationStatus};
/// let node = r#"{"code":"10000","msg":"Success","auth_no":"A1","out_order_no":"packet-1","operation_id":"O1","out_request_no":"pay-1","amount":"10.00","status":"SUCCESS","gmt_trans":"2024-01-02 03:04:05"}"#;
/// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
/// # let app_pay_result = format!(r#"{{"alipay_fund_coupon_order_app_pay_response":{node},"sign":"{sign}"}}"#);
/// let paid = client.verify_app_pay_result(&app_pay_result)?;
/// assert_eq!((paid.amount, paid.status), (Fen::from_fen(1000), OperationStatus::Success));
/// assert_eq!(paid.gmt_trans.map(|t| t.to_rfc3339()).as_deref(), Some("2024-01-02T03:04:05+08:00"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationResponse {
    /// Alipay's order number (the packet's, or the disburse's own).
    pub auth_no: String,
    /// The merchant order number (Alipay's refund answer leaves it out).
    pub out_order_no: Option<String>,
    /// Alipay's operation number.
    pub operation_id: String,
    /// The merchant operation number.
    pub out_request_no: String,
    /// The operation amount.
    pub amount: Fen,
    /// The operation status.
    pub status: OperationStatus,
    /// When the money moved (Beijing time); absent until it has.
    pub gmt_trans: Option<DateTime<FixedOffset>>,
}

impl OperationResponse {
    pub(crate) fn from_response(response: &Response) -> Result<OperationResponse, Error> {
        Ok(OperationResponse {
            auth_no: response.required("auth_no")?,
            out_order_no: response.optional("out_order_no"),
            operation_id: response.required("operation_id")?,
            out_request_no: response.required("out_request_no")?,
            amount: response.amount("amount")?,
            status: OperationStatus::parse(&response.required("status")?),
            gmt_trans: response.time("gmt_trans")?,
        })
    }
}

/// The answer of `alipay.fund.coupon.operation.query`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
/// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
/// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
/// #     app_a_key(), gateway_key().public_key()?).build()?;
/// # client.agreement_pay(&hongbao_client::AgreementPayRequest::new(
/// #     "packet-1", "pay-1", "红包", hongbao_client::Fen::from_fen(1000), MERCHANT_A)).await?;
/// use hongbao_client::{OperationQueryRequest, OrderRef, OperationRef, OperationType, Fen};
/// let detail = client
///     .operation_query(&OperationQueryRequest::new(OrderRef::OutOrderNo("packet-1".into()),
///                                                  OperationRef::OutRequestNo("pay-1".into())))
///     .await?;
/// assert_eq!(detail.operation_type, OperationType::Pay);
/// assert_eq!(detail.amount, Fen::from_fen(1000));
/// assert_eq!(detail.payer_user_id.as_deref(), Some("2088100000000001"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationQueryResponse {
    /// Alipay's order number.
    pub auth_no: String,
    /// The merchant order number.
    pub out_order_no: Option<String>,
    /// Alipay's operation number.
    pub operation_id: String,
    /// The merchant operation number.
    pub out_request_no: Option<String>,
    /// This operation's amount.
    pub amount: Fen,
    /// The order title.
    pub order_title: Option<String>,
    /// `PAY` or `REFUND`.
    pub operation_type: OperationType,
    /// The status.
    pub status: OperationStatus,
    /// The remark.
    pub remark: Option<String>,
    /// The payer's account id.
    pub payer_user_id: Option<String>,
    /// The payer's logon id, masked with `*` (display only).
    pub payer_logon_id: Option<String>,
    /// The payee's account id.
    pub payee_user_id: Option<String>,
    /// The payee's logon id, masked.
    pub payee_logon_id: Option<String>,
    /// When the operation was created (Beijing time).
    pub gmt_create: Option<DateTime<FixedOffset>>,
    /// When the money moved (Beijing time).
    pub gmt_trans: Option<DateTime<FixedOffset>>,
    /// The extension given when the order was created.
    pub extra_param: Option<String>,
    /// How much of the packet has been returned (退回) in total.
    pub total_pay_refund_amount: Option<Fen>,
}

impl OperationQueryResponse {
    pub(crate) fn from_response(response: &Response) -> Result<OperationQueryResponse, Error> {
        Ok(OperationQueryResponse {
            auth_no: response.required("auth_no")?,
            out_order_no: response.optional("out_order_no"),
            operation_id: response.required("operation_id")?,
            out_request_no: response.optional("out_request_no"),
            amount: response.amount("amount")?,
            order_title: response.optional("order_title"),
            operation_type: OperationType::parse(&response.required("operation_type")?),
            status: OperationStatus::parse(&response.required("status")?),
            remark: response.optional("remark"),
            payer_user_id: response.optional("payer_user_id"),
            payer_logon_id: response.optional("payer_logon_id"),
            payee_user_id: response.optional("payee_user_id"),
            payee_logon_id: response.optional("payee_logon_id"),
            gmt_create: response.time("gmt_create")?,
            gmt_trans: response.time("gmt_trans")?,
            extra_param: response.optional("extra_param"),
            total_pay_refund_amount: response.optional_amount("total_pay_refund_amount")?,
        })
    }
}

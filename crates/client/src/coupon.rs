//! The six `alipay.fund.coupon.*` methods (the 2017 red packet product): request structs with
//! typed ids and builders, typed responses (amounts as [`Fen`], times parsed, enums), and the
//! typed calls on [`Client`].
//!
//! `biz_content` is written compactly by `biz::BizWriter`, keys in the documented order. Requests
//! are not checked here beyond their types: the gateway is the authority and answers
//! `ILLEGAL_ARGUMENT`.

use crate::biz::BizWriter;
use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::ids::{AuthNo, LogonId, OperationId, OutOrderNo, OutRequestNo, UserId};
use crate::response::Response;
use chrono::{DateTime, FixedOffset};
use hongbao_money::Fen;
use std::time::Duration;

// The wire names are defined once, in the wire model shared with the server.
pub use hongbao_protocol::method::{
    AGREEMENT_PAY, APP_PAY, DISBURSE, OPERATION_QUERY, PAGE_PAY, REFUND,
};

/// `pay_timeout`: how long a pay (or disburse) may stay unpaid before it closes, in whole
/// minutes, hours or days, `1m` ..= `7d` (Alipay's default when absent: `1h`). Kept in the unit
/// it was given, as the wire writes it (`90m`, `2h`, `1d`).
///
/// ```
/// use hongbao_client::PayTimeout;
/// use std::time::Duration;
/// assert_eq!(PayTimeout::minutes(30)?.to_string(), "30m");
/// assert_eq!(PayTimeout::hours(2)?.as_duration(), Duration::from_secs(7200));
/// assert_eq!(PayTimeout::from_duration(Duration::from_secs(86_400))?.to_string(), "1d");
/// assert!(PayTimeout::days(8).is_err()); // over 7 days
/// assert!(PayTimeout::from_duration(Duration::from_secs(90)).is_err()); // not whole minutes
/// # Ok::<(), hongbao_client::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayTimeout {
    count: u32,
    unit: char,
}

const PAY_TIMEOUT_MINUTES_MAX: u32 = 7 * 24 * 60;

impl PayTimeout {
    fn checked(count: u32, unit: char, minutes_per: u32) -> Result<PayTimeout, Error> {
        let minutes = count.saturating_mul(minutes_per);
        if (1..=PAY_TIMEOUT_MINUTES_MAX).contains(&minutes) {
            Ok(PayTimeout { count, unit })
        } else {
            Err(Error::invalid(format!("pay_timeout {count}{unit} is not between 1m and 7d")))
        }
    }

    /// `n` minutes, 1 ..= 10080.
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// assert_eq!(PayTimeout::minutes(90)?.to_string(), "90m");
    /// assert!(PayTimeout::minutes(0).is_err());
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn minutes(n: u32) -> Result<PayTimeout, Error> {
        PayTimeout::checked(n, 'm', 1)
    }

    /// `n` hours, 1 ..= 168.
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// assert_eq!(PayTimeout::hours(1)?.to_string(), "1h");
    /// assert!(PayTimeout::hours(169).is_err());
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn hours(n: u32) -> Result<PayTimeout, Error> {
        PayTimeout::checked(n, 'h', 60)
    }

    /// `n` days, 1 ..= 7.
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// assert_eq!(PayTimeout::days(7)?.to_string(), "7d");
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn days(n: u32) -> Result<PayTimeout, Error> {
        PayTimeout::checked(n, 'd', 24 * 60)
    }

    /// A duration of whole minutes, in the largest unit that holds it exactly.
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// use std::time::Duration;
    /// assert_eq!(PayTimeout::from_duration(Duration::from_secs(5400))?.to_string(), "90m");
    /// assert_eq!(PayTimeout::from_duration(Duration::from_secs(7200))?.to_string(), "2h");
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn from_duration(duration: Duration) -> Result<PayTimeout, Error> {
        if duration.subsec_nanos() != 0 || duration.as_secs() % 60 != 0 {
            return Err(Error::invalid(format!(
                "pay_timeout {duration:?} is not a whole number of minutes"
            )));
        }
        let minutes = u32::try_from(duration.as_secs() / 60).unwrap_or(u32::MAX);
        if minutes % (24 * 60) == 0 && minutes > 0 {
            PayTimeout::days(minutes / (24 * 60))
        } else if minutes % 60 == 0 && minutes > 0 {
            PayTimeout::hours(minutes / 60)
        } else {
            PayTimeout::minutes(minutes)
        }
    }

    /// Reads the wire form (`30m`, `2h`, `1d`).
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// assert_eq!(PayTimeout::parse("2h")?, PayTimeout::hours(2)?);
    /// assert!(PayTimeout::parse("1.5h").is_err()); // Alipay takes whole numbers only: 90m
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<PayTimeout, Error> {
        let refused = || Error::invalid(format!("pay_timeout {text:?}: use 1m .. 7d (m, h, d)"));
        hongbao_protocol::biz::parse_pay_timeout(text).ok_or_else(refused)?;
        let unit = text.chars().last().ok_or_else(refused)?;
        let count: u32 = text[..text.len() - unit.len_utf8()].parse().map_err(|_| refused())?;
        Ok(PayTimeout { count, unit })
    }

    /// The time it stands for.
    ///
    /// ```
    /// use hongbao_client::PayTimeout;
    /// assert_eq!(PayTimeout::days(1)?.as_duration().as_secs(), 86_400);
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn as_duration(&self) -> Duration {
        let minutes_per = match self.unit {
            'd' => 24 * 60,
            'h' => 60,
            _ => 1,
        };
        Duration::from_secs(u64::from(self.count) * minutes_per * 60)
    }
}

impl std::fmt::Display for PayTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.count, self.unit)
    }
}

/// Which packet (fund order): Alipay's `auth_no` (fast path) or the merchant's `out_order_no`.
///
/// ```
/// use hongbao_client::{AuthNo, OrderRef, OutOrderNo};
/// let by_alipay = OrderRef::AuthNo(AuthNo::new("2024010210002001"));
/// let by_merchant = OrderRef::OutOrderNo(OutOrderNo::new("packet-1"));
/// assert_ne!(by_alipay, by_merchant);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// `auth_no`, returned by the pay call.
    AuthNo(AuthNo),
    /// The merchant's `out_order_no` given to the pay call.
    OutOrderNo(OutOrderNo),
}

/// Which operation: Alipay's `operation_id` or the merchant's `out_request_no`.
///
/// ```
/// use hongbao_client::{OperationId, OperationRef, OutRequestNo};
/// let op = OperationRef::OutRequestNo(OutRequestNo::new("pay-1"));
/// assert_ne!(op, OperationRef::OperationId(OperationId::new("pay-1")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationRef {
    /// `operation_id`, returned by every operation.
    OperationId(OperationId),
    /// The merchant's `out_request_no`.
    OutRequestNo(OutRequestNo),
}

/// Who receives a disburse.
///
/// ```
/// use hongbao_client::{AuthNo, DisburseRequest, Fen, LogonId, OrderRef, OutOrderNo, OutRequestNo, Payee, UserId};
/// let payee = Payee::LogonId(LogonId::new("13800138000"));
/// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::AuthNo(AuthNo::new("2024")),
///                                    OutRequestNo::new("claim-1"), "红包", Fen::from_fen(100), payee);
/// assert!(request.biz_content().ends_with(r#""payee_logon_id":"13800138000"}"#));
/// let both = Payee::UserIdAndLogonId { user_id: UserId::new("2088102000000004"),
///                                      logon_id: LogonId::new("13800138000") };
/// assert_eq!(both.user_id().map(|id| id.as_str()), Some("2088102000000004"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payee {
    /// `payee_user_id`: the 2088… account id (recommended).
    UserId(UserId),
    /// `payee_logon_id`: a phone number or e-mail.
    LogonId(LogonId),
    /// Both, which must name the same user (else `ILLEGAL_ARGUMENT`): the account id, with the
    /// logon id as a check that it is the user meant.
    UserIdAndLogonId {
        /// `payee_user_id`.
        user_id: UserId,
        /// `payee_logon_id`.
        logon_id: LogonId,
    },
}

impl Payee {
    /// The account id, when given.
    ///
    /// ```
    /// use hongbao_client::{LogonId, Payee, UserId};
    /// assert_eq!(Payee::UserId(UserId::new("2088102000000002")).user_id().map(UserId::as_str),
    ///            Some("2088102000000002"));
    /// assert_eq!(Payee::LogonId(LogonId::new("alice@example.com")).user_id(), None);
    /// ```
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Payee::UserId(user_id) | Payee::UserIdAndLogonId { user_id, .. } => Some(user_id),
            Payee::LogonId(_) => None,
        }
    }

    fn write(&self, writer: BizWriter) -> BizWriter {
        match self {
            Payee::UserId(user_id) => writer.text("payee_user_id", user_id.as_str()),
            Payee::LogonId(logon_id) => writer.text("payee_logon_id", logon_id.as_str()),
            Payee::UserIdAndLogonId { user_id, logon_id } => writer
                .text("payee_user_id", user_id.as_str())
                .text("payee_logon_id", logon_id.as_str()),
        }
    }
}

/// The fields shared by page.pay and app.pay (the payer picks the account at the cashier).
///
/// ```
/// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo, PayTimeout};
/// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
///                                      "红包发放", Fen::from_fen(1000))
///     .pay_timeout(PayTimeout::minutes(30)?)
///     .return_url("https://shop.example/return");
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包发放","amount":"10.00","pay_timeout":"30m"}"#
/// );
/// # Ok::<(), hongbao_client::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CashierPayRequest {
    /// Merchant order number of the packet, unique per merchant (≤ 64).
    pub out_order_no: OutOrderNo,
    /// Merchant number of this pay operation (≤ 64).
    pub out_request_no: OutRequestNo,
    /// What the payer sees (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The packet amount, 0.01 ..= 100000000.00.
    pub amount: Fen,
    /// Latest pay time; Alipay's default is `1h`.
    pub pay_timeout: Option<PayTimeout>,
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
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1000));
    /// assert_eq!(request.amount.to_string(), "10.00");
    /// assert_eq!(request.pay_timeout, None);
    /// ```
    pub fn new(
        out_order_no: OutOrderNo,
        out_request_no: OutRequestNo,
        order_title: impl Into<String>,
        amount: Fen,
    ) -> Self {
        CashierPayRequest {
            out_order_no,
            out_request_no,
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
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo, PayTimeout};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1))
    ///     .pay_timeout(PayTimeout::hours(2)?);
    /// assert!(request.biz_content().ends_with(r#","pay_timeout":"2h"}"#));
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: PayTimeout) -> Self {
        self.pay_timeout = Some(pay_timeout);
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1))
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
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1))
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
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1))
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
    /// use hongbao_client::{CashierPayRequest, Fen, OutOrderNo, OutRequestNo};
    /// let request = CashierPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                      "红包", Fen::from_fen(1050));
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包","amount":"10.50"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_order_no", self.out_order_no.as_str())
            .text("out_request_no", self.out_request_no.as_str())
            .text("order_title", &self.order_title)
            .amount("amount", self.amount)
            .optional("pay_timeout", self.pay_timeout.map(|t| t.to_string()).as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }

    fn options(&self) -> CallOptions {
        CallOptions {
            notify_url: self.notify_url.clone(),
            return_url: self.return_url.clone(),
            ..CallOptions::new()
        }
    }
}

/// The request of `alipay.fund.coupon.order.page.pay` (see [`CashierPayRequest`]).
///
/// ```
/// use hongbao_client::{Fen, OutOrderNo, OutRequestNo, PagePayRequest};
/// let request = PagePayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
///                                   "红包", Fen::from_fen(100))
///     .return_url("https://shop.example/paid");
/// assert_eq!(request.return_url.as_deref(), Some("https://shop.example/paid"));
/// ```
pub type PagePayRequest = CashierPayRequest;
/// The request of `alipay.fund.coupon.order.app.pay` (see [`CashierPayRequest`]).
///
/// ```
/// use hongbao_client::{AppPayRequest, Fen, OutOrderNo, OutRequestNo, PayTimeout};
/// let request = AppPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
///                                  "红包", Fen::from_fen(100))
///     .pay_timeout(PayTimeout::minutes(15)?);
/// assert!(request.biz_content().contains(r#""amount":"1.00","pay_timeout":"15m""#));
/// # Ok::<(), hongbao_client::Error>(())
/// ```
pub type AppPayRequest = CashierPayRequest;

/// `alipay.fund.coupon.order.agreement.pay`: the merchant's own account funds the packet.
///
/// ```
/// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
/// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
///                                        "红包发放", Fen::from_fen(10000), UserId::new("2088102000000001"))
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
    pub out_order_no: OutOrderNo,
    /// Merchant number of this pay operation (≤ 64).
    pub out_request_no: OutRequestNo,
    /// Title (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The packet amount.
    pub amount: Fen,
    /// The payer: the 2088… account bound to the calling app.
    pub payer_user_id: UserId,
    /// Latest pay time.
    pub pay_timeout: Option<PayTimeout>,
    /// Merchant extension JSON, e.g. `{"merchantExt":"orderExpiredTime=1m"}`.
    pub extra_param: Option<String>,
    /// Common parameter `notify_url`.
    pub notify_url: Option<String>,
}

impl AgreementPayRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                        "红包", Fen::from_fen(1000), UserId::new("2088102000000001"));
    /// assert_eq!(request.payer_user_id.as_str(), "2088102000000001");
    /// assert_eq!(request.amount, Fen::from_fen(1000));
    /// ```
    pub fn new(
        out_order_no: OutOrderNo,
        out_request_no: OutRequestNo,
        order_title: impl Into<String>,
        amount: Fen,
        payer_user_id: UserId,
    ) -> Self {
        AgreementPayRequest {
            out_order_no,
            out_request_no,
            order_title: order_title.into(),
            amount,
            payer_user_id,
            pay_timeout: None,
            extra_param: None,
            notify_url: None,
        }
    }

    /// Sets `pay_timeout`.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, PayTimeout, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                        "红包", Fen::from_fen(1000), UserId::new("2088102000000001"))
    ///     .pay_timeout(PayTimeout::minutes(30)?);
    /// assert!(request.biz_content().contains(r#""pay_timeout":"30m""#));
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: PayTimeout) -> Self {
        self.pay_timeout = Some(pay_timeout);
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                        "红包", Fen::from_fen(1000), UserId::new("2088102000000001"))
    ///     .extra_param(r#"{"merchantExt":"orderExpiredTime=1m"}"#);
    /// assert!(request.biz_content().contains(r#""extra_param":"{\"merchantExt\":"#));
    /// ```
    pub fn extra_param(mut self, extra_param: impl Into<String>) -> Self {
        self.extra_param = Some(extra_param.into());
        self
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                        "红包", Fen::from_fen(1000), UserId::new("2088102000000001"))
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
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///                                        "红包", Fen::from_fen(1000), UserId::new("2088102000000001"));
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"packet-1","out_request_no":"pay-1","order_title":"红包","amount":"10.00","payer_user_id":"2088102000000001"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_order_no", self.out_order_no.as_str())
            .text("out_request_no", self.out_request_no.as_str())
            .text("order_title", &self.order_title)
            .amount("amount", self.amount)
            .text("payer_user_id", self.payer_user_id.as_str())
            .optional("pay_timeout", self.pay_timeout.map(|t| t.to_string()).as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }
}

/// `alipay.fund.coupon.order.disburse`: pays part of a packet to a user. The disburse is an
/// order of its own: its `out_order_no` must differ from the packet's.
///
/// ```
/// use hongbao_client::{AuthNo, DisburseRequest, Fen, LogonId, OrderRef, OutOrderNo, OutRequestNo, Payee};
/// let request = DisburseRequest::new(
///     OutOrderNo::new("claim-1"), OrderRef::AuthNo(AuthNo::new("2024010210002001")),
///     OutRequestNo::new("claim-1-op"), "红包领取", Fen::from_fen(300),
///     Payee::LogonId(LogonId::new("alice@example.com")));
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_order_no":"claim-1","deduct_auth_no":"2024010210002001","out_request_no":"claim-1-op","order_title":"红包领取","amount":"3.00","payee_logon_id":"alice@example.com"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DisburseRequest {
    /// Merchant order number of this disburse (≤ 64), not the packet's.
    pub out_order_no: OutOrderNo,
    /// The packet to take the money from: `deduct_auth_no` or `deduct_out_order_no`.
    pub packet: OrderRef,
    /// Merchant operation number (≤ 64).
    pub out_request_no: OutRequestNo,
    /// Title (≤ 100 letters or 50 Chinese characters).
    pub order_title: String,
    /// The amount paid to the payee.
    pub amount: Fen,
    /// Who is paid.
    pub payee: Payee,
    /// Latest pay time.
    pub pay_timeout: Option<PayTimeout>,
    /// Merchant extension JSON.
    pub extra_param: Option<String>,
    /// Common parameter `notify_url`.
    pub notify_url: Option<String>,
}

impl DisburseRequest {
    /// A request with the required fields.
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, OutOrderNo, OutRequestNo, Payee, UserId};
    /// let payee = Payee::UserId(UserId::new("2088102000000002"));
    /// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                    OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee);
    /// assert_eq!(request.packet, OrderRef::OutOrderNo(OutOrderNo::new("packet-1")));
    /// assert_eq!(request.amount.to_string(), "3.00");
    /// ```
    pub fn new(
        out_order_no: OutOrderNo,
        packet: OrderRef,
        out_request_no: OutRequestNo,
        order_title: impl Into<String>,
        amount: Fen,
        payee: Payee,
    ) -> Self {
        DisburseRequest {
            out_order_no,
            packet,
            out_request_no,
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
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, OutOrderNo, OutRequestNo, Payee, PayTimeout, UserId};
    /// let payee = Payee::UserId(UserId::new("2088102000000002"));
    /// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                    OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee)
    ///     .pay_timeout(PayTimeout::days(1)?);
    /// assert!(request.biz_content().ends_with(r#","pay_timeout":"1d"}"#));
    /// # Ok::<(), hongbao_client::Error>(())
    /// ```
    pub fn pay_timeout(mut self, pay_timeout: PayTimeout) -> Self {
        self.pay_timeout = Some(pay_timeout);
        self
    }

    /// Sets `extra_param` (a JSON text).
    ///
    /// ```
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, OutOrderNo, OutRequestNo, Payee, UserId};
    /// let payee = Payee::UserId(UserId::new("2088102000000002"));
    /// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                    OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee)
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
    /// use hongbao_client::{DisburseRequest, Fen, OrderRef, OutOrderNo, OutRequestNo, Payee, UserId};
    /// let payee = Payee::UserId(UserId::new("2088102000000002"));
    /// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                    OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee)
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
    /// use hongbao_client::{DisburseRequest, Fen, LogonId, OrderRef, OutOrderNo, OutRequestNo, Payee, UserId};
    /// let payee = Payee::UserIdAndLogonId { user_id: UserId::new("2088102000000002"),
    ///                                       logon_id: LogonId::new("alice@example.com") };
    /// let request = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                    OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee);
    /// assert_eq!(request.biz_content(),
    ///            r#"{"out_order_no":"claim-1","deduct_out_order_no":"packet-1","out_request_no":"claim-1","order_title":"红包领取","amount":"3.00","payee_user_id":"2088102000000002","payee_logon_id":"alice@example.com"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        let writer = BizWriter::new().text("out_order_no", self.out_order_no.as_str());
        let writer = match &self.packet {
            OrderRef::AuthNo(auth_no) => writer.text("deduct_auth_no", auth_no.as_str()),
            OrderRef::OutOrderNo(out_order_no) => {
                writer.text("deduct_out_order_no", out_order_no.as_str())
            }
        };
        let writer = writer
            .text("out_request_no", self.out_request_no.as_str())
            .text("order_title", &self.order_title)
            .amount("amount", self.amount);
        self.payee
            .write(writer)
            .optional("pay_timeout", self.pay_timeout.map(|t| t.to_string()).as_deref())
            .optional("extra_param", self.extra_param.as_deref())
            .finish()
    }
}

/// `alipay.fund.coupon.order.refund`: returns (part of) the unclaimed money to the payer.
///
/// ```
/// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
/// let request = RefundRequest::new(AuthNo::new("2024010210002001"), OutRequestNo::new("refund-1"),
///                                  Fen::from_fen(700), "退回");
/// assert_eq!(
///     request.biz_content(),
///     r#"{"auth_no":"2024010210002001","out_request_no":"refund-1","amount":"7.00","remark":"退回"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// The packet's `auth_no` (not its out_order_no).
    pub auth_no: AuthNo,
    /// Merchant number of this refund, different for every refund (≤ 64).
    pub out_request_no: OutRequestNo,
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
    /// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
    /// let request = RefundRequest::new(AuthNo::new("2024010210002001"), OutRequestNo::new("refund-1"),
    ///                                  Fen::from_fen(700), "退回");
    /// assert_eq!(request.auth_no.as_str(), "2024010210002001");
    /// assert_eq!(request.remark, "退回");
    /// ```
    pub fn new(
        auth_no: AuthNo,
        out_request_no: OutRequestNo,
        amount: Fen,
        remark: impl Into<String>,
    ) -> Self {
        RefundRequest { auth_no, out_request_no, amount, remark: remark.into(), notify_url: None }
    }

    /// Sets `notify_url`.
    ///
    /// ```
    /// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
    /// let request = RefundRequest::new(AuthNo::new("2024010210002001"), OutRequestNo::new("refund-1"),
    ///                                  Fen::from_fen(700), "退回")
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
    /// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
    /// let request = RefundRequest::new(AuthNo::new("2024010210002001"), OutRequestNo::new("refund-1"),
    ///                                  Fen::from_fen(700), "退回");
    /// assert_eq!(request.biz_content(),
    ///            r#"{"auth_no":"2024010210002001","out_request_no":"refund-1","amount":"7.00","remark":"退回"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("auth_no", self.auth_no.as_str())
            .text("out_request_no", self.out_request_no.as_str())
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
/// use hongbao_client::{OperationQueryRequest, OperationRef, OrderRef, OutOrderNo, OutRequestNo};
/// let request = OperationQueryRequest::new(OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
///                                          OperationRef::OutRequestNo(OutRequestNo::new("pay-1")));
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
    /// use hongbao_client::{AuthNo, OperationId, OperationQueryRequest, OperationRef, OrderRef};
    /// let request = OperationQueryRequest::new(OrderRef::AuthNo(AuthNo::new("2024010210002001")),
    ///                                          OperationRef::OperationId(OperationId::new("20240102000001")));
    /// assert_eq!(request.operation, OperationRef::OperationId(OperationId::new("20240102000001")));
    /// ```
    pub fn new(order: OrderRef, operation: OperationRef) -> Self {
        OperationQueryRequest { order, operation }
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{AuthNo, OperationId, OperationQueryRequest, OperationRef, OrderRef};
    /// let request = OperationQueryRequest::new(OrderRef::AuthNo(AuthNo::new("2024010210002001")),
    ///                                          OperationRef::OperationId(OperationId::new("20240102000001")));
    /// assert_eq!(request.biz_content(), r#"{"auth_no":"2024010210002001","operation_id":"20240102000001"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        let writer = match &self.order {
            OrderRef::AuthNo(auth_no) => BizWriter::new().text("auth_no", auth_no.as_str()),
            OrderRef::OutOrderNo(out_order_no) => {
                BizWriter::new().text("out_order_no", out_order_no.as_str())
            }
        };
        let writer = match &self.operation {
            OperationRef::OperationId(id) => writer.text("operation_id", id.as_str()),
            OperationRef::OutRequestNo(no) => writer.text("out_request_no", no.as_str()),
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
/// assert_eq!(paid.auth_no.as_str(), "A1");
/// assert_eq!(paid.gmt_trans.map(|t| t.to_rfc3339()).as_deref(), Some("2024-01-02T03:04:05+08:00"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationResponse {
    /// Alipay's order number (the packet's, or the disburse's own).
    pub auth_no: AuthNo,
    /// The merchant order number (Alipay's refund answer leaves it out).
    pub out_order_no: Option<OutOrderNo>,
    /// Alipay's operation number.
    pub operation_id: OperationId,
    /// The merchant operation number.
    pub out_request_no: OutRequestNo,
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
            auth_no: AuthNo::new(response.required("auth_no")?),
            out_order_no: response.optional("out_order_no").map(OutOrderNo::new),
            operation_id: OperationId::new(response.required("operation_id")?),
            out_request_no: OutRequestNo::new(response.required("out_request_no")?),
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
/// use hongbao_client::*;
/// # client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
/// #     "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
/// let detail = client
///     .operation_query(&OperationQueryRequest::new(OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
///                                                  OperationRef::OutRequestNo(OutRequestNo::new("pay-1"))))
///     .await?;
/// assert_eq!(detail.operation_type, OperationType::Pay);
/// assert_eq!(detail.amount, Fen::from_fen(1000));
/// assert_eq!(detail.payer_user_id, Some(UserId::new("2088100000000001")));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationQueryResponse {
    /// Alipay's order number.
    pub auth_no: AuthNo,
    /// The merchant order number.
    pub out_order_no: Option<OutOrderNo>,
    /// Alipay's operation number.
    pub operation_id: OperationId,
    /// The merchant operation number.
    pub out_request_no: Option<OutRequestNo>,
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
    pub payer_user_id: Option<UserId>,
    /// The payer's logon id, masked with `*` (display only, so not a [`LogonId`]).
    pub payer_logon_id: Option<String>,
    /// The payee's account id.
    pub payee_user_id: Option<UserId>,
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
            auth_no: AuthNo::new(response.required("auth_no")?),
            out_order_no: response.optional("out_order_no").map(OutOrderNo::new),
            operation_id: OperationId::new(response.required("operation_id")?),
            out_request_no: response.optional("out_request_no").map(OutRequestNo::new),
            amount: response.amount("amount")?,
            order_title: response.optional("order_title"),
            operation_type: OperationType::parse(&response.required("operation_type")?),
            status: OperationStatus::parse(&response.required("status")?),
            remark: response.optional("remark"),
            payer_user_id: response.optional("payer_user_id").map(UserId::new),
            payer_logon_id: response.optional("payer_logon_id"),
            payee_user_id: response.optional("payee_user_id").map(UserId::new),
            payee_logon_id: response.optional("payee_logon_id"),
            gmt_create: response.time("gmt_create")?,
            gmt_trans: response.time("gmt_trans")?,
            extra_param: response.optional("extra_param"),
            total_pay_refund_amount: response.optional_amount("total_pay_refund_amount")?,
        })
    }
}

fn order_ref_id(order: &OrderRef) -> (&'static str, &str) {
    match order {
        OrderRef::AuthNo(auth_no) => ("auth_no", auth_no.as_str()),
        OrderRef::OutOrderNo(out_order_no) => ("out_order_no", out_order_no.as_str()),
    }
}

/// The typed fund.coupon calls.
impl Client {
    /// `alipay.fund.coupon.order.agreement.pay`: funds a packet from the merchant's account.
    /// Refusals: [`AgreementPaySubCode`](crate::AgreementPaySubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::{AgreementPayRequest, Fen, OperationStatus, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包",
    ///                                        Fen::from_fen(1000), UserId::new("2088100000000001"));
    /// let paid = client.agreement_pay(&request).await?;
    /// assert_eq!(paid.status, OperationStatus::Success);
    /// assert_eq!(paid.amount, Fen::from_fen(1000));
    /// assert_eq!(client.agreement_pay(&request).await?, paid); // a replay answers the first outcome
    /// # Ok(()) }
    /// ```
    pub async fn agreement_pay(
        &self,
        request: &AgreementPayRequest,
    ) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let ids = [
            ("out_order_no", request.out_order_no.as_str()),
            ("out_request_no", request.out_request_no.as_str()),
        ];
        let response = self.call(AGREEMENT_PAY, &request.biz_content(), &options, &ids).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.order.disburse`: pays part of a packet to a user. Refusals:
    /// [`DisburseSubCode`](crate::DisburseSubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// # client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    /// #     "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
    /// let payee = Payee::UserId(UserId::new("2088100000000003"));
    /// let claim = DisburseRequest::new(OutOrderNo::new("claim-1"), OrderRef::OutOrderNo(OutOrderNo::new("packet-1")),
    ///                                  OutRequestNo::new("claim-1"), "红包领取", Fen::from_fen(300), payee);
    /// let paid = client.disburse(&claim).await?;
    /// assert_eq!(paid.amount, Fen::from_fen(300));
    /// assert!(paid.gmt_trans.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn disburse(&self, request: &DisburseRequest) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let (packet_key, packet_id) = order_ref_id(&request.packet);
        let ids = [
            ("out_order_no", request.out_order_no.as_str()),
            ("out_request_no", request.out_request_no.as_str()),
            (packet_key, packet_id),
        ];
        let response = self.call(DISBURSE, &request.biz_content(), &options, &ids).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.order.refund`: returns unclaimed money to the payer. Refusals:
    /// [`RefundSubCode`](crate::RefundSubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// # let funded = client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"),
    /// #     OutRequestNo::new("pay-1"), "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
    /// let too_much = RefundRequest::new(funded.auth_no.clone(), OutRequestNo::new("refund-1"),
    ///                                   Fen::from_fen(1001), "退回");
    /// let err = client.refund(&too_much).await.unwrap_err();
    /// assert_eq!(RefundSubCode::of(&err), Some(RefundSubCode::MoneyNotEnough));
    /// assert_eq!(err.gateway().map(|g| g.code()), Some("40004")); // the raw code, kept
    /// let rest = RefundRequest::new(funded.auth_no, OutRequestNo::new("refund-2"), Fen::from_fen(700), "退回");
    /// let back = client.refund(&rest).await?;
    /// assert_eq!(back.amount, Fen::from_fen(700));
    /// # Ok(()) }
    /// ```
    pub async fn refund(&self, request: &RefundRequest) -> Result<OperationResponse, Error> {
        let options = CallOptions { notify_url: request.notify_url.clone(), ..CallOptions::new() };
        let ids = [
            ("auth_no", request.auth_no.as_str()),
            ("out_request_no", request.out_request_no.as_str()),
        ];
        let response = self.call(REFUND, &request.biz_content(), &options, &ids).await?;
        OperationResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.operation.query`: one operation's details. Refusals:
    /// [`OperationQuerySubCode`](crate::OperationQuerySubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A, MERCHANT_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// # let funded = client.agreement_pay(&AgreementPayRequest::new(OutOrderNo::new("packet-1"),
    /// #     OutRequestNo::new("pay-1"), "红包", Fen::from_fen(1000), UserId::new(MERCHANT_A))).await?;
    /// let query = OperationQueryRequest::new(OrderRef::AuthNo(funded.auth_no.clone()),
    ///                                        OperationRef::OutRequestNo(OutRequestNo::new("pay-1")));
    /// let detail = client.operation_query(&query).await?;
    /// assert_eq!(detail.operation_type, OperationType::Pay);
    /// assert_eq!(detail.operation_id, funded.operation_id);
    /// # Ok(()) }
    /// ```
    pub async fn operation_query(
        &self,
        request: &OperationQueryRequest,
    ) -> Result<OperationQueryResponse, Error> {
        let (order_key, order_id) = order_ref_id(&request.order);
        let operation = match &request.operation {
            OperationRef::OperationId(id) => ("operation_id", id.as_str()),
            OperationRef::OutRequestNo(no) => ("out_request_no", no.as_str()),
        };
        let ids = [(order_key, order_id), operation];
        let response =
            self.call(OPERATION_QUERY, &request.biz_content(), &CallOptions::new(), &ids).await?;
        OperationQueryResponse::from_response(&response)
    }

    /// `alipay.fund.coupon.order.page.pay` as a GET URL for the payer's browser (the Python
    /// SDK's `page_execute(request, http_method="GET")`, byte for byte). Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let request = PagePayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包", Fen::from_fen(100));
    /// let url = client.page_pay_url(&request)?;
    /// assert!(url.contains("&method=alipay.fund.coupon.order.page.pay&"));
    /// assert!(url.contains("&biz_content=%7B%22out_order_no%22%3A%22packet-1%22"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_pay_url(&self, request: &PagePayRequest) -> Result<String, Error> {
        self.sign(PAGE_PAY, &request.biz_content(), &request.options())?.page_url(self.gateway())
    }

    /// `alipay.fund.coupon.order.page.pay` as an auto-submitting HTML form (POST), the markup
    /// of the Python SDK's `page_execute(request)`. Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let request = PagePayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包", Fen::from_fen(100));
    /// let html = client.page_pay_form(&request)?;
    /// assert!(html.starts_with("<form name=\"punchout_form\" method=\"post\" action=\"https://gw.example/gateway.do?timestamp="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_pay_form(&self, request: &PagePayRequest) -> Result<String, Error> {
        self.sign(PAGE_PAY, &request.biz_content(), &request.options())?.page_form(self.gateway())
    }

    /// `alipay.fund.coupon.order.app.pay` as the order string the merchant app hands to the
    /// Alipay app SDK (the Python SDK's `sdk_execute`, byte for byte). Nothing is sent.
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let request = AppPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包", Fen::from_fen(100));
    /// let order = client.app_pay_order_string(&request)?;
    /// assert!(order.starts_with("timestamp="));
    /// assert!(order.contains("&sign_type=RSA2&sign="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_pay_order_string(&self, request: &AppPayRequest) -> Result<String, Error> {
        self.sign(APP_PAY, &request.biz_content(), &request.options())?.order_string()
    }

    /// Verifies the `result` the Alipay app hands back after an app.pay (a signed
    /// `{"alipay_fund_coupon_order_app_pay_response":{…},"sign":"…"}` text) on your server,
    /// and reads it. Never trust it unverified on the device.
    ///
    /// ```
    /// # use hongbao_client::{Client, PrivateKey, SignType, OperationStatus};
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let node = r#"{"code":"10000","msg":"Success","auth_no":"A1","out_order_no":"packet-1","operation_id":"O1","out_request_no":"pay-1","amount":"1.00","status":"SUCCESS","gmt_trans":"2024-01-02 03:04:05"}"#;
    /// let sign = key.sign(SignType::Rsa2, node.as_bytes())?; // done by Alipay
    /// let result = format!(r#"{{"alipay_fund_coupon_order_app_pay_response":{node},"sign":"{sign}","sign_type":"RSA2"}}"#);
    /// let paid = client.verify_app_pay_result(&result)?;
    /// assert_eq!(paid.status, OperationStatus::Success);
    /// assert!(client.verify_app_pay_result(&result.replace("1.00", "9.00")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_app_pay_result(&self, result: &str) -> Result<OperationResponse, Error> {
        let response = self.verify_wallet_result(result, APP_PAY)?;
        OperationResponse::from_response(&response)
    }
}

//! The ids of both products as types of their own, so that two ids cannot be swapped without
//! the compiler noticing: a merchant's `out_order_no` is not an `out_request_no`, Alipay's
//! `auth_no` is not an `operation_id`, a user id is not a logon id.
//!
//! Each is a thin wrapper over the text sent (`new`, `as_str`, `Display`); none converts
//! implicitly from `&str` or `String`, which is the point. The client checks no format here: the
//! gateway is the authority on lengths and shapes and answers `ILLEGAL_ARGUMENT` /
//! `INVALID_PARAMETER`.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps the id's text.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("let id = ", stringify!($name), "::new(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(id.as_str(), \"", $example, "\");")]
            #[doc = concat!("assert_eq!(id.to_string(), \"", $example, "\");")]
            /// ```
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as sent and received.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("let id = ", stringify!($name), "::new(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(id.as_str().len(), ", stringify!($example), ".len());")]
            /// ```
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, by value.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("let text: String = ", stringify!($name), "::new(\"", $example, "\").into_string();")]
            #[doc = concat!("assert_eq!(text, \"", $example, "\");")]
            /// ```
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// `out_order_no`: the merchant's number of a fund.coupon order (a packet, or a disburse),
    /// unique per merchant, at most 64 characters.
    ///
    /// Ids of different kinds do not mix, so a swap is a compile error, not a wrong request:
    ///
    /// ```
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let request = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"),
    ///     "红包", Fen::from_fen(100), UserId::new("2088102000000001"));
    /// assert_eq!(request.out_order_no.as_str(), "packet-1");
    /// ```
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{AgreementPayRequest, Fen, OutOrderNo, OutRequestNo, UserId};
    /// // out_request_no and out_order_no swapped: does not compile.
    /// let request = AgreementPayRequest::new(OutRequestNo::new("pay-1"), OutOrderNo::new("packet-1"),
    ///     "红包", Fen::from_fen(100), UserId::new("2088102000000001"));
    /// ```
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{AgreementPayRequest, Fen, OutRequestNo, UserId};
    /// // A bare string is not an id either.
    /// let request = AgreementPayRequest::new("packet-1", OutRequestNo::new("pay-1"),
    ///     "红包", Fen::from_fen(100), UserId::new("2088102000000001"));
    /// ```
    OutOrderNo,
    "packet-1"
);

id_type!(
    /// `out_request_no`: the merchant's number of one operation (a pay, a disburse, a refund, a
    /// fund.trans return), at most 64 characters. Resending an operation with the same number
    /// replays its first outcome; a new number is a new operation.
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
    /// // auth_no and out_request_no swapped: does not compile.
    /// let request = RefundRequest::new(OutRequestNo::new("refund-1"), AuthNo::new("2024010210002001"),
    ///     Fen::from_fen(700), "退回");
    /// ```
    OutRequestNo,
    "refund-1"
);

id_type!(
    /// `auth_no`: Alipay's number of a fund.coupon order, returned by the pay call.
    ///
    /// ```
    /// use hongbao_client::{AuthNo, Fen, OutRequestNo, RefundRequest};
    /// let request = RefundRequest::new(AuthNo::new("2024010210002001"), OutRequestNo::new("refund-1"),
    ///     Fen::from_fen(700), "退回");
    /// assert_eq!(request.auth_no.as_str(), "2024010210002001");
    /// ```
    AuthNo,
    "2024010210002001"
);

id_type!(
    /// `operation_id`: Alipay's number of one fund.coupon operation.
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{OperationId, OperationRef};
    /// // An operation_id is not an out_request_no.
    /// let operation = OperationRef::OutRequestNo(OperationId::new("20240102000001"));
    /// ```
    OperationId,
    "20240102000001"
);

id_type!(
    /// A user's Alipay account id (`2088` + 12 digits): `payer_user_id`, `payee_user_id`,
    /// `payer_binded_alipay_uid`, a `payee_info` of type `ALIPAY_USER_ID`.
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{LogonId, Payee};
    /// // A logon id is not a user id.
    /// let payee = Payee::UserId(LogonId::new("alice@example.com"));
    /// ```
    UserId,
    "2088102000000002"
);

id_type!(
    /// A user's logon id (a phone number or an e-mail address): `payee_logon_id`, a
    /// `payee_info` of type `ALIPAY_LOGON_ID`.
    ///
    /// ```
    /// use hongbao_client::{LogonId, Payee};
    /// let payee = Payee::LogonId(LogonId::new("alice@example.com"));
    /// assert_eq!(payee, Payee::LogonId(LogonId::new("alice@example.com")));
    /// ```
    LogonId,
    "alice@example.com"
);

id_type!(
    /// `out_biz_no`: the merchant's number of a fund.trans document (a send, a claim, a B2C red
    /// packet), at most 64 characters; an identical request under it replays the first answer.
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{Fen, OrderId, OutBizNo, Participant, TransferRequest, UserId};
    /// // The send's order_id and the claim's out_biz_no swapped: does not compile.
    /// let claim = TransferRequest::claim(OrderId::new("20240102110075000006640000063056"),
    ///     OutBizNo::new("claim-1"), Fen::from_fen(100), Participant::user_id(UserId::new("2088102000000002")));
    /// ```
    OutBizNo,
    "claim-1"
);

id_type!(
    /// `order_id`: Alipay's number of a fund.trans document (32 digits), e.g. the send a claim
    /// names as `original_order_id`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutBizNo, Participant, TransferRequest, UserId};
    /// let claim = TransferRequest::claim(OutBizNo::new("claim-1"),
    ///     OrderId::new("20240102110075000006640000063056"), Fen::from_fen(100),
    ///     Participant::user_id(UserId::new("2088102000000002")));
    /// assert_eq!(claim.out_biz_no.as_str(), "claim-1");
    /// ```
    OrderId,
    "20240102110075000006640000063056"
);

id_type!(
    /// `pay_fund_order_id`: Alipay's fund flow number of a fund.trans movement (a return's
    /// `refund_order_id` is one too), the first key of `alipay.fund.trans.common.query`.
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{CommonQueryRequest, OrderId};
    /// // An order_id is not a pay_fund_order_id.
    /// let query = CommonQueryRequest::by_pay_fund_order_id(OrderId::new("20240102110075000006640000063056"));
    /// ```
    PayFundOrderId,
    "20240102110075001506640000063056"
);

id_type!(
    /// `refund_order_id`: Alipay's number of a fund.trans return (`alipay.fund.trans.refund`).
    ///
    /// ```compile_fail,E0308
    /// use hongbao_client::{CommonQueryRequest, RefundOrderId};
    /// // A return's number is not a send's order_id.
    /// let query = CommonQueryRequest::by_order_id(RefundOrderId::new("20240102110075001506640000063057"));
    /// ```
    RefundOrderId,
    "20240102110075001506640000063057"
);

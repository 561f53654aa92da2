//! Each method's documented `sub_code`s as an enum to `match` on, with the raw text kept
//! ([`GatewayError::sub_code`](crate::GatewayError::sub_code), `msg`, `sub_msg`) and an
//! `Other(String)` for codes this SDK does not know. Every variant's doc says whether a retry can
//! help; `retry_can_help()` says it in code.
//!
//! Sources: hongbao's table (docs/errors.md, what the gateway answers and why), Alipay's
//! documented codes (alipay-spec.md §2.5–2.7 for fund.coupon; std-red-packet-spec.md §5.4 for
//! fund.trans). Codes of the gateway itself (`isv.invalid-signature`, `isv.invalid-app-id`, …)
//! are `Other`: they are configuration errors, never worth a retry.

use crate::error::Error;

macro_rules! sub_codes {
    (
        $(#[$doc:meta])*
        pub enum $name:ident (example: $example:ident = $example_code:literal) {
            $( $(#[$vdoc:meta])* $variant:ident = $code:literal, retry: $retry:literal; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
            /// A sub_code this SDK does not know for this method, kept as sent. **Retry:** see
            /// [`Error::is_retryable`] and [`Error::outcome_unknown`], which go by the `code`.
            Other(String),
        }

        impl $name {
            /// Reads a `sub_code`.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::parse(", stringify!($example_code), "), ", stringify!($name), "::", stringify!($example), ");")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::parse(\"NEW_CODE\"), ", stringify!($name), "::Other(\"NEW_CODE\".into()));")]
            /// ```
            pub fn parse(sub_code: &str) -> Self {
                match sub_code {
                    $( $code => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The `sub_code` as sent.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::", stringify!($example), ".as_str(), ", stringify!($example_code), ");")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::Other(\"NEW_CODE\".into()).as_str(), \"NEW_CODE\");")]
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $code, )*
                    $name::Other(other) => other,
                }
            }

            /// Whether resending the identical request (same ids), or asking again later, can
            /// turn this answer into a success. `false` for `Other`.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::", stringify!($name), ";")]
            #[doc = concat!("assert!(", stringify!($name), "::SystemError.retry_can_help());")]
            #[doc = concat!("assert!(!", stringify!($name), "::Other(\"NEW_CODE\".into()).retry_can_help());")]
            /// ```
            pub fn retry_can_help(&self) -> bool {
                match self {
                    $( $name::$variant => $retry, )*
                    $name::Other(_) => false,
                }
            }

            /// The sub_code of a verified gateway error, typed; `None` for other errors and for
            /// gateway errors without a sub_code.
            ///
            /// ```
            #[doc = concat!("use hongbao_client::{Error, ErrorKind, GatewayError, ", stringify!($name), "};")]
            #[doc = concat!("let refused = Error::from(ErrorKind::Gateway(GatewayError::new(\"40004\", \"Business Failed\", Some(", stringify!($example_code), "), None)));")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::of(&refused), Some(", stringify!($name), "::", stringify!($example), "));")]
            #[doc = concat!("let unknown = Error::from(ErrorKind::Transport { detail: \"timed out\".into(), timed_out: true });")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::of(&unknown), None);")]
            /// ```
            pub fn of(err: &Error) -> Option<Self> {
                err.sub_code().map(Self::parse)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

sub_codes! {
    /// The sub_codes of `alipay.fund.coupon.order.agreement.pay` (funding a packet).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::{app_a_key, gateway_key, spawn_app, APP_A};
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::{AgreementPayRequest, AgreementPaySubCode, Fen, OutOrderNo, OutRequestNo, UserId};
    /// let someone_else = UserId::new("2088100000000003"); // not the app's merchant account
    /// let pay = AgreementPayRequest::new(OutOrderNo::new("packet-1"), OutRequestNo::new("pay-1"), "红包",
    ///                                    Fen::from_fen(1000), someone_else);
    /// let err = client.agreement_pay(&pay).await.unwrap_err();
    /// assert_eq!(AgreementPaySubCode::of(&err), Some(AgreementPaySubCode::PayerNotMatch));
    /// assert!(!AgreementPaySubCode::PayerNotMatch.retry_can_help());
    /// # Ok(()) }
    /// ```
    pub enum AgreementPaySubCode (example: BalanceNotEnough = "BALANCE_NOT_ENOUGH") {
        /// `ILLEGAL_ARGUMENT`: a field is missing or breaks its rule (`sub_msg` names it).
        /// **Retry:** no; fix the request.
        IllegalArgument = "ILLEGAL_ARGUMENT", retry: false;
        /// `PAYER_NOT_MATCH`: `payer_user_id` is not the account bound to the app.
        /// **Retry:** no.
        PayerNotMatch = "PAYER_NOT_MATCH", retry: false;
        /// `PAYER_NOT_EXIST`: the payer has no account. **Retry:** no.
        PayerNotExist = "PAYER_NOT_EXIST", retry: false;
        /// `UNIQUE_VIOLATION`: these ids were used before with other parameters (the identical
        /// request replays its first outcome instead). **Retry:** no; resend the original
        /// parameters, or use new ids.
        UniqueViolation = "UNIQUE_VIOLATION", retry: false;
        /// `BALANCE_NOT_ENOUGH`: the payer's balance is below the amount. **Retry:** not as is;
        /// it can succeed once the account is topped up.
        BalanceNotEnough = "BALANCE_NOT_ENOUGH", retry: false;
        /// `SYSTEM_ERROR`: the outcome is unknown. **Retry:** yes, the identical request (the
        /// client does, see [`RetryPolicy`](crate::RetryPolicy)), or query it.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000, "Service Currently Unavailable"): the outcome is
        /// unknown. **Retry:** yes, the identical request, or query it.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.coupon.order.disburse` (paying part of a packet to a user).
    ///
    /// ```
    /// use hongbao_client::{DisburseSubCode, Error, ErrorKind, GatewayError};
    /// let err = Error::from(ErrorKind::Gateway(GatewayError::new("40004", "Business Failed",
    ///     Some("MONEY_NOT_ENOUGH"), Some("本次操作的金额超过红包剩余可用金额"))));
    /// match DisburseSubCode::of(&err) {
    ///     Some(DisburseSubCode::MoneyNotEnough) => {} // pay less, or tell the claimer it is empty
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub enum DisburseSubCode (example: MoneyNotEnough = "MONEY_NOT_ENOUGH") {
        /// `ILLEGAL_ARGUMENT`: a field is missing or breaks its rule, or `payee_user_id` and
        /// `payee_logon_id` name different users. **Retry:** no; fix the request.
        IllegalArgument = "ILLEGAL_ARGUMENT", retry: false;
        /// `AUTH_ORDER_NOT_EXIST`: no such packet for this app. **Retry:** no.
        AuthOrderNotExist = "AUTH_ORDER_NOT_EXIST", retry: false;
        /// `ACCESS_FORBIDDEN`: the packet belongs to another app. **Retry:** no.
        AccessForbidden = "ACCESS_FORBIDDEN", retry: false;
        /// `PAYEE_NOT_EXIST`: no such payee account. **Retry:** no.
        PayeeNotExist = "PAYEE_NOT_EXIST", retry: false;
        /// `UNIQUE_VIOLATION`: these ids were used before with other parameters. **Retry:** no;
        /// resend the original parameters, or use new ids.
        UniqueViolation = "UNIQUE_VIOLATION", retry: false;
        /// `ORDER_STATUS_INVALID`: the packet is unpaid, closed or past its expiry. **Retry:**
        /// not as is; an unpaid packet accepts disburses once its payer has paid.
        OrderStatusInvalid = "ORDER_STATUS_INVALID", retry: false;
        /// `MONEY_NOT_ENOUGH`: more than is left in the packet. **Retry:** no; a smaller amount
        /// may succeed.
        MoneyNotEnough = "MONEY_NOT_ENOUGH", retry: false;
        /// `SYSTEM_ERROR`: the outcome is unknown. **Retry:** yes, the identical request, or query.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000): the outcome is unknown. **Retry:** yes, the identical
        /// request, or query.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.coupon.order.refund` (returning unclaimed money).
    ///
    /// ```
    /// use hongbao_client::RefundSubCode;
    /// assert_eq!(RefundSubCode::parse("UNIQUE_VIOLATION"), RefundSubCode::UniqueViolation);
    /// assert!(RefundSubCode::ServiceUnavailable.retry_can_help());
    /// ```
    pub enum RefundSubCode (example: MoneyNotEnough = "MONEY_NOT_ENOUGH") {
        /// `ILLEGAL_ARGUMENT`: a field is missing or breaks its rule, or `auth_no` names a
        /// disburse. **Retry:** no; fix the request.
        IllegalArgument = "ILLEGAL_ARGUMENT", retry: false;
        /// `AUTH_ORDER_NOT_EXIST`: no such packet for this app. **Retry:** no.
        AuthOrderNotExist = "AUTH_ORDER_NOT_EXIST", retry: false;
        /// `ACCESS_FORBIDDEN`: the packet belongs to another app. **Retry:** no.
        AccessForbidden = "ACCESS_FORBIDDEN", retry: false;
        /// `UNIQUE_VIOLATION`: this `out_request_no` was used with other parameters (observed at
        /// Alipay: 退款失败,商户本次资金操作的请求流水号与之前有重复). **Retry:** no; use a new
        /// `out_request_no` for a new refund.
        UniqueViolation = "UNIQUE_VIOLATION", retry: false;
        /// `ORDER_STATUS_INVALID`: the packet is unpaid, closed or past its expiry (its rest
        /// goes back by itself). **Retry:** no.
        OrderStatusInvalid = "ORDER_STATUS_INVALID", retry: false;
        /// `MONEY_NOT_ENOUGH`: more than is left (observed at Alipay:
        /// 本次操作退款的金额超过剩余可退款金额). **Retry:** no; a smaller amount may succeed.
        MoneyNotEnough = "MONEY_NOT_ENOUGH", retry: false;
        /// `SYSTEM_ERROR`: the outcome is unknown. **Retry:** yes, the identical request, or query.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000): the outcome is unknown. **Retry:** yes, the identical
        /// request, or query.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.coupon.operation.query` (Alipay's documented list: seed 001).
    ///
    /// ```
    /// use hongbao_client::OperationQuerySubCode;
    /// assert_eq!(OperationQuerySubCode::parse("AUTH_OPERATION_NOT_EXIST"),
    ///            OperationQuerySubCode::AuthOperationNotExist);
    /// assert!(!OperationQuerySubCode::AccessForbidden.retry_can_help());
    /// ```
    pub enum OperationQuerySubCode (example: AuthOrderNotExist = "AUTH_ORDER_NOT_EXIST") {
        /// `ILLEGAL_ARGUMENT`: the ids do not pair (auth_no with operation_id, out_order_no with
        /// out_request_no) or break their rules. **Retry:** no; fix the request.
        IllegalArgument = "ILLEGAL_ARGUMENT", retry: false;
        /// `AUTH_ORDER_NOT_EXIST`: no such order for this app. **Retry:** no, unless the order's
        /// own call is still in flight (then query again after it answered).
        AuthOrderNotExist = "AUTH_ORDER_NOT_EXIST", retry: false;
        /// `AUTH_OPERATION_NOT_EXIST`: no such operation on that order. **Retry:** as for
        /// `AuthOrderNotExist`.
        AuthOperationNotExist = "AUTH_OPERATION_NOT_EXIST", retry: false;
        /// `ACCESS_FORBIDDEN`: the order belongs to another app. **Retry:** no.
        AccessForbidden = "ACCESS_FORBIDDEN", retry: false;
        /// `SYSTEM_ERROR`: Alipay says to retry, and to contact it if it persists. **Retry:** yes.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000, seed 001's sample). **Retry:** yes.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.trans.uni.transfer` that a red packet claim or a B2C red
    /// packet can meet (std-red-packet-spec §5.4; Alipay's full list has over a hundred, the
    /// others are `Other`).
    ///
    /// ```
    /// use hongbao_client::TransferSubCode;
    /// assert_eq!(TransferSubCode::parse("PAYMENT_MONEY_NOT_ENOUGH"), TransferSubCode::PaymentMoneyNotEnough);
    /// assert!(TransferSubCode::RequestProcessing.retry_can_help());
    /// ```
    pub enum TransferSubCode (example: PaymentMoneyNotEnough = "PAYMENT_MONEY_NOT_ENOUGH") {
        /// `INVALID_PARAMETER`: a field is missing or breaks its rule (wrong `product_code`,
        /// `biz_scene` or `sub_biz_scene`, an amount out of range, an id of the other product).
        /// **Retry:** no; fix the request.
        InvalidParameter = "INVALID_PARAMETER", retry: false;
        /// `ORDER_NOT_EXIST`: `original_order_id` names no send of this app. **Retry:** no.
        OrderNotExist = "ORDER_NOT_EXIST", retry: false;
        /// `NO_ORDER_PERMISSION`: the send belongs to another merchant. **Retry:** no.
        NoOrderPermission = "NO_ORDER_PERMISSION", retry: false;
        /// `ORDER_STATUS_INVALID`: the send is unpaid, closed, or past its refund time.
        /// **Retry:** not as is; an unpaid send accepts claims once it is paid.
        OrderStatusInvalid = "ORDER_STATUS_INVALID", retry: false;
        /// `PAYMENT_MONEY_NOT_ENOUGH`: the claim is above what is left in the send. **Retry:**
        /// no; a smaller amount may succeed.
        PaymentMoneyNotEnough = "PAYMENT_MONEY_NOT_ENOUGH", retry: false;
        /// `ALREADY_WITHDRAW_STD_RED_PACKET`: by its name, the red packet was already returned
        /// (a name in Alipay's list, unconfirmed). **Retry:** no.
        AlreadyWithdrawStdRedPacket = "ALREADY_WITHDRAW_STD_RED_PACKET", retry: false;
        /// `PAYMENT_INFO_INCONSISTENCY`: this `out_biz_no` was used with other parameters.
        /// **Retry:** no; resend the original parameters, or use a new `out_biz_no`.
        PaymentInfoInconsistency = "PAYMENT_INFO_INCONSISTENCY", retry: false;
        /// `PAYEE_NOT_EXIST`: no such payee account. **Retry:** no.
        PayeeNotExist = "PAYEE_NOT_EXIST", retry: false;
        /// `PAYEE_ACCOUNT_NOT_EXSIT` (Alipay's spelling): the payee has no balance account.
        /// **Retry:** no.
        PayeeAccountNotExist = "PAYEE_ACCOUNT_NOT_EXSIT", retry: false;
        /// `PAYEE_ACCOUNT_STATUS_ERROR`: the payee's account is abnormal. **Retry:** no.
        PayeeAccountStatusError = "PAYEE_ACCOUNT_STATUS_ERROR", retry: false;
        /// `PAYEE_USERINFO_ERROR`: `payee_info.name` is not the payee's real name. **Retry:** no.
        PayeeUserinfoError = "PAYEE_USERINFO_ERROR", retry: false;
        /// `PAYER_PAYEE_CANNOT_SAME`: payer and payee are the same account. **Retry:** no.
        PayerPayeeCannotSame = "PAYER_PAYEE_CANNOT_SAME", retry: false;
        /// `PAYER_NOT_EXIST`: the paying account does not exist. **Retry:** no.
        PayerNotExist = "PAYER_NOT_EXIST", retry: false;
        /// `PAYER_USER_INFO_ERROR`: the payer's name or other information does not match.
        /// **Retry:** no.
        PayerUserInfoError = "PAYER_USER_INFO_ERROR", retry: false;
        /// `PAYER_BALANCE_NOT_ENOUGH`: B2C, the merchant account's balance is below the amount.
        /// **Retry:** not as is; it can succeed once the account is topped up.
        PayerBalanceNotEnough = "PAYER_BALANCE_NOT_ENOUGH", retry: false;
        /// `BALANCE_IS_NOT_ENOUGH`: the payer's balance is insufficient (the older name).
        /// **Retry:** as `PayerBalanceNotEnough`.
        BalanceIsNotEnough = "BALANCE_IS_NOT_ENOUGH", retry: false;
        /// `EXCEED_LIMIT_SM_AMOUNT`: above the single-transfer limit. **Retry:** no.
        ExceedLimitSmAmount = "EXCEED_LIMIT_SM_AMOUNT", retry: false;
        /// `EXCEED_LIMIT_DM_AMOUNT`: above the daily limit. **Retry:** not today.
        ExceedLimitDmAmount = "EXCEED_LIMIT_DM_AMOUNT", retry: false;
        /// `EXCEED_LIMIT_MM_AMOUNT`: above the monthly limit. **Retry:** not this month.
        ExceedLimitMmAmount = "EXCEED_LIMIT_MM_AMOUNT", retry: false;
        /// `EXCEED_LIMIT_DC_RECEIVED`: the payee received too many transfers from this payer
        /// today (B2C: at most 10 a day). **Retry:** not today.
        ExceedLimitDcReceived = "EXCEED_LIMIT_DC_RECEIVED", retry: false;
        /// `PRODUCT_NOT_SIGN`: the merchant has not signed the product. **Retry:** no.
        ProductNotSign = "PRODUCT_NOT_SIGN", retry: false;
        /// `PAYMENT_TIME_EXPIRE`: the request expired. **Retry:** no; start a new one.
        PaymentTimeExpire = "PAYMENT_TIME_EXPIRE", retry: false;
        /// `RESOURCE_LIMIT_EXCEED`: too many concurrent requests. **Retry:** yes, later, with the
        /// identical request.
        ResourceLimitExceed = "RESOURCE_LIMIT_EXCEED", retry: true;
        /// `SECURITY_CHECK_FAILED`: refused by risk control. **Retry:** no.
        SecurityCheckFailed = "SECURITY_CHECK_FAILED", retry: false;
        /// `REQUEST_PROCESSING`: still being processed; the outcome is unknown. **Retry:** yes,
        /// the identical request, or query it.
        RequestProcessing = "REQUEST_PROCESSING", retry: true;
        /// `SYSTEM_ERROR`: the outcome is unknown. **Retry:** yes, the identical request (same
        /// `out_biz_no`), or query it.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000): the outcome is unknown. **Retry:** yes, the identical
        /// request, or query it.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.trans.refund` (returning part of a send).
    ///
    /// ```
    /// use hongbao_client::TransRefundSubCode;
    /// assert_eq!(TransRefundSubCode::parse("REFUND_INFO_INCONSISTENCY"),
    ///            TransRefundSubCode::RefundInfoInconsistency);
    /// assert!(!TransRefundSubCode::RefundMoneyNotEnough.retry_can_help());
    /// ```
    pub enum TransRefundSubCode (example: RefundMoneyNotEnough = "REFUND_MONEY_NOT_ENOUGH") {
        /// `INVALID_PARAMETER`: a field is missing or breaks its rule. **Retry:** no; fix the
        /// request.
        InvalidParameter = "INVALID_PARAMETER", retry: false;
        /// `ORDER_NOT_EXIST`: `order_id` names no send of this app. **Retry:** no.
        OrderNotExist = "ORDER_NOT_EXIST", retry: false;
        /// `NO_ORDER_PERMISSION`: the send is another merchant's. **Retry:** no.
        NoOrderPermission = "NO_ORDER_PERMISSION", retry: false;
        /// `PRODUCT_NOT_ALLOW_REFUND`: the product allows no returns. **Retry:** no.
        ProductNotAllowRefund = "PRODUCT_NOT_ALLOW_REFUND", retry: false;
        /// `ORDER_STATUS_ERROR`: the document's status is abnormal. **Retry:** no.
        OrderStatusError = "ORDER_STATUS_ERROR", retry: false;
        /// `ORDER_STATUS_INVALID`: the send is unpaid, closed, or past its refund time (its rest
        /// goes back by itself). **Retry:** no.
        OrderStatusInvalid = "ORDER_STATUS_INVALID", retry: false;
        /// `REFUND_MONEY_NOT_ENOUGH`: more than paid − claimed − returned. **Retry:** no; a
        /// smaller amount may succeed.
        RefundMoneyNotEnough = "REFUND_MONEY_NOT_ENOUGH", retry: false;
        /// `REFUND_INFO_INCONSISTENCY`: this `out_request_no` was used with other parameters.
        /// **Retry:** no; a failed return is resubmitted with the same `out_request_no` and the
        /// same parameters, a new return takes a new one.
        RefundInfoInconsistency = "REFUND_INFO_INCONSISTENCY", retry: false;
        /// `SYSTEM_ERROR`: the outcome is unknown. **Retry:** yes, with the same
        /// `out_request_no`, or query.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000): the outcome is unknown. **Retry:** yes, the identical
        /// request, or query.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

sub_codes! {
    /// The sub_codes of `alipay.fund.trans.common.query`.
    ///
    /// ```
    /// use hongbao_client::CommonQuerySubCode;
    /// // "Not found" may mean "not there yet": Alipay says to query again before concluding.
    /// assert!(CommonQuerySubCode::OrderNotExist.retry_can_help());
    /// ```
    pub enum CommonQuerySubCode (example: OrderNotExist = "ORDER_NOT_EXIST") {
        /// `INVALID_PARAMETER`: no id given, or `out_biz_no` without `product_code` and
        /// `biz_scene`. **Retry:** no; fix the request.
        InvalidParameter = "INVALID_PARAMETER", retry: false;
        /// `ORDER_NOT_EXIST`: no such document. It may still be processing, or never have
        /// landed: never treat it as a failure without querying again. **Retry:** yes, query
        /// again (or resend the original call with the same id).
        OrderNotExist = "ORDER_NOT_EXIST", retry: true;
        /// `NO_ORDER_PERMISSION`: the document belongs to another merchant. **Retry:** no.
        NoOrderPermission = "NO_ORDER_PERMISSION", retry: false;
        /// `SYSTEM_ERROR`: busy. **Retry:** yes.
        SystemError = "SYSTEM_ERROR", retry: true;
        /// `isp.unknow-error` (code 20000). **Retry:** yes.
        ServiceUnavailable = "isp.unknow-error", retry: true;
    }
}

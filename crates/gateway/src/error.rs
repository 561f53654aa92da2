//! The one place that knows Alipay's codes: every failure of a request becomes an `ApiError`,
//! and `to_alipay` turns it into code / msg / sub_code / sub_msg; the wallet page's answers to
//! the app are `WalletResult`s. docs/errors.md is the published table; a test checks that it
//! lists every row `to_alipay` can produce and every `resultStatus`. Failures that are the
//! server's, not the caller's, are logged by `log_failure`.

use hongbao_ledger::Rejection;
use hongbao_protocol::biz::BizError;
use hongbao_protocol::{Method, RequestError};
use hongbao_sign::SignError;
use hongbao_store::StoreError;

/// Everything that can make a request fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Protocol level: form, charset, common parameters, signature.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// `biz_content` is malformed or a field breaks its rule.
    #[error(transparent)]
    Biz(#[from] BizError),
    /// The ledger refused the command.
    #[error("rejected: {0}")]
    Rejected(Rejection),
    /// The store failed: unavailable (nothing was committed, the identical request may be
    /// retried) or a bug it caught (rolled back, logged; no retry promised).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// More work than the gateway takes on right now; nothing was done.
    #[error("overloaded")]
    Overloaded,
    /// The wallet was handed an order string of another method than app.pay.
    #[error("订单串的方法不是 app.pay (method {0:?}: the wallet pays alipay.fund.coupon.order.app.pay order strings only)")]
    NotAppPay(String),
    /// `alipay.open.app.alipaycert.download` named no gateway certificate.
    #[error("支付宝公钥证书不存在 (no gateway certificate has SN {sent:?}; the current one is {current})")]
    AlipayCertNotExist {
        /// The SN asked for.
        sent: String,
        /// The current gateway certificate's SN (empty without certificate mode).
        current: String,
    },
    /// `notify_url` names a destination the notify destination policy refuses.
    #[error("参数无效 ({key} {refused})")]
    DestinationRefused {
        /// `notify_url`.
        key: &'static str,
        /// Why.
        refused: crate::destination::DestinationRefused,
    },
    /// The answer could not be signed (the gateway key cannot sign; never expected).
    #[error("signing the answer failed: {0}")]
    Signing(#[from] SignError),
    /// A fund.trans method's `biz_content` breaks a rule: `INVALID_PARAMETER`, as the product
    /// answers (fund.coupon answers `ILLEGAL_ARGUMENT`).
    #[error(transparent)]
    TransInvalid(BizError),
    /// The ledger refused a fund.trans command: answered in that method's sub_codes.
    #[error("rejected: {rejection}")]
    TransRejected {
        /// Which fund.trans method.
        method: TransMethod,
        /// Why.
        rejection: Rejection,
    },
    /// 系统繁忙 as Alipay's gateway answers it (20000 `isp.unknow-error`), with no further word:
    /// only the sandbox console's fault rules (`inject`) answer it.
    #[error("系统繁忙")]
    SystemBusy,
    /// 系统繁忙 as a business answer (40004 `SYSTEM_ERROR`: the outcome is unknown, resend the
    /// same request or query): only the sandbox console's fault rules answer it.
    #[error("系统繁忙")]
    SystemError,
    /// An error whose node also echoes request fields, as Alipay's fund.trans failures echo
    /// `out_biz_no` (`{"code":"40004",…,"out_biz_no":"…"}`).
    #[error("{error}")]
    WithEcho {
        /// The error.
        error: Box<ApiError>,
        /// The fields echoed after code/msg/sub_code/sub_msg.
        echo: Vec<(&'static str, String)>,
    },
}

impl From<crate::body::BodyError> for ApiError {
    fn from(err: crate::body::BodyError) -> ApiError {
        use crate::body::BodyError as B;
        match err {
            B::TooLarge { limit } => RequestError::BodyTooLarge { limit }.into(),
            B::TimedOut(after) => RequestError::BodyTimedOut { seconds: after.as_secs() }.into(),
            B::Malformed(what) => RequestError::MalformedBody(what).into(),
            B::Overloaded => ApiError::Overloaded,
        }
    }
}

/// The fund.trans methods, whose rejections have their own sub_codes (std-red-packet-spec §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransMethod {
    /// `alipay.fund.trans.app.pay` (in the wallet).
    AppPay,
    /// `alipay.fund.trans.uni.transfer`.
    UniTransfer,
    /// `alipay.fund.trans.refund`.
    Refund,
    /// `alipay.fund.trans.common.query`.
    CommonQuery,
}

/// Logs a failure that is the server's (the store, signing) with the method and the app it
/// happened to; a caller's mistake is answered, not logged. The error's text never leaves the
/// server, so this is the only place it shows.
pub fn log_failure(method: Method, app_id: &str, err: &ApiError) {
    if matches!(err, ApiError::Store(_) | ApiError::Signing(_)) {
        tracing::error!(error = %err, method = method.name(), app_id, "request failed");
    }
}

/// What the wallet hands back to the merchant app after an app.pay, as the Alipay app SDK
/// does: its `resultStatus` and `memo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalletResult {
    /// Paid: `result` carries the signed app.pay response.
    Paid,
    /// The payer cancelled; nothing was paid.
    Cancelled,
}

impl WalletResult {
    /// Every result the wallet gives, for the table test.
    pub const ALL: [WalletResult; 2] = [WalletResult::Paid, WalletResult::Cancelled];

    /// `resultStatus`.
    pub fn result_status(self) -> &'static str {
        match self {
            WalletResult::Paid => "9000",
            WalletResult::Cancelled => "6001",
        }
    }

    /// `memo`.
    pub fn memo(self) -> &'static str {
        match self {
            WalletResult::Paid => "",
            WalletResult::Cancelled => "用户中途取消",
        }
    }
}

/// An Alipay result: the four common response fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlipayCode {
    /// `code`.
    pub code: &'static str,
    /// `msg`, fixed per code.
    pub msg: &'static str,
    /// `sub_code`.
    pub sub_code: &'static str,
    /// `sub_msg`.
    pub sub_msg: String,
}

const MISSING: (&str, &str) = ("40001", "Missing Required Arguments");
const INVALID: (&str, &str) = ("40002", "Invalid Arguments");
const CONDITIONS: (&str, &str) = ("40003", "Insufficient Conditions");
const BUSINESS: (&str, &str) = ("40004", "Business Failed");
const UNAVAILABLE: (&str, &str) = ("20000", "Service Currently Unavailable");
const TOKEN: (&str, &str) = ("20001", "Insufficient Token Permissions");

fn code(kind: (&'static str, &'static str), sub_code: &'static str, sub_msg: String) -> AlipayCode {
    AlipayCode { code: kind.0, msg: kind.1, sub_code, sub_msg }
}

/// The Alipay result for `err`.
pub fn to_alipay(err: &ApiError) -> AlipayCode {
    use RequestError as R;
    match err {
        ApiError::Request(request) => {
            let text = request.to_string();
            match request {
                R::BodyTooLarge { .. }
                | R::MalformedBody(_)
                | R::BodyTimedOut { .. }
                | R::MalformedForm(_)
                | R::TooManyParameters { .. }
                | R::DuplicateParameter(_)
                | R::InvalidVersion(_)
                | R::InvalidUrl { .. } => code(INVALID, "isv.invalid-parameter", text),
                R::MissingCharset
                | R::InvalidCharset(_)
                | R::UndecodableKey { .. }
                | R::UndecodableValue { .. } => code(INVALID, "isv.invalid-charset", text),
                R::MissingMethod => code(MISSING, "isv.missing-method", text),
                R::InvalidMethod(_) => code(INVALID, "isv.invalid-method", text),
                R::MissingAppId => code(MISSING, "isv.missing-app-id", text),
                R::InvalidAppId(_) => code(INVALID, "isv.invalid-app-id", text),
                R::MissingSignType => code(MISSING, "isv.missing-signature-type", text),
                R::InvalidSignType(_) => code(INVALID, "isv.invalid-signature-type", text),
                R::MissingSign => code(MISSING, "isv.missing-signature", text),
                R::MissingTimestamp => code(MISSING, "isv.missing-timestamp", text),
                R::InvalidTimestamp(_) | R::TimestampOutOfWindow(_) => {
                    code(INVALID, "isv.invalid-timestamp", text)
                }
                R::MissingVersion => code(MISSING, "isv.missing-version", text),
                R::InvalidFormat(_) => code(INVALID, "isv.invalid-format", text),
                R::BadSignature { .. } => code(INVALID, "isv.invalid-signature", text),
                R::AppAuthTokenNotSupported => code(TOKEN, "aop.invalid-app-auth-token", text),
                // Alipay answers these with Invalid Arguments, a missing SN included (observed
                // for isv.missing-app-cert-sn).
                R::MissingAppCertSn { .. } => code(INVALID, "isv.missing-app-cert-sn", text),
                R::AppCertNotExist { .. } => code(INVALID, "isv.app-cert-not-exist", text),
                R::AppCertExpired { .. } => code(INVALID, "isv.app-cert-expired", text),
                R::MissingAlipayRootCertSn { .. } => {
                    code(INVALID, "isv.missing-alipay-root-cert-sn", text)
                }
                R::InvalidAlipayRootCertSn { .. } => {
                    code(INVALID, "isv.invalid-alipay-root-cert-sn", text)
                }
                // Content encryption, in the words of Alipay's gateway table: an unknown
                // algorithm, one it does not decrypt, a ciphertext sent without encrypt_type,
                // no key configured ("未配置加密密钥"), a malformed ciphertext ("解密异常").
                R::InvalidEncryptType(_) => code(INVALID, "isv.invalid-encrypt-type", text),
                R::UnsupportedEncryptType(_) => {
                    code(INVALID, "isv.decryption-error-not-valid-encrypt-type", text)
                }
                R::MissingEncryptType => {
                    code(MISSING, "isv.decryption-error-missing-encrypt-type", text)
                }
                R::MissingEncryptKey { .. } => {
                    code(INVALID, "isv.decryption-error-not-valid-encrypt-key", text)
                }
                R::InvalidEncrypt(_) => code(INVALID, "isv.invalid-encrypt", text),
                // What Alipay's gateway answers a ciphertext its key does not open (captured in
                // the Node SDK's tests: 40003, "解密出错, 未知错误", signed, in clear).
                R::DecryptionFailed(_) => code(CONDITIONS, "isv.decryption-error-unknown", text),
            }
        }
        ApiError::DestinationRefused { .. } => {
            code(INVALID, "isv.invalid-parameter", err.to_string())
        }
        ApiError::Biz(biz) => code(BUSINESS, "ILLEGAL_ARGUMENT", biz.to_string()),
        ApiError::Rejected(rejection) => rejection_code(rejection),
        // Logged with the request's ids by the dispatcher; the text never leaves the server.
        ApiError::Store(store) if store.is_retry_safe() => code(
            UNAVAILABLE,
            "isp.unknow-error",
            "系统繁忙 (system busy: nothing was done, retry the identical request)".into(),
        ),
        ApiError::Store(_) => code(
            UNAVAILABLE,
            "isp.unknow-error",
            "系统错误 (internal error, logged: query the operation before you retry it)".into(),
        ),
        ApiError::Overloaded => code(
            UNAVAILABLE,
            "isp.unknow-error",
            "系统繁忙 (gateway overloaded: nothing was done, retry the identical request later)"
                .into(),
        ),
        ApiError::NotAppPay(_) => code(INVALID, "isv.invalid-method", err.to_string()),
        ApiError::AlipayCertNotExist { .. } => {
            code(BUSINESS, "isv.alipay-cert-not-exist", err.to_string())
        }
        // Logged by log_failure; the text never leaves the server.
        ApiError::TransInvalid(biz) => code(BUSINESS, "INVALID_PARAMETER", biz.to_string()),
        ApiError::TransRejected { method, rejection } => trans_code(*method, rejection),
        ApiError::WithEcho { error, .. } => to_alipay(error),
        ApiError::SystemBusy => code(UNAVAILABLE, "isp.unknow-error", "系统繁忙".into()),
        ApiError::SystemError => code(BUSINESS, "SYSTEM_ERROR", "系统繁忙".into()),
        ApiError::Signing(_) => code(
            UNAVAILABLE,
            "isp.unknow-error",
            "系统繁忙 (the answer could not be signed)".into(),
        ),
    }
}

fn rejection_code(rejection: &Rejection) -> AlipayCode {
    let (sub_code, sub_msg) = match rejection {
        Rejection::IllegalArgument(detail) => ("ILLEGAL_ARGUMENT", format!("参数有误 ({detail})")),
        Rejection::AccessForbidden => ("ACCESS_FORBIDDEN", "商户无权查看该笔订单信息 (the order belongs to another app)".into()),
        Rejection::AuthOrderNotExist => ("AUTH_ORDER_NOT_EXIST", "支付宝资金授权订单不存在 (no such order for this app)".into()),
        Rejection::AuthOperationNotExist => ("AUTH_OPERATION_NOT_EXIST", "支付宝资金操作流水不存在 (no such operation on this order)".into()),
        Rejection::PayerNotMatch => ("PAYER_NOT_MATCH", "付款方必须是应用绑定的商户账号 (payer_user_id must be the app's own merchant account)".into()),
        Rejection::PayerNotExist => ("PAYER_NOT_EXIST", "付款方账号不存在 (no such payer account)".into()),
        Rejection::PayeeNotExist => ("PAYEE_NOT_EXIST", "收款方账号不存在 (no such payee account)".into()),
        Rejection::PayeeNameNotMatch => ("PAYEE_USERINFO_ERROR", "收款方姓名或其它信息不一致 (payee_info.name is not the payee's real name)".into()),
        Rejection::PayerPayeeSame => ("PAYER_PAYEE_CANNOT_SAME", "收付款方不能相同 (the payee is the paying account itself)".into()),
        Rejection::UniqueViolation => ("UNIQUE_VIOLATION", "商户本次资金操作的请求流水号与之前有重复 (these ids were used before with different parameters)".into()),
        Rejection::OrderStatusInvalid => ("ORDER_STATUS_INVALID", "订单状态不允许此操作 (the red packet is not paid, is closed, or has expired)".into()),
        Rejection::BalanceNotEnough => ("BALANCE_NOT_ENOUGH", "付款方余额不足 (the payer's balance is below the amount)".into()),
        Rejection::MoneyNotEnough => ("MONEY_NOT_ENOUGH", "本次操作的金额超过红包剩余可用金额 (the amount exceeds what is left in the red packet)".into()),
    };
    code(BUSINESS, sub_code, sub_msg)
}

/// fund.trans sub_codes (std-red-packet-spec §5.4): the same ledger rules in the product's words.
fn trans_code(method: TransMethod, rejection: &Rejection) -> AlipayCode {
    let refund = method == TransMethod::Refund;
    let (sub_code, sub_msg): (&'static str, String) = match rejection {
        Rejection::IllegalArgument(detail) => ("INVALID_PARAMETER", format!("参数有误 ({detail})")),
        Rejection::AuthOrderNotExist | Rejection::AuthOperationNotExist => (
            "ORDER_NOT_EXIST",
            "转账订单不存在 (no such document for this app; a query may also mean it is not there yet: query again)".into(),
        ),
        Rejection::AccessForbidden => ("NO_ORDER_PERMISSION", "无权操作该单据 (the document belongs to another app)".into()),
        Rejection::UniqueViolation if refund => (
            "REFUND_INFO_INCONSISTENCY",
            "退款请求信息不一致 (this out_request_no was used with other parameters)".into(),
        ),
        Rejection::UniqueViolation => (
            "PAYMENT_INFO_INCONSISTENCY",
            "两次请求商户单号一样，但是参数不一致 (resend the original parameters, or use a new out_biz_no)".into(),
        ),
        Rejection::OrderStatusInvalid => (
            "ORDER_STATUS_INVALID",
            "原单据状态不允许此操作 (the send is unpaid, closed, or past its refund time)".into(),
        ),
        Rejection::MoneyNotEnough if refund => (
            "REFUND_MONEY_NOT_ENOUGH",
            "资金池可用金额为0或退款金额超过资金池里可使用的金额 (more than paid − claimed − returned)".into(),
        ),
        Rejection::MoneyNotEnough => (
            "PAYMENT_MONEY_NOT_ENOUGH",
            "资金池领取金额为0或转账金额超过资金池里可使用的金额 (more than is left in the red packet)".into(),
        ),
        Rejection::PayeeNotExist => ("PAYEE_NOT_EXIST", "收款账号不存在 (no such payee account)".into()),
        Rejection::PayeeNameNotMatch => (
            "PAYEE_USERINFO_ERROR",
            "收款方姓名或其它信息不一致 (payee_info.name is not the payee's real name)".into(),
        ),
        Rejection::PayerPayeeSame => ("PAYER_PAYEE_CANNOT_SAME", "收付款方不能相同 (the payee is the paying account)".into()),
        Rejection::PayerNotExist => ("PAYER_NOT_EXIST", "付款方账号不存在 (no such payer account)".into()),
        Rejection::BalanceNotEnough => (
            "PAYER_BALANCE_NOT_ENOUGH",
            "付款方余额不足 (the merchant account's balance is below the amount)".into(),
        ),
        Rejection::PayerNotMatch => (
            "PAYER_NOT_MATCH",
            "付款人与红包绑定的付款人不一致 (only the payer_binded_alipay_uid user may pay this send)".into(),
        ),
    };
    code(BUSINESS, sub_code, sub_msg)
}

/// The fund.trans method whose sub_codes a method answers in, if it is one.
fn trans_method(method: Method) -> Option<TransMethod> {
    match method {
        Method::TransAppPay => Some(TransMethod::AppPay),
        Method::TransUniTransfer => Some(TransMethod::UniTransfer),
        Method::TransRefund => Some(TransMethod::Refund),
        Method::TransCommonQuery => Some(TransMethod::CommonQuery),
        _ => None,
    }
}

/// Every answer the sandbox console may make `method` give (`inject`), one per code and
/// sub_code: 20000 `isp.unknow-error` and 40004 `SYSTEM_ERROR` (系统繁忙), and each business
/// sub_code of the method's product (fund.coupon's, or fund.trans's own words). Each is an
/// ordinary `ApiError`, so it is answered through `to_alipay` like a real one.
pub fn injectable_errors(method: Method) -> Vec<ApiError> {
    let rejections = [
        Rejection::IllegalArgument("injected by the sandbox console".into()),
        Rejection::AccessForbidden,
        Rejection::AuthOrderNotExist,
        Rejection::AuthOperationNotExist,
        Rejection::PayerNotMatch,
        Rejection::PayerNotExist,
        Rejection::PayeeNotExist,
        Rejection::PayeeNameNotMatch,
        Rejection::PayerPayeeSame,
        Rejection::UniqueViolation,
        Rejection::OrderStatusInvalid,
        Rejection::BalanceNotEnough,
        Rejection::MoneyNotEnough,
    ];
    let mut all = vec![ApiError::SystemBusy, ApiError::SystemError];
    let mut seen: Vec<&'static str> = Vec::new();
    for rejection in rejections {
        let err = match trans_method(method) {
            Some(trans) => ApiError::TransRejected { method: trans, rejection },
            None => ApiError::Rejected(rejection),
        };
        let sub_code = to_alipay(&err).sub_code;
        if !seen.contains(&sub_code) {
            seen.push(sub_code);
            all.push(err);
        }
    }
    all
}

/// The error `method` answers for `code` and `sub_code`, if the console may inject it.
pub fn injectable(method: Method, code: &str, sub_code: &str) -> Option<ApiError> {
    injectable_errors(method).into_iter().find(|err| {
        let alipay = to_alipay(err);
        alipay.code == code && alipay.sub_code == sub_code
    })
}

/// One example of every error `to_alipay` distinguishes, for the table test and docs/errors.md.
pub fn catalogue() -> Vec<ApiError> {
    use hongbao_protocol::encryption::{DecryptError, DecryptionFault};
    use hongbao_protocol::form::FormError;
    let mut all: Vec<ApiError> = vec![
        RequestError::BodyTooLarge { limit: 1 }.into(),
        RequestError::MalformedBody("x".into()).into(),
        RequestError::BodyTimedOut { seconds: 1 }.into(),
        RequestError::MalformedForm(FormError::BadPercent { position: 0 }).into(),
        RequestError::TooManyParameters { max: 1 }.into(),
        RequestError::DuplicateParameter("a".into()).into(),
        RequestError::MissingCharset.into(),
        RequestError::InvalidCharset("x".into()).into(),
        RequestError::UndecodableKey { charset: "utf-8" }.into(),
        RequestError::UndecodableValue { key: "a".into(), charset: "utf-8" }.into(),
        RequestError::MissingMethod.into(),
        RequestError::InvalidMethod("x".into()).into(),
        RequestError::MissingAppId.into(),
        RequestError::InvalidAppId("x".into()).into(),
        RequestError::MissingSignType.into(),
        RequestError::InvalidSignType("x".into()).into(),
        RequestError::MissingSign.into(),
        RequestError::MissingTimestamp.into(),
        RequestError::InvalidTimestamp("x".into()).into(),
        RequestError::TimestampOutOfWindow("x".into()).into(),
        RequestError::MissingVersion.into(),
        RequestError::InvalidVersion("x".into()).into(),
        RequestError::InvalidFormat("x".into()).into(),
        RequestError::BadSignature { sign_content: "a=1".into(), hint: None }.into(),
        RequestError::AppAuthTokenNotSupported.into(),
        RequestError::InvalidUrl { key: "notify_url" }.into(),
        RequestError::MissingAppCertSn { app_id: "a".into(), expected: "b".into() }.into(),
        RequestError::AppCertNotExist {
            app_id: "a".into(),
            sent: "x".into(),
            expected: "b".into(),
        }
        .into(),
        RequestError::AppCertExpired { sn: "b".into(), validity: "v".into() }.into(),
        RequestError::MissingAlipayRootCertSn { app_id: "a".into(), expected: "r".into() }.into(),
        RequestError::InvalidAlipayRootCertSn { sent: "x".into(), expected: "r".into() }.into(),
        RequestError::InvalidEncryptType("x".into()).into(),
        RequestError::UnsupportedEncryptType("SM4".into()).into(),
        RequestError::MissingEncryptType.into(),
        RequestError::MissingEncryptKey { app_id: "a".into() }.into(),
        RequestError::InvalidEncrypt(DecryptError::NotBase64).into(),
        RequestError::DecryptionFailed(DecryptionFault::BadPadding).into(),
        ApiError::AlipayCertNotExist { sent: "x".into(), current: "c".into() },
        ApiError::DestinationRefused {
            key: "notify_url",
            refused: crate::destination::DestinationRefused::Address,
        },
        BizError::Missing.into(),
        ApiError::Store(StoreError::unavailable("x")),
        ApiError::Store(StoreError::bug("x")),
        ApiError::Overloaded,
        ApiError::NotAppPay("x".into()),
        ApiError::Signing(SignError::BadKey { kind: "private" }),
        ApiError::SystemBusy,
        ApiError::SystemError,
    ];
    for method in [TransMethod::UniTransfer, TransMethod::Refund] {
        for rejection in [
            Rejection::IllegalArgument("x".into()),
            Rejection::AuthOrderNotExist,
            Rejection::AccessForbidden,
            Rejection::UniqueViolation,
            Rejection::OrderStatusInvalid,
            Rejection::MoneyNotEnough,
            Rejection::PayeeNotExist,
            Rejection::PayeeNameNotMatch,
            Rejection::PayerPayeeSame,
            Rejection::PayerNotExist,
            Rejection::BalanceNotEnough,
            Rejection::PayerNotMatch,
        ] {
            all.push(ApiError::TransRejected { method, rejection });
        }
    }
    all.push(ApiError::TransInvalid(BizError::Missing));
    for rejection in [
        Rejection::IllegalArgument("x".into()),
        Rejection::AccessForbidden,
        Rejection::AuthOrderNotExist,
        Rejection::AuthOperationNotExist,
        Rejection::PayerNotMatch,
        Rejection::PayerNotExist,
        Rejection::PayeeNotExist,
        Rejection::PayeeNameNotMatch,
        Rejection::PayerPayeeSame,
        Rejection::UniqueViolation,
        Rejection::OrderStatusInvalid,
        Rejection::BalanceNotEnough,
        Rejection::MoneyNotEnough,
    ] {
        all.push(ApiError::Rejected(rejection));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_table_lists_every_code_and_sub_code() {
        let table = include_str!("../../../docs/errors.md");
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
        for err in catalogue() {
            let alipay = to_alipay(&err);
            let expected = format!("| {} | {} | `{}` |", alipay.code, alipay.msg, alipay.sub_code);
            assert!(
                rows.iter().any(|row| row.starts_with(&expected)),
                "docs/errors.md has no row starting {expected:?} (for {err:?})"
            );
        }
        for result in WalletResult::ALL {
            let expected = format!("| {} | {} |", result.result_status(), result.memo());
            assert!(
                rows.iter().any(|row| row.starts_with(&expected)),
                "docs/errors.md has no wallet row starting {expected:?}"
            );
        }
    }

    #[test]
    fn store_failures_never_leak_their_text() {
        for err in [
            StoreError::unavailable("disk I/O error at /secret/path"),
            StoreError::bug("guard refused at /secret/path"),
        ] {
            let alipay = to_alipay(&ApiError::Store(err));
            assert_eq!((alipay.code, alipay.sub_code), ("20000", "isp.unknow-error"));
            assert!(!alipay.sub_msg.contains("/secret/path"));
        }
        let bug = to_alipay(&ApiError::Store(StoreError::bug("x")));
        assert!(!bug.sub_msg.contains("retry the identical"), "a bug promises no safe retry");
    }

    #[test]
    fn business_rejections_are_40004_with_alipay_sub_codes() {
        let alipay = to_alipay(&ApiError::Rejected(Rejection::MoneyNotEnough));
        assert_eq!(
            (alipay.code, alipay.msg, alipay.sub_code),
            ("40004", "Business Failed", "MONEY_NOT_ENOUGH")
        );
        let alipay = to_alipay(&ApiError::Biz(BizError::MissingField("amount")));
        assert_eq!(alipay.sub_code, "ILLEGAL_ARGUMENT");
        assert!(alipay.sub_msg.contains("amount is required"));
    }
}

//! The method registry and the red packet methods: `biz_content` → ledger command → node.

pub(crate) mod fund;
mod notifications;
mod query;
mod transfer;

use crate::dispatch::Verified;
use crate::error::ApiError;
use crate::Gateway;
use hongbao_ledger::{OperationStatus, OperationView, Outcome};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::envelope::ResponseNode;

/// The methods this gateway serves. Anything else is `isv.invalid-method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// `alipay.fund.coupon.order.agreement.pay`.
    AgreementPay,
    /// `alipay.fund.coupon.order.disburse`.
    Disburse,
    /// `alipay.fund.coupon.order.refund`.
    Refund,
    /// `alipay.fund.coupon.operation.query`.
    OperationQuery,
    /// `alipay.fund.coupon.order.page.pay`: answered by the cashier (HTML), never as JSON.
    PagePay,
    /// `alipay.fund.coupon.order.app.pay`: its order string is paid in the wallet page.
    AppPay,
    /// `hongbao.notify.list`: the calling app's notifications and their delivery attempts
    /// (hongbao's own method; Alipay has none).
    NotifyList,
}

impl MethodKind {
    /// Every served method with its wire name.
    pub const ALL: [(MethodKind, &'static str); 7] = [
        (MethodKind::PagePay, "alipay.fund.coupon.order.page.pay"),
        (MethodKind::AppPay, "alipay.fund.coupon.order.app.pay"),
        (MethodKind::AgreementPay, "alipay.fund.coupon.order.agreement.pay"),
        (MethodKind::Disburse, "alipay.fund.coupon.order.disburse"),
        (MethodKind::Refund, "alipay.fund.coupon.order.refund"),
        (MethodKind::OperationQuery, "alipay.fund.coupon.operation.query"),
        (MethodKind::NotifyList, "hongbao.notify.list"),
    ];

    /// The method a wire name names.
    pub fn lookup(method: &str) -> Option<MethodKind> {
        MethodKind::ALL.iter().find(|(_, name)| *name == method).map(|(kind, _)| *kind)
    }
}

/// Runs a verified request.
pub async fn run(
    gateway: &Gateway,
    kind: MethodKind,
    request: &Verified<'_>,
) -> Result<ResponseNode, ApiError> {
    let biz = BizContent::parse(request.request.params.get("biz_content"))?;
    let node = match kind {
        MethodKind::AgreementPay => fund::agreement_pay(gateway, request, &biz).await,
        MethodKind::Disburse => transfer::disburse(gateway, request, &biz).await,
        MethodKind::Refund => transfer::refund(gateway, request, &biz).await,
        MethodKind::OperationQuery => query::operation_query(gateway, request, &biz).await,
        MethodKind::NotifyList => notifications::list(gateway, request, &biz).await,
        MethodKind::PagePay | MethodKind::AppPay => Err(BizError::Invalid {
            key: "method",
            reason: "page.pay and app.pay are paid by the payer: open the pageExecute form in a browser, \
                     or the sdkExecute order string in the wallet page (/wallet?order_string=…)"
                .into(),
        }
        .into()),
    }?;
    let moves_money =
        matches!(kind, MethodKind::AgreementPay | MethodKind::Disburse | MethodKind::Refund);
    if moves_money && request.common.notify_url.is_some() {
        // A committed movement may have queued a notification: deliver it now, not at the next poll.
        gateway.notify_wake.notify_one();
    }
    Ok(node)
}

/// The seven fields every order method answers with (amount, auth_no, gmt_trans, operation_id,
/// out_order_no, out_request_no, status).
pub(crate) fn order_node(view: &OperationView) -> ResponseNode {
    ResponseNode::success()
        .field("out_order_no", &view.out_order_no)
        .field("out_request_no", &view.out_request_no)
        .field("auth_no", &view.auth_no)
        .field("operation_id", &view.operation_id)
        .field("amount", view.amount.to_string())
        .field("status", view.status.as_str())
        .field_opt("gmt_trans", gmt_trans(view))
}

pub(crate) fn gmt_trans(view: &OperationView) -> Option<String> {
    if view.status != OperationStatus::Success {
        return None;
    }
    view.gmt_trans_ms.map(format_beijing)
}

/// Applied and replayed outcomes answer alike (the original result); rejections are errors.
pub(crate) fn outcome_node(outcome: Outcome) -> Result<ResponseNode, ApiError> {
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => Ok(order_node(&view)),
        Outcome::Rejected(rejection) => Err(ApiError::Rejected(rejection)),
    }
}

//! The method registry and the red packet methods: `biz_content` → ledger command → node.

mod cert;
pub(crate) mod fund;
mod notifications;
mod query;
pub(crate) mod trans;
mod transfer;

use crate::error::ApiError;
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::{OperationStatus, OperationView, Outcome};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::envelope::ResponseNode;
use hongbao_protocol::Method;

/// Runs a verified request.
pub async fn run(gateway: &Gateway, request: &Verified<'_>) -> Result<ResponseNode, ApiError> {
    let kind = request.method();
    let biz = match BizContent::parse(request.biz_content()) {
        Ok(biz) => biz,
        Err(err) if is_trans(kind) => return Err(ApiError::TransInvalid(err)),
        Err(err) => return Err(err.into()),
    };
    let node = match kind {
        Method::AgreementPay => fund::agreement_pay(gateway, request, &biz).await,
        Method::Disburse => transfer::disburse(gateway, request, &biz).await,
        Method::Refund => transfer::refund(gateway, request, &biz).await,
        Method::OperationQuery => query::operation_query(gateway, request, &biz).await,
        Method::NotifyList => notifications::list(gateway, request, &biz).await,
        Method::TransUniTransfer => trans::uni_transfer(gateway, request, &biz).await,
        Method::TransRefund => trans::refund(gateway, request, &biz).await,
        Method::TransCommonQuery => trans::common_query(gateway, request, &biz).await,
        Method::AlipayCertDownload => cert::download(gateway, &biz),
        Method::PagePay | Method::AppPay | Method::TransAppPay => Err(BizError::Invalid {
            key: "method",
            reason: "page.pay and app.pay are paid by the payer: open the pageExecute form in a browser, \
                     or the sdkExecute order string in the wallet page (/wallet?order_string=…)"
                .into(),
        }
        .into()),
    }?;
    let moves_money = matches!(kind, Method::AgreementPay | Method::Disburse | Method::Refund);
    if moves_money && request.common().notify_url.is_some() {
        if let Some(operation_id) = node.get("operation_id").and_then(|id| id.as_str()) {
            gateway.recent_requests.remember(operation_id);
        }
        // A committed movement may have queued a notification: deliver it now, not at the next poll.
        gateway.notify_wake.notify_one();
    }
    Ok(node)
}

/// The fund.trans methods answer in their product's sub_codes.
fn is_trans(method: Method) -> bool {
    matches!(
        method,
        Method::TransAppPay
            | Method::TransUniTransfer
            | Method::TransRefund
            | Method::TransCommonQuery
    )
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

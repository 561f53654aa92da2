//! `alipay.fund.coupon.operation.query`, exactly as seed 001 specifies.
//!
//! Lookup: (auth_no | out_order_no) × (operation_id | out_request_no); Alipay ids win when both
//! are given; empty strings count as absent. Answer: every field of the seed's response table.

use super::gmt_trans;
use crate::error::ApiError;
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::{OperationQuery, OperationRef, OrderRef};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::display::{format_beijing, mask_logon_id};
use hongbao_protocol::envelope::ResponseNode;

pub async fn operation_query(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let order = match (biz.id("auth_no")?, biz.id("out_order_no")?) {
        (Some(auth_no), _) => OrderRef::AuthNo(auth_no),
        (None, Some(out_order_no)) => OrderRef::OutOrderNo(out_order_no),
        (None, None) => return Err(BizError::MissingField("auth_no or out_order_no").into()),
    };
    let operation = match (biz.id("operation_id")?, biz.id("out_request_no")?) {
        (Some(operation_id), _) => OperationRef::OperationId(operation_id),
        (None, Some(out_request_no)) => OperationRef::OutRequestNo(out_request_no),
        (None, None) => return Err(BizError::MissingField("operation_id or out_request_no").into()),
    };
    let view = gateway
        .store
        .query(OperationQuery { app_id: request.app().app_id.clone(), order, operation })
        .await?
        .map_err(ApiError::Rejected)?;
    Ok(ResponseNode::success()
        .field("auth_no", &view.auth_no)
        .field("out_order_no", &view.out_order_no)
        .field("operation_id", &view.operation_id)
        .field("out_request_no", &view.out_request_no)
        .field("amount", view.amount.to_string())
        .field("order_title", &view.order_title)
        .field("operation_type", view.operation_type.as_str())
        .field("status", view.status.as_str())
        .field("remark", &view.remark)
        .field_opt("payer_user_id", view.payer_user_id.as_deref())
        .field_opt("payer_logon_id", view.payer_logon_id.as_deref().map(mask_logon_id))
        .field_opt("payee_user_id", view.payee_user_id.as_deref())
        .field_opt("payee_logon_id", view.payee_logon_id.as_deref().map(mask_logon_id))
        .field("gmt_create", format_beijing(view.gmt_create_ms))
        .field_opt("gmt_trans", gmt_trans(&view))
        .field_opt("extra_param", view.extra_param.as_deref())
        .field("total_pay_refund_amount", view.total_pay_refund_amount.to_string()))
}

//! Money out of a packet: `order.disburse` (to a payee) and `order.refund` (back to the payer).

use super::outcome_node;
use crate::error::ApiError;
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::{DisburseCommand, OrderRef, PayeeRef, RefundCommand};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::envelope::ResponseNode;

pub async fn disburse(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let out_order_no = biz.required_id("out_order_no")?;
    // deduct_auth_no wins when both are given (documented); one of them is required.
    let packet = match (biz.id("deduct_auth_no")?, biz.id("deduct_out_order_no")?) {
        (Some(auth_no), _) => OrderRef::AuthNo(auth_no),
        (None, Some(out_order_no)) => OrderRef::OutOrderNo(out_order_no),
        (None, None) => {
            return Err(BizError::MissingField("deduct_auth_no or deduct_out_order_no").into())
        }
    };
    let out_request_no = biz.required_id("out_request_no")?;
    let order_title = biz.required_text("order_title")?;
    let amount = biz.amount("amount")?;
    let payee = match (biz.user_id("payee_user_id")?, biz.logon_id("payee_logon_id")?) {
        (Some(user_id), Some(logon_id)) => PayeeRef::Both { user_id, logon_id },
        (Some(user_id), None) => PayeeRef::UserId(user_id),
        (None, Some(logon_id)) => PayeeRef::LogonId(logon_id),
        (None, None) => {
            return Err(BizError::MissingField("payee_user_id or payee_logon_id").into())
        }
    };
    // Validated like the pay methods' (the documented field list has it); a disburse is
    // synchronous, so there is nothing for it to time out.
    biz.pay_timeout()?;
    let extra_param = biz.extra_param()?;
    let outcome = gateway
        .store
        .disburse(DisburseCommand {
            app_id: request.app().app_id.clone(),
            out_order_no,
            packet,
            out_request_no,
            order_title,
            amount,
            payee,
            extra_param,
            notify: request.notify_target(),
            now_ms: gateway.clock.now_ms(),
        })
        .await?;
    outcome_node(outcome)
}

pub async fn refund(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let auth_no = biz.required_id("auth_no")?;
    let out_request_no = biz.required_id("out_request_no")?;
    let amount = biz.amount("amount")?;
    let remark = biz.required_text("remark")?;
    let outcome = gateway
        .store
        .refund(RefundCommand {
            app_id: request.app().app_id.clone(),
            auth_no,
            out_request_no,
            amount,
            remark,
            notify: request.notify_target(),
            now_ms: gateway.clock.now_ms(),
        })
        .await?;
    outcome_node(outcome)
}

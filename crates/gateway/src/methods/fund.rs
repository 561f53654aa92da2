//! `alipay.fund.coupon.order.agreement.pay`: fund a packet from the app's own account.

use super::outcome_node;
use crate::dispatch::Verified;
use crate::error::ApiError;
use crate::Gateway;
use hongbao_ledger::{FundCommand, FundMethod, Rejection};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::envelope::ResponseNode;

/// Default `pay_timeout`: 1h.
pub const PAY_TIMEOUT_MINUTES_DEFAULT: u32 = 60;

pub async fn agreement_pay(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let out_order_no = biz.required_id("out_order_no")?;
    let out_request_no = biz.required_id("out_request_no")?;
    let order_title = biz.required_text("order_title")?;
    let amount = biz.amount("amount")?;
    let payer_user_id =
        biz.user_id("payer_user_id")?.ok_or(BizError::MissingField("payer_user_id"))?;
    let pay_timeout_minutes = biz.pay_timeout()?.unwrap_or(PAY_TIMEOUT_MINUTES_DEFAULT);
    let extra_param = biz.extra_param()?;
    if payer_user_id != request.app.merchant_user_id {
        return Err(ApiError::Rejected(Rejection::PayerNotMatch));
    }
    let outcome = gateway
        .store
        .fund(FundCommand {
            app_id: request.app.app_id.clone(),
            out_order_no,
            out_request_no,
            order_title,
            amount,
            payer_user_id: Some(payer_user_id),
            pay_timeout_minutes,
            extra_param,
            notify: request.notify_target(),
            method: FundMethod::Agreement,
            now_ms: gateway.clock.now_ms(),
        })
        .await?;
    outcome_node(outcome)
}

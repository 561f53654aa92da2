//! Funding a packet: `order.agreement.pay` (from the app's own account, at once) and the
//! payer-side `order.page.pay` / `order.app.pay` (an INIT order the payer confirms on the cashier
//! page or in the wallet).

use super::outcome_node;
use crate::dispatch::Verified;
use crate::error::ApiError;
use crate::Gateway;
use hongbao_ledger::{FundCommand, FundMethod, OperationView, Outcome, Rejection};
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
    let expire_after_ms = expire_after_ms(gateway, extra_param.as_deref())?;
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
            expire_after_ms,
            return_url: None,
            now_ms: gateway.clock.now_ms(),
        })
        .await?;
    outcome_node(outcome)
}

/// How long after funding the remainder goes back: `orderExpiredTime` from `extra_param`, else
/// the configured default.
pub(crate) fn expire_after_ms(
    gateway: &Gateway,
    extra_param: Option<&str>,
) -> Result<i64, BizError> {
    let minutes = match extra_param {
        Some(extra) => hongbao_protocol::biz::order_expired_minutes(extra)?,
        None => None,
    };
    Ok(minutes.map(|m| i64::from(m) * 60_000).unwrap_or(gateway.policy.packet_expiry_default_ms))
}

/// Creates (or, for an identical retry, finds again) the INIT order of a page.pay or app.pay
/// request. biz_content as page.pay documents it: out_order_no, out_request_no, order_title,
/// amount, pay_timeout, extra_param; the payer is whoever confirms.
pub(crate) async fn payer_side_order(
    gateway: &Gateway,
    request: &Verified<'_>,
    method: FundMethod,
) -> Result<OperationView, ApiError> {
    let biz = BizContent::parse(request.request.params.get("biz_content"))?;
    let out_order_no = biz.required_id("out_order_no")?;
    let out_request_no = biz.required_id("out_request_no")?;
    let order_title = biz.required_text("order_title")?;
    let amount = biz.amount("amount")?;
    let pay_timeout_minutes = biz.pay_timeout()?.unwrap_or(PAY_TIMEOUT_MINUTES_DEFAULT);
    let extra_param = biz.extra_param()?;
    let expire_after_ms = expire_after_ms(gateway, extra_param.as_deref())?;
    let outcome = gateway
        .store
        .fund(FundCommand {
            app_id: request.app.app_id.clone(),
            out_order_no,
            out_request_no,
            order_title,
            amount,
            payer_user_id: None,
            pay_timeout_minutes,
            extra_param,
            notify: request.notify_target(),
            method,
            expire_after_ms,
            return_url: request.common.return_url.clone(),
            now_ms: gateway.clock.now_ms(),
        })
        .await?;
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => Ok(view),
        Outcome::Rejected(rejection) => Err(ApiError::Rejected(rejection)),
    }
}

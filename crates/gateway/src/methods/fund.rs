//! Funding a packet: `order.agreement.pay` (from the app's own account, at once) and the
//! payer-side `order.page.pay` / `order.app.pay` (an INIT order the payer confirms on the cashier
//! page or in the wallet). All three share page.pay's documented biz_content fields.

use super::outcome_node;
use crate::error::ApiError;
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::{FundCommand, FundMethod, OperationView, Outcome};
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::envelope::ResponseNode;

/// Default `pay_timeout`: 1h.
pub const PAY_TIMEOUT_MINUTES_DEFAULT: u32 = 60;

/// The fund command of a verified pay request: out_order_no, out_request_no, order_title,
/// amount, pay_timeout, extra_param (with its orderExpiredTime), the call's notify target and
/// return_url. The payer is the caller's to set.
fn fund_command(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
    method: FundMethod,
) -> Result<FundCommand, BizError> {
    let out_order_no = biz.required_id("out_order_no")?;
    let out_request_no = biz.required_id("out_request_no")?;
    let order_title = biz.required_text("order_title")?;
    let amount = biz.amount("amount")?;
    let pay_timeout_minutes = biz.pay_timeout()?.unwrap_or(PAY_TIMEOUT_MINUTES_DEFAULT);
    let extra_param = biz.extra_param()?;
    let expire_after_ms = expire_after_ms(gateway, extra_param.as_deref())?;
    Ok(FundCommand {
        app_id: request.app().app_id.clone(),
        out_order_no,
        out_request_no,
        order_title,
        amount,
        payer_user_id: None,
        merchant_user_id: None,
        pay_timeout_minutes,
        extra_param,
        notify: request.notify_target(),
        call: request.call_format(),
        method,
        expire_after_ms,
        return_url: request.common().return_url.clone(),
        now_ms: gateway.clock.now_ms(),
    })
}

pub async fn agreement_pay(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let mut command = fund_command(gateway, request, biz, FundMethod::Agreement)?;
    let payer_user_id =
        biz.user_id("payer_user_id")?.ok_or(BizError::MissingField("payer_user_id"))?;
    // Whether the payer may pay is the ledger's rule (`decide_fund`, PayerNotMatch).
    command.payer_user_id = Some(payer_user_id);
    command.merchant_user_id = Some(request.app().merchant_user_id.clone());
    command.return_url = None;
    outcome_node(gateway.store.fund(command).await?)
}

/// How long after funding the remainder goes back: `orderExpiredTime` from `extra_param`, else
/// the configured default.
fn expire_after_ms(gateway: &Gateway, extra_param: Option<&str>) -> Result<i64, BizError> {
    let minutes = match extra_param {
        Some(extra) => hongbao_protocol::biz::order_expired_minutes(extra)?,
        None => None,
    };
    Ok(minutes.map(|m| i64::from(m) * 60_000).unwrap_or(gateway.policy.packet_expiry_default_ms))
}

/// Creates (or, for an identical retry, finds again) the INIT order of a page.pay or app.pay
/// request; the payer is whoever confirms.
pub(crate) async fn payer_side_order(
    gateway: &Gateway,
    request: &Verified<'_>,
    method: FundMethod,
) -> Result<OperationView, ApiError> {
    let biz = BizContent::parse(request.biz_content())?;
    let command = fund_command(gateway, request, &biz, method)?;
    match gateway.store.fund(command).await? {
        Outcome::Applied(view) | Outcome::Replayed(view) => Ok(view),
        Outcome::Rejected(rejection) => Err(ApiError::Rejected(rejection)),
    }
}

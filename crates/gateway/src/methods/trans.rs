//! `STD_RED_PACKET` over `alipay.fund.trans.*` (std-red-packet-spec.md): `uni.transfer` (a claim
//! of a send, or a B2C red packet), `refund` (a return), `common.query`, and the send an
//! `app.pay` order string creates in the wallet. `biz_content` → ledger command → node; the
//! rules are the ledger's (`hongbao_ledger::decide::trans`), the sub_codes the error catalogue's
//! (`error::TransMethod`). Choices where the spec is silent are in docs/std-red-packet.md.

use crate::error::{ApiError, TransMethod};
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::{
    BizScene, ClaimCommand, NotifyTarget, OperationKind, OperationStatus, OperationView, Outcome,
    PayeeRef, ReturnCommand, SendCommand, TransLookup, TransQuery, TransferCommand,
};
use hongbao_protocol::biz::{BizContent, BizError, ParticipantType};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::envelope::ResponseNode;

/// The only product this sandbox serves over fund.trans.
pub const PRODUCT_CODE: &str = "STD_RED_PACKET";
/// `business_params.sub_biz_scene` of red packets.
pub const SUB_BIZ_SCENE: &str = "REDPACKET";
/// A send's pay deadline when `time_expire` is absent (unconfirmed at Alipay; fund.coupon's
/// `pay_timeout` default).
pub const SEND_PAY_TIMEOUT_DEFAULT_MS: i64 = 60 * 60_000;

/// Where the app's fund.trans messages go: its configured `message_url` (the application
/// gateway, 应用网关), in the call's charset and sign type. `None` when the app has none.
pub fn message_target(request: &Verified<'_>) -> Option<NotifyTarget> {
    request.app().message_url.as_ref().map(|url| NotifyTarget {
        url: url.clone(),
        charset: crate::notify::notify_charset(request.charset()),
        sign_type: crate::notify::notify_sign_type(request.common().sign_type),
    })
}

fn invalid(err: BizError) -> ApiError {
    ApiError::TransInvalid(err)
}

/// `product_code` must be `STD_RED_PACKET` (required, or checked when `required` is false).
fn check_product(biz: &BizContent, required: bool) -> Result<(), ApiError> {
    match biz.string("product_code").map_err(invalid)? {
        Some(code) if code == PRODUCT_CODE => Ok(()),
        Some(code) => Err(invalid(BizError::Invalid {
            key: "product_code",
            reason: format!("{code:?} is not served: this sandbox serves {PRODUCT_CODE}"),
        })),
        None if required => Err(invalid(BizError::MissingField("product_code"))),
        None => Ok(()),
    }
}

/// `business_params`: a JSON object (or a JSON string holding one) whose `sub_biz_scene` is
/// `REDPACKET`; returns it.
fn red_packet_params(
    biz: &BizContent,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let key = "business_params";
    let (params, _) = biz.object(key).map_err(invalid)?.ok_or_else(|| {
        invalid(BizError::Invalid {
            key,
            reason: format!("is required with sub_biz_scene {SUB_BIZ_SCENE} for red packets"),
        })
    })?;
    if params.get("sub_biz_scene").and_then(|v| v.as_str()) != Some(SUB_BIZ_SCENE) {
        return Err(invalid(BizError::Invalid {
            key,
            reason: format!("sub_biz_scene must be {SUB_BIZ_SCENE}"),
        }));
    }
    Ok(params)
}

/// The payee of `payee_info`, with the name to check.
fn payee(biz: &BizContent) -> Result<(PayeeRef, Option<String>), ApiError> {
    let participant = biz
        .participant("payee_info")
        .map_err(invalid)?
        .ok_or_else(|| invalid(BizError::MissingField("payee_info")))?;
    let payee = match participant.identity_type {
        ParticipantType::UserId => PayeeRef::UserId(participant.identity),
        ParticipantType::LogonId => PayeeRef::LogonId(participant.identity),
    };
    Ok((payee, participant.name))
}

/// The rejection of a command, in `method`'s sub_codes, echoing `echo`.
fn rejected(
    method: TransMethod,
    outcome: Outcome,
    echo: Vec<(&'static str, String)>,
) -> Result<OperationView, ApiError> {
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => Ok(view),
        Outcome::Rejected(rejection) => Err(ApiError::WithEcho {
            error: Box::new(ApiError::TransRejected { method, rejection }),
            echo,
        }),
    }
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time, as fund.trans answers write times.
fn trans_time(ms: Option<i64>) -> Option<String> {
    ms.map(format_beijing)
}

/// The send of an `alipay.fund.trans.app.pay` order string (the wallet's), created or found
/// again: unpaid, bound to `business_params.payer_binded_alipay_uid`.
pub(crate) async fn send_order(
    gateway: &Gateway,
    request: &Verified<'_>,
) -> Result<OperationView, ApiError> {
    let biz = BizContent::parse(request.biz_content()).map_err(invalid)?;
    let out_biz_no = biz.required_id("out_biz_no").map_err(invalid)?;
    let amount = biz.amount("trans_amount").map_err(invalid)?;
    check_product(&biz, true)?;
    match biz.string("biz_scene").map_err(invalid)?.as_deref() {
        Some("PERSONAL_PAY") => {}
        Some(other) => {
            return Err(invalid(BizError::Invalid {
                key: "biz_scene",
                reason: format!("{other:?}: alipay.fund.trans.app.pay sends with PERSONAL_PAY"),
            }))
        }
        None => return Err(invalid(BizError::MissingField("biz_scene"))),
    }
    let params = red_packet_params(&biz)?;
    let payer = params
        .get("payer_binded_alipay_uid")
        .and_then(|v| v.as_str())
        .filter(|uid| {
            uid.len() == 16 && uid.starts_with("2088") && uid.bytes().all(|b| b.is_ascii_digit())
        })
        .ok_or_else(|| {
            invalid(BizError::Invalid {
                key: "business_params",
                reason: "payer_binded_alipay_uid (2088 + 12 digits) is required".into(),
            })
        })?
        .to_owned();
    let now_ms = gateway.clock.now_ms();
    let time_expire_ms = match biz.beijing_minute("time_expire").map_err(invalid)? {
        Some(at) if at <= now_ms => {
            return Err(invalid(BizError::Invalid {
                key: "time_expire",
                reason: "is in the past".into(),
            }))
        }
        other => other,
    };
    let pay_deadline_ms = time_expire_ms.unwrap_or(now_ms + SEND_PAY_TIMEOUT_DEFAULT_MS);
    let refund_time_expire_ms = match biz.beijing_minute("refund_time_expire").map_err(invalid)? {
        Some(at) if at <= pay_deadline_ms => {
            return Err(invalid(BizError::Invalid {
                key: "refund_time_expire",
                reason: "must be later than time_expire (the send's pay deadline)".into(),
            }))
        }
        other => other,
    };
    let order_title =
        biz.text("order_title").map_err(invalid)?.unwrap_or_else(|| "现金红包".into());
    let command = SendCommand {
        app_id: request.app().app_id.clone(),
        out_biz_no: out_biz_no.clone(),
        amount,
        order_title,
        remark: biz.text("remark").map_err(invalid)?,
        payer_user_id: payer,
        time_expire_ms,
        pay_timeout_default_ms: SEND_PAY_TIMEOUT_DEFAULT_MS,
        refund_time_expire_ms,
        expire_after_ms: gateway.policy.packet_expiry_default_ms,
        passback_params: biz.passback("passback_params").map_err(invalid)?,
        message: message_target(request),
        call: request.call_format(),
        now_ms,
    };
    let outcome = gateway.store.send(command).await?;
    rejected(TransMethod::AppPay, outcome, vec![("out_biz_no", out_biz_no)])
}

/// The status of a fund.trans document.
fn trans_status(view: &OperationView) -> &'static str {
    match view.status {
        OperationStatus::Init => "WAIT_PAY",
        OperationStatus::Success => "SUCCESS",
        OperationStatus::Closed => "CLOSED",
    }
}

/// `alipay_fund_trans_app_pay_response`: what the wallet hands the app for a paid send.
pub(crate) fn app_pay_node(view: &OperationView) -> ResponseNode {
    ResponseNode::success()
        .field("out_biz_no", &view.out_order_no)
        .field("order_id", &view.auth_no)
        .field("status", trans_status(view))
}

/// `alipay.fund.trans.uni.transfer`: a claim of a send (`PERSONAL_COLLECTION`, with
/// `original_order_id`) or a B2C red packet from the app's merchant account (`DIRECT_TRANSFER`).
/// Without `biz_scene`, the presence of `original_order_id` tells which.
pub async fn uni_transfer(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let out_biz_no = biz.required_id("out_biz_no").map_err(invalid)?;
    let amount = biz.amount("trans_amount").map_err(invalid)?;
    check_product(biz, true)?;
    red_packet_params(biz)?;
    let original_order_id = biz.id("original_order_id").map_err(invalid)?;
    let scene = match biz.string("biz_scene").map_err(invalid)?.as_deref() {
        Some("PERSONAL_COLLECTION") => BizScene::PersonalCollection,
        Some("DIRECT_TRANSFER") => BizScene::DirectTransfer,
        Some(other) => {
            return Err(invalid(BizError::Invalid {
                key: "biz_scene",
                reason: format!(
                    "{other:?}: PERSONAL_COLLECTION (a claim) or DIRECT_TRANSFER (B2C)"
                ),
            }))
        }
        None if original_order_id.is_some() => BizScene::PersonalCollection,
        None => BizScene::DirectTransfer,
    };
    let (payee, payee_name) = payee(biz)?;
    let remark = biz.text("remark").map_err(invalid)?;
    let passback_params = biz.passback("passback_params").map_err(invalid)?;
    let app_id = request.app().app_id.clone();
    let now_ms = gateway.clock.now_ms();
    let outcome = match (scene, original_order_id) {
        (BizScene::PersonalCollection, Some(original_order_id)) => {
            let order_title = biz.text("order_title").map_err(invalid)?.unwrap_or_else(|| "红包领取".into());
            gateway
                .store
                .claim(ClaimCommand {
                    app_id,
                    out_biz_no: out_biz_no.clone(),
                    original_order_id,
                    amount,
                    order_title,
                    remark,
                    payee,
                    payee_name,
                    passback_params,
                    message: message_target(request),
                    now_ms,
                })
                .await?
        }
        (BizScene::PersonalCollection, None) => {
            return Err(invalid(BizError::Invalid {
                key: "original_order_id",
                reason: "a PERSONAL_COLLECTION claim names the send's order_id".into(),
            }))
        }
        (_, Some(_)) => {
            return Err(invalid(BizError::Invalid {
                key: "original_order_id",
                reason: "a DIRECT_TRANSFER (B2C) red packet is paid from the merchant account and names no send".into(),
            }))
        }
        (_, None) => {
            let order_title = biz.text("order_title").map_err(invalid)?.unwrap_or_else(|| "现金红包".into());
            gateway
                .store
                .transfer(TransferCommand {
                    app_id,
                    out_biz_no: out_biz_no.clone(),
                    merchant_user_id: request.app().merchant_user_id.clone(),
                    amount,
                    order_title,
                    remark,
                    payee,
                    payee_name,
                    passback_params,
                    message: message_target(request),
                    now_ms,
                })
                .await?
        }
    };
    let view = rejected(TransMethod::UniTransfer, outcome, vec![("out_biz_no", out_biz_no)])?;
    wake(gateway, request, &view.operation_id);
    Ok(ResponseNode::success()
        .field("out_biz_no", &view.out_order_no)
        .field("order_id", &view.auth_no)
        .field("pay_fund_order_id", &view.operation_id)
        .field("status", trans_status(&view))
        .field_opt("trans_date", trans_time(view.gmt_trans_ms)))
}

/// `alipay.fund.trans.refund`: returns part of a send's rest to its payer.
pub async fn refund(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let order_id = biz.required_id("order_id").map_err(invalid)?;
    let out_request_no = biz.required_id("out_request_no").map_err(invalid)?;
    let amount = biz.amount("refund_amount").map_err(invalid)?;
    check_product(biz, false)?;
    let command = ReturnCommand {
        app_id: request.app().app_id.clone(),
        order_id: order_id.clone(),
        out_request_no: out_request_no.clone(),
        amount,
        remark: biz.text("remark").map_err(invalid)?,
        passback_params: biz.passback("passback_params").map_err(invalid)?,
        message: message_target(request),
        now_ms: gateway.clock.now_ms(),
    };
    let outcome = gateway.store.return_send(command).await?;
    let echo = vec![("order_id", order_id), ("out_request_no", out_request_no)];
    let view = rejected(TransMethod::Refund, outcome, echo)?;
    wake(gateway, request, &view.operation_id);
    Ok(ResponseNode::success()
        .field("refund_order_id", &view.operation_id)
        .field("order_id", &view.auth_no)
        .field("out_request_no", &view.out_request_no)
        .field("refund_amount", view.amount.to_string())
        .field_opt("refund_date", trans_time(view.gmt_trans_ms))
        .field("status", trans_status(&view)))
}

/// `alipay.fund.trans.common.query`: `pay_fund_order_id` > `order_id` > `out_biz_no` (which
/// needs `product_code` and `biz_scene`); the others are ignored.
pub async fn common_query(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let lookup = match (
        biz.id("pay_fund_order_id").map_err(invalid)?,
        biz.id("order_id").map_err(invalid)?,
        biz.id("out_biz_no").map_err(invalid)?,
    ) {
        (Some(id), _, _) => TransLookup::PayFundOrderId(id),
        (None, Some(id), _) => TransLookup::OrderId(id),
        (None, None, Some(out_biz_no)) => {
            check_product(biz, true)?;
            let scene = biz
                .string("biz_scene")
                .map_err(invalid)?
                .ok_or_else(|| invalid(BizError::MissingField("biz_scene")))?;
            let scene = BizScene::parse(&scene).ok_or_else(|| {
                invalid(BizError::Invalid {
                    key: "biz_scene",
                    reason: format!(
                        "{scene:?}: PERSONAL_PAY, PERSONAL_COLLECTION, REFUND or DIRECT_TRANSFER"
                    ),
                })
            })?;
            TransLookup::OutBizNo { out_biz_no, scene }
        }
        (None, None, None) => {
            return Err(invalid(BizError::MissingField(
                "pay_fund_order_id, order_id or out_biz_no",
            )))
        }
    };
    let query = TransQuery { app_id: request.app().app_id.clone(), lookup };
    let view = gateway.store.trans_query(query).await?.map_err(|rejection| {
        ApiError::TransRejected { method: TransMethod::CommonQuery, rejection }
    })?;
    let success = view.status == OperationStatus::Success;
    // A return is shown under its send's order_id with its out_request_no as out_biz_no
    // (docs/std-red-packet.md: the spec leaves it open).
    let receiver = match view.kind {
        OperationKind::Disburse => view.payee_user_id.as_deref(),
        OperationKind::Fund | OperationKind::Refund => None,
    };
    let out_biz_no = match view.kind {
        OperationKind::Refund => &view.out_request_no,
        OperationKind::Fund | OperationKind::Disburse => &view.out_order_no,
    };
    Ok(ResponseNode::success()
        .field("order_id", &view.auth_no)
        .field("out_biz_no", out_biz_no)
        .field("status", trans_status(&view))
        .field_opt("pay_fund_order_id", success.then_some(view.operation_id.as_str()))
        .field_opt("trans_amount", success.then(|| view.amount.to_string()))
        .field_opt("pay_date", trans_time(view.gmt_trans_ms.filter(|_| success)))
        .field_opt("passback_params", view.passback_params.as_deref())
        .field_opt("receiver_user_id", receiver))
}

/// A committed movement may have queued a message: deliver it now, not at the next poll (and
/// let the worker's log line name this request).
fn wake(gateway: &Gateway, request: &Verified<'_>, operation_id: &str) {
    if request.app().message_url.is_some() {
        gateway.recent_requests.remember(operation_id);
        gateway.notify_wake.notify_one();
    }
}

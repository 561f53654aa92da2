//! `hongbao.notify.list`: a merchant lists its own notifications with their delivery state, so
//! it can see what hongbao sent, when, and what its notify handler answered.
//!
//! biz_content: `status` (PENDING, DELIVERED or FAILED; optional), `limit` (a string, "1" to "100";
//! default 20). Answer: `notifications`, newest first.

use crate::error::ApiError;
use crate::notify::notify_type;
use crate::verify::Verified;
use crate::Gateway;
use hongbao_ledger::NotifyStatus;
use hongbao_protocol::biz::{BizContent, BizError};
use hongbao_protocol::display::format_beijing;
use hongbao_protocol::envelope::ResponseNode;
use hongbao_store::NotifyFilter;
use serde_json::{json, Value};

/// Most notifications one call lists.
pub const LIST_LIMIT_MAX: u32 = 100;

pub async fn list(
    gateway: &Gateway,
    request: &Verified<'_>,
    biz: &BizContent,
) -> Result<ResponseNode, ApiError> {
    let status = match biz.string("status")? {
        None => None,
        Some(text) => Some(NotifyStatus::parse(&text).ok_or_else(|| BizError::Invalid {
            key: "status",
            reason: "must be PENDING, DELIVERED or FAILED".into(),
        })?),
    };
    let limit = match biz.string("limit")? {
        None => 20,
        Some(text) => {
            text.parse::<u32>().ok().filter(|n| (1..=LIST_LIMIT_MAX).contains(n)).ok_or_else(
                || BizError::Invalid {
                    key: "limit",
                    reason: format!("must be 1 to {LIST_LIMIT_MAX}"),
                },
            )?
        }
    };
    let records = gateway
        .store
        .list_notifications(NotifyFilter {
            app_id: Some(request.app().app_id.clone()),
            status,
            limit,
        })
        .await?;
    let items: Vec<Value> = records
        .iter()
        .map(|record| {
            let attempts: Vec<Value> = record
                .history
                .iter()
                .map(|attempt| {
                    json!({
                        "time": format_beijing(attempt.at_ms),
                        "delivered": if attempt.delivered { "true" } else { "false" },
                        "http_status": attempt.http_status.map(|s| s.to_string()).unwrap_or_default(),
                        "error": attempt.error.clone().unwrap_or_default(),
                    })
                })
                .collect();
            json!({
                "notify_id": record.notify_id,
                "notify_type": notify_type(record.event),
                "operation_id": record.operation_id,
                "notify_url": record.notify_url,
                "status": record.status.as_str(),
                "gmt_create": format_beijing(record.created_at_ms),
                "gmt_delivered": record.delivered_at_ms.map(format_beijing).unwrap_or_default(),
                "next_attempt_time": record.next_attempt_at_ms.filter(|_| record.status == NotifyStatus::Pending).map(format_beijing).unwrap_or_default(),
                "attempts": attempts,
            })
        })
        .collect();
    Ok(ResponseNode::success().field_value("notifications", Value::Array(items)))
}

//! `hongbao notify list|resend`: the operator's view of the notify outbox, read straight from the
//! store of a configuration (the server need not be stopped: SQLite in WAL mode takes readers
//! and a second writer, PostgreSQL any number; a running server picks a resent notification up
//! at its next poll).

use anyhow::{bail, Result};
use hongbao_ledger::NotifyStatus;
use hongbao_protocol::display::format_beijing;
use hongbao_store::{NotifyFilter, Store};

/// Prints notifications as a table, or as JSON lines with `json`.
pub async fn list(
    store: &dyn Store,
    app_id: Option<String>,
    status: Option<String>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let status = match status {
        None => None,
        Some(text) => match NotifyStatus::parse(&text) {
            Some(status) => Some(status),
            None => bail!("--status must be PENDING, DELIVERED or FAILED, not {text:?}"),
        },
    };
    let records = store.list_notifications(NotifyFilter { app_id, status, limit }).await?;
    if json {
        // serde_json, not `{:?}`: Rust's Debug escapes (`\u{1b}`) are not JSON, and a notify_url
        // or a merchant's answer can hold anything.
        for record in &records {
            let history: Vec<serde_json::Value> = record
                .history
                .iter()
                .map(|attempt| {
                    serde_json::json!({
                        "time": format_beijing(attempt.at_ms),
                        "delivered": attempt.delivered,
                        "http_status": attempt.http_status,
                        "error": attempt.error.clone().unwrap_or_default(),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "notify_id": record.notify_id,
                "app_id": record.app_id,
                "operation_id": record.operation_id,
                "event": record.event.as_str(),
                "status": record.status.as_str(),
                "attempts": record.attempts,
                "notify_url": record.notify_url,
                "last_error": record.last_error.clone().unwrap_or_default(),
                "history": history,
            });
            println!("{line}");
        }
        return Ok(());
    }
    println!(
        "{:<32}  {:<16}  {:<16}  {:<9}  {:>3}  {:<19}  last error / url",
        "notify_id", "app_id", "event", "status", "try", "created"
    );
    for record in &records {
        println!(
            "{:<32}  {:<16}  {:<16}  {:<9}  {:>3}  {:<19}  {}",
            record.notify_id,
            record.app_id,
            record.event.as_str(),
            record.status.as_str(),
            record.attempts,
            format_beijing(record.created_at_ms),
            record.last_error.as_deref().unwrap_or(&record.notify_url)
        );
    }
    Ok(())
}

/// Queues a notification for an immediate new round of attempts, same notify_id.
pub async fn resend(store: &dyn Store, notify_id: &str, now_ms: i64) -> Result<()> {
    if !store.resend_notification(notify_id, None, now_ms).await? {
        bail!("no notification {notify_id}");
    }
    println!("notification {notify_id} queued again; the server delivers it at its next poll");
    Ok(())
}

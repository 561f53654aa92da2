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
        for record in &records {
            let attempts: Vec<String> = record
                .history
                .iter()
                .map(|attempt| {
                    format!(
                        "{{\"time\":{:?},\"delivered\":{},\"http_status\":{},\"error\":{:?}}}",
                        format_beijing(attempt.at_ms),
                        attempt.delivered,
                        attempt.http_status.map(|s| s.to_string()).unwrap_or_else(|| "null".into()),
                        attempt.error.clone().unwrap_or_default()
                    )
                })
                .collect();
            println!(
                "{{\"notify_id\":{:?},\"app_id\":{:?},\"operation_id\":{:?},\"event\":{:?},\"status\":{:?},\"attempts\":{},\"notify_url\":{:?},\"last_error\":{:?},\"history\":[{}]}}",
                record.notify_id, record.app_id, record.operation_id, record.event.as_str(), record.status.as_str(),
                record.attempts, record.notify_url, record.last_error.clone().unwrap_or_default(), attempts.join(",")
            );
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

//! The notify outbox in SQL: claiming due rows under a lease, recording attempts, listing.

use super::commands::{exec, load_view, Keep};
use crate::notify::{NotifyAttempt, NotifyFilter, NotifyRecord, PendingNotify};
use crate::StoreError;
use hongbao_ledger::{NotifyEvent, NotifyTarget};
use rusqlite::{params, Connection};

/// Claims up to `limit` due notifications: their next attempt moves `lease_ms` ahead, so a
/// delivery that never records its outcome (a crash) is retried when the lease runs out.
pub fn claim_due(
    conn: &Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Keep<Vec<PendingNotify>>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT notify_id, app_id, operation_id, event, notify_url, charset, sign_type, created_at_ms, attempts \
         FROM notify_outbox WHERE status = 'PENDING' AND next_attempt_at_ms <= ?1 \
         ORDER BY next_attempt_at_ms LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now_ms, limit], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                NotifyTarget { url: row.get(4)?, charset: row.get(5)?, sign_type: row.get(6)? },
                row.get::<_, i64>(7)?,
                row.get::<_, u32>(8)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (notify_id, app_id, operation_id, event, target, created_at_ms, attempts) in rows {
        exec(
            conn,
            "UPDATE notify_outbox SET next_attempt_at_ms = ?2 WHERE notify_id = ?1",
            params![notify_id, now_ms + lease_ms],
        )?;
        let event =
            NotifyEvent::parse(&event).ok_or_else(|| StoreError::Corrupt("notify event".into()))?;
        claimed.push(PendingNotify {
            notify_id,
            app_id,
            event,
            target,
            created_at_ms,
            attempts,
            view: load_view(conn, &operation_id)?,
        });
    }
    Ok(Keep::Commit(claimed))
}

/// Records one attempt; ignored when the row is no longer PENDING (delivered meanwhile).
pub fn record_attempt(
    conn: &Connection,
    notify_id: &str,
    attempt: &NotifyAttempt,
) -> Result<Keep<()>, StoreError> {
    let status = match (attempt.delivered, attempt.next_attempt_at_ms) {
        (true, _) => "DELIVERED",
        (false, Some(_)) => "PENDING",
        (false, None) => "FAILED",
    };
    let changed = exec(
        conn,
        "UPDATE notify_outbox SET attempts = attempts + 1, status = ?2, next_attempt_at_ms = ?3, \
         last_error = COALESCE(?4, last_error), delivered_at_ms = ?5 \
         WHERE notify_id = ?1 AND status = 'PENDING'",
        params![
            notify_id,
            status,
            attempt.next_attempt_at_ms,
            attempt.error,
            attempt.delivered.then_some(attempt.at_ms)
        ],
    )?;
    if changed == 1 {
        exec(conn,
            "INSERT INTO notify_attempt (notify_id, attempt_no, at_ms, delivered, http_status, error) \
             VALUES (?1, (SELECT COUNT(*) + 1 FROM notify_attempt WHERE notify_id = ?1), ?2, ?3, ?4, ?5)",
            params![notify_id, attempt.at_ms, attempt.delivered, attempt.http_status, attempt.error],
        )?;
    }
    Ok(Keep::Commit(()))
}

/// Puts a notification back in the queue for an immediate new round (same notify_id).
/// `app_id` restricts it to one app's notifications. False when no such notification exists.
pub fn resend(
    conn: &Connection,
    notify_id: &str,
    app_id: Option<&str>,
    now_ms: i64,
) -> Result<Keep<bool>, StoreError> {
    let changed = exec(conn,
        "UPDATE notify_outbox SET status = 'PENDING', attempts = 0, next_attempt_at_ms = ?2, delivered_at_ms = NULL \
         WHERE notify_id = ?1 AND (?3 IS NULL OR app_id = ?3)",
        params![notify_id, now_ms, app_id],
    )?;
    Ok(Keep::Commit(changed == 1))
}

/// Lists notifications, newest first, with their attempt history.
pub fn list(conn: &Connection, filter: &NotifyFilter) -> Result<Vec<NotifyRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT notify_id, app_id, operation_id, event, notify_url, status, attempts, next_attempt_at_ms, \
                last_error, created_at_ms, delivered_at_ms \
         FROM notify_outbox WHERE (?1 IS NULL OR app_id = ?1) AND (?2 IS NULL OR status = ?2) \
         ORDER BY created_at_ms DESC, notify_id DESC LIMIT ?3",
    )?;
    let mut records = stmt
        .query_map(params![filter.app_id, filter.status, filter.limit.max(1)], |row| {
            Ok(NotifyRecord {
                notify_id: row.get(0)?,
                app_id: row.get(1)?,
                operation_id: row.get(2)?,
                event: row.get(3)?,
                notify_url: row.get(4)?,
                status: row.get(5)?,
                attempts: row.get(6)?,
                next_attempt_at_ms: row.get(7)?,
                last_error: row.get(8)?,
                created_at_ms: row.get(9)?,
                delivered_at_ms: row.get(10)?,
                history: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut history = conn.prepare(
        "SELECT at_ms, delivered, http_status, error FROM notify_attempt WHERE notify_id = ?1 ORDER BY attempt_no",
    )?;
    for record in &mut records {
        record.history = history
            .query_map([&record.notify_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(records)
}

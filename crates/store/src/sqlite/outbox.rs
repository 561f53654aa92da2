//! The notify outbox in SQL: claiming due rows under a lease, recording attempts, listing. What
//! an attempt or a resend does to a row is the ledger's decision (`hongbao_ledger::notify`).

use super::apply::guard_refused;
use super::commands::{exec, first, load_view};
use crate::notify::{NotifyFilter, NotifyRecord, PendingNotify};
use crate::rows::{
    attempt_record, attempts_select, due_round_robin, outbox_row, outbox_select, OutboxRow,
};
use crate::{Keep, StoreError};
use hongbao_ledger::notify::{decide_attempt, decide_resend, ClaimShare, OutboxChange};
use hongbao_ledger::{NotifyAttempt, NotifyStatus};
use rusqlite::{params, Connection};

fn outbox_by_id(conn: &Connection, notify_id: &str) -> Result<Option<OutboxRow>, StoreError> {
    first(conn, concat!(outbox_select!(), " WHERE notify_id = ?1"), [notify_id], |row| {
        outbox_row(row)
    })
}

/// Writes a decided change, guarded by the state it was decided on.
fn change_outbox(
    conn: &Connection,
    notify_id: &str,
    change: &OutboxChange,
) -> Result<(), StoreError> {
    let changed = exec(
        conn,
        "UPDATE notify_outbox SET status = ?2, attempts = ?3, next_attempt_at_ms = ?4, \
         last_error = COALESCE(?5, last_error), delivered_at_ms = ?6 \
         WHERE notify_id = ?1 AND status = ?7 AND attempts = ?8",
        params![
            notify_id,
            change.after.status.as_str(),
            change.after.attempts,
            change.next_attempt_at_ms,
            change.last_error,
            change.delivered_at_ms,
            change.before.status.as_str(),
            change.before.attempts
        ],
    )?;
    if changed != 1 {
        return Err(guard_refused(format!("notification {notify_id} is not {:?}", change.before)));
    }
    Ok(())
}

/// Claims due notifications, shared among apps (`ClaimShare`): their next attempt moves
/// `lease_ms` ahead, so a delivery that never records its outcome (a crash) is retried when the
/// lease runs out.
pub fn claim_due(
    conn: &Connection,
    now_ms: i64,
    lease_ms: i64,
    share: &ClaimShare,
) -> Result<Keep<Vec<PendingNotify>>, StoreError> {
    let mut statement = conn.prepare_cached(due_round_robin!("?1", "?2", "?3"))?;
    let mut rows = statement.query(params![now_ms, share.per_app_max, share.candidates_max()])?;
    let mut candidates: Vec<(String, String)> = Vec::new();
    while let Some(row) = rows.next()? {
        candidates.push((row.get(0)?, row.get(1)?));
    }
    drop(rows);
    let picked = share.pick(candidates.iter().map(|(_, app_id)| app_id.as_str()));
    let mut claimed = Vec::with_capacity(picked.len());
    for index in picked {
        let Some((notify_id, _)) = candidates.get(index) else { continue };
        let Some(row) = outbox_by_id(conn, notify_id)? else { continue };
        exec(
            conn,
            "UPDATE notify_outbox SET next_attempt_at_ms = ?2 WHERE notify_id = ?1",
            params![row.notify_id, now_ms + lease_ms],
        )?;
        let view = load_view(conn, &row.operation_id)?;
        claimed.push(row.into_pending(view));
    }
    Ok(Keep::Commit(claimed))
}

/// Records one attempt as the ledger decides it; a late result for a row no longer PENDING
/// (delivered meanwhile) changes nothing.
pub fn record_attempt(
    conn: &Connection,
    notify_id: &str,
    attempt: &NotifyAttempt,
) -> Result<Keep<()>, StoreError> {
    let Some(row) = outbox_by_id(conn, notify_id)? else { return Ok(Keep::Rollback(())) };
    let Some(change) = decide_attempt(row.state(), attempt) else {
        return Ok(Keep::Rollback(()));
    };
    change_outbox(conn, notify_id, &change)?;
    exec(
        conn,
        "INSERT INTO notify_attempt \
         (notify_id, attempt_no, at_ms, delivered, http_status, error, answer, latency_ms) \
         VALUES (?1, (SELECT COUNT(*) + 1 FROM notify_attempt WHERE notify_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            notify_id,
            attempt.at_ms,
            attempt.delivered,
            attempt.http_status,
            attempt.error,
            attempt.answer,
            attempt.latency_ms
        ],
    )?;
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
    let Some(row) = outbox_by_id(conn, notify_id)? else { return Ok(Keep::Rollback(false)) };
    let Some(change) = decide_resend(row.state(), &row.app_id, app_id, now_ms) else {
        return Ok(Keep::Rollback(false));
    };
    change_outbox(conn, notify_id, &change)?;
    Ok(Keep::Commit(true))
}

/// Lists notifications, newest first, with their attempt history.
pub fn list(conn: &Connection, filter: &NotifyFilter) -> Result<Vec<NotifyRecord>, StoreError> {
    let mut statement = conn.prepare(concat!(
        outbox_select!(),
        " WHERE (?1 IS NULL OR app_id = ?1) AND (?2 IS NULL OR status = ?2) \
         ORDER BY created_at_ms DESC, notify_id DESC LIMIT ?3"
    ))?;
    let status = filter.status.map(NotifyStatus::as_str);
    let mut rows = statement.query(params![filter.app_id, status, filter.limit.max(1)])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(outbox_row(row)?);
    }
    drop(rows);
    let mut history =
        conn.prepare(concat!(attempts_select!(), " WHERE notify_id = ?1 ORDER BY attempt_no"))?;
    let mut records = Vec::with_capacity(found.len());
    for row in found {
        let mut attempts = Vec::new();
        let mut rows = history.query([&row.notify_id])?;
        while let Some(attempt) = rows.next()? {
            attempts.push(attempt_record(attempt)?);
        }
        records.push(row.into_record(attempts));
    }
    Ok(records)
}

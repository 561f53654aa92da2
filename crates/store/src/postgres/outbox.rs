//! The notify outbox in PostgreSQL: claiming due rows under a lease, recording attempts,
//! listing. Many processes claim at once: `FOR UPDATE SKIP LOCKED` hands each due row to one
//! claimer, and the lease (the row's next attempt moved ahead) keeps it theirs after COMMIT.

use super::commands::{corrupt, execute, load_view, query_all};
use super::Failure;
use crate::notify::{NotifyAttempt, NotifyFilter, NotifyRecord, PendingNotify};
use crate::sqlite::Keep;
use deadpool_postgres::Transaction;
use hongbao_ledger::{NotifyEvent, NotifyTarget};

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// Claims up to `limit` due notifications: their next attempt moves `lease_ms` ahead, so a
/// delivery that never records its outcome (a crash) is retried when the lease runs out.
pub(crate) async fn claim_due(
    tx: &Transaction<'_>,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Keep<Vec<PendingNotify>>, Failure> {
    // Rows another process is claiming right now are skipped, not waited for; once it commits,
    // their next attempt lies in the future and the re-checked WHERE leaves them out.
    let rows = query_all(
        tx,
        "SELECT notify_id, app_id, operation_id, event, notify_url, charset, sign_type, \
                created_at_ms, attempts \
         FROM notify_outbox WHERE status = 'PENDING' AND next_attempt_at_ms <= $1 \
         ORDER BY next_attempt_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
        &[&now_ms, &i64::from(limit)],
    )
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let notify_id: String = row.try_get(0)?;
        execute(
            tx,
            "UPDATE notify_outbox SET next_attempt_at_ms = $2 WHERE notify_id = $1",
            &[&notify_id, &(now_ms + lease_ms)],
        )
        .await?;
        let event: String = row.try_get(3)?;
        let event = NotifyEvent::parse(&event).ok_or_else(|| corrupt("notify event"))?;
        let operation_id: String = row.try_get(2)?;
        claimed.push(PendingNotify {
            notify_id,
            app_id: row.try_get(1)?,
            event,
            target: NotifyTarget {
                url: row.try_get(4)?,
                charset: row.try_get(5)?,
                sign_type: row.try_get(6)?,
            },
            created_at_ms: row.try_get(7)?,
            attempts: count(row.try_get(8)?),
            view: load_view(tx, &operation_id).await?,
        });
    }
    Ok(Keep::Commit(claimed))
}

/// Records one attempt; ignored when the row is no longer PENDING (delivered meanwhile).
pub(crate) async fn record_attempt(
    tx: &Transaction<'_>,
    notify_id: String,
    attempt: NotifyAttempt,
) -> Result<Keep<()>, Failure> {
    let status = match (attempt.delivered, attempt.next_attempt_at_ms) {
        (true, _) => "DELIVERED",
        (false, Some(_)) => "PENDING",
        (false, None) => "FAILED",
    };
    // The UPDATE locks the row: a second process recording an attempt for the same
    // notification waits, then sees this one's committed attempt when it numbers its own.
    let changed = execute(
        tx,
        "UPDATE notify_outbox SET attempts = attempts + 1, status = $2, next_attempt_at_ms = $3, \
         last_error = COALESCE($4, last_error), delivered_at_ms = $5 \
         WHERE notify_id = $1 AND status = 'PENDING'",
        &[
            &notify_id,
            &status,
            &attempt.next_attempt_at_ms,
            &attempt.error,
            &attempt.delivered.then_some(attempt.at_ms),
        ],
    )
    .await?;
    if changed == 1 {
        let http_status = attempt.http_status.map(i32::from);
        execute(
            tx,
            "INSERT INTO notify_attempt (notify_id, attempt_no, at_ms, delivered, http_status, error) \
             VALUES ($1, (SELECT COUNT(*) + 1 FROM notify_attempt WHERE notify_id = $1), \
                     $2, $3, $4, $5)",
            &[&notify_id, &attempt.at_ms, &attempt.delivered, &http_status, &attempt.error],
        )
        .await?;
    }
    Ok(Keep::Commit(()))
}

/// Puts a notification back in the queue for an immediate new round (same notify_id).
/// `app_id` restricts it to one app's notifications. False when no such notification exists.
pub(crate) async fn resend(
    tx: &Transaction<'_>,
    notify_id: String,
    app_id: Option<String>,
    now_ms: i64,
) -> Result<Keep<bool>, Failure> {
    let changed = execute(
        tx,
        "UPDATE notify_outbox SET status = 'PENDING', attempts = 0, next_attempt_at_ms = $2, \
         delivered_at_ms = NULL \
         WHERE notify_id = $1 AND ($3::TEXT IS NULL OR app_id = $3)",
        &[&notify_id, &now_ms, &app_id],
    )
    .await?;
    Ok(Keep::Commit(changed == 1))
}

/// Lists notifications, newest first, with their attempt history.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    filter: NotifyFilter,
) -> Result<Vec<NotifyRecord>, Failure> {
    let rows = query_all(
        tx,
        "SELECT notify_id, app_id, operation_id, event, notify_url, status, attempts, \
                next_attempt_at_ms, last_error, created_at_ms, delivered_at_ms \
         FROM notify_outbox \
         WHERE ($1::TEXT IS NULL OR app_id = $1) AND ($2::TEXT IS NULL OR status = $2) \
         ORDER BY created_at_ms DESC, notify_id DESC LIMIT $3",
        &[&filter.app_id, &filter.status, &i64::from(filter.limit.max(1))],
    )
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(NotifyRecord {
            notify_id: row.try_get(0)?,
            app_id: row.try_get(1)?,
            operation_id: row.try_get(2)?,
            event: row.try_get(3)?,
            notify_url: row.try_get(4)?,
            status: row.try_get(5)?,
            attempts: count(row.try_get(6)?),
            next_attempt_at_ms: row.try_get(7)?,
            last_error: row.try_get(8)?,
            created_at_ms: row.try_get(9)?,
            delivered_at_ms: row.try_get(10)?,
            history: Vec::new(),
        });
    }
    for record in &mut records {
        let rows = query_all(
            tx,
            "SELECT at_ms, delivered, http_status, error FROM notify_attempt \
             WHERE notify_id = $1 ORDER BY attempt_no",
            &[&record.notify_id],
        )
        .await?;
        for row in rows {
            let http_status: Option<i32> = row.try_get(2)?;
            record.history.push((
                row.try_get(0)?,
                row.try_get(1)?,
                http_status.and_then(|status| u16::try_from(status).ok()),
                row.try_get(3)?,
            ));
        }
    }
    Ok(records)
}

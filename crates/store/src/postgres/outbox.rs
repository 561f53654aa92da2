//! The notify outbox in PostgreSQL: claiming due rows under a lease, recording attempts,
//! listing. Many processes claim at once: `FOR UPDATE SKIP LOCKED` hands each due row to one
//! claimer, and the lease (the row's next attempt moved ahead) keeps it theirs after COMMIT.
//! What an attempt or a resend does to a row is the ledger's decision (`hongbao_ledger::notify`).

use super::apply::guard_refused;
use super::commands::{decoded, execute, load_view, query_all, query_opt};
use super::Failure;
use crate::notify::{NotifyFilter, NotifyRecord, PendingNotify};
use crate::rows::{
    attempt_record, attempts_select, due_round_robin, outbox_row, outbox_select, OutboxRow,
};
use crate::Keep;
use deadpool_postgres::Transaction;
use hongbao_ledger::notify::{decide_attempt, decide_resend, ClaimShare, OutboxChange};
use hongbao_ledger::{NotifyAttempt, NotifyStatus};

/// The row, locked until COMMIT (a second process recording for it waits, then decides on
/// this one's result).
async fn lock_outbox(tx: &Transaction<'_>, notify_id: &str) -> Result<Option<OutboxRow>, Failure> {
    let sql = concat!(outbox_select!(), " WHERE notify_id = $1 FOR NO KEY UPDATE");
    match query_opt(tx, sql, &[&notify_id]).await? {
        Some(row) => Ok(Some(decoded(outbox_row(&row))?)),
        None => Ok(None),
    }
}

/// Writes a decided change, guarded by the state it was decided on.
async fn change_outbox(
    tx: &Transaction<'_>,
    notify_id: &str,
    change: &OutboxChange,
) -> Result<(), Failure> {
    let attempts_after = i32::try_from(change.after.attempts).unwrap_or(i32::MAX);
    let attempts_before = i32::try_from(change.before.attempts).unwrap_or(i32::MAX);
    let changed = execute(
        tx,
        "UPDATE notify_outbox SET status = $2, attempts = $3, next_attempt_at_ms = $4, \
         last_error = COALESCE($5, last_error), delivered_at_ms = $6 \
         WHERE notify_id = $1 AND status = $7 AND attempts = $8",
        &[
            &notify_id,
            &change.after.status.as_str(),
            &attempts_after,
            &change.next_attempt_at_ms,
            &change.last_error,
            &change.delivered_at_ms,
            &change.before.status.as_str(),
            &attempts_before,
        ],
    )
    .await?;
    if changed != 1 {
        return Err(guard_refused(format!("notification {notify_id} is not {:?}", change.before)));
    }
    Ok(())
}

/// Claims due notifications, shared among apps (`ClaimShare`): their next attempt moves
/// `lease_ms` ahead, so a delivery that never records its outcome (a crash) is retried when the
/// lease runs out.
pub(crate) async fn claim_due(
    tx: &Transaction<'_>,
    now_ms: i64,
    lease_ms: i64,
    share: ClaimShare,
) -> Result<Keep<Vec<PendingNotify>>, Failure> {
    let offered = query_all(
        tx,
        due_round_robin!("$1", "$2", "$3"),
        &[&now_ms, &i64::from(share.per_app_max), &i64::from(share.candidates_max())],
    )
    .await?;
    let candidates: Vec<(String, String)> =
        offered.iter().map(|row| (row.get(0), row.get(1))).collect();
    let picked: Vec<String> = share
        .pick(candidates.iter().map(|(_, app_id)| app_id.as_str()))
        .into_iter()
        .filter_map(|index| candidates.get(index).map(|(notify_id, _)| notify_id.clone()))
        .collect();
    // A window function cannot lock, so the picked rows are locked here. Rows another process
    // is claiming right now are skipped, not waited for; once it commits, their next attempt
    // lies in the future and the re-checked WHERE leaves them out.
    let rows = query_all(
        tx,
        concat!(
            outbox_select!(),
            " WHERE notify_id = ANY($1) AND status = 'PENDING' AND next_attempt_at_ms <= $2 \
             FOR UPDATE SKIP LOCKED"
        ),
        &[&picked, &now_ms],
    )
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let row = decoded(outbox_row(&row))?;
        execute(
            tx,
            "UPDATE notify_outbox SET next_attempt_at_ms = $2 WHERE notify_id = $1",
            &[&row.notify_id, &(now_ms + lease_ms)],
        )
        .await?;
        let view = load_view(tx, &row.operation_id).await?;
        claimed.push(row.into_pending(view));
    }
    Ok(Keep::Commit(claimed))
}

/// Records one attempt as the ledger decides it; a late result for a row no longer PENDING
/// (delivered meanwhile) changes nothing.
pub(crate) async fn record_attempt(
    tx: &Transaction<'_>,
    notify_id: String,
    attempt: NotifyAttempt,
) -> Result<Keep<()>, Failure> {
    let Some(row) = lock_outbox(tx, &notify_id).await? else { return Ok(Keep::Rollback(())) };
    let Some(change) = decide_attempt(row.state(), &attempt) else {
        return Ok(Keep::Rollback(()));
    };
    change_outbox(tx, &notify_id, &change).await?;
    let http_status = attempt.http_status.map(i32::from);
    execute(
        tx,
        "INSERT INTO notify_attempt \
         (notify_id, attempt_no, at_ms, delivered, http_status, error, answer, latency_ms) \
         VALUES ($1, (SELECT COUNT(*) + 1 FROM notify_attempt WHERE notify_id = $1), \
                 $2, $3, $4, $5, $6, $7)",
        &[
            &notify_id,
            &attempt.at_ms,
            &attempt.delivered,
            &http_status,
            &attempt.error,
            &attempt.answer,
            &attempt.latency_ms,
        ],
    )
    .await?;
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
    let Some(row) = lock_outbox(tx, &notify_id).await? else { return Ok(Keep::Rollback(false)) };
    let Some(change) = decide_resend(row.state(), &row.app_id, app_id.as_deref(), now_ms) else {
        return Ok(Keep::Rollback(false));
    };
    change_outbox(tx, &notify_id, &change).await?;
    Ok(Keep::Commit(true))
}

/// Lists notifications, newest first, with their attempt history.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    filter: NotifyFilter,
) -> Result<Vec<NotifyRecord>, Failure> {
    let status = filter.status.map(NotifyStatus::as_str);
    let rows = query_all(
        tx,
        concat!(
            outbox_select!(),
            " WHERE ($1::TEXT IS NULL OR app_id = $1) AND ($2::TEXT IS NULL OR status = $2) \
             ORDER BY created_at_ms DESC, notify_id DESC LIMIT $3"
        ),
        &[&filter.app_id, &status, &i64::from(filter.limit.max(1))],
    )
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let row = decoded(outbox_row(&row))?;
        let attempts = query_all(
            tx,
            concat!(attempts_select!(), " WHERE notify_id = $1 ORDER BY attempt_no"),
            &[&row.notify_id],
        )
        .await?;
        let history = attempts
            .iter()
            .map(|attempt| decoded(attempt_record(attempt)))
            .collect::<Result<Vec<_>, _>>()?;
        records.push(row.into_record(history));
    }
    Ok(records)
}

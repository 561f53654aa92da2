//! The SQL behind `Store::ping` and `Store::gauges` on PostgreSQL; each statement is bound by an
//! index (the outbox's `(status, next_attempt_at_ms)`, the partial deadline indexes).

use super::Failure;
use crate::ops::StoreGauges;
use deadpool_postgres::Transaction;

pub(crate) async fn gauges(tx: &Transaction<'_>) -> Result<StoreGauges, Failure> {
    let outbox = tx
        .query_one(
            "SELECT COUNT(*), MIN(created_at_ms) FROM notify_outbox WHERE status = 'PENDING'",
            &[],
        )
        .await?;
    let deadlines = tx
        .query_one(
            "SELECT (SELECT MIN(pay_deadline_ms) FROM fund_order WHERE status = 'WAIT_PAY'), \
             (SELECT MIN(expire_at_ms) FROM fund_order \
              WHERE status = 'FUNDED' AND expired_at_ms IS NULL AND kind = 'PACKET')",
            &[],
        )
        .await?;
    let pending: i64 = outbox.try_get(0)?;
    let pay: Option<i64> = deadlines.try_get(0)?;
    let expiry: Option<i64> = deadlines.try_get(1)?;
    Ok(StoreGauges {
        notify_pending: u64::try_from(pending).unwrap_or(0),
        notify_oldest_pending_ms: outbox.try_get(1)?,
        deadline_earliest_ms: [pay, expiry].into_iter().flatten().min(),
    })
}

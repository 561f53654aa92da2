//! The SQL behind `Store::ping` and `Store::gauges` on SQLite; each statement is bound by an
//! index (the outbox's `(status, next_attempt_at_ms)`, the partial deadline indexes).

use crate::ops::StoreGauges;
use crate::StoreError;
use rusqlite::Connection;

/// A trivial read that still touches the schema: the stored version.
pub fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("SELECT MAX(version) FROM schema_version")?
        .query_row([], |row| row.get::<_, Option<i64>>(0))?;
    Ok(())
}

pub fn gauges(conn: &Connection) -> Result<StoreGauges, StoreError> {
    let (pending, oldest) = conn
        .prepare_cached(
            "SELECT COUNT(*), MIN(created_at_ms) FROM notify_outbox WHERE status = 'PENDING'",
        )?
        .query_row([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<i64>>(1)?)))?;
    let pay: Option<i64> = conn
        .prepare_cached("SELECT MIN(pay_deadline_ms) FROM fund_order WHERE status = 'WAIT_PAY'")?
        .query_row([], |row| row.get(0))?;
    let expiry: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(expire_at_ms) FROM fund_order \
             WHERE status = 'FUNDED' AND expired_at_ms IS NULL AND kind = 'PACKET'",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(StoreGauges {
        notify_pending: u64::try_from(pending).unwrap_or(0),
        notify_oldest_pending_ms: oldest,
        deadline_earliest_ms: [pay, expiry].into_iter().flatten().min(),
    })
}

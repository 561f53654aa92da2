//! The commands on SQLite, each inside the writer's per-command savepoint: load the facts, ask
//! the ledger, apply its plan (`apply`). Refused and replayed commands return `Keep::Rollback`,
//! so they leave no trace (not even a used sequence number).
//!
//! One writer thread runs every command, so the facts cannot change between loading them and
//! applying the plan; the guards in `apply` still check that they did not.

use super::apply::apply;
use crate::rows::{order_record, order_select, view_select};
use crate::{ids, Keep, StoreError};
use hongbao_ledger::invariants::PacketSnapshot;
use hongbao_ledger::{
    decide_disburse, decide_fund, decide_query, decide_refund, decide_user, Account, Decision,
    DisburseCommand, DisburseFacts, FundCommand, FundFacts, LedgerSnapshot, NewIds, OperationKind,
    OperationQuery, OperationRecord, OperationRef, OperationView, OrderRecord, OrderRef, Outcome,
    PayeeRef, RefundCommand, RefundFacts, Rejection, SandboxUser, UserFacts, UserRecord,
};
use hongbao_money::Fen;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// `Connection::execute` through the connection's prepared-statement cache: the writer runs the
/// same few statements thousands of times, and parsing SQL each time was its largest cost.
pub(crate) fn exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `Connection::query_row` through the prepared-statement cache.
pub(crate) fn row<T, P: rusqlite::Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: F,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// The first row of `sql` decoded by `decode`, if there is one.
pub(crate) fn first<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    decode: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    match rows.next()? {
        Some(found) => Ok(Some(decode(found)?)),
        None => Ok(None),
    }
}

pub(crate) fn next_sequence(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    Ok(row(conn,
        "UPDATE id_sequence SET next_value = next_value + 1 WHERE name = ?1 RETURNING next_value - 1",
        [name],
        |row| row.get(0),
    )?)
}

/// A fresh operation id for `app_id`.
pub(crate) fn new_operation_id(
    conn: &Connection,
    app_id: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let route = ids::route_digits(app_id);
    Ok(ids::operation_id(now_ms, route, next_sequence(conn, "operation_id")?))
}

/// Fresh ids of a fund.trans document (32-digit, `ids::trans_order_id` / `trans_fund_id`).
pub(crate) fn new_trans_ids(
    conn: &Connection,
    app_id: &str,
    document: ids::TransDocument,
    now_ms: i64,
) -> Result<NewIds, StoreError> {
    let route = ids::route_digits(app_id);
    let order = next_sequence(conn, "auth_no")?;
    let fund = next_sequence(conn, "operation_id")?;
    Ok(NewIds {
        auth_no: ids::trans_order_id(now_ms, document, route, order),
        operation_id: ids::trans_fund_id(now_ms, document, route, fund),
    })
}

fn new_ids(conn: &Connection, app_id: &str, now_ms: i64) -> Result<NewIds, StoreError> {
    let route = ids::route_digits(app_id);
    let auth_no = ids::auth_no(now_ms, route, next_sequence(conn, "auth_no")?);
    Ok(NewIds { auth_no, operation_id: new_operation_id(conn, app_id, now_ms)? })
}

const ORDER_BY_AUTH_NO: &str = concat!(order_select!(sqlite), " WHERE o.auth_no = ?1");
const ORDER_BY_OUT_ORDER_NO: &str =
    concat!(order_select!(sqlite), " WHERE o.app_id = ?1 AND o.out_order_no = ?2");

pub(crate) fn order_by_auth_no(
    conn: &Connection,
    auth_no: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    first(conn, ORDER_BY_AUTH_NO, [auth_no], |row| order_record(row))
}

pub(crate) fn order_by_out_order_no(
    conn: &Connection,
    app_id: &str,
    out_order_no: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    first(conn, ORDER_BY_OUT_ORDER_NO, [app_id, out_order_no], |row| order_record(row))
}

/// The order an `OrderRef` names: Alipay's id anywhere, the merchant's within `app_id`.
fn order_by_ref(
    conn: &Connection,
    app_id: &str,
    order: &OrderRef,
) -> Result<Option<OrderRecord>, StoreError> {
    match order {
        OrderRef::AuthNo(auth_no) => order_by_auth_no(conn, auth_no),
        OrderRef::OutOrderNo(out_order_no) => order_by_out_order_no(conn, app_id, out_order_no),
    }
}

pub(crate) fn user_by(
    conn: &Connection,
    column_sql: &str,
    value: &str,
) -> Result<Option<UserRecord>, StoreError> {
    first(conn, column_sql, [value], |row| {
        Ok(UserRecord { user_id: row.get(0)?, logon_id: row.get(1)?, real_name: row.get(2)? })
    })
}

pub(crate) const USER_BY_ID: &str =
    "SELECT user_id, logon_id, real_name FROM sandbox_user WHERE user_id = ?1";
pub(crate) const USER_BY_LOGON_ID: &str =
    "SELECT user_id, logon_id, real_name FROM sandbox_user WHERE logon_id = ?1";

/// The balance of `account`, `None` when it has no row.
pub(crate) fn balance(conn: &Connection, account: &Account) -> Result<Option<Fen>, StoreError> {
    Ok(row(conn, "SELECT balance_fen FROM account WHERE account_id = ?1", [account.id()], |row| {
        row.get::<_, i64>(0)
    })
    .optional()?
    .map(Fen::from_fen))
}

/// The operation of `auth_no` with this `out_request_no`.
pub(crate) fn operation_by_request(
    conn: &Connection,
    auth_no: &str,
    out_request_no: &str,
) -> Result<Option<OperationRecord>, StoreError> {
    first(
        conn,
        "SELECT operation_id, kind, fingerprint FROM fund_operation \
         WHERE auth_no = ?1 AND out_request_no = ?2",
        [auth_no, out_request_no],
        |row| {
            let kind: String = row.get(1)?;
            Ok(OperationRecord {
                operation_id: row.get(0)?,
                kind: OperationKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("operation kind {kind:?}")))?,
                fingerprint: row.get(2)?,
            })
        },
    )
}

/// What the writer answers for a decision: the stored view for a replay or an applied plan.
pub(crate) fn finish(conn: &Connection, decision: Decision) -> Result<Keep<Outcome>, StoreError> {
    match decision {
        Decision::Replay { operation_id } => {
            Ok(Keep::Rollback(Outcome::Replayed(load_view(conn, &operation_id)?)))
        }
        Decision::Reject(rejection) => Ok(Keep::Rollback(Outcome::Rejected(rejection))),
        Decision::Apply(plan) => {
            apply(conn, &plan)?;
            let Some(operation_id) = &plan.answer else {
                return Err(StoreError::bug("a command's plan names no operation to answer with"));
            };
            Ok(Keep::Commit(Outcome::Applied(load_view(conn, operation_id)?)))
        }
    }
}

pub fn fund(conn: &Connection, cmd: &FundCommand) -> Result<Keep<Outcome>, StoreError> {
    let payer_balance = match &cmd.payer_user_id {
        Some(payer) => balance(conn, &Account::User(payer.clone()))?,
        None => None,
    };
    let facts = FundFacts {
        existing: order_by_out_order_no(conn, &cmd.app_id, &cmd.out_order_no)?,
        payer_balance,
        ids: new_ids(conn, &cmd.app_id, cmd.now_ms)?,
    };
    finish(conn, decide_fund(cmd, &facts)?)
}

pub fn disburse(conn: &Connection, cmd: &DisburseCommand) -> Result<Keep<Outcome>, StoreError> {
    let (by_user_id, by_logon_id) = match &cmd.payee {
        PayeeRef::UserId(user_id) => (Some(user_id), None),
        PayeeRef::LogonId(logon_id) => (None, Some(logon_id)),
        PayeeRef::Both { user_id, logon_id } => (Some(user_id), Some(logon_id)),
    };
    let facts = DisburseFacts {
        packet: order_by_ref(conn, &cmd.app_id, &cmd.packet)?,
        payee_by_user_id: match by_user_id {
            Some(user_id) => user_by(conn, USER_BY_ID, user_id)?,
            None => None,
        },
        payee_by_logon_id: match by_logon_id {
            Some(logon_id) => user_by(conn, USER_BY_LOGON_ID, logon_id)?,
            None => None,
        },
        existing: order_by_out_order_no(conn, &cmd.app_id, &cmd.out_order_no)?,
        ids: new_ids(conn, &cmd.app_id, cmd.now_ms)?,
    };
    finish(conn, decide_disburse(cmd, &facts)?)
}

pub fn refund(conn: &Connection, cmd: &RefundCommand) -> Result<Keep<Outcome>, StoreError> {
    let facts = RefundFacts {
        packet: order_by_auth_no(conn, &cmd.auth_no)?,
        existing: operation_by_request(conn, &cmd.auth_no, &cmd.out_request_no)?,
        operation_id: new_operation_id(conn, &cmd.app_id, cmd.now_ms)?,
    };
    finish(conn, decide_refund(cmd, &facts)?)
}

pub fn query(
    conn: &Connection,
    query: &OperationQuery,
) -> Result<Result<OperationView, Rejection>, StoreError> {
    let order = order_by_ref(conn, &query.app_id, &query.order)?;
    let operation_id: Option<String> = match &order {
        None => None,
        Some(order) => match &query.operation {
            OperationRef::OperationId(operation_id) => row(
                conn,
                "SELECT operation_id FROM fund_operation WHERE operation_id = ?1 AND auth_no = ?2",
                params![operation_id, order.auth_no],
                |row| row.get(0),
            )
            .optional()?,
            OperationRef::OutRequestNo(out_request_no) => row(
                conn,
                "SELECT operation_id FROM fund_operation WHERE auth_no = ?1 AND out_request_no = ?2",
                params![order.auth_no, out_request_no],
                |row| row.get(0),
            )
            .optional()?,
        },
    };
    match decide_query(query, order.as_ref(), operation_id.as_deref()) {
        Ok(operation_id) => Ok(Ok(load_view(conn, &operation_id)?)),
        Err(rejection) => Ok(Err(rejection)),
    }
}

const LOAD_VIEW: &str = concat!(view_select!(), " WHERE op.operation_id = ?1");

pub(crate) fn load_view(
    conn: &Connection,
    operation_id: &str,
) -> Result<OperationView, StoreError> {
    first(conn, LOAD_VIEW, [operation_id], |row| crate::rows::operation_view(row))?
        .ok_or_else(|| StoreError::bug(format!("operation {operation_id} is not stored")))
}

pub fn ensure_user(
    conn: &Connection,
    user: &SandboxUser,
    now_ms: i64,
) -> Result<Keep<bool>, StoreError> {
    let facts = UserFacts {
        exists: user_by(conn, USER_BY_ID, &user.user_id)?.is_some(),
        issuance_balance: balance(conn, &Account::Issuance)?.unwrap_or(Fen::ZERO),
    };
    match decide_user(user, &facts, now_ms)? {
        None => Ok(Keep::Rollback(false)),
        Some(plan) => {
            apply(conn, &plan)?;
            Ok(Keep::Commit(true))
        }
    }
}

pub fn user_balance(conn: &Connection, user_id: &str) -> Result<Option<Fen>, StoreError> {
    balance(conn, &Account::User(user_id.to_owned()))
}

/// The whole ledger; consistent when run in one read transaction (`in_read_transaction`).
pub fn snapshot(conn: &Connection) -> Result<LedgerSnapshot, StoreError> {
    let mut snapshot = LedgerSnapshot::default();
    let mut stmt = conn.prepare("SELECT account_id, balance_fen FROM account")?;
    let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
    for row in rows {
        let (id, balance) = row?;
        let account =
            Account::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("account id {id:?}")))?;
        snapshot.balances.push((account, Fen::from_fen(balance)));
    }
    let mut stmt =
        conn.prepare("SELECT entry_id, account_id, amount_fen FROM posting ORDER BY entry_id")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
    })?;
    let mut postings = Vec::new();
    for row in rows {
        postings.push(row?);
    }
    snapshot.entries = crate::rows::entries_from_postings(postings)?;
    let mut stmt = conn.prepare(crate::rows::PACKET_SNAPSHOTS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let order = order_record(row)?;
        snapshot.packets.push(PacketSnapshot { auth_no: order.auth_no, packet: order.packet });
    }
    let mut stmt = conn.prepare(crate::rows::OPERATION_SNAPSHOTS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        snapshot.operations.push(crate::rows::operation_snapshot(row)?);
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite would run for `sql`, one detail line per step.
    fn plan(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let rows = statement.query_map(params, |row| row.get::<_, String>(3)).expect("plan");
        rows.collect::<Result<_, _>>().expect("plan rows")
    }

    /// PostgreSQL's operation.query decodes the view after `ORDER_COLUMNS` columns of the
    /// order: both forms of `order_select!` must select exactly that many.
    #[test]
    fn order_select_selects_order_columns() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        crate::sqlite::schema::migrate(&mut conn).expect("schema");
        for sql in [order_select!(), order_select!(sqlite)] {
            let statement = conn.prepare(sql).expect("order select");
            assert_eq!(statement.column_count(), crate::rows::ORDER_COLUMNS, "{sql}");
        }
    }

    /// Every `operation.query` and every write looks an order up: its plan must be index
    /// searches only, with no temporary B-tree built to sort the order's operations (which
    /// `ORDER BY … LIMIT 1` made SQLite build for every lookup).
    #[test]
    fn an_order_lookup_searches_indexes_and_sorts_nothing() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        crate::sqlite::schema::migrate(&mut conn).expect("schema");
        for (sql, steps) in [
            (ORDER_BY_AUTH_NO, plan(&conn, ORDER_BY_AUTH_NO, ["A1"])),
            (ORDER_BY_OUT_ORDER_NO, plan(&conn, ORDER_BY_OUT_ORDER_NO, ["app", "out"])),
        ] {
            assert!(
                steps.iter().any(|step| step.starts_with("SEARCH o USING")),
                "{sql}: {steps:?}"
            );
            assert!(steps.iter().any(|step| step.contains("SEARCH f USING")), "{sql}: {steps:?}");
            let sorting: Vec<&String> = steps
                .iter()
                .filter(|step| step.contains("TEMP B-TREE") || step.as_str() == "SCAN f")
                .collect();
            assert!(sorting.is_empty(), "{sql} sorts or scans: {steps:?}");
        }
    }

    /// The lookup's first operation is the earliest FUND or DISBURSE of the order, as the
    /// dialect-neutral `ORDER BY created_at_ms LIMIT 1` finds it, and none for an order without.
    #[test]
    fn an_order_lookup_names_its_earliest_funding_operation() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        crate::sqlite::schema::migrate(&mut conn).expect("schema");
        conn.execute_batch(
            "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, order_title, amount_fen, \
               status, fingerprint, created_at_ms, product) \
             VALUES ('A1', 'app', 'out1', 'PACKET', 't', 100, 'FUNDED', 'f', 1, 'COUPON'), \
                    ('A2', 'app', 'out2', 'PACKET', 't', 100, 'WAIT_PAY', 'f', 1, 'COUPON'); \
             INSERT INTO fund_operation (operation_id, auth_no, out_request_no, kind, status, \
               amount_fen, remark, fingerprint, created_at_ms) \
             VALUES ('op-refund', 'A1', 'r0', 'REFUND', 'SUCCESS', 1, '', 'f', 1), \
                    ('op-late', 'A1', 'r2', 'FUND', 'SUCCESS', 100, '', 'f', 30), \
                    ('op-first', 'A1', 'r1', 'FUND', 'SUCCESS', 100, '', 'f', 20);",
        )
        .expect("rows");
        let first = |sql: &str, auth_no: &str| -> Option<String> {
            conn.query_row(sql, [auth_no], |row| row.get(18)).expect("order")
        };
        for sql in
            [ORDER_BY_AUTH_NO, concat!(crate::rows::order_select!(), " WHERE o.auth_no = ?1")]
        {
            assert_eq!(first(sql, "A1").as_deref(), Some("op-first"), "{sql}");
            assert_eq!(first(sql, "A2"), None, "{sql}");
        }
    }
}

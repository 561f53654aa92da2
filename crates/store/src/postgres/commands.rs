//! The commands on PostgreSQL, each inside its own READ COMMITTED transaction (or a savepoint of
//! the group-commit writer's): load the facts, ask the ledger, apply its plan (`apply`).
//!
//! Other processes write at the same time, so the facts a plan changes are locked when they are
//! loaded and stay locked until COMMIT, in the store's one lock order (`locks`):
//!
//! - the packet row (`FOR NO KEY UPDATE`) before anything moves out of it or its state changes; the
//!   idempotency lookup is sent right after the lock in the same round trip, so an identical
//!   request that waited for the lock sees the first one's rows and replays;
//! - a payer's account before a decision on its balance (agreement.pay, payment confirmation);
//! - balances change in ascending `account_id` order after the packet row (`apply`), so lock
//!   waits never form a cycle;
//! - a fund racing an identical fund meets the UNIQUE key; the retry replays it.
//!
//! Statements that do not wait for each other's answers are pipelined: a command is two or three
//! round trips (facts, perhaps the packet lock, then the plan with the answer's view).
//!
//! operation.query writes nothing and is one statement outside any transaction (`query`).

use super::apply::{apply, LOAD_VIEW};
use super::Failure;
use crate::rows::{
    operation_view, order_record, order_select, view_select, Columns, Shifted, ORDER_COLUMNS,
};
use crate::{ids, Keep, StoreError};
use deadpool_postgres::Transaction;
use hongbao_ledger::invariants::PacketSnapshot;
use hongbao_ledger::{
    decide_disburse, decide_fund, decide_query, decide_refund, decide_user, Account, Decision,
    DisburseCommand, DisburseFacts, FundCommand, FundFacts, LedgerSnapshot, NewIds, OperationKind,
    OperationQuery, OperationRecord, OperationRef, OperationView, OrderRecord, OrderRef, Outcome,
    PayeeRef, RefundCommand, RefundFacts, Rejection, SandboxUser, UserFacts, UserRecord,
};
use hongbao_money::Fen;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

pub(crate) async fn query_opt(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, Failure> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&statement, params).await?)
}

pub(crate) async fn query_one(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Row, Failure> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query_one(&statement, params).await?)
}

pub(crate) async fn query_all(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, Failure> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query(&statement, params).await?)
}

pub(crate) async fn execute(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, Failure> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

/// A decoded row or a `Failure`.
pub(crate) fn decoded<T>(result: Result<T, StoreError>) -> Result<T, Failure> {
    result.map_err(Failure::Store)
}

pub(crate) const ORDER_BY_AUTH_NO: &str = concat!(order_select!(), " WHERE o.auth_no = $1");
pub(crate) const LOCK_ORDER: &str =
    concat!(order_select!(), " WHERE o.auth_no = $1 FOR NO KEY UPDATE OF o");
pub(crate) const ORDER_BY_OUT_ORDER_NO: &str =
    concat!(order_select!(), " WHERE o.app_id = $1 AND o.out_order_no = $2");
pub(crate) const USER_BY_ID: &str =
    "SELECT user_id, logon_id, real_name FROM sandbox_user WHERE user_id = $1";
pub(crate) const USER_BY_LOGON_ID: &str =
    "SELECT user_id, logon_id, real_name FROM sandbox_user WHERE logon_id = $1";
/// A balance a decision looks at, locked (a debit is decided on it).
pub(crate) const LOCK_BALANCE: &str =
    "SELECT balance_fen FROM account WHERE account_id = $1 FOR NO KEY UPDATE";
const BALANCE: &str = "SELECT balance_fen FROM account WHERE account_id = $1";
pub(crate) const OPERATION_BY_REQUEST: &str =
    "SELECT operation_id, kind, fingerprint FROM fund_operation \
     WHERE auth_no = $1 AND out_request_no = $2";
pub(crate) const NEXT_IDS: &str = "SELECT nextval('auth_no_seq'), nextval('operation_id_seq')";
pub(crate) const NEXT_OPERATION_ID: &str = "SELECT nextval('operation_id_seq')";

fn order_row(row: Option<Row>) -> Result<Option<OrderRecord>, Failure> {
    row.as_ref().map(|row| decoded(order_record(row))).transpose()
}

pub(crate) async fn order_by_auth_no(
    tx: &Transaction<'_>,
    auth_no: &str,
) -> Result<Option<OrderRecord>, Failure> {
    order_row(query_opt(tx, ORDER_BY_AUTH_NO, &[&auth_no]).await?)
}

/// The order row, locked until the transaction ends: decisions that change a packet are made on
/// this, its latest committed state.
pub(crate) async fn lock_order(
    tx: &Transaction<'_>,
    auth_no: &str,
) -> Result<Option<OrderRecord>, Failure> {
    order_row(query_opt(tx, LOCK_ORDER, &[&auth_no]).await?)
}

pub(crate) async fn order_by_out_order_no(
    tx: &Transaction<'_>,
    app_id: &str,
    out_order_no: &str,
) -> Result<Option<OrderRecord>, Failure> {
    order_row(query_opt(tx, ORDER_BY_OUT_ORDER_NO, &[&app_id, &out_order_no]).await?)
}

pub(crate) async fn user_by(
    tx: &Transaction<'_>,
    sql: &str,
    value: Option<&String>,
) -> Result<Option<UserRecord>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let row = query_opt(tx, sql, &[value]).await?;
    Ok(match row {
        Some(row) => Some(UserRecord {
            user_id: row.try_get(0)?,
            logon_id: row.try_get(1)?,
            real_name: row.try_get(2)?,
        }),
        None => None,
    })
}

/// The balance of `account` (`None` without a row), locked when `lock` (a debit is decided on it).
pub(crate) async fn balance(
    tx: &Transaction<'_>,
    account: Option<Account>,
    lock: bool,
) -> Result<Option<Fen>, Failure> {
    let Some(account) = account else { return Ok(None) };
    let sql = if lock { LOCK_BALANCE } else { BALANCE };
    Ok(match query_opt(tx, sql, &[&account.id()]).await? {
        Some(row) => Some(Fen::from_fen(row.try_get(0)?)),
        None => None,
    })
}

pub(crate) async fn operation_by_request(
    tx: &Transaction<'_>,
    auth_no: &str,
    out_request_no: &str,
) -> Result<Option<OperationRecord>, Failure> {
    let Some(row) = query_opt(tx, OPERATION_BY_REQUEST, &[&auth_no, &out_request_no]).await? else {
        return Ok(None);
    };
    let kind: String = row.try_get(1)?;
    Ok(Some(OperationRecord {
        operation_id: row.try_get(0)?,
        kind: OperationKind::parse(&kind).ok_or_else(|| {
            Failure::Store(StoreError::Corrupt(format!("operation kind {kind:?}")))
        })?,
        fingerprint: row.try_get(2)?,
    }))
}

async fn new_ids(tx: &Transaction<'_>, app_id: &str, now_ms: i64) -> Result<NewIds, Failure> {
    let row = query_one(tx, NEXT_IDS, &[]).await?;
    let route = ids::route_digits(app_id);
    Ok(NewIds {
        auth_no: ids::auth_no(now_ms, route, row.try_get(0)?),
        operation_id: ids::operation_id(now_ms, route, row.try_get(1)?),
    })
}

/// Fresh ids of a fund.trans document (32-digit, `ids::trans_order_id` / `trans_fund_id`).
pub(crate) async fn new_trans_ids(
    tx: &Transaction<'_>,
    app_id: &str,
    document: ids::TransDocument,
    now_ms: i64,
) -> Result<NewIds, Failure> {
    let row = query_one(tx, NEXT_IDS, &[]).await?;
    let route = ids::route_digits(app_id);
    Ok(NewIds {
        auth_no: ids::trans_order_id(now_ms, document, route, row.try_get(0)?),
        operation_id: ids::trans_fund_id(now_ms, document, route, row.try_get(1)?),
    })
}

pub(crate) async fn new_operation_id(
    tx: &Transaction<'_>,
    app_id: &str,
    now_ms: i64,
) -> Result<String, Failure> {
    let sequence: i64 = query_one(tx, NEXT_OPERATION_ID, &[]).await?.try_get(0)?;
    Ok(ids::operation_id(now_ms, ids::route_digits(app_id), sequence))
}

/// Prepares `sql` ahead of a pipelined round trip: a statement still to be prepared would hold
/// its call back and let a later one be sent first.
pub(crate) async fn prepare(tx: &Transaction<'_>, statements: &[&str]) -> Result<(), Failure> {
    for sql in statements {
        tx.prepare_cached(sql).await?;
    }
    Ok(())
}

/// What a command answers for a decision: the stored view for a replay or an applied plan.
pub(crate) async fn finish(
    tx: &Transaction<'_>,
    decision: Decision,
) -> Result<Keep<Outcome>, Failure> {
    match decision {
        Decision::Replay { operation_id } => {
            Ok(Keep::Rollback(Outcome::Replayed(load_view(tx, &operation_id).await?)))
        }
        Decision::Reject(rejection) => Ok(Keep::Rollback(Outcome::Rejected(rejection))),
        Decision::Apply(plan) => match apply(tx, &plan).await? {
            Some(view) => Ok(Keep::Commit(Outcome::Applied(view))),
            None => Err(Failure::Store(StoreError::bug(
                "a command's plan names no operation to answer with",
            ))),
        },
    }
}

pub(crate) async fn fund(tx: &Transaction<'_>, cmd: FundCommand) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[ORDER_BY_OUT_ORDER_NO, LOCK_BALANCE, NEXT_IDS]).await?;
    // One round trip: an earlier order with these ids, the payer's balance (locked: the
    // decision debits it), the new ids.
    let payer = cmd.payer_user_id.clone().map(Account::User);
    let (existing, payer_balance, ids) = tokio::try_join!(
        biased;
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_order_no),
        balance(tx, payer, true),
        new_ids(tx, &cmd.app_id, cmd.now_ms),
    )?;
    let facts = FundFacts { existing, payer_balance, ids };
    finish(tx, decide_fund(&cmd, &facts)?).await
}

pub(crate) async fn disburse(
    tx: &Transaction<'_>,
    cmd: DisburseCommand,
) -> Result<Keep<Outcome>, Failure> {
    let (by_user_id, by_logon_id) = match &cmd.payee {
        PayeeRef::UserId(user_id) => (Some(user_id), None),
        PayeeRef::LogonId(logon_id) => (None, Some(logon_id)),
        PayeeRef::Both { user_id, logon_id } => (Some(user_id), Some(logon_id)),
    };
    prepare(
        tx,
        &[
            LOCK_ORDER,
            ORDER_BY_AUTH_NO,
            ORDER_BY_OUT_ORDER_NO,
            USER_BY_ID,
            USER_BY_LOGON_ID,
            NEXT_IDS,
        ],
    )
    .await?;
    // One round trip: the packet (locked at once when named by auth_no), then the earlier
    // disburse with these ids (sent after the lock, so it sees every disburse committed before
    // it: an identical one that waited here replays), the payee, the new ids.
    let packet = async {
        match &cmd.packet {
            OrderRef::AuthNo(auth_no) => lock_order(tx, auth_no).await,
            OrderRef::OutOrderNo(out_order_no) => {
                order_by_out_order_no(tx, &cmd.app_id, out_order_no).await
            }
        }
    };
    let (packet, existing, payee_by_user_id, payee_by_logon_id, ids) = tokio::try_join!(
        biased;
        packet,
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_order_no),
        user_by(tx, USER_BY_ID, by_user_id),
        user_by(tx, USER_BY_LOGON_ID, by_logon_id),
        new_ids(tx, &cmd.app_id, cmd.now_ms),
    )?;
    let (packet, existing) = match (&cmd.packet, packet) {
        // Found by the merchant's id, unlocked: lock it now and look for the earlier disburse
        // again after the lock, as above.
        (OrderRef::OutOrderNo(_), Some(found)) => tokio::try_join!(
            biased;
            lock_order(tx, &found.auth_no),
            order_by_out_order_no(tx, &cmd.app_id, &cmd.out_order_no),
        )?,
        (_, packet) => (packet, existing),
    };
    let facts = DisburseFacts { packet, payee_by_user_id, payee_by_logon_id, existing, ids };
    finish(tx, decide_disburse(&cmd, &facts)?).await
}

pub(crate) async fn refund(
    tx: &Transaction<'_>,
    cmd: RefundCommand,
) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[LOCK_ORDER, OPERATION_BY_REQUEST, NEXT_OPERATION_ID]).await?;
    // One round trip: the packet, locked, then the earlier operation with this out_request_no
    // (after the lock, as for disburses), the new id.
    let (packet, existing, operation_id) = tokio::try_join!(
        biased;
        lock_order(tx, &cmd.auth_no),
        operation_by_request(tx, &cmd.auth_no, &cmd.out_request_no),
        new_operation_id(tx, &cmd.app_id, cmd.now_ms),
    )?;
    let facts = RefundFacts { packet, existing, operation_id };
    finish(tx, decide_refund(&cmd, &facts)?).await
}

/// operation.query in one statement: the order, the operation the query names within it, and
/// that operation's view, side by side in one row (the order's `ORDER_COLUMNS` first). One
/// round trip instead of a transaction's five, and a single statement reads one snapshot by
/// itself. The view is read before the ledger decides and dropped when it refuses.
macro_rules! query_select {
    ($order_where:literal, $operation_where:literal) => {
        concat!(
            "WITH ord AS (",
            order_select!(),
            " WHERE ",
            $order_where,
            "), found AS (SELECT f.operation_id FROM fund_operation f \
             JOIN ord ON f.auth_no = ord.auth_no WHERE ",
            $operation_where,
            ") SELECT ord.*, v.* FROM ord LEFT JOIN found ON TRUE LEFT JOIN LATERAL (",
            view_select!(),
            " WHERE op.operation_id = found.operation_id) v ON TRUE"
        )
    };
}

const QUERY_BY_AUTH_NO_AND_OPERATION_ID: &str =
    query_select!("o.auth_no = $1", "f.operation_id = $2");
const QUERY_BY_AUTH_NO_AND_OUT_REQUEST_NO: &str =
    query_select!("o.auth_no = $1", "f.out_request_no = $2");
const QUERY_BY_OUT_ORDER_NO_AND_OPERATION_ID: &str =
    query_select!("o.app_id = $1 AND o.out_order_no = $2", "f.operation_id = $3");
const QUERY_BY_OUT_ORDER_NO_AND_OUT_REQUEST_NO: &str =
    query_select!("o.app_id = $1 AND o.out_order_no = $2", "f.out_request_no = $3");

pub(crate) async fn query(
    client: &deadpool_postgres::Client,
    query: OperationQuery,
) -> Result<Result<OperationView, Rejection>, Failure> {
    let app_id = &query.app_id;
    let (sql, params): (&str, Vec<&(dyn ToSql + Sync)>) = match (&query.order, &query.operation) {
        (OrderRef::AuthNo(auth_no), OperationRef::OperationId(operation_id)) => {
            (QUERY_BY_AUTH_NO_AND_OPERATION_ID, vec![auth_no, operation_id])
        }
        (OrderRef::AuthNo(auth_no), OperationRef::OutRequestNo(out_request_no)) => {
            (QUERY_BY_AUTH_NO_AND_OUT_REQUEST_NO, vec![auth_no, out_request_no])
        }
        (OrderRef::OutOrderNo(out_order_no), OperationRef::OperationId(operation_id)) => {
            (QUERY_BY_OUT_ORDER_NO_AND_OPERATION_ID, vec![app_id, out_order_no, operation_id])
        }
        (OrderRef::OutOrderNo(out_order_no), OperationRef::OutRequestNo(out_request_no)) => {
            (QUERY_BY_OUT_ORDER_NO_AND_OUT_REQUEST_NO, vec![app_id, out_order_no, out_request_no])
        }
    };
    let statement = client.prepare_cached(sql).await?;
    let row = client.query_opt(&statement, &params).await?;
    let order = row.as_ref().map(|row| decoded(order_record(row))).transpose()?;
    let found: Option<String> = match &row {
        Some(row) => decoded(Shifted(row, ORDER_COLUMNS).text_opt(0))?,
        None => None,
    };
    match decide_query(&query, order.as_ref(), found.as_deref()) {
        Err(rejection) => Ok(Err(rejection)),
        Ok(operation_id) => match &row {
            Some(row) if found.as_deref() == Some(operation_id.as_str()) => {
                Ok(Ok(decoded(operation_view(&Shifted(row, ORDER_COLUMNS)))?))
            }
            _ => Err(Failure::Store(StoreError::bug(
                "operation.query decided on an operation the statement did not read",
            ))),
        },
    }
}

pub(crate) async fn load_view(
    tx: &Transaction<'_>,
    operation_id: &str,
) -> Result<OperationView, Failure> {
    decoded(crate::rows::operation_view(&query_one(tx, LOAD_VIEW, &[&operation_id]).await?))
}

pub(crate) async fn ensure_user(
    tx: &Transaction<'_>,
    user: SandboxUser,
    now_ms: i64,
) -> Result<Keep<bool>, Failure> {
    // A concurrent creation of the same user (another process starting with the same
    // configuration) commits first or meets the UNIQUE key here and retries, then sees the
    // user: it is issued money once. Issuance is locked, so openings are issued one at a time.
    let exists = user_by(tx, USER_BY_ID, Some(&user.user_id)).await?.is_some();
    let issuance_balance = balance(tx, Some(Account::Issuance), true).await?.unwrap_or(Fen::ZERO);
    let facts = UserFacts { exists, issuance_balance };
    match decide_user(&user, &facts, now_ms)? {
        None => Ok(Keep::Rollback(false)),
        Some(plan) => {
            apply(tx, &plan).await?;
            Ok(Keep::Commit(true))
        }
    }
}

pub(crate) async fn user_balance(
    tx: &Transaction<'_>,
    user_id: String,
) -> Result<Option<Fen>, Failure> {
    balance(tx, Some(Account::User(user_id)), false).await
}

/// Everything the money invariants look at, read in the caller's one REPEATABLE READ snapshot.
pub(crate) async fn snapshot(tx: &Transaction<'_>) -> Result<LedgerSnapshot, Failure> {
    let mut snapshot = LedgerSnapshot::default();
    for row in query_all(tx, "SELECT account_id, balance_fen FROM account", &[]).await? {
        let id: String = row.try_get(0)?;
        let account = Account::parse(&id)
            .ok_or_else(|| Failure::Store(StoreError::Corrupt(format!("account id {id:?}"))))?;
        snapshot.balances.push((account, Fen::from_fen(row.try_get(1)?)));
    }
    let rows = query_all(
        tx,
        "SELECT entry_id, account_id, amount_fen FROM posting ORDER BY entry_id",
        &[],
    )
    .await?;
    let mut postings = Vec::with_capacity(rows.len());
    for row in rows {
        postings.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
    }
    snapshot.entries = decoded(crate::rows::entries_from_postings(postings))?;
    for row in query_all(tx, crate::rows::PACKET_SNAPSHOTS, &[]).await? {
        let order = decoded(order_record(&row))?;
        snapshot.packets.push(PacketSnapshot { auth_no: order.auth_no, packet: order.packet });
    }
    for row in query_all(tx, crate::rows::OPERATION_SNAPSHOTS, &[]).await? {
        snapshot.operations.push(decoded(crate::rows::operation_snapshot(&row))?);
    }
    Ok(snapshot)
}

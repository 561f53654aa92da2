//! The commands as PostgreSQL SQL, each inside its own READ COMMITTED transaction.
//!
//! The same order as `sqlite::commands`: resolve what the ids name, compare with an earlier
//! identical request (replay or `UniqueViolation`), ask the ledger, then write with guarded
//! statements. What differs is concurrency, since other processes write at the same time:
//!
//! - disburse and refund lock the packet row (`FOR UPDATE`) before the idempotency compare and
//!   the ledger decision, so both see the packet's latest committed state, and two commands on
//!   one packet never interleave;
//! - balances change in ascending `account_id` order (`post_entry`), after the packet row, so
//!   lock waits never form a cycle;
//! - a fund racing an identical fund meets the UNIQUE key, and the retry replays it.
//!
//! Anything refused returns `Keep::Rollback`, so a refused command leaves no trace.

use super::Failure;
use crate::ids;
use crate::sqlite::Keep;
use crate::{SandboxUser, StoreError};
use deadpool_postgres::Transaction;
use hongbao_ledger::invariants::{OperationKind, OperationSnapshot, PacketSnapshot};
use hongbao_ledger::{
    check_fund, Account, DisburseCommand, Entry, FundCommand, FundMethod, LedgerSnapshot,
    NotifyEvent, NotifyTarget, OperationQuery, OperationRef, OperationStatus, OperationView,
    OrderRef, Outcome, Packet, PacketStatus, PayeeRef, Posting, RefundCommand, Rejection,
};
use hongbao_money::Fen;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

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

pub(crate) fn rejected<T>(rejection: Rejection) -> Result<Keep<Outcome>, T> {
    Ok(Keep::Rollback(Outcome::Rejected(rejection)))
}

pub(crate) fn corrupt(what: &str) -> Failure {
    Failure::Store(StoreError::Corrupt(what.to_owned()))
}

/// The next number of a sequence (`auth_no`, `operation_id`, `notify_id`). Sequences never
/// hand one number out twice, even to transactions that roll back (the number is then skipped).
pub(crate) async fn next_sequence(tx: &Transaction<'_>, name: &str) -> Result<i64, Failure> {
    let sql = format!("SELECT nextval('{name}_seq')");
    Ok(query_one(tx, &sql, &[]).await?.get(0))
}

/// The next `auth_no` and `operation_id` numbers in one round trip (a refused command skips
/// the numbers it took).
async fn next_ids(tx: &Transaction<'_>) -> Result<(i64, i64), Failure> {
    let row =
        query_one(tx, "SELECT nextval('auth_no_seq'), nextval('operation_id_seq')", &[]).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// A database call as a `Failure` future, for `try_join!` beside the command's own helpers.
/// The statement is sent when the future is first polled (tokio-postgres pipelines requests in
/// the order they are sent, one round trip for all of them).
async fn db<T>(
    call: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    Ok(call.await?)
}

/// A stored order, as far as commands need it.
pub(crate) struct OrderRow {
    pub(crate) auth_no: String,
    pub(crate) app_id: String,
    pub(crate) kind: String,
    pub(crate) packet: Packet,
    pub(crate) payer_user_id: Option<String>,
    pub(crate) fingerprint: String,
}

/// The columns `order_from_row` reads, as a literal so that `concat!` can build the SQL.
macro_rules! order_columns {
    () => {
        "auth_no, app_id, kind, amount_fen, disbursed_fen, refunded_fen, status, payer_user_id, \
         fingerprint"
    };
}
const ORDER_COLUMNS: &str = order_columns!();
const LOCK_PACKET: &str =
    concat!("SELECT ", order_columns!(), " FROM fund_order WHERE auth_no = $1 FOR UPDATE");
const ORDER_BY_OUT_ORDER_NO: &str = concat!(
    "SELECT ",
    order_columns!(),
    " FROM fund_order WHERE app_id = $1 AND out_order_no = $2"
);

fn order_from_row(row: &Row) -> Result<OrderRow, Failure> {
    let status: String = row.try_get(6)?;
    Ok(OrderRow {
        auth_no: row.try_get(0)?,
        app_id: row.try_get(1)?,
        kind: row.try_get(2)?,
        packet: Packet {
            amount: Fen::from_fen(row.try_get(3)?),
            disbursed: Fen::from_fen(row.try_get(4)?),
            refunded: Fen::from_fen(row.try_get(5)?),
            status: PacketStatus::parse(&status).ok_or_else(|| corrupt("order status"))?,
        },
        payer_user_id: row.try_get(7)?,
        fingerprint: row.try_get(8)?,
    })
}

pub(crate) async fn order_by_auth_no(
    tx: &Transaction<'_>,
    auth_no: &str,
) -> Result<Option<OrderRow>, Failure> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM fund_order WHERE auth_no = $1");
    query_opt(tx, &sql, &[&auth_no]).await?.as_ref().map(order_from_row).transpose()
}

/// The packet row again, locked until the transaction ends: commands that move money out of a
/// packet decide on this, its latest committed state.
pub(crate) async fn lock_packet(tx: &Transaction<'_>, auth_no: &str) -> Result<OrderRow, Failure> {
    order_from_row(&query_one(tx, LOCK_PACKET, &[&auth_no]).await?)
}

async fn order_by_out_order_no(
    tx: &Transaction<'_>,
    app_id: &str,
    out_order_no: &str,
) -> Result<Option<OrderRow>, Failure> {
    query_opt(tx, ORDER_BY_OUT_ORDER_NO, &[&app_id, &out_order_no])
        .await?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// Finds the order an `OrderRef` names for `app_id`: Alipay's id first, then the merchant's.
async fn resolve_order(
    tx: &Transaction<'_>,
    app_id: &str,
    order: &OrderRef,
) -> Result<Result<OrderRow, Rejection>, Failure> {
    let found = match order {
        OrderRef::AuthNo(auth_no) => order_by_auth_no(tx, auth_no).await?,
        OrderRef::OutOrderNo(out_order_no) => {
            order_by_out_order_no(tx, app_id, out_order_no).await?
        }
    };
    Ok(match found {
        None => Err(Rejection::AuthOrderNotExist),
        Some(order) if order.app_id != app_id => Err(Rejection::AccessForbidden),
        Some(order) => Ok(order),
    })
}

/// Like `resolve_order`, and the order must be a packet (not a disburse's own order).
async fn resolve_packet(
    tx: &Transaction<'_>,
    app_id: &str,
    order: &OrderRef,
    field: &str,
) -> Result<Result<OrderRow, Rejection>, Failure> {
    Ok(match resolve_order(tx, app_id, order).await? {
        Ok(order) if order.kind != "PACKET" => Err(Rejection::IllegalArgument(format!(
            "{field} names a disburse order, not a red packet"
        ))),
        other => other,
    })
}

async fn user_by_logon(tx: &Transaction<'_>, logon_id: &str) -> Result<Option<String>, Failure> {
    let sql = "SELECT user_id FROM sandbox_user WHERE logon_id = $1";
    query_opt(tx, sql, &[&logon_id]).await?.map(|row| Ok(row.try_get(0)?)).transpose()
}

async fn resolve_payee(
    tx: &Transaction<'_>,
    payee: &PayeeRef,
) -> Result<Result<String, Rejection>, Failure> {
    Ok(match payee {
        PayeeRef::UserId(user_id) => {
            let sql = "SELECT 1 FROM sandbox_user WHERE user_id = $1";
            if query_opt(tx, sql, &[user_id]).await?.is_some() {
                Ok(user_id.clone())
            } else {
                Err(Rejection::PayeeNotExist)
            }
        }
        PayeeRef::LogonId(logon_id) => {
            user_by_logon(tx, logon_id).await?.ok_or(Rejection::PayeeNotExist)
        }
        PayeeRef::Both { user_id, logon_id } => match user_by_logon(tx, logon_id).await? {
            None => Err(Rejection::PayeeNotExist),
            Some(found) if &found != user_id => Err(Rejection::IllegalArgument(
                "payee_user_id and payee_logon_id name different users".into(),
            )),
            Some(found) => Ok(found),
        },
    })
}

pub(crate) async fn user_balance_in(
    tx: &Transaction<'_>,
    user_id: &str,
) -> Result<Option<Fen>, Failure> {
    let sql = "SELECT balance_fen FROM account WHERE account_id = $1";
    let account_id = Account::User(user_id.to_owned()).id();
    query_opt(tx, sql, &[&account_id])
        .await?
        .map(|row| Ok(Fen::from_fen(row.try_get(0)?)))
        .transpose()
}

const INSERT_ENTRY: &str = "WITH entry AS (\
     INSERT INTO journal_entry (operation_id, memo, created_at_ms) VALUES ($1, $2, $3) \
     RETURNING entry_id) \
     INSERT INTO posting (entry_id, account_id, amount_fen) \
     SELECT entry.entry_id, p.account_id, p.amount_fen \
     FROM entry, unnest($4::text[], $5::bigint[]) AS p (account_id, amount_fen)";
/// Row locks in ascending `account_id` order (the fixed lock order): `FOR UPDATE` locks the
/// rows as the sorted result returns them.
const LOCK_ACCOUNTS: &str =
    "SELECT account_id FROM account WHERE account_id = ANY($1) ORDER BY account_id FOR UPDATE";
/// Guarded: a row that would go negative is not updated, and the caller sees fewer rows.
const APPLY_POSTINGS: &str = "UPDATE account SET balance_fen = account.balance_fen + p.amount_fen \
     FROM unnest($1::text[], $2::bigint[]) AS p (account_id, amount_fen) \
     WHERE account.account_id = p.account_id \
     AND (account.account_id = 'issuance' OR account.balance_fen + p.amount_fen >= 0)";

/// The statements that record and apply a journal entry, prepared: executing them is then only
/// sending, so they pipeline in the order they are polled.
pub(crate) struct EntryStatements {
    insert: Statement,
    lock: Statement,
    apply: Statement,
}

impl EntryStatements {
    pub(crate) async fn prepare(tx: &Transaction<'_>) -> Result<EntryStatements, Failure> {
        Ok(EntryStatements {
            insert: tx.prepare_cached(INSERT_ENTRY).await?,
            lock: tx.prepare_cached(LOCK_ACCOUNTS).await?,
            apply: tx.prepare_cached(APPLY_POSTINGS).await?,
        })
    }
}

/// Records `entry` for `operation_id` and applies its postings with guarded updates, after
/// locking the accounts in ascending order: three statements, one round trip. `Err(())` inside
/// means a guard refused a posting (an account would go negative).
pub(crate) async fn post_entry_with(
    tx: &Transaction<'_>,
    statements: &EntryStatements,
    operation_id: Option<&str>,
    memo: &str,
    entry: &Entry,
    now_ms: i64,
) -> Result<Result<(), ()>, Failure> {
    let (accounts, amounts): (Vec<String>, Vec<i64>) =
        entry.postings().iter().map(|p| (p.account.id(), p.amount.fen())).unzip();
    // Net movement per account: one guarded update per row, so the row count says whether
    // every guard passed.
    let mut net: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (account, amount) in accounts.iter().zip(&amounts) {
        let sum = net.entry(account.as_str()).or_insert(0);
        *sum = sum.checked_add(*amount).ok_or_else(|| corrupt("posting overflow"))?;
    }
    let (net_accounts, net_amounts): (Vec<&str>, Vec<i64>) = net.into_iter().unzip();
    let insert: [&(dyn ToSql + Sync); 5] = [&operation_id, &memo, &now_ms, &accounts, &amounts];
    let lock: [&(dyn ToSql + Sync); 1] = [&net_accounts];
    let apply: [&(dyn ToSql + Sync); 2] = [&net_accounts, &net_amounts];
    let (_, _, applied) = tokio::try_join!(
        biased;
        db(tx.execute(&statements.insert, &insert)),
        db(tx.query(&statements.lock, &lock)),
        db(tx.execute(&statements.apply, &apply)),
    )?;
    Ok(if applied == net_accounts.len() as u64 { Ok(()) } else { Err(()) })
}

/// `post_entry_with`, preparing its statements first.
pub(crate) async fn post_entry(
    tx: &Transaction<'_>,
    operation_id: Option<&str>,
    memo: &str,
    entry: &Entry,
    now_ms: i64,
) -> Result<Result<(), ()>, Failure> {
    let statements = EntryStatements::prepare(tx).await?;
    post_entry_with(tx, &statements, operation_id, memo, entry, now_ms).await
}

pub(crate) async fn fund_operation_id(
    tx: &Transaction<'_>,
    auth_no: &str,
) -> Result<String, Failure> {
    let sql = "SELECT operation_id FROM fund_operation \
               WHERE auth_no = $1 AND kind IN ('FUND', 'DISBURSE') \
               ORDER BY created_at_ms LIMIT 1";
    Ok(query_one(tx, sql, &[&auth_no]).await?.try_get(0)?)
}

/// A new order row (a packet, or a disburse's own order).
struct NewOrder<'a> {
    auth_no: &'a str,
    app_id: &'a str,
    out_order_no: &'a str,
    kind: &'a str,
    packet_auth_no: Option<&'a str>,
    fund_method: Option<&'a str>,
    order_title: &'a str,
    amount: Fen,
    status: PacketStatus,
    payer_user_id: Option<&'a str>,
    payee_user_id: Option<&'a str>,
    pay_timeout_minutes: Option<u32>,
    extra_param: Option<&'a str>,
    notify: Option<&'a NotifyTarget>,
    fingerprint: &'a str,
    now_ms: i64,
    pay_deadline_ms: Option<i64>,
    expire_after_ms: Option<i64>,
    expire_at_ms: Option<i64>,
    return_url: Option<&'a str>,
}

const INSERT_ORDER: &str = "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, \
     packet_auth_no, fund_method, order_title, amount_fen, status, payer_user_id, payee_user_id, \
     pay_timeout_minutes, extra_param, notify_url, notify_charset, notify_sign_type, fingerprint, \
     created_at_ms, pay_deadline_ms, expire_after_ms, expire_at_ms, return_url) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22)";

/// Inserts `order` with the prepared `INSERT_ORDER` (sent when first polled).
async fn insert_order_with(
    tx: &Transaction<'_>,
    statement: &Statement,
    order: &NewOrder<'_>,
) -> Result<(), Failure> {
    let pay_timeout_minutes =
        order.pay_timeout_minutes.map(|minutes| i32::try_from(minutes).unwrap_or(i32::MAX));
    tx.execute(
        statement,
        &[
            &order.auth_no,
            &order.app_id,
            &order.out_order_no,
            &order.kind,
            &order.packet_auth_no,
            &order.fund_method,
            &order.order_title,
            &order.amount.fen(),
            &order.status.as_str(),
            &order.payer_user_id,
            &order.payee_user_id,
            &pay_timeout_minutes,
            &order.extra_param,
            &order.notify.map(|n| n.url.as_str()),
            &order.notify.map(|n| n.charset.as_str()),
            &order.notify.map(|n| n.sign_type.as_str()),
            &order.fingerprint,
            &order.now_ms,
            &order.pay_deadline_ms,
            &order.expire_after_ms,
            &order.expire_at_ms,
            &order.return_url,
        ],
    )
    .await?;
    Ok(())
}

/// A new operation row, with the journal entry that moves its money (when it moves now) and
/// the notification that reports it (when the call gave a notify_url).
pub(crate) struct NewOperation<'a> {
    pub(crate) operation_id: &'a str,
    pub(crate) auth_no: &'a str,
    pub(crate) out_request_no: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) status: OperationStatus,
    pub(crate) amount: Fen,
    pub(crate) payer_user_id: Option<&'a str>,
    pub(crate) payee_user_id: Option<&'a str>,
    pub(crate) remark: &'a str,
    pub(crate) fingerprint: &'a str,
    pub(crate) app_id: &'a str,
    pub(crate) notify: Option<&'a NotifyTarget>,
    /// `(from, to, notify event)` when the money moves now.
    pub(crate) movement: Option<(Account, Account, NotifyEvent)>,
    pub(crate) now_ms: i64,
}

const INSERT_OPERATION: &str = "INSERT INTO fund_operation (operation_id, auth_no, \
     out_request_no, kind, status, amount_fen, payer_user_id, payee_user_id, remark, fingerprint, \
     notify_url, created_at_ms, trans_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/// The notify_id is `{now_ms:016x}{sequence:016x}`, built in the statement so that it needs no
/// round trip of its own.
const INSERT_NOTIFY: &str = "INSERT INTO notify_outbox (notify_id, app_id, operation_id, event, \
     notify_url, charset, sign_type, status, next_attempt_at_ms, created_at_ms) \
     VALUES (lpad(to_hex($1::bigint), 16, '0') || lpad(to_hex(nextval('notify_id_seq')), 16, '0'), \
     $2, $3, $4, $5, $6, $7, 'PENDING', $1, $1)";

/// The statements of `insert_operation`, prepared.
pub(crate) struct OperationStatements {
    insert: Statement,
    notify: Statement,
    entry: EntryStatements,
}

impl OperationStatements {
    pub(crate) async fn prepare(tx: &Transaction<'_>) -> Result<OperationStatements, Failure> {
        Ok(OperationStatements {
            insert: tx.prepare_cached(INSERT_OPERATION).await?,
            notify: tx.prepare_cached(INSERT_NOTIFY).await?,
            entry: EntryStatements::prepare(tx).await?,
        })
    }
}

/// Inserts the operation and applies its movement, one round trip for all its statements.
/// `Ok(Err(()))`: a guard refused a posting (the caller rolls back with its own rejection).
pub(crate) async fn insert_operation_with(
    tx: &Transaction<'_>,
    statements: &OperationStatements,
    op: NewOperation<'_>,
) -> Result<Result<(), ()>, Failure> {
    let trans_at_ms = (op.status == OperationStatus::Success).then_some(op.now_ms);
    let status = op.status.as_str();
    let amount_fen = op.amount.fen();
    let notify_url = op.notify.map(|n| n.url.as_str());
    let params: [&(dyn ToSql + Sync); 13] = [
        &op.operation_id,
        &op.auth_no,
        &op.out_request_no,
        &op.kind,
        &status,
        &amount_fen,
        &op.payer_user_id,
        &op.payee_user_id,
        &op.remark,
        &op.fingerprint,
        &notify_url,
        &op.now_ms,
        &trans_at_ms,
    ];
    let insert = db(tx.execute(&statements.insert, &params));
    let Some((from, to, event)) = op.movement else {
        insert.await?;
        return Ok(Ok(()));
    };
    let entry = Entry::transfer(from, to, op.amount)?;
    let memo = op.kind.to_ascii_lowercase();
    let notify = enqueue_notify_with(
        tx,
        &statements.notify,
        op.app_id,
        op.operation_id,
        event,
        op.notify,
        op.now_ms,
    );
    let (_, posted, _) = tokio::try_join!(
        biased;
        insert,
        post_entry_with(tx, &statements.entry, Some(op.operation_id), &memo, &entry, op.now_ms),
        notify,
    )?;
    Ok(posted)
}

/// `insert_operation_with`, preparing its statements first.
pub(crate) async fn insert_operation(
    tx: &Transaction<'_>,
    op: NewOperation<'_>,
) -> Result<Result<(), ()>, Failure> {
    let statements = OperationStatements::prepare(tx).await?;
    insert_operation_with(tx, &statements, op).await
}

/// Writes the outbox row of a state change, in the command's own transaction: a notification
/// exists exactly when its money movement committed.
async fn enqueue_notify_with(
    tx: &Transaction<'_>,
    statement: &Statement,
    app_id: &str,
    operation_id: &str,
    event: NotifyEvent,
    target: Option<&NotifyTarget>,
    now_ms: i64,
) -> Result<(), Failure> {
    let Some(target) = target else { return Ok(()) };
    tx.execute(
        statement,
        &[
            &now_ms,
            &app_id,
            &operation_id,
            &event.as_str(),
            &target.url,
            &target.charset,
            &target.sign_type,
        ],
    )
    .await?;
    Ok(())
}

/// `enqueue_notify_with`, preparing its statement first.
pub(crate) async fn enqueue_notify(
    tx: &Transaction<'_>,
    app_id: &str,
    operation_id: &str,
    event: NotifyEvent,
    target: Option<&NotifyTarget>,
    now_ms: i64,
) -> Result<(), Failure> {
    let statement = tx.prepare_cached(INSERT_NOTIFY).await?;
    enqueue_notify_with(tx, &statement, app_id, operation_id, event, target, now_ms).await
}

/// The guarded update that adds to a funded packet's `disbursed_fen` or `refunded_fen`.
fn take_sql(column: &str) -> String {
    format!(
        "UPDATE fund_order SET {column} = {column} + $1 \
         WHERE auth_no = $2 AND status = 'FUNDED' AND amount_fen - disbursed_fen - refunded_fen >= $1"
    )
}

/// Adds `amount` to a funded packet's `disbursed_fen` or `refunded_fen` with a guarded update
/// (the database's own check of what the ledger allowed). False when the guard refused.
pub(crate) async fn take_from_packet(
    tx: &Transaction<'_>,
    auth_no: &str,
    column: &str,
    amount: Fen,
) -> Result<bool, Failure> {
    Ok(execute(tx, &take_sql(column), &[&amount.fen(), &auth_no]).await? == 1)
}

/// The statements that write a new order with its operation and read the result back,
/// prepared; sent together they take one round trip.
struct OrderWriteStatements {
    order: Statement,
    operation: OperationStatements,
    view: Statement,
}

impl OrderWriteStatements {
    async fn prepare(tx: &Transaction<'_>) -> Result<OrderWriteStatements, Failure> {
        Ok(OrderWriteStatements {
            order: tx.prepare_cached(INSERT_ORDER).await?,
            operation: OperationStatements::prepare(tx).await?,
            view: tx.prepare_cached(LOAD_VIEW).await?,
        })
    }
}

pub(crate) async fn fund(tx: &Transaction<'_>, cmd: FundCommand) -> Result<Keep<Outcome>, Failure> {
    let fingerprint = cmd.fingerprint();
    // One round trip: an earlier order with these ids, the payer's balance, the new ids.
    let payer_balance = async {
        match &cmd.payer_user_id {
            Some(payer) => user_balance_in(tx, payer).await,
            None => Ok(None),
        }
    };
    let (existing, balance, (auth_seq, operation_seq)) = tokio::try_join!(
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_order_no),
        payer_balance,
        next_ids(tx),
    )?;
    if let Some(existing) = existing {
        if existing.kind == "PACKET" && existing.fingerprint == fingerprint {
            let operation_id = fund_operation_id(tx, &existing.auth_no).await?;
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(tx, &operation_id).await?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    let immediate = cmd.method == FundMethod::Agreement;
    if cmd.payer_user_id.is_some() {
        let Some(balance) = balance else {
            return rejected(Rejection::PayerNotExist);
        };
        if immediate {
            if let Err(rejection) = check_fund(balance, cmd.amount) {
                return rejected(rejection);
            }
        }
    } else if immediate {
        return rejected(Rejection::PayerNotExist);
    }

    let route = ids::route_digits(&cmd.app_id);
    let auth_no = ids::auth_no(cmd.now_ms, route, auth_seq);
    let operation_id = ids::operation_id(cmd.now_ms, route, operation_seq);
    let (order_status, operation_status) = if immediate {
        (PacketStatus::Funded, OperationStatus::Success)
    } else {
        (PacketStatus::WaitPay, OperationStatus::Init)
    };
    let order = NewOrder {
        auth_no: &auth_no,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_order_no,
        kind: "PACKET",
        packet_auth_no: None,
        fund_method: Some(cmd.method.as_str()),
        order_title: &cmd.order_title,
        amount: cmd.amount,
        status: order_status,
        payer_user_id: cmd.payer_user_id.as_deref(),
        payee_user_id: None,
        pay_timeout_minutes: Some(cmd.pay_timeout_minutes),
        extra_param: cmd.extra_param.as_deref(),
        notify: cmd.notify.as_ref(),
        fingerprint: &fingerprint,
        now_ms: cmd.now_ms,
        pay_deadline_ms: (!immediate)
            .then(|| cmd.now_ms + i64::from(cmd.pay_timeout_minutes) * 60_000),
        expire_after_ms: Some(cmd.expire_after_ms),
        expire_at_ms: immediate.then(|| cmd.now_ms + cmd.expire_after_ms),
        return_url: cmd.return_url.as_deref(),
    };
    let movement = match (immediate, &cmd.payer_user_id) {
        (true, Some(payer)) => Some((
            Account::User(payer.clone()),
            Account::Custody(auth_no.clone()),
            NotifyEvent::PaySuccess,
        )),
        _ => None,
    };
    let operation = NewOperation {
        operation_id: &operation_id,
        auth_no: &auth_no,
        out_request_no: &cmd.out_request_no,
        kind: "FUND",
        status: operation_status,
        amount: cmd.amount,
        payer_user_id: cmd.payer_user_id.as_deref(),
        payee_user_id: None,
        remark: &cmd.order_title,
        fingerprint: &fingerprint,
        app_id: &cmd.app_id,
        notify: cmd.notify.as_ref(),
        movement,
        now_ms: cmd.now_ms,
    };
    let statements = OrderWriteStatements::prepare(tx).await?;
    let custody =
        tx.prepare_cached("INSERT INTO account (account_id, balance_fen) VALUES ($1, 0)").await?;
    let custody_id = Account::Custody(auth_no.clone()).id();
    // One round trip, in this order (foreign keys): the order, its custody account, the
    // operation with its entry, the view. A concurrent identical fund that committed first makes
    // the order INSERT fail on the UNIQUE key; the retry then replays it above.
    let custody_params: [&(dyn ToSql + Sync); 1] = [&custody_id];
    let view_params: [&(dyn ToSql + Sync); 1] = [&operation_id];
    let (_, _, inserted, view) = tokio::try_join!(
        biased;
        insert_order_with(tx, &statements.order, &order),
        db(tx.execute(&custody, &custody_params)),
        insert_operation_with(tx, &statements.operation, operation),
        db(tx.query_one(&statements.view, &view_params)),
    )?;
    if inserted.is_err() {
        return rejected(Rejection::BalanceNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(view_from_row(&view)?)))
}

pub(crate) async fn disburse(
    tx: &Transaction<'_>,
    cmd: DisburseCommand,
) -> Result<Keep<Outcome>, Failure> {
    let field = match &cmd.packet {
        OrderRef::AuthNo(_) => "deduct_auth_no",
        OrderRef::OutOrderNo(_) => "deduct_out_order_no",
    };
    // One round trip: the packet, the payee, the new ids.
    let (resolved, payee, (auth_seq, operation_seq)) = tokio::try_join!(
        resolve_packet(tx, &cmd.app_id, &cmd.packet, field),
        resolve_payee(tx, &cmd.payee),
        next_ids(tx),
    )?;
    let resolved = match resolved {
        Ok(packet) => packet,
        Err(rejection) => return rejected(rejection),
    };
    let payee = match payee {
        Ok(payee) => payee,
        Err(rejection) => return rejected(rejection),
    };
    // One round trip, in this order: lock the packet (ours until COMMIT), then look for an
    // earlier disburse with these ids. Sent after the lock, the lookup sees every disburse
    // committed before it, so an identical one waiting here replays instead of being refused.
    // Prepared first: a statement still to be prepared would hold its call back and let the
    // other one be sent first.
    tx.prepare_cached(LOCK_PACKET).await?;
    tx.prepare_cached(ORDER_BY_OUT_ORDER_NO).await?;
    let (packet, existing) = tokio::try_join!(
        biased;
        lock_packet(tx, &resolved.auth_no),
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_order_no),
    )?;
    let fingerprint = cmd.fingerprint(&packet.auth_no, &payee);
    if let Some(existing) = existing {
        if existing.kind == "DISBURSE" && existing.fingerprint == fingerprint {
            let operation_id = fund_operation_id(tx, &existing.auth_no).await?;
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(tx, &operation_id).await?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    if let Err(rejection) = packet.packet.disburse(cmd.amount)? {
        return rejected(rejection);
    }
    let route = ids::route_digits(&cmd.app_id);
    let auth_no = ids::auth_no(cmd.now_ms, route, auth_seq);
    let operation_id = ids::operation_id(cmd.now_ms, route, operation_seq);
    let order = NewOrder {
        auth_no: &auth_no,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_order_no,
        kind: "DISBURSE",
        packet_auth_no: Some(&packet.auth_no),
        fund_method: None,
        order_title: &cmd.order_title,
        amount: cmd.amount,
        status: PacketStatus::Funded,
        payer_user_id: packet.payer_user_id.as_deref(),
        payee_user_id: Some(&payee),
        pay_timeout_minutes: None,
        extra_param: cmd.extra_param.as_deref(),
        notify: cmd.notify.as_ref(),
        fingerprint: &fingerprint,
        now_ms: cmd.now_ms,
        pay_deadline_ms: None,
        expire_after_ms: None,
        expire_at_ms: None,
        return_url: None,
    };
    let operation = NewOperation {
        operation_id: &operation_id,
        auth_no: &auth_no,
        out_request_no: &cmd.out_request_no,
        kind: "DISBURSE",
        status: OperationStatus::Success,
        amount: cmd.amount,
        payer_user_id: packet.payer_user_id.as_deref(),
        payee_user_id: Some(&payee),
        remark: &cmd.order_title,
        fingerprint: &fingerprint,
        app_id: &cmd.app_id,
        notify: cmd.notify.as_ref(),
        movement: Some((
            Account::Custody(packet.auth_no.clone()),
            Account::User(payee.clone()),
            NotifyEvent::DisburseSuccess,
        )),
        now_ms: cmd.now_ms,
    };
    let statements = OrderWriteStatements::prepare(tx).await?;
    let take = tx.prepare_cached(&take_sql("disbursed_fen")).await?;
    let amount_fen = cmd.amount.fen();
    // One round trip, in this order: the packet's guarded counter, the disburse's order, its
    // operation with the entry, the view. A refused guard rolls all of it back.
    let take_params: [&(dyn ToSql + Sync); 2] = [&amount_fen, &packet.auth_no];
    let view_params: [&(dyn ToSql + Sync); 1] = [&operation_id];
    let (taken, _, inserted, view) = tokio::try_join!(
        biased;
        db(tx.execute(&take, &take_params)),
        insert_order_with(tx, &statements.order, &order),
        insert_operation_with(tx, &statements.operation, operation),
        db(tx.query_one(&statements.view, &view_params)),
    )?;
    if taken != 1 || inserted.is_err() {
        return rejected(Rejection::MoneyNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(view_from_row(&view)?)))
}

pub(crate) async fn refund(
    tx: &Transaction<'_>,
    cmd: RefundCommand,
) -> Result<Keep<Outcome>, Failure> {
    let packet_ref = OrderRef::AuthNo(cmd.auth_no.clone());
    let resolved = match resolve_packet(tx, &cmd.app_id, &packet_ref, "auth_no").await? {
        Ok(packet) => packet,
        Err(rejection) => return rejected(rejection),
    };
    let packet = lock_packet(tx, &resolved.auth_no).await?;
    let fingerprint = cmd.fingerprint();
    let existing = query_opt(
        tx,
        "SELECT operation_id, kind, fingerprint FROM fund_operation \
         WHERE auth_no = $1 AND out_request_no = $2",
        &[&packet.auth_no, &cmd.out_request_no],
    )
    .await?;
    if let Some(row) = existing {
        let (operation_id, kind, stored): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if kind == "REFUND" && stored == fingerprint {
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(tx, &operation_id).await?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    if let Err(rejection) = packet.packet.refund(cmd.amount)? {
        return rejected(rejection);
    }
    let Some(payer) = packet.payer_user_id.clone() else {
        return rejected(Rejection::OrderStatusInvalid);
    };
    if !take_from_packet(tx, &packet.auth_no, "refunded_fen", cmd.amount).await? {
        return rejected(Rejection::MoneyNotEnough);
    }
    let route = ids::route_digits(&cmd.app_id);
    let operation_id =
        ids::operation_id(cmd.now_ms, route, next_sequence(tx, "operation_id").await?);
    let inserted = insert_operation(
        tx,
        NewOperation {
            operation_id: &operation_id,
            auth_no: &packet.auth_no,
            out_request_no: &cmd.out_request_no,
            kind: "REFUND",
            status: OperationStatus::Success,
            amount: cmd.amount,
            payer_user_id: Some(&payer),
            payee_user_id: None,
            remark: &cmd.remark,
            fingerprint: &fingerprint,
            app_id: &cmd.app_id,
            notify: cmd.notify.as_ref(),
            movement: Some((
                Account::Custody(packet.auth_no.clone()),
                Account::User(payer.clone()),
                NotifyEvent::RefundSuccess,
            )),
            now_ms: cmd.now_ms,
        },
    )
    .await?;
    if inserted.is_err() {
        return rejected(Rejection::MoneyNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(load_view(tx, &operation_id).await?)))
}

pub(crate) async fn query(
    tx: &Transaction<'_>,
    query: OperationQuery,
) -> Result<Result<OperationView, Rejection>, Failure> {
    let order = match resolve_order(tx, &query.app_id, &query.order).await? {
        Ok(order) => order,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let found = match &query.operation {
        OperationRef::OperationId(operation_id) => {
            query_opt(
                tx,
                "SELECT operation_id FROM fund_operation WHERE operation_id = $1 AND auth_no = $2",
                &[operation_id, &order.auth_no],
            )
            .await?
        }
        OperationRef::OutRequestNo(out_request_no) => query_opt(
            tx,
            "SELECT operation_id FROM fund_operation WHERE auth_no = $1 AND out_request_no = $2",
            &[&order.auth_no, out_request_no],
        )
        .await?,
    };
    match found {
        None => Ok(Err(Rejection::AuthOperationNotExist)),
        Some(row) => {
            let operation_id: String = row.try_get(0)?;
            Ok(Ok(load_view(tx, &operation_id).await?))
        }
    }
}

const LOAD_VIEW: &str = "SELECT op.operation_id, op.out_request_no, op.kind, op.status, \
     op.amount_fen, op.remark, op.payer_user_id, op.payee_user_id, op.created_at_ms, \
     op.trans_at_ms, o.auth_no, o.out_order_no, o.order_title, o.extra_param, \
     COALESCE(p.refunded_fen, o.refunded_fen), payer.logon_id, payee.logon_id \
     FROM fund_operation op \
     JOIN fund_order o ON o.auth_no = op.auth_no \
     LEFT JOIN fund_order p ON p.auth_no = o.packet_auth_no \
     LEFT JOIN sandbox_user payer ON payer.user_id = op.payer_user_id \
     LEFT JOIN sandbox_user payee ON payee.user_id = op.payee_user_id \
     WHERE op.operation_id = $1";

pub(crate) async fn load_view(
    tx: &Transaction<'_>,
    operation_id: &str,
) -> Result<OperationView, Failure> {
    view_from_row(&query_one(tx, LOAD_VIEW, &[&operation_id]).await?)
}

fn view_from_row(row: &Row) -> Result<OperationView, Failure> {
    let kind = operation_kind(&row.try_get::<_, String>(2)?)?;
    let status: String = row.try_get(3)?;
    Ok(OperationView {
        operation_id: row.try_get(0)?,
        out_request_no: row.try_get(1)?,
        operation_type: kind.operation_type(),
        status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
        amount: Fen::from_fen(row.try_get(4)?),
        remark: row.try_get(5)?,
        payer_user_id: row.try_get(6)?,
        payee_user_id: row.try_get(7)?,
        gmt_create_ms: row.try_get(8)?,
        gmt_trans_ms: row.try_get(9)?,
        auth_no: row.try_get(10)?,
        out_order_no: row.try_get(11)?,
        order_title: row.try_get(12)?,
        extra_param: row.try_get(13)?,
        total_pay_refund_amount: Fen::from_fen(row.try_get(14)?),
        payer_logon_id: row.try_get(15)?,
        payee_logon_id: row.try_get(16)?,
    })
}

fn operation_kind(text: &str) -> Result<OperationKind, Failure> {
    match text {
        "FUND" => Ok(OperationKind::Fund),
        "DISBURSE" => Ok(OperationKind::Disburse),
        "REFUND" => Ok(OperationKind::Refund),
        _ => Err(corrupt("operation kind")),
    }
}

pub(crate) async fn ensure_user(
    tx: &Transaction<'_>,
    user: SandboxUser,
    now_ms: i64,
) -> Result<Keep<bool>, Failure> {
    // ON CONFLICT waits for a concurrent insert of the same user (another process starting
    // with the same configuration) and then does nothing: the user is issued money once.
    let inserted = execute(
        tx,
        "INSERT INTO sandbox_user (user_id, logon_id, password) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO NOTHING",
        &[&user.user_id, &user.logon_id, &user.password],
    )
    .await?
        == 1;
    if !inserted {
        return Ok(Keep::Rollback(false));
    }
    let account = Account::User(user.user_id.clone());
    execute(tx, "INSERT INTO account (account_id, balance_fen) VALUES ($1, 0)", &[&account.id()])
        .await?;
    if user.opening_balance.is_positive() {
        let entry = Entry::transfer(Account::Issuance, account, user.opening_balance)?;
        if post_entry(tx, None, "issuance", &entry, now_ms).await?.is_err() {
            return Err(Failure::Store(StoreError::Bug(hongbao_ledger::Bug(
                "issuance refused".into(),
            ))));
        }
    }
    Ok(Keep::Commit(true))
}

pub(crate) async fn user_balance(
    tx: &Transaction<'_>,
    user_id: String,
) -> Result<Option<Fen>, Failure> {
    user_balance_in(tx, &user_id).await
}

/// Everything the money invariants look at, read in the caller's one REPEATABLE READ snapshot.
pub(crate) async fn snapshot(tx: &Transaction<'_>) -> Result<LedgerSnapshot, Failure> {
    let mut snapshot = LedgerSnapshot::default();
    for row in query_all(tx, "SELECT account_id, balance_fen FROM account", &[]).await? {
        let id: String = row.try_get(0)?;
        let account = Account::parse(&id).ok_or_else(|| corrupt("account id"))?;
        snapshot.balances.push((account, Fen::from_fen(row.try_get(1)?)));
    }
    let rows = query_all(
        tx,
        "SELECT entry_id, account_id, amount_fen FROM posting ORDER BY entry_id",
        &[],
    )
    .await?;
    let mut current: Option<(i64, Vec<Posting>)> = None;
    for row in rows {
        let entry_id: i64 = row.try_get(0)?;
        let account_id: String = row.try_get(1)?;
        let account = Account::parse(&account_id).ok_or_else(|| corrupt("posting account"))?;
        let posting = Posting { account, amount: Fen::from_fen(row.try_get(2)?) };
        match &mut current {
            Some((id, postings)) if *id == entry_id => postings.push(posting),
            _ => {
                if let Some((_, postings)) = current.take() {
                    snapshot.entries.push(Entry::from_stored(postings));
                }
                current = Some((entry_id, vec![posting]));
            }
        }
    }
    if let Some((_, postings)) = current {
        snapshot.entries.push(Entry::from_stored(postings));
    }
    let sql = format!("SELECT {ORDER_COLUMNS} FROM fund_order WHERE kind = 'PACKET'");
    for row in query_all(tx, &sql, &[]).await? {
        let order = order_from_row(&row)?;
        snapshot.packets.push(PacketSnapshot { auth_no: order.auth_no, packet: order.packet });
    }
    let rows = query_all(
        tx,
        "SELECT op.operation_id, COALESCE(o.packet_auth_no, o.auth_no), op.kind, op.status, \
                op.amount_fen, \
                (SELECT COUNT(*) FROM journal_entry j WHERE j.operation_id = op.operation_id) \
         FROM fund_operation op JOIN fund_order o ON o.auth_no = op.auth_no",
        &[],
    )
    .await?;
    for row in rows {
        let status: String = row.try_get(3)?;
        let entries: i64 = row.try_get(5)?;
        snapshot.operations.push(OperationSnapshot {
            operation_id: row.try_get(0)?,
            packet_auth_no: row.try_get(1)?,
            kind: operation_kind(&row.try_get::<_, String>(2)?)?,
            status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
            amount: Fen::from_fen(row.try_get(4)?),
            entries: usize::try_from(entries).unwrap_or(usize::MAX),
        });
    }
    Ok(snapshot)
}

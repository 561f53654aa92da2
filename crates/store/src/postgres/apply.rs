//! Writing a ledger plan on PostgreSQL, in one round trip: every statement of the plan (and the
//! read of the answer's view) is prepared first and then sent back to back, in the plan's field
//! order, so that each one finds the rows the earlier ones wrote (tokio-postgres pipelines
//! requests in the order their futures are first polled; `try_join!(biased; …)` polls in order).
//!
//! Every change of an existing row is guarded by the state the ledger decided on, every debit by
//! the balance covering it. The rows a plan changes were locked when its facts were loaded, so a
//! guard that refuses means the facts were wrong: a bug (`StoreError::Bug`), rolled back.

use super::Failure;
use crate::rows::{operation_view, view_select};
use crate::StoreError;
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    NewNotify, NewOperation, NewOrder, OperationChange, OperationView, OrderChange, Plan,
    PlannedEntry, SandboxUser,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

type Param<'a> = &'a (dyn ToSql + Sync);

const INSERT_USER: &str =
    "INSERT INTO sandbox_user (user_id, logon_id, password, real_name) VALUES ($1, $2, $3, $4)";
const INSERT_ACCOUNTS: &str =
    "INSERT INTO account (account_id, balance_fen) SELECT unnest($1::text[]), 0";
const INSERT_ORDER: &str = "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, \
     packet_auth_no, fund_method, order_title, amount_fen, status, payer_user_id, payee_user_id, \
     pay_timeout_minutes, extra_param, notify_url, notify_charset, notify_sign_type, fingerprint, \
     created_at_ms, pay_deadline_ms, expire_after_ms, expire_at_ms, return_url, product, \
     passback_params) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24)";
const CHANGE_ORDER: &str = "UPDATE fund_order SET status = $2, disbursed_fen = $3, \
     refunded_fen = $4, payer_user_id = $5, expire_at_ms = $6, expired_at_ms = $7 \
     WHERE auth_no = $1 AND status = $8 AND disbursed_fen = $9 AND refunded_fen = $10 \
     AND payer_user_id IS NOT DISTINCT FROM $11 AND expire_at_ms IS NOT DISTINCT FROM $12 \
     AND expired_at_ms IS NOT DISTINCT FROM $13";
const INSERT_OPERATION: &str = "INSERT INTO fund_operation (operation_id, auth_no, \
     out_request_no, kind, status, amount_fen, payer_user_id, payee_user_id, remark, fingerprint, \
     notify_url, created_at_ms, trans_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const CHANGE_OPERATION: &str = "UPDATE fund_operation SET status = $2, \
     payer_user_id = COALESCE($3, payer_user_id), trans_at_ms = COALESCE($4, trans_at_ms) \
     WHERE operation_id = $1 AND status = $5";
const INSERT_ENTRY: &str = "WITH entry AS (\
     INSERT INTO journal_entry (operation_id, memo, created_at_ms) VALUES ($1, $2, $3) \
     RETURNING entry_id) \
     INSERT INTO posting (entry_id, account_id, amount_fen) \
     SELECT entry.entry_id, p.account_id, p.amount_fen \
     FROM entry, unnest($4::text[], $5::bigint[]) AS p (account_id, amount_fen)";
/// Row locks in ascending `account_id` order (the store's lock order, `locks`): the rows are
/// locked as the sorted result returns them. `NO KEY`: the postings' foreign keys take
/// `FOR KEY SHARE` on these rows, which `FOR UPDATE` would wait for.
const LOCK_ACCOUNTS: &str = "SELECT account_id FROM account WHERE account_id = ANY($1) \
     ORDER BY account_id FOR NO KEY UPDATE";
/// Guarded: a row that would go negative is not updated, and the caller sees fewer rows.
const APPLY_POSTINGS: &str = "UPDATE account SET balance_fen = account.balance_fen + p.amount_fen \
     FROM unnest($1::text[], $2::bigint[]) AS p (account_id, amount_fen) \
     WHERE account.account_id = p.account_id \
     AND (account.account_id = 'issuance' OR account.balance_fen + p.amount_fen >= 0)";
/// The notify_id is `{now_ms:016x}{sequence:016x}`, built in the statement so that it needs no
/// round trip of its own.
const INSERT_NOTIFY: &str = "INSERT INTO notify_outbox (notify_id, app_id, operation_id, event, \
     notify_url, charset, sign_type, status, next_attempt_at_ms, created_at_ms) \
     VALUES (lpad(to_hex($1::bigint), 16, '0') || lpad(to_hex(nextval('notify_id_seq')), 16, '0'), \
     $2, $3, $4, $5, $6, $7, 'PENDING', $1, $1)";
pub(crate) const LOAD_VIEW: &str = concat!(view_select!(), " WHERE op.operation_id = $1");

/// Every statement a plan may need, prepared (cached per connection after the first use).
pub(crate) struct PlanStatements {
    user: Statement,
    accounts: Statement,
    order: Statement,
    order_change: Statement,
    operation: Statement,
    operation_change: Statement,
    entry: Statement,
    lock_accounts: Statement,
    postings: Statement,
    notify: Statement,
    view: Statement,
}

impl PlanStatements {
    pub(crate) async fn prepare(tx: &Transaction<'_>) -> Result<PlanStatements, Failure> {
        Ok(PlanStatements {
            user: tx.prepare_cached(INSERT_USER).await?,
            accounts: tx.prepare_cached(INSERT_ACCOUNTS).await?,
            order: tx.prepare_cached(INSERT_ORDER).await?,
            order_change: tx.prepare_cached(CHANGE_ORDER).await?,
            operation: tx.prepare_cached(INSERT_OPERATION).await?,
            operation_change: tx.prepare_cached(CHANGE_OPERATION).await?,
            entry: tx.prepare_cached(INSERT_ENTRY).await?,
            lock_accounts: tx.prepare_cached(LOCK_ACCOUNTS).await?,
            postings: tx.prepare_cached(APPLY_POSTINGS).await?,
            notify: tx.prepare_cached(INSERT_NOTIFY).await?,
            view: tx.prepare_cached(LOAD_VIEW).await?,
        })
    }
}

/// A guard refused: the row was not in the state the ledger decided on.
pub(crate) fn guard_refused(what: String) -> Failure {
    tracing::error!(%what, "a store guard refused a plan the ledger accepted");
    Failure::Store(StoreError::bug(format!("guard refused: {what}")))
}

/// Applies `plan` in one round trip and returns the view of its answer, if it names one.
pub(crate) async fn apply(
    tx: &Transaction<'_>,
    plan: &Plan,
) -> Result<Option<OperationView>, Failure> {
    let statements = PlanStatements::prepare(tx).await?;
    let s = &statements;
    let accounts: Vec<String> = plan.new_accounts.iter().map(|account| account.id()).collect();
    let (_, _, _, order_changed, _, operation_changed, _, _, view) = tokio::try_join!(
        biased;
        optional(plan.new_user.as_ref(), |user| insert_user(tx, s, user)),
        optional((!accounts.is_empty()).then_some(&accounts), |accounts| async move {
            Ok(tx.execute(&s.accounts, &[accounts]).await?)
        }),
        optional(plan.new_order.as_ref(), |order| insert_order(tx, s, order)),
        optional(plan.order_change.as_ref(), |change| change_order(tx, s, change)),
        optional(plan.new_operation.as_ref(), |operation| insert_operation(tx, s, operation)),
        optional(plan.operation_change.as_ref(), |change| change_operation(tx, s, change)),
        optional(plan.entry.as_ref(), |entry| post_entry(tx, s, entry)),
        optional(plan.notify.as_ref(), |notify| enqueue_notify(tx, s, notify)),
        optional(plan.answer.as_ref(), |operation_id| async move {
            Ok(tx.query_one(&s.view, &[operation_id]).await?)
        }),
    )?;
    if let (Some(change), Some(changed)) = (&plan.order_change, order_changed) {
        if changed != 1 {
            return Err(guard_refused(format!(
                "order {} is not {:?}",
                change.auth_no, change.before
            )));
        }
    }
    if let (Some(change), Some(changed)) = (&plan.operation_change, operation_changed) {
        if changed != 1 {
            return Err(guard_refused(format!(
                "operation {} is not {}",
                change.operation_id,
                change.before.as_str()
            )));
        }
    }
    view.map(|row| operation_view(&row).map_err(Failure::Store)).transpose()
}

/// `write(value)` when there is a value; sent when first polled, like the others.
async fn optional<'v, V: ?Sized, T, F>(
    value: Option<&'v V>,
    write: impl FnOnce(&'v V) -> F,
) -> Result<Option<T>, Failure>
where
    F: std::future::Future<Output = Result<T, Failure>>,
{
    match value {
        Some(value) => Ok(Some(write(value).await?)),
        None => Ok(None),
    }
}

async fn insert_user(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    user: &SandboxUser,
) -> Result<u64, Failure> {
    Ok(tx
        .execute(&s.user, &[&user.user_id, &user.logon_id, &user.password, &user.real_name])
        .await?)
}

async fn insert_order(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    order: &NewOrder,
) -> Result<u64, Failure> {
    let pay_timeout_minutes =
        order.pay_timeout_minutes.map(|minutes| i32::try_from(minutes).unwrap_or(i32::MAX));
    let params: [Param<'_>; 24] = [
        &order.auth_no,
        &order.app_id,
        &order.out_order_no,
        &order.kind.as_str(),
        &order.packet_auth_no,
        &order.fund_method.map(|method| method.as_str()),
        &order.order_title,
        &order.amount.fen(),
        &order.status.as_str(),
        &order.payer_user_id,
        &order.payee_user_id,
        &pay_timeout_minutes,
        &order.extra_param,
        &order.notify.as_ref().map(|n| n.url.as_str()),
        // The call's format, with or without a notify_url (the payer's pages sign with it).
        &order.call.map(|call| call.charset.as_str()),
        &order.call.map(|call| call.sign_type.as_str()),
        &order.fingerprint,
        &order.created_at_ms,
        &order.pay_deadline_ms,
        &order.expire_after_ms,
        &order.expire_at_ms,
        &order.return_url,
        &order.product.as_str(),
        &order.passback_params,
    ];
    Ok(tx.execute(&s.order, &params).await?)
}

async fn change_order(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    change: &OrderChange,
) -> Result<u64, Failure> {
    let (before, after) = (&change.before, &change.after);
    let params: [Param<'_>; 13] = [
        &change.auth_no,
        &after.status.as_str(),
        &after.disbursed.fen(),
        &after.refunded.fen(),
        &after.payer_user_id,
        &after.expire_at_ms,
        &after.expired_at_ms,
        &before.status.as_str(),
        &before.disbursed.fen(),
        &before.refunded.fen(),
        &before.payer_user_id,
        &before.expire_at_ms,
        &before.expired_at_ms,
    ];
    Ok(tx.execute(&s.order_change, &params).await?)
}

async fn insert_operation(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    op: &NewOperation,
) -> Result<u64, Failure> {
    let params: [Param<'_>; 13] = [
        &op.operation_id,
        &op.auth_no,
        &op.out_request_no,
        &op.kind.as_str(),
        &op.status.as_str(),
        &op.amount.fen(),
        &op.payer_user_id,
        &op.payee_user_id,
        &op.remark,
        &op.fingerprint,
        &op.notify_url,
        &op.created_at_ms,
        &op.trans_at_ms,
    ];
    Ok(tx.execute(&s.operation, &params).await?)
}

async fn change_operation(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    change: &OperationChange,
) -> Result<u64, Failure> {
    let params: [Param<'_>; 5] = [
        &change.operation_id,
        &change.after.as_str(),
        &change.payer_user_id,
        &change.trans_at_ms,
        &change.before.as_str(),
    ];
    Ok(tx.execute(&s.operation_change, &params).await?)
}

/// Locks the accounts in ascending order, then records the entry (its postings reference the
/// locked rows) and applies the postings: three statements, sent together.
async fn post_entry(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    planned: &PlannedEntry,
) -> Result<(), Failure> {
    let (accounts, amounts): (Vec<String>, Vec<i64>) =
        planned.entry.postings().iter().map(|p| (p.account.id(), p.amount.fen())).unzip();
    // Net movement per account: one guarded update per row, so the row count says whether
    // every guard passed.
    let mut net: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (account, amount) in accounts.iter().zip(&amounts) {
        let sum = net.entry(account.as_str()).or_insert(0);
        *sum = sum
            .checked_add(*amount)
            .ok_or_else(|| Failure::Store(StoreError::bug("posting overflow")))?;
    }
    let (net_accounts, net_amounts): (Vec<&str>, Vec<i64>) = net.into_iter().unzip();
    let memo = planned.memo.as_str();
    let insert: [Param<'_>; 5] =
        [&planned.operation_id, &memo, &planned.created_at_ms, &accounts, &amounts];
    let lock: [Param<'_>; 1] = [&net_accounts];
    let postings: [Param<'_>; 2] = [&net_accounts, &net_amounts];
    let (_, _, applied) = tokio::try_join!(
        biased;
        db(tx.query(&s.lock_accounts, &lock)),
        db(tx.execute(&s.entry, &insert)),
        db(tx.execute(&s.postings, &postings)),
    )?;
    if applied != net_accounts.len() as u64 {
        return Err(guard_refused(format!("a posting of {accounts:?} {amounts:?} was refused")));
    }
    Ok(())
}

/// Writes the outbox row of a state change, in the command's own transaction: a notification
/// exists exactly when its money movement committed.
async fn enqueue_notify(
    tx: &Transaction<'_>,
    s: &PlanStatements,
    notify: &NewNotify,
) -> Result<u64, Failure> {
    let params: [Param<'_>; 7] = [
        &notify.created_at_ms,
        &notify.app_id,
        &notify.operation_id,
        &notify.event.as_str(),
        &notify.target.url,
        &notify.target.charset.as_str(),
        &notify.target.sign_type.as_str(),
    ];
    Ok(tx.execute(&s.notify, &params).await?)
}

/// A database call as a `Failure` future, for `try_join!` beside the store's own helpers.
pub(crate) async fn db<T>(
    call: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    Ok(call.await?)
}

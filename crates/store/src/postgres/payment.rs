//! The payer's side of a packet on PostgreSQL: confirming a page.pay / app.pay order, and the
//! deadlines that close unpaid orders and refund expired packets. The rules are the ledger's
//! (`decide_payment`, `decide_close`, `decide_expiry`); this file loads, locks and applies.
//! Every process runs the deadline scheduler: `FOR NO KEY UPDATE SKIP LOCKED` gives each due
//! packet to one of them, and the decisions find nothing to do in a packet fired meanwhile.

use super::apply::apply;
use super::commands::{
    balance, decoded, finish, load_view, lock_order, new_operation_id, operation_by_request,
    order_by_auth_no, query_all, query_opt,
};
use super::locks::{lock_batch, LockSet};
use super::Failure;
use crate::notify::PaymentOrder;
use crate::rows::call_format;
use crate::{payment_result, Keep};
use deadpool_postgres::Transaction;
use hongbao_ledger::decide::EXPIRE_REFUND;
use hongbao_ledger::{
    decide_close, decide_expiry, decide_login, decide_payment, Account, CompletePayment,
    ExpiryFacts, FiredDeadline, LoginCandidate, OperationView, OrderKind, PaymentFacts, Rejection,
};

/// The payer confirms: money moves payer → custody, the PAY goes INIT → SUCCESS. Confirming an
/// order already paid by the same payer answers its result again (a double click).
pub(crate) async fn complete_payment(
    tx: &Transaction<'_>,
    cmd: CompletePayment,
) -> Result<Keep<Result<OperationView, Rejection>>, Failure> {
    // Two confirmations of one order (two tabs, two processes) run one after the other: the
    // second sees the first one's FUNDED row and replays. The packet is locked before the
    // payer's account (the fixed lock order); both are what the decision changes.
    let order = lock_order(tx, &cmd.auth_no).await?;
    let payer_balance = balance(tx, Some(Account::User(cmd.payer_user_id.clone())), true).await?;
    let facts = PaymentFacts { order, payer_balance };
    Ok(match finish(tx, decide_payment(&cmd, &facts)?).await? {
        Keep::Commit(outcome) => Keep::Commit(payment_result(outcome)),
        Keep::Rollback(outcome) => Keep::Rollback(payment_result(outcome)),
    })
}

/// Closes unpaid packets past their pay deadline and refunds expired packets' remainders, at
/// most `limit` of each per call, notifying the pay call's notify_url.
pub(crate) async fn fire_deadlines(
    tx: &Transaction<'_>,
    now_ms: i64,
    limit: u32,
) -> Result<Keep<Vec<FiredDeadline>>, Failure> {
    let limit = i64::from(limit);
    let mut fired = Vec::new();
    // Packets another process is firing right now are skipped; it fires them. The rows stay
    // locked until COMMIT, so what is loaded below is what the decisions change.
    let unpaid = query_all(
        tx,
        "SELECT auth_no FROM fund_order WHERE status = 'WAIT_PAY' AND pay_deadline_ms <= $1 \
         ORDER BY pay_deadline_ms LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED",
        &[&now_ms, &limit],
    )
    .await?;
    for row in unpaid {
        let auth_no: String = row.try_get(0)?;
        let Some(order) = order_by_auth_no(tx, &auth_no).await? else { continue };
        if let Some(decided) = decide_close(&order, now_ms)? {
            apply(tx, &decided.plan).await?;
            fired.push(decided.fired);
        }
    }
    let expiring = query_all(
        tx,
        "SELECT auth_no FROM fund_order WHERE status = 'FUNDED' AND kind = 'PACKET' \
         AND expired_at_ms IS NULL AND expire_at_ms <= $1 \
         ORDER BY expire_at_ms LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED",
        &[&now_ms, &limit],
    )
    .await?;
    let expiring: Vec<String> =
        expiring.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
    // Their payers get the remainders: their accounts are locked now, all at once in the lock
    // order, rather than packet by packet in expiry order.
    lock_batch(tx, &LockSet::payers_of(expiring.clone()), None, None).await?;
    for auth_no in expiring {
        let Some(packet) = order_by_auth_no(tx, &auth_no).await? else { continue };
        let facts = ExpiryFacts {
            expire_refund_taken: operation_by_request(tx, &auth_no, EXPIRE_REFUND).await?.is_some(),
            operation_id: new_operation_id(tx, &packet.app_id, now_ms).await?,
            packet,
        };
        if let Some(decided) = decide_expiry(&facts, now_ms)? {
            apply(tx, &decided.plan).await?;
            fired.push(decided.fired);
        }
    }
    Ok(Keep::Commit(fired))
}

/// What the cashier and the wallet show of an order; `None` for unknown ids and disburse orders
/// (nobody pays those).
pub(crate) async fn payment_order(
    tx: &Transaction<'_>,
    auth_no: String,
) -> Result<Option<PaymentOrder>, Failure> {
    let Some(order) = order_by_auth_no(tx, &auth_no).await? else { return Ok(None) };
    let Some(fund_method) = order.fund_method.filter(|_| order.kind == OrderKind::Packet) else {
        return Ok(None);
    };
    let sql = "SELECT return_url, notify_charset, notify_sign_type FROM fund_order \
               WHERE auth_no = $1";
    let (return_url, charset, sign_type): (Option<String>, Option<String>, Option<String>) =
        match query_opt(tx, sql, &[&auth_no]).await? {
            Some(row) => (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?),
            None => (None, None, None),
        };
    let call = decoded(call_format(charset.as_deref(), sign_type.as_deref()))?;
    let view = load_view(tx, &order.first_operation_id).await?;
    Ok(Some(PaymentOrder {
        app_id: order.app_id,
        fund_method,
        status: order.packet.status,
        pay_deadline_ms: order.pay_deadline_ms,
        return_url,
        call,
        view,
    }))
}

/// The user a login (user id or logon id) and sandbox password name.
pub(crate) async fn authenticate(
    tx: &Transaction<'_>,
    login: String,
    password: String,
) -> Result<Option<String>, Failure> {
    let rows = query_all(
        tx,
        "SELECT user_id, logon_id, password FROM sandbox_user WHERE user_id = $1 OR logon_id = $1",
        &[&login],
    )
    .await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        candidates.push(LoginCandidate {
            user_id: row.try_get(0)?,
            logon_id: row.try_get(1)?,
            password: row.try_get(2)?,
        });
    }
    Ok(decide_login(&candidates, &login, &password))
}

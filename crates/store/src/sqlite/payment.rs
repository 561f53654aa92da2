//! The payer's side of a packet on SQLite: confirming a page.pay / app.pay order, and the
//! deadlines that close unpaid orders and refund expired packets. The rules are the ledger's
//! (`decide_payment`, `decide_close`, `decide_expiry`); this file loads and applies.

use super::apply::apply;
use super::commands::{
    balance, finish, first, load_view, new_operation_id, operation_by_request, order_by_auth_no,
};
use crate::notify::PaymentOrder;
use crate::rows::call_format;
use crate::{payment_result, Keep, StoreError};
use hongbao_ledger::decide::EXPIRE_REFUND;
use hongbao_ledger::{
    decide_close, decide_expiry, decide_login, decide_payment, Account, CompletePayment,
    ExpiryFacts, FiredDeadline, LoginCandidate, OperationView, OrderKind, PaymentFacts, Rejection,
};
use rusqlite::{params, Connection};

/// The payer confirms: money moves payer → custody, the PAY goes INIT → SUCCESS. Confirming an
/// order already paid by the same payer answers its result again (a double click).
pub fn complete_payment(
    conn: &Connection,
    cmd: &CompletePayment,
) -> Result<Keep<Result<OperationView, Rejection>>, StoreError> {
    let facts = PaymentFacts {
        order: order_by_auth_no(conn, &cmd.auth_no)?,
        payer_balance: balance(conn, &Account::User(cmd.payer_user_id.clone()))?,
    };
    Ok(match finish(conn, decide_payment(cmd, &facts)?)? {
        Keep::Commit(outcome) => Keep::Commit(payment_result(outcome)),
        Keep::Rollback(outcome) => Keep::Rollback(payment_result(outcome)),
    })
}

fn due(conn: &Connection, sql: &str, now_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params![now_ms, limit], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Closes unpaid packets past their pay deadline and refunds expired packets' remainders, at
/// most `limit` of each per call, notifying the pay call's notify_url.
pub fn fire_deadlines(
    conn: &Connection,
    now_ms: i64,
    limit: u32,
) -> Result<Keep<Vec<FiredDeadline>>, StoreError> {
    let mut fired = Vec::new();
    let unpaid = due(
        conn,
        "SELECT auth_no FROM fund_order WHERE status = 'WAIT_PAY' AND pay_deadline_ms <= ?1 \
         ORDER BY pay_deadline_ms LIMIT ?2",
        now_ms,
        limit,
    )?;
    for auth_no in unpaid {
        let Some(order) = order_by_auth_no(conn, &auth_no)? else { continue };
        if let Some(decided) = decide_close(&order, now_ms)? {
            apply(conn, &decided.plan)?;
            fired.push(decided.fired);
        }
    }
    let expiring = due(
        conn,
        "SELECT auth_no FROM fund_order WHERE status = 'FUNDED' AND kind = 'PACKET' \
         AND expired_at_ms IS NULL AND expire_at_ms <= ?1 ORDER BY expire_at_ms LIMIT ?2",
        now_ms,
        limit,
    )?;
    for auth_no in expiring {
        let Some(packet) = order_by_auth_no(conn, &auth_no)? else { continue };
        let facts = ExpiryFacts {
            expire_refund_taken: operation_by_request(conn, &auth_no, EXPIRE_REFUND)?.is_some(),
            operation_id: new_operation_id(conn, &packet.app_id, now_ms)?,
            packet,
        };
        if let Some(decided) = decide_expiry(&facts, now_ms)? {
            apply(conn, &decided.plan)?;
            fired.push(decided.fired);
        }
    }
    Ok(Keep::Commit(fired))
}

/// What the cashier and the wallet show of an order; `None` for unknown ids and disburse orders
/// (nobody pays those).
pub fn payment_order(conn: &Connection, auth_no: &str) -> Result<Option<PaymentOrder>, StoreError> {
    let Some(order) = order_by_auth_no(conn, auth_no)? else { return Ok(None) };
    let Some(fund_method) = order.fund_method.filter(|_| order.kind == OrderKind::Packet) else {
        return Ok(None);
    };
    let extra: Option<(Option<String>, Option<String>, Option<String>)> = first(
        conn,
        "SELECT return_url, notify_charset, notify_sign_type FROM fund_order WHERE auth_no = ?1",
        [auth_no],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let (return_url, charset, sign_type) = extra.unwrap_or_default();
    Ok(Some(PaymentOrder {
        app_id: order.app_id.clone(),
        fund_method,
        status: order.packet.status,
        pay_deadline_ms: order.pay_deadline_ms,
        return_url,
        call: call_format(charset.as_deref(), sign_type.as_deref())?,
        view: load_view(conn, &order.first_operation_id)?,
    }))
}

/// The user a login (user id or logon id) and sandbox password name.
pub fn authenticate(
    conn: &Connection,
    login: &str,
    password: &str,
) -> Result<Option<String>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT user_id, logon_id, password FROM sandbox_user WHERE user_id = ?1 OR logon_id = ?1",
    )?;
    let candidates = statement
        .query_map([login], |row| {
            Ok(LoginCandidate {
                user_id: row.get(0)?,
                logon_id: row.get(1)?,
                password: row.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(decide_login(&candidates, login, password))
}

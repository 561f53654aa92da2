//! Writing a ledger plan on SQLite. Every change of an existing row is guarded by the state the
//! ledger decided on, every debit by the balance covering it: a guard that refuses means the
//! facts were wrong, a bug (`StoreError::Bug`, the command's savepoint rolls back).

use super::commands::{exec, next_sequence, row};
use crate::StoreError;
use hongbao_ledger::{
    NewNotify, NewOperation, NewOrder, OperationChange, OrderChange, Plan, PlannedEntry,
    SandboxUser,
};
use rusqlite::{params, Connection};

/// Applies every part of `plan`, in the plan's field order.
pub(crate) fn apply(conn: &Connection, plan: &Plan) -> Result<(), StoreError> {
    if let Some(user) = &plan.new_user {
        insert_user(conn, user)?;
    }
    for account in &plan.new_accounts {
        exec(conn, "INSERT INTO account (account_id, balance_fen) VALUES (?1, 0)", [account.id()])?;
    }
    if let Some(order) = &plan.new_order {
        insert_order(conn, order)?;
    }
    if let Some(change) = &plan.order_change {
        change_order(conn, change)?;
    }
    if let Some(operation) = &plan.new_operation {
        insert_operation(conn, operation)?;
    }
    if let Some(change) = &plan.operation_change {
        change_operation(conn, change)?;
    }
    if let Some(entry) = &plan.entry {
        post_entry(conn, entry)?;
    }
    if let Some(notify) = &plan.notify {
        enqueue_notify(conn, notify)?;
    }
    Ok(())
}

/// A guard refused: the row was not in the state the ledger decided on.
pub(crate) fn guard_refused(what: String) -> StoreError {
    tracing::error!(%what, "a store guard refused a plan the ledger accepted");
    StoreError::bug(format!("guard refused: {what}"))
}

fn insert_user(conn: &Connection, user: &SandboxUser) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO sandbox_user (user_id, logon_id, password, real_name) VALUES (?1, ?2, ?3, ?4)",
        params![user.user_id, user.logon_id, user.password, user.real_name],
    )?;
    Ok(())
}

fn insert_order(conn: &Connection, order: &NewOrder) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, packet_auth_no, fund_method, \
         order_title, amount_fen, status, payer_user_id, payee_user_id, pay_timeout_minutes, \
         extra_param, notify_url, notify_charset, notify_sign_type, fingerprint, created_at_ms, \
         pay_deadline_ms, expire_after_ms, expire_at_ms, return_url, product, passback_params) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20, ?21, ?22, ?23, ?24)",
        params![
            order.auth_no,
            order.app_id,
            order.out_order_no,
            order.kind.as_str(),
            order.packet_auth_no,
            order.fund_method.map(|method| method.as_str()),
            order.order_title,
            order.amount.fen(),
            order.status.as_str(),
            order.payer_user_id,
            order.payee_user_id,
            order.pay_timeout_minutes,
            order.extra_param,
            order.notify.as_ref().map(|n| &n.url),
            // The call's format, with or without a notify_url (the payer's pages sign with it).
            order.call.map(|call| call.charset.as_str()),
            order.call.map(|call| call.sign_type.as_str()),
            order.fingerprint,
            order.created_at_ms,
            order.pay_deadline_ms,
            order.expire_after_ms,
            order.expire_at_ms,
            order.return_url,
            order.product.as_str(),
            order.passback_params
        ],
    )?;
    Ok(())
}

fn change_order(conn: &Connection, change: &OrderChange) -> Result<(), StoreError> {
    let (before, after) = (&change.before, &change.after);
    let changed = exec(
        conn,
        "UPDATE fund_order SET status = ?2, disbursed_fen = ?3, refunded_fen = ?4, \
         payer_user_id = ?5, expire_at_ms = ?6, expired_at_ms = ?7 \
         WHERE auth_no = ?1 AND status = ?8 AND disbursed_fen = ?9 AND refunded_fen = ?10 \
         AND payer_user_id IS ?11 AND expire_at_ms IS ?12 AND expired_at_ms IS ?13",
        params![
            change.auth_no,
            after.status.as_str(),
            after.disbursed.fen(),
            after.refunded.fen(),
            after.payer_user_id,
            after.expire_at_ms,
            after.expired_at_ms,
            before.status.as_str(),
            before.disbursed.fen(),
            before.refunded.fen(),
            before.payer_user_id,
            before.expire_at_ms,
            before.expired_at_ms
        ],
    )?;
    if changed != 1 {
        return Err(guard_refused(format!("order {} is not {before:?}", change.auth_no)));
    }
    Ok(())
}

fn insert_operation(conn: &Connection, op: &NewOperation) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO fund_operation (operation_id, auth_no, out_request_no, kind, status, amount_fen, \
         payer_user_id, payee_user_id, remark, fingerprint, notify_url, created_at_ms, trans_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            op.operation_id,
            op.auth_no,
            op.out_request_no,
            op.kind.as_str(),
            op.status.as_str(),
            op.amount.fen(),
            op.payer_user_id,
            op.payee_user_id,
            op.remark,
            op.fingerprint,
            op.notify_url,
            op.created_at_ms,
            op.trans_at_ms
        ],
    )?;
    Ok(())
}

fn change_operation(conn: &Connection, change: &OperationChange) -> Result<(), StoreError> {
    let changed = exec(
        conn,
        "UPDATE fund_operation SET status = ?2, payer_user_id = COALESCE(?3, payer_user_id), \
         trans_at_ms = COALESCE(?4, trans_at_ms) WHERE operation_id = ?1 AND status = ?5",
        params![
            change.operation_id,
            change.after.as_str(),
            change.payer_user_id,
            change.trans_at_ms,
            change.before.as_str()
        ],
    )?;
    if changed != 1 {
        return Err(guard_refused(format!(
            "operation {} is not {}",
            change.operation_id,
            change.before.as_str()
        )));
    }
    Ok(())
}

/// Records the entry and applies its postings; a debit only while the balance covers it
/// (issuance excepted), and an overflowing balance is refused by the schema's integer trigger.
fn post_entry(conn: &Connection, planned: &PlannedEntry) -> Result<(), StoreError> {
    let entry_id: i64 = row(
        conn,
        "INSERT INTO journal_entry (operation_id, memo, created_at_ms) VALUES (?1, ?2, ?3) \
         RETURNING entry_id",
        params![planned.operation_id, planned.memo.as_str(), planned.created_at_ms],
        |row| row.get(0),
    )?;
    for posting in planned.entry.postings() {
        let account_id = posting.account.id();
        exec(
            conn,
            "INSERT INTO posting (entry_id, account_id, amount_fen) VALUES (?1, ?2, ?3)",
            params![entry_id, account_id, posting.amount.fen()],
        )?;
        let changed = exec(
            conn,
            "UPDATE account SET balance_fen = balance_fen + ?2 \
             WHERE account_id = ?1 AND (account_id = 'issuance' OR balance_fen + ?2 >= 0)",
            params![account_id, posting.amount.fen()],
        )?;
        if changed != 1 {
            return Err(guard_refused(format!(
                "account {account_id} cannot take {}",
                posting.amount
            )));
        }
    }
    Ok(())
}

/// Writes the outbox row of a state change, in the command's own transaction: a notification
/// exists exactly when its money movement committed.
fn enqueue_notify(conn: &Connection, notify: &NewNotify) -> Result<(), StoreError> {
    let sequence = next_sequence(conn, "notify_id")?;
    let notify_id = format!("{:016x}{sequence:016x}", notify.created_at_ms);
    exec(
        conn,
        "INSERT INTO notify_outbox (notify_id, app_id, operation_id, event, notify_url, charset, \
         sign_type, status, next_attempt_at_ms, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'PENDING', ?8, ?8)",
        params![
            notify_id,
            notify.app_id,
            notify.operation_id,
            notify.event.as_str(),
            notify.target.url,
            notify.target.charset.as_str(),
            notify.target.sign_type.as_str(),
            notify.created_at_ms
        ],
    )?;
    Ok(())
}

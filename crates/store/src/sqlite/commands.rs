//! The commands as SQL, each run inside the writer's per-command savepoint.
//!
//! Order inside every command: resolve what the ids name (read only), compare with an earlier
//! identical request (replay or `UniqueViolation`), ask the ledger whether the movement is
//! allowed, then write with guarded statements that re-check the same rule in the database.
//! Anything refused returns `Keep::Rollback`, so a refused command leaves no trace and can be
//! fixed and resent with the same ids.

use crate::ids;
use crate::{SandboxUser, StoreError};
use hongbao_ledger::invariants::{OperationKind, OperationSnapshot, PacketSnapshot};
use hongbao_ledger::{
    check_fund, Account, DisburseCommand, Entry, FundCommand, FundMethod, LedgerSnapshot,
    NotifyEvent, NotifyTarget, OperationQuery, OperationRef, OperationStatus, OperationView,
    OrderRef, Outcome, Packet, PacketStatus, PayeeRef, Posting, RefundCommand, Rejection,
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

/// Whether the writer keeps a command's changes.
pub enum Keep<T> {
    /// Release the savepoint: the changes commit with the batch.
    Commit(T),
    /// Roll back to the savepoint: nothing of this command remains.
    Rollback(T),
}

pub(crate) fn rejected(rejection: Rejection) -> Result<Keep<Outcome>, StoreError> {
    Ok(Keep::Rollback(Outcome::Rejected(rejection)))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

pub(crate) fn next_sequence(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    Ok(row(conn,
        "UPDATE id_sequence SET next_value = next_value + 1 WHERE name = ?1 RETURNING next_value - 1",
        [name],
        |row| row.get(0),
    )?)
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

const ORDER_COLUMNS: &str = "auth_no, app_id, kind, amount_fen, disbursed_fen, refunded_fen, \
                             status, payer_user_id, fingerprint";

fn order_from_row(row: &Row<'_>) -> rusqlite::Result<(OrderRow, String)> {
    let status: String = row.get(6)?;
    Ok((
        OrderRow {
            auth_no: row.get(0)?,
            app_id: row.get(1)?,
            kind: row.get(2)?,
            packet: Packet {
                amount: Fen::from_fen(row.get(3)?),
                disbursed: Fen::from_fen(row.get(4)?),
                refunded: Fen::from_fen(row.get(5)?),
                status: PacketStatus::WaitPay,
            },
            payer_user_id: row.get(7)?,
            fingerprint: row.get(8)?,
        },
        status,
    ))
}

fn decode_order(found: Option<(OrderRow, String)>) -> Result<Option<OrderRow>, StoreError> {
    let Some((mut order, status)) = found else { return Ok(None) };
    order.packet.status = PacketStatus::parse(&status).ok_or_else(|| corrupt("order status"))?;
    Ok(Some(order))
}

pub(crate) fn order_by_auth_no(
    conn: &Connection,
    auth_no: &str,
) -> Result<Option<OrderRow>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM fund_order WHERE auth_no = ?1");
    decode_order(row(conn, &sql, [auth_no], order_from_row).optional()?)
}

fn order_by_out_order_no(
    conn: &Connection,
    app_id: &str,
    out_order_no: &str,
) -> Result<Option<OrderRow>, StoreError> {
    let sql =
        format!("SELECT {ORDER_COLUMNS} FROM fund_order WHERE app_id = ?1 AND out_order_no = ?2");
    decode_order(row(conn, &sql, [app_id, out_order_no], order_from_row).optional()?)
}

/// Finds the order an `OrderRef` names for `app_id`: Alipay's id first, then the merchant's.
fn resolve_order(
    conn: &Connection,
    app_id: &str,
    order: &OrderRef,
) -> Result<Result<OrderRow, Rejection>, StoreError> {
    let found = match order {
        OrderRef::AuthNo(auth_no) => order_by_auth_no(conn, auth_no)?,
        OrderRef::OutOrderNo(out_order_no) => order_by_out_order_no(conn, app_id, out_order_no)?,
    };
    Ok(match found {
        None => Err(Rejection::AuthOrderNotExist),
        Some(order) if order.app_id != app_id => Err(Rejection::AccessForbidden),
        Some(order) => Ok(order),
    })
}

/// Like `resolve_order`, and the order must be a packet (not a disburse's own order).
pub(crate) fn resolve_packet(
    conn: &Connection,
    app_id: &str,
    order: &OrderRef,
    field: &str,
) -> Result<Result<OrderRow, Rejection>, StoreError> {
    Ok(match resolve_order(conn, app_id, order)? {
        Ok(order) if order.kind != "PACKET" => Err(Rejection::IllegalArgument(format!(
            "{field} names a disburse order, not a red packet"
        ))),
        other => other,
    })
}

fn resolve_payee(
    conn: &Connection,
    payee: &PayeeRef,
) -> Result<Result<String, Rejection>, StoreError> {
    let by_logon = |logon_id: &str| -> Result<Option<String>, StoreError> {
        Ok(row(conn, "SELECT user_id FROM sandbox_user WHERE logon_id = ?1", [logon_id], |r| {
            r.get(0)
        })
        .optional()?)
    };
    let user_exists = |user_id: &str| -> Result<bool, StoreError> {
        Ok(row(conn, "SELECT 1 FROM sandbox_user WHERE user_id = ?1", [user_id], |_| Ok(()))
            .optional()?
            .is_some())
    };
    Ok(match payee {
        PayeeRef::UserId(user_id) => {
            if user_exists(user_id)? {
                Ok(user_id.clone())
            } else {
                Err(Rejection::PayeeNotExist)
            }
        }
        PayeeRef::LogonId(logon_id) => by_logon(logon_id)?.ok_or(Rejection::PayeeNotExist),
        PayeeRef::Both { user_id, logon_id } => match by_logon(logon_id)? {
            None => Err(Rejection::PayeeNotExist),
            Some(found) if &found != user_id => Err(Rejection::IllegalArgument(
                "payee_user_id and payee_logon_id name different users".into(),
            )),
            Some(found) => Ok(found),
        },
    })
}

pub(crate) fn user_balance_in(conn: &Connection, user_id: &str) -> Result<Option<Fen>, StoreError> {
    Ok(row(
        conn,
        "SELECT balance_fen FROM account WHERE account_id = ?1",
        [Account::User(user_id.to_owned()).id()],
        |row| row.get::<_, i64>(0),
    )
    .optional()?
    .map(Fen::from_fen))
}

/// Records `entry` for `operation_id` and applies its postings with guarded updates.
/// `Err(())` inside means a guard refused a posting (an account would go negative).
pub(crate) fn post_entry(
    conn: &Connection,
    operation_id: Option<&str>,
    memo: &str,
    entry: &Entry,
    now_ms: i64,
) -> Result<Result<(), ()>, StoreError> {
    let entry_id: i64 = row(conn,
        "INSERT INTO journal_entry (operation_id, memo, created_at_ms) VALUES (?1, ?2, ?3) RETURNING entry_id",
        params![operation_id, memo, now_ms],
        |row| row.get(0),
    )?;
    for posting in entry.postings() {
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
            return Ok(Err(()));
        }
    }
    Ok(Ok(()))
}

pub(crate) fn fund_operation_id(conn: &Connection, auth_no: &str) -> Result<String, StoreError> {
    Ok(row(conn,
        "SELECT operation_id FROM fund_operation WHERE auth_no = ?1 AND kind IN ('FUND', 'DISBURSE') \
         ORDER BY created_at_ms LIMIT 1",
        [auth_no],
        |row| row.get(0),
    )?)
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

fn insert_order(conn: &Connection, order: &NewOrder<'_>) -> Result<(), StoreError> {
    exec(conn,
        "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, packet_auth_no, fund_method, \
         order_title, amount_fen, status, payer_user_id, payee_user_id, pay_timeout_minutes, \
         extra_param, notify_url, notify_charset, notify_sign_type, fingerprint, created_at_ms, \
         pay_deadline_ms, expire_after_ms, expire_at_ms, return_url) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20, ?21, ?22)",
        params![
            order.auth_no,
            order.app_id,
            order.out_order_no,
            order.kind,
            order.packet_auth_no,
            order.fund_method,
            order.order_title,
            order.amount.fen(),
            order.status.as_str(),
            order.payer_user_id,
            order.payee_user_id,
            order.pay_timeout_minutes,
            order.extra_param,
            order.notify.map(|n| &n.url),
            order.notify.map(|n| &n.charset),
            order.notify.map(|n| &n.sign_type),
            order.fingerprint,
            order.now_ms,
            order.pay_deadline_ms,
            order.expire_after_ms,
            order.expire_at_ms,
            order.return_url
        ],
    )?;
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

/// Inserts the operation and applies its movement. `Ok(Err(()))`: a guard refused a posting
/// (the caller rolls back with its own rejection).
pub(crate) fn insert_operation(
    conn: &Connection,
    op: NewOperation<'_>,
) -> Result<Result<(), ()>, StoreError> {
    let trans_at_ms = (op.status == OperationStatus::Success).then_some(op.now_ms);
    exec(conn,
        "INSERT INTO fund_operation (operation_id, auth_no, out_request_no, kind, status, amount_fen, \
         payer_user_id, payee_user_id, remark, fingerprint, notify_url, created_at_ms, trans_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            op.operation_id,
            op.auth_no,
            op.out_request_no,
            op.kind,
            op.status.as_str(),
            op.amount.fen(),
            op.payer_user_id,
            op.payee_user_id,
            op.remark,
            op.fingerprint,
            op.notify.map(|n| &n.url),
            op.now_ms,
            trans_at_ms
        ],
    )?;
    if let Some((from, to, event)) = op.movement {
        let entry = Entry::transfer(from, to, op.amount)?;
        let memo = op.kind.to_ascii_lowercase();
        if post_entry(conn, Some(op.operation_id), &memo, &entry, op.now_ms)?.is_err() {
            return Ok(Err(()));
        }
        enqueue_notify(conn, op.app_id, op.operation_id, event, op.notify, op.now_ms)?;
    }
    Ok(Ok(()))
}

/// Writes the outbox row of a state change, in the command's own transaction: a notification
/// exists exactly when its money movement committed.
pub(crate) fn enqueue_notify(
    conn: &Connection,
    app_id: &str,
    operation_id: &str,
    event: NotifyEvent,
    target: Option<&NotifyTarget>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(target) = target else { return Ok(()) };
    let sequence = next_sequence(conn, "notify_id")?;
    let notify_id = format!("{now_ms:016x}{sequence:016x}");
    exec(
        conn,
        "INSERT INTO notify_outbox (notify_id, app_id, operation_id, event, notify_url, charset, \
         sign_type, status, next_attempt_at_ms, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'PENDING', ?8, ?8)",
        params![
            notify_id,
            app_id,
            operation_id,
            event.as_str(),
            target.url,
            target.charset,
            target.sign_type,
            now_ms
        ],
    )?;
    Ok(())
}

/// Adds `amount` to a funded packet's `disbursed_fen` or `refunded_fen` with a guarded update
/// (the database's own check of what the ledger allowed). False when the guard refused.
pub(crate) fn take_from_packet(
    conn: &Connection,
    auth_no: &str,
    column: &str,
    amount: Fen,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE fund_order SET {column} = {column} + ?1 \
         WHERE auth_no = ?2 AND status = 'FUNDED' AND amount_fen - disbursed_fen - refunded_fen >= ?1"
    );
    Ok(exec(conn, &sql, params![amount.fen(), auth_no])? == 1)
}

pub fn fund(conn: &Connection, cmd: &FundCommand) -> Result<Keep<Outcome>, StoreError> {
    let fingerprint = cmd.fingerprint();
    if let Some(existing) = order_by_out_order_no(conn, &cmd.app_id, &cmd.out_order_no)? {
        if existing.kind == "PACKET" && existing.fingerprint == fingerprint {
            let operation_id = fund_operation_id(conn, &existing.auth_no)?;
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(conn, &operation_id)?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    let immediate = cmd.method == FundMethod::Agreement;
    if let Some(payer) = &cmd.payer_user_id {
        let Some(balance) = user_balance_in(conn, payer)? else {
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
    let auth_no = ids::auth_no(cmd.now_ms, route, next_sequence(conn, "auth_no")?);
    let operation_id = ids::operation_id(cmd.now_ms, route, next_sequence(conn, "operation_id")?);
    let (order_status, operation_status) = if immediate {
        (PacketStatus::Funded, OperationStatus::Success)
    } else {
        (PacketStatus::WaitPay, OperationStatus::Init)
    };
    insert_order(
        conn,
        &NewOrder {
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
        },
    )?;
    exec(
        conn,
        "INSERT INTO account (account_id, balance_fen) VALUES (?1, 0)",
        [Account::Custody(auth_no.clone()).id()],
    )?;
    let movement = match (immediate, &cmd.payer_user_id) {
        (true, Some(payer)) => Some((
            Account::User(payer.clone()),
            Account::Custody(auth_no.clone()),
            NotifyEvent::PaySuccess,
        )),
        _ => None,
    };
    let inserted = insert_operation(
        conn,
        NewOperation {
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
        },
    )?;
    if inserted.is_err() {
        return rejected(Rejection::BalanceNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(load_view(conn, &operation_id)?)))
}

pub fn disburse(conn: &Connection, cmd: &DisburseCommand) -> Result<Keep<Outcome>, StoreError> {
    let field = match &cmd.packet {
        OrderRef::AuthNo(_) => "deduct_auth_no",
        OrderRef::OutOrderNo(_) => "deduct_out_order_no",
    };
    let packet = match resolve_packet(conn, &cmd.app_id, &cmd.packet, field)? {
        Ok(packet) => packet,
        Err(rejection) => return rejected(rejection),
    };
    let payee = match resolve_payee(conn, &cmd.payee)? {
        Ok(payee) => payee,
        Err(rejection) => return rejected(rejection),
    };
    let fingerprint = cmd.fingerprint(&packet.auth_no, &payee);
    if let Some(existing) = order_by_out_order_no(conn, &cmd.app_id, &cmd.out_order_no)? {
        if existing.kind == "DISBURSE" && existing.fingerprint == fingerprint {
            let operation_id = fund_operation_id(conn, &existing.auth_no)?;
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(conn, &operation_id)?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    if let Err(rejection) = packet.packet.disburse(cmd.amount)? {
        return rejected(rejection);
    }
    if !take_from_packet(conn, &packet.auth_no, "disbursed_fen", cmd.amount)? {
        return rejected(Rejection::MoneyNotEnough);
    }
    let route = ids::route_digits(&cmd.app_id);
    let auth_no = ids::auth_no(cmd.now_ms, route, next_sequence(conn, "auth_no")?);
    let operation_id = ids::operation_id(cmd.now_ms, route, next_sequence(conn, "operation_id")?);
    insert_order(
        conn,
        &NewOrder {
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
        },
    )?;
    let inserted = insert_operation(
        conn,
        NewOperation {
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
        },
    )?;
    if inserted.is_err() {
        return rejected(Rejection::MoneyNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(load_view(conn, &operation_id)?)))
}

pub fn refund(conn: &Connection, cmd: &RefundCommand) -> Result<Keep<Outcome>, StoreError> {
    let packet_ref = OrderRef::AuthNo(cmd.auth_no.clone());
    let packet = match resolve_packet(conn, &cmd.app_id, &packet_ref, "auth_no")? {
        Ok(packet) => packet,
        Err(rejection) => return rejected(rejection),
    };
    let fingerprint = cmd.fingerprint();
    let existing: Option<(String, String, String)> = row(
        conn,
        "SELECT operation_id, kind, fingerprint FROM fund_operation \
             WHERE auth_no = ?1 AND out_request_no = ?2",
        params![packet.auth_no, cmd.out_request_no],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .optional()?;
    if let Some((operation_id, kind, stored)) = existing {
        if kind == "REFUND" && stored == fingerprint {
            return Ok(Keep::Rollback(Outcome::Replayed(load_view(conn, &operation_id)?)));
        }
        return rejected(Rejection::UniqueViolation);
    }
    if let Err(rejection) = packet.packet.refund(cmd.amount)? {
        return rejected(rejection);
    }
    let Some(payer) = packet.payer_user_id.clone() else {
        return rejected(Rejection::OrderStatusInvalid);
    };
    if !take_from_packet(conn, &packet.auth_no, "refunded_fen", cmd.amount)? {
        return rejected(Rejection::MoneyNotEnough);
    }
    let route = ids::route_digits(&cmd.app_id);
    let operation_id = ids::operation_id(cmd.now_ms, route, next_sequence(conn, "operation_id")?);
    let inserted = insert_operation(
        conn,
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
    )?;
    if inserted.is_err() {
        return rejected(Rejection::MoneyNotEnough);
    }
    Ok(Keep::Commit(Outcome::Applied(load_view(conn, &operation_id)?)))
}

pub fn query(
    conn: &Connection,
    query: &OperationQuery,
) -> Result<Result<OperationView, Rejection>, StoreError> {
    let order = match resolve_order(conn, &query.app_id, &query.order)? {
        Ok(order) => order,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let operation_id: Option<String> = match &query.operation {
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
    };
    match operation_id {
        None => Ok(Err(Rejection::AuthOperationNotExist)),
        Some(operation_id) => Ok(Ok(load_view(conn, &operation_id)?)),
    }
}

pub(crate) fn load_view(
    conn: &Connection,
    operation_id: &str,
) -> Result<OperationView, StoreError> {
    let row = row(
        conn,
        "SELECT op.operation_id, op.out_request_no, op.kind, op.status, op.amount_fen, op.remark, \
                op.payer_user_id, op.payee_user_id, op.created_at_ms, op.trans_at_ms, \
                o.auth_no, o.out_order_no, o.order_title, o.extra_param, \
                COALESCE(p.refunded_fen, o.refunded_fen), payer.logon_id, payee.logon_id \
         FROM fund_operation op \
         JOIN fund_order o ON o.auth_no = op.auth_no \
         LEFT JOIN fund_order p ON p.auth_no = o.packet_auth_no \
         LEFT JOIN sandbox_user payer ON payer.user_id = op.payer_user_id \
         LEFT JOIN sandbox_user payee ON payee.user_id = op.payee_user_id \
         WHERE op.operation_id = ?1",
        [operation_id],
        |row| {
            Ok((
                (
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, String>(5)?,
                ),
                (
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, Option<String>>(7)?,
                    row.get::<_, i64>(8)?,
                    row.get::<_, Option<i64>>(9)?,
                ),
                (
                    row.get::<_, String>(10)?,
                    row.get::<_, String>(11)?,
                    row.get::<_, String>(12)?,
                    row.get::<_, Option<String>>(13)?,
                    row.get::<_, i64>(14)?,
                    row.get::<_, Option<String>>(15)?,
                    row.get::<_, Option<String>>(16)?,
                ),
            ))
        },
    )?;
    let (
        (operation_id, out_request_no, kind, status, amount, remark),
        (payer, payee, created, trans),
        order,
    ) = row;
    let (auth_no, out_order_no, order_title, extra_param, refunded, payer_logon, payee_logon) =
        order;
    let kind = operation_kind(&kind)?;
    Ok(OperationView {
        auth_no,
        out_order_no,
        operation_id,
        out_request_no,
        amount: Fen::from_fen(amount),
        order_title,
        operation_type: kind.operation_type(),
        status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
        remark,
        payer_user_id: payer,
        payer_logon_id: payer_logon,
        payee_user_id: payee,
        payee_logon_id: payee_logon,
        gmt_create_ms: created,
        gmt_trans_ms: trans,
        extra_param,
        total_pay_refund_amount: Fen::from_fen(refunded),
    })
}

fn operation_kind(text: &str) -> Result<OperationKind, StoreError> {
    match text {
        "FUND" => Ok(OperationKind::Fund),
        "DISBURSE" => Ok(OperationKind::Disburse),
        "REFUND" => Ok(OperationKind::Refund),
        _ => Err(corrupt("operation kind")),
    }
}

pub fn ensure_user(
    conn: &Connection,
    user: &SandboxUser,
    now_ms: i64,
) -> Result<Keep<bool>, StoreError> {
    let inserted = exec(
        conn,
        "INSERT INTO sandbox_user (user_id, logon_id, password) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO NOTHING",
        params![user.user_id, user.logon_id, user.password],
    )? == 1;
    if !inserted {
        return Ok(Keep::Rollback(false));
    }
    let account = Account::User(user.user_id.clone());
    exec(conn, "INSERT INTO account (account_id, balance_fen) VALUES (?1, 0)", [account.id()])?;
    if user.opening_balance.is_positive() {
        let entry = Entry::transfer(Account::Issuance, account, user.opening_balance)?;
        if post_entry(conn, None, "issuance", &entry, now_ms)?.is_err() {
            return Err(StoreError::Bug(hongbao_ledger::Bug("issuance refused".into())));
        }
    }
    Ok(Keep::Commit(true))
}

pub fn user_balance(conn: &Connection, user_id: &str) -> Result<Option<Fen>, StoreError> {
    user_balance_in(conn, user_id)
}

pub fn snapshot(conn: &Connection) -> Result<LedgerSnapshot, StoreError> {
    // One read transaction, so the snapshot is consistent.
    conn.execute_batch("BEGIN")?;
    let result = snapshot_in(conn);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn snapshot_in(conn: &Connection) -> Result<LedgerSnapshot, StoreError> {
    let mut snapshot = LedgerSnapshot::default();
    let mut stmt = conn.prepare("SELECT account_id, balance_fen FROM account")?;
    let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
    for row in rows {
        let (id, balance) = row?;
        let account = Account::parse(&id).ok_or_else(|| corrupt("account id"))?;
        snapshot.balances.push((account, Fen::from_fen(balance)));
    }
    let mut stmt =
        conn.prepare("SELECT entry_id, account_id, amount_fen FROM posting ORDER BY entry_id")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
    })?;
    let mut current: Option<(i64, Vec<Posting>)> = None;
    for row in rows {
        let (entry_id, account_id, amount) = row?;
        let account = Account::parse(&account_id).ok_or_else(|| corrupt("posting account"))?;
        let posting = Posting { account, amount: Fen::from_fen(amount) };
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
    let mut stmt =
        conn.prepare(&format!("SELECT {ORDER_COLUMNS} FROM fund_order WHERE kind = 'PACKET'"))?;
    let rows = stmt.query_map([], order_from_row)?;
    for row in rows {
        if let Some(order) = decode_order(Some(row?))? {
            snapshot.packets.push(PacketSnapshot { auth_no: order.auth_no, packet: order.packet });
        }
    }
    let mut stmt = conn.prepare(
        "SELECT op.operation_id, COALESCE(o.packet_auth_no, o.auth_no), op.kind, op.status, op.amount_fen, \
                (SELECT COUNT(*) FROM journal_entry j WHERE j.operation_id = op.operation_id) \
         FROM fund_operation op JOIN fund_order o ON o.auth_no = op.auth_no",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (operation_id, packet_auth_no, kind, status, amount, entries) = row?;
        snapshot.operations.push(OperationSnapshot {
            operation_id,
            packet_auth_no,
            kind: operation_kind(&kind)?,
            status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
            amount: Fen::from_fen(amount),
            entries: usize::try_from(entries).unwrap_or(usize::MAX),
        });
    }
    Ok(snapshot)
}

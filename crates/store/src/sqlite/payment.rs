//! The payer's side of a packet: confirming a page.pay / app.pay order, and the deadlines that
//! close unpaid orders and refund expired packets.

use super::commands::{
    enqueue_notify, exec, fund_operation_id, insert_operation, load_view, order_by_auth_no,
    resolve_packet, row, take_from_packet, user_balance_in, Keep, NewOperation, OrderRow,
};
use crate::notify::PaymentOrder;
use crate::StoreError;
use hongbao_ledger::{
    check_fund, Account, CompletePayment, FiredDeadline, NotifyEvent, NotifyTarget,
    OperationStatus, OperationView, OrderRef, PacketStatus, Rejection,
};
use hongbao_money::Fen;
use rusqlite::{params, Connection, OptionalExtension};

/// The stored notify target of an order (the pay call's), if it gave a notify_url.
fn order_notify_target(
    conn: &Connection,
    auth_no: &str,
) -> Result<Option<NotifyTarget>, StoreError> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = row(
        conn,
        "SELECT notify_url, notify_charset, notify_sign_type FROM fund_order WHERE auth_no = ?1",
        [auth_no],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .optional()?;
    Ok(match row {
        Some((Some(url), charset, sign_type)) => Some(NotifyTarget {
            url,
            charset: charset.unwrap_or_else(|| "utf-8".into()),
            sign_type: sign_type.unwrap_or_else(|| "RSA2".into()),
        }),
        _ => None,
    })
}

fn app_of(conn: &Connection, auth_no: &str) -> Result<String, StoreError> {
    Ok(row(conn, "SELECT app_id FROM fund_order WHERE auth_no = ?1", [auth_no], |row| row.get(0))?)
}

/// The payer confirms: money moves payer → custody, the PAY goes INIT → SUCCESS. Confirming an
/// order already paid by the same payer answers its result again (a double click).
pub fn complete_payment(
    conn: &Connection,
    cmd: &CompletePayment,
) -> Result<Keep<Result<OperationView, Rejection>>, StoreError> {
    let refuse = |rejection| Ok(Keep::Rollback(Err(rejection)));
    let Some(order) = order_by_auth_no(conn, &cmd.auth_no)? else {
        return refuse(Rejection::AuthOrderNotExist);
    };
    if order.kind != "PACKET" {
        return refuse(Rejection::IllegalArgument("not a red packet".into()));
    }
    let operation_id = fund_operation_id(conn, &order.auth_no)?;
    match order.packet.status {
        PacketStatus::Funded
            if order.payer_user_id.as_deref() == Some(cmd.payer_user_id.as_str()) =>
        {
            return Ok(Keep::Rollback(Ok(load_view(conn, &operation_id)?)));
        }
        PacketStatus::Funded | PacketStatus::Closed => {
            return refuse(Rejection::OrderStatusInvalid)
        }
        PacketStatus::WaitPay => {}
    }
    let deadline: Option<i64> = row(
        conn,
        "SELECT pay_deadline_ms FROM fund_order WHERE auth_no = ?1",
        [&order.auth_no],
        |r| r.get(0),
    )?;
    if deadline.is_some_and(|deadline| cmd.now_ms >= deadline) {
        return refuse(Rejection::OrderStatusInvalid);
    }
    let Some(balance) = user_balance_in(conn, &cmd.payer_user_id)? else {
        return refuse(Rejection::PayerNotExist);
    };
    if let Err(rejection) = check_fund(balance, order.packet.amount) {
        return refuse(rejection);
    }
    let funded = exec(conn,
        "UPDATE fund_order SET status = 'FUNDED', payer_user_id = ?2, expire_at_ms = ?3 + COALESCE(expire_after_ms, 0) \
         WHERE auth_no = ?1 AND status = 'WAIT_PAY'",
        params![order.auth_no, cmd.payer_user_id, cmd.now_ms],
    )?;
    let succeeded = exec(
        conn,
        "UPDATE fund_operation SET status = 'SUCCESS', payer_user_id = ?2, trans_at_ms = ?3 \
         WHERE operation_id = ?1 AND status = 'INIT'",
        params![operation_id, cmd.payer_user_id, cmd.now_ms],
    )?;
    if funded != 1 || succeeded != 1 {
        return refuse(Rejection::OrderStatusInvalid);
    }
    let entry = hongbao_ledger::Entry::transfer(
        Account::User(cmd.payer_user_id.clone()),
        Account::Custody(order.auth_no.clone()),
        order.packet.amount,
    )?;
    if super::commands::post_entry(conn, Some(&operation_id), "fund", &entry, cmd.now_ms)?.is_err()
    {
        return refuse(Rejection::BalanceNotEnough);
    }
    let target = order_notify_target(conn, &order.auth_no)?;
    enqueue_notify(
        conn,
        &order.app_id,
        &operation_id,
        NotifyEvent::PaySuccess,
        target.as_ref(),
        cmd.now_ms,
    )?;
    Ok(Keep::Commit(Ok(load_view(conn, &operation_id)?)))
}

/// Closes unpaid packets past their pay deadline and refunds expired packets' remainders, at
/// most `limit` of each per call, notifying the pay call's notify_url.
pub fn fire_deadlines(
    conn: &Connection,
    now_ms: i64,
    limit: u32,
) -> Result<Keep<Vec<FiredDeadline>>, StoreError> {
    let mut fired = Vec::new();
    let unpaid: Vec<String> = conn
        .prepare(
            "SELECT auth_no FROM fund_order WHERE status = 'WAIT_PAY' AND pay_deadline_ms <= ?1 \
             ORDER BY pay_deadline_ms LIMIT ?2",
        )?
        .query_map(params![now_ms, limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for auth_no in unpaid {
        let closed = exec(
            conn,
            "UPDATE fund_order SET status = 'CLOSED' WHERE auth_no = ?1 AND status = 'WAIT_PAY'",
            [&auth_no],
        )?;
        if closed != 1 {
            continue;
        }
        let operation_id = fund_operation_id(conn, &auth_no)?;
        exec(conn,
            "UPDATE fund_operation SET status = 'CLOSED' WHERE operation_id = ?1 AND status = 'INIT'",
            [&operation_id],
        )?;
        let target = order_notify_target(conn, &auth_no)?;
        let app_id = app_of(conn, &auth_no)?;
        enqueue_notify(
            conn,
            &app_id,
            &operation_id,
            NotifyEvent::PayClosed,
            target.as_ref(),
            now_ms,
        )?;
        fired.push(FiredDeadline::Closed { auth_no });
    }
    let expired: Vec<String> = conn
        .prepare(
            "SELECT auth_no FROM fund_order WHERE status = 'FUNDED' AND kind = 'PACKET' \
             AND expired_at_ms IS NULL AND expire_at_ms <= ?1 ORDER BY expire_at_ms LIMIT ?2",
        )?
        .query_map(params![now_ms, limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for auth_no in expired {
        exec(
            conn,
            "UPDATE fund_order SET expired_at_ms = ?2 WHERE auth_no = ?1",
            params![auth_no, now_ms],
        )?;
        let app_id = app_of(conn, &auth_no)?;
        let packet =
            match resolve_packet(conn, &app_id, &OrderRef::AuthNo(auth_no.clone()), "auth_no")? {
                Ok(packet) => packet,
                Err(_) => continue,
            };
        let remaining = packet.packet.remaining();
        if remaining.is_positive() {
            expire_refund(conn, &packet, &app_id, remaining, now_ms)?;
        }
        fired.push(FiredDeadline::Expired { auth_no, refunded: remaining });
    }
    Ok(Keep::Commit(fired))
}

/// The automatic refund of an expired packet's remainder: a REFUND operation like any other,
/// visible in operation.query (out_request_no `EXPIRE_REFUND`) and in total_pay_refund_amount.
fn expire_refund(
    conn: &Connection,
    packet: &OrderRow,
    app_id: &str,
    remaining: Fen,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(payer) = packet.payer_user_id.clone() else { return Ok(()) };
    if let Err(rejection) = packet.packet.refund(remaining)? {
        return Err(StoreError::Bug(hongbao_ledger::Bug(format!(
            "expiry refund refused: {rejection}"
        ))));
    }
    if !take_from_packet(conn, &packet.auth_no, "refunded_fen", remaining)? {
        return Err(StoreError::Bug(hongbao_ledger::Bug("expiry refund guard refused".into())));
    }
    let taken: bool = row(
        conn,
        "SELECT 1 FROM fund_operation WHERE auth_no = ?1 AND out_request_no = 'EXPIRE_REFUND'",
        [&packet.auth_no],
        |_| Ok(()),
    )
    .optional()?
    .is_some();
    let route = crate::ids::route_digits(app_id);
    let sequence = super::commands::next_sequence(conn, "operation_id")?;
    let operation_id = crate::ids::operation_id(now_ms, route, sequence);
    let out_request_no =
        if taken { format!("EXPIRE_REFUND_{operation_id}") } else { "EXPIRE_REFUND".to_owned() };
    let target = order_notify_target(conn, &packet.auth_no)?;
    let inserted = insert_operation(
        conn,
        NewOperation {
            operation_id: &operation_id,
            auth_no: &packet.auth_no,
            out_request_no: &out_request_no,
            kind: "REFUND",
            status: OperationStatus::Success,
            amount: remaining,
            payer_user_id: Some(&payer),
            payee_user_id: None,
            remark: "红包过期自动退回",
            fingerprint: "expire",
            app_id,
            notify: target.as_ref(),
            movement: Some((
                Account::Custody(packet.auth_no.clone()),
                Account::User(payer.clone()),
                NotifyEvent::RefundSuccess,
            )),
            now_ms,
        },
    )?;
    if inserted.is_err() {
        return Err(StoreError::Bug(hongbao_ledger::Bug("expiry refund posting refused".into())));
    }
    Ok(())
}

/// What the cashier and the wallet show of an order.
pub fn payment_order(conn: &Connection, auth_no: &str) -> Result<Option<PaymentOrder>, StoreError> {
    // app_id, fund_method, status, pay_deadline_ms, return_url, kind
    type Row = (String, Option<String>, String, Option<i64>, Option<String>, String);
    let row: Option<Row> = row(conn,
            "SELECT app_id, fund_method, status, pay_deadline_ms, return_url, kind FROM fund_order WHERE auth_no = ?1",
            [auth_no],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )
        .optional()?;
    let Some((app_id, fund_method, status, pay_deadline_ms, return_url, kind)) = row else {
        return Ok(None);
    };
    if kind != "PACKET" {
        return Ok(None);
    }
    let status =
        PacketStatus::parse(&status).ok_or_else(|| StoreError::Corrupt("order status".into()))?;
    let view = load_view(conn, &fund_operation_id(conn, auth_no)?)?;
    Ok(Some(PaymentOrder {
        app_id,
        fund_method: fund_method.unwrap_or_default(),
        status,
        pay_deadline_ms,
        return_url,
        view,
    }))
}

/// The user a login (user id or logon id) and sandbox password name.
pub fn authenticate(
    conn: &Connection,
    login: &str,
    password: &str,
) -> Result<Option<String>, StoreError> {
    let found: Option<(String, String)> = row(
        conn,
        "SELECT user_id, password FROM sandbox_user WHERE user_id = ?1 OR logon_id = ?1",
        [login],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()?;
    Ok(found
        .filter(|(_, stored)| constant_time_eq(stored.as_bytes(), password.as_bytes()))
        .map(|(user_id, _)| user_id))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

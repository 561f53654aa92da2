//! The payer's side of a packet in PostgreSQL: confirming a page.pay / app.pay order, and the
//! deadlines that close unpaid orders and refund expired packets (`sqlite::payment` in
//! PostgreSQL's words). Every process runs the deadline scheduler: `FOR UPDATE SKIP LOCKED`
//! gives each due packet to one of them, and the guarded status updates make a second firing a
//! no-op.

use super::commands::{
    enqueue_notify, execute, fund_operation_id, insert_operation, load_view, lock_packet,
    order_by_auth_no, post_entry, query_all, query_one, query_opt, take_from_packet,
    user_balance_in, NewOperation, OrderRow,
};
use super::Failure;
use crate::notify::PaymentOrder;
use crate::sqlite::Keep;
use crate::StoreError;
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    check_fund, Account, Bug, CompletePayment, Entry, FiredDeadline, NotifyEvent, NotifyTarget,
    OperationStatus, OperationView, PacketStatus, Rejection,
};
use hongbao_money::Fen;

/// The stored notify target of an order (the pay call's), if it gave a notify_url.
async fn order_notify_target(
    tx: &Transaction<'_>,
    auth_no: &str,
) -> Result<Option<NotifyTarget>, Failure> {
    let Some(row) = query_opt(
        tx,
        "SELECT notify_url, notify_charset, notify_sign_type FROM fund_order WHERE auth_no = $1",
        &[&auth_no],
    )
    .await?
    else {
        return Ok(None);
    };
    let url: Option<String> = row.try_get(0)?;
    let charset: Option<String> = row.try_get(1)?;
    let sign_type: Option<String> = row.try_get(2)?;
    Ok(url.map(|url| NotifyTarget {
        url,
        charset: charset.unwrap_or_else(|| "utf-8".into()),
        sign_type: sign_type.unwrap_or_else(|| "RSA2".into()),
    }))
}

fn bug(text: String) -> Failure {
    Failure::Store(StoreError::Bug(Bug(text)))
}

/// The payer confirms: money moves payer → custody, the PAY goes INIT → SUCCESS. Confirming an
/// order already paid by the same payer answers its result again (a double click).
pub(crate) async fn complete_payment(
    tx: &Transaction<'_>,
    cmd: CompletePayment,
) -> Result<Keep<Result<OperationView, Rejection>>, Failure> {
    let refuse = |rejection| Ok(Keep::Rollback(Err(rejection)));
    let Some(found) = order_by_auth_no(tx, &cmd.auth_no).await? else {
        return refuse(Rejection::AuthOrderNotExist);
    };
    if found.kind != "PACKET" {
        return refuse(Rejection::IllegalArgument("not a red packet".into()));
    }
    // Two confirmations of one order (two tabs, two processes) run one after the other: the
    // second sees the first one's FUNDED row and answers its result.
    let order = lock_packet(tx, &found.auth_no).await?;
    let operation_id = fund_operation_id(tx, &order.auth_no).await?;
    match order.packet.status {
        PacketStatus::Funded
            if order.payer_user_id.as_deref() == Some(cmd.payer_user_id.as_str()) =>
        {
            return Ok(Keep::Rollback(Ok(load_view(tx, &operation_id).await?)));
        }
        PacketStatus::Funded | PacketStatus::Closed => {
            return refuse(Rejection::OrderStatusInvalid)
        }
        PacketStatus::WaitPay => {}
    }
    let deadline: Option<i64> = query_one(
        tx,
        "SELECT pay_deadline_ms FROM fund_order WHERE auth_no = $1",
        &[&order.auth_no],
    )
    .await?
    .try_get(0)?;
    if deadline.is_some_and(|deadline| cmd.now_ms >= deadline) {
        return refuse(Rejection::OrderStatusInvalid);
    }
    let Some(balance) = user_balance_in(tx, &cmd.payer_user_id).await? else {
        return refuse(Rejection::PayerNotExist);
    };
    if let Err(rejection) = check_fund(balance, order.packet.amount) {
        return refuse(rejection);
    }
    let funded = execute(
        tx,
        "UPDATE fund_order SET status = 'FUNDED', payer_user_id = $2, \
         expire_at_ms = $3 + COALESCE(expire_after_ms, 0) \
         WHERE auth_no = $1 AND status = 'WAIT_PAY'",
        &[&order.auth_no, &cmd.payer_user_id, &cmd.now_ms],
    )
    .await?;
    let succeeded = execute(
        tx,
        "UPDATE fund_operation SET status = 'SUCCESS', payer_user_id = $2, trans_at_ms = $3 \
         WHERE operation_id = $1 AND status = 'INIT'",
        &[&operation_id, &cmd.payer_user_id, &cmd.now_ms],
    )
    .await?;
    if funded != 1 || succeeded != 1 {
        return refuse(Rejection::OrderStatusInvalid);
    }
    let entry = Entry::transfer(
        Account::User(cmd.payer_user_id.clone()),
        Account::Custody(order.auth_no.clone()),
        order.packet.amount,
    )?;
    if post_entry(tx, Some(&operation_id), "fund", &entry, cmd.now_ms).await?.is_err() {
        return refuse(Rejection::BalanceNotEnough);
    }
    let target = order_notify_target(tx, &order.auth_no).await?;
    enqueue_notify(
        tx,
        &order.app_id,
        &operation_id,
        NotifyEvent::PaySuccess,
        target.as_ref(),
        cmd.now_ms,
    )
    .await?;
    Ok(Keep::Commit(Ok(load_view(tx, &operation_id).await?)))
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
    // Packets another process is firing right now are skipped; it closes them.
    let unpaid = query_all(
        tx,
        "SELECT auth_no, app_id FROM fund_order WHERE status = 'WAIT_PAY' AND pay_deadline_ms <= $1 \
         ORDER BY pay_deadline_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
        &[&now_ms, &limit],
    )
    .await?;
    for row in unpaid {
        let auth_no: String = row.try_get(0)?;
        let app_id: String = row.try_get(1)?;
        let closed = execute(
            tx,
            "UPDATE fund_order SET status = 'CLOSED' WHERE auth_no = $1 AND status = 'WAIT_PAY'",
            &[&auth_no],
        )
        .await?;
        if closed != 1 {
            continue;
        }
        let operation_id = fund_operation_id(tx, &auth_no).await?;
        execute(
            tx,
            "UPDATE fund_operation SET status = 'CLOSED' WHERE operation_id = $1 AND status = 'INIT'",
            &[&operation_id],
        )
        .await?;
        let target = order_notify_target(tx, &auth_no).await?;
        enqueue_notify(tx, &app_id, &operation_id, NotifyEvent::PayClosed, target.as_ref(), now_ms)
            .await?;
        fired.push(FiredDeadline::Closed { auth_no });
    }
    let expired = query_all(
        tx,
        "SELECT auth_no, app_id FROM fund_order WHERE status = 'FUNDED' AND kind = 'PACKET' \
         AND expired_at_ms IS NULL AND expire_at_ms <= $1 ORDER BY expire_at_ms LIMIT $2 \
         FOR UPDATE SKIP LOCKED",
        &[&now_ms, &limit],
    )
    .await?;
    for row in expired {
        let auth_no: String = row.try_get(0)?;
        let app_id: String = row.try_get(1)?;
        execute(
            tx,
            "UPDATE fund_order SET expired_at_ms = $2 WHERE auth_no = $1",
            &[&auth_no, &now_ms],
        )
        .await?;
        // Locked above, so these are the packet's final counters: no disburse can slip in.
        let packet = lock_packet(tx, &auth_no).await?;
        let remaining = packet.packet.remaining();
        if remaining.is_positive() {
            expire_refund(tx, &packet, &app_id, remaining, now_ms).await?;
        }
        fired.push(FiredDeadline::Expired { auth_no, refunded: remaining });
    }
    Ok(Keep::Commit(fired))
}

/// The automatic refund of an expired packet's remainder: a REFUND operation like any other,
/// visible in operation.query (out_request_no `EXPIRE_REFUND`) and in total_pay_refund_amount.
async fn expire_refund(
    tx: &Transaction<'_>,
    packet: &OrderRow,
    app_id: &str,
    remaining: Fen,
    now_ms: i64,
) -> Result<(), Failure> {
    let Some(payer) = packet.payer_user_id.clone() else { return Ok(()) };
    if let Err(rejection) = packet.packet.refund(remaining)? {
        return Err(bug(format!("expiry refund refused: {rejection}")));
    }
    if !take_from_packet(tx, &packet.auth_no, "refunded_fen", remaining).await? {
        return Err(bug("expiry refund guard refused".into()));
    }
    let taken = query_opt(
        tx,
        "SELECT 1 FROM fund_operation WHERE auth_no = $1 AND out_request_no = 'EXPIRE_REFUND'",
        &[&packet.auth_no],
    )
    .await?
    .is_some();
    let route = crate::ids::route_digits(app_id);
    let sequence = super::commands::next_sequence(tx, "operation_id").await?;
    let operation_id = crate::ids::operation_id(now_ms, route, sequence);
    let out_request_no =
        if taken { format!("EXPIRE_REFUND_{operation_id}") } else { "EXPIRE_REFUND".to_owned() };
    let target = order_notify_target(tx, &packet.auth_no).await?;
    let inserted = insert_operation(
        tx,
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
    )
    .await?;
    if inserted.is_err() {
        return Err(bug("expiry refund posting refused".into()));
    }
    Ok(())
}

/// What the cashier and the wallet show of an order.
pub(crate) async fn payment_order(
    tx: &Transaction<'_>,
    auth_no: String,
) -> Result<Option<PaymentOrder>, Failure> {
    let Some(row) = query_opt(
        tx,
        "SELECT app_id, fund_method, status, pay_deadline_ms, return_url, kind \
         FROM fund_order WHERE auth_no = $1",
        &[&auth_no],
    )
    .await?
    else {
        return Ok(None);
    };
    let kind: String = row.try_get(5)?;
    if kind != "PACKET" {
        return Ok(None);
    }
    let status: String = row.try_get(2)?;
    let status = PacketStatus::parse(&status)
        .ok_or_else(|| Failure::Store(StoreError::Corrupt("order status".into())))?;
    let fund_method: Option<String> = row.try_get(1)?;
    let view = load_view(tx, &fund_operation_id(tx, &auth_no).await?).await?;
    Ok(Some(PaymentOrder {
        app_id: row.try_get(0)?,
        fund_method: fund_method.unwrap_or_default(),
        status,
        pay_deadline_ms: row.try_get(3)?,
        return_url: row.try_get(4)?,
        view,
    }))
}

/// The user a login (user id or logon id) and sandbox password name.
pub(crate) async fn authenticate(
    tx: &Transaction<'_>,
    login: String,
    password: String,
) -> Result<Option<String>, Failure> {
    let found = query_opt(
        tx,
        "SELECT user_id, password FROM sandbox_user WHERE user_id = $1 OR logon_id = $1 \
         ORDER BY user_id = $1 DESC LIMIT 1",
        &[&login],
    )
    .await?;
    let Some(row) = found else { return Ok(None) };
    let user_id: String = row.try_get(0)?;
    let stored: String = row.try_get(1)?;
    Ok(constant_time_eq(stored.as_bytes(), password.as_bytes()).then_some(user_id))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

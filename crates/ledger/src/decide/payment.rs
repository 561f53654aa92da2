//! The payer's side of a packet and its deadlines: the payer confirming a page.pay / app.pay
//! packet, an unpaid packet closing at its pay deadline, a funded packet's remainder going back
//! to the payer at its expiry.

use super::refund::{refund_plan, PayerReturn};
use super::{deadline, state_of};
use crate::command::{CompletePayment, FiredDeadline};
use crate::entry::{Account, Entry};
use crate::facts::{ExpiryFacts, OrderRecord, PaymentFacts};
use crate::notify::NotifyEvent;
use crate::packet::{OperationStatus, OrderKind, PacketStatus};
use crate::plan::{
    Decision, EntryMemo, Fired, NewNotify, OperationChange, OrderChange, OrderState, Plan,
    PlannedEntry,
};
use crate::{check_fund, Bug, Rejection};

/// The out_request_no of the refund an expiry makes (`EXPIRE_REFUND_<operation_id>` when a
/// merchant's own refund took the name).
pub const EXPIRE_REFUND: &str = "EXPIRE_REFUND";
/// Its remark.
pub const EXPIRE_REMARK: &str = "红包过期自动退回";

/// The payer confirms an unpaid packet on the cashier or in the wallet: payer → custody, the
/// PAY goes INIT → SUCCESS, the packet's expiry clock starts.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | `auth_no` names no order | `AuthOrderNotExist` |
/// | 2 | … a disburse's own order | `IllegalArgument` |
/// | 3 | the packet is funded by this payer (a double click) | replay it |
/// | 3 | … funded by another payer, or closed | `OrderStatusInvalid` |
/// | 4 | its pay deadline has passed at `now`, closed or not yet | `OrderStatusInvalid` |
/// | 5 | it is bound to another payer (a fund.trans send's `payer_binded_alipay_uid`) | `PayerNotMatch` |
/// | 6 | the payer has no account | `PayerNotExist` |
/// | 7 | the payer's balance is below the amount | `BalanceNotEnough` |
pub fn decide_payment(cmd: &CompletePayment, facts: &PaymentFacts) -> Result<Decision, Bug> {
    let Some(order) = &facts.order else {
        return Ok(Decision::Reject(Rejection::AuthOrderNotExist));
    };
    if order.kind != OrderKind::Packet {
        return Ok(Decision::Reject(Rejection::IllegalArgument("not a red packet".into())));
    }
    match order.packet.status {
        PacketStatus::Funded if order.payer_user_id.as_deref() == Some(&cmd.payer_user_id) => {
            return Ok(Decision::Replay { operation_id: order.first_operation_id.clone() });
        }
        PacketStatus::Funded | PacketStatus::Closed => {
            return Ok(Decision::Reject(Rejection::OrderStatusInvalid))
        }
        PacketStatus::WaitPay => {}
    }
    if order.pay_deadline_ms.is_some_and(|deadline| cmd.now_ms >= deadline) {
        return Ok(Decision::Reject(Rejection::OrderStatusInvalid));
    }
    if order.payer_user_id.as_ref().is_some_and(|bound| bound != &cmd.payer_user_id) {
        return Ok(Decision::Reject(Rejection::PayerNotMatch));
    }
    let Some(balance) = facts.payer_balance else {
        return Ok(Decision::Reject(Rejection::PayerNotExist));
    };
    if let Err(rejection) = check_fund(balance, order.packet.amount) {
        return Ok(Decision::Reject(rejection));
    }

    // From here the packet is paid; nothing above wrote anything.
    let before = state_of(order);
    // A fund.trans send may carry its own absolute refund_time_expire; else the claim window
    // starts now.
    let expire_at_ms = match order.expire_at_ms {
        Some(at) => at,
        None => deadline(cmd.now_ms, order.expire_after_ms.unwrap_or(0))?,
    };
    let operation_id = order.first_operation_id.clone();
    Ok(Decision::Apply(Box::new(Plan {
        order_change: Some(OrderChange {
            auth_no: order.auth_no.clone(),
            after: OrderState {
                status: PacketStatus::Funded,
                payer_user_id: Some(cmd.payer_user_id.clone()),
                expire_at_ms: Some(expire_at_ms),
                ..before.clone()
            },
            before,
        }),
        operation_change: Some(OperationChange {
            operation_id: operation_id.clone(),
            before: OperationStatus::Init,
            after: OperationStatus::Success,
            payer_user_id: Some(cmd.payer_user_id.clone()),
            trans_at_ms: Some(cmd.now_ms),
        }),
        entry: Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Fund,
            entry: Entry::transfer(
                Account::User(cmd.payer_user_id.clone()),
                Account::Custody(order.auth_no.clone()),
                order.packet.amount,
            )?,
            created_at_ms: cmd.now_ms,
        }),
        notify: order.notify.clone().map(|target| NewNotify {
            app_id: order.app_id.clone(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::PaySuccess,
            target,
            created_at_ms: cmd.now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    })))
}

/// An unpaid packet whose pay deadline has passed at `now_ms` closes: the packet and its PAY go
/// CLOSED and the merchant is told. `None` for any other order (paid meanwhile, closed already,
/// not due yet).
pub fn decide_close(order: &OrderRecord, now_ms: i64) -> Result<Option<Fired>, Bug> {
    let due = order.pay_deadline_ms.is_some_and(|deadline| now_ms >= deadline);
    if order.kind != OrderKind::Packet || order.packet.status != PacketStatus::WaitPay || !due {
        return Ok(None);
    }
    let before = state_of(order);
    let operation_id = order.first_operation_id.clone();
    let plan = Plan {
        order_change: Some(OrderChange {
            auth_no: order.auth_no.clone(),
            after: OrderState { status: PacketStatus::Closed, ..before.clone() },
            before,
        }),
        operation_change: Some(OperationChange {
            operation_id: operation_id.clone(),
            before: OperationStatus::Init,
            after: OperationStatus::Closed,
            payer_user_id: None,
            trans_at_ms: None,
        }),
        notify: order.notify.clone().map(|target| NewNotify {
            app_id: order.app_id.clone(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::PayClosed,
            target,
            created_at_ms: now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    };
    Ok(Some(Fired { plan, fired: FiredDeadline::Closed { auth_no: order.auth_no.clone() } }))
}

/// A funded packet whose expiry has passed at `now_ms` returns its remainder to the payer as a
/// REFUND operation (`EXPIRE_REFUND`, notified to the pay call's notify_url) and is marked
/// expired, so it fires once. `None` for any other order.
pub fn decide_expiry(facts: &ExpiryFacts, now_ms: i64) -> Result<Option<Fired>, Bug> {
    let packet = &facts.packet;
    let due = packet.expire_at_ms.is_some_and(|at| now_ms >= at);
    if packet.kind != OrderKind::Packet
        || packet.packet.status != PacketStatus::Funded
        || packet.expired_at_ms.is_some()
        || !due
    {
        return Ok(None);
    }
    let remaining = packet.packet.remaining();
    let plan = if remaining.is_positive() {
        let out_request_no = if facts.expire_refund_taken {
            format!("{EXPIRE_REFUND}_{}", facts.operation_id)
        } else {
            EXPIRE_REFUND.to_owned()
        };
        refund_plan(PayerReturn {
            packet,
            operation_id: &facts.operation_id,
            out_request_no: &out_request_no,
            amount: remaining,
            remark: EXPIRE_REMARK,
            fingerprint: "expire".to_owned(),
            notify: packet.notify.as_ref(),
            app_id: &packet.app_id,
            expired_at_ms: Some(now_ms),
            now_ms,
        })?
    } else {
        let before = state_of(packet);
        Plan {
            order_change: Some(OrderChange {
                auth_no: packet.auth_no.clone(),
                after: OrderState { expired_at_ms: Some(now_ms), ..before.clone() },
                before,
            }),
            ..Plan::default()
        }
    };
    let fired = FiredDeadline::Expired { auth_no: packet.auth_no.clone(), refunded: remaining };
    Ok(Some(Fired { plan, fired }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{funded_packet, unpaid_packet, NOW};
    use hongbao_money::Fen;

    fn confirm() -> CompletePayment {
        CompletePayment { auth_no: "A1".into(), payer_user_id: "alice".into(), now_ms: NOW }
    }

    fn facts() -> PaymentFacts {
        PaymentFacts { order: Some(unpaid_packet()), payer_balance: Some(Fen::from_fen(10_000)) }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn precedence() {
        let break_from = |rule: usize| {
            let mut facts = facts();
            let mut order = unpaid_packet();
            let mut cmd = confirm();
            if rule <= 6 {
                facts.payer_balance = Some(Fen::from_fen(9_999));
            }
            if rule <= 5 {
                facts.payer_balance = None;
            }
            if rule <= 4 {
                cmd.now_ms = order.pay_deadline_ms.expect("unpaid packets have a deadline");
            }
            if rule <= 3 {
                order.packet.status = PacketStatus::Closed;
            }
            if rule <= 2 {
                order.kind = OrderKind::Disburse;
            }
            facts.order = (rule > 1).then_some(order);
            decide_payment(&cmd, &facts).expect("no bug")
        };
        let expected = [
            Rejection::AuthOrderNotExist,
            Rejection::IllegalArgument("not a red packet".into()),
            Rejection::OrderStatusInvalid,
            Rejection::OrderStatusInvalid,
            Rejection::PayerNotExist,
            Rejection::BalanceNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn a_confirmation_after_the_deadline_is_refused_before_the_scheduler_closes_it() {
        let mut cmd = confirm();
        cmd.now_ms = NOW + 60_000;
        assert_eq!(
            decide_payment(&cmd, &facts()).expect("no bug"),
            Decision::Reject(Rejection::OrderStatusInvalid)
        );
        cmd.now_ms = NOW + 59_999;
        let Decision::Apply(plan) = decide_payment(&cmd, &facts()).expect("no bug") else {
            panic!("applies just before the deadline");
        };
        let change = plan.order_change.expect("packet");
        assert_eq!(change.after.status, PacketStatus::Funded);
        assert_eq!(change.after.expire_at_ms, Some(NOW + 59_999 + 3_600_000));
    }

    #[test]
    fn a_double_click_replays_and_another_payer_is_refused() {
        let mut paid = unpaid_packet();
        paid.packet.status = PacketStatus::Funded;
        paid.payer_user_id = Some("alice".into());
        let facts = PaymentFacts { order: Some(paid), payer_balance: Some(Fen::ZERO) };
        assert_eq!(
            decide_payment(&confirm(), &facts).expect("no bug"),
            Decision::Replay { operation_id: "O1".into() }
        );
        let other = CompletePayment { payer_user_id: "bob".into(), ..confirm() };
        assert_eq!(
            decide_payment(&other, &facts).expect("no bug"),
            Decision::Reject(Rejection::OrderStatusInvalid)
        );
    }

    #[test]
    fn an_unpaid_packet_closes_at_its_deadline_once() {
        let order = unpaid_packet();
        assert_eq!(decide_close(&order, NOW + 59_999).expect("no bug"), None);
        let fired = decide_close(&order, NOW + 60_000).expect("no bug").expect("due");
        let change = fired.plan.order_change.expect("packet");
        assert_eq!(change.after.status, PacketStatus::Closed);
        assert_eq!(fired.plan.entry, None, "a closed packet never held money");
        assert_eq!(fired.plan.notify.map(|n| n.event), Some(NotifyEvent::PayClosed));
        let mut closed = order;
        closed.packet.status = PacketStatus::Closed;
        assert_eq!(decide_close(&closed, NOW + 60_000).expect("no bug"), None);
    }

    #[test]
    fn expiry_returns_the_remainder_once() {
        let mut packet = funded_packet();
        packet.packet.disbursed = Fen::from_fen(3_000);
        let at = packet.expire_at_ms.expect("funded packets expire");
        let facts = ExpiryFacts {
            packet: packet.clone(),
            expire_refund_taken: false,
            operation_id: "O9".into(),
        };
        assert_eq!(decide_expiry(&facts, at - 1).expect("no bug"), None);
        let fired = decide_expiry(&facts, at).expect("no bug").expect("due");
        assert_eq!(
            fired.fired,
            FiredDeadline::Expired { auth_no: "A1".into(), refunded: Fen::from_fen(7_000) }
        );
        let refund = fired.plan.new_operation.expect("refund");
        assert_eq!(refund.out_request_no, EXPIRE_REFUND);
        assert_eq!(refund.amount, Fen::from_fen(7_000));
        let change = fired.plan.order_change.expect("packet");
        assert_eq!(change.after.refunded, Fen::from_fen(7_000));
        assert_eq!(change.after.expired_at_ms, Some(at));

        let taken = ExpiryFacts { expire_refund_taken: true, ..facts.clone() };
        let fired = decide_expiry(&taken, at).expect("no bug").expect("due");
        assert_eq!(fired.plan.new_operation.expect("refund").out_request_no, "EXPIRE_REFUND_O9");

        let mut empty = packet;
        empty.packet.disbursed = Fen::from_fen(10_000);
        let facts = ExpiryFacts { packet: empty, ..facts };
        let fired = decide_expiry(&facts, at).expect("no bug").expect("due");
        assert_eq!(fired.plan.new_operation, None, "nothing left, nothing to return");
        assert!(fired.plan.order_change.is_some(), "but it is marked expired");

        let mut fired_before = facts.packet.clone();
        fired_before.expired_at_ms = Some(at);
        let facts = ExpiryFacts { packet: fired_before, ..facts };
        assert_eq!(decide_expiry(&facts, at + 1).expect("no bug"), None);
    }
}

//! Returning part of a packet's remainder to its payer, at the merchant's request.

use super::resolve_packet;
use crate::command::RefundCommand;
use crate::entry::{Account, Entry};
use crate::facts::RefundFacts;
use crate::notify::NotifyEvent;
use crate::packet::{OperationKind, OperationStatus, PacketStatus};
use crate::plan::{
    Decision, EntryMemo, NewNotify, NewOperation, OrderChange, OrderState, Plan, PlannedEntry,
};
use crate::{Bug, Rejection};

/// Refunds `cmd.amount` of a packet to its payer.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | `auth_no` names no order | `AuthOrderNotExist` |
/// | 2 | … another app's order | `AccessForbidden` |
/// | 3 | … a disburse's own order | `IllegalArgument` |
/// | 4 | the packet has an operation with this `out_request_no`: a refund with the same parameters | replay it |
/// | 4 | … any other operation (its PAY included) | `UniqueViolation` |
/// | 5 | the packet is not funded (unpaid or closed), or its expiry has passed at `now` (the remainder goes back by itself) | `OrderStatusInvalid` |
/// | 6 | the amount exceeds what is left in the packet | `MoneyNotEnough` |
pub fn decide_refund(cmd: &RefundCommand, facts: &RefundFacts) -> Result<Decision, Bug> {
    let packet = match resolve_packet(&cmd.app_id, facts.packet.as_ref(), "auth_no") {
        Ok(packet) => packet,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let fingerprint = cmd.fingerprint();
    if let Some(existing) = &facts.existing {
        if existing.kind == OperationKind::Refund && existing.fingerprint == fingerprint {
            return Ok(Decision::Replay { operation_id: existing.operation_id.clone() });
        }
        return Ok(Decision::Reject(Rejection::UniqueViolation));
    }
    if packet.is_expired(cmd.now_ms) && packet.packet.status == PacketStatus::Funded {
        return Ok(Decision::Reject(Rejection::OrderStatusInvalid));
    }
    let after = match packet.packet.refund(cmd.amount)? {
        Ok(after) => after,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let Some(payer) = packet.payer_user_id.clone() else {
        return Err(Bug(format!("funded packet {} has no payer", packet.auth_no)));
    };

    // From here the refund is made; nothing above wrote anything.
    let before = OrderState {
        status: packet.packet.status,
        disbursed: packet.packet.disbursed,
        refunded: packet.packet.refunded,
        payer_user_id: packet.payer_user_id.clone(),
        expire_at_ms: packet.expire_at_ms,
        expired_at_ms: packet.expired_at_ms,
    };
    let operation_id = facts.operation_id.clone();
    Ok(Decision::Apply(Box::new(Plan {
        order_change: Some(OrderChange {
            auth_no: packet.auth_no.clone(),
            after: OrderState { refunded: after.refunded, ..before.clone() },
            before,
        }),
        new_operation: Some(NewOperation {
            operation_id: operation_id.clone(),
            auth_no: packet.auth_no.clone(),
            out_request_no: cmd.out_request_no.clone(),
            kind: OperationKind::Refund,
            status: OperationStatus::Success,
            amount: cmd.amount,
            payer_user_id: Some(payer.clone()),
            payee_user_id: None,
            remark: cmd.remark.clone(),
            fingerprint,
            notify_url: cmd.notify.as_ref().map(|target| target.url.clone()),
            created_at_ms: cmd.now_ms,
            trans_at_ms: Some(cmd.now_ms),
        }),
        entry: Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Refund,
            entry: Entry::transfer(
                Account::Custody(packet.auth_no.clone()),
                Account::User(payer),
                cmd.amount,
            )?,
            created_at_ms: cmd.now_ms,
        }),
        notify: cmd.notify.clone().map(|target| NewNotify {
            app_id: cmd.app_id.clone(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::RefundSuccess,
            target,
            created_at_ms: cmd.now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{funded_packet, target, APP, NOW};
    use crate::facts::OperationRecord;
    use crate::packet::OrderKind;
    use hongbao_money::Fen;

    fn refund() -> RefundCommand {
        RefundCommand {
            app_id: APP.into(),
            auth_no: "A1".into(),
            out_request_no: "r1".into(),
            amount: Fen::from_fen(2_000),
            remark: "退回".into(),
            notify: Some(target()),
            now_ms: NOW,
        }
    }

    fn facts() -> RefundFacts {
        RefundFacts { packet: Some(funded_packet()), existing: None, operation_id: "O2".into() }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn precedence() {
        let break_from = |rule: usize| {
            let mut facts = facts();
            let mut packet = funded_packet();
            let mut cmd = refund();
            if rule <= 6 {
                cmd.amount = Fen::from_fen(10_001);
            }
            if rule <= 5 {
                packet.packet.status = PacketStatus::Closed;
            }
            if rule <= 4 {
                facts.existing = Some(OperationRecord {
                    operation_id: "O1".into(),
                    kind: OperationKind::Fund,
                    fingerprint: "fp".into(),
                });
            }
            if rule <= 3 {
                packet.kind = OrderKind::Disburse;
            }
            if rule <= 2 {
                packet.app_id = "appB".into();
            }
            facts.packet = (rule > 1).then_some(packet);
            decide_refund(&cmd, &facts).expect("no bug")
        };
        let expected = [
            Rejection::AuthOrderNotExist,
            Rejection::AccessForbidden,
            Rejection::IllegalArgument("auth_no names a disburse order, not a red packet".into()),
            Rejection::UniqueViolation,
            Rejection::OrderStatusInvalid,
            Rejection::MoneyNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn an_expired_packet_refuses_refunds_its_expiry_makes_them() {
        let mut packet = funded_packet();
        packet.expire_at_ms = Some(NOW);
        let facts = RefundFacts { packet: Some(packet), ..facts() };
        assert_eq!(
            decide_refund(&refund(), &facts).expect("no bug"),
            Decision::Reject(Rejection::OrderStatusInvalid)
        );
    }

    #[test]
    fn an_identical_retry_replays() {
        let cmd = refund();
        let facts = RefundFacts {
            existing: Some(OperationRecord {
                operation_id: "O5".into(),
                kind: OperationKind::Refund,
                fingerprint: cmd.fingerprint(),
            }),
            ..facts()
        };
        assert_eq!(
            decide_refund(&cmd, &facts).expect("no bug"),
            Decision::Replay { operation_id: "O5".into() }
        );
    }

    #[test]
    fn a_refund_returns_custody_to_the_payer() {
        let Decision::Apply(plan) = decide_refund(&refund(), &facts()).expect("no bug") else {
            panic!("applies");
        };
        let change = plan.order_change.expect("counters");
        assert_eq!(change.after.refunded, Fen::from_fen(2_000));
        let entry = plan.entry.expect("money moves").entry;
        assert_eq!(entry.postings()[1].account, Account::User("payer".into()));
        assert_eq!(plan.notify.map(|n| n.event), Some(NotifyEvent::RefundSuccess));
    }
}

//! Returning part of a packet's remainder to its payer, at the merchant's request.

use super::disburse::movable;
use super::{resolve_packet, state_of};
use crate::command::RefundCommand;
use crate::entry::{Account, Entry};
use crate::facts::{OrderRecord, RefundFacts};
use crate::notify::{NotifyEvent, NotifyTarget};
use crate::packet::{OperationKind, OperationStatus, Product};
use crate::plan::{
    Decision, EntryMemo, NewNotify, NewOperation, OrderChange, OrderState, Plan, PlannedEntry,
};
use crate::{Bug, Rejection};
use hongbao_money::Fen;

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
    let packet =
        match resolve_packet(&cmd.app_id, facts.packet.as_ref(), "auth_no", Product::Coupon) {
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
    if let Err(rejection) = movable(packet, cmd.amount, cmd.now_ms)? {
        return Ok(Decision::Reject(rejection));
    }
    let plan = refund_plan(PayerReturn {
        packet,
        operation_id: &facts.operation_id,
        out_request_no: &cmd.out_request_no,
        amount: cmd.amount,
        remark: &cmd.remark,
        fingerprint,
        notify: cmd.notify.as_ref(),
        app_id: &cmd.app_id,
        expired_at_ms: None,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// Money going back from a packet to its payer: a merchant's refund, a fund.trans return, or
/// the automatic one at expiry.
pub(crate) struct PayerReturn<'a> {
    pub(crate) packet: &'a OrderRecord,
    pub(crate) operation_id: &'a str,
    pub(crate) out_request_no: &'a str,
    pub(crate) amount: Fen,
    pub(crate) remark: &'a str,
    pub(crate) fingerprint: String,
    pub(crate) notify: Option<&'a NotifyTarget>,
    pub(crate) app_id: &'a str,
    /// At expiry: marks the packet expired in the same change.
    pub(crate) expired_at_ms: Option<i64>,
    pub(crate) now_ms: i64,
}

/// The rows of a return: the packet's counter, the REFUND operation, the money and the
/// notification. The caller checked that the packet holds the amount.
pub(crate) fn refund_plan(back: PayerReturn<'_>) -> Result<Plan, Bug> {
    let packet = back.packet;
    let Some(payer) = packet.payer_user_id.clone() else {
        return Err(Bug(format!("funded packet {} has no payer", packet.auth_no)));
    };
    let before = state_of(packet);
    let refunded = packet
        .packet
        .refunded
        .checked_add(back.amount)
        .ok_or_else(|| Bug(format!("packet {} refunded overflow", packet.auth_no)))?;
    let operation_id = back.operation_id.to_owned();
    Ok(Plan {
        order_change: Some(OrderChange {
            auth_no: packet.auth_no.clone(),
            after: OrderState {
                refunded,
                expired_at_ms: back.expired_at_ms.or(before.expired_at_ms),
                ..before.clone()
            },
            before,
        }),
        new_operation: Some(NewOperation {
            operation_id: operation_id.clone(),
            auth_no: packet.auth_no.clone(),
            out_request_no: back.out_request_no.to_owned(),
            kind: OperationKind::Refund,
            status: OperationStatus::Success,
            amount: back.amount,
            payer_user_id: Some(payer.clone()),
            payee_user_id: None,
            remark: back.remark.to_owned(),
            fingerprint: back.fingerprint,
            notify_url: back.notify.map(|target| target.url.clone()),
            created_at_ms: back.now_ms,
            trans_at_ms: Some(back.now_ms),
        }),
        entry: Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Refund,
            entry: Entry::transfer(
                Account::Custody(packet.auth_no.clone()),
                Account::User(payer),
                back.amount,
            )?,
            created_at_ms: back.now_ms,
        }),
        notify: back.notify.cloned().map(|target| NewNotify {
            app_id: back.app_id.to_owned(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::RefundSuccess,
            target,
            created_at_ms: back.now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{funded_packet, target, APP, NOW};
    use crate::facts::OperationRecord;
    use crate::packet::{OrderKind, PacketStatus};

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

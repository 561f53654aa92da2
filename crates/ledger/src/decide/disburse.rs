//! Paying part of a packet to a user: a disburse, which is an order of its own.

use super::{packet_field, resolve_packet};
use crate::command::{DisburseCommand, PayeeRef};
use crate::entry::{Account, Entry};
use crate::facts::DisburseFacts;
use crate::notify::NotifyEvent;
use crate::packet::{OperationKind, OperationStatus, OrderKind, PacketStatus};
use crate::plan::{
    Decision, EntryMemo, NewNotify, NewOperation, NewOrder, OrderChange, OrderState, Plan,
    PlannedEntry,
};
use crate::{Bug, Rejection};

/// Pays `cmd.amount` out of a packet to a user.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | the packet reference names no order | `AuthOrderNotExist` |
/// | 2 | … another app's order | `AccessForbidden` |
/// | 3 | … a disburse's own order | `IllegalArgument` |
/// | 4 | the payee's id or logon id names no user | `PayeeNotExist` |
/// | 5 | the payee's id and logon id name different users | `IllegalArgument` |
/// | 6 | an order with this `(app_id, out_order_no)` exists: a disburse with the same parameters (packet and payee as resolved) | replay it |
/// | 6 | … any other order | `UniqueViolation` |
/// | 7 | the packet is not funded (unpaid or closed), or its expiry has passed at `now` | `OrderStatusInvalid` |
/// | 8 | the amount exceeds what is left in the packet | `MoneyNotEnough` |
pub fn decide_disburse(cmd: &DisburseCommand, facts: &DisburseFacts) -> Result<Decision, Bug> {
    let field = packet_field(&cmd.packet, "deduct_auth_no");
    let packet = match resolve_packet(&cmd.app_id, facts.packet.as_ref(), field) {
        Ok(packet) => packet,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let payee = match resolve_payee(&cmd.payee, facts) {
        Ok(payee) => payee,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let fingerprint = cmd.fingerprint(&packet.auth_no, &payee);
    if let Some(existing) = &facts.existing {
        if existing.kind == OrderKind::Disburse && existing.fingerprint == fingerprint {
            return Ok(Decision::Replay { operation_id: existing.first_operation_id.clone() });
        }
        return Ok(Decision::Reject(Rejection::UniqueViolation));
    }
    if packet.is_expired(cmd.now_ms) && packet.packet.status == PacketStatus::Funded {
        return Ok(Decision::Reject(Rejection::OrderStatusInvalid));
    }
    let after = match packet.packet.disburse(cmd.amount)? {
        Ok(after) => after,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };

    // From here the disburse is made; nothing above wrote anything.
    let before = OrderState {
        status: packet.packet.status,
        disbursed: packet.packet.disbursed,
        refunded: packet.packet.refunded,
        payer_user_id: packet.payer_user_id.clone(),
        expire_at_ms: packet.expire_at_ms,
        expired_at_ms: packet.expired_at_ms,
    };
    let auth_no = facts.ids.auth_no.clone();
    let operation_id = facts.ids.operation_id.clone();
    Ok(Decision::Apply(Box::new(Plan {
        new_order: Some(NewOrder {
            auth_no: auth_no.clone(),
            app_id: cmd.app_id.clone(),
            out_order_no: cmd.out_order_no.clone(),
            kind: OrderKind::Disburse,
            packet_auth_no: Some(packet.auth_no.clone()),
            fund_method: None,
            order_title: cmd.order_title.clone(),
            amount: cmd.amount,
            status: PacketStatus::Funded,
            payer_user_id: packet.payer_user_id.clone(),
            payee_user_id: Some(payee.clone()),
            pay_timeout_minutes: None,
            extra_param: cmd.extra_param.clone(),
            notify: cmd.notify.clone(),
            fingerprint: fingerprint.clone(),
            created_at_ms: cmd.now_ms,
            pay_deadline_ms: None,
            expire_after_ms: None,
            expire_at_ms: None,
            return_url: None,
        }),
        order_change: Some(OrderChange {
            auth_no: packet.auth_no.clone(),
            after: OrderState { disbursed: after.disbursed, ..before.clone() },
            before,
        }),
        new_operation: Some(NewOperation {
            operation_id: operation_id.clone(),
            auth_no,
            out_request_no: cmd.out_request_no.clone(),
            kind: OperationKind::Disburse,
            status: OperationStatus::Success,
            amount: cmd.amount,
            payer_user_id: packet.payer_user_id.clone(),
            payee_user_id: Some(payee.clone()),
            remark: cmd.order_title.clone(),
            fingerprint,
            notify_url: cmd.notify.as_ref().map(|target| target.url.clone()),
            created_at_ms: cmd.now_ms,
            trans_at_ms: Some(cmd.now_ms),
        }),
        entry: Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Disburse,
            entry: Entry::transfer(
                Account::Custody(packet.auth_no.clone()),
                Account::User(payee),
                cmd.amount,
            )?,
            created_at_ms: cmd.now_ms,
        }),
        notify: cmd.notify.clone().map(|target| NewNotify {
            app_id: cmd.app_id.clone(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::DisburseSuccess,
            target,
            created_at_ms: cmd.now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    })))
}

/// The payee's user id (rules 4 and 5).
fn resolve_payee(payee: &PayeeRef, facts: &DisburseFacts) -> Result<String, Rejection> {
    match payee {
        PayeeRef::UserId(_) => facts
            .payee_by_user_id
            .as_ref()
            .map(|user| user.user_id.clone())
            .ok_or(Rejection::PayeeNotExist),
        PayeeRef::LogonId(_) => facts
            .payee_by_logon_id
            .as_ref()
            .map(|user| user.user_id.clone())
            .ok_or(Rejection::PayeeNotExist),
        PayeeRef::Both { user_id, .. } => match &facts.payee_by_logon_id {
            None => Err(Rejection::PayeeNotExist),
            Some(found) if &found.user_id != user_id => Err(Rejection::IllegalArgument(
                "payee_user_id and payee_logon_id name different users".into(),
            )),
            Some(found) => Ok(found.user_id.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::OrderRef;
    use crate::decide::fixtures::{funded_packet, ids, target, APP, NOW};
    use crate::facts::UserRecord;
    use hongbao_money::Fen;

    fn claim() -> DisburseCommand {
        DisburseCommand {
            app_id: APP.into(),
            out_order_no: "d1".into(),
            packet: OrderRef::AuthNo("A1".into()),
            out_request_no: "r1".into(),
            order_title: "领取".into(),
            amount: Fen::from_fen(3_000),
            payee: PayeeRef::Both { user_id: "bob".into(), logon_id: "bob@example.com".into() },
            extra_param: None,
            notify: Some(target()),
            now_ms: NOW,
        }
    }

    fn bob() -> UserRecord {
        UserRecord { user_id: "bob".into(), logon_id: "bob@example.com".into() }
    }

    fn facts() -> DisburseFacts {
        DisburseFacts {
            packet: Some(funded_packet()),
            payee_by_user_id: Some(bob()),
            payee_by_logon_id: Some(bob()),
            existing: None,
            ids: ids(),
        }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn precedence() {
        let break_from = |rule: usize| {
            let mut facts = facts();
            let mut packet = funded_packet();
            let mut cmd = claim();
            if rule <= 8 {
                cmd.amount = Fen::from_fen(10_001);
            }
            if rule <= 7 {
                packet.expire_at_ms = Some(NOW);
            }
            if rule <= 6 {
                facts.existing = Some(funded_packet());
            }
            if rule <= 5 {
                facts.payee_by_logon_id = Some(UserRecord {
                    user_id: "carol".into(),
                    logon_id: "bob@example.com".into(),
                });
            }
            if rule <= 4 {
                facts.payee_by_logon_id = None;
            }
            if rule <= 3 {
                packet.kind = OrderKind::Disburse;
            }
            if rule <= 2 {
                packet.app_id = "appB".into();
            }
            facts.packet = (rule > 1).then_some(packet);
            decide_disburse(&cmd, &facts).expect("no bug")
        };
        let names_disburse = "deduct_auth_no names a disburse order, not a red packet";
        let different = "payee_user_id and payee_logon_id name different users";
        let expected = [
            Rejection::AuthOrderNotExist,
            Rejection::AccessForbidden,
            Rejection::IllegalArgument(names_disburse.into()),
            Rejection::PayeeNotExist,
            Rejection::IllegalArgument(different.into()),
            Rejection::UniqueViolation,
            Rejection::OrderStatusInvalid,
            Rejection::MoneyNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn an_expired_packet_pays_nothing_before_the_scheduler_fires() {
        let mut packet = funded_packet();
        packet.expire_at_ms = Some(NOW - 1);
        let facts = DisburseFacts { packet: Some(packet), ..facts() };
        assert_eq!(
            decide_disburse(&claim(), &facts).expect("no bug"),
            Decision::Reject(Rejection::OrderStatusInvalid)
        );
        let mut early = claim();
        early.now_ms = NOW - 2;
        assert!(matches!(decide_disburse(&early, &facts).expect("no bug"), Decision::Apply(_)));
    }

    #[test]
    fn an_identical_retry_replays_even_when_the_packet_is_empty() {
        let cmd = claim();
        let mut existing = funded_packet();
        existing.kind = OrderKind::Disburse;
        existing.fingerprint = cmd.fingerprint("A1", "bob");
        existing.first_operation_id = "O7".into();
        let mut empty = funded_packet();
        empty.packet.disbursed = Fen::from_fen(10_000);
        let facts = DisburseFacts { packet: Some(empty), existing: Some(existing), ..facts() };
        assert_eq!(
            decide_disburse(&cmd, &facts).expect("no bug"),
            Decision::Replay { operation_id: "O7".into() }
        );
    }

    #[test]
    fn a_disburse_moves_custody_to_the_payee_and_counts_it_on_the_packet() {
        let Decision::Apply(plan) = decide_disburse(&claim(), &facts()).expect("no bug") else {
            panic!("applies");
        };
        let change = plan.order_change.expect("packet counters");
        assert_eq!(change.before.disbursed, Fen::ZERO);
        assert_eq!(change.after.disbursed, Fen::from_fen(3_000));
        assert_eq!(change.after.refunded, change.before.refunded);
        let entry = plan.entry.expect("money moves").entry;
        assert_eq!(entry.postings()[0].account, Account::Custody("A1".into()));
        assert_eq!(entry.postings()[1].account, Account::User("bob".into()));
        let order = plan.new_order.expect("its own order");
        assert_eq!(order.kind, OrderKind::Disburse);
        assert_eq!(order.packet_auth_no.as_deref(), Some("A1"));
        assert_eq!(plan.notify.map(|n| n.event), Some(NotifyEvent::DisburseSuccess));
    }
}

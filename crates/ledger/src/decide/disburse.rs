//! Paying part of a packet to a user: a disburse, which is an order of its own.

use super::{packet_field, resolve_packet, resolve_payee, state_of};
use crate::command::DisburseCommand;
use crate::entry::{Account, Entry};
use crate::facts::{DisburseFacts, NewIds, OrderRecord};
use crate::notify::{NotifyEvent, NotifyTarget};
use crate::packet::{OperationKind, OperationStatus, OrderKind, Packet, PacketStatus, Product};
use crate::plan::{
    Decision, EntryMemo, NewNotify, NewOperation, NewOrder, OrderChange, OrderState, Plan,
    PlannedEntry,
};
use crate::{Bug, Rejection};
use hongbao_money::Fen;

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
    let packet = match resolve_packet(&cmd.app_id, facts.packet.as_ref(), field, Product::Coupon) {
        Ok(packet) => packet,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let payee = match resolve_payee(
        &cmd.payee,
        facts.payee_by_user_id.as_ref(),
        facts.payee_by_logon_id.as_ref(),
        None,
    ) {
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
    if let Err(rejection) = movable(packet, cmd.amount, cmd.now_ms)? {
        return Ok(Decision::Reject(rejection));
    }
    let plan = payout_plan(Payout {
        ids: &facts.ids,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_order_no,
        out_request_no: &cmd.out_request_no,
        product: Product::Coupon,
        source: PayoutSource::Packet(packet),
        payee: &payee,
        amount: cmd.amount,
        order_title: &cmd.order_title,
        remark: &cmd.order_title,
        extra_param: cmd.extra_param.as_deref(),
        passback_params: None,
        notify: cmd.notify.as_ref(),
        fingerprint,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// Whether `amount` may leave `packet` at `now_ms` (to a payee or back to the payer): it must be
/// funded and not past its expiry (`OrderStatusInvalid`), and hold the amount (`MoneyNotEnough`).
pub(crate) fn movable(
    packet: &OrderRecord,
    amount: Fen,
    now_ms: i64,
) -> Result<Result<(), Rejection>, Bug> {
    if packet.is_expired(now_ms) && packet.packet.status == PacketStatus::Funded {
        return Ok(Err(Rejection::OrderStatusInvalid));
    }
    Ok(packet.packet.disburse(amount)?.map(|_: Packet| ()))
}

/// Where a payout's money comes from.
pub(crate) enum PayoutSource<'a> {
    /// A packet's custody (a disburse, a C2C claim).
    Packet(&'a OrderRecord),
    /// A user's own account (a B2C red packet from the merchant's account).
    Account(&'a str),
}

/// A payout to a user: a disburse order of its own with one operation.
pub(crate) struct Payout<'a> {
    pub(crate) ids: &'a NewIds,
    pub(crate) app_id: &'a str,
    pub(crate) out_order_no: &'a str,
    pub(crate) out_request_no: &'a str,
    pub(crate) product: Product,
    pub(crate) source: PayoutSource<'a>,
    pub(crate) payee: &'a str,
    pub(crate) amount: Fen,
    pub(crate) order_title: &'a str,
    pub(crate) remark: &'a str,
    pub(crate) extra_param: Option<&'a str>,
    pub(crate) passback_params: Option<&'a str>,
    pub(crate) notify: Option<&'a NotifyTarget>,
    pub(crate) fingerprint: String,
    pub(crate) now_ms: i64,
}

/// The rows of a payout: its order and operation, the packet's counter (from a packet), the
/// money and the notification. The caller checked that the source can pay it.
pub(crate) fn payout_plan(payout: Payout<'_>) -> Result<Plan, Bug> {
    let auth_no = payout.ids.auth_no.clone();
    let operation_id = payout.ids.operation_id.clone();
    let (from, payer, packet_auth_no, order_change) = match payout.source {
        PayoutSource::Packet(packet) => {
            let before = state_of(packet);
            let disbursed = packet
                .packet
                .disbursed
                .checked_add(payout.amount)
                .ok_or_else(|| Bug(format!("packet {} disbursed overflow", packet.auth_no)))?;
            let change = OrderChange {
                auth_no: packet.auth_no.clone(),
                after: OrderState { disbursed, ..before.clone() },
                before,
            };
            (
                Account::Custody(packet.auth_no.clone()),
                packet.payer_user_id.clone(),
                Some(packet.auth_no.clone()),
                Some(change),
            )
        }
        PayoutSource::Account(payer) => {
            (Account::User(payer.to_owned()), Some(payer.to_owned()), None, None)
        }
    };
    Ok(Plan {
        new_order: Some(NewOrder {
            auth_no: auth_no.clone(),
            app_id: payout.app_id.to_owned(),
            out_order_no: payout.out_order_no.to_owned(),
            kind: OrderKind::Disburse,
            product: payout.product,
            packet_auth_no,
            fund_method: None,
            order_title: payout.order_title.to_owned(),
            amount: payout.amount,
            status: PacketStatus::Funded,
            payer_user_id: payer.clone(),
            payee_user_id: Some(payout.payee.to_owned()),
            pay_timeout_minutes: None,
            extra_param: payout.extra_param.map(str::to_owned),
            passback_params: payout.passback_params.map(str::to_owned),
            notify: payout.notify.cloned(),
            call: payout.notify.map(NotifyTarget::call),
            fingerprint: payout.fingerprint.clone(),
            created_at_ms: payout.now_ms,
            pay_deadline_ms: None,
            expire_after_ms: None,
            expire_at_ms: None,
            return_url: None,
        }),
        order_change,
        new_operation: Some(NewOperation {
            operation_id: operation_id.clone(),
            auth_no,
            out_request_no: payout.out_request_no.to_owned(),
            kind: OperationKind::Disburse,
            status: OperationStatus::Success,
            amount: payout.amount,
            payer_user_id: payer,
            payee_user_id: Some(payout.payee.to_owned()),
            remark: payout.remark.to_owned(),
            fingerprint: payout.fingerprint,
            notify_url: payout.notify.map(|target| target.url.clone()),
            created_at_ms: payout.now_ms,
            trans_at_ms: Some(payout.now_ms),
        }),
        entry: Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Disburse,
            entry: Entry::transfer(from, Account::User(payout.payee.to_owned()), payout.amount)?,
            created_at_ms: payout.now_ms,
        }),
        notify: payout.notify.cloned().map(|target| NewNotify {
            app_id: payout.app_id.to_owned(),
            operation_id: operation_id.clone(),
            event: NotifyEvent::DisburseSuccess,
            target,
            created_at_ms: payout.now_ms,
        }),
        answer: Some(operation_id),
        ..Plan::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{OrderRef, PayeeRef};
    use crate::decide::fixtures::{funded_packet, ids, target, APP, NOW};
    use crate::facts::UserRecord;

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
        UserRecord { user_id: "bob".into(), logon_id: "bob@example.com".into(), real_name: None }
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
                    real_name: None,
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

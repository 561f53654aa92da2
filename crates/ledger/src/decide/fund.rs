//! Creating a packet: agreement.pay (funded from the app's own account at once) and the
//! payer-side page.pay / app.pay (an unpaid packet the payer confirms later, `decide_payment`).

use super::deadline;
use crate::command::{FundCommand, FundMethod};
use crate::entry::{Account, Entry};
use crate::facts::{FundFacts, NewIds};
use crate::notify::{CallFormat, NotifyEvent, NotifyTarget};
use crate::packet::{OperationKind, OperationStatus, OrderKind, PacketStatus, Product};
use crate::plan::{Decision, EntryMemo, NewNotify, NewOperation, NewOrder, Plan, PlannedEntry};
use crate::{check_fund, Bug, Rejection};
use hongbao_money::Fen;

/// Creates a packet, and for agreement.pay funds it.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | agreement.pay names a payer other than the app's merchant account | `PayerNotMatch` |
/// | 2 | an order with this `(app_id, out_order_no)` exists: a packet with the same parameters | replay it |
/// | 2 | … any other order | `UniqueViolation` |
/// | 3 | the named payer has no account (agreement.pay always names one) | `PayerNotExist` |
/// | 4 | agreement.pay: the payer's balance is below the amount | `BalanceNotEnough` |
pub fn decide_fund(cmd: &FundCommand, facts: &FundFacts) -> Result<Decision, Bug> {
    let immediate = cmd.method == FundMethod::Agreement;
    if immediate && cmd.payer_user_id.is_some() && cmd.payer_user_id != cmd.merchant_user_id {
        return Ok(Decision::Reject(Rejection::PayerNotMatch));
    }
    let fingerprint = cmd.fingerprint();
    if let Some(existing) = &facts.existing {
        if existing.kind == OrderKind::Packet
            && existing.product == Product::Coupon
            && existing.fingerprint == fingerprint
        {
            return Ok(Decision::Replay { operation_id: existing.first_operation_id.clone() });
        }
        return Ok(Decision::Reject(Rejection::UniqueViolation));
    }
    let payer = match &cmd.payer_user_id {
        None if immediate => return Ok(Decision::Reject(Rejection::PayerNotExist)),
        None => None,
        Some(payer) => match facts.payer_balance {
            None => return Ok(Decision::Reject(Rejection::PayerNotExist)),
            Some(balance) => Some((payer, balance)),
        },
    };
    if let (true, Some((_, balance))) = (immediate, payer) {
        if let Err(rejection) = check_fund(balance, cmd.amount) {
            return Ok(Decision::Reject(rejection));
        }
    }

    // From here the packet is created; nothing above wrote anything.
    let pay_deadline_ms = if immediate {
        None
    } else {
        Some(deadline(cmd.now_ms, i64::from(cmd.pay_timeout_minutes) * 60_000)?)
    };
    let expire_at_ms =
        if immediate { Some(deadline(cmd.now_ms, cmd.expire_after_ms)?) } else { None };
    let plan = packet_plan(NewPacket {
        ids: &facts.ids,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_order_no,
        out_request_no: &cmd.out_request_no,
        product: Product::Coupon,
        method: cmd.method,
        order_title: &cmd.order_title,
        remark: &cmd.order_title,
        amount: cmd.amount,
        payer_user_id: cmd.payer_user_id.as_deref(),
        funded_by: payer.filter(|_| immediate).map(|(payer, _)| payer.as_str()),
        pay_timeout_minutes: Some(cmd.pay_timeout_minutes),
        pay_deadline_ms,
        expire_after_ms: Some(cmd.expire_after_ms),
        expire_at_ms,
        extra_param: cmd.extra_param.as_deref(),
        passback_params: None,
        notify: cmd.notify.as_ref(),
        call: cmd.call,
        fingerprint,
        return_url: cmd.return_url.as_deref(),
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// A new packet, as the products create it.
pub(crate) struct NewPacket<'a> {
    pub(crate) ids: &'a NewIds,
    pub(crate) app_id: &'a str,
    pub(crate) out_order_no: &'a str,
    pub(crate) out_request_no: &'a str,
    pub(crate) product: Product,
    pub(crate) method: FundMethod,
    pub(crate) order_title: &'a str,
    /// The PAY operation's remark.
    pub(crate) remark: &'a str,
    pub(crate) amount: Fen,
    /// The payer, when known (agreement.pay; a fund.trans send's bound payer).
    pub(crate) payer_user_id: Option<&'a str>,
    /// Who funds it now (agreement.pay); `None` leaves it WAIT_PAY for the payer.
    pub(crate) funded_by: Option<&'a str>,
    pub(crate) pay_timeout_minutes: Option<u32>,
    pub(crate) pay_deadline_ms: Option<i64>,
    pub(crate) expire_after_ms: Option<i64>,
    pub(crate) expire_at_ms: Option<i64>,
    pub(crate) extra_param: Option<&'a str>,
    pub(crate) passback_params: Option<&'a str>,
    pub(crate) notify: Option<&'a NotifyTarget>,
    pub(crate) call: CallFormat,
    pub(crate) fingerprint: String,
    pub(crate) return_url: Option<&'a str>,
    pub(crate) now_ms: i64,
}

/// The rows of a new packet: its custody account, the order, its PAY operation and, when it is
/// funded now, the money and the notification.
pub(crate) fn packet_plan(packet: NewPacket<'_>) -> Result<Plan, Bug> {
    let auth_no = packet.ids.auth_no.clone();
    let operation_id = packet.ids.operation_id.clone();
    let custody = Account::Custody(auth_no.clone());
    let funded = packet.funded_by.is_some();
    let (order_status, operation_status) = if funded {
        (PacketStatus::Funded, OperationStatus::Success)
    } else {
        (PacketStatus::WaitPay, OperationStatus::Init)
    };
    let mut plan = Plan {
        new_accounts: vec![custody.clone()],
        new_order: Some(NewOrder {
            auth_no: auth_no.clone(),
            app_id: packet.app_id.to_owned(),
            out_order_no: packet.out_order_no.to_owned(),
            kind: OrderKind::Packet,
            product: packet.product,
            packet_auth_no: None,
            fund_method: Some(packet.method),
            order_title: packet.order_title.to_owned(),
            amount: packet.amount,
            status: order_status,
            payer_user_id: packet.payer_user_id.map(str::to_owned),
            payee_user_id: None,
            pay_timeout_minutes: packet.pay_timeout_minutes,
            extra_param: packet.extra_param.map(str::to_owned),
            passback_params: packet.passback_params.map(str::to_owned),
            notify: packet.notify.cloned(),
            call: Some(packet.call),
            fingerprint: packet.fingerprint.clone(),
            created_at_ms: packet.now_ms,
            pay_deadline_ms: packet.pay_deadline_ms,
            expire_after_ms: packet.expire_after_ms,
            expire_at_ms: packet.expire_at_ms,
            return_url: packet.return_url.map(str::to_owned),
        }),
        new_operation: Some(NewOperation {
            operation_id: operation_id.clone(),
            auth_no: auth_no.clone(),
            out_request_no: packet.out_request_no.to_owned(),
            kind: OperationKind::Fund,
            status: operation_status,
            amount: packet.amount,
            payer_user_id: packet.payer_user_id.map(str::to_owned),
            payee_user_id: None,
            remark: packet.remark.to_owned(),
            fingerprint: packet.fingerprint,
            notify_url: packet.notify.map(|target| target.url.clone()),
            created_at_ms: packet.now_ms,
            trans_at_ms: funded.then_some(packet.now_ms),
        }),
        answer: Some(operation_id.clone()),
        ..Plan::default()
    };
    if let Some(payer) = packet.funded_by {
        plan.entry = Some(PlannedEntry {
            operation_id: Some(operation_id.clone()),
            memo: EntryMemo::Fund,
            entry: Entry::transfer(Account::User(payer.to_owned()), custody, packet.amount)?,
            created_at_ms: packet.now_ms,
        });
        plan.notify = packet.notify.cloned().map(|target| NewNotify {
            app_id: packet.app_id.to_owned(),
            operation_id,
            event: NotifyEvent::PaySuccess,
            target,
            created_at_ms: packet.now_ms,
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{funded_packet, ids, target, APP, NOW};

    fn agreement_pay() -> FundCommand {
        FundCommand {
            app_id: APP.into(),
            out_order_no: "p9".into(),
            out_request_no: "r1".into(),
            order_title: "红包".into(),
            amount: Fen::from_fen(500),
            payer_user_id: Some("merchant".into()),
            merchant_user_id: Some("merchant".into()),
            pay_timeout_minutes: 60,
            extra_param: None,
            notify: Some(target()),
            call: CallFormat::default(),
            method: FundMethod::Agreement,
            expire_after_ms: 3_600_000,
            return_url: None,
            now_ms: NOW,
        }
    }

    fn facts() -> FundFacts {
        FundFacts { existing: None, payer_balance: Some(Fen::from_fen(500)), ids: ids() }
    }

    fn applied(decision: Decision) -> Plan {
        match decision {
            Decision::Apply(plan) => *plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn precedence() {
        let break_from = |rule: usize| {
            let mut cmd = agreement_pay();
            let mut facts = facts();
            if rule <= 4 {
                cmd.amount = Fen::from_fen(501);
            }
            if rule <= 3 {
                facts.payer_balance = None;
            }
            if rule <= 2 {
                facts.existing = Some(funded_packet());
            }
            if rule <= 1 {
                cmd.payer_user_id = Some("someone-else".into());
            }
            decide_fund(&cmd, &facts).expect("no bug")
        };
        let expected = [
            Rejection::PayerNotMatch,
            Rejection::UniqueViolation,
            Rejection::PayerNotExist,
            Rejection::BalanceNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn an_identical_retry_replays_even_when_the_balance_no_longer_covers_it() {
        let cmd = agreement_pay();
        let mut existing = funded_packet();
        existing.fingerprint = cmd.fingerprint();
        let facts =
            FundFacts { existing: Some(existing), payer_balance: Some(Fen::ZERO), ..facts() };
        assert_eq!(
            decide_fund(&cmd, &facts).expect("no bug"),
            Decision::Replay { operation_id: "O1".into() }
        );
    }

    #[test]
    fn agreement_pay_moves_the_money_and_notifies() {
        let plan = applied(decide_fund(&agreement_pay(), &facts()).expect("no bug"));
        let entry = plan.entry.expect("money moves");
        assert_eq!(entry.entry.postings()[0].account, Account::User("merchant".into()));
        assert_eq!(entry.entry.postings()[1].account, Account::Custody("A2".into()));
        let order = plan.new_order.expect("order");
        assert_eq!(order.status, PacketStatus::Funded);
        assert_eq!(order.expire_at_ms, Some(NOW + 3_600_000));
        assert_eq!(plan.notify.map(|n| n.event), Some(NotifyEvent::PaySuccess));
        assert_eq!(plan.answer.as_deref(), Some("O2"));
    }

    #[test]
    fn page_pay_creates_an_unpaid_packet_that_moves_nothing() {
        let cmd = FundCommand {
            method: FundMethod::Page,
            payer_user_id: None,
            merchant_user_id: None,
            ..agreement_pay()
        };
        let facts = FundFacts { payer_balance: None, ..facts() };
        let plan = applied(decide_fund(&cmd, &facts).expect("no bug"));
        assert_eq!(plan.entry, None);
        assert_eq!(plan.notify, None);
        let order = plan.new_order.expect("order");
        assert_eq!(order.status, PacketStatus::WaitPay);
        assert_eq!(order.pay_deadline_ms, Some(NOW + 60 * 60_000));
        assert_eq!(order.expire_at_ms, None, "expiry starts when it is paid");
        assert_eq!(order.call, Some(CallFormat::default()), "the payer's pages sign with it");
        assert_eq!(plan.new_operation.map(|op| op.status), Some(OperationStatus::Init));
    }
}

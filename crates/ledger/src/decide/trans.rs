//! The decisions of `STD_RED_PACKET` over `alipay.fund.trans.*` (std-red-packet-spec.md). They
//! are fund.coupon's rules on the same ledger — a send is a packet (`packet_plan`), a claim a
//! payout from it (`payout_plan`), a return a refund (`refund_plan`) — with the product's own
//! checks: the other product's orders are not named, a payee's `name` must match, a B2C red
//! packet is paid from the merchant's account and not to it.
//!
//! The rejections are the ledger's; the gateway answers them in this product's sub_codes
//! (`ORDER_NOT_EXIST`, `NO_ORDER_PERMISSION`, `PAYMENT_INFO_INCONSISTENCY`,
//! `PAYMENT_MONEY_NOT_ENOUGH`, …; docs/std-red-packet.md).

use super::disburse::{movable, payout_plan, Payout, PayoutSource};
use super::fund::{packet_plan, NewPacket};
use super::refund::{refund_plan, PayerReturn};
use super::{deadline, resolve_packet, resolve_payee};
use crate::command::FundMethod;
use crate::facts::{DisburseFacts, FundFacts, OrderRecord, RefundFacts, TransferFacts};
use crate::packet::{OperationKind, OrderKind, Product};
use crate::plan::Decision;
use crate::trans::{BizScene, ClaimCommand, ReturnCommand, SendCommand, TransferCommand};
use crate::{check_fund, Bug, Rejection};

/// A send's PAY operation carries no merchant number: the send is named by its out_biz_no, and
/// an empty out_request_no can never be a return's (the gateway requires one).
const SEND_PAY_REQUEST_NO: &str = "";

/// `alipay.fund.trans.app.pay`: creates the send, unpaid, bound to its payer.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | an order with this `(app_id, out_biz_no)` exists: a send with the same parameters | replay it |
/// | 1 | … any other order (either product) | `UniqueViolation` |
/// | 2 | the bound payer (`payer_binded_alipay_uid`) has no account | `PayerNotExist` |
pub fn decide_send(cmd: &SendCommand, facts: &FundFacts) -> Result<Decision, Bug> {
    let fingerprint = cmd.fingerprint();
    if let Some(existing) = &facts.existing {
        if existing.kind == OrderKind::Packet
            && existing.product == Product::StdRedPacket
            && existing.fingerprint == fingerprint
        {
            return Ok(Decision::Replay { operation_id: existing.first_operation_id.clone() });
        }
        return Ok(Decision::Reject(Rejection::UniqueViolation));
    }
    if facts.payer_balance.is_none() {
        return Ok(Decision::Reject(Rejection::PayerNotExist));
    }
    let remark = cmd.remark.as_deref().unwrap_or(&cmd.order_title);
    let plan = packet_plan(NewPacket {
        ids: &facts.ids,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_biz_no,
        out_request_no: SEND_PAY_REQUEST_NO,
        product: Product::StdRedPacket,
        method: FundMethod::App,
        order_title: &cmd.order_title,
        remark,
        amount: cmd.amount,
        payer_user_id: Some(&cmd.payer_user_id),
        funded_by: None,
        pay_timeout_minutes: None,
        pay_deadline_ms: Some(match cmd.time_expire_ms {
            Some(at) => at,
            None => deadline(cmd.now_ms, cmd.pay_timeout_default_ms)?,
        }),
        expire_after_ms: Some(cmd.expire_after_ms),
        expire_at_ms: cmd.refund_time_expire_ms,
        extra_param: None,
        passback_params: cmd.passback_params.as_deref(),
        notify: cmd.message.as_ref(),
        call: cmd.call,
        fingerprint,
        return_url: None,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// `alipay.fund.trans.uni.transfer`, `PERSONAL_COLLECTION`: a claimer takes part of a send.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | `original_order_id` names no order | `AuthOrderNotExist` |
/// | 2 | … another app's order | `AccessForbidden` |
/// | 3 | … a claim's own order, or a fund.coupon packet | `IllegalArgument` |
/// | 4 | the payee names no user | `PayeeNotExist` |
/// | 5 | the payee's id and logon id name different users | `IllegalArgument` |
/// | 6 | `payee_info.name` is not the payee's real name | `PayeeNameNotMatch` |
/// | 7 | an order with this `(app_id, out_biz_no)` exists: a claim with the same parameters | replay it |
/// | 7 | … any other order | `UniqueViolation` |
/// | 8 | the send is unpaid, closed, or past its refund time at `now` | `OrderStatusInvalid` |
/// | 9 | the amount exceeds what is left | `MoneyNotEnough` |
pub fn decide_claim(cmd: &ClaimCommand, facts: &DisburseFacts) -> Result<Decision, Bug> {
    let send = match resolve_packet(
        &cmd.app_id,
        facts.packet.as_ref(),
        "original_order_id",
        Product::StdRedPacket,
    ) {
        Ok(send) => send,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let payee = match resolve_payee(
        &cmd.payee,
        facts.payee_by_user_id.as_ref(),
        facts.payee_by_logon_id.as_ref(),
        cmd.payee_name.as_deref(),
    ) {
        Ok(payee) => payee,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let fingerprint = cmd.fingerprint(&send.auth_no, &payee);
    if let Some(existing) = &facts.existing {
        return Ok(replay_or_refuse(existing, &fingerprint));
    }
    if let Err(rejection) = movable(send, cmd.amount, cmd.now_ms)? {
        return Ok(Decision::Reject(rejection));
    }
    let remark = cmd.remark.as_deref().unwrap_or(&cmd.order_title);
    let plan = payout_plan(Payout {
        ids: &facts.ids,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_biz_no,
        out_request_no: SEND_PAY_REQUEST_NO,
        product: Product::StdRedPacket,
        source: PayoutSource::Packet(send),
        payee: &payee,
        amount: cmd.amount,
        order_title: &cmd.order_title,
        remark,
        extra_param: None,
        passback_params: cmd.passback_params.as_deref(),
        notify: cmd.message.as_ref(),
        fingerprint,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// `alipay.fund.trans.uni.transfer`, `DIRECT_TRANSFER`: a B2C red packet from the app's
/// merchant account.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | the payee names no user | `PayeeNotExist` |
/// | 2 | the payee's id and logon id name different users | `IllegalArgument` |
/// | 3 | `payee_info.name` is not the payee's real name | `PayeeNameNotMatch` |
/// | 4 | an order with this `(app_id, out_biz_no)` exists: a transfer with the same parameters | replay it |
/// | 4 | … any other order | `UniqueViolation` |
/// | 5 | the payee is the merchant account itself | `PayerPayeeSame` |
/// | 6 | the merchant account does not exist | `PayerNotExist` |
/// | 7 | its balance is below the amount | `BalanceNotEnough` |
pub fn decide_transfer(cmd: &TransferCommand, facts: &TransferFacts) -> Result<Decision, Bug> {
    let payee = match resolve_payee(
        &cmd.payee,
        facts.payee_by_user_id.as_ref(),
        facts.payee_by_logon_id.as_ref(),
        cmd.payee_name.as_deref(),
    ) {
        Ok(payee) => payee,
        Err(rejection) => return Ok(Decision::Reject(rejection)),
    };
    let fingerprint = cmd.fingerprint(&payee);
    if let Some(existing) = &facts.existing {
        return Ok(replay_or_refuse(existing, &fingerprint));
    }
    if payee == cmd.merchant_user_id {
        return Ok(Decision::Reject(Rejection::PayerPayeeSame));
    }
    let Some(balance) = facts.payer_balance else {
        return Ok(Decision::Reject(Rejection::PayerNotExist));
    };
    if let Err(rejection) = check_fund(balance, cmd.amount) {
        return Ok(Decision::Reject(rejection));
    }
    let remark = cmd.remark.as_deref().unwrap_or(&cmd.order_title);
    let plan = payout_plan(Payout {
        ids: &facts.ids,
        app_id: &cmd.app_id,
        out_order_no: &cmd.out_biz_no,
        out_request_no: SEND_PAY_REQUEST_NO,
        product: Product::StdRedPacket,
        source: PayoutSource::Account(&cmd.merchant_user_id),
        payee: &payee,
        amount: cmd.amount,
        order_title: &cmd.order_title,
        remark,
        extra_param: None,
        passback_params: cmd.passback_params.as_deref(),
        notify: cmd.message.as_ref(),
        fingerprint,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// A claim or transfer order already made with these ids: the same request replays.
fn replay_or_refuse(existing: &OrderRecord, fingerprint: &str) -> Decision {
    if existing.kind == OrderKind::Disburse
        && existing.product == Product::StdRedPacket
        && existing.fingerprint == fingerprint
    {
        return Decision::Replay { operation_id: existing.first_operation_id.clone() };
    }
    Decision::Reject(Rejection::UniqueViolation)
}

/// `alipay.fund.trans.refund`: returns part of a send's unclaimed rest to its payer.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | `order_id` names no order | `AuthOrderNotExist` |
/// | 2 | … another app's order | `AccessForbidden` |
/// | 3 | … a claim's own order, or a fund.coupon packet | `IllegalArgument` |
/// | 4 | the send has an operation with this `out_request_no`: a return with the same parameters | replay it |
/// | 4 | … any other | `UniqueViolation` |
/// | 5 | the send is unpaid, closed, or past its refund time at `now` (the rest goes back by itself) | `OrderStatusInvalid` |
/// | 6 | the amount exceeds paid − claimed − returned | `MoneyNotEnough` |
///
/// A refused return stores nothing, so it can be resubmitted with the same `out_request_no`.
pub fn decide_return(cmd: &ReturnCommand, facts: &RefundFacts) -> Result<Decision, Bug> {
    let send =
        match resolve_packet(&cmd.app_id, facts.packet.as_ref(), "order_id", Product::StdRedPacket)
        {
            Ok(send) => send,
            Err(rejection) => return Ok(Decision::Reject(rejection)),
        };
    let fingerprint = cmd.fingerprint();
    if let Some(existing) = &facts.existing {
        if existing.kind == OperationKind::Refund && existing.fingerprint == fingerprint {
            return Ok(Decision::Replay { operation_id: existing.operation_id.clone() });
        }
        return Ok(Decision::Reject(Rejection::UniqueViolation));
    }
    if let Err(rejection) = movable(send, cmd.amount, cmd.now_ms)? {
        return Ok(Decision::Reject(rejection));
    }
    let remark = cmd.remark.as_deref().unwrap_or("");
    let plan = refund_plan(PayerReturn {
        packet: send,
        operation_id: &facts.operation_id,
        out_request_no: &cmd.out_request_no,
        amount: cmd.amount,
        remark,
        fingerprint,
        notify: cmd.message.as_ref(),
        app_id: &cmd.app_id,
        expired_at_ms: None,
        now_ms: cmd.now_ms,
    })?;
    Ok(Decision::Apply(Box::new(plan)))
}

/// What a `common.query` lookup found, by the id that won (`pay_fund_order_id` > `order_id` >
/// `out_biz_no`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryFound {
    /// The app of the document's order.
    pub app_id: String,
    /// Its product.
    pub product: Product,
    /// Its scene.
    pub scene: BizScene,
    /// The operation to answer with.
    pub operation_id: String,
}

/// `alipay.fund.trans.common.query`: the operation to answer with.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | the winning id names nothing, or a fund.coupon order, or (by `out_biz_no`) a document of another `biz_scene` | `AuthOrderNotExist` |
/// | 2 | more than one return has this `out_biz_no` (an out_request_no is unique per send only) | `IllegalArgument` |
/// | 3 | the document is another app's | `AccessForbidden` |
pub fn decide_trans_query(
    app_id: &str,
    scene: Option<BizScene>,
    found: &[QueryFound],
) -> Result<String, Rejection> {
    let matching: Vec<&QueryFound> = found
        .iter()
        .filter(|document| document.product == Product::StdRedPacket)
        .filter(|document| scene.is_none_or(|scene| scene == document.scene))
        .collect();
    let document = match matching.as_slice() {
        [] => return Err(Rejection::AuthOrderNotExist),
        [one] => *one,
        _ => {
            return Err(Rejection::IllegalArgument(
                "several returns have this out_biz_no (out_request_no); query by \
                 pay_fund_order_id (the return's refund_order_id)"
                    .into(),
            ))
        }
    };
    if document.app_id != app_id {
        return Err(Rejection::AccessForbidden);
    }
    Ok(document.operation_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::PayeeRef;
    use crate::decide::fixtures::{funded_packet, ids, target, APP, NOW};
    use crate::facts::UserRecord;
    use crate::packet::PacketStatus;
    use crate::plan::Plan;
    use hongbao_money::Fen;

    fn send_packet() -> OrderRecord {
        let mut send = funded_packet();
        send.product = Product::StdRedPacket;
        send.fund_method = Some(FundMethod::App);
        send
    }

    fn alice() -> UserRecord {
        UserRecord {
            user_id: "alice".into(),
            logon_id: "alice@example.com".into(),
            real_name: Some("王小红".into()),
        }
    }

    fn applied(decision: Decision) -> Plan {
        match decision {
            Decision::Apply(plan) => *plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    fn claim() -> ClaimCommand {
        ClaimCommand {
            app_id: APP.into(),
            out_biz_no: "c1".into(),
            original_order_id: "A1".into(),
            amount: Fen::from_fen(3_000),
            order_title: "红包领取".into(),
            remark: None,
            payee: PayeeRef::UserId("alice".into()),
            payee_name: Some("王小红".into()),
            passback_params: None,
            message: Some(target()),
            now_ms: NOW,
        }
    }

    fn claim_facts() -> DisburseFacts {
        DisburseFacts {
            packet: Some(send_packet()),
            payee_by_user_id: Some(alice()),
            payee_by_logon_id: None,
            existing: None,
            ids: ids(),
        }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn claim_precedence() {
        let break_from = |rule: usize| {
            let mut facts = claim_facts();
            let mut send = send_packet();
            let mut cmd = claim();
            if rule <= 9 {
                cmd.amount = Fen::from_fen(10_001);
            }
            if rule <= 8 {
                send.packet.status = PacketStatus::WaitPay;
            }
            if rule <= 7 {
                facts.existing = Some(send_packet());
            }
            if rule <= 6 {
                cmd.payee_name = Some("李四".into());
            }
            if rule <= 5 {
                cmd.payee =
                    PayeeRef::Both { user_id: "alice".into(), logon_id: "bob@example.com".into() };
                facts.payee_by_logon_id = Some(UserRecord {
                    user_id: "bob".into(),
                    logon_id: "bob@example.com".into(),
                    real_name: None,
                });
            }
            if rule <= 4 {
                facts.payee_by_logon_id = None;
            }
            if rule <= 3 {
                send.product = Product::Coupon;
            }
            if rule <= 2 {
                send.app_id = "appB".into();
            }
            facts.packet = (rule > 1).then_some(send);
            decide_claim(&cmd, &facts).expect("no bug")
        };
        let expected = [
            Rejection::AuthOrderNotExist,
            Rejection::AccessForbidden,
            Rejection::IllegalArgument(
                "original_order_id names an alipay.fund.coupon red packet".into(),
            ),
            Rejection::PayeeNotExist,
            Rejection::IllegalArgument(
                "payee_user_id and payee_logon_id name different users".into(),
            ),
            Rejection::PayeeNameNotMatch,
            Rejection::UniqueViolation,
            Rejection::OrderStatusInvalid,
            Rejection::MoneyNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn a_claim_pays_from_the_send_and_a_coupon_disburse_cannot() {
        let plan = applied(decide_claim(&claim(), &claim_facts()).expect("no bug"));
        let order = plan.new_order.expect("the claim's own order");
        assert_eq!(order.product, Product::StdRedPacket);
        assert_eq!(order.packet_auth_no.as_deref(), Some("A1"));
        assert_eq!(plan.order_change.expect("counter").after.disbursed, Fen::from_fen(3_000));
    }

    fn transfer() -> TransferCommand {
        TransferCommand {
            app_id: APP.into(),
            out_biz_no: "b1".into(),
            merchant_user_id: "merchant".into(),
            amount: Fen::from_fen(500),
            order_title: "B2C红包".into(),
            remark: None,
            payee: PayeeRef::UserId("alice".into()),
            payee_name: None,
            passback_params: None,
            message: None,
            now_ms: NOW,
        }
    }

    fn transfer_facts() -> TransferFacts {
        TransferFacts {
            payee_by_user_id: Some(alice()),
            payee_by_logon_id: None,
            existing: None,
            payer_balance: Some(Fen::from_fen(500)),
            ids: ids(),
        }
    }

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn transfer_precedence() {
        let break_from = |rule: usize| {
            let mut facts = transfer_facts();
            let mut cmd = transfer();
            if rule <= 7 {
                cmd.amount = Fen::from_fen(501);
            }
            if rule <= 6 {
                facts.payer_balance = None;
            }
            if rule <= 5 {
                cmd.merchant_user_id = "alice".into();
            }
            if rule <= 4 {
                facts.existing = Some(funded_packet());
            }
            if rule <= 3 {
                cmd.payee_name = Some("李四".into());
            }
            if rule <= 2 {
                cmd.payee =
                    PayeeRef::Both { user_id: "alice".into(), logon_id: "bob@example.com".into() };
                facts.payee_by_logon_id = Some(UserRecord {
                    user_id: "bob".into(),
                    logon_id: "bob@example.com".into(),
                    real_name: None,
                });
            }
            if rule <= 1 {
                facts.payee_by_logon_id = None;
            }
            decide_transfer(&cmd, &facts).expect("no bug")
        };
        let expected = [
            Rejection::PayeeNotExist,
            Rejection::IllegalArgument(
                "payee_user_id and payee_logon_id name different users".into(),
            ),
            Rejection::PayeeNameNotMatch,
            Rejection::UniqueViolation,
            Rejection::PayerPayeeSame,
            Rejection::PayerNotExist,
            Rejection::BalanceNotEnough,
        ];
        for (index, rejection) in expected.into_iter().enumerate() {
            assert_eq!(break_from(index + 1), Decision::Reject(rejection), "row {}", index + 1);
        }
    }

    #[test]
    fn a_transfer_pays_from_the_merchant_account_without_a_packet() {
        let plan = applied(decide_transfer(&transfer(), &transfer_facts()).expect("no bug"));
        assert_eq!(plan.order_change, None, "no packet is involved");
        let entry = plan.entry.expect("money moves").entry;
        assert_eq!(entry.postings()[0].account, crate::Account::User("merchant".into()));
        assert_eq!(plan.new_order.expect("order").packet_auth_no, None);
    }

    #[test]
    fn a_send_is_an_unpaid_packet_bound_to_its_payer() {
        let cmd = SendCommand {
            app_id: APP.into(),
            out_biz_no: "s1".into(),
            amount: Fen::from_fen(888),
            order_title: "拼手气红包".into(),
            remark: None,
            payer_user_id: "alice".into(),
            time_expire_ms: Some(NOW + 900_000),
            pay_timeout_default_ms: 3_600_000,
            refund_time_expire_ms: Some(NOW + 86_400_000),
            expire_after_ms: 172_800_000,
            passback_params: Some("{\"k\":1}".into()),
            message: Some(target()),
            call: crate::CallFormat::default(),
            now_ms: NOW,
        };
        let facts = FundFacts { existing: None, payer_balance: Some(Fen::ZERO), ids: ids() };
        let plan = applied(decide_send(&cmd, &facts).expect("no bug"));
        let order = plan.new_order.expect("send");
        assert_eq!(order.pay_deadline_ms, Some(NOW + 900_000));
        let later = SendCommand { time_expire_ms: None, now_ms: NOW + 5_000, ..cmd.clone() };
        let default = SendCommand { time_expire_ms: None, ..cmd.clone() };
        assert_eq!(
            later.fingerprint(),
            default.fingerprint(),
            "a send without time_expire reopened later is the same send"
        );
        assert_eq!(order.status, PacketStatus::WaitPay);
        assert_eq!(order.payer_user_id.as_deref(), Some("alice"));
        assert_eq!(order.expire_at_ms, Some(NOW + 86_400_000));
        assert_eq!(order.product, Product::StdRedPacket);
        let unknown = FundFacts { payer_balance: None, ..facts.clone() };
        assert_eq!(
            decide_send(&cmd, &unknown).expect("no bug"),
            Decision::Reject(Rejection::PayerNotExist)
        );
        let mut existing = funded_packet();
        existing.product = Product::StdRedPacket;
        existing.fingerprint = cmd.fingerprint();
        let again = FundFacts { existing: Some(existing.clone()), ..facts.clone() };
        assert_eq!(
            decide_send(&cmd, &again).expect("no bug"),
            Decision::Replay { operation_id: "O1".into() }
        );
        existing.product = Product::Coupon;
        let coupon = FundFacts { existing: Some(existing), ..facts };
        assert_eq!(
            decide_send(&cmd, &coupon).expect("no bug"),
            Decision::Reject(Rejection::UniqueViolation),
            "one namespace of out_biz_no and out_order_no per app"
        );
    }

    #[test]
    fn a_query_names_one_document_of_this_app() {
        let found = |app: &str, scene, id: &str| QueryFound {
            app_id: app.into(),
            product: Product::StdRedPacket,
            scene,
            operation_id: id.into(),
        };
        assert_eq!(decide_trans_query(APP, None, &[]), Err(Rejection::AuthOrderNotExist));
        let send = found(APP, BizScene::PersonalPay, "P1");
        assert_eq!(
            decide_trans_query(APP, Some(BizScene::PersonalPay), std::slice::from_ref(&send)),
            Ok("P1".into())
        );
        assert_eq!(
            decide_trans_query(
                APP,
                Some(BizScene::PersonalCollection),
                std::slice::from_ref(&send)
            ),
            Err(Rejection::AuthOrderNotExist)
        );
        assert_eq!(decide_trans_query("appB", None, &[send]), Err(Rejection::AccessForbidden));
        let two = [found(APP, BizScene::Refund, "R1"), found(APP, BizScene::Refund, "R2")];
        assert!(matches!(
            decide_trans_query(APP, Some(BizScene::Refund), &two),
            Err(Rejection::IllegalArgument(_))
        ));
    }
}

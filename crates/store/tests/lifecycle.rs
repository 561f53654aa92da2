//! Model-based property test of a packet's whole lifecycle, on SQLite and PostgreSQL, across both
//! products on one ledger: page.pay, app.pay and agreement.pay packets and fund.trans sends
//! (bound to their payer), the payer confirming, disburses and claims, refunds and returns, B2C
//! transfers from the merchant's account, commands of one product naming the other's orders, the
//! clock moving, the deadline scheduler closing unpaid packets and returning expired remainders,
//! and the notify outbox with delivery results and resends. Random sequences run against a real
//! store and a small in-memory model; after every step the outcome, every balance, every outbox
//! row (status, attempts, next attempt) and all money invariants must agree with the model.
//!
//! The clock only moves on `Advance`; the scheduler only runs on `Fire`: between the two, an
//! expired packet must already pay nothing out and a late confirmation must be refused (time is
//! a fact of every decision, not something the scheduler makes true).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::notify::{ClaimShare, NOTIFY_ATTEMPTS_MAX, RETRY_SCHEDULE_MS};
use hongbao_ledger::{
    check_invariants, ClaimCommand, CompletePayment, DisburseCommand, FiredDeadline, FundCommand,
    FundMethod, NotifyAttempt, NotifyCharset, NotifyEvent, NotifySignType, NotifyStatus,
    NotifyTarget, OperationQuery, OperationRef, OperationStatus, OrderRef, Outcome, PayeeRef,
    RefundCommand, Rejection, ReturnCommand, SendCommand, TransferCommand,
};
use hongbao_money::Fen;
use hongbao_store::{NotifyFilter, SandboxUser};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

mod backends;
use backends::Backend;

const APP: &str = "appA";
const MERCHANT: &str = "2088000000000001";
const PAYERS: [&str; 3] = ["2088000000000011", "2088000000000012", "2088000000000999"];
const PAYEES: [&str; 2] = ["2088000000000021", "2088000000000022"];
const OPENING: i64 = 10_000;
const FAKE_AUTH_NO: &str = "2000010100000000000000000000";
const PAY_TIMEOUT_MINUTES: u32 = 10;
const EXPIRE_AFTER_MS: i64 = 60 * 60_000;
const LEASE_MS: i64 = 1_000;
const METHODS: [FundMethod; 3] = [FundMethod::Page, FundMethod::App, FundMethod::Agreement];
/// `Create`'s method index of a fund.trans send.
const STD_SEND: usize = 3;

#[derive(Clone, Debug)]
enum Action {
    /// method 0..3: fund.coupon page/app/agreement; 3: a fund.trans send.
    Create {
        packet: usize,
        method: usize,
        amount: i64,
    },
    Confirm {
        packet: usize,
        payer: usize,
    },
    /// `std`: a fund.trans claim instead of a fund.coupon disburse.
    Disburse {
        packet: usize,
        order: usize,
        payee: usize,
        amount: i64,
        std: bool,
    },
    /// `std`: a fund.trans return instead of a fund.coupon refund.
    Refund {
        packet: usize,
        request: usize,
        amount: i64,
        std: bool,
    },
    /// A fund.trans B2C red packet from the merchant's account.
    Transfer {
        order: usize,
        payee: usize,
        amount: i64,
    },
    Advance {
        minutes: i64,
    },
    Fire,
    Deliver {
        delivered: bool,
    },
    Resend {
        which: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..3usize, 0..4usize, 1..4000i64)
            .prop_map(|(packet, method, amount)| Action::Create { packet, method, amount }),
        3 => (0..4usize, 0..3usize).prop_map(|(packet, payer)| Action::Confirm { packet, payer }),
        3 => (0..4usize, 0..3usize, 0..2usize, 1..2000i64, any::<bool>()).prop_map(
            |(packet, order, payee, amount, std)| Action::Disburse { packet, order, payee, amount, std }
        ),
        2 => (0..4usize, 0..3usize, 1..2000i64, any::<bool>()).prop_map(
            |(packet, request, amount, std)| Action::Refund { packet, request, amount, std }
        ),
        1 => (0..2usize, 0..2usize, 1..3000i64)
            .prop_map(|(order, payee, amount)| Action::Transfer { order, payee, amount }),
        2 => prop_oneof![Just(4i64), Just(9), Just(11), Just(59), Just(61), Just(300)]
            .prop_map(|minutes| Action::Advance { minutes }),
        2 => Just(Action::Fire),
        2 => any::<bool>().prop_map(|delivered| Action::Deliver { delivered }),
        1 => (0..8usize).prop_map(|which| Action::Resend { which }),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    WaitPay,
    Funded,
    Closed,
}

#[derive(Clone, Debug)]
struct ModelPacket {
    method: usize,
    /// A fund.trans send (else a fund.coupon packet).
    std: bool,
    amount: i64,
    auth_no: String,
    pay_operation_id: String,
    state: State,
    payer: Option<String>,
    moved: i64,
    pay_deadline_ms: i64,
    expire_at_ms: Option<i64>,
    expired: bool,
    refunds: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelNotify {
    status: NotifyStatus,
    attempts: u32,
    next_attempt_at_ms: Option<i64>,
}

#[derive(Default)]
struct Model {
    packets: BTreeMap<usize, ModelPacket>,
    /// Disburse and claim orders by name: (packet, payee, amount, operation_id, fund.trans).
    disburses: BTreeMap<String, (usize, String, i64, String, bool)>,
    /// B2C transfers by name: (payee, amount, operation_id).
    transfers: BTreeMap<String, (String, i64, String)>,
    balances: BTreeMap<String, i64>,
    /// The outbox, by (operation_id, event).
    outbox: BTreeMap<(String, &'static str), ModelNotify>,
}

impl Model {
    fn notify(&mut self, operation_id: &str, event: NotifyEvent, now_ms: i64) {
        let row = ModelNotify {
            status: NotifyStatus::Pending,
            attempts: 0,
            next_attempt_at_ms: Some(now_ms),
        };
        self.outbox.insert((operation_id.to_owned(), event.as_str()), row);
    }

    fn credit(&mut self, user: &str, amount: i64) {
        *self.balances.get_mut(user).expect("known user") += amount;
    }
}

fn target() -> NotifyTarget {
    NotifyTarget {
        url: "http://127.0.0.1:9/notify".into(),
        charset: NotifyCharset::Utf8,
        sign_type: NotifySignType::Rsa2,
    }
}

fn kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Applied(_) => "applied".into(),
        Outcome::Replayed(_) => "replayed".into(),
        Outcome::Rejected(r) => rejection(r),
    }
}

fn rejection(r: &Rejection) -> String {
    match r {
        Rejection::IllegalArgument(_) => "IllegalArgument".into(),
        other => format!("{other:?}"),
    }
}

fn request_name(index: usize) -> String {
    if index == 2 {
        "pay1".into()
    } else {
        format!("r{index}")
    }
}

async fn run(backend: Backend, actions: Vec<Action>) -> Result<(), TestCaseError> {
    let Some(test_store) = backends::fresh(backend).await else { return Ok(()) };
    let store = test_store.store.as_ref();
    let mut model = Model::default();
    let mut now_ms: i64 = 1_795_000_000_000;
    let accounts = [MERCHANT, PAYERS[0], PAYERS[1], PAYEES[0], PAYEES[1]];
    for user in accounts {
        let opening = if user == PAYEES[0] || user == PAYEES[1] { 0 } else { OPENING };
        let sandbox_user = SandboxUser {
            user_id: user.into(),
            logon_id: format!("{user}@x.com"),
            password: "p".into(),
            opening_balance: Fen::from_fen(opening),
            real_name: None,
        };
        store.ensure_user(sandbox_user, now_ms).await.expect("user");
        model.balances.insert(user.into(), opening);
    }
    let issued: i64 = model.balances.values().sum();
    for (step, action) in actions.into_iter().enumerate() {
        match action.clone() {
            Action::Create { packet, method, amount } => {
                let std = method == STD_SEND;
                let immediate = !std && METHODS[method] == FundMethod::Agreement;
                let expected = match model.packets.get(&packet) {
                    Some(p) if p.method == method && p.amount == amount => "replayed".to_owned(),
                    Some(_) => rejection(&Rejection::UniqueViolation),
                    None if immediate && model.balances[MERCHANT] < amount => {
                        rejection(&Rejection::BalanceNotEnough)
                    }
                    None => "applied".to_owned(),
                };
                let payer = immediate.then(|| MERCHANT.to_owned());
                let bound = PAYERS[packet % 2];
                let outcome = if std {
                    store
                        .send(SendCommand {
                            app_id: APP.into(),
                            out_biz_no: format!("p{packet}"),
                            amount: Fen::from_fen(amount),
                            order_title: "现金红包".into(),
                            remark: None,
                            payer_user_id: bound.into(),
                            time_expire_ms: None,
                            pay_timeout_default_ms: i64::from(PAY_TIMEOUT_MINUTES) * 60_000,
                            refund_time_expire_ms: None,
                            expire_after_ms: EXPIRE_AFTER_MS,
                            passback_params: None,
                            message: Some(target()),
                            call: hongbao_ledger::CallFormat::default(),
                            now_ms,
                        })
                        .await
                } else {
                    store
                        .fund(FundCommand {
                            app_id: APP.into(),
                            out_order_no: format!("p{packet}"),
                            out_request_no: "pay1".into(),
                            order_title: "红包".into(),
                            amount: Fen::from_fen(amount),
                            payer_user_id: payer.clone(),
                            merchant_user_id: payer.clone(),
                            pay_timeout_minutes: PAY_TIMEOUT_MINUTES,
                            extra_param: None,
                            notify: Some(target()),
                            method: METHODS[method],
                            expire_after_ms: EXPIRE_AFTER_MS,
                            return_url: None,
                            call: hongbao_ledger::CallFormat::default(),
                            now_ms,
                        })
                        .await
                }
                .expect("store");
                prop_assert_eq!(kind(&outcome), expected, "step {} {:?}", step, action);
                match outcome {
                    Outcome::Applied(view) => {
                        let mut created = ModelPacket {
                            method,
                            std,
                            amount,
                            auth_no: view.auth_no.clone(),
                            pay_operation_id: view.operation_id.clone(),
                            state: State::WaitPay,
                            payer: std.then(|| bound.to_owned()),
                            moved: 0,
                            pay_deadline_ms: now_ms + i64::from(PAY_TIMEOUT_MINUTES) * 60_000,
                            expire_at_ms: None,
                            expired: false,
                            refunds: BTreeMap::new(),
                        };
                        if immediate {
                            created.state = State::Funded;
                            created.payer = Some(MERCHANT.into());
                            created.expire_at_ms = Some(now_ms + EXPIRE_AFTER_MS);
                            model.credit(MERCHANT, -amount);
                            model.notify(&view.operation_id, NotifyEvent::PaySuccess, now_ms);
                        }
                        prop_assert_eq!(
                            view.status,
                            if immediate {
                                OperationStatus::Success
                            } else {
                                OperationStatus::Init
                            }
                        );
                        if std {
                            prop_assert_eq!(view.auth_no.len(), 32, "fund.trans ids are 32 digits");
                        }
                        model.packets.insert(packet, created);
                    }
                    Outcome::Replayed(view) => {
                        prop_assert_eq!(
                            &view.operation_id,
                            &model.packets[&packet].pay_operation_id
                        );
                    }
                    Outcome::Rejected(_) => {}
                }
            }
            Action::Confirm { packet, payer } => {
                let payer_id = PAYERS[payer];
                let (auth_no, expected) = match model.packets.get(&packet) {
                    None => (FAKE_AUTH_NO.to_owned(), Err(Rejection::AuthOrderNotExist)),
                    Some(p) => {
                        let expected = match p.state {
                            State::Funded if p.payer.as_deref() == Some(payer_id) => Ok(false),
                            State::Funded | State::Closed => Err(Rejection::OrderStatusInvalid),
                            State::WaitPay if now_ms >= p.pay_deadline_ms => {
                                Err(Rejection::OrderStatusInvalid)
                            }
                            State::WaitPay
                                if p.payer.as_deref().is_some_and(|bound| bound != payer_id) =>
                            {
                                Err(Rejection::PayerNotMatch)
                            }
                            State::WaitPay if payer == 2 => Err(Rejection::PayerNotExist),
                            State::WaitPay if model.balances[payer_id] < p.amount => {
                                Err(Rejection::BalanceNotEnough)
                            }
                            State::WaitPay => Ok(true),
                        };
                        (p.auth_no.clone(), expected)
                    }
                };
                let confirmed = store
                    .complete_payment(CompletePayment {
                        auth_no,
                        payer_user_id: payer_id.into(),
                        now_ms,
                    })
                    .await
                    .expect("store");
                prop_assert_eq!(
                    confirmed.as_ref().map(|_| ()).map_err(rejection),
                    expected.as_ref().map(|_| ()).map_err(rejection),
                    "step {} {:?}",
                    step,
                    action
                );
                if let (Ok(view), Ok(moved)) = (&confirmed, expected) {
                    prop_assert_eq!(view.status, OperationStatus::Success);
                    if moved {
                        let p = model.packets.get_mut(&packet).expect("packet");
                        p.state = State::Funded;
                        p.payer = Some(payer_id.into());
                        p.expire_at_ms = Some(now_ms + EXPIRE_AFTER_MS);
                        let (amount, operation_id) = (p.amount, p.pay_operation_id.clone());
                        model.credit(payer_id, -amount);
                        model.notify(&operation_id, NotifyEvent::PaySuccess, now_ms);
                    }
                }
            }
            Action::Disburse { packet, order, payee, amount, std } => {
                let name = format!("d{order}");
                let payee_id = PAYEES[payee];
                let (auth_no, expected) = match model.packets.get(&packet) {
                    None => (FAKE_AUTH_NO.to_owned(), rejection(&Rejection::AuthOrderNotExist)),
                    Some(p) if p.std != std => {
                        (p.auth_no.clone(), rejection(&Rejection::IllegalArgument(String::new())))
                    }
                    Some(p) => {
                        let expected = match model.disburses.get(&name) {
                            Some((k, who, a, _, of_std))
                                if *k == packet
                                    && who == payee_id
                                    && *a == amount
                                    && *of_std == std =>
                            {
                                "replayed".into()
                            }
                            Some(_) => rejection(&Rejection::UniqueViolation),
                            None if p.state != State::Funded => {
                                rejection(&Rejection::OrderStatusInvalid)
                            }
                            None if p.expired || p.expire_at_ms.is_some_and(|at| now_ms >= at) => {
                                rejection(&Rejection::OrderStatusInvalid)
                            }
                            None if p.amount - p.moved < amount => {
                                rejection(&Rejection::MoneyNotEnough)
                            }
                            None => "applied".into(),
                        };
                        (p.auth_no.clone(), expected)
                    }
                };
                let outcome = if std {
                    store
                        .claim(ClaimCommand {
                            app_id: APP.into(),
                            out_biz_no: name.clone(),
                            original_order_id: auth_no,
                            amount: Fen::from_fen(amount),
                            order_title: "领取".into(),
                            remark: None,
                            payee: PayeeRef::UserId(payee_id.into()),
                            payee_name: None,
                            passback_params: None,
                            message: Some(target()),
                            now_ms,
                        })
                        .await
                } else {
                    store
                        .disburse(DisburseCommand {
                            app_id: APP.into(),
                            out_order_no: name.clone(),
                            packet: OrderRef::AuthNo(auth_no),
                            out_request_no: "d".into(),
                            order_title: "领取".into(),
                            amount: Fen::from_fen(amount),
                            payee: PayeeRef::UserId(payee_id.into()),
                            extra_param: None,
                            notify: Some(target()),
                            now_ms,
                        })
                        .await
                }
                .expect("store");
                prop_assert_eq!(kind(&outcome), expected, "step {} {:?}", step, action);
                match outcome {
                    Outcome::Applied(view) => {
                        model.packets.get_mut(&packet).expect("packet").moved += amount;
                        model.credit(payee_id, amount);
                        model.notify(&view.operation_id, NotifyEvent::DisburseSuccess, now_ms);
                        let disburse =
                            (packet, payee_id.to_owned(), amount, view.operation_id, std);
                        model.disburses.insert(name, disburse);
                    }
                    Outcome::Replayed(view) => {
                        prop_assert_eq!(&view.operation_id, &model.disburses[&name].3);
                    }
                    Outcome::Rejected(_) => {}
                }
            }
            Action::Transfer { order, payee, amount } => {
                let name = format!("t{order}");
                let payee_id = PAYEES[payee];
                let expected = match model.transfers.get(&name) {
                    Some((who, a, _)) if who == payee_id && *a == amount => "replayed".to_owned(),
                    Some(_) => rejection(&Rejection::UniqueViolation),
                    None if model.balances[MERCHANT] < amount => {
                        rejection(&Rejection::BalanceNotEnough)
                    }
                    None => "applied".to_owned(),
                };
                let outcome = store
                    .transfer(TransferCommand {
                        app_id: APP.into(),
                        out_biz_no: name.clone(),
                        merchant_user_id: MERCHANT.into(),
                        amount: Fen::from_fen(amount),
                        order_title: "B2C红包".into(),
                        remark: None,
                        payee: PayeeRef::UserId(payee_id.into()),
                        payee_name: None,
                        passback_params: None,
                        message: Some(target()),
                        now_ms,
                    })
                    .await
                    .expect("store");
                prop_assert_eq!(kind(&outcome), expected, "step {} {:?}", step, action);
                match outcome {
                    Outcome::Applied(view) => {
                        model.credit(MERCHANT, -amount);
                        model.credit(payee_id, amount);
                        model.notify(&view.operation_id, NotifyEvent::DisburseSuccess, now_ms);
                        model
                            .transfers
                            .insert(name, (payee_id.to_owned(), amount, view.operation_id));
                    }
                    Outcome::Replayed(view) => {
                        prop_assert_eq!(&view.operation_id, &model.transfers[&name].2);
                    }
                    Outcome::Rejected(_) => {}
                }
            }
            Action::Refund { packet, request, amount, std } => {
                let request_no = request_name(request);
                let (auth_no, expected) = match model.packets.get(&packet) {
                    None => (FAKE_AUTH_NO.to_owned(), rejection(&Rejection::AuthOrderNotExist)),
                    Some(p) if p.std != std => {
                        (p.auth_no.clone(), rejection(&Rejection::IllegalArgument(String::new())))
                    }
                    Some(p) => {
                        let expected = match p.refunds.get(&request_no) {
                            Some(a) if *a == amount => "replayed".into(),
                            Some(_) => rejection(&Rejection::UniqueViolation),
                            // A coupon packet's PAY took "pay1"; a send's PAY has no number.
                            None if request_no == "pay1" && !std => {
                                rejection(&Rejection::UniqueViolation)
                            }
                            None if p.state != State::Funded => {
                                rejection(&Rejection::OrderStatusInvalid)
                            }
                            None if p.expired || p.expire_at_ms.is_some_and(|at| now_ms >= at) => {
                                rejection(&Rejection::OrderStatusInvalid)
                            }
                            None if p.amount - p.moved < amount => {
                                rejection(&Rejection::MoneyNotEnough)
                            }
                            None => "applied".into(),
                        };
                        (p.auth_no.clone(), expected)
                    }
                };
                let outcome = if std {
                    store
                        .return_send(ReturnCommand {
                            app_id: APP.into(),
                            order_id: auth_no,
                            out_request_no: request_no.clone(),
                            amount: Fen::from_fen(amount),
                            remark: Some("退回".into()),
                            passback_params: None,
                            message: Some(target()),
                            now_ms,
                        })
                        .await
                } else {
                    store
                        .refund(RefundCommand {
                            app_id: APP.into(),
                            auth_no,
                            out_request_no: request_no.clone(),
                            amount: Fen::from_fen(amount),
                            remark: "退回".into(),
                            notify: Some(target()),
                            now_ms,
                        })
                        .await
                }
                .expect("store");
                prop_assert_eq!(kind(&outcome), expected, "step {} {:?}", step, action);
                if let Outcome::Applied(view) = outcome {
                    let p = model.packets.get_mut(&packet).expect("packet");
                    p.moved += amount;
                    p.refunds.insert(request_no, amount);
                    let payer = p.payer.clone().expect("a funded packet has a payer");
                    model.credit(&payer, amount);
                    model.notify(&view.operation_id, NotifyEvent::RefundSuccess, now_ms);
                }
            }
            Action::Advance { minutes } => now_ms += minutes * 60_000,
            Action::Fire => {
                let mut expected = BTreeSet::new();
                let mut returned = Vec::new();
                for (index, p) in model.packets.iter_mut() {
                    if p.state == State::WaitPay && now_ms >= p.pay_deadline_ms {
                        p.state = State::Closed;
                        expected.insert(format!("closed {}", p.auth_no));
                        returned.push((*index, 0, NotifyEvent::PayClosed));
                    } else if p.state == State::Funded
                        && !p.expired
                        && p.expire_at_ms.is_some_and(|at| now_ms >= at)
                    {
                        p.expired = true;
                        let remaining = p.amount - p.moved;
                        p.moved = p.amount;
                        expected.insert(format!("expired {} {remaining}", p.auth_no));
                        if remaining > 0 {
                            returned.push((*index, remaining, NotifyEvent::RefundSuccess));
                        }
                    }
                }
                let fired = store.fire_deadlines(now_ms, 1_000).await.expect("store");
                let fired: BTreeSet<String> = fired
                    .iter()
                    .map(|f| match f {
                        FiredDeadline::Closed { auth_no } => format!("closed {auth_no}"),
                        FiredDeadline::Expired { auth_no, refunded } => {
                            format!("expired {auth_no} {}", refunded.fen())
                        }
                    })
                    .collect();
                prop_assert_eq!(fired, expected, "step {} {:?}", step, action);
                for (index, remaining, event) in returned {
                    let p = model.packets[&index].clone();
                    if event == NotifyEvent::PayClosed {
                        model.notify(&p.pay_operation_id, event, now_ms);
                        continue;
                    }
                    // The expiry's refund is an operation like any other, found by its name.
                    let query = OperationQuery {
                        app_id: APP.into(),
                        order: OrderRef::AuthNo(p.auth_no.clone()),
                        operation: OperationRef::OutRequestNo("EXPIRE_REFUND".into()),
                    };
                    let view = store.query(query).await.expect("store").expect("expiry refund");
                    prop_assert_eq!(view.amount, Fen::from_fen(remaining));
                    let payer = p.payer.clone().expect("a funded packet has a payer");
                    model.credit(&payer, remaining);
                    model.notify(&view.operation_id, event, now_ms);
                }
            }
            Action::Deliver { delivered } => {
                let due: BTreeSet<(String, &'static str)> = model
                    .outbox
                    .iter()
                    .filter(|(_, row)| {
                        row.status == NotifyStatus::Pending
                            && row.next_attempt_at_ms.is_some_and(|at| at <= now_ms)
                    })
                    .map(|(key, _)| key.clone())
                    .collect();
                let claimed = store
                    .claim_due_notifications(now_ms, LEASE_MS, ClaimShare::all(1_000))
                    .await
                    .expect("store");
                let got: BTreeSet<(String, &'static str)> = claimed
                    .iter()
                    .map(|pending| (pending.view.operation_id.clone(), pending.event.as_str()))
                    .collect();
                prop_assert_eq!(&got, &due, "step {} {:?}", step, action);
                for pending in claimed {
                    let attempt = NotifyAttempt {
                        at_ms: now_ms,
                        delivered,
                        http_status: Some(if delivered { 200 } else { 500 }),
                        error: (!delivered).then(|| "HTTP 500".to_owned()),
                        answer: Some(if delivered { "success" } else { "fail" }.to_owned()),
                        latency_ms: Some(1),
                    };
                    store.record_notify_attempt(&pending.notify_id, attempt).await.expect("store");
                    let key = (pending.view.operation_id.clone(), pending.event.as_str());
                    let row = model.outbox.get_mut(&key).expect("modelled row");
                    row.attempts += 1;
                    if delivered {
                        row.status = NotifyStatus::Delivered;
                        row.next_attempt_at_ms = None;
                    } else if row.attempts >= NOTIFY_ATTEMPTS_MAX {
                        row.status = NotifyStatus::Failed;
                        row.next_attempt_at_ms = None;
                    } else {
                        let delay = RETRY_SCHEDULE_MS[row.attempts as usize - 1];
                        row.next_attempt_at_ms = Some(now_ms + delay);
                    }
                }
            }
            Action::Resend { which } => {
                let listed = store
                    .list_notifications(NotifyFilter { limit: 1_000, ..NotifyFilter::default() })
                    .await
                    .expect("store");
                let mut keys: Vec<(String, &'static str, String)> = listed
                    .iter()
                    .map(|r| (r.operation_id.clone(), r.event.as_str(), r.notify_id.clone()))
                    .collect();
                keys.sort();
                if let Some((operation_id, event, notify_id)) = keys.get(which).cloned() {
                    prop_assert!(
                        !store
                            .resend_notification(&notify_id, Some("appB"), now_ms)
                            .await
                            .expect("store"),
                        "another app cannot resend it"
                    );
                    let resent = store
                        .resend_notification(&notify_id, Some(APP), now_ms)
                        .await
                        .expect("store");
                    prop_assert!(resent);
                    let row = model.outbox.get_mut(&(operation_id, event)).expect("modelled row");
                    *row = ModelNotify {
                        status: NotifyStatus::Pending,
                        attempts: 0,
                        next_attempt_at_ms: Some(now_ms),
                    };
                }
            }
        }

        let snapshot = store.snapshot().await.expect("snapshot");
        let violations = check_invariants(&snapshot);
        prop_assert!(violations.is_empty(), "step {} {:?}: {:?}", step, action, violations);
        for (user, balance) in &model.balances {
            let stored = store.balance(user).await.expect("balance");
            prop_assert_eq!(stored, Some(Fen::from_fen(*balance)), "balance of {}", user);
        }
        let held: i64 = snapshot
            .balances
            .iter()
            .filter(|(a, _)| !a.may_be_negative())
            .map(|(_, b)| b.fen())
            .sum();
        prop_assert_eq!(held, issued, "conservation");
        let listed = store
            .list_notifications(NotifyFilter { limit: 1_000, ..NotifyFilter::default() })
            .await
            .expect("store");
        let outbox: BTreeMap<(String, &'static str), ModelNotify> = listed
            .iter()
            .map(|r| {
                let next = r.next_attempt_at_ms.filter(|_| r.status == NotifyStatus::Pending);
                let row = ModelNotify {
                    status: r.status,
                    attempts: r.attempts,
                    next_attempt_at_ms: next,
                };
                ((r.operation_id.clone(), r.event.as_str()), row)
            })
            .collect();
        prop_assert_eq!(&outbox, &model.outbox, "outbox after step {} {:?}", step, action);
    }
    Ok(())
}

fn check(backend: Backend, actions: Vec<Action>) -> Result<(), TestCaseError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(backend, actions))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_lifecycle_matches_the_model_and_keeps_every_invariant(
        actions in proptest::collection::vec(action(), 1..40)
    ) {
        check(Backend::Sqlite, actions)?;
    }

    #[test]
    #[cfg_attr(hongbao_no_pg, ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)")]
    fn postgres_lifecycle_matches_the_model_and_keeps_every_invariant(
        actions in proptest::collection::vec(action(), 1..40)
    ) {
        check(Backend::Postgres, actions)?;
    }
}

//! The PostgreSQL group-commit writer's batch-shaped path (crates/store/src/postgres/shaped.rs):
//! a batch's facts loaded together, the ledger deciding each command on the rows as the earlier
//! commands of the batch left them, every plan written with one statement per table. Goal: the
//! outcomes are those of running the commands one after another. Method: bursts of concurrent
//! commands on one store (so that they arrive together and share batches) where each later
//! command's decision depends on an earlier one of the same burst: claims that outrun their
//! packet, funds that outrun their payer's balance, a refund among the claims, identical copies
//! and a conflicting copy of a claim, claims naming a packet funded in the same burst by its
//! out_order_no. Then: the counts of each outcome, the balances, every money invariant, and that
//! the batch-shaped path wrote batches.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::{
    check_invariants, DisburseCommand, FundCommand, FundMethod, OrderRef, Outcome, PayeeRef,
    RefundCommand, Rejection,
};
use hongbao_money::Fen;
use hongbao_store::{SandboxUser, Store};
use std::collections::HashSet;
use std::sync::Arc;

mod backends;

const APP: &str = "2021000000000001";
const MERCHANT: &str = "2088000000000001";
const PAYEE: &str = "2088000000000002";
const PAYEE_LOGON: &str = "2088000000000002@x.com";
const NOW_MS: i64 = 1_795_000_000_000;

fn user(user_id: &str, opening_fen: i64) -> SandboxUser {
    SandboxUser {
        user_id: user_id.into(),
        logon_id: format!("{user_id}@x.com"),
        password: "p".into(),
        opening_balance: Fen::from_fen(opening_fen),
        real_name: None,
    }
}

fn fund(out_order_no: &str, amount_fen: i64) -> FundCommand {
    FundCommand {
        app_id: APP.into(),
        out_order_no: out_order_no.into(),
        out_request_no: "pay1".into(),
        order_title: "packet".into(),
        amount: Fen::from_fen(amount_fen),
        payer_user_id: Some(MERCHANT.into()),
        merchant_user_id: Some(MERCHANT.into()),
        pay_timeout_minutes: 60,
        extra_param: None,
        notify: None,
        method: FundMethod::Agreement,
        expire_after_ms: 48 * 3_600_000,
        return_url: None,
        call: hongbao_ledger::CallFormat::default(),
        now_ms: NOW_MS,
    }
}

fn claim(out_order_no: &str, packet: OrderRef, amount_fen: i64, by_logon: bool) -> DisburseCommand {
    DisburseCommand {
        app_id: APP.into(),
        out_order_no: out_order_no.into(),
        packet,
        out_request_no: "1".into(),
        order_title: "claim".into(),
        amount: Fen::from_fen(amount_fen),
        payee: if by_logon {
            PayeeRef::LogonId(PAYEE_LOGON.into())
        } else {
            PayeeRef::UserId(PAYEE.into())
        },
        extra_param: None,
        notify: None,
        now_ms: NOW_MS + 1,
    }
}

async fn packet(store: &dyn Store, name: &str, amount_fen: i64) -> String {
    match store.fund(fund(name, amount_fen)).await.expect("fund") {
        Outcome::Applied(view) => view.auth_no,
        other => panic!("fund {name}: {other:?}"),
    }
}

enum Sent {
    Fund(FundCommand),
    Claim(DisburseCommand),
    Refund(RefundCommand),
}

/// Sends every command at once and returns the outcomes in order.
async fn burst(store: &Arc<dyn Store>, commands: Vec<Sent>) -> Vec<Outcome> {
    let tasks: Vec<_> = commands
        .into_iter()
        .map(|command| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                match command {
                    Sent::Fund(cmd) => store.fund(cmd).await,
                    Sent::Claim(cmd) => store.disburse(cmd).await,
                    Sent::Refund(cmd) => store.refund(cmd).await,
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("the store answers"));
    }
    outcomes
}

fn paid(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => Some(view.operation_id.as_str()),
        Outcome::Rejected(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn a_batch_decides_each_command_on_what_the_earlier_ones_left() {
    let Some(test_store) = backends::fresh(backends::Backend::Postgres).await else { return };
    let store = Arc::clone(&test_store.store);
    let (written_before, handed_back_before) = hongbao_store::postgres::shaped_batches();
    store.ensure_user(user(MERCHANT, 5_000), NOW_MS).await.expect("merchant");
    store.ensure_user(user(PAYEE, 0), NOW_MS).await.expect("payee");
    let hot = packet(store.as_ref(), "HOT", 1_000).await;
    let big = packet(store.as_ref(), "BIG", 1_000).await;
    // Left on the merchant's account: 30.00.

    let mut commands = Vec::new();
    // 0..60: claims of 0.25 on a packet of 10.00, by user id and by logon id; 60: a refund of
    // 1.00 from it among them. What fits depends on every earlier command of the burst.
    for index in 0..60 {
        let by_logon = index % 3 == 0;
        commands.push(Sent::Claim(claim(
            &format!("H{index}"),
            OrderRef::AuthNo(hot.clone()),
            25,
            by_logon,
        )));
    }
    commands.insert(
        20,
        Sent::Refund(RefundCommand {
            app_id: APP.into(),
            auth_no: hot.clone(),
            out_request_no: "back".into(),
            amount: Fen::from_fen(100),
            remark: "r".into(),
            notify: None,
            now_ms: NOW_MS + 2,
        }),
    );
    // 61..66: on a packet with room for all: two claims each sent twice identically, and one
    // claim sent twice with different amounts.
    for (name, amount) in [("B1", 10), ("B1", 10), ("B2", 10), ("B2", 10), ("B3", 10), ("B3", 20)] {
        commands.push(Sent::Claim(claim(name, OrderRef::AuthNo(big.clone()), amount, false)));
    }
    // 67..107: 40 funds of 1.00 for 30.00 (31.00 if the refund comes first) on the account.
    for index in 0..40 {
        commands.push(Sent::Fund(fund(&format!("F{index}"), 100)));
    }
    // 107, 108: a packet funded in the burst, claimed by its out_order_no in the same burst.
    commands.push(Sent::Fund(fund("NEW", 50)));
    commands.push(Sent::Claim(claim("NEW-C", OrderRef::OutOrderNo("NEW".into()), 50, false)));
    let outcomes = burst(&store, commands).await;

    let refunded = match &outcomes[20] {
        Outcome::Applied(_) => 100,
        Outcome::Rejected(Rejection::MoneyNotEnough) => 0,
        other => panic!("the refund: {other:?}"),
    };
    let hot_claims: Vec<&Outcome> =
        outcomes[..61].iter().enumerate().filter(|(at, _)| *at != 20).map(|(_, o)| o).collect();
    let paid_hot = hot_claims.iter().filter(|o| paid(o).is_some()).count() as i64;
    assert_eq!(25 * paid_hot + refunded, 1_000, "the packet paid out exactly what it held");
    for outcome in hot_claims.iter().filter(|o| paid(o).is_none()) {
        assert!(
            matches!(outcome, Outcome::Rejected(Rejection::MoneyNotEnough)),
            "a refused claim: {outcome:?}"
        );
    }
    let copies = &outcomes[61..67];
    assert!(paid(&copies[0]).is_some() && paid(&copies[0]) == paid(&copies[1]), "B1 answers alike");
    assert!(paid(&copies[2]).is_some() && paid(&copies[2]) == paid(&copies[3]), "B2 answers alike");
    let conflict: Vec<bool> = copies[4..]
        .iter()
        .map(|o| matches!(o, Outcome::Rejected(Rejection::UniqueViolation)))
        .collect();
    assert!(
        conflict == [true, false] && paid(&copies[5]).is_some()
            || conflict == [false, true] && paid(&copies[4]).is_some(),
        "one of the two B3 pays, the other is a conflict: {:?}",
        &copies[4..]
    );
    let funds = &outcomes[67..108];
    let funded_fen: i64 = funds
        .iter()
        .zip((0..40).map(|_| 100).chain([50]))
        .filter(|(o, _)| paid(o).is_some())
        .map(|(_, amount)| amount)
        .sum();
    for outcome in funds.iter().filter(|o| paid(o).is_none()) {
        assert!(
            matches!(outcome, Outcome::Rejected(Rejection::BalanceNotEnough)),
            "a refused fund: {outcome:?}"
        );
    }
    assert!(funds.iter().any(|o| paid(o).is_none()), "40.50 asked of at most 31.00");
    assert!(funded_fen > 3_000 - 100, "funds stopped only when the balance ran out");
    let new_claim = &outcomes[108];
    let new_funded = paid(&outcomes[107]).is_some();
    match (new_funded, new_claim) {
        (true, Outcome::Applied(_)) | (false, Outcome::Rejected(_)) => {}
        other => panic!("the claim on a packet funded in the same burst: {other:?}"),
    }
    let applied = outcomes.iter().filter(|o| matches!(o, Outcome::Applied(_))).count();
    let operations: HashSet<&str> = outcomes.iter().filter_map(paid).collect();
    assert_eq!(operations.len(), applied, "every applied command has an operation of its own");

    let payee = store.balance(PAYEE).await.expect("balance").expect("payee");
    let new_claimed = if paid(new_claim).is_some() { 50 } else { 0 };
    let b3 = if paid(&copies[4]).is_some() { 10 } else { 20 };
    assert_eq!(
        payee.fen(),
        25 * paid_hot + 10 + 10 + b3 + new_claimed,
        "the payee holds what was paid"
    );
    let merchant = store.balance(MERCHANT).await.expect("balance").expect("merchant");
    assert_eq!(
        merchant.fen(),
        3_000 + refunded - funded_fen,
        "the merchant paid what was answered"
    );
    let violations = check_invariants(&store.snapshot().await.expect("snapshot"));
    assert!(violations.is_empty(), "{violations:?}");
    // Written by the batch-shaped path itself, not by the one-by-one path it falls back to
    // (which would answer alike, so the outcomes alone could not tell).
    let (written_after, handed_back_after) = hongbao_store::postgres::shaped_batches();
    assert!(written_after > written_before, "the batch-shaped path wrote no batch");
    assert_eq!(handed_back_after, handed_back_before, "a batch fell back to one command at a time");
}

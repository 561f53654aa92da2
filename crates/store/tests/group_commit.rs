//! The PostgreSQL group-commit writer (issue: benchmarks; design in
//! crates/store/src/postgres/group_commit.rs). Goal: a command that cannot get its row lock does
//! not hold up the commands batched with it, and still applies exactly once. Method: another
//! session (as another process would) locks packet A's row; a claim on A and a claim on B are
//! sent together. B's claim must be answered while A's row is still locked (the batch waits
//! `LOCK_WAIT_BATCH` for the rows of all its commands, then lets each command lock its own, and
//! the commands' lock_timeout takes A's claim out and runs it alone); once the lock is released,
//! A's claim applies. Both claims pay once, and every money invariant holds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::{
    check_invariants, DisburseCommand, FundCommand, FundMethod, OrderRef, Outcome, PayeeRef,
};
use hongbao_money::Fen;
use hongbao_store::{SandboxUser, Store};
use std::sync::Arc;
use std::time::Duration;

mod backends;

const APP: &str = "2021000000000001";
const MERCHANT: &str = "2088000000000001";
const PAYEE: &str = "2088000000000002";
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

async fn packet(store: &dyn Store, name: &str) -> String {
    let funded = store
        .fund(FundCommand {
            app_id: APP.into(),
            out_order_no: name.into(),
            out_request_no: "pay1".into(),
            order_title: name.into(),
            amount: Fen::from_fen(1_000),
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
        })
        .await
        .expect("fund");
    match funded {
        Outcome::Applied(view) => view.auth_no,
        other => panic!("fund {name}: {other:?}"),
    }
}

fn claim(auth_no: &str, out_order_no: &str) -> DisburseCommand {
    DisburseCommand {
        app_id: APP.into(),
        out_order_no: out_order_no.into(),
        packet: OrderRef::AuthNo(auth_no.into()),
        out_request_no: "1".into(),
        order_title: "claim".into(),
        amount: Fen::from_fen(100),
        payee: PayeeRef::UserId(PAYEE.into()),
        extra_param: None,
        notify: None,
        now_ms: NOW_MS + 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn a_locked_row_holds_up_only_its_own_command() {
    let Some(test_store) = backends::fresh(backends::Backend::Postgres).await else { return };
    let store = Arc::clone(&test_store.store);
    store.ensure_user(user(MERCHANT, 100_000), NOW_MS).await.expect("merchant");
    store.ensure_user(user(PAYEE, 0), NOW_MS).await.expect("payee");
    let locked = packet(store.as_ref(), "A").await;
    let free = packet(store.as_ref(), "B").await;

    let url = test_store.postgres_url().expect("a PostgreSQL store");
    let (mut other, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("raw connection");
    tokio::spawn(connection);
    let holder = other.transaction().await.expect("begin");
    holder
        .query_one("SELECT auth_no FROM fund_order WHERE auth_no = $1 FOR UPDATE", &[&locked])
        .await
        .expect("lock packet A");

    let on_locked = tokio::spawn({
        let store = Arc::clone(&store);
        let command = claim(&locked, "claim-A");
        async move { store.disburse(command).await }
    });
    let on_free = tokio::spawn({
        let store = Arc::clone(&store);
        let command = claim(&free, "claim-B");
        async move { store.disburse(command).await }
    });
    // Generous bound: the batch gives up on A's row after 500 + 200 ms.
    let free_answer = tokio::time::timeout(Duration::from_secs(20), on_free)
        .await
        .expect("the claim on the free packet is answered while packet A is locked")
        .expect("task")
        .expect("store answers");
    assert!(matches!(free_answer, Outcome::Applied(_)), "claim on B: {free_answer:?}");
    assert!(!on_locked.is_finished(), "the claim on A waits for A's row lock");

    holder.commit().await.expect("release packet A");
    let locked_answer = tokio::time::timeout(Duration::from_secs(20), on_locked)
        .await
        .expect("the claim on A is answered once its row is free")
        .expect("task")
        .expect("store answers");
    assert!(matches!(locked_answer, Outcome::Applied(_)), "claim on A: {locked_answer:?}");

    let balance = store.balance(PAYEE).await.expect("balance").expect("payee exists");
    assert_eq!(balance, Fen::from_fen(200), "each claim paid exactly once");
    let violations = check_invariants(&store.snapshot().await.expect("snapshot"));
    assert!(violations.is_empty(), "{violations:?}");
}

//! Concurrency of the store: many disburses race for one hot packet, each sent twice at once
//! through different handles (for PostgreSQL, different connection pools, as separate gateway
//! processes would hold). Goal: nothing is paid twice and nothing beyond the packet, and both
//! copies of a request get the same answer. Method: a packet of 100.00, 150 distinct claims of
//! 1.00, every claim sent twice concurrently; then the outcomes, the balances and every money
//! invariant are checked.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::{
    check_invariants, DisburseCommand, FundCommand, FundMethod, OrderRef, Outcome, PayeeRef,
    Rejection,
};
use hongbao_money::Fen;
use hongbao_store::{SandboxUser, Store};
use std::collections::HashMap;
use std::sync::Arc;

mod backends;

const APP: &str = "2021000000000001";
const MERCHANT: &str = "2088000000000001";
const PAYEE: &str = "2088000000000002";
const PACKET_FEN: i64 = 10_000;
const CLAIM_FEN: i64 = 100;
const CLAIMS: usize = 150;
const HANDLES: usize = 4;

fn user(user_id: &str, opening_fen: i64) -> SandboxUser {
    SandboxUser {
        user_id: user_id.into(),
        logon_id: format!("{user_id}@x.com"),
        password: "p".into(),
        opening_balance: Fen::from_fen(opening_fen),
        real_name: None,
    }
}

fn claim(auth_no: &str, index: usize, now_ms: i64) -> DisburseCommand {
    DisburseCommand {
        app_id: APP.into(),
        out_order_no: format!("claim-{index}"),
        packet: OrderRef::AuthNo(auth_no.into()),
        out_request_no: "1".into(),
        order_title: "claim".into(),
        amount: Fen::from_fen(CLAIM_FEN),
        payee: PayeeRef::UserId(PAYEE.into()),
        extra_param: None,
        notify: None,
        now_ms,
    }
}

/// What an outcome says, with the operation it names: equal for a request and its replay.
fn answer(outcome: &Outcome) -> (String, Option<String>) {
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => {
            ("paid".into(), Some(view.operation_id.clone()))
        }
        Outcome::Rejected(rejection) => (format!("{rejection:?}"), None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hot_packet_never_pays_twice_or_beyond_its_amount() {
    for test_store in backends::each_store().await {
        let label = format!("{:?}", test_store.backend);
        let now_ms = 1_795_000_000_000;
        let store = &test_store.store;
        store.ensure_user(user(MERCHANT, 1_000_000), now_ms).await.expect("merchant");
        store.ensure_user(user(PAYEE, 0), now_ms).await.expect("payee");
        let funded = store
            .fund(FundCommand {
                app_id: APP.into(),
                out_order_no: "hot".into(),
                out_request_no: "pay1".into(),
                order_title: "hot".into(),
                amount: Fen::from_fen(PACKET_FEN),
                payer_user_id: Some(MERCHANT.into()),
                merchant_user_id: Some(MERCHANT.into()),
                pay_timeout_minutes: 60,
                extra_param: None,
                notify: None,
                method: FundMethod::Agreement,
                expire_after_ms: 48 * 3_600_000,
                return_url: None,
                call: hongbao_ledger::CallFormat::default(),
                now_ms,
            })
            .await
            .expect("fund");
        let Outcome::Applied(packet) = funded else { panic!("{label}: fund {funded:?}") };
        let mut handles: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..HANDLES {
            handles.push(test_store.another_process().await);
        }

        let mut tasks = Vec::new();
        for index in 0..CLAIMS {
            for copy in 0..2 {
                let handle = Arc::clone(&handles[(index + copy) % HANDLES]);
                let command = claim(&packet.auth_no, index, now_ms + 1);
                tasks.push(tokio::spawn(async move {
                    (index, handle.disburse(command).await.expect("store answers"))
                }));
            }
        }
        let mut answers: HashMap<usize, Vec<(String, Option<String>)>> = HashMap::new();
        let mut applied = 0;
        for task in tasks {
            let (index, outcome) = task.await.expect("task");
            if matches!(outcome, Outcome::Applied(_)) {
                applied += 1;
            }
            if let Outcome::Rejected(rejection) = &outcome {
                assert_eq!(rejection, &Rejection::MoneyNotEnough, "{label}: claim {index}");
            }
            answers.entry(index).or_default().push(answer(&outcome));
        }
        let paid = usize::try_from(PACKET_FEN / CLAIM_FEN).expect("claims that fit");
        assert_eq!(applied, paid, "{label}: exactly the claims that fit are applied, once each");
        for (index, pair) in &answers {
            assert_eq!(pair[0], pair[1], "{label}: both copies of claim {index} answer alike");
        }
        let balance = store.balance(PAYEE).await.expect("balance").expect("payee");
        assert_eq!(balance, Fen::from_fen(PACKET_FEN), "{label}: the payee got the packet");
        let snapshot = store.snapshot().await.expect("snapshot");
        let violations = check_invariants(&snapshot);
        assert!(violations.is_empty(), "{label}: {violations:?}");
    }
}

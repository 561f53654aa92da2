//! Many stateless `hongbao serve` processes on one PostgreSQL database: nothing lost, nothing
//! paid twice.
//!
//! Method: four processes start together on a fresh database (they migrate under an advisory
//! lock and create the same sandbox users at once). One funds a packet of 100.00; then 200
//! concurrent clients each claim 0.75 from it, sending the identical signed request to two
//! different processes at the same moment, and once more to a third process after everyone is
//! done. Checks: Σ paid out never exceeds the packet (exactly the 133 claims that fit are paid),
//! every 10000 answer appears once in the ledger with one journal entry, every copy of a
//! request gets the original answer, and every money invariant holds.
//!
//! Needs `HONGBAO_TEST_PG` (a server where databases may be created; `scripts/pg-cluster.sh
//! start` prints one). Without it the test prints why it skips; under `CI=true` it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_store::postgres::scratch::{ScratchDatabase, TEST_SERVER_VAR};
use hongbao_store::{PostgresStore, Store};
use hongbao_test_support::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const PROCESSES: usize = 4;
const CLIENTS: usize = 200;
const PACKET: &str = "100.00";
const PACKET_FEN: i64 = 10_000;
const CLAIM: &str = "0.75";
const CLAIM_FEN: i64 = 75;

/// The server to create the test database on, or `None` after saying why the test skips.
fn postgres_server() -> Option<String> {
    let reason = match std::env::var(TEST_SERVER_VAR) {
        Ok(url) if !url.is_empty() => return Some(url),
        _ => format!("{TEST_SERVER_VAR} is not set (scripts/pg-cluster.sh start prints a URL)"),
    };
    assert!(
        std::env::var("CI").map_or(true, |ci| ci != "true"),
        "CI=true and the PostgreSQL multi-process test cannot run: {reason}"
    );
    // Straight to stderr: libtest hides `eprintln!` of passing tests, and a skip must be seen.
    let line = format!("skipping the PostgreSQL multi-process test: {reason}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    None
}

/// `ServerProcess::send` for a pre-signed body, so every copy of a request is byte-identical.
async fn send_body(server: &ServerProcess, body: &[u8]) -> Answer {
    let request = post_request("/gateway.do", body, "application/x-www-form-urlencoded");
    verify_answer(
        raw(server.addr, &request).await,
        Some(DISBURSE),
        hongbao_protocol::Charset::Utf8,
        hongbao_protocol::SignType::Rsa2,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_on_one_database_never_pay_twice() {
    let Some(server_url) = postgres_server() else { return };
    let database = ScratchDatabase::create(&server_url).await.expect("test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    use_database(&config, database.url());

    // Started together: migrations and sandbox users race, and must come out once.
    let starting: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || ServerProcess::start(BIN, &config))
        })
        .collect();
    let servers: Vec<Arc<ServerProcess>> =
        starting.into_iter().map(|s| Arc::new(s.join().expect("server starts"))).collect();

    let pay = servers[0].send(&Call::new(PAY, &pay_biz("HOT", PACKET))).await;
    assert_eq!(pay.code(), "10000", "{}", pay.node);
    let auth_no = pay.field("auth_no").to_owned();

    let started = std::time::Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let body = Call::new(
            DISBURSE,
            &format!(
                r#"{{"out_order_no":"C{client}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"{CLAIM}","payee_user_id":"{ALICE}"}}"#
            ),
        )
        .body();
        let first = Arc::clone(&servers[client % PROCESSES]);
        let second = Arc::clone(&servers[(client + 1) % PROCESSES]);
        clients.push(tokio::spawn(async move {
            let (a, b) = tokio::join!(send_body(&first, &body), send_body(&second, &body));
            (client, body, a.node, b.node)
        }));
    }
    let mut answers = Vec::new();
    for client in clients {
        answers.push(client.await.expect("client"));
    }
    let concurrent_s = started.elapsed().as_secs_f64();

    let mut paid: HashMap<String, i64> = HashMap::new();
    for (client, body, first, second) in &answers {
        assert_eq!(first, second, "client {client}: both copies answer alike");
        // The late retry, to a third process, answers exactly as before.
        let third = send_body(&servers[(client + 2) % PROCESSES], body).await;
        assert_eq!(&third.node, first, "client {client}: a late retry replays the original");
        match first["code"].as_str() {
            Some("10000") => {
                let operation_id = first["operation_id"].as_str().expect("operation_id");
                assert_eq!(first["amount"], CLAIM, "client {client}");
                let earlier = paid.insert(operation_id.to_owned(), CLAIM_FEN);
                assert!(earlier.is_none(), "operation {operation_id} answered to two clients");
            }
            Some("40004") => assert_eq!(first["sub_code"], "MONEY_NOT_ENOUGH", "client {client}"),
            other => panic!("client {client}: unexpected code {other:?}: {first}"),
        }
    }
    let total_paid: i64 = paid.values().sum();
    assert!(total_paid <= PACKET_FEN, "paid {total_paid} fen out of a {PACKET_FEN} fen packet");
    assert_eq!(paid.len(), usize::try_from(PACKET_FEN / CLAIM_FEN).expect("fits"));

    // The ledger, read straight from the database the processes share.
    let store = PostgresStore::connect(database.url()).await.expect("store");
    let snapshot = store.snapshot().await.expect("snapshot");
    let violations = hongbao_ledger::check_invariants(&snapshot);
    assert!(violations.is_empty(), "money invariants broken: {violations:?}");
    let disbursed: Vec<_> = snapshot
        .operations
        .iter()
        .filter(|op| op.kind == hongbao_ledger::OperationKind::Disburse)
        .collect();
    let stored_ids: HashSet<&str> = disbursed.iter().map(|op| op.operation_id.as_str()).collect();
    assert_eq!(disbursed.len(), paid.len(), "one stored disburse per 10000 answer, no more");
    for operation_id in paid.keys() {
        assert!(stored_ids.contains(operation_id.as_str()), "{operation_id} is not in the ledger");
    }
    assert!(disbursed.iter().all(|op| op.entries == 1), "one journal entry per disburse");
    let alice = store.balance(ALICE).await.expect("balance").expect("alice");
    assert_eq!(alice.fen(), total_paid, "the payee holds exactly what was answered as paid");
    let merchant = store.balance(MERCHANT_A).await.expect("balance").expect("merchant");
    assert_eq!(merchant.fen(), MERCHANT_BALANCE - PACKET_FEN, "the merchant was issued once");
    eprintln!(
        "{} requests through {PROCESSES} processes in {concurrent_s:.2} s, {} paid",
        CLIENTS * 2,
        paid.len()
    );

    drop(store);
    for server in servers {
        if let Ok(server) = Arc::try_unwrap(server) {
            server.stop();
        }
    }
    database.drop_now().await.expect("drop database");
}

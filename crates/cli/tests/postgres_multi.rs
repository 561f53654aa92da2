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
//! Two more: a mixed load (pay, claims, refunds from two merchants to two payees, copies of a
//! claim to two processes) on three processes, where PostgreSQL must detect no deadlock (its
//! `pg_stat_database` count and the `deadlock detected` lines of the test's database in the
//! server log) and every request is answered within the SDKs' 15 s; and a packet row held by
//! another session, where clients that hang up leave no work behind and a waiting one gets a
//! signed, retry-safe 20000 in time.
//!
//! Needs `HONGBAO_TEST_PG` (a server where databases may be created; `scripts/pg-cluster.sh
//! start` prints one). Without it the test prints why it skips; under `CI=true` it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_store::postgres::scratch::{ScratchDatabase, TEST_SERVER_VAR};
use hongbao_store::{PostgresStore, Store};
use hongbao_test_support::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
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

/// How long the SDKs wait for an answer; every answer must come before it.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
const MIXED_PROCESSES: usize = 3;
const MIXED_WORKERS: usize = 24;
const MIXED_SECONDS: u64 = 10;

/// Sends `body` to the processes in turn until one answers it with anything but a retry-safe
/// 20000 (the SDKs' safe retry: identical bytes). Returns the answer, the sends it took, and the
/// longest wait for one answer.
async fn until_decided(
    servers: &[Arc<ServerProcess>],
    first: usize,
    method: &str,
    body: &[u8],
) -> (serde_json::Value, usize, std::time::Duration) {
    let request = post_request("/gateway.do", body, "application/x-www-form-urlencoded");
    let mut longest = std::time::Duration::ZERO;
    for attempt in 0.. {
        let server = &servers[(first + attempt) % servers.len()];
        let started = std::time::Instant::now();
        let http = tokio::time::timeout(CLIENT_TIMEOUT, async {
            let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
            stream.write_all(&request).await.expect("write");
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).await.expect("read");
            parse_response(&bytes)
        })
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer within the client's {CLIENT_TIMEOUT:?}"));
        longest = longest.max(started.elapsed());
        let answer = verify_answer(
            http,
            Some(method),
            hongbao_protocol::Charset::Utf8,
            hongbao_protocol::SignType::Rsa2,
        );
        if answer.code() == "20000" {
            assert!(
                answer.sub_msg().starts_with("系统繁忙"),
                "{method}: not retry-safe: {}",
                answer.node
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        return (answer.node, attempt + 1, longest);
    }
    unreachable!("the loop only ends by returning")
}

#[derive(Default)]
struct MixedFigures {
    answered: std::sync::atomic::AtomicUsize,
    resent: std::sync::atomic::AtomicUsize,
    longest_ms: std::sync::atomic::AtomicU64,
}

impl MixedFigures {
    fn record(&self, sends: usize, longest: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.answered.fetch_add(1, Relaxed);
        self.resent.fetch_add(sends - 1, Relaxed);
        self.longest_ms.fetch_max(u64::try_from(longest.as_millis()).unwrap_or(u64::MAX), Relaxed);
    }
}

/// The crash test's load without the crashes, wider: every worker funds packets from one of two
/// merchants, claims from them for the same two payees (by user id and by logon id, naming the
/// packet by auth_no or by out_order_no, one claim sent to two processes at once) and refunds
/// the rest, all workers at once on three processes. Every process's batches then hold the
/// merchants', the payees' and the packets' rows in every combination: the lock order must keep
/// them from waiting on each other in a cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn mixed_load_on_three_processes_never_deadlocks_and_answers_in_time() {
    use std::sync::atomic::Ordering::Relaxed;
    let Some(server_url) = postgres_server() else { return };
    let database = ScratchDatabase::create(&server_url).await.expect("test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    use_database(&config, database.url());
    let servers: Vec<Arc<ServerProcess>> =
        (0..MIXED_PROCESSES).map(|_| Arc::new(ServerProcess::start(BIN, &config))).collect();
    let servers = Arc::new(servers);
    let figures = Arc::new(MixedFigures::default());
    let answered: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(MIXED_SECONDS);

    let mut workers = Vec::new();
    for worker in 0..MIXED_WORKERS {
        let (servers, figures, answered) =
            (Arc::clone(&servers), Arc::clone(&figures), Arc::clone(&answered));
        workers.push(tokio::spawn(async move {
            let (app, key, merchant) = if worker % 2 == 0 {
                (APP_A, app_a_key(), MERCHANT_A)
            } else {
                (APP_B, app_b_key(), MERCHANT_B)
            };
            let mut round = 0;
            while std::time::Instant::now() < until {
                round += 1;
                let target = worker + round;
                let packet = format!("W{worker}R{round}");
                let pay = Call::new(
                    PAY,
                    &format!(
                        r#"{{"out_order_no":"{packet}","out_request_no":"pay1","order_title":"t","amount":"10.00","payer_user_id":"{merchant}"}}"#
                    ),
                )
                .app(app, key.clone());
                let (node, sends, longest) = until_decided(&servers, target, PAY, &pay.body()).await;
                assert_eq!(node["code"], "10000", "{packet}: {node}");
                figures.record(sends, longest);
                let auth_no = node["auth_no"].as_str().expect("auth_no").to_owned();
                answered.lock().expect("lock").push(node["operation_id"].as_str().expect("id").to_owned());
                for claim in 0..3 {
                    let packet_ref = if claim == 1 {
                        format!(r#""deduct_out_order_no":"{packet}""#)
                    } else {
                        format!(r#""deduct_auth_no":"{auth_no}""#)
                    };
                    let payee = if claim == 1 {
                        format!(r#""payee_logon_id":"{BOB_LOGON}""#)
                    } else {
                        format!(r#""payee_user_id":"{ALICE}""#)
                    };
                    let biz = format!(
                        r#"{{"out_order_no":"{packet}-C{claim}",{packet_ref},"out_request_no":"1","order_title":"t","amount":"2.50",{payee}}}"#
                    );
                    let body = Call::new(DISBURSE, &biz).app(app, key.clone()).body();
                    let node = if claim == 0 {
                        // Two copies at once, to two processes: one pays, both answer alike.
                        let ((a, sends_a, longest_a), (b, sends_b, longest_b)) = tokio::join!(
                            until_decided(&servers, target, DISBURSE, &body),
                            until_decided(&servers, target + 1, DISBURSE, &body),
                        );
                        assert_eq!(a, b, "{packet}-C{claim}: both copies answer alike");
                        figures.record(sends_a, longest_a);
                        figures.record(sends_b, longest_b);
                        a
                    } else {
                        let (node, sends, longest) =
                            until_decided(&servers, target + claim, DISBURSE, &body).await;
                        figures.record(sends, longest);
                        node
                    };
                    assert_eq!(node["code"], "10000", "{packet}-C{claim}: {node}");
                    answered.lock().expect("lock").push(node["operation_id"].as_str().expect("id").to_owned());
                }
                let biz = format!(
                    r#"{{"auth_no":"{auth_no}","out_request_no":"back","amount":"2.50","remark":"r"}}"#
                );
                let body = Call::new(REFUND, &biz).app(app, key.clone()).body();
                let (node, sends, longest) = until_decided(&servers, target + 2, REFUND, &body).await;
                assert_eq!(node["code"], "10000", "refund of {packet}: {node}");
                figures.record(sends, longest);
                answered.lock().expect("lock").push(node["operation_id"].as_str().expect("id").to_owned());
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }

    let store = PostgresStore::connect(database.url()).await.expect("store");
    let snapshot = store.snapshot().await.expect("snapshot");
    let violations = hongbao_ledger::check_invariants(&snapshot);
    assert!(violations.is_empty(), "money invariants broken: {violations:?}");
    let answered = answered.lock().expect("lock").clone();
    let mut entries: HashMap<&str, usize> = HashMap::new();
    for op in &snapshot.operations {
        entries.insert(op.operation_id.as_str(), op.entries);
    }
    for operation_id in &answered {
        assert_eq!(entries.get(operation_id.as_str()), Some(&1), "{operation_id}: one entry");
    }
    let moved = snapshot.operations.iter().filter(|op| op.entries == 1).count();
    assert_eq!(moved, answered.len(), "every movement in the ledger was answered once");
    drop(store);
    let servers = Arc::try_unwrap(servers).ok().expect("workers are done");
    for server in servers {
        if let Ok(server) = Arc::try_unwrap(server) {
            server.stop();
        }
    }
    let deadlocks = database.deadlocks().await.expect("deadlock count");
    let logged = database.server_log_count("deadlock detected").await.expect("server log");
    eprintln!(
        "mixed load: {MIXED_PROCESSES} processes, {MIXED_WORKERS} workers, {MIXED_SECONDS} s: {} answers, {} resent after a 20000, longest wait {} ms, deadlocks {deadlocks} (pg_stat_database), {} in the server log",
        figures.answered.load(Relaxed),
        figures.resent.load(Relaxed),
        figures.longest_ms.load(Relaxed),
        logged.map_or_else(|| "not readable".to_owned(), |n| n.to_string()),
    );
    assert_eq!(deadlocks, 0, "PostgreSQL detected deadlocks between the processes");
    assert_eq!(logged.unwrap_or(0), 0, "deadlock detected in the server log");
    database.drop_now().await.expect("drop database");
}

/// Sends `body` and waits for the whole answer, `CLIENT_TIMEOUT` at most; returns it and how long
/// it took.
async fn timed_send(
    server: &ServerProcess,
    method: &str,
    body: &[u8],
) -> (serde_json::Value, std::time::Duration) {
    let request = post_request("/gateway.do", body, "application/x-www-form-urlencoded");
    let started = std::time::Instant::now();
    let http = tokio::time::timeout(CLIENT_TIMEOUT, async {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(&request).await.expect("write");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("read");
        parse_response(&bytes)
    })
    .await
    .unwrap_or_else(|_| panic!("{method}: no answer within the client's {CLIENT_TIMEOUT:?}"));
    let answer = verify_answer(
        http,
        Some(method),
        hongbao_protocol::Charset::Utf8,
        hongbao_protocol::SignType::Rsa2,
    );
    (answer.node, started.elapsed())
}

fn claim_body(out_order_no: &str, auth_no: &str) -> Vec<u8> {
    Call::new(
        DISBURSE,
        &format!(
            r#"{{"out_order_no":"{out_order_no}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"0.01","payee_user_id":"{ALICE}"}}"#
        ),
    )
    .body()
}

/// A packet's row stays locked by someone else (an operator's session, a stalled transaction)
/// for longer than the SDKs wait. Clients that hang up meanwhile leave nothing behind: their
/// commands never run, not even after the lock is released, and hold no connection waiting for
/// it; a client that waits gets a signed, retry-safe 20000 before its own timeout, not a hung
/// request; once the row is free, identical retries go through and earlier answers replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn abandoned_requests_never_run_and_waits_end_in_a_signed_20000() {
    const HUNG_UP: usize = 30;
    let Some(server_url) = postgres_server() else { return };
    let database = ScratchDatabase::create(&server_url).await.expect("test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    use_database(&config, database.url());
    let server = Arc::new(ServerProcess::start(BIN, &config));
    let pay = server.send(&Call::new(PAY, &pay_biz("STUCK", "100.00"))).await;
    assert_eq!(pay.code(), "10000", "{}", pay.node);
    let stuck = pay.field("auth_no").to_owned();
    let pay = server.send(&Call::new(PAY, &pay_biz("FREE", "100.00"))).await;
    let free = pay.field("auth_no").to_owned();
    let acknowledged = claim_body("EARLIER", &free);
    let (first, _) = timed_send(&server, DISBURSE, &acknowledged).await;
    assert_eq!(first["code"], "10000", "{first}");

    let holder = database.client().await.expect("holder");
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM fund_order WHERE auth_no = '{stuck}' FOR NO KEY UPDATE"
        ))
        .await
        .expect("hold the packet's row");
    let held = std::time::Instant::now();

    let mut hung_up = Vec::new();
    for client in 0..HUNG_UP {
        let server = Arc::clone(&server);
        let body = claim_body(&format!("GONE{client}"), &stuck);
        hung_up.push(tokio::spawn(async move {
            let request = post_request("/gateway.do", &body, "application/x-www-form-urlencoded");
            let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
            stream.write_all(&request).await.expect("write");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            drop(stream);
        }));
    }
    let waiting = {
        let server = Arc::clone(&server);
        let body = claim_body("WAITS", &stuck);
        tokio::spawn(async move { timed_send(&server, DISBURSE, &body).await })
    };
    for client in hung_up {
        client.await.expect("client");
    }
    let (shed, waited) = waiting.await.expect("waiting client");
    assert_eq!(shed["code"], "20000", "the waiting client is shed: {shed}");
    assert!(
        shed["sub_msg"].as_str().is_some_and(|msg| msg.starts_with("系统繁忙")),
        "retry-safe: {shed}"
    );
    assert!(waited < CLIENT_TIMEOUT, "answered after {waited:?}");
    // Nobody waits for the abandoned commands: no connection of the process waits for the lock.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let waiters = database.lock_waiters().await.expect("pg_stat_activity");
    assert_eq!(waiters, 0, "connections still wait for the held row");
    let held_for = held.elapsed();
    holder.batch_execute("ROLLBACK").await.expect("release");

    // Once the row is free: the shed request goes through when resent, the acknowledged one
    // replays, and of the abandoned ones nothing ran (the writer got to them before this).
    let (resent, _) = timed_send(&server, DISBURSE, &claim_body("WAITS", &stuck)).await;
    assert_eq!(resent["code"], "10000", "{resent}");
    let (replayed, _) = timed_send(&server, DISBURSE, &acknowledged).await;
    assert_eq!(replayed, first, "the acknowledged claim replays");
    let store = PostgresStore::connect(database.url()).await.expect("store");
    let snapshot = store.snapshot().await.expect("snapshot");
    let claims = snapshot
        .operations
        .iter()
        .filter(|op| op.kind == hongbao_ledger::OperationKind::Disburse)
        .count();
    assert_eq!(claims, 2, "EARLIER and WAITS only: no abandoned claim ran");
    let violations = hongbao_ledger::check_invariants(&snapshot);
    assert!(violations.is_empty(), "money invariants broken: {violations:?}");
    eprintln!(
        "row held {held_for:?}: {HUNG_UP} abandoned claims never ran, the waiting one was shed after {waited:?}"
    );
    drop(store);
    drop(holder);
    if let Ok(server) = Arc::try_unwrap(server) {
        server.stop();
    }
    database.drop_now().await.expect("drop database");
}

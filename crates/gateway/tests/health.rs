//! `/healthz` and `/readyz` in process (issue: operating hongbao): liveness answers whatever the
//! workers do; readiness names each reason it is not ready (workers not running, a graceful stop)
//! and turns ready once they run. The PostgreSQL side (a paused database) is in
//! crates/cli/tests/operations.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_gateway::{Gateway, ManualClock};
use hongbao_store::SqliteStore;
use hongbao_test_support::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[tokio::test]
async fn probes_answer_and_readiness_names_what_is_missing() {
    let app = spawn_app().await;
    let live = get(app.addr, "/healthz").await;
    assert_eq!((live.status, live.body.as_slice()), (200, b"ok\n".as_slice()));
    assert_eq!(live.header("x-request-id").map(str::len), Some(16), "every answer has an id");
    let ready = get(app.addr, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_slice()), (200, b"ready\n".as_slice()));

    app.gateway.health.stopping.store(true, Ordering::Release);
    let stopping = get(app.addr, "/readyz").await;
    assert_eq!(stopping.status, 503);
    assert!(String::from_utf8_lossy(&stopping.body).contains("stopping"));
    assert_eq!(get(app.addr, "/healthz").await.status, 200, "alive while stopping");
}

#[tokio::test]
async fn readiness_waits_for_the_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("hongbao.db")).expect("store");
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let gateway = Arc::new(Gateway::new(HashMap::new(), gateway_key(), Arc::new(store), clock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = gateway.router();
    tokio::spawn(hongbao_gateway::server::serve(
        listener,
        router,
        test_limits(),
        std::future::pending(),
    ));
    let not_ready = get(addr, "/readyz").await;
    let body = String::from_utf8_lossy(&not_ready.body).into_owned();
    assert_eq!(not_ready.status, 503, "{body}");
    assert!(body.contains("notify worker: not running"), "{body}");
    assert!(body.contains("deadline scheduler: not running"), "{body}");
    assert!(!body.contains("store"), "the store answers: {body}");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let notifier = tokio::spawn(hongbao_gateway::notify::run(
        Arc::clone(&gateway),
        test_notify_config(),
        stopped.clone(),
    ));
    let scheduler = tokio::spawn(hongbao_gateway::scheduler::run(
        Arc::clone(&gateway),
        std::time::Duration::from_millis(20),
        stopped,
    ));
    let mut status = 0;
    for _ in 0..100 {
        status = get(addr, "/readyz").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "ready once both workers run");

    let _ = stop.send(true);
    notifier.await.expect("notify worker ends");
    scheduler.await.expect("scheduler ends");
    let body = String::from_utf8_lossy(&get(addr, "/readyz").await.body).into_owned();
    assert!(body.contains("notify worker: not running"), "a stopped worker is seen: {body}");
}

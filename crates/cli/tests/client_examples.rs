//! hongbao-client's `pay_disburse_query` example against the real demo: `hongbao serve` makes
//! its data folder, and the example, with its defaults (the demo's app id, key files under
//! `hongbao-data/keys/`, merchant and user accounts), funds, pays out and queries.
//!
//! Method: the example file is compiled into this test as a module; the demo is started in a
//! temporary folder as `hongbao-data/` on a free loopback port; the example's `Demo::from_env`
//! reads the demo's files from the folder it runs in (this test's working directory is set
//! there; the binary holds this one test) with only `HONGBAO_GATEWAY` set to the port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

#[path = "../../client/examples/pay_disburse_query.rs"]
#[allow(dead_code)] // its main, run by `cargo run --example`
mod pay_disburse_query;

use hongbao_client::{Fen, OperationStatus, UserId};
use hongbao_test_support::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn the_pay_disburse_query_example_runs_against_the_demo_with_its_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::start_demo(BIN, &dir.path().join("hongbao-data"), &listen);
    // The only test in this binary: the process-wide settings are ours.
    std::env::set_current_dir(dir.path()).expect("cd");
    std::env::set_var("HONGBAO_GATEWAY", format!("http://{listen}/gateway.do"));

    let demo = pay_disburse_query::Demo::from_env().expect("the demo's files");
    assert_eq!(demo.payee, UserId::new("2088102000000002"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let summary = runtime.block_on(pay_disburse_query::run(&demo)).expect("the example runs");
    assert_eq!(summary.paid.status, OperationStatus::Success);
    assert_eq!(summary.paid.amount, Fen::from_fen(1000));
    assert_eq!(summary.disbursed.amount, Fen::from_fen(300));
    assert_eq!(summary.disburse_detail.payee_user_id, Some(demo.payee.clone()));
    assert_eq!(summary.pay_detail.total_pay_refund_amount, Some(Fen::ZERO));
    server.stop();
}

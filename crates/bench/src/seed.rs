//! Growth seeding: operations written straight through the store API (`hongbao_store::open`,
//! then concurrent `fund` and `disburse` commands, which the SQLite writer group-commits up to
//! `BATCH_MAX` at a time), with the server stopped. HTTP would spend two RSA operations per row.
//!
//! Layout: packet `G{p}` (10.00, one PAY operation) and its 999 disburses `G{p}-{j}` of 0.01, so
//! every 1,000 operations is one packet.

use crate::load::{CLAIMERS, CLAIMER_BASE};
use anyhow::{bail, Result};
use hongbao_ledger::{DisburseCommand, FundCommand, FundMethod, OrderRef, Outcome, PayeeRef};
use hongbao_money::Fen;
use hongbao_store::Store;
use hongbao_test_support::{APP_A, MERCHANT_A};
use indicatif::ProgressBar;
use std::sync::Arc;

pub const OPERATIONS_PER_PACKET: u64 = 1000;
const IN_FLIGHT_MAX: usize = 1024;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn check(outcome: Outcome, what: &str) -> Result<()> {
    match outcome {
        Outcome::Rejected(rejection) => bail!("seeding {what}: {rejection:?}"),
        _ => Ok(()),
    }
}

/// Waits until fewer than `IN_FLIGHT_MAX` commands are in flight.
async fn make_room(tasks: &mut tokio::task::JoinSet<Result<()>>) -> Result<()> {
    while tasks.len() >= IN_FLIGHT_MAX {
        if let Some(done) = tasks.join_next().await {
            done??;
        }
    }
    Ok(())
}

/// Adds packets `from..to` (each `OPERATIONS_PER_PACKET` operations).
pub async fn seed(store: Arc<dyn Store>, from: u64, to: u64, bar: &ProgressBar) -> Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for packet in from..to {
        make_room(&mut tasks).await?;
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let cmd = FundCommand {
                app_id: APP_A.into(),
                out_order_no: format!("G{packet}"),
                out_request_no: "pay1".into(),
                order_title: "seed".into(),
                amount: Fen::from_fen(1000),
                payer_user_id: Some(MERCHANT_A.into()),
                merchant_user_id: Some(MERCHANT_A.into()),
                pay_timeout_minutes: 60,
                extra_param: None,
                notify: None,
                method: FundMethod::Agreement,
                expire_after_ms: 48 * 3_600_000,
                return_url: None,
                call: hongbao_ledger::CallFormat::default(),
                now_ms: now_ms(),
            };
            check(store.fund(cmd).await?, "fund")
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    bar.inc(to - from);
    for packet in from..to {
        for claim in 1..OPERATIONS_PER_PACKET {
            make_room(&mut tasks).await?;
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                let cmd = DisburseCommand {
                    app_id: APP_A.into(),
                    out_order_no: format!("G{packet}-{claim}"),
                    packet: OrderRef::OutOrderNo(format!("G{packet}")),
                    out_request_no: "1".into(),
                    order_title: "seed".into(),
                    amount: Fen::from_fen(1),
                    payee: PayeeRef::UserId((CLAIMER_BASE + claim % CLAIMERS).to_string()),
                    extra_param: None,
                    notify: None,
                    now_ms: now_ms(),
                };
                check(store.disburse(cmd).await?, "disburse")
            });
            if claim.is_multiple_of(100) {
                bar.inc(100);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Query targets spread over every seeded packet: (out_order_no, out_request_no).
pub fn query_targets(packets: u64, count: usize) -> Vec<(String, String)> {
    // A fixed-step walk (coprime step) covers old and new rows alike without a RNG crate.
    let operations = packets * (OPERATIONS_PER_PACKET - 1);
    let step = 7_919u64;
    (0..count as u64)
        .map(|index| {
            let at = (index * step * 131 + 17) % operations.max(1);
            let packet = at / (OPERATIONS_PER_PACKET - 1);
            let claim = at % (OPERATIONS_PER_PACKET - 1) + 1;
            (format!("G{packet}-{claim}"), "1".to_owned())
        })
        .collect()
}

//! Memory and liveness under idle and slow-loris connections (issue: reliability): 10,000 idle
//! connections plus 200 clients dribbling their headers keep the server's RSS bounded, and a
//! normal signed request is still answered at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const IDLE: usize = 10_000;
const SLOW: usize = 200;
const RSS_MAX_KB: u64 = 200 * 1024;

/// The server's resident memory. A measurement that cannot be made fails the test: read as 0,
/// it would pass any bound without testing anything (issue 16).
fn rss_kb(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {path} to measure the server's memory: {err}"));
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or_else(|| panic!("{path} has no VmRSS line"));
    assert!(kb > 0, "{path} reports no resident memory");
    kb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_and_slow_clients_keep_memory_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(BIN, &write_server_config(dir.path()));
    let pid = server.child.id();
    let baseline = rss_kb(pid);
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        match tokio::net::TcpStream::connect(server.addr).await {
            Ok(stream) => idle.push(stream),
            Err(err) => panic!("connection {} refused: {err}", idle.len()),
        }
    }
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"POST /gateway.do HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
        slow.push(stream);
    }
    // Dribble a byte now and then, as slow-loris does.
    for _ in 0..3 {
        for stream in &mut slow {
            let _ = stream.write_all(b"a").await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let loaded = rss_kb(pid);
    // The server's connection cap (10,000) is reached: a normal client waits in the backlog
    // until the header timeout (10 s) frees the slow-loris slots, then gets its answer.
    let started = Instant::now();
    let request = post_request(
        "/gateway.do",
        &Call::new(QUERY, r#"{"out_order_no":"x","out_request_no":"y"}"#).body(),
        "application/x-www-form-urlencoded",
    );
    drop(idle.drain(..100).collect::<Vec<_>>());
    let answer = tokio::time::timeout(Duration::from_secs(20), raw(server.addr, &request))
        .await
        .expect("answered in time");
    assert_eq!(answer.status, 200);
    eprintln!(
        "connections: baseline {} KiB, {IDLE} idle + {SLOW} slow-loris {} KiB, a normal request answered in {:?}",
        baseline,
        loaded,
        started.elapsed()
    );
    assert!(loaded < RSS_MAX_KB, "RSS {loaded} KiB under {IDLE} idle connections");
    drop(idle);
    drop(slow);
    server.stop();
}

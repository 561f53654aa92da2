//! Half-sent bodies on every route (issue 16, item 1): a client that sends its headers and part
//! of a body once held its connection, and so a file descriptor, forever on every route but
//! `/gateway.do`; a thousand of them stopped the whole gateway. Goal: the server keeps
//! answering `/gateway.do` while 1,500 half-sent bodies are open, with fewer file descriptors
//! than that. Method: `hongbao serve` under `ulimit -n 1024` with a 2 s body deadline; 1,500
//! connections to the routes that read a body, and 20 to every other route, each send a
//! request head promising a body and part of it, then stay open; signed requests to `/gateway.do` must still be answered, and the server
//! must let every half-sent connection go.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");
const HALF_SENT: usize = 1_500;
const FD_LIMIT: u32 = 1_024;
const TOKEN: &str = "slow-bodies-sandbox-token";

/// The routes whose handlers read a body: the 1,500 half-sent bodies go to these, so that more
/// of them are open at once than the server has file descriptors.
const READING: [&str; 4] = [
    "POST /gateway.do",
    "POST /cashier/2026111800000000000001",
    "POST /wallet/pay",
    "POST /sandbox/clock/advance",
];
/// Routes whose handlers never read the body: a few half-sent bodies each, let go as well.
const NOT_READING: [&str; 5] = [
    "GET /wallet",
    "GET /cashier/2026111800000000000001",
    "GET /healthz",
    "GET /readyz",
    "POST /no/such/route",
];
const NOT_READING_EACH: usize = 20;

/// Opens a connection, sends a head promising 4,000 bytes and 10 of them, and keeps it.
async fn half_sent(addr: std::net::SocketAddr, route: &str) -> Option<tokio::net::TcpStream> {
    let connect = tokio::net::TcpStream::connect(addr);
    // Beyond the server's descriptors, connections wait in the kernel's queue (or retry).
    let mut stream = tokio::time::timeout(Duration::from_secs(30), connect).await.ok()?.ok()?;
    let head = format!(
        "{route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nby=1&a=b&c"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    Some(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_keeps_answering_while_1500_half_sent_bodies_are_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "[limits]\nbody_timeout = \"2s\"\n[sandbox]\nclock_token = \"{TOKEN}\"\n"
    ));
    std::fs::write(&config, text).expect("config");
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" serve --config \"$1\""))
        .arg(BIN)
        .arg(&config)
        .env("HONGBAO_LOG", "error")
        .stderr(std::process::Stdio::inherit());
    let server = ServerProcess::spawn(command);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id()))
        .expect("the server's limits");
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).expect("line");
    assert!(open_files.contains(&FD_LIMIT.to_string()), "the server runs with {open_files}");

    let started = Instant::now();
    let routes: Vec<&'static str> = (0..HALF_SENT)
        .map(|index| READING[index % READING.len()])
        .chain(NOT_READING.iter().flat_map(|route| std::iter::repeat_n(*route, NOT_READING_EACH)))
        .collect();
    let total = routes.len();
    let opening: Vec<_> = routes
        .into_iter()
        .map(|route| {
            let addr = server.addr;
            tokio::spawn(async move { half_sent(addr, route).await })
        })
        .collect();
    let mut streams = Vec::with_capacity(total);
    for opened in opening {
        streams.extend(opened.await.expect("task"));
    }
    eprintln!("{} of {total} half-sent bodies open after {:?}", streams.len(), started.elapsed());
    assert_eq!(streams.len(), total, "every half-sent body reached the server's queue");
    // For the record: how close to its limit the server is now (at its limit, the requests
    // below wait in the kernel's queue until deadlines free descriptors).
    let fds = std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
        .expect("the server's descriptors")
        .count();
    eprintln!("the server holds {fds} of {FD_LIMIT} file descriptors");

    // While they are all open (the clients never close them, and they are more than the
    // server's file descriptors), /gateway.do answers: the server lets each half-sent body go
    // at its deadline (2 s), so new connections get in. Without the deadline on every route,
    // these requests are never accepted.
    for attempt in 0..3 {
        let request = post_request(
            "/gateway.do",
            &Call::new(QUERY, r#"{"out_order_no":"x","out_request_no":"y"}"#).body(),
            "application/x-www-form-urlencoded",
        );
        let asked = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(30), raw(server.addr, &request))
            .await
            .unwrap_or_else(|_| panic!("request {attempt} unanswered after 30 s"));
        assert_eq!(answer.status, 200);
        let answer = verify_answer(
            answer,
            Some(QUERY),
            hongbao_protocol::Charset::Utf8,
            hongbao_protocol::SignType::Rsa2,
        );
        assert_eq!(answer.sub_code(), "AUTH_ORDER_NOT_EXIST");
        eprintln!("request {attempt} answered in {:?}", asked.elapsed());
    }

    // And the server let every one of them go (read to its end: an answer, then the close).
    let closing: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut sink))
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut let_go = 0;
    for closed in closing {
        if closed.await.expect("task") {
            let_go += 1;
        }
    }
    assert_eq!(let_go, total, "connections still held by the server: {}", total - let_go);
    server.stop();
}

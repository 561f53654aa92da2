//! Operating `hongbao serve` (issue: operating hongbao), as an operator meets it: the probes, the
//! metrics counting the calls just made, JSON log lines with one request id from the request to
//! its notification, a graceful stop with a request in flight, a backup taken under load and
//! restored into a fresh folder, and readiness following a paused PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_test_support::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_hongbao");

fn hongbao(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN).args(args).output().expect("runs")
}

fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr")
}

type Counter = std::sync::Arc<std::sync::atomic::AtomicUsize>;

/// A merchant's notify endpoint on loopback that holds each notification for `hold`, then
/// answers `success`; counts the notifications it received and those it answered (counted
/// before the answer leaves, so the server cannot have recorded one the count misses).
fn slow_merchant(hold: Duration) -> (std::net::SocketAddr, Counter, Counter) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received = Counter::default();
    let answered = Counter::default();
    let (received_by_thread, answered_by_thread) = (received.clone(), answered.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let (received, answered) = (received_by_thread.clone(), answered_by_thread.clone());
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.read(&mut buffer);
                received.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(hold);
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess",
                );
            });
        }
    });
    (addr, received, answered)
}

#[tokio::test]
async fn probes_and_metrics_count_the_calls_just_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    enable_metrics(&config);
    let server = ServerProcess::start(BIN, &config);
    assert!(server.metrics_addr.is_some(), "the banner names the metrics listener");
    assert_eq!(server.get("/healthz").await.status, 200);
    // Ready once the workers have started (a load balancer polls likewise).
    let (status, body) = ready_status(&server, 200, Duration::from_secs(10)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get("/metrics").await.status, 404, "no metrics on the gateway listener");

    let pay = Call::new(PAY, &pay_biz("M1", "10.00"));
    assert_eq!(server.send(&pay).await.code(), "10000");
    assert_eq!(server.send(&pay).await.code(), "10000", "a replay");
    let auth_no =
        server.send(&Call::new(PAY, &pay_biz("M2", "1.00"))).await.field("auth_no").to_owned();
    let too_much = format!(
        r#"{{"out_order_no":"M2-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"5.00","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(server.send(&Call::new(DISBURSE, &too_much)).await.sub_code(), "MONEY_NOT_ENOUGH");
    for method in ["alipay.trade.pay", "no.such.method"] {
        let answer = server.send(&Call::new(method, "{}")).await;
        assert_eq!(answer.sub_code(), "isv.invalid-method");
    }
    let (merchant, _, answered) = slow_merchant(Duration::ZERO);
    let notified =
        Call::new(PAY, &pay_biz("M3", "1.00")).param("notify_url", &format!("http://{merchant}/n"));
    assert_eq!(server.send(&notified).await.code(), "10000");
    let failing = Call::new(PAY, &pay_biz("M4", "1.00"))
        .param("notify_url", &format!("http://{}/n", closed_port()));
    assert_eq!(server.send(&failing).await.code(), "10000");

    let mut text = String::new();
    // The attempts are counted as they end, before the store records them: the outbox gauge
    // (read from the store at each scrape) settles a moment later.
    for _ in 0..100 {
        text = server.scrape().await;
        if metric(&text, r#"hongbao_notify_attempts_total{result="retry"}"#) >= 1.0
            && answered.load(std::sync::atomic::Ordering::SeqCst) == 1
            && metric(&text, "hongbao_notify_outbox_pending") <= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pays = r#"hongbao_requests_total{method="alipay.fund.coupon.order.agreement.pay",code="10000",sub_code=""}"#;
    assert_eq!(metric(&text, pays), 5.0, "{text}");
    let refused = r#"hongbao_requests_total{method="alipay.fund.coupon.order.disburse",code="40004",sub_code="MONEY_NOT_ENOUGH"}"#;
    assert_eq!(metric(&text, refused), 1.0, "{text}");
    let unknown =
        r#"hongbao_requests_total{method="unknown",code="40002",sub_code="isv.invalid-method"}"#;
    assert_eq!(metric(&text, unknown), 2.0, "both unknown methods share one label: {text}");
    assert!(!text.contains("alipay.trade.pay") && !text.contains("no.such.method"));
    let durations = r#"hongbao_request_duration_seconds_count{method="alipay.fund.coupon.order.agreement.pay"}"#;
    assert_eq!(metric(&text, durations), 5.0, "{text}");
    assert!(metric(&text, r#"hongbao_store_batch_size_count{store="sqlite"}"#) >= 5.0, "{text}");
    assert!(metric(&text, r#"hongbao_store_commit_seconds_count{store="sqlite"}"#) >= 5.0);
    assert_eq!(
        metric(&text, r#"hongbao_notify_attempts_total{result="delivered"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(metric(&text, r#"hongbao_notify_attempts_total{result="retry"}"#), 1.0, "{text}");
    assert_eq!(metric(&text, "hongbao_notify_outbox_pending"), 1.0, "the failed one waits: {text}");
    assert_eq!(metric(&text, "hongbao_requests_shed_total"), 0.0);
    assert_eq!(metric(&text, "hongbao_requests_in_flight_max"), 512.0);
    assert_eq!(metric(&text, r#"hongbao_store_connections_max{pool="sqlite_readers"}"#), 8.0);
    assert_eq!(metric(&text, "hongbao_store_up"), 1.0);
    assert!(text.contains("# TYPE hongbao_request_duration_seconds histogram"), "{text}");
    assert!(text.contains("hongbao_scheduler_lag_seconds 0"), "{text}");
    server.stop();
}

#[tokio::test]
async fn json_logs_carry_one_request_id_from_the_call_to_its_notification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = std::process::Command::new(BIN);
    command
        .args(["serve", "--config"])
        .arg(&config)
        .env("HONGBAO_LOG_FORMAT", "json")
        .env_remove("HONGBAO_LOG")
        .stderr(log);
    let server = ServerProcess::spawn(command);
    let marker = "SECRET-TITLE-7731";
    let biz = format!(
        r#"{{"out_order_no":"LOG1","out_request_no":"pay1","order_title":"{marker}","amount":"1.00","payer_user_id":"{MERCHANT_A}"}}"#
    );
    let call = Call::new(PAY, &biz).param("notify_url", &format!("http://{}/n", closed_port()));
    let body = call.body();
    let mut request = format!(
        "POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Request-Id: lb-req-42\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let response = raw(server.addr, &request).await;
    assert_eq!(response.header("x-request-id"), Some("lb-req-42"), "the id is echoed");
    let answer = verify_answer(response, Some(PAY), call.charset, call.sign_type);
    assert_eq!(answer.code(), "10000");
    let operation_id = answer.field("operation_id").to_owned();

    let mut lines: Vec<serde_json::Value> = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log_path).expect("log");
        lines = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        if lines.iter().any(|line| line["message"] == "notify attempt failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop();
    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        text.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
        "every line is JSON: {text}"
    );
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["message"] == "request" && line["path"] == "/gateway.do")
        .collect();
    assert_eq!(requests.len(), 1, "one line per request: {text}");
    let line = requests[0];
    assert_eq!(line["span"]["request_id"], "lb-req-42");
    assert_eq!(line["method"], PAY);
    assert_eq!(line["app_id"], APP_A);
    assert_eq!(line["code"], "10000");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    let notify = lines
        .iter()
        .find(|line| line["message"] == "notify attempt failed")
        .unwrap_or_else(|| panic!("no notify line: {text}"));
    assert_eq!(notify["span"]["request_id"], "lb-req-42", "{notify}");
    assert_eq!(notify["span"]["operation_id"], operation_id.as_str());
    // Nothing secret at info level: not the business content, not the key, not the signature.
    let key_line = std::fs::read_to_string(dir.path().join("keys/gateway_private.pem"))
        .expect("key")
        .lines()
        .nth(1)
        .expect("a base64 line")
        .to_owned();
    let sign = call.signed().get("sign").expect("signed").to_owned();
    for secret in [marker, "biz_content", key_line.as_str(), sign.as_str(), "111111"] {
        assert!(!text.contains(secret), "{secret:?} in the log: {text}");
    }
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_the_delivery_then_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let mut server = ServerProcess::start(BIN, &config);
    // A notification held by a slow merchant is in flight when the signal comes.
    let (merchant, received, answered) = slow_merchant(Duration::from_millis(1500));
    let notified = Call::new(PAY, &pay_biz("TERM-N", "1.00"))
        .param("notify_url", &format!("http://{merchant}/n"));
    assert_eq!(server.send(&notified).await.code(), "10000");
    // A request whose body is half sent when the signal comes.
    let body = Call::new(PAY, &pay_biz("TERM", "2.00")).body();
    let head = format!(
        "POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body[..body.len() / 2]).await.expect("half the body");
    // SIGTERM comes while the merchant holds the notification.
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the notification never reached the merchant");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(answered.load(std::sync::atomic::Ordering::SeqCst), 0, "the delivery is in flight");
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").arg(&pid).status().expect("kill").success());

    // It stops accepting while our request is still open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting 5 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.write_all(&body[body.len() / 2..]).await.expect("the rest of the body");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("answer");
    let answer = verify_answer(
        parse_response(&bytes),
        Some(PAY),
        hongbao_protocol::Charset::Utf8,
        hongbao_protocol::SignType::Rsa2,
    );
    assert_eq!(answer.code(), "10000", "the request in flight is answered");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit 20 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    assert_eq!(answered.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Both were committed and recorded: the delivery counts as delivered, once.
    let list = hongbao(&["notify", "list", "--json", "--config", config.to_str().unwrap()]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("\"status\":\"DELIVERED\"") && listed.contains("\"attempts\":1"),
        "{listed}"
    );
    let server = ServerProcess::start(BIN, &config);
    let query =
        server.send(&Call::new(QUERY, r#"{"out_order_no":"TERM","out_request_no":"pay1"}"#)).await;
    assert_eq!((query.code(), query.field("amount")), ("10000", "2.00"));
    server.stop();
}

fn database_file(config_dir: &Path) -> PathBuf {
    config_dir.join("data/hongbao.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_into_a_fresh_folder_and_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(dir.path());
    let server = std::sync::Arc::new(ServerProcess::start(BIN, &config));
    let auth_no =
        server.send(&Call::new(PAY, &pay_biz("BACK", "1000.00"))).await.field("auth_no").to_owned();
    let claim = move |n: usize| {
        format!(
            r#"{{"out_order_no":"BACK-{n}","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"0.01","payee_user_id":"{ALICE}"}}"#
        )
    };
    let mut before = Vec::new();
    for n in 0..5 {
        assert_eq!(server.send(&Call::new(DISBURSE, &claim(n))).await.code(), "10000");
        let query = format!(r#"{{"out_order_no":"BACK-{n}","out_request_no":"1"}}"#);
        before.push((query.clone(), server.send(&Call::new(QUERY, &query)).await.node));
    }
    // Load: claims keep committing while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loaders = Vec::new();
    for worker in 0..4 {
        let (server, stop, claim) = (server.clone(), stop.clone(), claim.clone());
        loaders.push(tokio::spawn(async move {
            let mut n = 1000 + worker * 10_000;
            let mut answered = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && answered < 2000 {
                assert_eq!(server.send(&Call::new(DISBURSE, &claim(n))).await.code(), "10000");
                n += 1;
                answered += 1;
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backup = dir.path().join("backup.db");
    let output = tokio::task::spawn_blocking({
        let (config, backup) = (config.clone(), backup.clone());
        move || {
            hongbao(&[
                "backup",
                "--to",
                backup.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ])
        }
    })
    .await
    .expect("backup runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for loader in loaders {
        total += loader.await.expect("loader");
    }
    assert!(total > 0, "load ran during the backup");
    let again = hongbao(&[
        "backup",
        "--to",
        backup.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!again.status.success(), "an existing backup is never overwritten");
    drop(server);

    let verified = hongbao(&["verify", backup.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{report}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(
        report.contains("integrity check ok") && report.contains("money invariants 1-7 hold"),
        "{report}"
    );

    // Restore: a fresh folder, the backup as its database.
    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_config = write_server_config(fresh.path());
    std::fs::create_dir_all(fresh.path().join("data")).expect("data dir");
    std::fs::copy(&backup, database_file(fresh.path())).expect("restore");
    let restored = ServerProcess::start(BIN, &fresh_config);
    for (query, node) in &before {
        let answer = restored.send(&Call::new(QUERY, query)).await;
        assert_eq!(&answer.node, node, "{query} answers as before the backup");
    }
    // The restored ledger goes on: a replay replays, a new claim applies.
    let replay = restored.send(&Call::new(DISBURSE, &claim(0))).await;
    assert_eq!(replay.node["operation_id"], before[0].1["operation_id"]);
    assert_eq!(restored.send(&Call::new(DISBURSE, &claim(999_999))).await.code(), "10000");
    restored.stop();

    // A damaged copy is refused.
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&backup).expect("read");
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 4096] {
        *byte ^= 0x5a;
    }
    std::fs::write(&damaged, bytes).expect("write");
    assert!(!hongbao(&["verify", damaged.to_str().unwrap()]).status.success());
}

fn pg_cluster(action: &str, dir: &Path) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(repo_root().join("scripts/pg-cluster.sh"))
        .arg(action)
        .arg(dir)
        .env("PG_CLUSTER_FAST", "1")
        .output()
        .expect("pg-cluster.sh runs")
}

struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = pg_cluster("stop", &self.0);
    }
}

async fn ready_status(server: &ServerProcess, want: u16, within: Duration) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        let started = Instant::now();
        let response = server.get("/readyz").await;
        assert!(started.elapsed() < Duration::from_secs(3), "a probe is answered quickly");
        let body = String::from_utf8_lossy(&response.body).into_owned();
        if response.status == want || Instant::now() > deadline {
            return (response.status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn readiness_fails_while_postgres_is_paused_and_recovers_after() {
    let dir = std::env::temp_dir().join(format!("hongbao-pg-ready-{}", std::process::id()));
    let started = pg_cluster("start", &dir);
    let cluster = Cluster(dir);
    if !started.status.success() {
        let reason =
            format!("pg-cluster.sh start failed: {}", String::from_utf8_lossy(&started.stderr));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
        let _ = std::io::stderr()
            .write_all(format!("SKIP readiness on PostgreSQL: {reason}\n").as_bytes());
        return;
    }
    let url = String::from_utf8_lossy(&started.stdout).trim().to_owned();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = write_server_config(config_dir.path());
    use_database(&config, &url);
    let server = ServerProcess::start(BIN, &config);
    let (status, body) = ready_status(&server, 200, Duration::from_secs(10)).await;
    assert_eq!(status, 200, "{body}");

    assert!(pg_cluster("pause", &cluster.0).status.success());
    let (status, body) = ready_status(&server, 503, Duration::from_secs(10)).await;
    assert_eq!(status, 503, "not ready while PostgreSQL is down: {body}");
    assert!(body.contains("store:"), "the reason names the store: {body}");
    assert_eq!(server.get("/healthz").await.status, 200, "still alive");

    assert!(pg_cluster("resume", &cluster.0).status.success());
    let (status, body) = ready_status(&server, 200, Duration::from_secs(30)).await;
    assert_eq!(status, 200, "ready again once PostgreSQL is back: {body}");
    assert_eq!(server.send(&Call::new(PAY, &pay_biz("AFTER", "1.00"))).await.code(), "10000");
    server.stop();
}

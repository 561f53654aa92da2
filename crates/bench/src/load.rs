//! The load client, run as its own process (`hongbao-bench load --spec FILE`) so its CPU is
//! accounted apart from the server's. It prepares a scenario (setup calls, then every request
//! signed in advance on all cores), drives the gateway over keep-alive connections for the
//! measured window, and prints a `LoadResult` as JSON on stdout.
//!
//! What it checks: every answer is HTTP 200 with `"code":"10000"`; one answer in
//! `VERIFY_EVERY` (and every setup answer) has its signature verified against the gateway key.

use crate::http::{find, post, Connection};
use anyhow::{bail, Context, Result};
use hongbao_protocol::envelope::{find_signed_node, response_key};
use hongbao_protocol::SignType;
use hongbao_sign::PublicKey;
use hongbao_test_support::{Call, DISBURSE, MERCHANT_A, PAY, QUERY, REFUND};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One answer in this many has its signature verified during the measured window (all are
/// checked for HTTP 200 and code 10000). Verifying every one would spend client CPU that the
/// server shares.
pub const VERIFY_EVERY: u64 = 64;

/// Users that receive disburses (ids `CLAIMER_BASE + i`), created by the benchmark's config.
pub const CLAIMERS: u64 = 100;
pub const CLAIMER_BASE: u64 = 2_088_200_000_000_000;

/// What a load process is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    /// The gateway's public key (PEM), to verify answers.
    pub gateway_public_pem: String,
    /// The server process, for CPU and RSS sampling during the window.
    pub server_pid: u32,
    /// The PostgreSQL cluster's postmaster, whose processes' CPU is sampled too (when the
    /// benchmark started the cluster on this machine).
    #[serde(default)]
    pub db_pid: Option<u32>,
    /// The PostgreSQL database, whose own counters are read at the window's edges.
    #[serde(default)]
    pub db_url: Option<String>,
    pub scenario: Scenario,
    /// Unique per run: prefixes every merchant id, so runs never collide.
    pub prefix: String,
    pub connections: usize,
    pub seconds: f64,
    /// Open loop at this many requests a second (latency counted from each request's scheduled
    /// time, so queueing is not hidden); `None` is closed loop (each connection sends its next
    /// request when the answer arrived).
    pub rate: Option<f64>,
    /// Most requests signed in advance for scenarios whose requests are all different.
    pub budget: usize,
    /// Queries target these (out_order_no, out_request_no) instead of packets funded in setup.
    pub query_targets: Vec<(String, String)>,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// `operation.query` by `auth_no` + `operation_id`.
    QueryAlipayIds,
    /// `operation.query` by `out_order_no` + `out_request_no`.
    QueryMerchantIds,
    /// `agreement.pay`, every request a new packet.
    Pay,
    /// `disburse` spread over `SPREAD_PACKETS` packets.
    DisburseSpread,
    /// `disburse` on one packet, one connection per claimer.
    DisburseHot,
    /// Red-packet day: fund, claims, refund of the remainder, queries.
    Mixed,
    /// A claim, then its query three times (a merchant polling for SUCCESS), with the
    /// gateway's signature memo off like every scenario above.
    ClaimPolled,
    /// The same with the memo on: the polls' answer bytes come again, so its saving shows
    /// here and nowhere else.
    ClaimPolledMemo,
    /// `QueryMerchantIds` on a server writing the sandbox request log (the console on).
    QueryMerchantIdsLogged,
    /// `DisburseSpread` on a server writing the sandbox request log.
    DisburseSpreadLogged,
}

/// How a scenario's server differs from the bench's default one (memo off, no request log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Variant {
    /// The gateway's signature memo on (`[limits] signature_cache` left at its default).
    pub signature_memo: bool,
    /// The sandbox console on, so every call is written to the request log.
    pub request_log: bool,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::QueryAlipayIds => "operation.query by Alipay ids",
            Scenario::QueryMerchantIds => "operation.query by merchant ids",
            Scenario::Pay => "agreement.pay",
            Scenario::DisburseSpread => "disburse, spread over 1,000 packets",
            Scenario::DisburseHot => "disburse, one hot packet",
            Scenario::Mixed => "mixed red-packet day",
            Scenario::ClaimPolled => "disburse, each claim polled 3 times",
            Scenario::ClaimPolledMemo => "disburse, each claim polled 3 times, signature memo on",
            Scenario::QueryMerchantIdsLogged => "operation.query by merchant ids, request log on",
            Scenario::DisburseSpreadLogged => "disburse, spread, request log on",
        }
    }

    /// Its server's configuration.
    pub fn variant(self) -> Variant {
        match self {
            Scenario::ClaimPolledMemo => Variant { signature_memo: true, request_log: false },
            Scenario::QueryMerchantIdsLogged | Scenario::DisburseSpreadLogged => {
                Variant { signature_memo: false, request_log: true }
            }
            _ => Variant::default(),
        }
    }
}

/// Packets a spread disburse draws from.
pub const SPREAD_PACKETS: usize = 1000;
/// Claims per packet in the mixed workload (then the remainder is refunded).
pub const MIXED_CLAIMS: usize = 8;
/// Requests of one mixed cycle: the pay, its claims, the refund and two queries.
pub const MIXED_CYCLE: usize = MIXED_CLAIMS + 4;
/// Packets funded before a query window, queried round-robin.
pub const QUERY_PACKETS: usize = 200;
/// Queries after each claim in the polled-claim workload.
pub const POLLS: usize = 3;

/// What a load process measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub verified: u64,
    pub elapsed_s: f64,
    /// Answers with code 10000 a second (errors excluded).
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Peak VmRSS of the server during the window.
    pub server_rss_peak_kb: u64,
    /// CPU seconds the server and this client used during the window.
    pub server_cpu_s: f64,
    pub client_cpu_s: f64,
    /// CPU seconds of the PostgreSQL cluster's processes during the window (backends, WAL
    /// writer, checkpointer …), when they could be read.
    #[serde(default)]
    pub db_cpu_s: Option<f64>,
    /// Shares of the machine's CPU time that were idle (idle + iowait) and stolen by the host
    /// during the window (/proc/stat).
    #[serde(default)]
    pub idle_share: f64,
    #[serde(default)]
    pub steal_share: f64,
    /// The RSA floor per request (µs of CPU for one signature and one verification), sampled
    /// right before and after this run (mean).
    #[serde(default)]
    pub rsa_floor_us: f64,
    /// PostgreSQL's WAL and transaction ids per request in the window (`pgstat`).
    #[serde(default)]
    pub db_work: Option<crate::pgstat::PerRequest>,
    /// Signatures this client made during the window (mixed: refunds name an auth_no only known
    /// from the pay's answer, so they are signed on the fly).
    pub client_signatures: u64,
    /// Time spent signing requests in advance (outside the window).
    pub presign_s: f64,
    /// True when the pre-signed requests ran out before the time did.
    pub exhausted: bool,
    /// The signing ceiling measured right before and right after this run (mean): the
    /// machine's capacity drifts, so every figure is compared with its own neighbourhood.
    #[serde(default)]
    pub ceiling_signs_per_s: f64,
}

/// One request of a work item.
enum Step {
    Signed(Vec<u8>),
    /// A refund of `amount` on the packet the item's first answer named.
    RefundOfFirst {
        out_request_no: String,
        amount: String,
    },
}

/// Requests a connection sends in order (a mixed-day cycle), or a single request.
type Item = Vec<Step>;

/// Runs the load process: reads the spec, prints the result.
pub fn main(spec_path: &std::path::Path) -> Result<()> {
    let spec: LoadSpec = serde_json::from_slice(&std::fs::read(spec_path)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(run(spec))?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

async fn run(spec: LoadSpec) -> Result<LoadResult> {
    let verifier = Arc::new(PublicKey::from_text(&spec.gateway_public_pem)?);
    let (items, repeat) = prepare(&spec, &verifier).await?;
    let presign_started = Instant::now();
    let items = sign_all(items, &spec.label)?;
    let presign_s = presign_started.elapsed().as_secs_f64();
    let mut result = drive(&spec, Arc::new(items), repeat, verifier).await?;
    result.presign_s = presign_s;
    Ok(result)
}

/// An unsigned request: (method, biz_content).
type Plan = (&'static str, String);

enum PlanStep {
    Sign(Plan),
    RefundOfFirst { out_request_no: String, amount: String },
}

fn claimer(index: usize) -> u64 {
    CLAIMER_BASE + (index as u64 % CLAIMERS)
}

fn pay_biz(out_order_no: &str, amount: &str) -> String {
    format!(
        r#"{{"out_order_no":"{out_order_no}","out_request_no":"pay1","order_title":"红包","amount":"{amount}","payer_user_id":"{MERCHANT_A}"}}"#
    )
}

fn disburse_biz(out_order_no: &str, packet: &str, amount: &str, payee: u64) -> String {
    format!(
        r#"{{"out_order_no":"{out_order_no}","out_request_no":"1","order_title":"领取","amount":"{amount}",{packet},"payee_user_id":"{payee}"}}"#
    )
}

/// Setup calls (not measured), then the plan of every request of the window.
async fn prepare(spec: &LoadSpec, verifier: &PublicKey) -> Result<(Vec<Vec<PlanStep>>, bool)> {
    let prefix = &spec.prefix;
    let single = |plan: Plan| vec![PlanStep::Sign(plan)];
    Ok(match spec.scenario {
        Scenario::QueryAlipayIds
        | Scenario::QueryMerchantIds
        | Scenario::QueryMerchantIdsLogged => {
            let targets: Vec<(String, String, String, String)> = if spec.query_targets.is_empty() {
                let pays: Vec<Plan> = (0..QUERY_PACKETS)
                    .map(|index| (PAY, pay_biz(&format!("{prefix}Q{index}"), "1.00")))
                    .collect();
                let nodes = setup_calls(spec.addr, pays, verifier).await?;
                nodes
                    .iter()
                    .enumerate()
                    .map(|(index, node)| {
                        (
                            field(node, "auth_no"),
                            field(node, "operation_id"),
                            format!("{prefix}Q{index}"),
                            "pay1".to_owned(),
                        )
                    })
                    .collect()
            } else {
                let queries: Vec<Plan> = spec
                    .query_targets
                    .iter()
                    .map(|(order, request)| {
                        (
                            QUERY,
                            format!(r#"{{"out_order_no":"{order}","out_request_no":"{request}"}}"#),
                        )
                    })
                    .collect();
                let nodes = setup_calls(spec.addr, queries, verifier).await?;
                nodes
                    .iter()
                    .zip(&spec.query_targets)
                    .map(|(node, (order, request))| {
                        (
                            field(node, "auth_no"),
                            field(node, "operation_id"),
                            order.clone(),
                            request.clone(),
                        )
                    })
                    .collect()
            };
            let plans = targets
                .into_iter()
                .map(|(auth_no, operation_id, order, request)| {
                    let biz = if spec.scenario == Scenario::QueryAlipayIds {
                        format!(r#"{{"auth_no":"{auth_no}","operation_id":"{operation_id}"}}"#)
                    } else {
                        format!(r#"{{"out_order_no":"{order}","out_request_no":"{request}"}}"#)
                    };
                    single((QUERY, biz))
                })
                .collect();
            (plans, true)
        }
        Scenario::Pay => {
            let plans = (0..spec.budget)
                .map(|index| single((PAY, pay_biz(&format!("{prefix}P{index}"), "1.00"))))
                .collect();
            (plans, false)
        }
        Scenario::DisburseSpread | Scenario::DisburseSpreadLogged => {
            // Smoke runs have small budgets: fewer packets keep their setup short.
            let packets = SPREAD_PACKETS.min(spec.budget.max(1));
            let pays: Vec<Plan> = (0..packets)
                .map(|index| (PAY, pay_biz(&format!("{prefix}S{index}"), "100.00")))
                .collect();
            let auth_nos: Vec<String> = setup_calls(spec.addr, pays, verifier)
                .await?
                .iter()
                .map(|node| field(node, "auth_no"))
                .collect();
            let plans = (0..spec.budget)
                .map(|index| {
                    let packet = format!(r#""deduct_auth_no":"{}""#, auth_nos[index % packets]);
                    let biz =
                        disburse_biz(&format!("{prefix}D{index}"), &packet, "0.01", claimer(index));
                    single((DISBURSE, biz))
                })
                .collect();
            (plans, false)
        }
        Scenario::DisburseHot => {
            let amount = format!("{}.00", (spec.budget / 100 + 1).max(1));
            let pay = vec![(PAY, pay_biz(&format!("{prefix}HOT"), &amount))];
            let auth_no = field(&setup_calls(spec.addr, pay, verifier).await?[0], "auth_no");
            let packet = format!(r#""deduct_auth_no":"{auth_no}""#);
            let plans = (0..spec.budget)
                .map(|index| {
                    let biz =
                        disburse_biz(&format!("{prefix}H{index}"), &packet, "0.01", claimer(index));
                    single((DISBURSE, biz))
                })
                .collect();
            (plans, false)
        }
        Scenario::ClaimPolled | Scenario::ClaimPolledMemo => {
            // A cycle: a claim spread over the packets as in `DisburseSpread`, then POLLS
            // identical queries of it by the merchant's ids.
            let cycles = spec.budget / (POLLS + 1) + 1;
            let packets = SPREAD_PACKETS.min(cycles);
            let pays: Vec<Plan> = (0..packets)
                .map(|index| (PAY, pay_biz(&format!("{prefix}W{index}"), "100.00")))
                .collect();
            let auth_nos: Vec<String> = setup_calls(spec.addr, pays, verifier)
                .await?
                .iter()
                .map(|node| field(node, "auth_no"))
                .collect();
            let plans = (0..cycles)
                .map(|cycle| {
                    let claim_no = format!("{prefix}V{cycle}");
                    let packet = format!(r#""deduct_auth_no":"{}""#, auth_nos[cycle % packets]);
                    let biz = disburse_biz(&claim_no, &packet, "0.01", claimer(cycle));
                    let mut steps = vec![PlanStep::Sign((DISBURSE, biz))];
                    let query = format!(r#"{{"out_order_no":"{claim_no}","out_request_no":"1"}}"#);
                    steps.extend((0..POLLS).map(|_| PlanStep::Sign((QUERY, query.clone()))));
                    steps
                })
                .collect();
            (plans, false)
        }
        Scenario::Mixed => {
            // A cycle: fund 1.00, MIXED_CLAIMS claims of 0.10 (by the packet's out_order_no),
            // refund the 0.20 left, query the pay and the last claim: 12 requests.
            let cycles = spec.budget / MIXED_CYCLE + 1;
            let plans = (0..cycles)
                .map(|cycle| {
                    let packet_no = format!("{prefix}M{cycle}");
                    let mut steps = vec![PlanStep::Sign((PAY, pay_biz(&packet_no, "1.00")))];
                    let packet = format!(r#""deduct_out_order_no":"{packet_no}""#);
                    for claim in 0..MIXED_CLAIMS {
                        let biz = disburse_biz(
                            &format!("{packet_no}C{claim}"),
                            &packet,
                            "0.10",
                            claimer(cycle * MIXED_CLAIMS + claim),
                        );
                        steps.push(PlanStep::Sign((DISBURSE, biz)));
                    }
                    steps.push(PlanStep::RefundOfFirst {
                        out_request_no: "R1".into(),
                        amount: "0.20".into(),
                    });
                    steps.push(PlanStep::Sign((
                        QUERY,
                        format!(r#"{{"out_order_no":"{packet_no}","out_request_no":"pay1"}}"#),
                    )));
                    steps.push(PlanStep::Sign((
                        QUERY,
                        format!(
                            r#"{{"out_order_no":"{packet_no}C{}","out_request_no":"1"}}"#,
                            MIXED_CLAIMS - 1
                        ),
                    )));
                    steps
                })
                .collect();
            (plans, false)
        }
    })
}

fn field(node: &serde_json::Value, name: &str) -> String {
    node[name].as_str().unwrap_or_default().to_owned()
}

fn signed_request(method: &str, biz: &str) -> Vec<u8> {
    post(&Call::new(method, biz).body())
}

/// Signs every planned request on all cores, before the window opens.
fn sign_all(plans: Vec<Vec<PlanStep>>, label: &str) -> Result<Vec<Item>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let total = plans.len();
    let bar = bar(total as u64, &format!("{label}: signing requests"));
    let chunk = total.div_ceil(threads).max(1);
    let mut plans = plans;
    let mut chunks = Vec::new();
    while !plans.is_empty() {
        let rest = plans.split_off(chunk.min(plans.len()));
        chunks.push(std::mem::replace(&mut plans, rest));
    }
    let signed: Vec<Vec<Item>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let bar = bar.clone();
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|steps| {
                            bar.inc(1);
                            steps
                                .into_iter()
                                .map(|step| match step {
                                    PlanStep::Sign((method, biz)) => {
                                        Step::Signed(signed_request(method, &biz))
                                    }
                                    PlanStep::RefundOfFirst { out_request_no, amount } => {
                                        Step::RefundOfFirst { out_request_no, amount }
                                    }
                                })
                                .collect()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap_or_default()).collect()
    });
    bar.finish_and_clear();
    let items: Vec<Item> = signed.into_iter().flatten().collect();
    if items.len() != total {
        bail!("signing threads failed ({} of {total} signed)", items.len());
    }
    Ok(items)
}

fn bar(length: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{msg:48} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message.to_owned());
    bar
}

/// Setup calls over a few connections; every answer must be a verified 10000.
async fn setup_calls(
    addr: SocketAddr,
    plans: Vec<Plan>,
    verifier: &PublicKey,
) -> Result<Vec<serde_json::Value>> {
    let requests: Vec<(usize, &'static str, Vec<u8>)> = plans
        .into_iter()
        .enumerate()
        .map(|(index, (method, biz))| (index, method, signed_request(method, &biz)))
        .collect();
    let total = requests.len();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let queue = Arc::clone(&queue);
        tasks.spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut answers = Vec::new();
            loop {
                let next = queue.lock().ok().and_then(|mut queue| queue.pop());
                let Some((index, method, request)) = next else { break };
                let response = connection.round_trip(&request).await?;
                answers.push((index, method, response.status, response.body));
            }
            Ok::<_, std::io::Error>(answers)
        });
    }
    let mut nodes = vec![serde_json::Value::Null; total];
    while let Some(joined) = tasks.join_next().await {
        for (index, method, status, body) in joined?.context("setup connection")? {
            let node = verified_node(method, status, &body, verifier)?;
            if node["code"] != "10000" {
                bail!("setup call {method} failed: {node}");
            }
            nodes[index] = node;
        }
    }
    Ok(nodes)
}

/// Decodes an answer and verifies its signature; the node as JSON.
fn verified_node(
    method: &str,
    status: u16,
    body: &[u8],
    verifier: &PublicKey,
) -> Result<serde_json::Value> {
    if status != 200 {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(body));
    }
    let text = std::str::from_utf8(body).context("answer is not UTF-8")?;
    let key = response_key(method).context("method has a response node")?;
    let signed = find_signed_node(text, &key).context("no signed node")?;
    let sign = signed.sign.as_deref().context("answer not signed")?;
    if !verifier.verify(SignType::Rsa2, signed.node.as_bytes(), sign) {
        bail!("answer signature does not verify: {text}");
    }
    Ok(serde_json::from_str(signed.node)?)
}

fn method_of(request: &[u8]) -> &'static str {
    for method in [QUERY, DISBURSE, REFUND, PAY] {
        if find(request, method.as_bytes()).is_some() {
            return method;
        }
    }
    PAY
}

#[derive(Default)]
struct ConnectionStats {
    latencies_us: Vec<u32>,
    errors: u64,
    error_samples: Vec<String>,
    verified: u64,
    signatures: u64,
}

impl ConnectionStats {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.error_samples.len() < 3 {
            self.error_samples.push(what.chars().take(300).collect());
        }
    }
}

struct Shared {
    items: Arc<Vec<Item>>,
    repeat: bool,
    next: AtomicUsize,
    completed: AtomicU64,
    answers: AtomicU64,
    verifier: Arc<PublicKey>,
    exhausted: std::sync::atomic::AtomicBool,
}

/// The measured window.
async fn drive(
    spec: &LoadSpec,
    items: Arc<Vec<Item>>,
    repeat: bool,
    verifier: Arc<PublicKey>,
) -> Result<LoadResult> {
    let shared = Arc::new(Shared {
        items,
        repeat,
        next: AtomicUsize::new(0),
        completed: AtomicU64::new(0),
        answers: AtomicU64::new(0),
        verifier,
        exhausted: std::sync::atomic::AtomicBool::new(false),
    });
    // Open every connection first: the window measures requests, not handshakes.
    let mut connections = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        connections.push(Connection::open(spec.addr).await.context("connect")?);
    }
    let window = Duration::from_secs_f64(spec.seconds);
    let db_reader = match &spec.db_url {
        Some(url) => crate::pgstat::Reader::connect(url).await,
        None => None,
    };
    let db_before = match &db_reader {
        Some(reader) => reader.read().await,
        None => None,
    };
    let server_cpu_before = crate::cpu::process_s(spec.server_pid);
    let client_cpu_before = crate::cpu::process_s(std::process::id());
    let db_cpu_before = spec.db_pid.map(crate::cpu::tree_s);
    let machine_before = crate::cpu::machine();
    let started = Instant::now();
    let deadline = started + window;
    let rss_peak = Arc::new(AtomicU64::new(process_rss_kb(spec.server_pid)));
    let bar = bar((spec.seconds * 10.0) as u64, &format!("{}: running", spec.label));
    let watcher = {
        let (shared, rss_peak, bar, pid) =
            (Arc::clone(&shared), Arc::clone(&rss_peak), bar.clone(), spec.server_pid);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                rss_peak.fetch_max(process_rss_kb(pid), Ordering::Relaxed);
                let elapsed = started.elapsed().as_secs_f64();
                bar.set_position((elapsed * 10.0) as u64);
                let done = shared.completed.load(Ordering::Relaxed);
                bar.set_message(format!("{} req, {:.0}/s", done, done as f64 / elapsed));
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for connection in connections {
        let shared = Arc::clone(&shared);
        let (addr, rate) = (spec.addr, spec.rate);
        tasks.spawn(connection_loop(connection, addr, shared, deadline, started, rate));
    }
    let mut stats = ConnectionStats::default();
    while let Some(joined) = tasks.join_next().await {
        let part = joined?;
        stats.latencies_us.extend(part.latencies_us);
        stats.errors += part.errors;
        stats.verified += part.verified;
        stats.signatures += part.signatures;
        for sample in part.error_samples {
            if stats.error_samples.len() < 5 {
                stats.error_samples.push(sample);
            }
        }
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let server_cpu_s = crate::cpu::process_s(spec.server_pid) - server_cpu_before;
    let client_cpu_s = crate::cpu::process_s(std::process::id()) - client_cpu_before;
    let db_cpu_s = match (spec.db_pid, &db_cpu_before) {
        (Some(pid), Some(before)) => {
            Some(crate::cpu::tree_delta_s(before, &crate::cpu::tree_s(pid)))
        }
        _ => None,
    };
    let (idle_share, steal_share) = machine_before.shares_until(&crate::cpu::machine());
    let db_after = match &db_reader {
        Some(reader) => reader.read().await,
        None => None,
    };
    watcher.abort();
    bar.finish_and_clear();
    rss_peak.fetch_max(process_rss_kb(spec.server_pid), Ordering::Relaxed);
    let mut latencies = stats.latencies_us;
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1] as f64 / 1000.0
    };
    let served = latencies.len() as u64;
    Ok(LoadResult {
        requests: served + stats.errors,
        errors: stats.errors,
        error_samples: stats.error_samples,
        verified: stats.verified,
        elapsed_s,
        // Successful answers only: a shed 20000 is signed too, but it is not work done.
        throughput: served as f64 / elapsed_s,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        p999_ms: percentile(0.999),
        max_ms: percentile(1.0),
        server_rss_peak_kb: rss_peak.load(Ordering::Relaxed),
        server_cpu_s,
        client_cpu_s,
        db_cpu_s,
        idle_share,
        steal_share,
        rsa_floor_us: 0.0,
        db_work: match (db_before, db_after) {
            (Some(before), Some(after)) => {
                Some(crate::pgstat::PerRequest::between(before, after, served + stats.errors))
            }
            _ => None,
        },
        client_signatures: stats.signatures,
        presign_s: 0.0,
        exhausted: shared.exhausted.load(Ordering::Relaxed),
        ceiling_signs_per_s: 0.0,
    })
}

async fn connection_loop(
    mut connection: Connection,
    addr: SocketAddr,
    shared: Arc<Shared>,
    deadline: Instant,
    started: Instant,
    rate: Option<f64>,
) -> ConnectionStats {
    let mut stats = ConnectionStats::default();
    loop {
        let ticket = shared.next.fetch_add(1, Ordering::Relaxed);
        let index = if shared.repeat { ticket % shared.items.len() } else { ticket };
        let Some(item) = shared.items.get(index) else {
            shared.exhausted.store(true, Ordering::Relaxed);
            break;
        };
        // Open loop: the ticket's scheduled time; latency counts from it.
        let scheduled = match rate {
            Some(rate) => {
                let at = started + Duration::from_secs_f64(ticket as f64 / rate);
                if at >= deadline {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                Some(at)
            }
            None => None,
        };
        if Instant::now() >= deadline {
            break;
        }
        let mut first_auth_no = String::new();
        for (position, step) in item.iter().enumerate() {
            let owned;
            let request: &[u8] = match step {
                Step::Signed(request) => request,
                Step::RefundOfFirst { out_request_no, amount } => {
                    let biz = format!(
                        r#"{{"auth_no":"{first_auth_no}","out_request_no":"{out_request_no}","amount":"{amount}","remark":"退回"}}"#
                    );
                    stats.signatures += 1;
                    owned = signed_request(REFUND, &biz);
                    &owned
                }
            };
            let sent = scheduled.filter(|_| position == 0).unwrap_or_else(Instant::now);
            match connection.round_trip(request).await {
                Ok(response) => {
                    let micros = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    let ok = response.status == 200
                        && find(&response.body, br#""code":"10000""#).is_some();
                    if !ok {
                        stats.error(String::from_utf8_lossy(&response.body).into_owned());
                        break;
                    }
                    stats.latencies_us.push(micros);
                    shared.completed.fetch_add(1, Ordering::Relaxed);
                    if position == 0 {
                        first_auth_no = auth_no_of(&response.body);
                    }
                    let count = shared.answers.fetch_add(1, Ordering::Relaxed);
                    if count.is_multiple_of(VERIFY_EVERY) {
                        let method = method_of(request);
                        match verified_node(
                            method,
                            response.status,
                            &response.body,
                            &shared.verifier,
                        ) {
                            Ok(_) => stats.verified += 1,
                            Err(err) => stats.error(format!("verification: {err}")),
                        }
                    }
                }
                Err(err) => {
                    stats.error(format!("connection: {err}"));
                    match Connection::open(addr).await {
                        Ok(fresh) => connection = fresh,
                        Err(_) => return stats,
                    }
                    break;
                }
            }
        }
    }
    stats
}

fn auth_no_of(body: &[u8]) -> String {
    let marker = br#""auth_no":""#;
    let Some(start) = find(body, marker).map(|at| at + marker.len()) else { return String::new() };
    let end = body[start..].iter().position(|&b| b == b'"').map_or(body.len(), |n| start + n);
    String::from_utf8_lossy(&body[start..end]).into_owned()
}

/// VmRSS of a process in KiB (0 when it cannot be read).
pub fn process_rss_kb(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return 0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

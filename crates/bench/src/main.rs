//! `hongbao-bench`: how close a `hongbao serve` process gets to the RSA limit of its machine.
//!
//! It measures the ceiling (RSA-2048 signatures a second on every core, with the server's own
//! crypto crate), starts `hongbao serve` on generated keys and config (SQLite, then a private
//! PostgreSQL cluster), drives each scenario from a load client in a separate process (this
//! binary, `load` subcommand) over HTTP/1.1 keep-alive, measures growth on 10 k … 1 M seeded
//! operations, and writes BENCHMARKS.md plus SVG plots. Benchmarks are not tests: CI runs only
//! `--smoke` (crates/bench/tests/smoke.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // dev-only tool: a failed expectation aborts the run

mod ceiling;
mod charts;
mod cpu;
mod http;
mod load;
mod pgstat;
mod report;
mod seed;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hongbao_sign::PrivateKey;
use hongbao_test_support::{app_a_key, APP_A, MERCHANT_A};
use load::{LoadResult, LoadSpec, Scenario, Variant, CLAIMERS, CLAIMER_BASE};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "hongbao-bench", about = "Signed-throughput benchmark of hongbao serve")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Internal: the load client process (reads a JSON spec, prints a JSON result).
    #[command(hide = true)]
    Load {
        #[arg(long)]
        spec: PathBuf,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The `hongbao` binary to benchmark (default: `hongbao` next to this binary).
    #[arg(long)]
    hongbao: Option<PathBuf>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// About one second per SQLite scenario, no PostgreSQL, no growth: proves the command works.
    #[arg(long)]
    smoke: bool,
    /// The report to write.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Folder for the SVG plots (linked from the report relative to it).
    #[arg(long, default_value = "docs/bench")]
    plots: PathBuf,
    /// PostgreSQL: `auto` (start a private cluster with scripts/pg-cluster.sh), `off`, or a
    /// postgres:// URL of an empty database.
    #[arg(long, default_value = "auto")]
    postgres: String,
    /// Existing-operation counts for the growth runs (comma-separated; `none` to skip).
    #[arg(long, default_value = "10000,100000,1000000")]
    growth: String,
    /// Concurrent connections of the non-hot scenarios.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Concurrent claimers (connections) on the hot packet.
    #[arg(long, default_value_t = 1000)]
    claimers: usize,
    /// Where data folders go (SQLite files must be on a real disk, not tmpfs).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Only these scenarios (comma-separated names: query-alipay, query-merchant, pay, spread,
    /// hot, mixed, poll, poll-memo, query-logged, spread-logged, sweep); default all.
    #[arg(long)]
    only: Option<String>,
    /// Skip the SQLite scenarios (and the sweep, which runs on SQLite): to compare PostgreSQL
    /// builds alone.
    #[arg(long)]
    no_sqlite: bool,
}

/// The documented full run, shown by README.md's bench line and by every report that is not
/// one (`report` tests that README.md says exactly this).
pub const BUILD_COMMAND: &str = "cargo build --release -p hongbao -p hongbao-bench";
pub const FULL_RUN: &str = "target/release/hongbao-bench --seconds 8";

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Load { spec }) => load::main(&spec),
        None => run(cli.run),
    }
}

/// One scenario's outcome in the report.
#[derive(Clone, Debug)]
pub struct Measured {
    pub store: &'static str,
    pub scenario: Scenario,
    pub connections: usize,
    pub result: LoadResult,
}

/// One point of the open-loop sweep.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    pub offered_fraction: f64,
    pub offered: f64,
    pub result: LoadResult,
}

/// One growth level.
#[derive(Clone, Debug)]
pub struct GrowthPoint {
    pub operations: u64,
    pub seed_s: f64,
    pub store_query_p50_us: f64,
    pub store_query_p99_us: f64,
    pub query: LoadResult,
    pub disburse: LoadResult,
    pub db_bytes: u64,
}

pub struct Report {
    pub args: RunArgs,
    pub ceiling: ceiling::Ceiling,
    pub measured: Vec<Measured>,
    /// The closed-loop run the sweep's rates are fractions of (the run's measured capacity).
    pub capacity: Option<LoadResult>,
    pub sweep: Vec<SweepPoint>,
    pub growth: Vec<GrowthPoint>,
    pub postgres_note: String,
    /// This run's command, as `report::shown_command` prints it.
    pub command_line: String,
    /// Wall time from the start of the run to the report, seconds.
    pub wall_s: f64,
}

fn scenario_key(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::QueryAlipayIds => "query-alipay",
        Scenario::QueryMerchantIds => "query-merchant",
        Scenario::Pay => "pay",
        Scenario::DisburseSpread => "spread",
        Scenario::DisburseHot => "hot",
        Scenario::Mixed => "mixed",
        Scenario::ClaimPolled => "poll",
        Scenario::ClaimPolledMemo => "poll-memo",
        Scenario::QueryMerchantIdsLogged => "query-logged",
        Scenario::DisburseSpreadLogged => "spread-logged",
    }
}

fn wanted(args: &RunArgs, key: &str) -> bool {
    args.only.as_deref().is_none_or(|only| only.split(',').any(|name| name.trim() == key))
}

fn run(mut args: RunArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let command_line = report::shown_command(std::env::args());
    if args.smoke {
        args.seconds = args.seconds.min(0.5);
        args.postgres = "off".into();
        args.growth = "none".into();
    }
    let hongbao = match &args.hongbao {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("hongbao"),
    };
    if !hongbao.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p hongbao) or pass --hongbao",
            hongbao.display()
        );
    }
    let data_root = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir(),
    };
    std::fs::create_dir_all(&data_root)?;
    let work = tempfile::Builder::new().prefix("hongbao-bench.").tempdir_in(&data_root)?;

    // Keys shared by every server of the run: a fresh gateway key, test-support's app key.
    let gateway_key = PrivateKey::generate(2048)?;
    let ceiling_window =
        if args.smoke { Duration::from_millis(200) } else { Duration::from_secs(4) };
    eprintln!("measuring the RSA ceiling on all cores ({:?})…", ceiling_window * 3 / 2);
    let ceiling = ceiling::measure(&gateway_key, ceiling_window)?;
    eprintln!(
        "ceiling: {:.0} RSA-2048 signatures/s, {:.0} verifications/s on {} threads; RSA floor {:.0} µs of CPU per request",
        ceiling.signs_per_s, ceiling.verifies_per_s, ceiling.threads, ceiling.floor_us
    );
    let context = BenchContext { hongbao, gateway_key, args: args.clone() };

    let mut measured = Vec::new();
    let mut sweep = Vec::new();
    let mut capacity = None;
    let sqlite_dir = work.path().join("sqlite");
    if !args.no_sqlite {
        measured.extend(run_store(
            &context,
            "SQLite",
            &sqlite_dir,
            None,
            Some((&mut capacity, &mut sweep)),
        )?);
    }

    let mut postgres_note = String::new();
    if args.postgres != "off" {
        match postgres_url(&args.postgres, work.path()) {
            Ok((url, cluster)) => {
                postgres_note = match &cluster {
                    Some(_) => "a private cluster started by scripts/pg-cluster.sh (PostgreSQL defaults: fsync on, synchronous_commit on), over TCP on 127.0.0.1".into(),
                    None => format!("the database given with --postgres ({})", redact(&url)),
                };
                let database = Database {
                    url: url.clone(),
                    postmaster: cluster.as_deref().and_then(cpu::postmaster_pid),
                };
                let _stop = cluster.map(ClusterGuard);
                measured.extend(run_store(
                    &context,
                    "PostgreSQL",
                    &work.path().join("postgres"),
                    Some(&database),
                    None,
                )?);
            }
            Err(err) => {
                eprintln!("PostgreSQL skipped: {err:#}");
                postgres_note = format!("skipped: {err:#}");
            }
        }
    }

    let mut growth = Vec::new();
    let levels: Vec<u64> = if args.growth == "none" {
        Vec::new()
    } else {
        args.growth.split(',').map(|level| level.trim().parse()).collect::<Result<_, _>>()?
    };
    if !levels.is_empty() {
        growth = run_growth(&context, &work.path().join("growth"), &levels)?;
    }

    let report = Report {
        args: args.clone(),
        ceiling,
        measured,
        capacity,
        sweep,
        growth,
        postgres_note,
        command_line,
        wall_s: started.elapsed().as_secs_f64(),
    };
    let markdown = report::markdown(&report)?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::create_dir_all(&args.plots)?;
    for (name, svg) in charts::plots(&report)? {
        std::fs::write(args.plots.join(name), svg)?;
    }
    std::fs::write(&args.out, &markdown)?;
    eprintln!("{}", report::verdicts_text(&report));
    eprintln!("wrote {} and plots in {}", args.out.display(), args.plots.display());
    let errors: u64 = report.measured.iter().map(|m| m.result.errors).sum();
    if errors > 0 {
        bail!("{errors} requests failed (see the report)");
    }
    Ok(())
}

struct BenchContext {
    hongbao: PathBuf,
    gateway_key: PrivateKey,
    args: RunArgs,
}

/// A PostgreSQL database to run on, and the cluster's postmaster when it runs on this machine
/// (its processes' CPU is measured).
struct Database {
    url: String,
    postmaster: Option<u32>,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

fn pg_script() -> Result<PathBuf> {
    let candidates = [
        PathBuf::from("scripts/pg-cluster.sh"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster.sh"),
    ];
    candidates.into_iter().find(|path| path.exists()).context("scripts/pg-cluster.sh not found")
}

/// A cluster this run started, stopped when dropped: also when the run fails or panics (a
/// full disk makes even `eprintln!` panic), so that no postmaster outlives the bench holding
/// the files of its deleted folder.
struct ClusterGuard(PathBuf);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Ok(script) = pg_script() {
            let _ =
                std::process::Command::new("bash").arg(script).arg("stop").arg(&self.0).status();
        }
    }
}

/// The PostgreSQL URL to use, and the cluster folder when we started one.
fn postgres_url(choice: &str, work: &Path) -> Result<(String, Option<PathBuf>)> {
    if choice.starts_with("postgres://") || choice.starts_with("postgresql://") {
        return Ok((choice.to_owned(), None));
    }
    let dir = work.join("pg-cluster");
    eprintln!("starting a private PostgreSQL cluster…");
    let output = std::process::Command::new("bash")
        .arg(pg_script()?)
        .arg("start")
        .arg(&dir)
        .env_remove("PG_CLUSTER_FAST")
        .output()
        .context("running scripts/pg-cluster.sh")?;
    if !output.status.success() {
        bail!("pg-cluster.sh failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let url = String::from_utf8(output.stdout)?.trim().to_owned();
    Ok((url, Some(dir)))
}

/// Writes keys and `hongbao.toml` into `dir`; returns the config path.
/// `hongbao.toml` for a bench server. The memo off (every scenario but one) makes every answer
/// cost a signature, as the RSA floor assumes; the request log on turns the console on.
fn write_config(dir: &Path, gateway_key: &PrivateKey, variant: Variant) -> Result<PathBuf> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    std::fs::write(keys.join("gateway_private.pem"), gateway_key.to_pkcs8_pem()?)?;
    std::fs::write(keys.join("gateway_public.pem"), gateway_key.public_key()?.to_pem()?)?;
    std::fs::write(keys.join("app_public.pem"), app_a_key().public_key()?.to_pem()?)?;
    let mut config = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite://data/hongbao.db\"\ngateway_private_key = \"keys/gateway_private.pem\"\n\
         [[app]]\napp_id = \"{APP_A}\"\napp_public_key = \"keys/app_public.pem\"\nmerchant_user_id = \"{MERCHANT_A}\"\n\
         [[user]]\nuser_id = \"{MERCHANT_A}\"\nlogon_id = \"merchant@bench.example\"\nbalance = \"100000000.00\"\n"
    );
    for index in 0..CLAIMERS {
        config.push_str(&format!(
            "[[user]]\nuser_id = \"{}\"\nlogon_id = \"claimer{index}@bench.example\"\nbalance = \"0.00\"\n",
            CLAIMER_BASE + index
        ));
    }
    if !variant.signature_memo {
        config.push_str("[limits]\nsignature_cache = 0\n");
    }
    if variant.request_log {
        config.push_str("[sandbox]\nconsole_token = \"bench-console-token-0123456789\"\n");
    }
    let path = dir.join("hongbao.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// A running `hongbao serve`; killed when dropped.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
    /// The postmaster of the PostgreSQL cluster it uses, when known.
    db_pid: Option<u32>,
    /// The PostgreSQL database it uses, for PostgreSQL's own counters around each window.
    db_url: Option<String>,
}

impl Server {
    fn start(hongbao: &Path, config: &Path, database: Option<&Database>) -> Result<Server> {
        let log = std::fs::File::create(config.with_file_name("server.log"))?;
        let mut command = std::process::Command::new(hongbao);
        command
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(log);
        if let Some(database) = database {
            command.env("HONGBAO_DATABASE", &database.url);
        }
        let mut child =
            command.spawn().with_context(|| format!("starting {}", hongbao.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = match lines.next() {
            Some(line) => line?,
            None => {
                let _ = child.wait();
                let log = std::fs::read_to_string(config.with_file_name("server.log"))
                    .unwrap_or_default();
                bail!("hongbao serve exited before listening: {log}");
            }
        };
        let addr = first
            .strip_prefix("hongbao gateway listening on http://")
            .and_then(|rest| rest.trim_end_matches("/gateway.do").parse().ok())
            .with_context(|| format!("unexpected first line {first:?}"))?;
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            addr,
            db_pid: database.and_then(|database| database.postmaster),
            db_url: database.map(|database| database.url.clone()),
        })
    }

    fn stop(mut self) {
        // SIGTERM: a graceful stop, so SQLite checkpoints and PostgreSQL sessions close.
        let _ = std::process::Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every ceiling sample of the run (signatures a second on all cores).
static SAMPLES: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());
/// Every RSA floor sample of the run (µs of CPU per request).
static FLOORS: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

/// A short ceiling and floor measurement between runs: (signatures a second, floor µs).
fn sample_ceiling(context: &BenchContext) -> Result<(f64, f64)> {
    let window =
        if context.args.smoke { Duration::from_millis(100) } else { Duration::from_millis(800) };
    let sample = ceiling::measure(&context.gateway_key, window)?;
    if let Ok(mut samples) = SAMPLES.lock() {
        samples.push(sample.signs_per_s);
    }
    if let Ok(mut floors) = FLOORS.lock() {
        floors.push(sample.floor_us);
    }
    Ok((sample.signs_per_s, sample.floor_us))
}

fn spread(samples: &std::sync::Mutex<Vec<f64>>) -> (f64, f64, f64) {
    let mut samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    samples.sort_by(f64::total_cmp);
    if samples.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    (samples[0], samples[samples.len() / 2], samples[samples.len() - 1])
}

/// (min, median, max) of the ceiling samples.
pub fn ceiling_spread() -> (f64, f64, f64) {
    spread(&SAMPLES)
}

/// (min, median, max) of the floor samples.
pub fn floor_spread() -> (f64, f64, f64) {
    spread(&FLOORS)
}

static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One load window: what to send, over how many connections, for how long, at what rate.
struct Window {
    scenario: Scenario,
    connections: usize,
    seconds: f64,
    /// Open loop at this many requests a second; `None` for closed loop.
    rate: Option<f64>,
    /// (out_order_no, out_request_no) pairs to query, when seeded beforehand.
    query_targets: Vec<(String, String)>,
    label: String,
}

/// Runs one load process and returns what it measured.
fn run_load(
    context: &BenchContext,
    server: &Server,
    config_dir: &Path,
    window: Window,
) -> Result<LoadResult> {
    let Window { scenario, connections, seconds, rate, query_targets, label } = window;
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (before, floor_before) = sample_ceiling(context)?;
    // Headroom: the capacity this VM gets drifts, and running out ends the window early.
    let budget = (before.max(rate.unwrap_or(0.0)) * seconds * 1.6) as usize + 200;
    // Smoke: enough to exercise every path, not to measure anything.
    let budget = if context.args.smoke { budget.min(600) } else { budget };
    let spec = LoadSpec {
        addr: server.addr,
        gateway_public_pem: std::fs::read_to_string(config_dir.join("keys/gateway_public.pem"))?,
        server_pid: server.child.id(),
        db_pid: server.db_pid,
        db_url: server.db_url.clone(),
        scenario,
        prefix: format!("b{run}{}", scenario_key(scenario).replace('-', "")),
        connections,
        seconds,
        rate,
        budget,
        query_targets,
        label: label.clone(),
    };
    let spec_path = config_dir.join(format!("load-{run}.json"));
    std::fs::write(&spec_path, serde_json::to_vec(&spec)?)?;
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["load", "--spec"])
        .arg(&spec_path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running the load process")?;
    if !output.status.success() {
        bail!("load process for {label} failed ({})", output.status);
    }
    let mut result: LoadResult = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("load output: {}", String::from_utf8_lossy(&output.stdout)))?;

    let (after, floor_after) = sample_ceiling(context)?;
    result.ceiling_signs_per_s = (before + after) / 2.0;
    result.rsa_floor_us = (floor_before + floor_after) / 2.0;
    let cost = report::Cost::of(&result);
    eprintln!(
        "{label}: {:.0} req/s ({:.0} % of ceiling {:.0}), server {:.0} µs CPU/req{}, floor {:.0} µs: efficiency {:.0} %{}, idle {:.0} %{}, p50 {:.1} ms, p99 {:.1} ms, errors {}, server RSS {:.1} MB{}",
        result.throughput,
        100.0 * result.throughput / result.ceiling_signs_per_s,
        result.ceiling_signs_per_s,
        cost.server_us,
        cost.db_us.map(|us| format!(" + database {us:.0} µs")).unwrap_or_default(),
        result.rsa_floor_us,
        100.0 * cost.efficiency,
        cost.efficiency_with_db.map(|e| format!(" ({:.0} % with the database)", 100.0 * e)).unwrap_or_default(),
        100.0 * result.idle_share,
        result.db_work.map(|w| format!(", database {:.0} WAL bytes and {:.3} xids per request", w.wal_bytes, w.xids)).unwrap_or_default(),
        result.p50_ms,
        result.p99_ms,
        result.errors,
        result.server_rss_peak_kb as f64 / 1024.0,
        if result.exhausted { " (ran out of pre-signed requests)" } else { "" }
    );
    for sample in &result.error_samples {
        eprintln!("  error: {sample}");
    }
    Ok(result)
}

const SCENARIOS: [Scenario; 7] = [
    Scenario::QueryAlipayIds,
    Scenario::QueryMerchantIds,
    Scenario::Pay,
    Scenario::DisburseSpread,
    Scenario::DisburseHot,
    Scenario::Mixed,
    Scenario::ClaimPolled,
];

/// The scenarios on a server configured otherwise (`Scenario::variant`), run after the others.
const VARIANTS: [Scenario; 3] =
    [Scenario::ClaimPolledMemo, Scenario::QueryMerchantIdsLogged, Scenario::DisburseSpreadLogged];

/// Every scenario against one store (and, on SQLite, the open-loop sweep against the capacity
/// measured right before it).
fn run_store(
    context: &BenchContext,
    store: &'static str,
    dir: &Path,
    database: Option<&Database>,
    sweep: Option<(&mut Option<LoadResult>, &mut Vec<SweepPoint>)>,
) -> Result<Vec<Measured>> {
    let args = &context.args;
    std::fs::create_dir_all(dir)?;
    let config = write_config(dir, &context.gateway_key, Variant::default())?;
    let server = Server::start(&context.hongbao, &config, database)?;
    eprintln!("{store}: hongbao serve on {} (pid {})", server.addr, server.child.id());
    let mut measured = Vec::new();
    for scenario in SCENARIOS {
        if wanted(args, scenario_key(scenario)) {
            measured.push(closed_loop(context, &server, dir, store, scenario)?);
        }
    }
    if let Some((capacity, sweep)) = sweep.filter(|_| wanted(args, "sweep")) {
        let fractions: &[f64] =
            if args.smoke { &[0.5] } else { &[0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0] };
        let seconds = if args.smoke { args.seconds } else { (args.seconds / 2.0).max(3.0) };
        // The capacity: the same requests over the same connections, closed loop, right before.
        let measured_capacity = run_load(
            context,
            &server,
            dir,
            Window {
                scenario: Scenario::QueryMerchantIds,
                connections: SWEEP_CONNECTIONS,
                seconds,
                rate: None,
                query_targets: Vec::new(),
                label: format!("{store} query capacity (closed loop)"),
            },
        )?;
        for &fraction in fractions {
            let label = format!("{store} query at {:.0} % of capacity", fraction * 100.0);
            let offered = fraction * measured_capacity.throughput;
            let result = run_load(
                context,
                &server,
                dir,
                Window {
                    scenario: Scenario::QueryMerchantIds,
                    connections: SWEEP_CONNECTIONS,
                    seconds,
                    rate: Some(offered),
                    query_targets: Vec::new(),
                    label,
                },
            )?;
            sweep.push(SweepPoint { offered_fraction: fraction, offered, result });
        }
        *capacity = Some(measured_capacity);
    }
    server.stop();
    // The variants, each on a server of its own configuration over the same database.
    for scenario in VARIANTS {
        if !wanted(args, scenario_key(scenario)) {
            continue;
        }
        let config = write_config(dir, &context.gateway_key, scenario.variant())?;
        let server = Server::start(&context.hongbao, &config, database)?;
        measured.push(closed_loop(context, &server, dir, store, scenario)?);
        server.stop();
    }
    Ok(measured)
}

/// One scenario's closed-loop window on `server` (the hot packet with one connection per
/// claimer, every other scenario with `--connections`).
fn closed_loop(
    context: &BenchContext,
    server: &Server,
    dir: &Path,
    store: &'static str,
    scenario: Scenario,
) -> Result<Measured> {
    let args = &context.args;
    let connections =
        if scenario == Scenario::DisburseHot { args.claimers } else { args.connections };
    let window = Window {
        scenario,
        connections,
        seconds: args.seconds,
        rate: None,
        query_targets: Vec::new(),
        label: format!("{store} {}", scenario.name()),
    };
    let result = run_load(context, server, dir, window)?;
    Ok(Measured { store, scenario, connections, result })
}

/// Connections of the open-loop sweep and of its capacity run.
pub const SWEEP_CONNECTIONS: usize = 128;

/// Seeds 10 k … 1 M operations through the store API and measures each level.
fn run_growth(context: &BenchContext, dir: &Path, levels: &[u64]) -> Result<Vec<GrowthPoint>> {
    std::fs::create_dir_all(dir)?;
    let config = write_config(dir, &context.gateway_key, Variant::default())?;
    let database = dir.join("data/hongbao.db");
    std::fs::create_dir_all(database.parent().context("data dir")?)?;
    let url = format!("sqlite://{}", database.display());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut points = Vec::new();
    let mut packets_seeded = 0;
    for &level in levels {
        let packets = level.div_ceil(seed::OPERATIONS_PER_PACKET);
        let started = std::time::Instant::now();
        let (p50, p99) = runtime.block_on(async {
            let store = hongbao_store::open(&url).await?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as i64;
            store
                .ensure_user(
                    hongbao_store::SandboxUser {
                        user_id: MERCHANT_A.into(),
                        logon_id: "merchant@bench.example".into(),
                        password: "111111".into(),
                        opening_balance: hongbao_money::Fen::parse_amount("100000000.00")?,
                        real_name: None,
                    },
                    now_ms,
                )
                .await?;
            for index in 0..CLAIMERS {
                store
                    .ensure_user(
                        hongbao_store::SandboxUser {
                            user_id: (CLAIMER_BASE + index).to_string(),
                            logon_id: format!("claimer{index}@bench.example"),
                            password: "111111".into(),
                            opening_balance: hongbao_money::Fen::from_fen(0),
                            real_name: None,
                        },
                        now_ms,
                    )
                    .await?;
            }
            let bar = indicatif::ProgressBar::new(
                (packets - packets_seeded) * seed::OPERATIONS_PER_PACKET,
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:48} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
                )?
                .progress_chars("=> "),
            );
            bar.set_message(format!("growth: seeding to {level} operations"));
            seed::seed(std::sync::Arc::clone(&store), packets_seeded, packets, &bar).await?;
            bar.finish_and_clear();
            let seconds_seeding = started.elapsed().as_secs_f64();
            eprintln!("growth: {level} operations seeded in {seconds_seeding:.0} s");
            // The lookup alone, in-process: no RSA, no HTTP, so only the index is measured.
            let targets = seed::query_targets(packets, 2000);
            let mut micros = Vec::with_capacity(targets.len());
            for (order, request) in targets {
                let query = hongbao_ledger::OperationQuery {
                    app_id: APP_A.into(),
                    order: hongbao_ledger::OrderRef::OutOrderNo(order),
                    operation: hongbao_ledger::OperationRef::OutRequestNo(request),
                };
                let at = std::time::Instant::now();
                let found = store.query(query).await?;
                micros.push(at.elapsed().as_secs_f64() * 1e6);
                if found.is_err() {
                    bail!("seeded operation not found");
                }
            }
            micros.sort_by(f64::total_cmp);
            Ok::<_, anyhow::Error>((micros[micros.len() / 2], micros[micros.len() * 99 / 100]))
        })?;
        let seed_s = started.elapsed().as_secs_f64();
        packets_seeded = packets;
        let server = Server::start(&context.hongbao, &config, None)?;
        let seconds = (context.args.seconds / 2.0).max(1.0);
        let query = run_load(
            context,
            &server,
            dir,
            Window {
                scenario: Scenario::QueryMerchantIds,
                connections: 1,
                seconds,
                rate: None,
                query_targets: seed::query_targets(packets, 500),
                label: format!("growth {level}: query, 1 connection"),
            },
        )?;
        let disburse = run_load(
            context,
            &server,
            dir,
            Window {
                scenario: Scenario::DisburseSpread,
                connections: context.args.connections,
                seconds,
                rate: None,
                query_targets: Vec::new(),
                label: format!("growth {level}: spread disburse"),
            },
        )?;
        server.stop();
        let db_bytes = std::fs::metadata(&database).map(|m| m.len()).unwrap_or(0);
        points.push(GrowthPoint {
            operations: level,
            seed_s,
            store_query_p50_us: p50,
            store_query_p99_us: p99,
            query,
            disburse,
            db_bytes,
        });
    }
    Ok(points)
}

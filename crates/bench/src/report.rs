//! BENCHMARKS.md: the run's tables, the targets' verdicts, and prose whose every figure comes
//! from the run (the charts are `charts`).

use crate::load::{LoadResult, Scenario, VERIFY_EVERY};
use crate::Report;
use std::fmt::Write as _;

/// One target of the issue, checked.
pub struct Verdict {
    pub target: String,
    pub measured: String,
    pub pass: bool,
}

fn ratio(_report: &Report, result: &LoadResult) -> f64 {
    result.throughput / result.ceiling_signs_per_s.max(1.0)
}

/// What one request cost in CPU, and the RSA floor's share of it.
pub struct Cost {
    /// Server CPU (utime + stime of `hongbao serve`) per request answered, µs.
    pub server_us: f64,
    /// The PostgreSQL cluster's CPU per request answered, µs (when measured).
    pub db_us: Option<f64>,
    /// RSA floor ÷ server CPU per request.
    pub efficiency: f64,
    /// RSA floor ÷ (server + database) CPU per request.
    pub efficiency_with_db: Option<f64>,
}

impl Cost {
    pub fn of(result: &LoadResult) -> Cost {
        let answered = (result.requests as f64).max(1.0);
        let server_us = result.server_cpu_s * 1e6 / answered;
        let db_us = result.db_cpu_s.map(|s| s * 1e6 / answered);
        let share = |cpu_us: f64| if cpu_us > 0.0 { result.rsa_floor_us / cpu_us } else { 0.0 };
        Cost {
            server_us,
            db_us,
            efficiency: share(server_us),
            efficiency_with_db: db_us.map(|db| share(server_us + db)),
        }
    }
}

fn find<'a>(report: &'a Report, store: &str, scenario: Scenario) -> Option<&'a LoadResult> {
    report.measured.iter().find(|m| m.store == store && m.scenario == scenario).map(|m| &m.result)
}

pub fn verdicts(report: &Report) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let mut efficiency = |store: &str, scenario: Scenario, target: f64| {
        if let Some(result) = find(report, store, scenario) {
            let cost = Cost::of(result);
            let (value, with) = match cost.efficiency_with_db {
                Some(with_db) => (with_db, " (server + database CPU)"),
                None => (cost.efficiency, ""),
            };
            verdicts.push(Verdict {
                target: format!(
                    "{store} {}: efficiency{with} ≥ {:.0} %",
                    scenario.name(),
                    target * 100.0
                ),
                measured: format!(
                    "RSA floor {:.0} µs ÷ {:.0} µs CPU per request = {:.1} %",
                    result.rsa_floor_us,
                    cost.server_us + cost.db_us.unwrap_or(0.0),
                    value * 100.0
                ),
                pass: value >= target,
            });
        }
    };
    efficiency("SQLite", Scenario::QueryAlipayIds, 0.92);
    efficiency("SQLite", Scenario::QueryMerchantIds, 0.92);
    efficiency("SQLite", Scenario::DisburseSpread, 0.80);
    efficiency("SQLite", Scenario::DisburseHot, 0.80);
    efficiency("PostgreSQL", Scenario::DisburseSpread, 0.55);
    efficiency("PostgreSQL", Scenario::DisburseHot, 0.55);
    for scenario in [Scenario::DisburseSpread, Scenario::DisburseHot] {
        if let Some(result) = find(report, "PostgreSQL", scenario) {
            let share = ratio(report, result);
            verdicts.push(Verdict {
                target: format!(
                    "PostgreSQL {}: throughput ≥ 50 % of the signing ceiling",
                    scenario.name()
                ),
                measured: format!(
                    "{:.0} req/s of {:.0} signatures/s = {:.1} %",
                    result.throughput,
                    result.ceiling_signs_per_s,
                    share * 100.0
                ),
                pass: share >= 0.50,
            });
        }
    }
    if let (Some(capacity), Some(point)) =
        (&report.capacity, report.sweep.iter().find(|p| (p.offered_fraction - 0.9).abs() < 1e-9))
    {
        let kept_up = point.result.throughput >= 0.95 * point.offered;
        verdicts.push(Verdict {
            target: "p99 ≤ 10 ms at 90 % of the measured capacity (open loop, query by merchant ids, SQLite)"
                .into(),
            measured: format!(
                "p99 {:.1} ms at {:.0} req/s offered (capacity {:.0}), {:.0} served",
                point.result.p99_ms, point.offered, capacity.throughput, point.result.throughput
            ),
            pass: point.result.p99_ms <= 10.0 && kept_up,
        });
    }
    // The target is about 1,000 connections: a run with fewer (the smoke's) does not measure it,
    // so it gets no verdict rather than a FAIL.
    for measured in report
        .measured
        .iter()
        .filter(|m| m.scenario == Scenario::DisburseHot && m.connections >= 1000)
    {
        let mb = measured.result.server_rss_peak_kb as f64 / 1024.0;
        verdicts.push(Verdict {
            target: format!(
                "{} server RSS < 100 MB under {} open connections",
                measured.store, measured.connections
            ),
            measured: format!("peak VmRSS {mb:.1} MB"),
            pass: mb < 100.0,
        });
    }
    if let (Some(first), Some(last)) = (report.growth.first(), report.growth.last()) {
        if report.growth.len() > 1 {
            let factor = last.query.p50_ms / first.query.p50_ms;
            verdicts.push(Verdict {
                target: format!(
                    "query p50 at {} operations ≤ 1.3 × p50 at {}",
                    thousands(last.operations),
                    thousands(first.operations)
                ),
                measured: format!(
                    "{:.2} ms vs {:.2} ms = {factor:.2} × (store lookup alone: {:.0} µs vs {:.0} µs)",
                    last.query.p50_ms, first.query.p50_ms, last.store_query_p50_us, first.store_query_p50_us
                ),
                pass: factor <= 1.3,
            });
        }
    }
    let errors: u64 = report.measured.iter().map(|m| m.result.errors).sum::<u64>()
        + report.capacity.iter().map(|c| c.errors).sum::<u64>()
        + report.sweep.iter().map(|p| p.result.errors).sum::<u64>()
        + report.growth.iter().map(|g| g.query.errors + g.disburse.errors).sum::<u64>();
    verdicts.push(Verdict {
        target: "zero errors in every run".into(),
        measured: format!("{errors} errors"),
        pass: errors == 0,
    });
    verdicts
}

pub fn verdicts_text(report: &Report) -> String {
    let mut text = String::new();
    for verdict in verdicts(report) {
        let _ = writeln!(
            text,
            "{} {}: {}",
            if verdict.pass { "PASS" } else { "FAIL" },
            verdict.target,
            verdict.measured
        );
    }
    text
}

pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn machine_facts() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    vec![
        ("CPU".into(), format!("{model}, {cores} logical cores available")),
        ("memory".into(), memory),
        ("kernel".into(), kernel.trim().to_owned()),
        ("crypto".into(), openssl::version::version().to_owned()),
        (
            "rustc".into(),
            command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "commit".into(),
            format!("{commit}{}", if dirty { " with uncommitted changes in the tree" } else { "" }),
        ),
        (
            "date (UTC)".into(),
            command_output("date", &["-u", "+%Y-%m-%d %H:%M"]).unwrap_or_default(),
        ),
    ]
}

fn scenario_row(
    report: &Report,
    out: &mut String,
    name: &str,
    connections: usize,
    result: &LoadResult,
) {
    // Verification scales with signing on the same cores; the run's first measurement gives the
    // proportion.
    let verify_per_sign = report.ceiling.verifies_per_s / report.ceiling.signs_per_s;
    let sign = result.ceiling_signs_per_s.max(1.0);
    let sign_and_verify = 1.0 / (1.0 / sign + 1.0 / (sign * verify_per_sign));
    let client_share = result.client_cpu_s / (result.client_cpu_s + result.server_cpu_s).max(1e-9);
    let cost = Cost::of(result);
    let dash = || "–".to_owned();
    let _ = writeln!(
        out,
        "| {name} | {connections} | {:.0} | {:.0} | {:.1} % | {:.1} % | {:.0} | {} | {:.0} | **{:.1} %** | {} | {:.0} % | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.0} % |",
        result.throughput,
        sign,
        100.0 * ratio(report, result),
        100.0 * result.throughput / sign_and_verify,
        cost.server_us,
        cost.db_us.map_or_else(dash, |us| format!("{us:.0}")),
        result.rsa_floor_us,
        100.0 * cost.efficiency,
        cost.efficiency_with_db.map_or_else(dash, |e| format!("**{:.1} %**", 100.0 * e)),
        100.0 * result.idle_share,
        result.p50_ms,
        result.p99_ms,
        result.p999_ms,
        result.errors,
        result.server_rss_peak_kb as f64 / 1024.0,
        100.0 * client_share,
    );
}

/// The command a run was invoked with, as typed: the program as given (relative to the current
/// folder when it was given as an absolute path under it), then the arguments, quoted where the
/// shell needs it.
pub fn shown_command(args: impl IntoIterator<Item = String>) -> String {
    let here = std::env::current_dir().ok();
    let mut shown = Vec::new();
    for (index, arg) in args.into_iter().enumerate() {
        let arg = match (&here, index) {
            (Some(here), 0) => std::path::Path::new(&arg)
                .strip_prefix(here)
                .map_or(arg.clone(), |relative| relative.display().to_string()),
            _ => arg,
        };
        let plain = !arg.is_empty()
            && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_=.,/:@+%".contains(c));
        shown.push(if plain { arg } else { format!("'{}'", arg.replace('\'', r"'\''")) });
    }
    shown.join(" ")
}

/// "12 min 05 s", "48 s".
fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if whole >= 60 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{whole} s")
    }
}

/// Every load window of the run.
fn windows(report: &Report) -> impl Iterator<Item = &LoadResult> {
    report
        .measured
        .iter()
        .map(|m| &m.result)
        .chain(report.capacity.iter())
        .chain(report.sweep.iter().map(|p| &p.result))
        .chain(report.growth.iter().flat_map(|g| [&g.query, &g.disburse]))
}

/// How long the run took and where the time went, from the run's own clocks.
fn run_paragraph(report: &Report) -> String {
    let seeding: f64 = report.growth.iter().map(|g| g.seed_s).sum();
    let presign: f64 = windows(report).map(|r| r.presign_s).sum();
    let measured: f64 = windows(report).map(|r| r.elapsed_s).sum();
    let seeding = if report.growth.is_empty() {
        String::new()
    } else {
        format!(", {} seeding the growth levels", duration(seeding))
    };
    format!(
        "This run took {} of wall time on this machine: {} in measured windows, {} pre-signing \
         requests before them{seeding}, the rest starting servers, funding packets before the \
         windows and sampling the ceiling. Reproduce it (the release build matters):",
        duration(report.wall_s),
        duration(measured),
        duration(presign),
    )
}

/// What the figures mean for a merchant, with the run's own slowest and fastest scenarios.
fn merchant_paragraph(report: &Report) -> Option<String> {
    let by_throughput = |a: &&crate::Measured, b: &&crate::Measured| {
        a.result.throughput.total_cmp(&b.result.throughput)
    };
    let slowest = report.measured.iter().min_by(by_throughput)?;
    let fastest = report.measured.iter().max_by(by_throughput)?;
    let mut stores: Vec<&str> = Vec::new();
    for measured in &report.measured {
        if !stores.contains(&measured.store) {
            stores.push(measured.store);
        }
    }
    let stores = stores.join(" and ");
    Some(format!(
        "**What these figures mean for a merchant.** A sandbox that one merchant's tests, CI and \
         staging call sees a few requests a second: it needs far less than these figures, and any \
         machine will do. Here the slowest scenario ({} on {}) answered {} signed requests a \
         second and the fastest ({} on {}) {}, on {} cores shared with the load client. The \
         numbers matter to a platform that runs its own red packet service at volume: there every \
         request costs one RSA-2048 signature and one verification (this machine made {} \
         signatures a second at the start of the run), and the tables below show how much of \
         that `hongbao serve` turns into answered requests on {stores}, and what each request \
         costs in CPU.",
        slowest.scenario.name(),
        slowest.store,
        thousands(slowest.result.throughput.round() as u64),
        fastest.scenario.name(),
        fastest.store,
        thousands(fastest.result.throughput.round() as u64),
        report.ceiling.threads,
        thousands(report.ceiling.signs_per_s.round() as u64),
    ))
}

const SCENARIO_HEADER: &str = "| scenario | connections | req/s | ceiling at the time (signs/s) | of sign ceiling | of sign+verify ceiling | server CPU µs/req | database CPU µs/req | RSA floor µs | efficiency | efficiency with the database | idle | p50 ms | p99 ms | p99.9 ms | errors | server peak RSS MB | client CPU share |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

pub fn markdown(report: &Report) -> anyhow::Result<String> {
    let ceiling = &report.ceiling;
    let args = &report.args;
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# Benchmarks")?;
    writeln!(w)?;
    if let Some(paragraph) = merchant_paragraph(report) {
        writeln!(w, "{paragraph}")?;
        writeln!(w)?;
    }
    writeln!(
        w,
        "Every gateway answer costs one RSA-2048 signature and every request one verification, so a \
         machine can only answer so many signed requests a second. This file, written by \
         `hongbao-bench` (crates/bench), measures that ceiling and how close `hongbao serve` gets to \
         it. Benchmarks are not tests: CI runs only a one-second smoke of the command \
         (crates/bench/tests/smoke.rs).{}",
        if args.smoke { " **This is a smoke run: its figures mean nothing.**" } else { "" }
    )?;
    writeln!(w)?;
    writeln!(w, "{}", run_paragraph(report))?;
    writeln!(w)?;
    writeln!(w, "```sh")?;
    writeln!(w, "{}", crate::BUILD_COMMAND)?;
    writeln!(w, "{}", report.command_line)?;
    writeln!(w, "```")?;
    writeln!(w)?;
    if report.command_line != crate::FULL_RUN {
        writeln!(
            w,
            "This run is not the documented full run (README.md), which is `{}`.",
            crate::FULL_RUN
        )?;
        writeln!(w)?;
    }
    writeln!(w, "## Machine")?;
    writeln!(w)?;
    writeln!(w, "| | |\n| --- | --- |")?;
    for (name, value) in machine_facts() {
        writeln!(w, "| {name} | {value} |")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Client and server share this machine: the load client is a separate process on the same cores. \
         It signs every request *before* the measured window (with the same key and library), keeps \
         HTTP/1.1 connections alive, checks every answer for HTTP 200 and `code` 10000 and verifies \
         the signature of one answer in {VERIFY_EVERY}. Its CPU during the window is reported as \
         \"client CPU share\"; what it uses is not available to the server, so the ratios below \
         are a lower bound of what the server would reach on a machine of its own."
    )?;
    writeln!(w)?;
    writeln!(w, "## Ceiling")?;
    writeln!(w)?;
    writeln!(
        w,
        "RSA-2048 with `hongbao-sign` (openssl), SHA256withRSA (RSA2) over an answer-sized node, \
         one thread per core ({} threads), measured in the same run:",
        ceiling.threads
    )?;
    writeln!(w)?;
    writeln!(w, "| | per second |\n| --- | ---: |")?;
    let (low, median, high) = crate::ceiling_spread();
    writeln!(w, "| signatures at the start (**the ceiling**) | **{:.0}** |", ceiling.signs_per_s)?;
    writeln!(w, "| signatures, short samples before and after every run: min / median / max | {low:.0} / {median:.0} / {high:.0} |")?;
    writeln!(w, "| verifications | {:.0} |", ceiling.verifies_per_s)?;
    writeln!(
        w,
        "| requests if the cores did only the server's RSA (1 verify + 1 sign each) | {:.0} |",
        ceiling.sign_and_verify_per_s()
    )?;
    let (floor_low, floor_median, floor_high) = crate::floor_spread();
    writeln!(
        w,
        "| **RSA floor per request**, µs of thread CPU time (1 sign + 1 verify): at the start; samples min / median / max | **{:.0}**; {floor_low:.0} / {floor_median:.0} / {floor_high:.0} |",
        ceiling.floor_us
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "The RSA floor is the CPU one request cannot do without: one signature of an answer-sized \
         node and one verification, with the server's own library, timed as the measuring \
         thread's CPU time (not wall time, which the host's steal inflates) and sampled again \
         before and after every run. **Efficiency** = RSA floor ÷ the server's CPU time per \
         request answered (utime + stime of `hongbao serve` from /proc over the window ÷ \
         requests); on PostgreSQL also ÷ (server + database), the database being every process \
         of the cluster (backends, WAL writer, checkpointer …), likewise from /proc. CPU time \
         per request depends on what the server does, not on how much of the cores the host \
         hands out, which is why the targets are set on it; **idle** is the machine's idle share \
         of CPU time in the window (/proc/stat): a store that waits (commit flushes, locks, round \
         trips) shows there, not in its efficiency."
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "The capacity this virtual machine gets from its host drifts during a run (the samples \
         above), so every run is compared with the ceiling measured right before and right after \
         it (their mean, in the tables). Every throughput is given as a ratio to that signature \
         ceiling (the issue's measure) and to the sign+verify ceiling (what the server's RSA work \
         alone allows: one verification and one signature per request)."
    )?;
    writeln!(w)?;
    writeln!(w, "## Scenarios")?;
    writeln!(w)?;
    writeln!(
        w,
        "Closed loop for {} s each: every connection sends its next request when its answer \
         arrived. The hot packet has one connection per claimer. \"client CPU share\" is the \
         load client's share of the CPU time both processes used in the window. CPU per request, \
         the RSA floor, efficiency and idle share as defined above; the throughput ratios to the \
         signing ceiling are kept for continuity with earlier reports.",
        args.seconds
    )?;
    writeln!(w)?;
    writeln!(w, "- agreement.pay: every request funds a new packet of 1.00.")?;
    writeln!(
        w,
        "- disburse, spread: 0.01 claims spread round-robin over {} packets funded before the window.",
        thousands(crate::load::SPREAD_PACKETS as u64)
    )?;
    writeln!(w, "- disburse, one hot packet: every claim draws 0.01 from the same packet (`deduct_auth_no`).")?;
    writeln!(w, "- disburse, each claim polled {} times: a 0.01 claim spread over the packets as above, then its `operation.query` by merchant ids {} times, as a merchant polls for SUCCESS (1 request in {} is a claim). Every scenario runs with the gateway's signature memo off (`[limits] signature_cache = 0`), so every answer costs a signature as the RSA floor assumes, even where answers repeat (operation.query round-robin over {} packets); the polled claims run once more on a server with the memo on (\"signature memo on\"), where the polls' byte-identical answers are signed once: that row is the memo's saving.", crate::load::POLLS, crate::load::POLLS, crate::load::POLLS + 1, crate::load::QUERY_PACKETS)?;
    writeln!(w, "- \"request log on\": the same requests as the scenario named, on a server with the sandbox console on, so every call is also written to the request log (off the request's path, in the ledger's database); compare with the row without it.")?;
    writeln!(
        w,
        "- mixed red-packet day: each connection repeats a cycle of {cycle} requests: fund 1.00, {claims} claims of \
         0.10 (by `deduct_out_order_no`), refund the rest, query the pay and the last claim by \
         merchant ids. The refund names the packet's `auth_no`, known only from the pay's answer, so \
         the client signs refunds during the window (1 request in {cycle}).",
        cycle = crate::load::MIXED_CYCLE,
        claims = crate::load::MIXED_CLAIMS,
    )?;
    writeln!(
        w,
        "- operation.query: {} packets funded before the window, queried round-robin.",
        crate::load::QUERY_PACKETS
    )?;
    writeln!(w)?;
    for store in ["SQLite", "PostgreSQL"] {
        let rows: Vec<_> = report.measured.iter().filter(|m| m.store == store).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(w, "### {store}")?;
        writeln!(w)?;
        if store == "SQLite" {
            writeln!(w, "Store: an SQLite file on the machine's disk, WAL, `synchronous=FULL` (every group commit fsynced).")?;
        } else {
            writeln!(w, "Store: {}.", report.postgres_note)?;
        }
        writeln!(w)?;
        writeln!(w, "{SCENARIO_HEADER}")?;
        for measured in rows {
            scenario_row(
                report,
                w,
                measured.scenario.name(),
                measured.connections,
                &measured.result,
            );
        }
        writeln!(w)?;
        let work: Vec<_> = report
            .measured
            .iter()
            .filter(|m| m.store == store)
            .filter_map(|m| m.result.db_work.map(|work| (m, work)))
            .collect();
        if !work.is_empty() {
            writeln!(
                w,
                "What the database did per request, from its own counters (exact, and unmoved by \
                 the host's CPU share): WAL written, and transaction ids taken (every writing \
                 transaction or savepoint takes one, so 1/64 is a full group commit of 64 \
                 commands without savepoints)."
            )?;
            writeln!(w)?;
            writeln!(w, "| scenario | WAL bytes per request | transaction ids per request | database CPU µs/req |\n| --- | ---: | ---: | ---: |")?;
            for (measured, work) in work {
                let cost = Cost::of(&measured.result);
                writeln!(
                    w,
                    "| {} | {:.0} | {:.3} | {} |",
                    measured.scenario.name(),
                    work.wal_bytes,
                    work.xids,
                    cost.db_us.map_or_else(|| "–".to_owned(), |us| format!("{us:.0}"))
                )?;
            }
            writeln!(w)?;
        }
        for measured in report.measured.iter().filter(|m| m.store == store && m.result.errors > 0) {
            writeln!(
                w,
                "Errors in {}: `{}`",
                measured.scenario.name(),
                measured.result.error_samples.join("`, `")
            )?;
            writeln!(w)?;
        }
    }
    if report.measured.iter().all(|m| m.store != "PostgreSQL") && !report.postgres_note.is_empty() {
        writeln!(w, "PostgreSQL: {}", report.postgres_note)?;
        writeln!(w)?;
    }
    writeln!(w, "![throughput by scenario]({}/scenarios.svg)", plots_link(report))?;
    writeln!(w)?;
    if !report.sweep.is_empty() {
        writeln!(w, "## Latency against load")?;
        writeln!(w)?;
        let capacity = report.capacity.as_ref().map_or(0.0, |c| c.throughput);
        writeln!(
            w,
            "Open loop on SQLite, operation.query by merchant ids over {connections} connections: requests are \
             scheduled at a fixed rate and latency counts from each request's scheduled time, so \
             queueing behind a saturated server shows (no coordinated omission). The rates are \
             fractions of this run's **measured capacity**: the same requests over the same {connections} \
             connections in closed loop right before the sweep, {capacity:.0} req/s.",
            connections = crate::SWEEP_CONNECTIONS,
        )?;
        writeln!(w)?;
        writeln!(w, "| offered (of capacity) | offered req/s | served req/s | served (of sign ceiling) | server CPU µs/req | efficiency | idle | p50 ms | p99 ms | p99.9 ms | errors |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for point in &report.sweep {
            let r = &point.result;
            let cost = Cost::of(r);
            writeln!(
                w,
                "| {:.0} % | {:.0} | {:.0} | {:.1} % | {:.0} | {:.1} % | {:.0} % | {:.2} | {:.2} | {:.2} | {} |",
                point.offered_fraction * 100.0,
                point.offered,
                r.throughput,
                100.0 * ratio(report, r),
                cost.server_us,
                100.0 * cost.efficiency,
                100.0 * r.idle_share,
                r.p50_ms,
                r.p99_ms,
                r.p999_ms,
                r.errors
            )?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "![throughput and latency against offered load]({}/load.svg)",
            plots_link(report)
        )?;
        writeln!(w)?;
    }
    if !report.growth.is_empty() {
        writeln!(w, "## Growth")?;
        writeln!(w)?;
        writeln!(
            w,
            "SQLite, seeded through the store API (`hongbao_store::open`, concurrent `fund` and \
             `disburse` commands, group-committed by the writer; the server stopped meanwhile): \
             packets of 10.00 with {} disburses of 0.01 each, so {} operations per packet. \
             Queries target seeded disburses spread over the whole history, by merchant ids, over \
             one connection (so the latency is one request's, without queueing); the store lookup \
             alone is also timed in-process, without HTTP or RSA. Disburse throughput is the spread \
             scenario with {} connections.",
            crate::seed::OPERATIONS_PER_PACKET - 1,
            thousands(crate::seed::OPERATIONS_PER_PACKET),
            args.connections
        )?;
        writeln!(w)?;
        writeln!(w, "| existing operations | DB size MB | seeding s | store lookup p50 / p99 µs | query p50 ms | query p99 ms | disburse req/s | disburse of ceiling | errors |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for point in &report.growth {
            writeln!(
                w,
                "| {} | {:.0} | {:.0} | {:.0} / {:.0} | {:.2} | {:.2} | {:.0} | {:.1} % | {} |",
                thousands(point.operations),
                point.db_bytes as f64 / 1e6,
                point.seed_s,
                point.store_query_p50_us,
                point.store_query_p99_us,
                point.query.p50_ms,
                point.query.p99_ms,
                point.disburse.throughput,
                100.0 * ratio(report, &point.disburse),
                point.query.errors + point.disburse.errors
            )?;
        }
        writeln!(w)?;
        writeln!(w, "![growth]({}/growth.svg)", plots_link(report))?;
        writeln!(w)?;
    }
    writeln!(w, "## Targets")?;
    writeln!(w)?;
    writeln!(w, "| | target | measured |\n| --- | --- | --- |")?;
    for verdict in verdicts(report) {
        writeln!(
            w,
            "| {} | {} | {} |",
            if verdict.pass { "PASS" } else { "**FAIL**" },
            verdict.target,
            verdict.measured
        )?;
    }
    writeln!(w)?;
    if let Ok(notes) = std::fs::read_to_string(notes_path()) {
        writeln!(w, "{}", notes.trim_end())?;
        writeln!(w)?;
    }
    Ok(out)
}

/// The plots folder as a link from the report's folder.
fn plots_link(report: &Report) -> String {
    let base = report.args.out.parent().unwrap_or(std::path::Path::new(""));
    report.args.plots.strip_prefix(base).unwrap_or(&report.args.plots).display().to_string()
}

/// Hand-written findings (profiles, what bounds the rest), appended to every report.
fn notes_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("FINDINGS.md")
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A report built from fixed figures, for the report's and the charts' tests.
    use crate::ceiling::Ceiling;
    use crate::load::{LoadResult, Scenario};
    use crate::{GrowthPoint, Measured, Report, SweepPoint};
    use clap::Parser as _;

    pub fn result(throughput: f64, p50_ms: f64, p99_ms: f64, p999_ms: f64) -> LoadResult {
        LoadResult {
            requests: (throughput * 8.0) as u64,
            elapsed_s: 8.0,
            throughput,
            p50_ms,
            p99_ms,
            p999_ms,
            server_cpu_s: 8.0 * throughput * 450e-6,
            client_cpu_s: 0.4,
            rsa_floor_us: 340.0,
            presign_s: 3.0,
            ceiling_signs_per_s: 6100.0,
            server_rss_peak_kb: 40_000,
            ..LoadResult::default()
        }
    }

    pub fn report(command: &[&str]) -> Report {
        let args = crate::Cli::parse_from(["hongbao-bench"].iter().chain(command)).run;
        let measured = |store, scenario, connections, result| Measured {
            store,
            scenario,
            connections,
            result,
        };
        let mut postgres = result(1300.0, 40.0, 120.0, 180.0);
        postgres.db_cpu_s = Some(8.0 * 1300.0 * 400e-6);
        let mut polled = result(2600.0, 20.0, 60.0, 90.0);
        polled.db_cpu_s = Some(8.0 * 2600.0 * 200e-6);
        let sweep = [
            (0.2, 0.6, 1.5, 3.0),
            (0.4, 0.7, 2.0, 4.0),
            (0.6, 0.8, 3.0, 6.0),
            (0.7, 0.9, 4.0, 9.0),
            (0.8, 1.2, 6.0, 20.0),
            (0.9, 2.0, 9.0, 60.0),
            (1.0, 5.0, 150.0, 400.0),
        ]
        .into_iter()
        .map(|(fraction, p50, p99, p999)| SweepPoint {
            offered_fraction: fraction,
            offered: fraction * 4400.0,
            result: result(fraction * 4400.0 * 0.99, p50, p99, p999),
        })
        .collect();
        let growth = [(10_000, 5.0, 0.49), (100_000, 40.0, 0.51), (1_000_000, 400.0, 0.54)]
            .into_iter()
            .map(|(operations, seed_s, p50)| GrowthPoint {
                operations,
                seed_s,
                store_query_p50_us: 30.0,
                store_query_p99_us: 80.0,
                query: result(1500.0, p50, 1.2, 2.0),
                disburse: result(3600.0, 15.0, 40.0, 60.0),
                db_bytes: operations * 600,
            })
            .collect();
        Report {
            args,
            ceiling: Ceiling {
                threads: 2,
                signs_per_s: 6000.0,
                verifies_per_s: 90_000.0,
                floor_us: 340.0,
            },
            measured: vec![
                measured("SQLite", Scenario::QueryAlipayIds, 64, result(4500.0, 12.0, 30.0, 40.0)),
                measured("SQLite", Scenario::DisburseSpread, 64, result(3500.0, 16.0, 35.0, 45.0)),
                measured("PostgreSQL", Scenario::DisburseSpread, 64, postgres),
                measured("PostgreSQL", Scenario::ClaimPolledMemo, 64, polled),
            ],
            capacity: Some(result(4400.0, 25.0, 60.0, 80.0)),
            sweep,
            growth,
            postgres_note: "a private cluster".into(),
            command_line: super::shown_command(
                ["target/release/hongbao-bench"].iter().chain(command).map(|arg| arg.to_string()),
            ),
            wall_s: 754.4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_figures_are_the_reports_own() {
        let report = fixture::report(&["--seconds", "8"]);
        let text = markdown(&report).unwrap();
        // 4 scenarios + capacity + 7 sweep points + 3 × 2 growth windows = 18 windows of 8 s,
        // each pre-signed in 3 s; seeding 5 + 40 + 400 s.
        assert!(text.contains("This run took 12 min 34 s of wall time"), "{text}");
        assert!(text.contains("2 min 24 s in measured windows, 54 s pre-signing"), "{text}");
        assert!(text.contains("7 min 25 s seeding the growth levels"), "{text}");
        assert!(
            text.contains(
                "the slowest scenario (disburse, spread over 1,000 packets on PostgreSQL) answered 1,300"
            ),
            "{text}"
        );
        assert!(text.contains("(operation.query by Alipay ids on SQLite) 4,500"), "{text}");
        assert!(text.contains("this machine made 6,000 signatures a second"), "{text}");
        assert!(text.contains("answered requests on SQLite and PostgreSQL"), "{text}");
        assert!(text.contains("right before the sweep, 4400 req/s"), "{text}");
        assert!(!text.contains("15 minutes"), "a hard-coded duration is back:\n{text}");

        // Another run, other figures: nothing in the prose stays behind.
        let mut other = fixture::report(&["--seconds", "8"]);
        other.wall_s = 61.0;
        other.measured[2].result.throughput = 987.0;
        let text = markdown(&other).unwrap();
        assert!(text.contains("This run took 1 min 01 s"), "{text}");
        assert!(text.contains("answered 987 signed requests a second"), "{text}");

        // A run without growth or PostgreSQL does not speak of them.
        let mut short = fixture::report(&["--seconds", "1", "--growth", "none"]);
        short.growth.clear();
        short.measured.retain(|m| m.store == "SQLite");
        let text = markdown(&short).unwrap();
        assert!(!text.contains("seeding the growth levels"), "{text}");
        assert!(text.contains("answered requests on SQLite, and"), "{text}");
    }

    #[test]
    fn reproduce_line_is_the_command_of_the_run() {
        let full: Vec<&str> = crate::FULL_RUN.split(' ').skip(1).collect();
        let text = markdown(&fixture::report(&full)).unwrap();
        let block = format!("```sh\n{}\n{}\n```", crate::BUILD_COMMAND, crate::FULL_RUN);
        assert!(text.contains(&block), "{text}");
        assert!(!text.contains("not the documented full run"), "{text}");

        let short = ["--seconds", "1", "--growth", "none", "--only", "query-alipay,spread"];
        let text = markdown(&fixture::report(&short)).unwrap();
        let block = format!(
            "```sh\n{}\ntarget/release/hongbao-bench --seconds 1 --growth none --only query-alipay,spread\n```",
            crate::BUILD_COMMAND
        );
        assert!(text.contains(&block), "{text}");
        assert!(
            text.contains(&format!(
                "not the documented full run (README.md), which is `{}`",
                crate::FULL_RUN
            )),
            "{text}"
        );
    }

    #[test]
    fn readme_shows_the_documented_full_run() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        )
        .unwrap();
        let line = format!("`{} && {}`", crate::BUILD_COMMAND, crate::FULL_RUN);
        assert!(readme.contains(&line), "README.md's bench line is not {line}");
    }

    #[test]
    fn shown_command_quotes_what_the_shell_would_split() {
        let here = std::env::current_dir().unwrap();
        let program = here.join("target/release/hongbao-bench").display().to_string();
        let args =
            [&program, "--data-dir", "/tmp/a b", "--postgres", "postgres://u@127.0.0.1/db", "it's"];
        assert_eq!(
            shown_command(args.iter().map(|arg| arg.to_string())),
            "target/release/hongbao-bench --data-dir '/tmp/a b' --postgres postgres://u@127.0.0.1/db 'it'\\''s'"
        );
        // A binary outside the current folder is shown as it was given.
        assert_eq!(
            shown_command(["/opt/bench/hongbao-bench".to_owned(), "--smoke".to_owned()]),
            "/opt/bench/hongbao-bench --smoke"
        );
    }

    #[test]
    fn findings_are_appended() {
        let findings = std::fs::read_to_string(notes_path()).unwrap();
        let text = markdown(&fixture::report(&[])).unwrap();
        assert!(
            text.trim_end().ends_with(findings.trim_end()),
            "FINDINGS.md is not the report's end"
        );
    }
}

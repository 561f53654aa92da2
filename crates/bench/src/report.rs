//! BENCHMARKS.md and its SVG plots (hand-written SVG: three line and bar charts do not need a
//! plotting crate).

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

fn thousands(value: u64) -> String {
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

const SCENARIO_HEADER: &str = "| scenario | connections | req/s | ceiling at the time (signs/s) | of sign ceiling | of sign+verify ceiling | server CPU µs/req | database CPU µs/req | RSA floor µs | efficiency | efficiency with the database | idle | p50 ms | p99 ms | p99.9 ms | errors | server peak RSS MB | client CPU share |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

pub fn markdown(report: &Report) -> anyhow::Result<String> {
    let ceiling = &report.ceiling;
    let args = &report.args;
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# Benchmarks")?;
    writeln!(w)?;
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
    writeln!(w, "Reproduce (the release build matters; a full run takes about 15 minutes on 2 cores, most of it seeding and pre-signing):")?;
    writeln!(w)?;
    writeln!(w, "```sh")?;
    writeln!(w, "cargo build --release -p hongbao -p hongbao-bench")?;
    let shown: Vec<String> =
        report
            .command_line
            .split(' ')
            .enumerate()
            .map(|(index, part)| {
                if index == 0 {
                    "target/release/hongbao-bench".to_owned()
                } else {
                    part.to_owned()
                }
            })
            .collect();
    writeln!(w, "{}", shown.join(" "))?;
    writeln!(w, "```")?;
    writeln!(w)?;
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
    writeln!(w, "- disburse, spread: 0.01 claims spread round-robin over 1,000 packets funded before the window.")?;
    writeln!(w, "- disburse, one hot packet: every claim draws 0.01 from the same packet (`deduct_auth_no`).")?;
    writeln!(w, "- disburse, each claim polled {} times: a 0.01 claim spread over the packets as above, then its `operation.query` by merchant ids {} times, as a merchant polls for SUCCESS (1 request in {} is a claim). Every scenario runs with the gateway's signature memo off (`[limits] signature_cache = 0`), so every answer costs a signature as the RSA floor assumes, even where answers repeat (operation.query round-robin over 200 packets); the polled claims run once more on a server with the memo on (\"signature memo on\"), where the polls' byte-identical answers are signed once: that row is the memo's saving.", crate::load::POLLS, crate::load::POLLS, crate::load::POLLS + 1)?;
    writeln!(w, "- \"request log on\": the same requests as the scenario named, on a server with the sandbox console on, so every call is also written to the request log (off the request's path, in the ledger's database); compare with the row without it.")?;
    writeln!(
        w,
        "- mixed red-packet day: each connection repeats a cycle of 12 requests: fund 1.00, 8 claims of \
         0.10 (by `deduct_out_order_no`), refund the 0.20 left, query the pay and the last claim by \
         merchant ids. The refund names the packet's `auth_no`, known only from the pay's answer, so \
         the client signs refunds during the window (1 request in 12)."
    )?;
    writeln!(w, "- operation.query: 200 packets funded before the window, queried round-robin.")?;
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
            "Open loop on SQLite, operation.query by merchant ids over 128 connections: requests are \
             scheduled at a fixed rate and latency counts from each request's scheduled time, so \
             queueing behind a saturated server shows (no coordinated omission). The rates are \
             fractions of this run's **measured capacity**: the same requests over the same 128 \
             connections in closed loop right before the sweep, {capacity:.0} req/s."
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
             packets of 10.00 with 999 disburses of 0.01 each, so 1,000 operations per packet. \
             Queries target seeded disburses spread over the whole history, by merchant ids, over \
             one connection (so the latency is one request's, without queueing); the store lookup \
             alone is also timed in-process, without HTTP or RSA. Disburse throughput is the spread \
             scenario with {} connections.",
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

// --- SVG -------------------------------------------------------------------------------------

const COLORS: [&str; 4] = ["#c0392b", "#2c7fb8", "#27ae60", "#8e44ad"];

struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

/// A line chart in a `width`×`height` box at (`left`, `top`).
fn line_chart(
    svg: &mut String,
    (left, top, width, height): (f64, f64, f64, f64),
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    x_log: bool,
) {
    let (pad_left, pad_bottom, pad_top) = (60.0, 45.0, 30.0);
    let (plot_w, plot_h) = (width - pad_left - 20.0, height - pad_bottom - pad_top);
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).collect();
    if all.is_empty() {
        return;
    }
    let tx = |x: f64| if x_log { x.max(1e-9).log10() } else { x };
    let (mut x_min, mut x_max) =
        all.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(tx(p.0)), hi.max(tx(p.0))));
    if x_max - x_min < 1e-9 {
        x_min -= 1.0;
        x_max += 1.0;
    }
    let y_max = all.iter().fold(0.0f64, |hi, p| hi.max(p.1)) * 1.1;
    let y_max = if y_max <= 0.0 { 1.0 } else { y_max };
    let px = |x: f64| left + pad_left + (tx(x) - x_min) / (x_max - x_min) * plot_w;
    let py = |y: f64| top + pad_top + plot_h - y / y_max * plot_h;
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="14" font-weight="bold">{title}</text>"#,
        left + pad_left,
        top + 18.0
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{:.1}" y="{:.1}" width="{plot_w:.1}" height="{plot_h:.1}" fill="none" stroke="#888"/>"##,
        left + pad_left,
        top + pad_top
    );
    for tick in 0..=4 {
        let value = y_max * tick as f64 / 4.0;
        let y = py(value);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            left + pad_left,
            left + pad_left + plot_w,
            left + pad_left - 5.0,
            y + 4.0,
            short(value)
        );
    }
    let mut xs: Vec<f64> = all.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    for x in xs {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            px(x),
            top + pad_top + plot_h + 15.0,
            short(x)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{x_label}</text>"#,
        left + pad_left + plot_w / 2.0,
        top + height - 8.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="12" text-anchor="middle">{y_label}</text>"#,
        left + 14.0,
        top + pad_top + plot_h / 2.0
    );
    for (index, one) in series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        let path: Vec<String> =
            one.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for &(x, y) in &one.points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                px(x),
                py(y)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{color}">{}</text>"#,
            left + pad_left + 8.0,
            top + pad_top + 14.0 + 14.0 * index as f64,
            one.name
        );
    }
}

fn short(value: f64) -> String {
    if value >= 10_000.0 {
        let k = value / 1000.0;
        if k >= 1000.0 {
            format!("{:.0}M", k / 1000.0)
        } else {
            format!("{k:.0}k")
        }
    } else if value >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn document(width: f64, height: f64, body: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
{body}</svg>
"#
    )
}

/// (file name, SVG) for every plot the data allows.
pub fn plots(report: &Report) -> Vec<(String, String)> {
    let mut plots = Vec::new();

    if !report.sweep.is_empty() {
        let mut body = String::new();
        let offered = |f: &dyn Fn(&LoadResult) -> f64| -> Vec<(f64, f64)> {
            report.sweep.iter().map(|p| (p.offered_fraction * 100.0, f(&p.result))).collect()
        };
        let capacity = report.capacity.as_ref().map_or(1.0, |c| c.throughput.max(1.0));
        line_chart(
            &mut body,
            (0.0, 0.0, 460.0, 340.0),
            "Throughput against offered load",
            "offered load, % of the measured capacity",
            "served, % of the measured capacity",
            &[
                Series {
                    name: "served".into(),
                    points: offered(&|r| 100.0 * r.throughput / capacity),
                },
                Series {
                    name: "offered".into(),
                    points: report
                        .sweep
                        .iter()
                        .map(|p| (p.offered_fraction * 100.0, p.offered_fraction * 100.0))
                        .collect(),
                },
            ],
            false,
        );
        line_chart(
            &mut body,
            (460.0, 0.0, 460.0, 340.0),
            "Latency against offered load",
            "offered load, % of the measured capacity",
            "latency, ms",
            &[
                Series { name: "p50".into(), points: offered(&|r| r.p50_ms) },
                Series { name: "p99".into(), points: offered(&|r| r.p99_ms) },
            ],
            false,
        );
        plots.push(("load.svg".to_owned(), document(920.0, 340.0, &body)));
    }
    if !report.measured.is_empty() {
        let mut body = String::new();
        let row_h = 22.0;
        let (label_w, bar_w) = (330.0, 420.0);
        let _ = writeln!(
            body,
            r#"<text x="10" y="20" font-size="14" font-weight="bold">Efficiency: RSA floor ÷ CPU per request (server + database on PostgreSQL)</text>"#
        );
        for (index, measured) in report.measured.iter().enumerate() {
            let y = 40.0 + row_h * index as f64;
            let cost = Cost::of(&measured.result);
            let share = cost.efficiency_with_db.unwrap_or(cost.efficiency);
            let color = if measured.store == "SQLite" { COLORS[1] } else { COLORS[2] };
            let _ = writeln!(
                body,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{} {}</text><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="11">{:.0} % ({:.0}/s)</text>"##,
                label_w - 8.0,
                y + 14.0,
                measured.store,
                measured.scenario.name(),
                label_w,
                (share.min(1.2) * bar_w).max(1.0),
                row_h - 6.0,
                label_w + share.min(1.2) * bar_w + 5.0,
                y + 14.0,
                share * 100.0,
                measured.result.throughput
            );
        }
        let bottom = 40.0 + row_h * report.measured.len() as f64;
        for (fraction, label) in [(0.55, "55 %"), (0.8, "80 %"), (0.92, "92 %"), (1.0, "100 %")] {
            let x = label_w + fraction * bar_w;
            let _ = writeln!(
                body,
                r##"<line x1="{x:.1}" y1="32" x2="{x:.1}" y2="{bottom:.1}" stroke="#555" stroke-dasharray="4 3"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{label}</text>"##,
                bottom + 14.0
            );
        }
        plots.push((
            "scenarios.svg".to_owned(),
            document(label_w + bar_w + 140.0, bottom + 24.0, &body),
        ));
    }
    if !report.growth.is_empty() {
        let mut body = String::new();
        let points = |f: &dyn Fn(&crate::GrowthPoint) -> f64| -> Vec<(f64, f64)> {
            report.growth.iter().map(|g| (g.operations as f64, f(g))).collect()
        };
        line_chart(
            &mut body,
            (0.0, 0.0, 460.0, 320.0),
            "Query latency against existing operations",
            "existing operations (log scale)",
            "ms (µs/1000 for the lookup)",
            &[
                Series { name: "HTTP query p50".into(), points: points(&|g| g.query.p50_ms) },
                Series { name: "HTTP query p99".into(), points: points(&|g| g.query.p99_ms) },
                Series {
                    name: "store lookup p50".into(),
                    points: points(&|g| g.store_query_p50_us / 1000.0),
                },
            ],
            true,
        );
        line_chart(
            &mut body,
            (460.0, 0.0, 460.0, 320.0),
            "Disburse throughput against existing operations",
            "existing operations (log scale)",
            "% of the signing ceiling",
            &[Series {
                name: "spread disburse".into(),
                points: points(&|g| 100.0 * ratio(report, &g.disburse)),
            }],
            true,
        );
        plots.push(("growth.svg".to_owned(), document(920.0, 320.0, &body)));
    }
    plots
}

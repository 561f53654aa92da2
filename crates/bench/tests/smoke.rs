//! The benchmark still works: `hongbao-bench --smoke` against the debug `hongbao` binary, about a
//! second per SQLite scenario, writing its report into a temporary folder (never the repository's
//! BENCHMARKS.md). It asserts zero errors and the report's sections, not any figure: benchmarks
//! are not tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // dev-only tool: a failed expectation aborts the run

use std::path::PathBuf;

/// `target/<profile>/hongbao`: the test binary lives in `target/<profile>/deps/`.
fn hongbao_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let candidate = profile_dir.join(format!("hongbao{}", std::env::consts::EXE_SUFFIX));
    candidate.exists().then_some(candidate)
}

#[test]
fn smoke_run_writes_a_report_with_zero_errors() {
    let Some(hongbao) = hongbao_binary() else {
        let message = "hongbao binary not built next to the tests (run `cargo build -p hongbao` or `cargo test --workspace`)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("BENCHMARKS.md");
    let plots = dir.path().join("plots");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_hongbao-bench"))
        .arg("--smoke")
        .arg("--hongbao")
        .arg(&hongbao)
        .arg("--out")
        .arg(&out)
        .arg("--plots")
        .arg(&plots)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--claimers")
        .arg("200")
        .status()
        .expect("hongbao-bench runs");
    assert!(status.success(), "hongbao-bench --smoke failed: {status}");
    let report = std::fs::read_to_string(&out).expect("report written");
    for section in [
        "## Machine",
        "## Ceiling",
        "## Scenarios",
        "### SQLite",
        "## Latency against load",
        "## Targets",
    ] {
        assert!(report.contains(section), "report lacks {section}:\n{report}");
    }
    for scenario in
        ["operation.query by Alipay ids", "agreement.pay", "one hot packet", "mixed red-packet day"]
    {
        assert!(report.contains(scenario), "report lacks {scenario}");
    }
    // The CPU measures beside the throughput ratios, and targets checked from them.
    for column in ["RSA floor per request", "server CPU µs/req", "| efficiency |", "| idle |"] {
        assert!(report.contains(column), "report lacks {column}");
    }
    assert!(report.contains("efficiency ≥ 92 %"), "report lacks the efficiency targets");
    assert!(report.contains("measured capacity"), "the sweep is against the capacity");
    assert!(
        report.contains("| PASS | zero errors in every run | 0 errors |"),
        "errors in the smoke run:\n{report}"
    );
    assert!(plots.join("load.svg").exists() && plots.join("scenarios.svg").exists());
}

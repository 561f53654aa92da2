//! What the SDK switches on in its users' dependency trees: only what it needs. No tokio
//! runtime, macros, signals, processes or files (the user brings the runtime), no serde_json
//! `preserve_order` (a global change of `serde_json::Map` for the whole program) and no HTTP
//! crate in its public API (see src/transport.rs).
//!
//! Method: `cargo tree -p hongbao-client -e normal,features` (what a user building against the
//! crate gets, dev-dependencies left out), read for tokio's and serde_json's features. tokio's
//! `net` and `io-util` are there because reqwest's HTTP and TLS stack needs them, not by this
//! crate's declaration (it asks tokio for `time` only).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use std::collections::BTreeSet;
use std::process::Command;

/// The features of `krate` in the user-facing feature tree.
fn features_of(tree: &str, krate: &str) -> BTreeSet<String> {
    let marker = format!("{krate} feature \"");
    tree.lines()
        .filter_map(|line| line.split_once(&marker).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_sdk_turns_on_no_runtime_and_no_preserve_order_for_its_users() {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "-p", "hongbao-client", "-e", "normal,features", "--offline"])
        .args(["--prefix", "none", "--color", "never"])
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8(output.stdout).expect("utf-8");

    let tokio = features_of(&tree, "tokio");
    assert!(tokio.contains("time"), "{tokio:?}");
    for unwanted in ["rt-multi-thread", "macros", "signal", "process", "fs", "io-std", "full"] {
        assert!(!tokio.contains(unwanted), "tokio/{unwanted} is on for SDK users: {tokio:?}");
    }
    let serde_json = features_of(&tree, "serde_json");
    assert!(serde_json.contains("raw_value"), "{serde_json:?}");
    for unwanted in ["preserve_order", "arbitrary_precision"] {
        assert!(!serde_json.contains(unwanted), "serde_json/{unwanted} is on: {serde_json:?}");
    }
    // The dev-only test harness (the gateway, SQLite) is not what users get.
    for server_crate in ["hongbao-gateway", "hongbao-store", "rusqlite", "axum"] {
        assert!(
            !tree.lines().any(|line| line.starts_with(&format!("{server_crate} "))),
            "{server_crate} is in the SDK's tree"
        );
    }
}

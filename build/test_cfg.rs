// Included by the build scripts of the crates whose tests need PostgreSQL, a browser or the
// official SDKs: it sets `hongbao_no_pg`, `hongbao_no_browser` and `hongbao_no_interop` when
// the tool is missing here (and CI is not `true`), so that such a test is compiled
// `#[ignore = "SKIPPED: …"]` and `cargo test` counts it as ignored instead of passed. Under
// `CI=true` none is set: the tests run and fail without their tools, as CI must.

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn set_test_cfgs() {
    for var in ["CI", "HONGBAO_TEST_PG", "PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    for cfg in ["hongbao_no_pg", "hongbao_no_browser", "hongbao_no_interop"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        return;
    }
    if std::env::var("HONGBAO_TEST_PG").map_or(true, |url| url.is_empty()) {
        println!("cargo:rustc-cfg=hongbao_no_pg");
    }
    if !on_path("chromium") || !on_path("chromedriver") || !on_path("python3") {
        println!("cargo:rustc-cfg=hongbao_no_browser");
    }
    if !on_path("node") || !on_path("python3") {
        println!("cargo:rustc-cfg=hongbao_no_interop");
    }
}

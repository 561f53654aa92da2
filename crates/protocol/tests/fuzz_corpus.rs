//! Replays the fuzz corpus (fuzz/corpus/<target>/*) through the fuzz targets' bodies
//! (fuzz/targets.rs), so CI checks every input the fuzzers kept, including every crash they
//! ever found, without a fuzzer. Running the fuzzers themselves: docs/fuzzing.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

#[path = "../../../fuzz/targets.rs"]
mod targets;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read");
        run(&data);
        count += 1;
    }
    count
}

#[test]
fn form_corpus() {
    assert!(replay("form", targets::form) > 0);
}

#[test]
fn sign_content_corpus() {
    assert!(replay("sign_content", targets::sign_content) > 0);
}

#[test]
fn amount_corpus() {
    assert!(replay("amount", targets::amount) > 0);
}

#[test]
fn biz_content_corpus() {
    assert!(replay("biz_content", targets::biz_content) > 0);
}

#[test]
fn encrypted_biz_content_corpus() {
    assert!(replay("encrypted_biz_content", targets::encrypted_biz_content) > 0);
}

//! cargo fuzz target `encrypted_biz_content`: its body and property are in fuzz/targets.rs.
#![no_main]

#[allow(dead_code)]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::encrypted_biz_content(data));

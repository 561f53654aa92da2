//! Marks the tests whose tools are missing here as ignored ("SKIPPED"), not passed: see
//! build/test_cfg.rs.

include!("../../build/test_cfg.rs");

fn main() {
    set_test_cfgs();
}

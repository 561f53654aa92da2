//! The physical limit: RSA-2048 signatures (and verifications) per second on every core, with
//! the crate the server signs with (`hongbao-sign`, openssl), over an answer-sized message; and
//! the RSA floor of one request in CPU time (`floor_us`).

use hongbao_sign::{PrivateKey, SignType};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A typical signed node: what the server signs for a disburse answer.
const ANSWER_NODE: &[u8] = br#"{"code":"10000","msg":"Success","auth_no":"2026111810020000000000000001","out_order_no":"bench-D123456","operation_id":"20261118100200000000000000000001","out_request_no":"1","amount":"0.01","status":"SUCCESS","gmt_trans":"2026-11-18 12:00:00"}"#;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ceiling {
    pub threads: usize,
    pub signs_per_s: f64,
    pub verifies_per_s: f64,
    /// The RSA floor of one request, µs of thread CPU time (`floor_us`).
    pub floor_us: f64,
}

impl Ceiling {
    /// Requests a second if the cores did nothing but the server's RSA work for each: one
    /// verification of the request and one signature of the answer.
    pub fn sign_and_verify_per_s(&self) -> f64 {
        1.0 / (1.0 / self.signs_per_s + 1.0 / self.verifies_per_s)
    }
}

/// Runs `op` on `threads` threads for `window`; operations a second.
fn rate(threads: usize, window: Duration, op: &(dyn Fn() + Sync)) -> f64 {
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = 0;
                while !stop.load(Ordering::Relaxed) {
                    op();
                    local += 1;
                }
                count.fetch_add(local, Ordering::Relaxed);
            });
        }
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
    });
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

pub fn measure(key: &PrivateKey, window: Duration) -> anyhow::Result<Ceiling> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let public = key.public_key()?;
    let sign = key.sign(SignType::Rsa2, ANSWER_NODE)?;
    let signs_per_s = rate(threads, window, &|| {
        let _ = key.sign(SignType::Rsa2, ANSWER_NODE);
    });
    let verifies_per_s = rate(threads, window / 2, &|| {
        let _ = public.verify(SignType::Rsa2, ANSWER_NODE, &sign);
    });
    let floor_us = floor_us(key)?;
    Ok(Ceiling { threads, signs_per_s, verifies_per_s, floor_us })
}

/// Iterations of one floor sample: about 70 ms of CPU.
const FLOOR_ITERATIONS: u32 = 200;

/// The RSA floor of one request: the thread CPU time (not wall time, which the virtual machine's
/// steal inflates) of one signature of an answer-sized node and one verification of a
/// signature, in microseconds, averaged over `FLOOR_ITERATIONS` on a thread of its own.
pub fn floor_us(key: &PrivateKey) -> anyhow::Result<f64> {
    let public = key.public_key()?;
    let sign = key.sign(SignType::Rsa2, ANSWER_NODE)?;
    let key = key.clone();
    let worker = std::thread::spawn(move || {
        // One warm-up round: the first signature sets up openssl's key state.
        let _ = key.sign(SignType::Rsa2, ANSWER_NODE);
        let started = crate::cpu::thread_s();
        for _ in 0..FLOOR_ITERATIONS {
            let _ = key.sign(SignType::Rsa2, ANSWER_NODE);
            let _ = public.verify(SignType::Rsa2, ANSWER_NODE, &sign);
        }
        (crate::cpu::thread_s() - started) * 1e6 / f64::from(FLOOR_ITERATIONS)
    });
    worker.join().map_err(|_| anyhow::anyhow!("the floor thread panicked"))
}

//! Time. `SystemClock` is the only reader of the OS clock; tests use `ManualClock`.
//!
//! Business time (`gmt_*`, deadlines) comes from the injected `Clock`. The request `timestamp`
//! window is checked against the real wall clock (`wall_now_utc`): it is about the client's
//! clock, not the ledger's.

use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in milliseconds.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Moves this clock forward (the sandbox clock control); false for clocks that cannot move.
    fn advance_ms(&self, _ms: i64) -> bool {
        false
    }
}

/// The OS clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The OS clock plus an offset that the sandbox clock control moves forward, so a merchant's
/// test suite can expire packets in seconds. Without the control enabled the offset stays 0.
#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_ms: AtomicI64,
}

impl Clock for SandboxClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }

    fn advance_ms(&self, ms: i64) -> bool {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        true
    }
}

/// The real UTC wall-clock time, for the request timestamp window.
pub fn wall_now_utc() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The real wall clock in Unix milliseconds, for what is not business time (the request log's
/// retention: moving the sandbox clock ages no log row).
pub fn wall_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at `now_ms`.
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now_ms))
    }

    /// Moves forward by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Now, without importing the `Clock` trait.
    pub fn now_ms_for_tests(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance_ms(&self, ms: i64) -> bool {
        ManualClock::advance_ms(self, ms);
        true
    }
}

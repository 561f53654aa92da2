//! Bounded retries of ambiguous outcomes, with the identical request.
//!
//! A timeout, a dropped connection, `20000` (unknown error), `10003` (processing) or a
//! `SYSTEM_ERROR` sub_code leaves the outcome unknown: the packet may or may not have been
//! funded, the money may or may not have moved. Alipay's rule (spec §2.8) is to resend **the
//! identical request**: its idempotency keys (`out_order_no`, `out_request_no`) make a replay
//! return the first outcome, while a new `out_request_no` would pay twice. So the client signs a
//! request once and resends those exact bytes (same ids, same timestamp, same signature), at
//! most `attempts_max` times in all. The pauses grow exponentially, `backoff_first` doubling up
//! to `backoff_max`, with "equal jitter" (a random pause between half of that and all of it), so
//! that many clients failing at once do not come back in step. What is still unknown after the
//! last attempt is returned as the last error (`Error::outcome_unknown()` is true): resend it
//! later with the same ids, or query it.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bound on `attempts_max`: more than this turns a retry loop into load on a struggling
/// gateway.
///
/// ```
/// use hongbao_client::{RetryPolicy, ATTEMPTS_MAX_LIMIT};
/// use std::time::Duration;
/// let eager = RetryPolicy::new(100, Duration::from_millis(10), Duration::from_secs(1));
/// assert_eq!(eager.attempts_max(), ATTEMPTS_MAX_LIMIT);
/// ```
pub const ATTEMPTS_MAX_LIMIT: u32 = 10;

/// How often and how patiently a call is retried.
///
/// ```
/// use hongbao_client::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::new(4, Duration::from_millis(100), Duration::from_millis(250));
/// assert_eq!(policy.attempts_max(), 4);
/// assert_eq!(policy.backoff_after(1), Duration::from_millis(100));
/// assert_eq!(policy.backoff_after(2), Duration::from_millis(200));
/// assert_eq!(policy.backoff_after(3), Duration::from_millis(250));
/// // The pause actually taken is jittered within [half, all] of the backoff.
/// let pause = policy.pause_after(2);
/// assert!(pause >= Duration::from_millis(100) && pause <= Duration::from_millis(200));
/// assert_eq!(RetryPolicy::none().attempts_max(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts_max: u32,
    backoff_first: Duration,
    backoff_max: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, about 200 ms then 400 ms apart (2 s cap), jittered.
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.attempts_max(), 3);
    /// assert_eq!(policy.backoff_after(2), Duration::from_millis(400));
    /// ```
    fn default() -> Self {
        RetryPolicy::new(3, Duration::from_millis(200), Duration::from_secs(2))
    }
}

impl RetryPolicy {
    /// `attempts_max` attempts in all (clamped to 1 ..= [`ATTEMPTS_MAX_LIMIT`]), the first
    /// pause `backoff_first`, each next one doubled, none longer than `backoff_max`.
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(0, Duration::from_millis(50), Duration::from_millis(10));
    /// assert_eq!(policy.attempts_max(), 1); // at least one attempt
    /// assert_eq!(policy.backoff_after(1), Duration::from_millis(50)); // cap raised to the first pause
    /// ```
    pub fn new(attempts_max: u32, backoff_first: Duration, backoff_max: Duration) -> Self {
        RetryPolicy {
            attempts_max: attempts_max.clamp(1, ATTEMPTS_MAX_LIMIT),
            backoff_first,
            backoff_max: backoff_max.max(backoff_first),
            jitter: true,
        }
    }

    /// The same policy, pausing exactly [`backoff_after`](RetryPolicy::backoff_after) (for
    /// tests and single clients).
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(3, Duration::from_millis(100), Duration::from_secs(1)).without_jitter();
    /// assert_eq!(policy.pause_after(2), Duration::from_millis(200));
    /// assert!(!policy.jitter());
    /// ```
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Whether pauses are jittered (the default).
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// assert!(RetryPolicy::default().jitter());
    /// ```
    pub fn jitter(&self) -> bool {
        self.jitter
    }

    /// One attempt, no retry.
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// assert_eq!(RetryPolicy::none().attempts_max(), 1);
    /// assert_eq!(RetryPolicy::none().backoff_after(1), std::time::Duration::ZERO);
    /// ```
    pub fn none() -> Self {
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// Attempts in all.
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_secs(1));
    /// assert_eq!(policy.attempts_max(), 5);
    /// ```
    pub fn attempts_max(&self) -> u32 {
        self.attempts_max
    }

    /// The pause after failed attempt number `attempt` (1-based).
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_secs(1));
    /// let pauses: Vec<u128> = (1..=5).map(|n| policy.backoff_after(n).as_millis()).collect();
    /// assert_eq!(pauses, [100, 200, 400, 800, 1000]);
    /// ```
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.backoff_first.saturating_mul(1 << doublings).min(self.backoff_max)
    }

    /// The pause the client takes after failed attempt number `attempt` (1-based): with jitter,
    /// a random duration in `[backoff / 2, backoff]`; without, the backoff itself.
    ///
    /// ```
    /// use hongbao_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_secs(1));
    /// for attempt in 1..=6 {
    ///     let (pause, backoff) = (policy.pause_after(attempt), policy.backoff_after(attempt));
    ///     assert!(pause >= backoff / 2 && pause <= backoff, "{pause:?} {backoff:?}");
    /// }
    /// ```
    pub fn pause_after(&self, attempt: u32) -> Duration {
        let backoff = self.backoff_after(attempt);
        if !self.jitter {
            return backoff;
        }
        let half = backoff / 2;
        let spread = u64::try_from((backoff - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random_u64() % spread.saturating_add(1))
    }
}

/// A random number for jitter. The standard library's `RandomState` is seeded from the OS once
/// and varies per instance; hashing a counter with it is random enough to spread retries, and
/// needs no dependency (this is not cryptography).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_pauses_stay_in_bounds_and_vary() {
        let policy = RetryPolicy::new(5, Duration::from_millis(400), Duration::from_secs(2));
        let pauses: Vec<Duration> = (0..64).map(|_| policy.pause_after(1)).collect();
        assert!(pauses
            .iter()
            .all(|p| *p >= Duration::from_millis(200) && *p <= Duration::from_millis(400)));
        let first = pauses[0];
        assert!(pauses.iter().any(|p| *p != first), "64 pauses all equal: no jitter");
        assert_eq!(RetryPolicy::none().pause_after(1), Duration::ZERO);
    }
}

//! Bounded retries of ambiguous outcomes, with the identical request.
//!
//! A timeout, a dropped connection, `20000` (unknown error), `10003` (processing) or a
//! `SYSTEM_ERROR` sub_code leaves the outcome unknown: the packet may or may not have been
//! funded, the money may or may not have moved. Alipay's rule (spec §2.8) is to resend **the
//! identical request**: its idempotency keys (`out_order_no`, `out_request_no`) make a replay
//! return the first outcome, while a new `out_request_no` would pay twice. So the client signs a
//! request once and resends those exact bytes (same ids, same timestamp, same signature), at
//! most `attempts_max` times in all, sleeping `backoff_first`, then doubling up to
//! `backoff_max`, between attempts. What is still unknown after the last attempt is returned
//! as the last error (`Error::outcome_unknown()` is true): resend it later with the same ids,
//! or query it.

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
/// assert_eq!(RetryPolicy::none().attempts_max(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts_max: u32,
    backoff_first: Duration,
    backoff_max: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms then 400 ms apart (2 s cap).
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
        }
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
}

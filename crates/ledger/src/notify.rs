//! Notifications as the ledger sees them: which state change is reported, to whom and how, and
//! what one delivery attempt does to an outbox row (Alipay's retry schedule).
//!
//! The gateway delivers (HTTP, signing); the store persists the outbox row; the rules between
//! them — when to try again, when to give up, who may ask for a resend — are decided here once.

/// Which state change a notification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyEvent {
    /// A packet's PAY went SUCCESS.
    PaySuccess,
    /// A disburse paid a user.
    DisburseSuccess,
    /// A refund (by the merchant or on expiry) returned money to the payer.
    RefundSuccess,
    /// An unpaid packet closed (pay_timeout passed).
    PayClosed,
}

impl NotifyEvent {
    const ALL: [NotifyEvent; 4] = [
        NotifyEvent::PaySuccess,
        NotifyEvent::DisburseSuccess,
        NotifyEvent::RefundSuccess,
        NotifyEvent::PayClosed,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::PaySuccess => "PAY_SUCCESS",
            NotifyEvent::DisburseSuccess => "DISBURSE_SUCCESS",
            NotifyEvent::RefundSuccess => "REFUND_SUCCESS",
            NotifyEvent::PayClosed => "PAY_CLOSED",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<NotifyEvent> {
        NotifyEvent::ALL.into_iter().find(|event| event.as_str() == text)
    }
}

/// The charset a notification is encoded and signed in: the originating call's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyCharset {
    /// `utf-8`.
    Utf8,
    /// `GBK`.
    Gbk,
    /// `GB2312`.
    Gb2312,
}

impl NotifyCharset {
    /// Stored and wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyCharset::Utf8 => "utf-8",
            NotifyCharset::Gbk => "GBK",
            NotifyCharset::Gb2312 => "GB2312",
        }
    }

    /// Parses a stored label (case-insensitive, as the gateway accepts them).
    pub fn parse(text: &str) -> Option<NotifyCharset> {
        [NotifyCharset::Utf8, NotifyCharset::Gbk, NotifyCharset::Gb2312]
            .into_iter()
            .find(|charset| charset.as_str().eq_ignore_ascii_case(text))
    }
}

/// The algorithm a notification is signed with: the originating call's sign_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifySignType {
    /// `RSA2` (SHA256withRSA).
    Rsa2,
    /// `RSA` (SHA1withRSA).
    Rsa,
}

impl NotifySignType {
    /// Stored and wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifySignType::Rsa2 => "RSA2",
            NotifySignType::Rsa => "RSA",
        }
    }

    /// Parses a stored label.
    pub fn parse(text: &str) -> Option<NotifySignType> {
        match text {
            "RSA2" => Some(NotifySignType::Rsa2),
            "RSA" => Some(NotifySignType::Rsa),
            _ => None,
        }
    }
}

/// How a call was made: its charset and sign_type. Kept with every payer-side order, because
/// what is signed for the merchant later (page.pay's return parameters, the wallet's app.pay
/// result, notifications) is signed that way, whatever the payer's page sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallFormat {
    /// The call's charset.
    pub charset: NotifyCharset,
    /// The call's sign_type.
    pub sign_type: NotifySignType,
}

impl Default for CallFormat {
    /// The SDKs' defaults (and what rows stored without a format were made with).
    fn default() -> CallFormat {
        CallFormat { charset: NotifyCharset::Utf8, sign_type: NotifySignType::Rsa2 }
    }
}

impl NotifyTarget {
    /// The format of the call this target was given by.
    pub fn call(&self) -> CallFormat {
        CallFormat { charset: self.charset, sign_type: self.sign_type }
    }
}

/// Where and how to notify the merchant: the call's `notify_url`, and the charset and sign_type
/// of the call (a notify is signed and encoded the way the originating request was).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyTarget {
    /// `notify_url` (http or https, at most 256 characters; checked by the gateway).
    pub url: String,
    /// The call's charset.
    pub charset: NotifyCharset,
    /// The call's sign_type.
    pub sign_type: NotifySignType,
}

/// Where an outbox row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyStatus {
    /// Waiting for its next attempt (or being attempted under a lease).
    Pending,
    /// The merchant answered `success`.
    Delivered,
    /// Every attempt of the schedule failed; only a resend tries again.
    Failed,
}

impl NotifyStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyStatus::Pending => "PENDING",
            NotifyStatus::Delivered => "DELIVERED",
            NotifyStatus::Failed => "FAILED",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<NotifyStatus> {
        [NotifyStatus::Pending, NotifyStatus::Delivered, NotifyStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Alipay's schedule (spec §3.6): the delays before the 2nd … 8th attempt.
pub const RETRY_SCHEDULE_MS: [i64; 7] = [
    4 * MINUTE_MS,
    10 * MINUTE_MS,
    10 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    6 * HOUR_MS,
    15 * HOUR_MS,
];
/// Attempts of one round before a notification is given up (FAILED).
pub const NOTIFY_ATTEMPTS_MAX: u32 = RETRY_SCHEDULE_MS.len() as u32 + 1;

/// When the attempt after `attempts_made` failed ones is due, or `None` to give up.
pub fn next_attempt_at(now_ms: i64, attempts_made: u32) -> Option<i64> {
    let index = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
    RETRY_SCHEDULE_MS.get(index).and_then(|delay| now_ms.checked_add(*delay))
}

/// What one delivery attempt observed (the gateway's part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyAttempt {
    /// When it was made.
    pub at_ms: i64,
    /// True when the merchant answered HTTP 200 with exactly `success`.
    pub delivered: bool,
    /// The HTTP status, when one came back.
    pub http_status: Option<u16>,
    /// Why it failed (or the first bytes of a wrong answer).
    pub error: Option<String>,
    /// The first bytes of the merchant's answer, when one came back.
    pub answer: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: Option<i64>,
}

/// An outbox row as a decision needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxState {
    /// Where it is.
    pub status: NotifyStatus,
    /// Attempts made in the current round.
    pub attempts: u32,
}

/// The row after an attempt: what the store writes (with the attempt itself as history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxChange {
    /// The state it was decided on (the store's guard).
    pub before: OutboxState,
    /// The state after.
    pub after: OutboxState,
    /// When to try again (PENDING only).
    pub next_attempt_at_ms: Option<i64>,
    /// When it was delivered (DELIVERED only).
    pub delivered_at_ms: Option<i64>,
    /// The failure to remember, if this attempt failed.
    pub last_error: Option<String>,
}

/// What an attempt does to its row: delivered, due again on Alipay's schedule, or given up after
/// the last attempt. `None`: the row is no longer PENDING (delivered by another worker, or
/// resent meanwhile and attempted again), so this late result changes nothing.
pub fn decide_attempt(row: OutboxState, attempt: &NotifyAttempt) -> Option<OutboxChange> {
    if row.status != NotifyStatus::Pending {
        return None;
    }
    let attempts = row.attempts.saturating_add(1);
    let (status, next_attempt_at_ms) = if attempt.delivered {
        (NotifyStatus::Delivered, None)
    } else {
        match next_attempt_at(attempt.at_ms, attempts) {
            Some(next) => (NotifyStatus::Pending, Some(next)),
            None => (NotifyStatus::Failed, None),
        }
    };
    Some(OutboxChange {
        before: row,
        after: OutboxState { status, attempts },
        next_attempt_at_ms,
        delivered_at_ms: attempt.delivered.then_some(attempt.at_ms),
        last_error: attempt.error.clone(),
    })
}

/// A resend: the row starts a new round at once (same notify_id, so the merchant can
/// de-duplicate). `owner_app_id` is the row's app; a merchant (`asking_app_id`) may resend only
/// its own notifications, the operator (`None`) any.
pub fn decide_resend(
    row: OutboxState,
    owner_app_id: &str,
    asking_app_id: Option<&str>,
    now_ms: i64,
) -> Option<OutboxChange> {
    if asking_app_id.is_some_and(|app_id| app_id != owner_app_id) {
        return None;
    }
    Some(OutboxChange {
        before: row,
        after: OutboxState { status: NotifyStatus::Pending, attempts: 0 },
        next_attempt_at_ms: Some(now_ms),
        delivered_at_ms: None,
        last_error: None,
    })
}

/// How many due notifications a worker takes now and how they are shared among apps, so that
/// one app's dead endpoint costs the others nothing: the stores offer the due rows round robin
/// over the apps (each app's oldest first, at most `per_app_max` of each: SQL's
/// `ROW_NUMBER() OVER (PARTITION BY app_id …)`), and `pick` takes them in that order, skipping
/// an app's rows beyond what its deliveries in flight leave of `per_app_max`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimShare {
    /// Most rows taken by this claim (the worker's free delivery places).
    pub limit: u32,
    /// Most deliveries of one app at once, those in flight included.
    pub per_app_max: u32,
    /// The worker's deliveries in flight, by app.
    pub in_flight: Vec<(String, u32)>,
}

impl ClaimShare {
    /// A claim of `limit` rows with no app bound (one app may take them all).
    pub fn all(limit: u32) -> ClaimShare {
        ClaimShare { limit, per_app_max: limit, in_flight: Vec::new() }
    }

    /// Most candidate rows a store offers: enough that `limit` survive the rows `pick` skips
    /// for apps with deliveries in flight (at most their count each).
    pub fn candidates_max(&self) -> u32 {
        self.in_flight.iter().fold(self.limit, |total, (_, count)| total.saturating_add(*count))
    }

    /// Which candidates (`app_id` of each, in the stores' round-robin order) to claim: their
    /// indexes, at most `limit`, none of an app beyond `per_app_max` with its in-flight ones.
    pub fn pick<'a>(&self, candidates: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        let mut taken: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let mut picked = Vec::new();
        for (index, app_id) in candidates.into_iter().enumerate() {
            if picked.len() >= self.limit as usize {
                break;
            }
            let busy =
                self.in_flight.iter().find(|(app, _)| app == app_id).map_or(0, |(_, count)| *count);
            let count = taken.entry(app_id).or_insert(0);
            if busy.saturating_add(*count) < self.per_app_max {
                *count += 1;
                picked.push(index);
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_app_leaves_the_claim_to_the_others() {
        let share = ClaimShare {
            limit: 4,
            per_app_max: 2,
            in_flight: vec![("A".into(), 2), ("B".into(), 1)],
        };
        // Round robin as the stores offer it: A1 B1 C1 A2 B2 C2 C3.
        let offered = ["A", "B", "C", "A", "B", "C", "C"];
        let picked: Vec<&str> = share.pick(offered).into_iter().map(|i| offered[i]).collect();
        assert_eq!(picked, ["B", "C", "C"], "A is full, B has one place, C two");
        assert_eq!(share.candidates_max(), 7);
        let all = ClaimShare::all(3);
        assert_eq!(all.pick(["A", "A", "A", "A"]), [0, 1, 2]);
    }

    fn failed_at(at_ms: i64) -> NotifyAttempt {
        NotifyAttempt {
            at_ms,
            delivered: false,
            http_status: Some(500),
            error: Some("500".into()),
            answer: None,
            latency_ms: None,
        }
    }

    #[test]
    fn failures_follow_alipays_schedule_then_give_up() {
        let mut row = OutboxState { status: NotifyStatus::Pending, attempts: 0 };
        let mut now = 0;
        for delay in RETRY_SCHEDULE_MS {
            let change = decide_attempt(row, &failed_at(now)).expect("pending row");
            assert_eq!(change.after.status, NotifyStatus::Pending);
            assert_eq!(change.next_attempt_at_ms, Some(now + delay));
            row = change.after;
            now += delay;
        }
        let last = decide_attempt(row, &failed_at(now)).expect("pending row");
        assert_eq!(last.after, OutboxState { status: NotifyStatus::Failed, attempts: 8 });
        assert_eq!(last.next_attempt_at_ms, None);
        assert_eq!(NOTIFY_ATTEMPTS_MAX, 8);
    }

    #[test]
    fn a_delivery_ends_the_round_and_late_results_change_nothing() {
        let row = OutboxState { status: NotifyStatus::Pending, attempts: 3 };
        let attempt = NotifyAttempt {
            at_ms: 9,
            delivered: true,
            http_status: Some(200),
            error: None,
            answer: Some("success".into()),
            latency_ms: Some(3),
        };
        let change = decide_attempt(row, &attempt).expect("pending row");
        assert_eq!(change.after, OutboxState { status: NotifyStatus::Delivered, attempts: 4 });
        assert_eq!(change.delivered_at_ms, Some(9));
        assert_eq!(decide_attempt(change.after, &failed_at(10)), None);
    }

    #[test]
    fn a_merchant_resends_only_its_own_notifications() {
        let row = OutboxState { status: NotifyStatus::Failed, attempts: 8 };
        assert_eq!(decide_resend(row, "appA", Some("appB"), 5), None);
        let change = decide_resend(row, "appA", Some("appA"), 5).expect("own row");
        assert_eq!(change.after, OutboxState { status: NotifyStatus::Pending, attempts: 0 });
        assert_eq!(change.next_attempt_at_ms, Some(5));
        assert!(decide_resend(row, "appA", None, 5).is_some(), "the operator resends any");
        for label in ["utf-8", "UTF-8", "GBK", "gb2312"] {
            assert!(NotifyCharset::parse(label).is_some(), "{label}");
        }
        assert_eq!(NotifyEvent::parse("PAY_CLOSED"), Some(NotifyEvent::PayClosed));
    }
}

//! The notify outbox as the store sees it: rows to deliver, attempts to record, lists to show.
//! When and how to deliver is the gateway's business (`gateway::notify`); what an attempt does
//! to a row is the ledger's (`hongbao_ledger::notify`).

use hongbao_ledger::{
    CallFormat, FundMethod, NotifyEvent, NotifyStatus, NotifyTarget, OperationView, PacketStatus,
};

/// A notification due for delivery, claimed for a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingNotify {
    /// Stable across retries and resends, so the merchant can de-duplicate.
    pub notify_id: String,
    /// The app whose call it reports.
    pub app_id: String,
    /// Which state change.
    pub event: NotifyEvent,
    /// URL, charset and sign_type of the originating call.
    pub target: NotifyTarget,
    /// When the state change committed (the `notify_time`).
    pub created_at_ms: i64,
    /// Attempts already made in this round.
    pub attempts: u32,
    /// The operation, as a query would show it now.
    pub view: OperationView,
}

/// One recorded delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// When it was made.
    pub at_ms: i64,
    /// True when the merchant answered HTTP 200 with exactly `success`.
    pub delivered: bool,
    /// The HTTP status, when one came back.
    pub http_status: Option<u16>,
    /// Why it failed.
    pub error: Option<String>,
    /// The first bytes of the merchant's answer (attempts recorded since schema 6).
    pub answer: Option<String>,
    /// How long it took, in milliseconds (attempts recorded since schema 6).
    pub latency_ms: Option<i64>,
}

/// A notification with its history, for operators and merchants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyRecord {
    /// Id.
    pub notify_id: String,
    /// App.
    pub app_id: String,
    /// The operation it reports.
    pub operation_id: String,
    /// Which state change.
    pub event: NotifyEvent,
    /// Target URL.
    pub notify_url: String,
    /// PENDING, DELIVERED or FAILED.
    pub status: NotifyStatus,
    /// Attempts in the current round.
    pub attempts: u32,
    /// When the next attempt is due (PENDING only).
    pub next_attempt_at_ms: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the state change committed.
    pub created_at_ms: i64,
    /// When it was delivered.
    pub delivered_at_ms: Option<i64>,
    /// Every attempt so far, oldest first.
    pub history: Vec<AttemptRecord>,
}

/// Which notifications to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyFilter {
    /// Only this app's.
    pub app_id: Option<String>,
    /// Only this status.
    pub status: Option<NotifyStatus>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// An order as the cashier page and the wallet show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentOrder {
    /// The app that created it.
    pub app_id: String,
    /// How it is funded.
    pub fund_method: FundMethod,
    /// Lifecycle state.
    pub status: PacketStatus,
    /// When an unpaid order closes.
    pub pay_deadline_ms: Option<i64>,
    /// page.pay's return_url.
    pub return_url: Option<String>,
    /// The charset and sign_type of the call that created it: what its return parameters and
    /// wallet result are signed with.
    pub call: CallFormat,
    /// Its PAY operation.
    pub view: OperationView,
}

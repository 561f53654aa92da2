//! The storage port of the ledger and its two implementations: SQLite (embedded, one process)
//! and PostgreSQL (many stateless gateway processes on one database), chosen by `open`.
//!
//! Every command (fund, disburse, refund) runs in one database transaction that holds its
//! idempotency row, its postings, the packet's counters and (later) its notify outbox row, so it
//! commits whole or not at all. The database enforces the money rules on its own as well: unique
//! keys serialize duplicates, `CHECK` constraints keep balances non-negative and packets from
//! paying out more than they hold, guarded `UPDATE … WHERE` statements refuse what the ledger
//! refused, and triggers keep journal entries immutable.
//!
//! Only this crate knows SQL. It never knows HTTP or the Alipay wire format.

mod batch;
mod ids;
pub mod notify;
pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use hongbao_ledger::{
    Bug, CompletePayment, DisburseCommand, FiredDeadline, FundCommand, LedgerSnapshot,
    OperationQuery, OperationView, Outcome, RefundCommand, Rejection,
};
use hongbao_money::Fen;
use std::sync::Arc;

pub use ids::{auth_no, operation_id, route_digits};
pub use notify::{NotifyAttempt, NotifyFilter, NotifyRecord, PaymentOrder, PendingNotify};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// An operating error of the store. Every variant is retry-safe: nothing was committed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or written (busy, disk full, I/O error, closed).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row does not decode (schema drift or corruption).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A broken invariant; the transaction was rolled back.
    #[error(transparent)]
    Bug(#[from] Bug),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        StoreError::Unavailable(err.to_string())
    }
}

/// Opens the store a database URL names, chosen at start-up: `sqlite://PATH` (the embedded
/// default, one process) or `postgres://…` / `postgresql://…` (any number of processes on one
/// database). Either runs its migrations before returning.
pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(StoreError::Unavailable("sqlite:// needs a file path".into()));
        }
        return Ok(Arc::new(SqliteStore::open(std::path::Path::new(path))?));
    }
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(database_url).await?));
    }
    Err(StoreError::Unavailable(format!(
        "database URL must start with sqlite:// or postgres://, not {:?}",
        database_url.split("://").next().unwrap_or("")
    )))
}

/// A sandbox user: an account with a logon id and a password for the cashier page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxUser {
    /// `2088…` id.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Cashier password (sandbox only).
    pub password: String,
    /// Opening balance, issued once when the user is first created.
    pub opening_balance: Fen,
}

/// The store interface the gateway uses. One implementation per database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates (and for agreement.pay, funds) a packet.
    async fn fund(&self, cmd: FundCommand) -> Result<Outcome, StoreError>;
    /// Pays part of a packet to a user.
    async fn disburse(&self, cmd: DisburseCommand) -> Result<Outcome, StoreError>;
    /// Returns part of a packet's remainder to its payer.
    async fn refund(&self, cmd: RefundCommand) -> Result<Outcome, StoreError>;
    /// Looks up one operation.
    async fn query(
        &self,
        query: OperationQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError>;
    /// Creates the user with its opening balance unless it exists; true when created.
    async fn ensure_user(&self, user: SandboxUser, now_ms: i64) -> Result<bool, StoreError>;
    /// A user's balance, `None` for unknown users.
    async fn balance(&self, user_id: &str) -> Result<Option<Fen>, StoreError>;
    /// Everything the money invariants look at.
    async fn snapshot(&self) -> Result<LedgerSnapshot, StoreError>;
    /// Claims up to `limit` due notifications for `lease_ms` (see `notify`).
    async fn claim_due_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<PendingNotify>, StoreError>;
    /// Records a delivery attempt.
    async fn record_notify_attempt(
        &self,
        notify_id: &str,
        attempt: NotifyAttempt,
    ) -> Result<(), StoreError>;
    /// Queues a notification again, same notify_id; `app_id` limits it to that app's.
    async fn resend_notification(
        &self,
        notify_id: &str,
        app_id: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Lists notifications with their attempts, newest first.
    async fn list_notifications(
        &self,
        filter: NotifyFilter,
    ) -> Result<Vec<NotifyRecord>, StoreError>;
    /// The payer confirmed a page.pay / app.pay order: money moves, the PAY goes SUCCESS.
    async fn complete_payment(
        &self,
        cmd: CompletePayment,
    ) -> Result<Result<OperationView, Rejection>, StoreError>;
    /// Closes unpaid packets past their pay deadline and refunds expired packets (at most
    /// `limit` of each).
    async fn fire_deadlines(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<FiredDeadline>, StoreError>;
    /// An order as the cashier and wallet show it; `None` for unknown ids and disburse orders.
    async fn payment_order(&self, auth_no: &str) -> Result<Option<PaymentOrder>, StoreError>;
    /// The user a login (user id or logon id) and sandbox password name.
    async fn authenticate(&self, login: &str, password: &str)
        -> Result<Option<String>, StoreError>;
}

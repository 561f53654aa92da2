//! The storage port of the ledger and its two implementations: SQLite (embedded, one process)
//! and PostgreSQL (many stateless gateway processes on one database), chosen by `open`.
//!
//! The ledger decides, the stores persist: every command loads its facts (`hongbao_ledger::facts`),
//! asks the ledger (`hongbao_ledger::decide`) and applies the plan it returns, all in one
//! database transaction holding the idempotency row, the postings, the packet's counters and the
//! notify outbox row, so it commits whole or not at all. No store decides a business rule or
//! builds a `Rejection`. The database stands behind the ledger as a second line of defence:
//! unique keys serialize duplicates, `CHECK` constraints keep balances non-negative and packets
//! from paying out more than they hold, every update of a row names the state it was decided on
//! (a refusal is a bug, `StoreError::Bug`), and triggers keep journal entries immutable.
//!
//! Only this crate knows SQL. It never knows HTTP or the Alipay wire format.

mod batch;
pub mod console;
mod ids;
pub mod notify;
pub mod ops;
pub mod postgres;
mod rows;
pub mod sqlite;

use async_trait::async_trait;
use hongbao_ledger::notify::ClaimShare;
use hongbao_ledger::{
    Bug, ClaimCommand, CompletePayment, DisburseCommand, FiredDeadline, FundCommand,
    LedgerSnapshot, NotifyAttempt, OperationQuery, OperationView, Outcome, RefundCommand,
    Rejection, ReturnCommand, SendCommand, TransQuery, TransferCommand,
};
use hongbao_money::Fen;
use std::sync::Arc;

pub use console::{
    JournalEntry, LogEntry, LogFilter, LogKind, LoggedRequest, OperationDetail, OrderDetail,
    OrderFilter, OrderSummary, Retention, UserDetail, UserSummary,
};
pub use hongbao_ledger::SandboxUser;
pub use ids::{auth_no, operation_id, route_digits};
pub use notify::{AttemptRecord, NotifyFilter, NotifyRecord, PaymentOrder, PendingNotify};
pub use ops::{PoolUse, StoreGauges};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The cause of a store error, kept for the logs (shared, so errors stay cheap to clone: a
/// batch's commit error answers every command in it).
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An operating error of the store, or a bug it caught.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or written right now (busy, disk full, I/O error, closed,
    /// lost connection). Nothing was committed: an identical retry is safe.
    #[error("store unavailable: {context}")]
    Unavailable {
        /// What the store was doing.
        context: String,
        /// The database's own error.
        #[source]
        source: Option<Source>,
    },
    /// A stored row does not decode (schema drift or corruption).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A bug: a broken invariant, a guard that refused a plan the ledger accepted, a constraint
    /// or type error from the database. The command was rolled back, but its cause is a defect,
    /// not the weather: it is logged with its cause and never called retry-safe.
    #[error("store bug: {context}")]
    Bug {
        /// What went wrong.
        context: String,
        /// The database's own error, when it raised one.
        #[source]
        source: Option<Source>,
    },
}

impl StoreError {
    /// Unavailable, with no deeper cause.
    pub fn unavailable(context: impl Into<String>) -> StoreError {
        StoreError::Unavailable { context: context.into(), source: None }
    }

    /// A bug, with no deeper cause.
    pub fn bug(context: impl Into<String>) -> StoreError {
        StoreError::Bug { context: context.into(), source: None }
    }

    /// True when nothing was committed and an identical retry is safe.
    pub fn is_retry_safe(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

impl From<Bug> for StoreError {
    fn from(bug: Bug) -> StoreError {
        StoreError::bug(bug.0)
    }
}

/// A payment confirmation answers the PAY as it now stands, replayed or not.
pub(crate) fn payment_result(outcome: Outcome) -> Result<OperationView, Rejection> {
    match outcome {
        Outcome::Applied(view) | Outcome::Replayed(view) => Ok(view),
        Outcome::Rejected(rejection) => Err(rejection),
    }
}

/// Whether a writer keeps a command's changes.
pub enum Keep<T> {
    /// Release the savepoint: the changes commit with the batch.
    Commit(T),
    /// Roll back to the savepoint: nothing of this command remains.
    Rollback(T),
}

/// Opens the store a database URL names, chosen at start-up: `sqlite://PATH` (the embedded
/// default, one process) or `postgres://…` / `postgresql://…` (any number of processes on one
/// database). Either runs its migrations before returning.
pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(StoreError::unavailable("sqlite:// needs a file path"));
        }
        return Ok(Arc::new(SqliteStore::open(std::path::Path::new(path))?));
    }
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(database_url).await?));
    }
    Err(StoreError::unavailable(format!(
        "database URL must start with sqlite:// or postgres://, not {:?}",
        database_url.split("://").next().unwrap_or("")
    )))
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
    /// fund.trans: creates a send (`alipay.fund.trans.app.pay`), paid later in the wallet.
    async fn send(&self, cmd: SendCommand) -> Result<Outcome, StoreError>;
    /// fund.trans: a claim of part of a send (`uni.transfer`, `PERSONAL_COLLECTION`).
    async fn claim(&self, cmd: ClaimCommand) -> Result<Outcome, StoreError>;
    /// fund.trans: a B2C red packet from the merchant's account (`uni.transfer`,
    /// `DIRECT_TRANSFER`).
    async fn transfer(&self, cmd: TransferCommand) -> Result<Outcome, StoreError>;
    /// fund.trans: returns part of a send's rest to its payer (`alipay.fund.trans.refund`).
    async fn return_send(&self, cmd: ReturnCommand) -> Result<Outcome, StoreError>;
    /// fund.trans: one document (`alipay.fund.trans.common.query`).
    async fn trans_query(
        &self,
        query: TransQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError>;
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
    /// Claims due notifications for `lease_ms`, shared among apps as `share` says (round robin
    /// over the apps, each app's oldest first: `hongbao_ledger::notify::ClaimShare`).
    async fn claim_due_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        share: ClaimShare,
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
    /// A trivial read (readiness probes): `Ok` while the database answers and the writer runs.
    /// The caller bounds how long it waits.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The operating figures that need the database (`ops::StoreGauges`), for metrics.
    async fn gauges(&self) -> Result<StoreGauges, StoreError>;
    /// How each connection pool and writer queue is used right now; costs no query.
    fn pools(&self) -> Vec<PoolUse>;

    // The sandbox console (`console`).

    /// Orders of both products, newest first.
    async fn orders(&self, filter: OrderFilter) -> Result<Vec<OrderSummary>, StoreError>;
    /// One order with its operations, their journal entries and (for a packet) its disburse
    /// orders; `None` for unknown ids.
    async fn order_detail(&self, auth_no: &str) -> Result<Option<OrderDetail>, StoreError>;
    /// Sandbox users with their balances, by user id.
    async fn users(&self, limit: u32) -> Result<Vec<UserSummary>, StoreError>;
    /// One user with the newest `history_limit` entries of its account.
    async fn user_detail(
        &self,
        user_id: &str,
        history_limit: u32,
    ) -> Result<Option<UserDetail>, StoreError>;
    /// Creates a new sandbox user with its opening balance (`ledger::decide_create_user`).
    async fn create_user(
        &self,
        user: SandboxUser,
        now_ms: i64,
    ) -> Result<Result<(), Rejection>, StoreError>;
    /// Issues `amount` to a user (`ledger::decide_top_up`); answers the new balance.
    async fn top_up(
        &self,
        user_id: &str,
        amount: Fen,
        now_ms: i64,
    ) -> Result<Result<Fen, Rejection>, StoreError>;
    /// Appends request-log rows (numbered in order).
    async fn append_request_log(&self, entries: Vec<LogEntry>) -> Result<(), StoreError>;
    /// Request-log rows, newest first (without their refs).
    async fn request_log(&self, filter: LogFilter) -> Result<Vec<LoggedRequest>, StoreError>;
    /// One request-log row with its refs.
    async fn request_log_entry(&self, log_id: i64) -> Result<Option<LoggedRequest>, StoreError>;
    /// Deletes what `retention` no longer keeps (`wall_now_ms` is the wall clock); answers how
    /// many rows went.
    async fn prune_request_log(
        &self,
        retention: Retention,
        wall_now_ms: i64,
    ) -> Result<u64, StoreError>;
}

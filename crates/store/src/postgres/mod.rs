//! PostgreSQL, the store for many stateless gateway processes on one database.
//!
//! Every command is one `READ COMMITTED` transaction on a pooled connection, in the order the
//! SQLite store uses: resolve, compare with an earlier identical request (replay or
//! `UniqueViolation`), ask the ledger, then write with guarded statements. Isolation is not
//! what keeps money right; the schema and the writes are:
//!
//! - `SELECT … FOR NO KEY UPDATE` on the packet row before anything moves out of it, so
//!   commands on one packet run one after the other and decide on its latest committed counters;
//! - guarded updates (`… WHERE amount_fen - disbursed_fen - refunded_fen >= $1`, `… WHERE
//!   balance_fen + $2 >= 0`), which PostgreSQL re-evaluates on the newest row version after
//!   waiting for a lock, and `CHECK` constraints behind them;
//! - one lock order for every transaction (`locks`): packet rows, then account rows, each in
//!   ascending order; a group-commit batch takes the rows of all its commands first, so that
//!   neither two commands nor two processes' batches wait on each other in a cycle;
//! - UNIQUE keys on the idempotency ids: of two identical requests racing, one inserts and the
//!   other gets a unique violation, retries the whole transaction and then replays the
//!   committed outcome.
//!
//! Serialization failures, deadlocks and those unique races are retried here a bounded number
//! of times (`ATTEMPTS_MAX`), so a client never sees them. Everything else becomes
//! `StoreError::Unavailable`: nothing was committed, and an identical retry is safe. Waits are
//! bounded: a lock for `LOCK_WAIT_MAX`, a whole call for `ANSWER_WITHIN`.

mod apply;
mod commands;
mod console;
mod group_commit;
mod locks;
mod ops;
mod outbox;
mod payment;
pub mod schema;
pub mod scratch;
mod shaped;
pub mod tls;
mod trans;

#[doc(hidden)]
pub use shaped::shaped_batches;

use crate::console::{
    LogEntry, LogFilter, LoggedRequest, OrderDetail, OrderFilter, OrderSummary, Retention,
    UserDetail, UserSummary,
};
use crate::notify::{NotifyFilter, NotifyRecord, PaymentOrder, PendingNotify};
use crate::ops::{PoolUse, StoreGauges};
use crate::{Keep, SandboxUser, Store, StoreError};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use hongbao_ledger::notify::ClaimShare;
use hongbao_ledger::{
    Bug, CompletePayment, DisburseCommand, FiredDeadline, FundCommand, LedgerSnapshot,
    NotifyAttempt, OperationQuery, OperationView, Outcome, RefundCommand, Rejection,
};
use hongbao_ledger::{ClaimCommand, ReturnCommand, SendCommand, TransQuery, TransferCommand};
use hongbao_money::Fen;
use postgres_openssl::MakeTlsConnector;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::IsolationLevel;

/// Most connections one process keeps open. Several processes share one server's
/// `max_connections` (100 by default), so each stays modest.
pub const POOL_MAX: usize = 8;
/// How often one command is tried when it meets a serialization failure, a deadlock or a unique
/// race. A unique race needs one retry (the next attempt sees the committed row).
pub const ATTEMPTS_MAX: u32 = 8;
/// Every call of the store answers within this: done, or `StoreError::Unavailable` (a signed
/// 20000, retry-safe) when it could not be done in time: a full writer queue, no free pooled
/// connection, a lock held too long. The SDKs give up after 15 s; an answer after that reaches
/// nobody, and the work behind it holds connections and locks that later requests wait for.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Longest wait for one lock, on every connection. The lock order (`locks`) leaves no cycle to
/// wait in, so a wait this long means a stalled holder: the command gives up (`Unavailable`,
/// nothing of it committed) rather than hold its own locks and connection behind it.
pub const LOCK_WAIT_MAX: &str = "2s";
/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why one attempt at a command failed.
pub(crate) enum Failure {
    /// The database refused or failed; maybe retryable (`is_retryable`).
    Db(tokio_postgres::Error),
    /// Anything else: decoding, a broken invariant.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Failure {
        Failure::Db(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Failure {
        Failure::Store(err)
    }
}

impl From<Bug> for Failure {
    fn from(err: Bug) -> Failure {
        Failure::Store(err.into())
    }
}

impl Failure {
    /// Serialization failures and deadlocks are the database asking for a retry; a unique
    /// violation is a concurrent identical request that committed first, which the retry replays.
    fn is_retryable(&self) -> bool {
        let Failure::Db(err) = self else { return false };
        matches!(
            err.code(),
            Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::UNIQUE_VIOLATION
        )
    }

    fn into_store_error(self) -> StoreError {
        match self {
            Failure::Db(err) => unavailable(err),
            Failure::Store(err) => err,
        }
    }
}

/// A database error as the store reports it: the database gone, busy, out of resources or shut
/// down is weather (nothing committed, retry-safe); a constraint, data or SQL error, or anything
/// else the server raised, is a bug.
pub(crate) fn unavailable(err: tokio_postgres::Error) -> StoreError {
    let context = match err.as_db_error() {
        Some(db) => format!("postgres {}: {}", db.code().code(), db),
        None => match std::error::Error::source(&err) {
            Some(source) => format!("postgres: {err}: {source}"),
            None => format!("postgres: {err}"),
        },
    };
    let retry_safe = match err.code() {
        // No SQLSTATE: the connection broke or never opened.
        None => true,
        Some(code) => {
            let class = &code.code()[..2.min(code.code().len())];
            // 08 connection, 40 rollback (serialization, deadlock: retried here first),
            // 53 insufficient resources, 57 operator intervention (shutdown, cancel),
            // 55P03 lock not available, 25006 read-only transaction (a standby).
            matches!(class, "08" | "40" | "53" | "57")
                || *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        }
    };
    let source: Option<crate::Source> = Some(std::sync::Arc::new(err));
    if retry_safe {
        StoreError::Unavailable { context, source }
    } else {
        StoreError::Bug { context, source }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// One attempt of a command inside its transaction.
pub(crate) type Attempt<'a, T> = BoxFuture<'a, Result<Keep<T>, Failure>>;

/// The PostgreSQL store. Cheap to clone; every clone shares one pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// The group-commit writer of the money commands (`None` in the writer's own copy).
    group: Option<group_commit::GroupCommit>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, with libpq's TLS
    /// parameters: `tls`), runs the migrations (under an advisory lock, so processes starting
    /// together migrate once) and returns the store.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let (mut config, tls) = tls::parse(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("hongbao");
        // Quiet the NOTICEs of harmless `IF NOT EXISTS` statements in the migrations (unless the
        // URL sets options of its own), and bound every lock wait (settings the URL names win).
        let options = config.get_options().unwrap_or("-c client_min_messages=warning");
        config.options(format!("-c lock_timeout={LOCK_WAIT_MAX} {options}"));
        let pool = pool(config.clone(), tls.clone(), POOL_MAX)?;
        let store = PostgresStore { pool, group: None };
        let mut client = store.client().await?;
        schema::migrate(&mut client).await?;
        drop(client);
        let group = group_commit::GroupCommit::start(config, tls)?;
        Ok(PostgresStore { group: Some(group), ..store })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.client_until(Instant::now() + ANSWER_WITHIN).await
    }

    /// A pooled connection, waiting for one until `deadline` at most.
    async fn client_until(
        &self,
        deadline: Instant,
    ) -> Result<deadpool_postgres::Object, StoreError> {
        let timeouts = deadpool_postgres::Timeouts {
            wait: Some(deadline.saturating_duration_since(Instant::now())),
            create: Some(CONNECT_TIMEOUT),
            recycle: None,
        };
        self.pool.timeout_get(&timeouts).await.map_err(|err| match err {
            deadpool_postgres::PoolError::Backend(err) => unavailable(err),
            other => StoreError::unavailable(format!("postgres pool: {other}")),
        })
    }

    /// Runs a money command through the group-commit writer (`group_commit`): with the other
    /// commands that arrive meanwhile, in one transaction that first locks `locks`.
    async fn write_grouped<T: Send + 'static>(
        &self,
        locks: locks::LockSet,
        command: impl for<'a> Fn(&'a Transaction<'a>) -> Attempt<'a, T> + Send + Sync + 'static,
    ) -> Result<T, StoreError> {
        match &self.group {
            Some(group) => group.run(locks, None, Box::new(command)).await,
            None => self.write(command).await,
        }
    }

    /// `write_grouped` for a command the batch-shaped path can also run (`shaped`): with the
    /// others of its batch, one statement per table; `command` is its per-command form, for
    /// when it runs alone or the batch falls back to one command at a time.
    async fn write_shaped(
        &self,
        locks: locks::LockSet,
        shaped: shaped::Shaped,
        command: impl for<'a> Fn(&'a Transaction<'a>) -> Attempt<'a, Outcome> + Send + Sync + 'static,
    ) -> Result<Outcome, StoreError> {
        match &self.group {
            Some(group) => {
                group.run(locks, Some((shaped, std::convert::identity)), Box::new(command)).await
            }
            None => self.write(command).await,
        }
    }

    /// Runs `command` in a READ COMMITTED transaction of its own, commits or rolls back as it
    /// says, and retries the whole transaction on serialization failures, deadlocks and unique
    /// races; within `ANSWER_WITHIN`.
    async fn write<T>(
        &self,
        command: impl for<'a> Fn(&'a Transaction<'a>) -> Attempt<'a, T> + Send + Sync,
    ) -> Result<T, StoreError>
    where
        T: Send,
    {
        self.write_until(Instant::now() + ANSWER_WITHIN, &|| false, command).await
    }

    /// `write`, giving up at `deadline`, or before an attempt once `gone()` says that nobody
    /// waits for the answer any more (the client left): nothing runs for nobody.
    async fn write_until<T>(
        &self,
        deadline: Instant,
        gone: &(dyn Fn() -> bool + Sync),
        command: impl for<'a> Fn(&'a Transaction<'a>) -> Attempt<'a, T> + Send + Sync,
    ) -> Result<T, StoreError>
    where
        T: Send,
    {
        let mut attempt = 1;
        loop {
            if gone() {
                return Err(StoreError::unavailable("the caller is gone"));
            }
            let mut client = self.client_until(deadline).await?;
            let result: Result<T, Failure> = async {
                let tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::ReadCommitted)
                    .start()
                    .await?;
                match command(&tx).await? {
                    Keep::Commit(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Keep::Rollback(value) => {
                        tx.rollback().await?;
                        Ok(value)
                    }
                }
            }
            .await;
            match result {
                Ok(value) => return Ok(value),
                Err(failure)
                    if failure.is_retryable()
                        && attempt < ATTEMPTS_MAX
                        && Instant::now() < deadline =>
                {
                    if let Failure::Db(err) = &failure {
                        tracing::debug!(attempt, error = %err, "postgres command retried");
                    }
                    // Deadlocks and serialization failures back off a little (1, 2, 4 … ms);
                    // a unique race is settled already and retries at once.
                    let backoff_ms = if attempt == 1 { 0 } else { 1u64 << (attempt - 2).min(6) };
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.into_store_error()),
            }
        }
    }

    /// Runs `query` in a read-only REPEATABLE READ transaction: one consistent snapshot.
    async fn read<T>(
        &self,
        query: impl for<'a> FnOnce(&'a Transaction<'a>) -> BoxFuture<'a, Result<T, Failure>> + Send,
    ) -> Result<T, StoreError>
    where
        T: Send,
    {
        let mut client = self.client().await?;
        let result: Result<T, Failure> = async {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let value = query(&tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        result.map_err(Failure::into_store_error)
    }
}

/// A pool of at most `max_size` connections, opened on first use on the runtime that asks, each
/// through `tls` (which the URL's `sslmode` configured).
fn pool(
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    max_size: usize,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(ANSWER_WITHIN))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|err| StoreError::unavailable(format!("postgres pool: {err}")))
}

#[async_trait]
impl Store for PostgresStore {
    async fn fund(&self, cmd: FundCommand) -> Result<Outcome, StoreError> {
        let locks = locks::LockSet::fund(&cmd);
        let shaped = shaped::Shaped::Fund(cmd.clone());
        self.write_shaped(locks, shaped, move |tx| Box::pin(commands::fund(tx, cmd.clone()))).await
    }

    async fn disburse(&self, cmd: DisburseCommand) -> Result<Outcome, StoreError> {
        let locks = locks::LockSet::disburse(&cmd);
        let shaped = shaped::Shaped::Disburse(cmd.clone());
        self.write_shaped(locks, shaped, move |tx| Box::pin(commands::disburse(tx, cmd.clone())))
            .await
    }

    async fn refund(&self, cmd: RefundCommand) -> Result<Outcome, StoreError> {
        let locks = locks::LockSet::refund(&cmd);
        let shaped = shaped::Shaped::Refund(cmd.clone());
        self.write_shaped(locks, shaped, move |tx| Box::pin(commands::refund(tx, cmd.clone())))
            .await
    }

    async fn query(
        &self,
        query: OperationQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        let client = self.client().await?;
        commands::query(&client, query).await.map_err(Failure::into_store_error)
    }

    async fn send(&self, cmd: SendCommand) -> Result<Outcome, StoreError> {
        self.write_grouped(locks::LockSet::send(&cmd), move |tx| {
            Box::pin(trans::send(tx, cmd.clone()))
        })
        .await
    }

    async fn claim(&self, cmd: ClaimCommand) -> Result<Outcome, StoreError> {
        self.write_grouped(locks::LockSet::claim(&cmd), move |tx| {
            Box::pin(trans::claim(tx, cmd.clone()))
        })
        .await
    }

    async fn transfer(&self, cmd: TransferCommand) -> Result<Outcome, StoreError> {
        self.write_grouped(locks::LockSet::transfer(&cmd), move |tx| {
            Box::pin(trans::transfer(tx, cmd.clone()))
        })
        .await
    }

    async fn return_send(&self, cmd: ReturnCommand) -> Result<Outcome, StoreError> {
        self.write_grouped(locks::LockSet::return_send(&cmd), move |tx| {
            Box::pin(trans::return_send(tx, cmd.clone()))
        })
        .await
    }

    async fn trans_query(
        &self,
        query: TransQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        self.read(|tx| Box::pin(trans::trans_query(tx, query))).await
    }

    async fn ensure_user(&self, user: SandboxUser, now_ms: i64) -> Result<bool, StoreError> {
        self.write(|tx| Box::pin(commands::ensure_user(tx, user.clone(), now_ms))).await
    }

    async fn balance(&self, user_id: &str) -> Result<Option<Fen>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(|tx| Box::pin(commands::user_balance(tx, user_id))).await
    }

    async fn snapshot(&self) -> Result<LedgerSnapshot, StoreError> {
        self.read(|tx| Box::pin(commands::snapshot(tx))).await
    }

    async fn claim_due_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        share: ClaimShare,
    ) -> Result<Vec<PendingNotify>, StoreError> {
        self.write(|tx| Box::pin(outbox::claim_due(tx, now_ms, lease_ms, share.clone()))).await
    }

    async fn record_notify_attempt(
        &self,
        notify_id: &str,
        attempt: NotifyAttempt,
    ) -> Result<(), StoreError> {
        let notify_id = notify_id.to_owned();
        self.write(|tx| Box::pin(outbox::record_attempt(tx, notify_id.clone(), attempt.clone())))
            .await
    }

    async fn resend_notification(
        &self,
        notify_id: &str,
        app_id: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let notify_id = notify_id.to_owned();
        let app_id = app_id.map(str::to_owned);
        self.write(|tx| Box::pin(outbox::resend(tx, notify_id.clone(), app_id.clone(), now_ms)))
            .await
    }

    async fn list_notifications(
        &self,
        filter: NotifyFilter,
    ) -> Result<Vec<NotifyRecord>, StoreError> {
        self.read(|tx| Box::pin(outbox::list(tx, filter))).await
    }

    async fn complete_payment(
        &self,
        cmd: CompletePayment,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        self.write_grouped(locks::LockSet::payment(&cmd), move |tx| {
            Box::pin(payment::complete_payment(tx, cmd.clone()))
        })
        .await
    }

    async fn fire_deadlines(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<FiredDeadline>, StoreError> {
        self.write(|tx| Box::pin(payment::fire_deadlines(tx, now_ms, limit))).await
    }

    async fn payment_order(&self, auth_no: &str) -> Result<Option<PaymentOrder>, StoreError> {
        let auth_no = auth_no.to_owned();
        self.read(|tx| Box::pin(payment::payment_order(tx, auth_no))).await
    }

    async fn authenticate(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        let (login, password) = (login.to_owned(), password.to_owned());
        self.read(|tx| Box::pin(payment::authenticate(tx, login, password))).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if self.group.as_ref().is_some_and(group_commit::GroupCommit::is_stopped) {
            return Err(StoreError::unavailable("postgres writer stopped"));
        }
        self.client().await?.query_one("SELECT 1", &[]).await.map_err(unavailable)?;
        Ok(())
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.read(|tx| Box::pin(ops::gauges(tx))).await
    }

    fn pools(&self) -> Vec<PoolUse> {
        let mut pools = vec![pool_use("postgres", &self.pool)];
        if let Some(group) = &self.group {
            pools.extend(group.pools());
        }
        pools
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<OrderSummary>, StoreError> {
        self.read(|tx| Box::pin(console::orders(tx, filter))).await
    }

    async fn order_detail(&self, auth_no: &str) -> Result<Option<OrderDetail>, StoreError> {
        let auth_no = auth_no.to_owned();
        self.read(|tx| Box::pin(console::order_detail(tx, auth_no))).await
    }

    async fn users(&self, limit: u32) -> Result<Vec<UserSummary>, StoreError> {
        self.read(|tx| Box::pin(console::users(tx, limit))).await
    }

    async fn user_detail(
        &self,
        user_id: &str,
        history_limit: u32,
    ) -> Result<Option<UserDetail>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(|tx| Box::pin(console::user_detail(tx, user_id, history_limit))).await
    }

    async fn create_user(
        &self,
        user: SandboxUser,
        now_ms: i64,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.write(|tx| Box::pin(console::create_user(tx, user.clone(), now_ms))).await
    }

    async fn top_up(
        &self,
        user_id: &str,
        amount: Fen,
        now_ms: i64,
    ) -> Result<Result<Fen, Rejection>, StoreError> {
        let user_id = user_id.to_owned();
        self.write(|tx| Box::pin(console::top_up(tx, user_id.clone(), amount, now_ms))).await
    }

    async fn append_request_log(&self, entries: Vec<LogEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // Shared, not copied, by every try of the transaction.
        let entries = std::sync::Arc::new(entries);
        self.write(move |tx| {
            Box::pin(console::append_request_log(tx, std::sync::Arc::clone(&entries)))
        })
        .await
    }

    async fn request_log(&self, filter: LogFilter) -> Result<Vec<LoggedRequest>, StoreError> {
        self.read(|tx| Box::pin(console::request_log(tx, filter))).await
    }

    async fn request_log_entry(&self, log_id: i64) -> Result<Option<LoggedRequest>, StoreError> {
        self.read(|tx| Box::pin(console::request_log_entry(tx, log_id))).await
    }

    async fn prune_request_log(
        &self,
        retention: Retention,
        wall_now_ms: i64,
    ) -> Result<u64, StoreError> {
        self.write(|tx| Box::pin(console::prune_request_log(tx, retention, wall_now_ms))).await
    }
}

/// A deadpool pool's use as the metrics show it.
fn pool_use(name: &'static str, pool: &Pool) -> PoolUse {
    let status = pool.status();
    PoolUse {
        pool: name,
        in_use: status.size.saturating_sub(status.available) as u64,
        idle: status.available as u64,
        max: status.max_size as u64,
        waiting: status.waiting as u64,
    }
}

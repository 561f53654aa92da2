//! SQLite, the embedded default store.
//!
//! One writer thread owns the only write connection and applies commands in batches: one
//! `BEGIN IMMEDIATE … COMMIT` per batch, each command inside its own `SAVEPOINT`, so a refused or
//! failed command rolls back alone while the batch shares one fsync (group commit). Nobody is
//! answered before the batch's COMMIT returned: WAL with `synchronous=FULL` makes that commit
//! durable. Reads use a small pool of read-only connections, which WAL lets run beside the writer.

mod apply;
pub mod backup;
mod commands;
mod console;
mod ops;
mod outbox;
mod payment;
pub mod schema;
mod trans;

use crate::console::{
    LogEntry, LogFilter, LoggedRequest, OrderDetail, OrderFilter, OrderSummary, Retention,
    UserDetail, UserSummary,
};
use crate::notify::{NotifyFilter, NotifyRecord, PaymentOrder, PendingNotify};
use crate::ops::{PoolUse, StoreGauges};
use crate::{Keep, SandboxUser, Store, StoreError};
use async_trait::async_trait;
use hongbao_ledger::notify::ClaimShare;
use hongbao_ledger::{
    ClaimCommand, CompletePayment, DisburseCommand, FiredDeadline, FundCommand, LedgerSnapshot,
    NotifyAttempt, OperationQuery, OperationView, Outcome, RefundCommand, Rejection, ReturnCommand,
    SendCommand, TransQuery, TransferCommand,
};
use hongbao_money::Fen;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// SQLite's errors by what they mean for the caller: the database busy, full, unreadable or
/// gone is weather (nothing committed, retry-safe); a constraint, type or SQL error is a bug.
impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let retry_safe = match &err {
            rusqlite::Error::SqliteFailure(failure, _) => matches!(
                failure.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::DiskFull
                    | C::SystemIoFailure
                    | C::CannotOpen
                    | C::OutOfMemory
                    | C::ReadOnly
            ),
            _ => false,
        };
        if let rusqlite::Error::SqliteFailure(failure, _) = &err {
            if matches!(failure.code, C::NotADatabase | C::DatabaseCorrupt) {
                return StoreError::Corrupt(err.to_string());
            }
        }
        let context = err.to_string();
        let source: Option<crate::Source> = Some(std::sync::Arc::new(err));
        if retry_safe {
            StoreError::Unavailable { context, source }
        } else {
            StoreError::Bug { context, source }
        }
    }
}

/// Most prepared statements each connection keeps (all of the store's SQL fits).
pub const STATEMENT_CACHE_MAX: usize = 128;
/// Most commands one group commit carries.
pub const BATCH_MAX: usize = 128;
/// Most commands waiting for the writer; senders wait beyond it (backpressure, bounded memory).
pub const QUEUE_MAX: usize = 4096;
/// Most read connections open at once.
pub const READERS_MAX: usize = 8;
/// Page cache of the write connection, in KiB: the indexes the writer touches on every command
/// (order and operation lookups, account rows) stay in memory as the ledger grows. A bounded
/// cost: 16 MiB of the process's memory, whatever the database size.
pub const WRITER_CACHE_KIB: i64 = 16 * 1024;

trait WriteJob: Send {
    /// Runs the command; true to keep its changes.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch committed (`None`) or failed.
    fn finish(self: Box<Self>, commit_error: Option<StoreError>);
}

type JobFn<T> = Box<dyn FnOnce(&Connection) -> Result<Keep<T>, StoreError> + Send>;

struct TypedJob<T> {
    command: Option<JobFn<T>>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send + 'static> WriteJob for TypedJob<T> {
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(command) = self.command.take() else { return false };
        let (keep, result) = match command(conn) {
            Ok(Keep::Commit(value)) => (true, Ok(value)),
            Ok(Keep::Rollback(value)) => (false, Ok(value)),
            Err(err) => (false, Err(err)),
        };
        self.result = Some(result);
        keep
    }

    fn finish(self: Box<Self>, commit_error: Option<StoreError>) {
        let answer = crate::batch::answer(commit_error, self.result);
        // The caller may have gone away (client disconnected); the outcome is committed anyway
        // and an identical retry replays it.
        let _ = self.reply.send(answer);
    }
}

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<Box<dyn WriteJob>>,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
}

/// How long the writer and a reader on a blocking thread wait for a lock held elsewhere (a
/// checkpoint, a backup step, another process).
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_MAX);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, runs migrations and starts the writer.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::unavailable(format!("journal_mode is {mode}, WAL required")));
        }
        // FULL: the WAL is fsynced at every COMMIT, so an answered 10000 survives power loss.
        writer.pragma_update(None, "synchronous", "FULL")?;
        // Each command runs in a SAVEPOINT, whose sub-journal SQLite writes to a temporary file
        // by default: a write syscall per touched page per command. In memory it costs none;
        // durability is unaffected (the sub-journal only serves rolling the savepoint back).
        writer.pragma_update(None, "temp_store", "MEMORY")?;
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        schema::migrate(&mut writer)?;
        let (jobs, receiver) = mpsc::channel(QUEUE_MAX);
        std::thread::Builder::new()
            .name("hongbao-sqlite-writer".into())
            .spawn(move || writer_loop(writer, receiver))
            .map_err(|err| StoreError::unavailable(format!("cannot start writer: {err}")))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                jobs,
                readers: Mutex::new(Vec::new()),
                reader_permits: Semaphore::new(READERS_MAX),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T: Send + 'static>(
        &self,
        command: impl FnOnce(&Connection) -> Result<Keep<T>, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob { command: Some(Box::new(command)), result: None, reply };
        self.inner
            .jobs
            .send(Box::new(job))
            .await
            .map_err(|_| StoreError::unavailable("writer stopped"))?;
        answer.await.map_err(|_| StoreError::unavailable("writer stopped"))?
    }

    /// One of the `READERS_MAX` places to read.
    async fn reader_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, StoreError> {
        self.inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| StoreError::unavailable("store closed"))
    }

    /// A point lookup, run on the calling thread: it takes tens of microseconds, less than
    /// handing it to a blocking thread and waking the caller again (two context switches, which
    /// profiling showed costing more than the lookup under load). WAL readers never wait for the
    /// writer, but a lock held elsewhere can stall them (a checkpoint's WAL reset, a backup, an
    /// exclusive connection): there the lookup waits not at all on the caller's thread, which
    /// runs other requests, and tries again on a blocking thread with the full busy timeout.
    async fn read<T: Send + 'static>(
        &self,
        query: impl Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.reader_permit().await?;
        match with_reader(&self.inner, std::time::Duration::ZERO, &query) {
            Err(err) if is_busy(&err) => {
                let inner = Arc::clone(&self.inner);
                tokio::task::spawn_blocking(move || with_reader(&inner, BUSY_TIMEOUT, &query))
                    .await
                    .map_err(|err| StoreError::bug(format!("reader task failed: {err}")))?
            }
            done => done,
        }
    }

    /// A scan (snapshot, listings) whose cost grows with the data: on a blocking thread, so it
    /// never stalls the requests sharing the caller's executor thread.
    async fn scan<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.reader_permit().await?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || with_reader(&inner, BUSY_TIMEOUT, query))
            .await
            .map_err(|err| StoreError::bug(format!("reader task failed: {err}")))?
    }
}

/// True when SQLite answered that a lock is held elsewhere.
fn is_busy(err: &StoreError) -> bool {
    let StoreError::Unavailable { source: Some(source), .. } = err else { return false };
    matches!(
        source.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs a reader's statements in one read transaction: one snapshot for all of them (a ledger
/// snapshot or a console page whose parts agree), and one WAL read lock (a shared-memory lock and
/// its `fcntl` calls) instead of one per statement, which profiling showed as a fifth of a
/// three-statement `operation.query`'s store time.
pub(crate) fn in_read_transaction<T>(
    conn: &Connection,
    query: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
    let result = query(conn);
    // A read-only transaction has nothing to keep: ending it either way releases the snapshot.
    let ended = conn
        .prepare_cached(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })
        .and_then(|mut end| end.execute([]));
    match (result, ended) {
        (Ok(value), Ok(_)) => Ok(value),
        (Err(err), _) => Err(err),
        (Ok(_), Err(err)) => Err(err.into()),
    }
}

/// Runs `query` in one read transaction on a pooled read-only connection (opening one when the
/// pool is empty), waiting at most `busy` for a lock held elsewhere.
fn with_reader<T>(
    inner: &Inner,
    busy: std::time::Duration,
    query: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let pooled = inner.readers.lock().ok().and_then(|mut pool| pool.pop());
    let conn = match pooled {
        Some(conn) => conn,
        None => {
            let conn = Connection::open_with_flags(
                &inner.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            conn
        }
    };
    let result = conn
        .busy_timeout(busy)
        .map_err(StoreError::from)
        .and_then(|()| in_read_transaction(&conn, query));
    // A connection left inside a transaction (its ROLLBACK failed) would refuse every later
    // BEGIN: it is closed instead of pooled.
    if conn.is_autocommit() {
        if let Ok(mut pool) = inner.readers.lock() {
            pool.push(conn);
        }
    }
    result
}

fn writer_loop(conn: Connection, mut receiver: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = crate::batch::gather(first, &mut receiver, BATCH_MAX);
        let started = std::time::Instant::now();
        let commit_error = run_batch(&conn, &mut batch).err();
        metrics::histogram!("hongbao_store_commit_seconds", "store" => "sqlite")
            .record(started.elapsed());
        metrics::histogram!("hongbao_store_batch_size", "store" => "sqlite")
            .record(batch.len() as f64);
        if let Some(err) = &commit_error {
            tracing::error!(error = %err, commands = batch.len(), "sqlite batch failed; rolled back");
        }
        for job in batch {
            job.finish(commit_error.clone());
        }
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn WriteJob>]) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = (|| -> Result<(), StoreError> {
        for job in batch.iter_mut() {
            // Cached statements: `execute_batch` would parse the SQL again for every command.
            conn.prepare_cached("SAVEPOINT command")?.execute([])?;
            if job.run(conn) {
                conn.prepare_cached("RELEASE command")?.execute([])?;
            } else {
                conn.prepare_cached("ROLLBACK TO command")?.execute([])?;
                conn.prepare_cached("RELEASE command")?.execute([])?;
            }
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

#[async_trait]
impl Store for SqliteStore {
    async fn fund(&self, cmd: FundCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| commands::fund(conn, &cmd)).await
    }

    async fn disburse(&self, cmd: DisburseCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| commands::disburse(conn, &cmd)).await
    }

    async fn refund(&self, cmd: RefundCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| commands::refund(conn, &cmd)).await
    }

    async fn query(
        &self,
        query: OperationQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        self.read(move |conn| commands::query(conn, &query)).await
    }

    async fn send(&self, cmd: SendCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| trans::send(conn, &cmd)).await
    }

    async fn claim(&self, cmd: ClaimCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| trans::claim(conn, &cmd)).await
    }

    async fn transfer(&self, cmd: TransferCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| trans::transfer(conn, &cmd)).await
    }

    async fn return_send(&self, cmd: ReturnCommand) -> Result<Outcome, StoreError> {
        self.write(move |conn| trans::return_send(conn, &cmd)).await
    }

    async fn trans_query(
        &self,
        query: TransQuery,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        self.read(move |conn| trans::trans_query(conn, &query)).await
    }

    async fn ensure_user(&self, user: SandboxUser, now_ms: i64) -> Result<bool, StoreError> {
        self.write(move |conn| commands::ensure_user(conn, &user, now_ms)).await
    }

    async fn balance(&self, user_id: &str) -> Result<Option<Fen>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(move |conn| commands::user_balance(conn, &user_id)).await
    }

    async fn snapshot(&self) -> Result<LedgerSnapshot, StoreError> {
        self.scan(commands::snapshot).await
    }

    async fn claim_due_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        share: ClaimShare,
    ) -> Result<Vec<PendingNotify>, StoreError> {
        self.write(move |conn| outbox::claim_due(conn, now_ms, lease_ms, &share)).await
    }

    async fn record_notify_attempt(
        &self,
        notify_id: &str,
        attempt: NotifyAttempt,
    ) -> Result<(), StoreError> {
        let notify_id = notify_id.to_owned();
        self.write(move |conn| outbox::record_attempt(conn, &notify_id, &attempt)).await
    }

    async fn resend_notification(
        &self,
        notify_id: &str,
        app_id: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let notify_id = notify_id.to_owned();
        let app_id = app_id.map(str::to_owned);
        self.write(move |conn| outbox::resend(conn, &notify_id, app_id.as_deref(), now_ms)).await
    }

    async fn list_notifications(
        &self,
        filter: NotifyFilter,
    ) -> Result<Vec<NotifyRecord>, StoreError> {
        self.scan(move |conn| outbox::list(conn, &filter)).await
    }

    async fn complete_payment(
        &self,
        cmd: CompletePayment,
    ) -> Result<Result<OperationView, Rejection>, StoreError> {
        self.write(move |conn| payment::complete_payment(conn, &cmd)).await
    }

    async fn fire_deadlines(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<FiredDeadline>, StoreError> {
        self.write(move |conn| payment::fire_deadlines(conn, now_ms, limit)).await
    }

    async fn payment_order(&self, auth_no: &str) -> Result<Option<PaymentOrder>, StoreError> {
        let auth_no = auth_no.to_owned();
        self.read(move |conn| payment::payment_order(conn, &auth_no)).await
    }

    async fn authenticate(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        let (login, password) = (login.to_owned(), password.to_owned());
        self.read(move |conn| payment::authenticate(conn, &login, &password)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if self.inner.jobs.is_closed() {
            return Err(StoreError::unavailable("writer stopped"));
        }
        self.read(ops::ping).await
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.scan(ops::gauges).await
    }

    fn pools(&self) -> Vec<PoolUse> {
        let free = self.inner.reader_permits.available_permits();
        let idle = self.inner.readers.lock().map(|pool| pool.len()).unwrap_or(0);
        vec![
            PoolUse {
                pool: "sqlite_readers",
                in_use: (READERS_MAX.saturating_sub(free)) as u64,
                idle: idle as u64,
                max: READERS_MAX as u64,
                waiting: 0,
            },
            PoolUse {
                pool: "sqlite_writer",
                in_use: (QUEUE_MAX.saturating_sub(self.inner.jobs.capacity())) as u64,
                idle: 0,
                max: QUEUE_MAX as u64,
                waiting: 0,
            },
        ]
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<OrderSummary>, StoreError> {
        self.scan(move |conn| console::orders(conn, &filter)).await
    }

    async fn order_detail(&self, auth_no: &str) -> Result<Option<OrderDetail>, StoreError> {
        let auth_no = auth_no.to_owned();
        self.scan(move |conn| console::order_detail(conn, &auth_no)).await
    }

    async fn users(&self, limit: u32) -> Result<Vec<UserSummary>, StoreError> {
        self.scan(move |conn| console::users(conn, limit)).await
    }

    async fn user_detail(
        &self,
        user_id: &str,
        history_limit: u32,
    ) -> Result<Option<UserDetail>, StoreError> {
        let user_id = user_id.to_owned();
        self.scan(move |conn| console::user_detail(conn, &user_id, history_limit)).await
    }

    async fn create_user(
        &self,
        user: SandboxUser,
        now_ms: i64,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.write(move |conn| console::create_user(conn, &user, now_ms)).await
    }

    async fn top_up(
        &self,
        user_id: &str,
        amount: Fen,
        now_ms: i64,
    ) -> Result<Result<Fen, Rejection>, StoreError> {
        let user_id = user_id.to_owned();
        self.write(move |conn| console::top_up(conn, &user_id, amount, now_ms)).await
    }

    async fn append_request_log(&self, entries: Vec<LogEntry>) -> Result<(), StoreError> {
        self.write(move |conn| console::append_request_log(conn, &entries)).await
    }

    async fn request_log(&self, filter: LogFilter) -> Result<Vec<LoggedRequest>, StoreError> {
        self.scan(move |conn| console::request_log(conn, &filter)).await
    }

    async fn request_log_entry(&self, log_id: i64) -> Result<Option<LoggedRequest>, StoreError> {
        self.scan(move |conn| console::request_log_entry(conn, log_id)).await
    }

    async fn prune_request_log(
        &self,
        retention: Retention,
        wall_now_ms: i64,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| console::prune_request_log(conn, retention, wall_now_ms)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Issue 16, item 9: a point lookup runs on the caller's executor thread, so there it must
    /// not wait for a lock held elsewhere (a checkpoint, a backup, an exclusive connection):
    /// with SQLite's busy timeout it would freeze every request on that thread for up to 5 s.
    /// The lookup's first attempt runs with no busy wait; when SQLite answers busy, it runs again
    /// on a blocking thread with the full timeout. The busy answer is SQLite's own error value,
    /// returned by the query at its first attempt: an idle WAL connection (the store's own)
    /// keeps every other connection from taking the lock that would make SQLite answer it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_busy_lookup_waits_off_the_executor_thread_and_not_on_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("hongbao.db")).expect("store");
        let caller = std::thread::current().id();
        let seen: Arc<Mutex<Vec<(std::thread::ThreadId, i64)>>> = Arc::default();
        let record = Arc::clone(&seen);
        let answer = store
            .read(move |conn| {
                let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
                let mut seen = record.lock().expect("lock");
                seen.push((std::thread::current().id(), busy_ms));
                if seen.len() == 1 {
                    return Err(StoreError::from(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("database is locked".into()),
                    )));
                }
                Ok(busy_ms)
            })
            .await
            .expect("answered on the second attempt");
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0], (caller, 0), "the executor thread's attempt never waits for a lock");
        assert_ne!(seen[1].0, caller, "the retry runs on a blocking thread");
        assert_eq!(seen[1].1, BUSY_TIMEOUT.as_millis() as i64, "with the full busy timeout");
        assert_eq!(answer, 5_000);
        // Scans, always on a blocking thread, keep the full timeout.
        let scanned = store
            .scan(|conn| Ok(conn.query_row("PRAGMA busy_timeout", [], |row| row.get::<_, i64>(0))?))
            .await
            .expect("scan");
        assert_eq!(scanned, 5_000);
    }
}

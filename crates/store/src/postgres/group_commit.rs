//! Group commit for the money commands: one writer thread per process runs the commands that
//! arrive together in one transaction, each inside its own `SAVEPOINT`, and answers them after
//! the single `COMMIT`.
//!
//! Why: a command locks the rows it moves money through (the packet, the payer's account) until
//! its transaction commits, and a commit waits for a WAL flush. One transaction per command made
//! every command on a hot row (one packet and its 1,000 claimers, the one merchant account every
//! agreement.pay debits) wait for the previous command's flush: a few hundred commands a second.
//! In one transaction, a batch of commands on that row shares one flush, as the SQLite writer's
//! group commit does.
//!
//! Correctness is the per-command path's: the same command code, READ COMMITTED, the same locks
//! and guards. A command refused by the ledger rolls back to its savepoint alone. A command that
//! meets a concurrent identical request (a unique race), a lock it cannot get in time
//! (`LOCK_TIMEOUT`) or any database error is not decided in the batch: the batch goes on without
//! it (or, when the transaction itself is lost, is rolled back whole) and such commands then run
//! alone through the retrying per-command path. Nobody is answered before the batch's COMMIT
//! returned.
//!
//! Batches of several processes: a batch first locks the rows of all its commands, in the
//! store's one lock order (`locks::lock_batch`: packets, then accounts, each ascending), in one
//! round trip; its commands then find their rows locked. Batches of different processes wait
//! for each other there, in a line, never in a cycle: PostgreSQL detects no deadlock, and no
//! command waits for `LOCK_TIMEOUT` (what used to break those cycles, 200 ms at a time).
//!
//! Bounded: a caller waits at most `ANSWER_WITHIN` (then `Unavailable`, a retry-safe 20000, well
//! before the SDKs' 15 s); a command whose caller is gone (timed out, or its client hung up and
//! the request was dropped) is not started, in a batch or alone, so abandoned work holds no
//! connection and no lock.
//!
//! Fund, disburse and refund take the batch-shaped path (`shaped`): their facts loaded with the
//! locks, their plans written with one statement per table, no savepoint each; the other
//! commands, and these when that path hands them back, run one by one as described above.
//!
//! One writer per process keeps the batches of one process from waiting on each other's locks;
//! within a command, statements that do not depend on each other's answers are pipelined
//! (`commands`), so a command costs a few round trips.

use super::locks::{lock_batch, LockSet};
use super::shaped::{self, Shaped};
use super::{Attempt, Failure, PostgresStore, ANSWER_WITHIN};
use crate::Keep;
use crate::StoreError;
use deadpool_postgres::Transaction;
use hongbao_ledger::Outcome;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::IsolationLevel;

/// Most commands one transaction carries.
pub const BATCH_MAX: usize = 64;
/// Connections of the writer: one for the batch, the rest for commands run alone.
pub const WRITER_CONNECTIONS: usize = 4;
/// Most commands waiting for the writer; senders wait beyond it (backpressure, bounded memory).
pub const QUEUE_MAX: usize = 4096;
/// How long a batch waits for the rows of all its commands (`lock_batch`). Other processes'
/// batches hold them for a few milliseconds each; a wait this long means a stalled holder.
pub const LOCK_WAIT_BATCH: &str = "500ms";
/// How long a command in a batch waits for a lock before it is taken out of the batch and run
/// alone. Once the batch holds its rows, what a command still waits for was not foreseen (a
/// unique key an identical request in another batch is inserting).
pub const LOCK_TIMEOUT: &str = "200ms";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A command's code, as the per-command path runs it.
pub(crate) type Command<T> =
    Box<dyn for<'a> Fn(&'a Transaction<'a>) -> Attempt<'a, T> + Send + Sync + 'static>;

/// One command waiting for a batch, with its caller's reply channel.
trait Job: Send {
    /// One attempt inside the batch. `Ok(true)` keeps its writes, `Ok(false)` rolls them back;
    /// the result is held until the batch commits.
    fn run<'a>(&'a mut self, tx: &'a Transaction<'a>) -> BoxFuture<'a, Result<bool, Failure>>;
    /// Answers the caller after COMMIT (`None`) or with the error that lost the batch.
    fn finish(self: Box<Self>, commit_error: Option<StoreError>);
    /// Runs the command in a transaction of its own (the retrying path) and answers the caller.
    fn run_alone(self: Box<Self>, store: PostgresStore) -> BoxFuture<'static, ()>;
    /// The span of the request that sent it.
    fn span(&self) -> &tracing::Span;
    /// The rows the command may change.
    fn locks(&self) -> &LockSet;
    /// Nobody waits for the answer any more: the caller's deadline passed or the caller is gone
    /// (its request was dropped when the client hung up).
    fn abandoned(&self) -> bool;
    /// The command, when the batch-shaped path (`shaped`) can run it.
    fn shaped(&self) -> Option<&Shaped>;
    /// Holds the batch-shaped path's answer until the batch commits.
    fn set_shaped(&mut self, answer: Result<Outcome, StoreError>);
}

type Jobs = Vec<Box<dyn Job>>;

/// A batch-shaped command, and how its outcome becomes the caller's answer.
pub(crate) type ShapedAnswer<T> = (Shaped, fn(Outcome) -> T);

struct TypedJob<T> {
    command: std::sync::Arc<Command<T>>,
    shaped: Option<ShapedAnswer<T>>,
    locks: LockSet,
    deadline: Instant,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
    /// The caller's span (its request id), for what is logged of the command on the writer.
    span: tracing::Span,
}

impl<T: Send + 'static> Job for TypedJob<T> {
    fn run<'a>(&'a mut self, tx: &'a Transaction<'a>) -> BoxFuture<'a, Result<bool, Failure>> {
        Box::pin(async move {
            let (keep, value) = match (self.command)(tx).await? {
                Keep::Commit(value) => (true, value),
                Keep::Rollback(value) => (false, value),
            };
            self.result = Some(Ok(value));
            Ok(keep)
        })
    }

    fn finish(self: Box<Self>, commit_error: Option<StoreError>) {
        let answer = crate::batch::answer(commit_error, self.result);
        // The caller may be gone (client disconnected); an identical retry replays the outcome.
        let _ = self.reply.send(answer);
    }

    fn run_alone(self: Box<Self>, store: PostgresStore) -> BoxFuture<'static, ()> {
        use tracing::Instrument;
        let span = self.span.clone();
        Box::pin(
            async move {
                let TypedJob { command, locks, deadline, reply, .. } = *self;
                // Its rows first, in the lock order, as in a batch: the command's own first lock
                // (a payer's balance) may come later in that order than a payee's account.
                let locks = std::sync::Arc::new(locks);
                let answer = store
                    .write_until(deadline, &|| reply.is_closed(), |tx| {
                        let (locks, command) = (std::sync::Arc::clone(&locks), command.clone());
                        Box::pin(async move {
                            lock_batch(tx, &locks, None, None).await?;
                            command(tx).await
                        })
                    })
                    .await;
                let _ = reply.send(answer);
            }
            .instrument(span),
        )
    }

    fn span(&self) -> &tracing::Span {
        &self.span
    }

    fn locks(&self) -> &LockSet {
        &self.locks
    }

    fn abandoned(&self) -> bool {
        self.reply.is_closed() || Instant::now() >= self.deadline
    }

    fn shaped(&self) -> Option<&Shaped> {
        self.shaped.as_ref().map(|(command, _)| command)
    }

    fn set_shaped(&mut self, answer: Result<Outcome, StoreError>) {
        if let Some((_, into)) = &self.shaped {
            self.result = Some(answer.map(*into));
        }
    }
}

/// The sending side of the writer; cheap to clone.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// The writer's pool, shared with its thread (for the metrics only).
    pool: deadpool_postgres::Pool,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own, with its own connections.
    ///
    /// Why a thread: the gateway's executor threads spend most of their time signing answers
    /// (a third of a millisecond each). A writer task among them waited for a free thread after
    /// every round trip to the database, so a command of four round trips took over a
    /// millisecond; on its own thread (and its connections' I/O with it) it is woken as soon as
    /// the database answers, as the SQLite writer thread is.
    pub(crate) fn start(
        config: tokio_postgres::Config,
        tls: postgres_openssl::MakeTlsConnector,
    ) -> Result<GroupCommit, StoreError> {
        let (jobs, receiver) = mpsc::channel(QUEUE_MAX);
        let pool = super::pool(config, tls, WRITER_CONNECTIONS)?;
        let shared = pool.clone();
        std::thread::Builder::new()
            .name("hongbao-pg-writer".into())
            .spawn(move || {
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(err) => {
                            // Dropping the receiver answers every caller with Unavailable.
                            tracing::error!(error = %err, "cannot start the postgres writer");
                            return;
                        }
                    };
                let store = PostgresStore { pool, group: None };
                runtime.block_on(writer_loop(store, receiver));
            })
            .map_err(|err| StoreError::unavailable(format!("cannot start writer: {err}")))?;
        Ok(GroupCommit { jobs, pool: shared })
    }

    /// True once the writer thread has ended (every command would fail).
    pub(crate) fn is_stopped(&self) -> bool {
        self.jobs.is_closed()
    }

    /// The writer's connections and its queue, for the metrics.
    pub(crate) fn pools(&self) -> [crate::ops::PoolUse; 2] {
        let queued = QUEUE_MAX.saturating_sub(self.jobs.capacity());
        [
            super::pool_use("postgres_writer", &self.pool),
            crate::ops::PoolUse {
                pool: "postgres_writer_queue",
                in_use: queued as u64,
                idle: 0,
                max: QUEUE_MAX as u64,
                waiting: 0,
            },
        ]
    }

    /// Queues `command`, which may change the rows `locks` names, for the next batch and waits
    /// for its answer (after COMMIT), `ANSWER_WITHIN` at most.
    ///
    /// Past the deadline the answer is `Unavailable` even when the batch commits the command a
    /// moment later: an identical retry then replays it, as after any lost answer.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        locks: LockSet,
        shaped: Option<ShapedAnswer<T>>,
        command: Command<T>,
    ) -> Result<T, StoreError> {
        let deadline = Instant::now() + ANSWER_WITHIN;
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            command: std::sync::Arc::new(command),
            shaped,
            locks,
            deadline,
            result: None,
            reply,
            span: tracing::Span::current(),
        };
        let late = || {
            StoreError::unavailable(format!("postgres writer: no answer within {ANSWER_WITHIN:?}"))
        };
        let stopped = || StoreError::unavailable("postgres writer stopped");
        match tokio::time::timeout_at(deadline, self.jobs.send(Box::new(job))).await {
            Err(_) => return Err(late()),
            Ok(Err(_)) => return Err(stopped()),
            Ok(Ok(())) => {}
        }
        match tokio::time::timeout_at(deadline, answer).await {
            Err(_) => Err(late()),
            Ok(Err(_)) => Err(stopped()),
            Ok(Ok(answer)) => answer,
        }
    }
}

async fn writer_loop(store: PostgresStore, mut receiver: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(first) = receiver.recv().await {
        let batch = live(crate::batch::gather(first, &mut receiver, BATCH_MAX));
        metrics::histogram!("hongbao_store_batch_size", "store" => "postgres")
            .record(batch.len() as f64);
        if !batch.is_empty() {
            let started = std::time::Instant::now();
            run_batch(&store, batch).await;
            metrics::histogram!("hongbao_store_commit_seconds", "store" => "postgres")
                .record(started.elapsed());
        }
    }
}

/// The jobs somebody still waits for; the others are answered (to nobody) without running.
fn live(batch: Vec<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    let mut live = Vec::with_capacity(batch.len());
    for job in batch {
        if job.abandoned() {
            job.finish(Some(abandoned()));
        } else {
            live.push(job);
        }
    }
    live
}

fn abandoned() -> StoreError {
    StoreError::unavailable("not started: its caller is gone or its deadline passed")
}

async fn run_batch(store: &PostgresStore, batch: Vec<Box<dyn Job>>) {
    let alone = match store.client().await {
        Ok(mut client) => {
            let (mut alone, again) = run_shaped(&mut client, batch).await;
            if !again.is_empty() {
                alone.extend(run_one_by_one(&mut client, again).await);
            }
            alone
        }
        Err(err) => {
            for job in batch {
                job.finish(Some(err.clone()));
            }
            return;
        }
    };
    for job in alone {
        // On the writer's thread: the next batch starts meanwhile.
        tokio::spawn(job.run_alone(store.clone()));
    }
}

/// Runs the batch in one transaction, its batch-shaped commands (`shaped`) first and in one
/// go, without a savepoint: no subtransaction, so that the foreign-key checks on rows this
/// transaction has locked take no multixact. Returns (the commands it did not decide, to be run
/// alone; the whole batch, unanswered, when the batch-shaped part could not be written: its
/// locks not had in time, a guard, a unique race, any error. Nothing of it committed then, and
/// `run_one_by_one` runs it again).
async fn run_shaped(client: &mut deadpool_postgres::Object, batch: Jobs) -> (Jobs, Jobs) {
    let (candidates, mut one_by_one): (Jobs, Jobs) =
        batch.into_iter().partition(|job| job.shaped().is_some());
    if candidates.is_empty() {
        return (Vec::new(), one_by_one);
    }
    // Those that would read what an earlier one of the batch creates run one by one after the
    // others, seeing their rows.
    let composed =
        shaped::compose(&candidates.iter().filter_map(|job| job.shaped()).collect::<Vec<_>>());
    let mut together: Jobs = Vec::with_capacity(candidates.len());
    for (job, keep) in candidates.into_iter().zip(composed) {
        if keep {
            together.push(job);
        } else {
            one_by_one.push(job);
        }
    }
    let locks = LockSet::union(together.iter().chain(&one_by_one).map(|job| job.locks()));
    let mut ran: Jobs = Vec::with_capacity(together.len() + one_by_one.len());
    let mut alone: Jobs = Vec::new();
    let outcome: Result<bool, Failure> = async {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await?;
        let before = format!("SET LOCAL lock_timeout = '{LOCK_WAIT_BATCH}'");
        let after = format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'");
        let commands: Vec<&Shaped> = together.iter().filter_map(|job| job.shaped()).collect();
        let loaded = shaped::lock_and_load(&tx, &locks, &before, &after, &commands).await;
        let decided = match loaded {
            Ok(mut known) => shaped::decide_all(&commands, &mut known),
            Err(Failure::Db(err)) if err.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                tracing::info!(error = %err, "postgres batch could not lock its rows in time");
                return Ok(false);
            }
            Err(failure) => return Err(failure),
        };
        drop(commands);
        let Ok((answers, writes)) = decided else { return Ok(false) };
        let views = match shaped::write(&tx, &writes).await {
            Ok(views) => views,
            Err(failure) => {
                if let Failure::Db(err) = &failure {
                    tracing::debug!(error = %err, "postgres batch-shaped write failed");
                }
                return Ok(false);
            }
        };
        for (mut job, answer) in together.drain(..).zip(answers) {
            job.set_shaped(answer.outcome(&views));
            ran.push(job);
        }
        if !one_by_one.is_empty() {
            tx.batch_execute("SAVEPOINT command").await?;
            run_each(&tx, &mut one_by_one, &mut ran, &mut alone).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await;
    match outcome {
        Ok(true) => {
            shaped::count(true);
            for job in ran {
                job.finish(None);
            }
            (alone, Vec::new())
        }
        Ok(false) => {
            // Rolled back when the transaction was dropped; nothing of it was answered.
            shaped::count(false);
            let mut again = ran;
            again.append(&mut together);
            again.append(&mut one_by_one);
            again.append(&mut alone);
            (Vec::new(), again)
        }
        Err(failure) => {
            if let Failure::Db(err) = &failure {
                tracing::warn!(error = %err, "postgres batch rolled back");
            }
            alone.append(&mut ran);
            alone.append(&mut together);
            alone.append(&mut one_by_one);
            (alone, Vec::new())
        }
    }
}

/// Runs the batch in one transaction, each command in a savepoint of its own, and answers what
/// it decided; returns the commands it did not decide, to be run alone.
async fn run_one_by_one(client: &mut deadpool_postgres::Object, batch: Jobs) -> Jobs {
    // Every job is in one of these lists (or answered) before anything is awaited, so a lost
    // transaction loses no caller.
    let mut ran: Jobs = Vec::with_capacity(batch.len());
    let mut alone: Jobs = Vec::new();
    let locks = LockSet::union(batch.iter().map(|job| job.locks()));
    let mut pending = batch;
    let outcome: Result<(), Failure> = async {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await?;
        // The rows of every command first, in the lock order; then the commands' own shorter
        // lock timeout and the savepoint. One savepoint at a time, named alike: after
        // `ROLLBACK TO` it still stands for the next command; after a kept command `RELEASE`
        // and a new `SAVEPOINT` share a round trip.
        let before = format!("SET LOCAL lock_timeout = '{LOCK_WAIT_BATCH}'; SAVEPOINT locks");
        let after =
            format!("RELEASE locks; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SAVEPOINT command");
        match lock_batch(&tx, &locks, Some(&before), Some(&after)).await {
            Ok(()) => {}
            Err(Failure::Db(err)) if err.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                // A row stays locked by someone else (a stalled transaction, an operator's
                // session): the batch gives up its locks and goes on as each command locks its
                // own rows, so that row holds up only the commands that need it (they run
                // alone after `LOCK_TIMEOUT`). Batches rarely meet then; a cycle they might
                // still form is broken by that timeout, well before PostgreSQL's detector.
                tracing::info!(error = %err, "postgres batch could not lock its rows in time");
                tx.batch_execute(&format!(
                    "ROLLBACK TO locks; RELEASE locks; \
                     SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SAVEPOINT command"
                ))
                .await?;
            }
            Err(failure) => return Err(failure),
        }
        run_each(&tx, &mut pending, &mut ran, &mut alone).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            for job in ran {
                job.finish(None);
            }
        }
        Err(failure) => {
            // The transaction is lost (connection, server, or a savepoint statement failed):
            // nothing in it committed, unless COMMIT itself was cut off after the server
            // committed. Either way every command not yet answered runs alone: one that did
            // commit finds its own rows there and replays its outcome.
            if let Failure::Db(err) = &failure {
                tracing::warn!(error = %err, commands = ran.len() + alone.len(), "postgres batch rolled back");
            }
            alone.append(&mut ran);
            alone.append(&mut pending);
        }
    }
    alone
}

/// Runs `pending` one after the other, each in the savepoint `command` (established by the
/// caller): into `ran` what was decided (answered after COMMIT), into `alone` what the
/// database refused in the batch. A job is moved out of `pending` only once it has its place.
async fn run_each(
    tx: &Transaction<'_>,
    pending: &mut Jobs,
    ran: &mut Jobs,
    alone: &mut Jobs,
) -> Result<(), Failure> {
    while !pending.is_empty() {
        let mut job = pending.remove(0);
        if job.abandoned() {
            job.finish(Some(abandoned()));
            continue;
        }
        match job.run(tx).await {
            Ok(true) => {
                ran.push(job);
                tx.batch_execute("RELEASE command; SAVEPOINT command").await?;
            }
            Ok(false) => {
                ran.push(job);
                tx.batch_execute("ROLLBACK TO command").await?;
            }
            Err(Failure::Db(err)) => {
                // A unique race, a lock timeout, a deadlock, or anything else the database
                // said: the batch goes on without this command, which runs alone afterwards.
                job.span().in_scope(
                    || tracing::debug!(error = %err, "postgres command taken out of its batch"),
                );
                alone.push(job);
                tx.batch_execute("ROLLBACK TO command").await?;
            }
            Err(Failure::Store(err)) => {
                job.finish(Some(err));
                tx.batch_execute("ROLLBACK TO command").await?;
            }
        }
    }
    Ok(())
}

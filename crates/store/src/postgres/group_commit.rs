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
//! (`LOCK_TIMEOUT`, which also breaks deadlocks between the batches of several processes long
//! before PostgreSQL's detector would) or any database error is not decided in the batch: the
//! batch goes on without it (or, when the transaction itself is lost, is rolled back whole) and
//! such commands then run alone through the retrying per-command path. Nobody is answered before
//! the batch's COMMIT returned.
//!
//! One writer per process keeps the batches of one process from waiting on each other's locks;
//! within a command, statements that do not depend on each other's answers are pipelined
//! (`commands`), so a command costs a few round trips.

use super::{Attempt, Failure, PostgresStore};
use crate::Keep;
use crate::StoreError;
use deadpool_postgres::Transaction;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::IsolationLevel;

/// Most commands one transaction carries.
pub const BATCH_MAX: usize = 64;
/// Connections of the writer: one for the batch, the rest for commands run alone.
pub const WRITER_CONNECTIONS: usize = 4;
/// Most commands waiting for the writer; senders wait beyond it (backpressure, bounded memory).
pub const QUEUE_MAX: usize = 4096;
/// How long a command in a batch waits for a row lock before it is taken out of the batch.
/// Another process's batch holds its locks for a few milliseconds; waiting longer means a lock
/// cycle between batches, which the command breaks by running alone.
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
}

struct TypedJob<T> {
    command: std::sync::Arc<Command<T>>,
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
                let command = self.command;
                let answer = store.write(|tx| command(tx)).await;
                let _ = self.reply.send(answer);
            }
            .instrument(span),
        )
    }

    fn span(&self) -> &tracing::Span {
        &self.span
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

    /// Queues `command` for the next batch and waits for its answer (after COMMIT).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        command: Command<T>,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            command: std::sync::Arc::new(command),
            result: None,
            reply,
            span: tracing::Span::current(),
        };
        self.jobs
            .send(Box::new(job))
            .await
            .map_err(|_| StoreError::unavailable("postgres writer stopped"))?;
        answer.await.map_err(|_| StoreError::unavailable("postgres writer stopped"))?
    }
}

async fn writer_loop(store: PostgresStore, mut receiver: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(first) = receiver.recv().await {
        let batch = crate::batch::gather(first, &mut receiver, BATCH_MAX);
        metrics::histogram!("hongbao_store_batch_size", "store" => "postgres")
            .record(batch.len() as f64);
        let started = std::time::Instant::now();
        run_batch(&store, batch).await;
        metrics::histogram!("hongbao_store_commit_seconds", "store" => "postgres")
            .record(started.elapsed());
    }
}

async fn run_batch(store: &PostgresStore, batch: Vec<Box<dyn Job>>) {
    let alone = match store.client().await {
        Ok(mut client) => run_in_transaction(&mut client, batch).await,
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

/// Runs the batch in one transaction and answers what it decided; returns the commands it did
/// not decide, to be run alone.
async fn run_in_transaction(
    client: &mut deadpool_postgres::Object,
    batch: Vec<Box<dyn Job>>,
) -> Vec<Box<dyn Job>> {
    // Every job is in one of these lists (or answered) before anything is awaited, so a lost
    // transaction loses no caller.
    let mut ran: Vec<Box<dyn Job>> = Vec::with_capacity(batch.len());
    let mut alone: Vec<Box<dyn Job>> = Vec::new();
    let mut pending = batch.into_iter();
    let outcome: Result<(), Failure> = async {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await?;
        // One savepoint at a time, named alike: after `ROLLBACK TO` it still stands for the
        // next command; after a kept command `RELEASE` and a new `SAVEPOINT` share a round trip.
        tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SAVEPOINT command"))
            .await?;
        for mut job in pending.by_ref() {
            match job.run(&tx).await {
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
            alone.extend(ran);
            alone.extend(pending);
        }
    }
    alone
}

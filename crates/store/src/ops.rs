//! What operators see of a store: a trivial read for readiness probes (`Store::ping`), the
//! figures behind the metrics that need the database (`Store::gauges`: outbox depth, oldest
//! pending notification, oldest unfired deadline) and the use of each connection pool
//! (`Store::pools`), which costs no query.

/// Figures read from the database on each scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// Notifications waiting for delivery (PENDING).
    pub notify_pending: u64,
    /// When the oldest PENDING notification's state change committed.
    pub notify_oldest_pending_ms: Option<i64>,
    /// The earliest deadline not yet fired: an unpaid packet's pay deadline or a funded
    /// packet's expiry, whichever comes first (due or not).
    pub deadline_earliest_ms: Option<i64>,
}

/// One pool of connections (or the writer queue) as it is used right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// Which pool: `sqlite_readers`, `sqlite_writer`, `postgres`, `postgres_writer`.
    pub pool: &'static str,
    /// Connections lent out (or, for a writer, commands queued and running).
    pub in_use: u64,
    /// Connections open and idle.
    pub idle: u64,
    /// The bound of the pool (`*_MAX`).
    pub max: u64,
    /// Callers waiting for a connection.
    pub waiting: u64,
}

//! What PostgreSQL did, from its own exact counters rather than from time: the WAL it wrote
//! (`pg_current_wal_lsn`, bytes) and the transaction ids it handed out (every transaction and
//! subtransaction that wrote takes one: `pg_current_snapshot`'s xmax). Both are read at once
//! (no statistics collector lag) and do not move with the share of the cores the host gives,
//! so they compare builds even on a busy machine: a batch of 64 commands in one transaction
//! shows as 1/64 of an id per request, a savepoint per command as one more each.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    /// WAL position, bytes.
    pub wal_lsn_bytes: i64,
    /// The next transaction id.
    pub next_xid: i64,
}

const READ: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, \
     pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

/// A connection that reads the counters (opened before a window, so that opening it is not
/// in it).
pub struct Reader {
    client: tokio_postgres::Client,
}

impl Reader {
    /// `None` when the database cannot be reached.
    pub async fn connect(url: &str) -> Option<Reader> {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.ok()?;
        tokio::spawn(connection);
        Some(Reader { client })
    }

    /// The counters now.
    pub async fn read(&self) -> Option<Counters> {
        let row = self.client.query_one(READ, &[]).await.ok()?;
        Some(Counters { wal_lsn_bytes: row.try_get(0).ok()?, next_xid: row.try_get(1).ok()? })
    }
}

/// Work done between two readings, per request answered.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct PerRequest {
    pub wal_bytes: f64,
    pub xids: f64,
}

impl PerRequest {
    pub fn between(before: Counters, after: Counters, requests: u64) -> PerRequest {
        let requests = (requests as f64).max(1.0);
        PerRequest {
            wal_bytes: (after.wal_lsn_bytes - before.wal_lsn_bytes) as f64 / requests,
            // The reading itself takes no id (it writes nothing).
            xids: (after.next_xid - before.next_xid) as f64 / requests,
        }
    }
}

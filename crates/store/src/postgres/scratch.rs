//! Scratch databases for tests and try-outs: a new, uniquely named database on a server, dropped
//! again (with its connections) when the `ScratchDatabase` goes away. Tests point
//! `HONGBAO_TEST_PG` at a server where they may create databases (`scripts/pg-cluster.sh`
//! starts one) and each test gets its own.

use super::unavailable;
use crate::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable naming the server tests use: a URL whose user may create databases.
pub const TEST_SERVER_VAR: &str = "HONGBAO_TEST_PG";

/// A database created for one test; dropped on `Drop`.
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates a database on the server `server_url` names (its own database is only used to
    /// connect). Names are unique per process and per call, so parallel tests never collide.
    pub async fn create(server_url: &str) -> Result<ScratchDatabase, StoreError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "hongbao_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = connect(server_url).await?;
        // One statement per call: DROP and CREATE DATABASE refuse to run inside a transaction,
        // which a multi-statement string would be.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).await.map_err(unavailable)?;
        }
        Ok(ScratchDatabase {
            server_url: server_url.to_owned(),
            url: with_database(server_url, &name)?,
            name,
        })
    }

    /// The scratch database's own URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection of its own to the scratch database, for a test acting beside the processes
    /// under test (holding a lock, looking at `pg_stat_activity`).
    pub async fn client(&self) -> Result<tokio_postgres::Client, StoreError> {
        connect(&self.url).await
    }

    /// How many connections to the scratch database wait for a lock right now.
    pub async fn lock_waiters(&self) -> Result<i64, StoreError> {
        let admin = connect(&self.server_url).await?;
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&self.name],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.get(0))
    }

    /// How many deadlocks PostgreSQL detected in this database (`pg_stat_database.deadlocks`).
    /// Backends add theirs to the count when they end, so this first waits (up to 10 s) until no
    /// connection to the database is left: call it after the processes using it stopped.
    pub async fn deadlocks(&self) -> Result<i64, StoreError> {
        let admin = connect(&self.server_url).await?;
        for _ in 0..200 {
            let open: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                    &[&self.name],
                )
                .await
                .map_err(unavailable)?
                .get(0);
            if open == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let row = admin
            .query_opt("SELECT deadlocks FROM pg_stat_database WHERE datname = $1", &[&self.name])
            .await
            .map_err(unavailable)?;
        Ok(row.map_or(0, |row| row.get(0)))
    }

    /// How many lines of the server's log that name this database contain `text`; `None` when
    /// the log cannot be read here (no `logging_collector`, no database name in
    /// `log_line_prefix`, or a server on another machine). `scripts/pg-cluster.sh` sets both.
    pub async fn server_log_count(&self, text: &str) -> Result<Option<usize>, StoreError> {
        let admin = connect(&self.server_url).await?;
        let row = admin
            .query_one(
                "SELECT pg_current_logfile(), current_setting('log_line_prefix'), \
                 current_setting('data_directory')",
                &[],
            )
            .await
            .map_err(unavailable)?;
        let (file, prefix, data): (Option<String>, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let Some(file) = file.filter(|_| prefix.contains("%d ")) else { return Ok(None) };
        let Ok(log) = std::fs::read(std::path::Path::new(&data).join(file)) else {
            return Ok(None);
        };
        let database = format!(" {} ", self.name);
        Ok(Some(
            String::from_utf8_lossy(&log)
                .lines()
                .filter(|line| line.contains(&database) && line.contains(text))
                .count(),
        ))
    }

    /// Drops the database now, ending the connections still open to it.
    pub async fn drop_now(self) -> Result<(), StoreError> {
        let result = drop_database(&self.server_url, &self.name).await;
        std::mem::forget(self);
        result
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime: drop on a thread of its own.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(drop_database(&server_url, &name)).err()
        });
        if let Ok(Some(err)) = dropper.join() {
            eprintln!("hongbao: could not drop scratch database {}: {err}", self.name);
        }
    }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    // The server's own TLS parameters (sslmode, sslrootcert) apply, as for the store.
    let (mut config, tls) = super::tls::parse(url)?;
    config.connect_timeout(super::CONNECT_TIMEOUT);
    let (client, connection) = config.connect(tls).await.map_err(unavailable)?;
    tokio::spawn(connection);
    Ok(client)
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    let admin = connect(server_url).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .map_err(unavailable)
}

/// `url` with its database replaced by `database` (URL form `postgres://…/db?…` only).
fn with_database(url: &str, database: &str) -> Result<String, StoreError> {
    let bad = || StoreError::unavailable(format!("{url:?} is not a postgres://host/database URL"));
    let scheme_end = url.find("://").ok_or_else(bad)? + 3;
    let (head, query) = match url.find('?') {
        Some(at) => (&url[..at], &url[at..]),
        None => (url, ""),
    };
    let authority_end =
        head[scheme_end..].find('/').map(|at| scheme_end + at).unwrap_or(head.len());
    Ok(format!("{}/{database}{query}", &head[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_keeping_host_and_options() {
        let cases = [
            ("postgres://u@127.0.0.1:5432/postgres", "postgres://u@127.0.0.1:5432/x"),
            ("postgresql://u:p@h/db?sslmode=disable", "postgresql://u:p@h/x?sslmode=disable"),
            ("postgres://h:1", "postgres://h:1/x"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "x").ok().as_deref(), Some(expected), "{url}");
        }
    }
}

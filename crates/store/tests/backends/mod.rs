//! The stores every store test runs against: a fresh SQLite file, and a fresh PostgreSQL
//! database on the server `HONGBAO_TEST_PG` names (`scripts/pg-cluster.sh start` prints one),
//! created for the test and dropped after it. Without such a server the PostgreSQL half prints
//! why it skips; under `CI=true` it fails instead, so CI never passes by skipping.

#![allow(dead_code, reason = "each test file uses its own part of the harness")]

use hongbao_store::postgres::scratch::{ScratchDatabase, TEST_SERVER_VAR};
use hongbao_store::{PostgresStore, SqliteStore, Store};
use std::sync::{Arc, Once};

/// Which implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty store, with what keeps its database alive until the test ends.
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    // Dropped after `store`: the database outlives the handles to it.
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<ScratchDatabase>,
}

impl TestStore {
    /// Another handle on the same database, as a second gateway process would open it: its own
    /// connection pool for PostgreSQL. SQLite has one writer per file, so it shares the store.
    pub async fn another_process(&self) -> Arc<dyn Store> {
        match &self.postgres {
            Some(database) => {
                Arc::new(PostgresStore::connect(database.url()).await.expect("second pool"))
            }
            None => Arc::clone(&self.store),
        }
    }
}

impl TestStore {
    /// The PostgreSQL database's URL (`None` for SQLite), for a test's own raw connection.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(ScratchDatabase::url)
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

fn skip(reason: &str) {
    assert!(!in_ci(), "CI=true and PostgreSQL tests cannot run: {reason}");
    static SAID: Once = Once::new();
    // Written to stderr directly: libtest captures `eprintln!` of passing tests, and a skip
    // must be seen.
    SAID.call_once(|| {
        let line = format!("skipping the PostgreSQL store tests: {reason}\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    });
}

/// A fresh store of `backend`; `None` (after printing why) when PostgreSQL cannot be had.
pub async fn fresh(backend: Backend) -> Option<TestStore> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteStore::open(&dir.path().join("test.db")).expect("sqlite opens");
            Some(TestStore {
                backend,
                store: Arc::new(store),
                _sqlite_dir: Some(dir),
                postgres: None,
            })
        }
        Backend::Postgres => {
            let server = match std::env::var(TEST_SERVER_VAR) {
                Ok(url) if !url.is_empty() => url,
                _ => {
                    skip(&format!(
                        "{TEST_SERVER_VAR} is not set (scripts/pg-cluster.sh start prints a URL)"
                    ));
                    return None;
                }
            };
            let database = match ScratchDatabase::create(&server).await {
                Ok(database) => database,
                Err(err) => {
                    skip(&format!("cannot create a database on {TEST_SERVER_VAR}: {err}"));
                    return None;
                }
            };
            let store = PostgresStore::connect(database.url()).await.expect("postgres opens");
            Some(TestStore {
                backend,
                store: Arc::new(store),
                _sqlite_dir: None,
                postgres: Some(database),
            })
        }
    }
}

/// Both stores, fresh: SQLite always, PostgreSQL when it can be had.
pub async fn each_store() -> Vec<TestStore> {
    let mut stores = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        stores.extend(fresh(backend).await);
    }
    stores
}

/// A private PostgreSQL cluster of `scripts/pg-cluster.sh` (fsync off), for tests that stop,
/// pause or reconfigure their server, which the shared `HONGBAO_TEST_PG` one must not be:
/// stopped and deleted when dropped.
pub struct PrivateCluster {
    /// The cluster's folder (its `tls/` holds the CA of a TLS cluster).
    pub dir: std::path::PathBuf,
}

impl PrivateCluster {
    /// Starts a cluster in a temporary folder named after `name`, with `env` for the script
    /// (`PG_CLUSTER_TLS=1`); returns it and its URL, or why it could not start.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Result<(PrivateCluster, String), String> {
        let dir = std::env::temp_dir().join(format!("hongbao-{name}-{}", std::process::id()));
        let output = std::process::Command::new("bash")
            .arg(Self::script())
            .arg("start")
            .arg(&dir)
            .env("PG_CLUSTER_FAST", "1")
            .envs(env.iter().copied())
            .output()
            .map_err(|err| format!("cannot run pg-cluster.sh: {err}"))?;
        let cluster = PrivateCluster { dir };
        if !output.status.success() {
            return Err(format!(
                "pg-cluster.sh start failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok((cluster, String::from_utf8_lossy(&output.stdout).trim().to_owned()))
    }

    /// Runs `pg-cluster.sh ACTION` (`pause`, `resume`, `stop`) on it; true when it succeeded.
    pub fn run(&self, action: &str) -> bool {
        std::process::Command::new("bash")
            .arg(Self::script())
            .arg(action)
            .arg(&self.dir)
            .status()
            .is_ok_and(|status| status.success())
    }

    fn script() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster.sh")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}

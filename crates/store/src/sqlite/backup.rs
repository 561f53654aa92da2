//! Backups of a running SQLite store and checks of a copy (`hongbao backup`, `hongbao verify`).
//!
//! `backup` uses SQLite's online backup API and copies every page in one step, that is inside one
//! read transaction: the copy is the database as of one commit, while the server's writer goes on
//! (WAL readers never block the writer, nor it them). A file copy of a live WAL database is not
//! a backup: the newest commits may sit in the `-wal` file, and the two files are never copied at
//! one instant. The copy is switched to `journal_mode=DELETE`, so it is one self-contained file
//! (a server opening it switches it back to WAL), written beside the target and renamed into
//! place, so a half-written backup never carries the target's name.
//!
//! `open_copy` opens a copy read-only, runs SQLite's `integrity_check` and reads the ledger
//! snapshot the money invariants look at.

use crate::StoreError;
use hongbao_ledger::LedgerSnapshot;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a backup step that met a busy source is tried again.
pub const BUSY_ATTEMPTS_MAX: u32 = 50;

/// What a finished backup wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The schema version it carries.
    pub schema_version: i64,
}

/// A copy, opened read-only and checked.
#[derive(Debug)]
pub struct CopyReport {
    /// The schema version it carries.
    pub schema_version: i64,
    /// Everything the money invariants look at.
    pub snapshot: LedgerSnapshot,
}

fn unavailable(what: &str, path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(format!("{what} {}: {err}", path.display()))
}

/// Copies the database at `source` to `target` (which must not exist) while it is in use.
pub fn backup(source: &Path, target: &Path) -> Result<BackupReport, StoreError> {
    if target.exists() {
        return Err(unavailable("will not overwrite", target, "it exists"));
    }
    // Read-write without CREATE: a mistyped source path fails instead of backing up an empty file.
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|err| unavailable("cannot open", source, err))?;
    from.busy_timeout(Duration::from_secs(5))?;
    let schema_version =
        schema_version(&from).map_err(|err| unavailable("not a hongbao database", source, err))?;
    let mut partial_name = target.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = PathBuf::from(partial_name);
    let _ = std::fs::remove_file(&partial);
    let result = (|| -> Result<(), StoreError> {
        let mut to = Connection::open(&partial)?;
        copy_all_pages(&from, &mut to)?;
        let mode: String =
            to.pragma_update_and_check(None, "journal_mode", "DELETE", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(StoreError::unavailable(format!("backup journal_mode stayed {mode}")));
        }
        to.close().map_err(|(_, err)| StoreError::from(err))?;
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(|err| unavailable("cannot sync", &partial, err))?;
        std::fs::rename(&partial, target)
            .map_err(|err| unavailable("cannot rename to", target, err))?;
        if let Some(folder) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the folder is synced.
            let _ = std::fs::File::open(folder).and_then(|dir| dir.sync_all());
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    let bytes = std::fs::metadata(target).map(|meta| meta.len()).unwrap_or(0);
    Ok(BackupReport { path: target.to_owned(), bytes, schema_version })
}

/// All pages in one step: one read transaction, so one consistent state however busy the writer
/// is (a step-by-step backup restarts whenever another connection writes, and might never end).
fn copy_all_pages(from: &Connection, to: &mut Connection) -> Result<(), StoreError> {
    let backup = Backup::new(from, to)?;
    for _ in 0..BUSY_ATTEMPTS_MAX {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // Busy or locked (a checkpoint holding a lock for a moment), or More, which a
            // step of -1 only returns when it was interrupted: step again.
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(StoreError::unavailable("backup: the source stayed busy"))
}

fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))
}

/// Opens the copy at `path` read-only, checks it page by page and reads its ledger snapshot.
/// A copy from another schema version is refused: the snapshot reads this build's tables.
pub fn open_copy(path: &Path) -> Result<CopyReport, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|err| unavailable("cannot open", path, err))?;
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if integrity != ["ok"] {
        return Err(StoreError::Corrupt(format!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            integrity.join("; ")
        )));
    }
    let schema_version =
        schema_version(&conn).map_err(|err| unavailable("not a hongbao database", path, err))?;
    let expected = super::schema::SCHEMA_VERSION as i64;
    if schema_version != expected {
        return Err(StoreError::Corrupt(format!(
            "{} has schema version {schema_version}, this build reads {expected}",
            path.display()
        )));
    }
    let snapshot = super::in_read_transaction(&conn, super::commands::snapshot)?;
    Ok(CopyReport { schema_version, snapshot })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SandboxUser, SqliteStore, Store};
    use hongbao_money::Fen;

    #[tokio::test]
    async fn a_backup_is_a_checked_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("live.db")).expect("store");
        let user = SandboxUser {
            user_id: "2088000000000001".into(),
            logon_id: "u@x.com".into(),
            password: "p".into(),
            opening_balance: Fen::from_fen(12_345),
            real_name: None,
        };
        store.ensure_user(user, 0).await.expect("user");
        let target = dir.path().join("copy.db");
        let report = backup(store.path(), &target).expect("backup");
        assert!(report.bytes > 0);
        assert!(!dir.path().join("copy.db.partial").exists());
        let copy = open_copy(&target).expect("copy opens");
        assert_eq!(copy.snapshot.users_total(), Fen::from_fen(12_345));
        assert!(hongbao_ledger::check_invariants(&copy.snapshot).is_empty());
        let again = backup(store.path(), &target);
        assert!(
            again.is_err_and(|err| err.is_retry_safe() && err.to_string().contains("overwrite"))
        );
        let missing = backup(&dir.path().join("nope.db"), &dir.path().join("x.db"));
        assert!(missing.is_err(), "a missing source is an error, not an empty backup");
        std::fs::write(dir.path().join("junk.db"), b"not a database at all").expect("write");
        assert!(open_copy(&dir.path().join("junk.db")).is_err());
    }
}

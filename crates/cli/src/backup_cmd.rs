//! `hongbao backup --to FILE` (a consistent copy of a running SQLite store) and `hongbao verify
//! FILE` (opens a copy read-only, checks it, runs the money invariants, prints the totals).
//! PostgreSQL is backed up with its own tools (`pg_dump`; docs/operations.md).

use crate::config::Database;
use anyhow::{anyhow, bail, Result};
use hongbao_ledger::{Account, OperationStatus};
use hongbao_money::Fen;
use hongbao_store::sqlite::backup;
use std::path::Path;

/// Backs up the configuration's database to `target`.
pub fn backup(database: &Database, target: &Path) -> Result<()> {
    let source = match database {
        Database::Sqlite(path) => path,
        Database::Postgres(_) => bail!(
            "the database is PostgreSQL: back it up with pg_dump (docs/operations.md, \"Backup and restore\")"
        ),
    };
    let report = backup::backup(source, target)?;
    println!(
        "backed up {} to {} ({} bytes, schema version {}); check it with: hongbao verify {}",
        source.display(),
        report.path.display(),
        report.bytes,
        report.schema_version,
        report.path.display()
    );
    Ok(())
}

/// Checks the copy at `path`; an error when it is damaged or an invariant is broken.
pub fn verify(path: &Path) -> Result<()> {
    let copy = backup::open_copy(path)?;
    let snapshot = &copy.snapshot;
    let mut custody = 0i64;
    let mut issuance = 0i64;
    let mut users = 0usize;
    for (account, balance) in &snapshot.balances {
        match account {
            Account::User(_) => users += 1,
            Account::Custody(_) => custody += balance.fen(),
            Account::Issuance => issuance += balance.fen(),
        }
    }
    let users_total = snapshot.users_total();
    let succeeded =
        snapshot.operations.iter().filter(|op| op.status == OperationStatus::Success).count();
    println!(
        "{}: SQLite integrity check ok, schema version {}",
        path.display(),
        copy.schema_version
    );
    println!("  users:      {users:>9}  holding {users_total}");
    println!("  packets:    {:>9}  custody {}", snapshot.packets.len(), Fen::from_fen(custody));
    println!("  issued:     {:>9}  issuance balance {}", "", Fen::from_fen(issuance));
    println!("  operations: {:>9}  ({succeeded} SUCCESS)", snapshot.operations.len());
    println!("  entries:    {:>9}", snapshot.entries.len());
    let violations = hongbao_ledger::check_invariants(snapshot);
    if violations.is_empty() {
        println!("  money invariants 1-7 hold");
        return Ok(());
    }
    for violation in &violations {
        println!("  invariant {} broken: {}", violation.invariant, violation.detail);
    }
    Err(anyhow!("{} money invariant violation(s) in {}", violations.len(), path.display()))
}

//! What the two group-commit writers (SQLite's writer thread, PostgreSQL's writer) share: how a
//! batch is gathered and how a batched command is answered.

use crate::StoreError;
use tokio::sync::mpsc;

/// `first` and whatever else is already queued, up to `max` commands: a batch never waits for
/// more work, so a lone command commits at once.
pub(crate) fn gather<J>(first: J, receiver: &mut mpsc::Receiver<J>, max: usize) -> Vec<J> {
    let mut batch = vec![first];
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// The answer of a batched command once its batch ended: the error that lost the batch, else
/// the command's own result (`None`: it never ran).
pub(crate) fn answer<T>(
    commit_error: Option<StoreError>,
    result: Option<Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match (commit_error, result) {
        (Some(err), _) => Err(err),
        (None, Some(result)) => result,
        (None, None) => Err(StoreError::bug("command was not run")),
    }
}

//! The deadline scheduler: one loop that fires persisted deadlines (unpaid packets close at
//! pay_timeout, funded packets refund their remainder at expiry) by the injected clock.
//! Deadlines live in the store, so a restart loses none; a deadline passed while the server was
//! down fires at the next tick.

use crate::Gateway;
use hongbao_ledger::FiredDeadline;
use hongbao_store::StoreError;
use std::sync::Arc;
use std::time::Duration;

/// Most deadlines of each kind fired per tick (bounded transactions).
pub const FIRE_BATCH_MAX: u32 = 200;

/// One round at the gateway clock's now: fires what is due (at most `FIRE_BATCH_MAX` of each
/// kind), logs it and wakes the notify worker for what it queued.
pub async fn tick(gateway: &Gateway) -> Result<Vec<FiredDeadline>, StoreError> {
    let fired = gateway.store.fire_deadlines(gateway.clock.now_ms(), FIRE_BATCH_MAX).await?;
    for deadline in &fired {
        match deadline {
            FiredDeadline::Closed { auth_no } => {
                tracing::info!(%auth_no, "unpaid red packet closed")
            }
            FiredDeadline::Expired { auth_no, refunded } => {
                tracing::info!(%auth_no, %refunded, "red packet expired; remainder refunded")
            }
        }
    }
    if !fired.is_empty() {
        gateway.notify_wake.notify_one();
    }
    Ok(fired)
}

/// Runs until `shutdown` fires (after its current round); wake early with
/// `gateway.scheduler_wake`.
pub async fn run(
    gateway: Arc<Gateway>,
    poll_interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _running = gateway.health.start(&gateway.health.scheduler);
    loop {
        gateway.health.beat(&gateway.health.scheduler);
        if *shutdown.borrow() {
            return;
        }
        match tick(&gateway).await {
            // A full batch: more may be due at once.
            Ok(fired) if fired.len() as u32 >= FIRE_BATCH_MAX => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "firing deadlines failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll_interval) => {}
            _ = gateway.scheduler_wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

//! The one lock order of the PostgreSQL store, and the rows a batch of commands locks before any
//! of them runs.
//!
//! Two transactions wait on each other in a cycle only when they take row locks in different
//! orders. Every transaction here takes them in one order: packet rows (`fund_order`) by
//! ascending `auth_no`, then user accounts by ascending `account_id`. A single command locks its
//! packet, then its accounts (`commands`, `apply`); a group-commit batch locks the packets and
//! the accounts of *all* its commands first, in that order, in one round trip (`lock_batch`), so
//! that its commands then find their rows locked already, whatever order they come in. Without
//! that, a batch held the rows of its first commands while waiting for those of later ones,
//! which another process's batch held in the other order.
//!
//! What is locked, and how:
//!
//! - `FOR NO KEY UPDATE`, never `FOR UPDATE`: every insert that references a row (a posting its
//!   account, an operation its order) takes `FOR KEY SHARE` on it, which `FOR UPDATE` waits for.
//!   Two commands that had both posted to one account and then both asked `FOR UPDATE` waited
//!   for each other: the `deadlock detected` that several processes made PostgreSQL log.
//!   `FOR NO KEY UPDATE` is what an `UPDATE` of non-key columns takes anyway, and it excludes
//!   every other writer of the row just the same.
//! - Accounts are locked before the postings that reference them are inserted.
//! - Custody accounts are not in the batch's set: a packet's custody account is only ever
//!   written under that packet's lock, so nobody waits for it.
//! - The set is what a command *may* change, known from the command alone (its packet, its payer,
//!   its payee, a refunded packet's payer); a command refused by the ledger locked a few rows for
//!   nothing until COMMIT, which costs less than a second round trip per command.

use super::Failure;
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    Account, ClaimCommand, CompletePayment, DisburseCommand, FundCommand, OrderRef, PayeeRef,
    RefundCommand, ReturnCommand, SendCommand, TransferCommand,
};

/// The rows a command may change, as its own fields name them.
#[derive(Clone, Debug, Default)]
pub(crate) struct LockSet {
    /// Packets by auth_no.
    packets: Vec<String>,
    /// Packets by the merchant's `(app_id, out_order_no)`.
    packets_by_out_order_no: Vec<(String, String)>,
    /// Accounts by `account_id`.
    accounts: Vec<String>,
    /// The accounts of the users with these logon ids.
    logon_ids: Vec<String>,
    /// The accounts of the payers of these packets (by auth_no).
    payers_of: Vec<String>,
}

impl LockSet {
    /// A fund debits its payer (agreement.pay); the packet it creates is new.
    pub(crate) fn fund(cmd: &FundCommand) -> LockSet {
        LockSet {
            accounts: cmd.payer_user_id.iter().map(|user| user_account(user)).collect(),
            ..LockSet::default()
        }
    }

    /// A disburse changes its packet and credits its payee.
    pub(crate) fn disburse(cmd: &DisburseCommand) -> LockSet {
        let mut set = LockSet::default();
        match &cmd.packet {
            OrderRef::AuthNo(auth_no) => set.packets.push(auth_no.clone()),
            OrderRef::OutOrderNo(out_order_no) => {
                set.packets_by_out_order_no.push((cmd.app_id.clone(), out_order_no.clone()))
            }
        }
        set.payee(&cmd.payee);
        set
    }

    /// A fund.trans send moves no money until the payer confirms it (`payment`).
    pub(crate) fn send(_cmd: &SendCommand) -> LockSet {
        LockSet::default()
    }

    /// A fund.trans claim changes its send and credits its payee.
    pub(crate) fn claim(cmd: &ClaimCommand) -> LockSet {
        let mut set =
            LockSet { packets: vec![cmd.original_order_id.clone()], ..LockSet::default() };
        set.payee(&cmd.payee);
        set
    }

    /// A B2C transfer debits the merchant and credits its payee.
    pub(crate) fn transfer(cmd: &TransferCommand) -> LockSet {
        let mut set =
            LockSet { accounts: vec![user_account(&cmd.merchant_user_id)], ..LockSet::default() };
        set.payee(&cmd.payee);
        set
    }

    /// A fund.trans return changes its send and credits the send's payer.
    pub(crate) fn return_send(cmd: &ReturnCommand) -> LockSet {
        LockSet {
            packets: vec![cmd.order_id.clone()],
            payers_of: vec![cmd.order_id.clone()],
            ..LockSet::default()
        }
    }

    fn payee(&mut self, payee: &PayeeRef) {
        match payee {
            PayeeRef::UserId(user_id) => self.accounts.push(user_account(user_id)),
            PayeeRef::LogonId(logon_id) => self.logon_ids.push(logon_id.clone()),
            PayeeRef::Both { user_id, logon_id } => {
                self.accounts.push(user_account(user_id));
                self.logon_ids.push(logon_id.clone());
            }
        }
    }

    /// A refund changes its packet and credits the packet's payer.
    pub(crate) fn refund(cmd: &RefundCommand) -> LockSet {
        LockSet {
            packets: vec![cmd.auth_no.clone()],
            payers_of: vec![cmd.auth_no.clone()],
            ..LockSet::default()
        }
    }

    /// A payment confirmation changes its packet and debits the payer.
    pub(crate) fn payment(cmd: &CompletePayment) -> LockSet {
        LockSet {
            packets: vec![cmd.auth_no.clone()],
            accounts: vec![user_account(&cmd.payer_user_id)],
            ..LockSet::default()
        }
    }

    /// The payers of these packets get money back (expiry).
    pub(crate) fn payers_of(auth_nos: Vec<String>) -> LockSet {
        LockSet { payers_of: auth_nos, ..LockSet::default() }
    }

    /// Every row of `sets`.
    pub(crate) fn union<'s>(sets: impl IntoIterator<Item = &'s LockSet>) -> LockSet {
        let mut all = LockSet::default();
        for set in sets {
            all.packets.extend_from_slice(&set.packets);
            all.packets_by_out_order_no.extend_from_slice(&set.packets_by_out_order_no);
            all.accounts.extend_from_slice(&set.accounts);
            all.logon_ids.extend_from_slice(&set.logon_ids);
            all.payers_of.extend_from_slice(&set.payers_of);
        }
        all
    }
}

fn user_account(user_id: &str) -> String {
    Account::User(user_id.to_owned()).id()
}

/// The packets, in ascending auth_no order (`FOR NO KEY UPDATE` locks the rows in the order the
/// sort returns them). Each key is looked up through its own unique index.
const LOCK_PACKETS: &str = "SELECT auth_no FROM fund_order WHERE auth_no IN (\
     SELECT unnest($1::text[]) \
     UNION SELECT o.auth_no FROM fund_order o \
     JOIN unnest($2::text[], $3::text[]) AS k (app_id, out_order_no) \
     ON o.app_id = k.app_id AND o.out_order_no = k.out_order_no) \
     ORDER BY auth_no FOR NO KEY UPDATE";
/// Then the accounts, in ascending account_id order.
const LOCK_ACCOUNTS: &str = "SELECT account_id FROM account WHERE account_id IN (\
     SELECT unnest($1::text[]) \
     UNION SELECT 'user:' || user_id FROM sandbox_user WHERE logon_id = ANY($2::text[]) \
     UNION SELECT 'user:' || payer_user_id FROM fund_order \
     WHERE auth_no = ANY($3::text[]) AND payer_user_id IS NOT NULL) \
     ORDER BY account_id FOR NO KEY UPDATE";

/// Locks every row of `all` (the commands of a batch: `LockSet::union`), packets first, between
/// the simple statements `before` and `after`, all in one round trip.
pub(crate) async fn lock_batch(
    tx: &Transaction<'_>,
    all: &LockSet,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), Failure> {
    lock_batch_then(tx, all, before, after, async { Ok(()) }).await
}

/// `lock_batch`, then `then` (statements that must see the rows locked: the facts of the
/// batch's commands), still in the same round trip.
pub(crate) async fn lock_batch_then<T>(
    tx: &Transaction<'_>,
    all: &LockSet,
    before: Option<&str>,
    after: Option<&str>,
    then: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let (apps, out_order_nos): (Vec<&str>, Vec<&str>) = all
        .packets_by_out_order_no
        .iter()
        .map(|(app_id, out_order_no)| (app_id.as_str(), out_order_no.as_str()))
        .unzip();
    let packets = tx.prepare_cached(LOCK_PACKETS).await?;
    let accounts = tx.prepare_cached(LOCK_ACCOUNTS).await?;
    let lock_packets = async {
        if all.packets.is_empty() && apps.is_empty() {
            return Ok(());
        }
        tx.query(&packets, &[&all.packets, &apps, &out_order_nos]).await.map(drop)
    };
    let lock_accounts = async {
        if all.accounts.is_empty() && all.logon_ids.is_empty() && all.payers_of.is_empty() {
            return Ok(());
        }
        tx.query(&accounts, &[&all.accounts, &all.logon_ids, &all.payers_of]).await.map(drop)
    };
    let db = |result: Result<(), tokio_postgres::Error>| result.map_err(Failure::from);
    // Prepared above, so these are sent back to back in this order: the accounts' statement
    // runs once the packets are locked, `after` and `then` once both are. (A statement `then`
    // still has to prepare is sent when its preparation returns: later, never earlier.)
    let (_, _, _, _, value) = tokio::try_join!(
        biased;
        async { db(simple(tx, before).await) },
        async { db(lock_packets.await) },
        async { db(lock_accounts.await) },
        async { db(simple(tx, after).await) },
        then,
    )?;
    Ok(value)
}

async fn simple(tx: &Transaction<'_>, sql: Option<&str>) -> Result<(), tokio_postgres::Error> {
    match sql {
        Some(sql) => tx.batch_execute(sql).await,
        None => Ok(()),
    }
}

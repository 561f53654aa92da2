//! Batch-shaped group commit for the three commands that carry the load (fund, disburse,
//! refund): the facts of all of a batch's commands are loaded in one round trip, the ledger
//! decides each in turn, and all their plans are written with one statement per table
//! (`INSERT … SELECT FROM unnest(…)`, `UPDATE … FROM unnest(…)`) in a second one.
//!
//! Why: the per-command path sends a dozen statements per command, each in its own savepoint
//! (two more statements, and a subtransaction id once it writes). PostgreSQL's CPU per
//! statement, not per row, is most of what a disburse costs it, and so are the gateway's
//! wake-ups per round trip; and more than 64 subtransactions in one transaction overflow each
//! backend's subtransaction cache, which every other snapshot then pays for.
//!
//! What stays as it was: the decisions are the ledger's (`decide_fund`, `decide_disburse`,
//! `decide_refund`) over the same facts; rows are locked in the store's one lock order first
//! (`locks`); every change of an existing row is guarded by the state it was decided on and
//! every debit by the balance. What this file adds is bookkeeping, not rules: a later command in
//! the batch decides on the rows as the earlier commands' plans left them (`Known::apply`
//! copies a plan's packet counters and postings into the loaded rows), and a command that would
//! read a row an earlier command of the same batch creates (the same idempotency key twice, a
//! claim naming a packet funded in the same batch) waits for the next batch (`compose`), so
//! that nothing is decided on a row the facts could not contain.
//!
//! When anything in the written part fails (a guard, a unique race with another process, any
//! database error) it is rolled back to its savepoint and the commands run through the
//! per-command path in the same transaction, which decides and reports each one alone.

use super::locks::{self, LockSet};
use super::Failure;
use crate::rows::{operation_view, order_record, order_select, view_select};
use crate::{ids, StoreError};
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    decide_disburse, decide_fund, decide_refund, Account, Bug, Decision, DisburseCommand,
    DisburseFacts, FundCommand, FundFacts, NewIds, OperationKind, OperationRecord, OperationView,
    OrderRecord, OrderRef, OrderState, Outcome, PayeeRef, Plan, RefundCommand, RefundFacts,
    Rejection, UserRecord,
};
use hongbao_money::Fen;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_postgres::types::ToSql;

/// Batches written whole by this path, and batches it handed to the one-by-one path, since
/// the process started (`shaped_batches`).
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static HANDED_BACK: AtomicU64 = AtomicU64::new(0);

/// (batches written whole, batches handed back to the one-by-one path), for tests and
/// diagnostics.
pub fn shaped_batches() -> (u64, u64) {
    (WRITTEN.load(Ordering::Relaxed), HANDED_BACK.load(Ordering::Relaxed))
}

/// Counts a batch's way through (`shaped_batches`).
pub(crate) fn count(written: bool) {
    let counter = if written { &WRITTEN } else { &HANDED_BACK };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A command the batch-shaped path can run.
#[derive(Clone, Debug)]
pub(crate) enum Shaped {
    Fund(FundCommand),
    Disburse(DisburseCommand),
    Refund(RefundCommand),
}

/// A row a command creates or reads by its merchant-given key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// `fund_order (app_id, out_order_no)`: packets and disburse orders alike.
    Order(String, String),
    /// `fund_operation (auth_no, out_request_no)`.
    Operation(String, String),
}

impl Shaped {
    /// The idempotency key of what it may create.
    fn creates(&self) -> Key {
        match self {
            Shaped::Fund(cmd) => Key::Order(cmd.app_id.clone(), cmd.out_order_no.clone()),
            Shaped::Disburse(cmd) => Key::Order(cmd.app_id.clone(), cmd.out_order_no.clone()),
            Shaped::Refund(cmd) => Key::Operation(cmd.auth_no.clone(), cmd.out_request_no.clone()),
        }
    }

    /// Another merchant-given key it reads (a disburse naming its packet by out_order_no).
    fn reads(&self) -> Option<Key> {
        match self {
            Shaped::Disburse(DisburseCommand {
                app_id,
                packet: OrderRef::OutOrderNo(out_order_no),
                ..
            }) => Some(Key::Order(app_id.clone(), out_order_no.clone())),
            _ => None,
        }
    }
}

/// Which commands of a batch run in it (`true`) and which wait for the next batch: one whose
/// key an earlier command of the batch creates (an identical request twice, a claim on a packet
/// funded in the same batch) would be decided on facts loaded before that row existed.
pub(crate) fn compose(commands: &[&Shaped]) -> Vec<bool> {
    let mut created = HashSet::new();
    commands
        .iter()
        .map(|command| {
            let key = command.creates();
            let clash = created.contains(&key)
                || command.reads().is_some_and(|read| created.contains(&read));
            if !clash {
                created.insert(key);
            }
            !clash
        })
        .collect()
}

/// The rows a batch's decisions read, as loaded (and then as its earlier plans left them).
#[derive(Default)]
pub(crate) struct Known {
    orders: HashMap<String, OrderRecord>,
    by_key: HashMap<(String, String), String>,
    operations: HashMap<(String, String), OperationRecord>,
    users_by_id: HashMap<String, UserRecord>,
    users_by_logon_id: HashMap<String, UserRecord>,
    balances: HashMap<String, Fen>,
    /// Reserved (auth_no, operation_id) sequence numbers, one pair per command.
    sequences: std::vec::IntoIter<(i64, i64)>,
}

const ORDERS: &str = concat!(
    order_select!(),
    " WHERE o.auth_no IN (SELECT unnest($1::text[]) \
     UNION SELECT k.auth_no FROM fund_order k \
     JOIN unnest($2::text[], $3::text[]) AS w (app_id, out_order_no) \
     ON k.app_id = w.app_id AND k.out_order_no = w.out_order_no)"
);
const OPERATIONS: &str = "SELECT f.auth_no, f.out_request_no, f.operation_id, f.kind, \
     f.fingerprint FROM fund_operation f \
     JOIN unnest($1::text[], $2::text[]) AS w (auth_no, out_request_no) \
     ON f.auth_no = w.auth_no AND f.out_request_no = w.out_request_no";
const USERS: &str = "SELECT user_id, logon_id, real_name FROM sandbox_user \
     WHERE user_id = ANY($1::text[]) OR logon_id = ANY($2::text[])";
const BALANCES: &str =
    "SELECT account_id, balance_fen FROM account WHERE account_id = ANY($1::text[])";
const SEQUENCES: &str = "SELECT nextval('auth_no_seq'), nextval('operation_id_seq') \
     FROM generate_series(1, $1::int)";

/// What the facts statements look up.
#[derive(Default)]
struct Lookups {
    auth_nos: Vec<String>,
    key_apps: Vec<String>,
    key_out_order_nos: Vec<String>,
    operation_auth_nos: Vec<String>,
    operation_requests: Vec<String>,
    user_ids: Vec<String>,
    logon_ids: Vec<String>,
    accounts: Vec<String>,
}

impl Lookups {
    fn of(commands: &[&Shaped]) -> Lookups {
        let mut lookups = Lookups::default();
        for command in commands {
            match command {
                Shaped::Fund(cmd) => {
                    lookups.key(&cmd.app_id, &cmd.out_order_no);
                    if let Some(payer) = &cmd.payer_user_id {
                        lookups.accounts.push(Account::User(payer.clone()).id());
                    }
                }
                Shaped::Disburse(cmd) => {
                    match &cmd.packet {
                        OrderRef::AuthNo(auth_no) => lookups.auth_nos.push(auth_no.clone()),
                        OrderRef::OutOrderNo(out_order_no) => {
                            lookups.key(&cmd.app_id, out_order_no)
                        }
                    }
                    lookups.key(&cmd.app_id, &cmd.out_order_no);
                    match &cmd.payee {
                        PayeeRef::UserId(user_id) => lookups.user_ids.push(user_id.clone()),
                        PayeeRef::LogonId(logon_id) => lookups.logon_ids.push(logon_id.clone()),
                        PayeeRef::Both { user_id, logon_id } => {
                            lookups.user_ids.push(user_id.clone());
                            lookups.logon_ids.push(logon_id.clone());
                        }
                    }
                }
                Shaped::Refund(cmd) => {
                    lookups.auth_nos.push(cmd.auth_no.clone());
                    lookups.operation_auth_nos.push(cmd.auth_no.clone());
                    lookups.operation_requests.push(cmd.out_request_no.clone());
                }
            }
        }
        lookups
    }

    fn key(&mut self, app_id: &str, out_order_no: &str) {
        self.key_apps.push(app_id.to_owned());
        self.key_out_order_nos.push(out_order_no.to_owned());
    }
}

/// Locks the batch's rows (`locks::lock_batch`, between `before` and `after`) and loads the
/// facts of `commands`, all in one round trip.
pub(crate) async fn lock_and_load(
    tx: &Transaction<'_>,
    all: &LockSet,
    before: &str,
    after: &str,
    commands: &[&Shaped],
) -> Result<Known, Failure> {
    let lookups = Lookups::of(commands);
    let statements = [ORDERS, OPERATIONS, USERS, BALANCES, SEQUENCES];
    for sql in statements {
        tx.prepare_cached(sql).await?;
    }
    let count = i32::try_from(commands.len()).unwrap_or(i32::MAX);
    let load = async {
        let l = &lookups;
        let orders_params: [&(dyn ToSql + Sync); 3] =
            [&l.auth_nos, &l.key_apps, &l.key_out_order_nos];
        let operations_params: [&(dyn ToSql + Sync); 2] =
            [&l.operation_auth_nos, &l.operation_requests];
        let users_params: [&(dyn ToSql + Sync); 2] = [&l.user_ids, &l.logon_ids];
        let balances_params: [&(dyn ToSql + Sync); 1] = [&l.accounts];
        let sequences_params: [&(dyn ToSql + Sync); 1] = [&count];
        let (orders, operations, users, balances, sequences) = tokio::try_join!(
            biased;
            query(tx, ORDERS, &orders_params),
            query(tx, OPERATIONS, &operations_params),
            query(tx, USERS, &users_params),
            query(tx, BALANCES, &balances_params),
            query(tx, SEQUENCES, &sequences_params),
        )?;
        let mut known = Known::default();
        for row in &orders {
            let order = order_record(row).map_err(Failure::Store)?;
            known
                .by_key
                .insert((order.app_id.clone(), order.out_order_no.clone()), order.auth_no.clone());
            known.orders.insert(order.auth_no.clone(), order);
        }
        for row in &operations {
            let kind: String = row.try_get(3)?;
            let record = OperationRecord {
                operation_id: row.try_get(2)?,
                kind: OperationKind::parse(&kind).ok_or_else(|| {
                    Failure::Store(StoreError::Corrupt(format!("operation kind {kind:?}")))
                })?,
                fingerprint: row.try_get(4)?,
            };
            known.operations.insert((row.try_get(0)?, row.try_get(1)?), record);
        }
        for row in &users {
            let user = UserRecord {
                user_id: row.try_get(0)?,
                logon_id: row.try_get(1)?,
                real_name: row.try_get(2)?,
            };
            known.users_by_logon_id.insert(user.logon_id.clone(), user.clone());
            known.users_by_id.insert(user.user_id.clone(), user);
        }
        for row in &balances {
            known.balances.insert(row.try_get(0)?, Fen::from_fen(row.try_get(1)?));
        }
        let mut pairs = Vec::with_capacity(sequences.len());
        for row in &sequences {
            pairs.push((row.try_get(0)?, row.try_get(1)?));
        }
        known.sequences = pairs.into_iter();
        Ok(known)
    };
    locks::lock_batch_then(tx, all, Some(before), Some(after), load).await
}

async fn query(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, Failure> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query(&statement, params).await?)
}

impl Known {
    fn order_by_key(&self, app_id: &str, out_order_no: &str) -> Option<OrderRecord> {
        let auth_no = self.by_key.get(&(app_id.to_owned(), out_order_no.to_owned()))?;
        self.orders.get(auth_no).cloned()
    }

    fn user_by_id(&self, user_id: Option<&String>) -> Option<UserRecord> {
        user_id.and_then(|user_id| self.users_by_id.get(user_id).cloned())
    }

    fn user_by_logon_id(&self, logon_id: Option<&String>) -> Option<UserRecord> {
        logon_id.and_then(|logon_id| self.users_by_logon_id.get(logon_id).cloned())
    }

    fn ids(&mut self, app_id: &str, now_ms: i64) -> Result<NewIds, Failure> {
        let (auth_no, operation_id) = self
            .sequences
            .next()
            .ok_or_else(|| Failure::Store(StoreError::bug("fewer ids reserved than commands")))?;
        let route = ids::route_digits(app_id);
        Ok(NewIds {
            auth_no: ids::auth_no(now_ms, route, auth_no),
            operation_id: ids::operation_id(now_ms, route, operation_id),
        })
    }

    /// The ledger's decision on this command's facts as the batch knows them now.
    fn decide(&mut self, command: &Shaped) -> Result<Result<Decision, Bug>, Failure> {
        Ok(match command {
            Shaped::Fund(cmd) => {
                let payer_balance = cmd
                    .payer_user_id
                    .as_ref()
                    .and_then(|payer| self.balances.get(&Account::User(payer.clone()).id()))
                    .copied();
                let facts = FundFacts {
                    existing: self.order_by_key(&cmd.app_id, &cmd.out_order_no),
                    payer_balance,
                    ids: self.ids(&cmd.app_id, cmd.now_ms)?,
                };
                decide_fund(cmd, &facts)
            }
            Shaped::Disburse(cmd) => {
                let (by_user_id, by_logon_id) = match &cmd.payee {
                    PayeeRef::UserId(user_id) => (Some(user_id), None),
                    PayeeRef::LogonId(logon_id) => (None, Some(logon_id)),
                    PayeeRef::Both { user_id, logon_id } => (Some(user_id), Some(logon_id)),
                };
                let packet = match &cmd.packet {
                    OrderRef::AuthNo(auth_no) => self.orders.get(auth_no).cloned(),
                    OrderRef::OutOrderNo(out_order_no) => {
                        self.order_by_key(&cmd.app_id, out_order_no)
                    }
                };
                let facts = DisburseFacts {
                    packet,
                    payee_by_user_id: self.user_by_id(by_user_id),
                    payee_by_logon_id: self.user_by_logon_id(by_logon_id),
                    existing: self.order_by_key(&cmd.app_id, &cmd.out_order_no),
                    ids: self.ids(&cmd.app_id, cmd.now_ms)?,
                };
                decide_disburse(cmd, &facts)
            }
            Shaped::Refund(cmd) => {
                let facts = RefundFacts {
                    packet: self.orders.get(&cmd.auth_no).cloned(),
                    existing: self
                        .operations
                        .get(&(cmd.auth_no.clone(), cmd.out_request_no.clone()))
                        .cloned(),
                    operation_id: self.ids(&cmd.app_id, cmd.now_ms)?.operation_id,
                };
                decide_refund(cmd, &facts)
            }
        })
    }
}

fn state_of(order: &OrderRecord) -> OrderState {
    OrderState {
        status: order.packet.status,
        disbursed: order.packet.disbursed,
        refunded: order.packet.refunded,
        payer_user_id: order.payer_user_id.clone(),
        expire_at_ms: order.expire_at_ms,
        expired_at_ms: order.expired_at_ms,
    }
}

/// What a command will answer once the batch commits.
pub(crate) enum Pending {
    /// With the view of this operation (a replay, or the plan's answer).
    Replayed(String),
    Applied(String),
    Rejected(Rejection),
    /// The ledger found a broken invariant: this command fails alone.
    Failed(StoreError),
}

impl Pending {
    /// The answer, given the views the write loaded.
    pub(crate) fn outcome(
        self,
        views: &HashMap<String, OperationView>,
    ) -> Result<Outcome, StoreError> {
        let view = |operation_id: &str| {
            views.get(operation_id).cloned().ok_or_else(|| {
                StoreError::bug(format!("no view of operation {operation_id} after the batch"))
            })
        };
        match self {
            Pending::Replayed(operation_id) => Ok(Outcome::Replayed(view(&operation_id)?)),
            Pending::Applied(operation_id) => Ok(Outcome::Applied(view(&operation_id)?)),
            Pending::Rejected(rejection) => Ok(Outcome::Rejected(rejection)),
            Pending::Failed(err) => Err(err),
        }
    }

    fn view_needed(&self) -> Option<&str> {
        match self {
            Pending::Replayed(id) | Pending::Applied(id) => Some(id),
            Pending::Rejected(_) | Pending::Failed(_) => None,
        }
    }
}

/// Every row the batch's plans write, column by column.
#[derive(Default)]
pub(crate) struct Writes {
    accounts: Vec<String>,
    orders: OrderColumns,
    /// Per packet: the state the first change was decided on, and the last change's result.
    packet_changes: BTreeMap<String, (OrderState, OrderState)>,
    operations: OperationColumns,
    entries: (Vec<String>, Vec<&'static str>, Vec<i64>),
    postings: (Vec<String>, Vec<String>, Vec<i64>),
    /// Net movement per account over the batch.
    net: BTreeMap<String, i64>,
    notifies: NotifyColumns,
    views: Vec<String>,
}

#[derive(Default)]
struct OrderColumns {
    auth_no: Vec<String>,
    app_id: Vec<String>,
    out_order_no: Vec<String>,
    kind: Vec<&'static str>,
    packet_auth_no: Vec<Option<String>>,
    fund_method: Vec<Option<&'static str>>,
    order_title: Vec<String>,
    amount: Vec<i64>,
    status: Vec<&'static str>,
    payer_user_id: Vec<Option<String>>,
    payee_user_id: Vec<Option<String>>,
    pay_timeout_minutes: Vec<Option<i32>>,
    extra_param: Vec<Option<String>>,
    notify_url: Vec<Option<String>>,
    notify_charset: Vec<Option<&'static str>>,
    notify_sign_type: Vec<Option<&'static str>>,
    fingerprint: Vec<String>,
    created_at_ms: Vec<i64>,
    pay_deadline_ms: Vec<Option<i64>>,
    expire_after_ms: Vec<Option<i64>>,
    expire_at_ms: Vec<Option<i64>>,
    return_url: Vec<Option<String>>,
    product: Vec<&'static str>,
    passback_params: Vec<Option<String>>,
}

#[derive(Default)]
struct OperationColumns {
    operation_id: Vec<String>,
    auth_no: Vec<String>,
    out_request_no: Vec<String>,
    kind: Vec<&'static str>,
    status: Vec<&'static str>,
    amount: Vec<i64>,
    payer_user_id: Vec<Option<String>>,
    payee_user_id: Vec<Option<String>>,
    remark: Vec<String>,
    fingerprint: Vec<String>,
    notify_url: Vec<Option<String>>,
    created_at_ms: Vec<i64>,
    trans_at_ms: Vec<Option<i64>>,
}

#[derive(Default)]
struct NotifyColumns {
    created_at_ms: Vec<i64>,
    app_id: Vec<String>,
    operation_id: Vec<String>,
    event: Vec<&'static str>,
    url: Vec<String>,
    charset: Vec<&'static str>,
    sign_type: Vec<&'static str>,
}

fn bug(what: String) -> Failure {
    Failure::Store(StoreError::bug(what))
}

/// Decides every command in turn on the batch's facts, each on the rows as the earlier ones'
/// plans left them; returns what each will answer and every row to write. `Err` means the
/// batch-shaped path cannot carry these commands (a plan of a shape it does not write, a plan
/// whose guard does not match the facts): the caller runs them one by one instead.
pub(crate) fn decide_all(
    commands: &[&Shaped],
    known: &mut Known,
) -> Result<(Vec<Pending>, Writes), Failure> {
    let mut writes = Writes::default();
    let mut pending = Vec::with_capacity(commands.len());
    for command in commands {
        let answer = match known.decide(command)? {
            Err(bug) => Pending::Failed(bug.into()),
            Ok(Decision::Replay { operation_id }) => Pending::Replayed(operation_id),
            Ok(Decision::Reject(rejection)) => Pending::Rejected(rejection),
            Ok(Decision::Apply(plan)) => {
                let answer = plan.answer.clone().ok_or_else(|| {
                    bug("a command's plan names no operation to answer with".into())
                })?;
                writes.add(&plan, known)?;
                Pending::Applied(answer)
            }
        };
        if let Some(operation_id) = answer.view_needed() {
            writes.views.push(operation_id.to_owned());
        }
        pending.push(answer);
    }
    Ok((pending, writes))
}

impl Writes {
    /// Adds `plan`'s rows, and carries its changes into `known` for the commands after it.
    fn add(&mut self, plan: &Plan, known: &mut Known) -> Result<(), Failure> {
        if plan.new_user.is_some() || plan.operation_change.is_some() {
            return Err(bug("a plan of a shape the batch does not write".into()));
        }
        self.accounts.extend(plan.new_accounts.iter().map(Account::id));
        if let Some(order) = &plan.new_order {
            let o = &mut self.orders;
            o.auth_no.push(order.auth_no.clone());
            o.app_id.push(order.app_id.clone());
            o.out_order_no.push(order.out_order_no.clone());
            o.kind.push(order.kind.as_str());
            o.packet_auth_no.push(order.packet_auth_no.clone());
            o.fund_method.push(order.fund_method.map(|method| method.as_str()));
            o.order_title.push(order.order_title.clone());
            o.amount.push(order.amount.fen());
            o.status.push(order.status.as_str());
            o.payer_user_id.push(order.payer_user_id.clone());
            o.payee_user_id.push(order.payee_user_id.clone());
            o.pay_timeout_minutes.push(
                order.pay_timeout_minutes.map(|minutes| i32::try_from(minutes).unwrap_or(i32::MAX)),
            );
            o.extra_param.push(order.extra_param.clone());
            o.notify_url.push(order.notify.as_ref().map(|n| n.url.clone()));
            // The call's format, with or without a notify_url (as apply.rs's insert_order).
            o.notify_charset.push(order.call.map(|call| call.charset.as_str()));
            o.notify_sign_type.push(order.call.map(|call| call.sign_type.as_str()));
            o.fingerprint.push(order.fingerprint.clone());
            o.created_at_ms.push(order.created_at_ms);
            o.pay_deadline_ms.push(order.pay_deadline_ms);
            o.expire_after_ms.push(order.expire_after_ms);
            o.expire_at_ms.push(order.expire_at_ms);
            o.return_url.push(order.return_url.clone());
            o.product.push(order.product.as_str());
            o.passback_params.push(order.passback_params.clone());
        }
        if let Some(change) = &plan.order_change {
            let Some(order) = known.orders.get_mut(&change.auth_no) else {
                return Err(bug(format!(
                    "a change of order {} the batch did not load",
                    change.auth_no
                )));
            };
            if state_of(order) != change.before {
                return Err(bug(format!("order {} was decided on another state", change.auth_no)));
            }
            // The later commands of the batch see the packet as this plan leaves it.
            order.packet.status = change.after.status;
            order.packet.disbursed = change.after.disbursed;
            order.packet.refunded = change.after.refunded;
            order.payer_user_id = change.after.payer_user_id.clone();
            order.expire_at_ms = change.after.expire_at_ms;
            order.expired_at_ms = change.after.expired_at_ms;
            // The row is written once, guarded by the first change's `before`; each later
            // change must have been decided on what the one before it left (the guard the
            // database would have applied between them).
            match self.packet_changes.get_mut(&change.auth_no) {
                Some((_, last)) if *last != change.before => {
                    return Err(bug(format!(
                        "order {} was changed from a state no earlier change left",
                        change.auth_no
                    )));
                }
                Some((_, last)) => *last = change.after.clone(),
                None => {
                    self.packet_changes.insert(
                        change.auth_no.clone(),
                        (change.before.clone(), change.after.clone()),
                    );
                }
            }
        }
        if let Some(op) = &plan.new_operation {
            let o = &mut self.operations;
            o.operation_id.push(op.operation_id.clone());
            o.auth_no.push(op.auth_no.clone());
            o.out_request_no.push(op.out_request_no.clone());
            o.kind.push(op.kind.as_str());
            o.status.push(op.status.as_str());
            o.amount.push(op.amount.fen());
            o.payer_user_id.push(op.payer_user_id.clone());
            o.payee_user_id.push(op.payee_user_id.clone());
            o.remark.push(op.remark.clone());
            o.fingerprint.push(op.fingerprint.clone());
            o.notify_url.push(op.notify_url.clone());
            o.created_at_ms.push(op.created_at_ms);
            o.trans_at_ms.push(op.trans_at_ms);
        }
        if let Some(planned) = &plan.entry {
            let Some(operation_id) = &planned.operation_id else {
                return Err(bug("an entry without its operation".into()));
            };
            self.entries.0.push(operation_id.clone());
            self.entries.1.push(planned.memo.as_str());
            self.entries.2.push(planned.created_at_ms);
            for posting in planned.entry.postings() {
                let account = posting.account.id();
                let amount = posting.amount.fen();
                self.postings.0.push(operation_id.clone());
                self.postings.1.push(account.clone());
                self.postings.2.push(amount);
                if let Some(balance) = known.balances.get_mut(&account) {
                    *balance = balance
                        .checked_add(posting.amount)
                        .ok_or_else(|| bug(format!("balance of {account} overflows")))?;
                }
                let net = self.net.entry(account).or_insert(0);
                *net = net.checked_add(amount).ok_or_else(|| bug("posting overflow".into()))?;
            }
        }
        if let Some(notify) = &plan.notify {
            let n = &mut self.notifies;
            n.created_at_ms.push(notify.created_at_ms);
            n.app_id.push(notify.app_id.clone());
            n.operation_id.push(notify.operation_id.clone());
            n.event.push(notify.event.as_str());
            n.url.push(notify.target.url.clone());
            n.charset.push(notify.target.charset.as_str());
            n.sign_type.push(notify.target.sign_type.as_str());
        }
        Ok(())
    }
}

const INSERT_ACCOUNTS: &str =
    "INSERT INTO account (account_id, balance_fen) SELECT unnest($1::text[]), 0";
const INSERT_ORDERS: &str = "INSERT INTO fund_order (auth_no, app_id, out_order_no, kind, \
     packet_auth_no, fund_method, order_title, amount_fen, status, payer_user_id, payee_user_id, \
     pay_timeout_minutes, extra_param, notify_url, notify_charset, notify_sign_type, fingerprint, \
     created_at_ms, pay_deadline_ms, expire_after_ms, expire_at_ms, return_url, product, \
     passback_params) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::int[], \
     $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::bigint[], \
     $19::bigint[], $20::bigint[], $21::bigint[], $22::text[], $23::text[], $24::text[])";
/// Guarded like a single change: a packet not in the state its first change was decided on is
/// not updated, and the caller sees fewer rows.
const CHANGE_PACKETS: &str = "UPDATE fund_order o SET status = c.status, \
     disbursed_fen = c.disbursed, refunded_fen = c.refunded, payer_user_id = c.payer, \
     expire_at_ms = c.expire_at, expired_at_ms = c.expired_at \
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], \
     $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[], \
     $13::bigint[]) AS c (auth_no, status, disbursed, refunded, payer, expire_at, expired_at, \
     was_status, was_disbursed, was_refunded, was_payer, was_expire_at, was_expired_at) \
     WHERE o.auth_no = c.auth_no AND o.status = c.was_status \
     AND o.disbursed_fen = c.was_disbursed AND o.refunded_fen = c.was_refunded \
     AND o.payer_user_id IS NOT DISTINCT FROM c.was_payer \
     AND o.expire_at_ms IS NOT DISTINCT FROM c.was_expire_at \
     AND o.expired_at_ms IS NOT DISTINCT FROM c.was_expired_at";
const INSERT_OPERATIONS: &str = "INSERT INTO fund_operation (operation_id, auth_no, \
     out_request_no, kind, status, amount_fen, payer_user_id, payee_user_id, remark, fingerprint, \
     notify_url, created_at_ms, trans_at_ms) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], \
     $13::bigint[])";
const INSERT_ENTRIES: &str = "WITH e AS (\
     INSERT INTO journal_entry (operation_id, memo, created_at_ms) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
     RETURNING entry_id, operation_id) \
     INSERT INTO posting (entry_id, account_id, amount_fen) \
     SELECT e.entry_id, p.account_id, p.amount_fen FROM e \
     JOIN unnest($4::text[], $5::text[], $6::bigint[]) AS p (operation_id, account_id, amount_fen) \
     ON p.operation_id = e.operation_id";
/// Net movement per account over the batch, guarded: a row that would go negative is not
/// updated, and the caller sees fewer rows. The user accounts were locked first (`locks`);
/// custody accounts are written under their packet's lock only.
const APPLY_BALANCES: &str = "UPDATE account SET balance_fen = account.balance_fen + p.amount_fen \
     FROM unnest($1::text[], $2::bigint[]) AS p (account_id, amount_fen) \
     WHERE account.account_id = p.account_id \
     AND (account.account_id = 'issuance' OR account.balance_fen + p.amount_fen >= 0)";
const INSERT_NOTIFIES: &str = "INSERT INTO notify_outbox (notify_id, app_id, operation_id, \
     event, notify_url, charset, sign_type, status, next_attempt_at_ms, created_at_ms) \
     SELECT lpad(to_hex(n.at), 16, '0') || lpad(to_hex(nextval('notify_id_seq')), 16, '0'), \
     n.app_id, n.operation_id, n.event, n.url, n.charset, n.sign_type, 'PENDING', n.at, n.at \
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[]) AS n (at, app_id, operation_id, event, url, charset, sign_type)";
const VIEWS: &str = concat!(view_select!(), " WHERE op.operation_id = ANY($1::text[])");

/// Writes every row of `writes` inside the savepoint `shaped` (opened here), one statement per
/// table, in one round trip, and loads the answers' views. The caller releases the savepoint on
/// success and rolls back to it on any error (a guard that refused included).
pub(crate) async fn write(
    tx: &Transaction<'_>,
    writes: &Writes,
) -> Result<HashMap<String, OperationView>, Failure> {
    let statements = [
        INSERT_ACCOUNTS,
        INSERT_ORDERS,
        CHANGE_PACKETS,
        INSERT_OPERATIONS,
        INSERT_ENTRIES,
        APPLY_BALANCES,
        INSERT_NOTIFIES,
        VIEWS,
    ];
    for sql in statements {
        tx.prepare_cached(sql).await?;
    }
    let o = &writes.orders;
    let orders: [&(dyn ToSql + Sync); 24] = [
        &o.auth_no,
        &o.app_id,
        &o.out_order_no,
        &o.kind,
        &o.packet_auth_no,
        &o.fund_method,
        &o.order_title,
        &o.amount,
        &o.status,
        &o.payer_user_id,
        &o.payee_user_id,
        &o.pay_timeout_minutes,
        &o.extra_param,
        &o.notify_url,
        &o.notify_charset,
        &o.notify_sign_type,
        &o.fingerprint,
        &o.created_at_ms,
        &o.pay_deadline_ms,
        &o.expire_after_ms,
        &o.expire_at_ms,
        &o.return_url,
        &o.product,
        &o.passback_params,
    ];
    let changes = PacketChangeColumns::of(&writes.packet_changes);
    let c = &changes;
    let packet_changes: [&(dyn ToSql + Sync); 13] = [
        &c.auth_no,
        &c.status,
        &c.disbursed,
        &c.refunded,
        &c.payer,
        &c.expire_at,
        &c.expired_at,
        &c.was_status,
        &c.was_disbursed,
        &c.was_refunded,
        &c.was_payer,
        &c.was_expire_at,
        &c.was_expired_at,
    ];
    let op = &writes.operations;
    let operations: [&(dyn ToSql + Sync); 13] = [
        &op.operation_id,
        &op.auth_no,
        &op.out_request_no,
        &op.kind,
        &op.status,
        &op.amount,
        &op.payer_user_id,
        &op.payee_user_id,
        &op.remark,
        &op.fingerprint,
        &op.notify_url,
        &op.created_at_ms,
        &op.trans_at_ms,
    ];
    let entries: [&(dyn ToSql + Sync); 6] = [
        &writes.entries.0,
        &writes.entries.1,
        &writes.entries.2,
        &writes.postings.0,
        &writes.postings.1,
        &writes.postings.2,
    ];
    let (net_accounts, net_amounts): (Vec<&str>, Vec<i64>) = writes
        .net
        .iter()
        .filter(|(_, amount)| **amount != 0)
        .map(|(account, amount)| (account.as_str(), *amount))
        .unzip();
    let balances: [&(dyn ToSql + Sync); 2] = [&net_accounts, &net_amounts];
    let n = &writes.notifies;
    let notifies: [&(dyn ToSql + Sync); 7] =
        [&n.created_at_ms, &n.app_id, &n.operation_id, &n.event, &n.url, &n.charset, &n.sign_type];
    let accounts: [&(dyn ToSql + Sync); 1] = [&writes.accounts];
    let views: [&(dyn ToSql + Sync); 1] = [&writes.views];
    // Sent back to back in this order (all prepared above), each finding the rows the earlier
    // ones wrote: orders before the operations on them, operations before their entries and
    // outbox rows.
    let (_, _, _, changed, _, posted, applied, _, viewed) = tokio::try_join!(
        biased;
        async { Ok::<_, Failure>(tx.batch_execute("SAVEPOINT shaped").await?) },
        execute_if(tx, !writes.accounts.is_empty(), INSERT_ACCOUNTS, &accounts),
        execute_if(tx, !o.auth_no.is_empty(), INSERT_ORDERS, &orders),
        execute_if(tx, !c.auth_no.is_empty(), CHANGE_PACKETS, &packet_changes),
        execute_if(tx, !op.operation_id.is_empty(), INSERT_OPERATIONS, &operations),
        execute_if(tx, !writes.entries.0.is_empty(), INSERT_ENTRIES, &entries),
        execute_if(tx, !net_accounts.is_empty(), APPLY_BALANCES, &balances),
        execute_if(tx, !n.operation_id.is_empty(), INSERT_NOTIFIES, &notifies),
        query(tx, VIEWS, &views),
    )?;
    if changed != c.auth_no.len() as u64 {
        return Err(super::apply::guard_refused(format!(
            "{} of {} packets were in the state their changes were decided on",
            changed,
            c.auth_no.len()
        )));
    }
    if posted != writes.postings.0.len() as u64 {
        return Err(bug(format!("{posted} of {} postings written", writes.postings.0.len())));
    }
    if applied != net_accounts.len() as u64 {
        return Err(super::apply::guard_refused(format!(
            "a balance of {net_accounts:?} {net_amounts:?} was refused"
        )));
    }
    let mut found = HashMap::with_capacity(viewed.len());
    for row in &viewed {
        let view = operation_view(row).map_err(Failure::Store)?;
        found.insert(view.operation_id.clone(), view);
    }
    Ok(found)
}

async fn execute_if(
    tx: &Transaction<'_>,
    needed: bool,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, Failure> {
    if !needed {
        return Ok(0);
    }
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

#[derive(Default)]
struct PacketChangeColumns {
    auth_no: Vec<String>,
    status: Vec<&'static str>,
    disbursed: Vec<i64>,
    refunded: Vec<i64>,
    payer: Vec<Option<String>>,
    expire_at: Vec<Option<i64>>,
    expired_at: Vec<Option<i64>>,
    was_status: Vec<&'static str>,
    was_disbursed: Vec<i64>,
    was_refunded: Vec<i64>,
    was_payer: Vec<Option<String>>,
    was_expire_at: Vec<Option<i64>>,
    was_expired_at: Vec<Option<i64>>,
}

impl PacketChangeColumns {
    fn of(changes: &BTreeMap<String, (OrderState, OrderState)>) -> PacketChangeColumns {
        let mut c = PacketChangeColumns::default();
        for (auth_no, (before, after)) in changes {
            c.auth_no.push(auth_no.clone());
            c.status.push(after.status.as_str());
            c.disbursed.push(after.disbursed.fen());
            c.refunded.push(after.refunded.fen());
            c.payer.push(after.payer_user_id.clone());
            c.expire_at.push(after.expire_at_ms);
            c.expired_at.push(after.expired_at_ms);
            c.was_status.push(before.status.as_str());
            c.was_disbursed.push(before.disbursed.fen());
            c.was_refunded.push(before.refunded.fen());
            c.was_payer.push(before.payer_user_id.clone());
            c.was_expire_at.push(before.expire_at_ms);
            c.was_expired_at.push(before.expired_at_ms);
        }
        c
    }
}

//! Decisions and plans: what a decision returns, and every row a store writes to carry it out.
//!
//! A plan is complete: the store adds nothing to it but the ids of rows it numbers itself
//! (journal entries, notify ids). Every change of an existing row names the state it was
//! decided on (`before`), and the store writes it only if the row still is in that state: a
//! guard that refuses is a bug (the facts were not what the store said), answered 20000 and
//! rolled back, never a business rejection.

use crate::command::{FiredDeadline, FundMethod, SandboxUser};
use crate::entry::{Account, Entry};
use crate::notify::{CallFormat, NotifyEvent, NotifyTarget};
use crate::packet::{OperationKind, OperationStatus, OrderKind, PacketStatus, Product};
use crate::Rejection;
use hongbao_money::Fen;

/// What a command does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// An identical request was applied before: answer with that operation as stored; nothing
    /// moves and nothing is written.
    Replay {
        /// The operation of the first outcome.
        operation_id: String,
    },
    /// Refused: nothing is written, so the request can be fixed and resent with the same ids.
    Reject(Rejection),
    /// Write the plan, then answer with its operation.
    Apply(Box<Plan>),
}

/// Every row a decision writes, applied in this field order inside the command's transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// A new sandbox user (with an account of balance zero among `new_accounts`).
    pub new_user: Option<SandboxUser>,
    /// Accounts to create with balance zero (a new packet's custody, a new user's account).
    pub new_accounts: Vec<Account>,
    /// A new order (a packet, or a disburse's own order).
    pub new_order: Option<NewOrder>,
    /// A change of an existing order (counters, status, payer, expiry).
    pub order_change: Option<OrderChange>,
    /// A new operation.
    pub new_operation: Option<NewOperation>,
    /// A change of an existing operation (INIT → SUCCESS or CLOSED).
    pub operation_change: Option<OperationChange>,
    /// The money movement, with the operation it belongs to.
    pub entry: Option<PlannedEntry>,
    /// The outbox row reporting the change to the merchant.
    pub notify: Option<NewNotify>,
    /// The operation the command's answer shows (`None` for plans without one, e.g. a user).
    pub answer: Option<String>,
}

/// A new order row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Alipay's order id.
    pub auth_no: String,
    /// The app.
    pub app_id: String,
    /// The merchant's order number.
    pub out_order_no: String,
    /// Packet or disburse order.
    pub kind: OrderKind,
    /// Which product.
    pub product: Product,
    /// For a disburse order: the packet it draws from.
    pub packet_auth_no: Option<String>,
    /// For a packet: how it is funded.
    pub fund_method: Option<FundMethod>,
    /// Title.
    pub order_title: String,
    /// Amount.
    pub amount: Fen,
    /// Initial state.
    pub status: PacketStatus,
    /// Payer, when known.
    pub payer_user_id: Option<String>,
    /// For a disburse order: who was paid.
    pub payee_user_id: Option<String>,
    /// For a packet: its pay_timeout in minutes.
    pub pay_timeout_minutes: Option<u32>,
    /// `extra_param` JSON text (fund.coupon).
    pub extra_param: Option<String>,
    /// `passback_params` (fund.trans), echoed in messages.
    pub passback_params: Option<String>,
    /// The call's notify target.
    pub notify: Option<NotifyTarget>,
    /// The call's charset and sign_type: always for a packet (its payer's pages sign with it),
    /// with the notify target for a disburse order.
    pub call: Option<CallFormat>,
    /// The business parameters (idempotency comparison).
    pub fingerprint: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// When an unpaid packet closes.
    pub pay_deadline_ms: Option<i64>,
    /// How long after funding the remainder goes back.
    pub expire_after_ms: Option<i64>,
    /// When a funded packet expires.
    pub expire_at_ms: Option<i64>,
    /// page.pay's return_url.
    pub return_url: Option<String>,
}

/// The mutable part of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderState {
    /// Lifecycle state.
    pub status: PacketStatus,
    /// Σ disburses.
    pub disbursed: Fen,
    /// Σ refunds.
    pub refunded: Fen,
    /// Payer.
    pub payer_user_id: Option<String>,
    /// When it expires.
    pub expire_at_ms: Option<i64>,
    /// When its expiry fired.
    pub expired_at_ms: Option<i64>,
}

/// A change of an order row, from the state decided on to the new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderChange {
    /// The order.
    pub auth_no: String,
    /// Its state in the facts (the store's guard).
    pub before: OrderState,
    /// Its state after.
    pub after: OrderState,
}

/// A new operation row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOperation {
    /// Alipay's operation id.
    pub operation_id: String,
    /// The order it belongs to (a packet, or a disburse's own order).
    pub auth_no: String,
    /// The merchant's operation number.
    pub out_request_no: String,
    /// What it does.
    pub kind: OperationKind,
    /// INIT, or SUCCESS when the money moves now.
    pub status: OperationStatus,
    /// Amount.
    pub amount: Fen,
    /// Payer.
    pub payer_user_id: Option<String>,
    /// Payee.
    pub payee_user_id: Option<String>,
    /// Remark (the refund's remark, or the title).
    pub remark: String,
    /// The business parameters (idempotency comparison).
    pub fingerprint: String,
    /// The call's notify_url.
    pub notify_url: Option<String>,
    /// Creation time.
    pub created_at_ms: i64,
    /// When the money moved (SUCCESS only).
    pub trans_at_ms: Option<i64>,
}

/// A change of an operation's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationChange {
    /// The operation.
    pub operation_id: String,
    /// Its status in the facts (the store's guard).
    pub before: OperationStatus,
    /// Its status after.
    pub after: OperationStatus,
    /// The payer to record (page/app pay: who confirmed); `None` keeps the stored one.
    pub payer_user_id: Option<String>,
    /// When the money moved (SUCCESS only).
    pub trans_at_ms: Option<i64>,
}

/// What a journal entry is for (stored as its memo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryMemo {
    /// A user's opening balance, from issuance.
    Issuance,
    /// A sandbox top-up of a user (the console), from issuance.
    TopUp,
    /// Payer → custody.
    Fund,
    /// Custody → payee.
    Disburse,
    /// Custody → payer.
    Refund,
}

impl EntryMemo {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMemo::Issuance => "issuance",
            EntryMemo::TopUp => "top_up",
            EntryMemo::Fund => "fund",
            EntryMemo::Disburse => "disburse",
            EntryMemo::Refund => "refund",
        }
    }
}

/// A journal entry to record, with its postings applied to the balances.
///
/// The store applies each posting as a guarded update: a debit only while the balance covers it
/// (issuance excepted), which the decision checked on the facts already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEntry {
    /// The operation that moves the money (`None` for issuance).
    pub operation_id: Option<String>,
    /// What it is for.
    pub memo: EntryMemo,
    /// The postings (summing to zero by construction).
    pub entry: Entry,
    /// When.
    pub created_at_ms: i64,
}

/// A new outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotify {
    /// The app whose call it reports.
    pub app_id: String,
    /// The operation it reports.
    pub operation_id: String,
    /// Which state change.
    pub event: NotifyEvent,
    /// Where and how.
    pub target: NotifyTarget,
    /// When the change happened (first attempt due at once).
    pub created_at_ms: i64,
}

/// A deadline decision: the plan and what the scheduler reports of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    /// What to write.
    pub plan: Plan,
    /// What happened.
    pub fired: FiredDeadline,
}

//! Facts: what a store loads for a decision, as plain values.
//!
//! A decision (`decide`) reads only these and the command; it never asks the database anything.
//! The store's part is to load them truthfully — on PostgreSQL, the rows a decision may change
//! or debit are locked when loaded (ARCHITECTURE.md, "PostgreSQL store") — so that a plan
//! decided on them still applies when it is written.

use crate::command::FundMethod;
use crate::notify::NotifyTarget;
use crate::packet::{OperationKind, OrderKind, Packet, Product};
use hongbao_money::Fen;

/// A stored order (a red packet, or a disburse's own order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// Alipay's order id.
    pub auth_no: String,
    /// The app that created it.
    pub app_id: String,
    /// The merchant's order number.
    pub out_order_no: String,
    /// Packet or disburse order.
    pub kind: OrderKind,
    /// Which product it belongs to.
    pub product: Product,
    /// How a packet is funded (`None` for disburse orders).
    pub fund_method: Option<FundMethod>,
    /// Amount and counters, and the lifecycle state.
    pub packet: Packet,
    /// The payer, once known (page/app pay: when confirmed).
    pub payer_user_id: Option<String>,
    /// The business parameters of the request that created it.
    pub fingerprint: String,
    /// When an unpaid packet closes.
    pub pay_deadline_ms: Option<i64>,
    /// How long after funding the remainder goes back.
    pub expire_after_ms: Option<i64>,
    /// When a funded packet expires.
    pub expire_at_ms: Option<i64>,
    /// When its expiry was fired (its remainder returned).
    pub expired_at_ms: Option<i64>,
    /// The pay call's notify target.
    pub notify: Option<NotifyTarget>,
    /// Its first operation: a packet's PAY (fund), a disburse order's DISBURSE.
    pub first_operation_id: String,
}

impl OrderRecord {
    /// True once the packet's expiry time has passed at `now_ms`, fired or not: from then on it
    /// pays nothing out (its remainder is the payer's again).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expired_at_ms.is_some() || self.expire_at_ms.is_some_and(|at| now_ms >= at)
    }
}

/// A stored operation, as an idempotency comparison needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationRecord {
    /// Alipay's operation id.
    pub operation_id: String,
    /// What it did.
    pub kind: OperationKind,
    /// The business parameters of the request that created it.
    pub fingerprint: String,
}

/// A sandbox user found by its id or logon id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// `2088…` id.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Real name, when the sandbox knows it (a payee's `name` is checked against it).
    pub real_name: Option<String>,
}

/// Ids reserved for what a command may create (a refused command leaves them unused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIds {
    /// For a new order.
    pub auth_no: String,
    /// For a new operation.
    pub operation_id: String,
}

/// What `decide_fund` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundFacts {
    /// The order with the command's `(app_id, out_order_no)`, if any.
    pub existing: Option<OrderRecord>,
    /// The balance of the named payer's account, when the command names a payer (locked).
    pub payer_balance: Option<Fen>,
    /// Ids for the new packet and its PAY.
    pub ids: NewIds,
}

/// What `decide_disburse` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisburseFacts {
    /// The order the command's packet reference names, if any (locked).
    pub packet: Option<OrderRecord>,
    /// The user the payee's user id names, when the command gives one.
    pub payee_by_user_id: Option<UserRecord>,
    /// The user the payee's logon id names, when the command gives one.
    pub payee_by_logon_id: Option<UserRecord>,
    /// The order with the command's `(app_id, out_order_no)`, if any.
    pub existing: Option<OrderRecord>,
    /// Ids for the disburse's own order and its operation.
    pub ids: NewIds,
}

/// What `decide_refund` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundFacts {
    /// The order the command's auth_no names, if any (locked).
    pub packet: Option<OrderRecord>,
    /// The operation with the command's `(auth_no, out_request_no)`, if any.
    pub existing: Option<OperationRecord>,
    /// Id for the refund operation.
    pub operation_id: String,
}

/// What `decide_payment` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentFacts {
    /// The order the payer confirms, if it exists (locked).
    pub order: Option<OrderRecord>,
    /// The confirming payer's balance, if they have an account (locked).
    pub payer_balance: Option<Fen>,
}

/// What `decide_expiry` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryFacts {
    /// The expiring packet (locked).
    pub packet: OrderRecord,
    /// Whether the packet already has an operation with out_request_no `EXPIRE_REFUND` (a
    /// merchant's own refund may have taken the name).
    pub expire_refund_taken: bool,
    /// Id for the refund operation.
    pub operation_id: String,
}

/// What `decide_user` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFacts {
    /// Whether a user with this id exists already.
    pub exists: bool,
    /// The issuance account's balance (it goes further below zero by each opening balance).
    pub issuance_balance: Fen,
}

/// What `decide_create_user` needs (a sandbox user made from the console).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUserFacts {
    /// Whether a user with this id exists already.
    pub exists: bool,
    /// Whether another user has this logon id.
    pub logon_id_taken: bool,
    /// The issuance account's balance.
    pub issuance_balance: Fen,
}

/// What `decide_top_up` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpFacts {
    /// The user's balance; `None` when no such user exists.
    pub balance: Option<Fen>,
    /// The issuance account's balance.
    pub issuance_balance: Fen,
}

/// A login candidate: a user whose id or logon id is what was typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginCandidate {
    /// `2088…` id.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Stored sandbox password.
    pub password: String,
}

/// What `decide_transfer` needs (a B2C red packet, paid from the app's merchant account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferFacts {
    /// The user the payee's user id names, when the command gives one.
    pub payee_by_user_id: Option<UserRecord>,
    /// The user the payee's logon id names, when the command gives one.
    pub payee_by_logon_id: Option<UserRecord>,
    /// The order with the command's `(app_id, out_biz_no)`, if any.
    pub existing: Option<OrderRecord>,
    /// The merchant account's balance, if it has an account (locked: it is debited).
    pub payer_balance: Option<Fen>,
    /// Ids for the transfer's order and its operation.
    pub ids: NewIds,
}

//! Business outcomes that refuse a command. Returned as data, never as panics.
//!
//! Which rule a command checks first is its own: each `decide_*` function documents its
//! precedence table and its tests break one more rule per row. The variants are only a
//! catalogue (the gateway maps each to an Alipay 40004 sub_code, docs/errors.md).

/// Why a command was refused. The gateway maps each to an Alipay 40004 sub_code (docs/errors.md).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A parameter combination the rules forbid (e.g. a refund naming a disburse's auth_no).
    #[error("illegal argument: {0}")]
    IllegalArgument(String),
    /// The order belongs to another app.
    #[error("the order belongs to another app")]
    AccessForbidden,
    /// No such order (`auth_no` / `out_order_no`) for this app.
    #[error("no such order")]
    AuthOrderNotExist,
    /// No such operation on that order.
    #[error("no such operation")]
    AuthOperationNotExist,
    /// `payer_user_id` of agreement.pay is not the app's own merchant account.
    #[error("payer is not the app's merchant account")]
    PayerNotMatch,
    /// The payer has no account here.
    #[error("no such payer")]
    PayerNotExist,
    /// The payee has no account here.
    #[error("no such payee")]
    PayeeNotExist,
    /// The payee's given name is not its real name (fund.trans `payee_info.name`).
    #[error("the payee's name does not match the account")]
    PayeeNameNotMatch,
    /// A B2C red packet's payee is the paying merchant account itself.
    #[error("payer and payee are the same account")]
    PayerPayeeSame,
    /// The ids were used before with different parameters.
    #[error("ids reused with different parameters")]
    UniqueViolation,
    /// The packet is not in a state that allows this (unpaid, closed, or expired).
    #[error("the order's status does not allow this operation")]
    OrderStatusInvalid,
    /// The payer's balance is below the amount.
    #[error("payer balance is not enough")]
    BalanceNotEnough,
    /// The packet's remainder is below the amount.
    #[error("the packet's remaining amount is not enough")]
    MoneyNotEnough,
}

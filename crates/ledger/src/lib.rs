//! The red packet domain, as pure data and rules.
//!
//! A red packet is a fund order (`auth_no` / `out_order_no`); every money movement on it is an
//! operation (`operation_id` / `out_request_no`) carrying exactly one journal entry whose
//! postings sum to zero. Every rule that decides what a command does lives in `decide`: a pure
//! function from the command and the facts a store loaded (`facts`) to a `Decision` — replay,
//! reject, or a `Plan` of rows to write (`plan`). `check_invariants` checks stored state against
//! the money invariants.
//!
//! It never knows IO, SQL, HTTP or the clock: `now` arrives inside commands, state arrives as
//! values. That is why it is tested without a socket or a database.

pub mod command;
pub mod decide;
pub mod entry;
pub mod facts;
pub mod invariants;
pub mod notify;
pub mod packet;
pub mod plan;
pub mod rejection;
pub mod trans;

pub use command::*;
pub use decide::{
    decide_claim, decide_close, decide_create_user, decide_disburse, decide_expiry, decide_fund,
    decide_login, decide_payment, decide_query, decide_refund, decide_return, decide_send,
    decide_top_up, decide_trans_query, decide_transfer, decide_user,
};
pub use entry::{Account, Entry, Posting};
pub use facts::*;
pub use invariants::{check_invariants, LedgerSnapshot, Violation};
pub use notify::{
    CallFormat, NotifyAttempt, NotifyCharset, NotifyEvent, NotifySignType, NotifyStatus,
    NotifyTarget,
};
pub use packet::{
    check_fund, OperationKind, OperationStatus, OperationType, OrderKind, Packet, PacketStatus,
    Product,
};
pub use plan::*;
pub use rejection::Rejection;
pub use trans::{
    BizScene, ClaimCommand, ReturnCommand, SendCommand, TransLookup, TransQuery, TransferCommand,
};

/// A broken invariant inside a command: a programmer error. It aborts the command's transaction
/// and answers 20000; it never commits half a change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct Bug(pub String);

/// Asserts a condition in a request path: panics in debug builds and tests; in release returns
/// `Err(Bug)` from the enclosing function so the caller rolls back and answers 20000.
#[macro_export]
macro_rules! invariant {
    ($cond:expr) => {
        if !$cond {
            debug_assert!($cond, "invariant broken: {}", stringify!($cond));
            return Err(
                $crate::Bug(format!("{} ({}:{})", stringify!($cond), file!(), line!())).into()
            );
        }
    };
}

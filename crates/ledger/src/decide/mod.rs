//! Every money rule, decided once: pure functions from a command and the facts a store loaded
//! (`crate::facts`) to a `Decision` — replay the first outcome, refuse with a `Rejection`, or
//! apply a `Plan` of rows — with no IO, no SQL and no clock (time arrives in the command).
//!
//! Each command's checks run in the order of its precedence table (the doc of its `decide_*`
//! function), so a request breaking several rules always gets the first one's answer; the tests
//! at the end of each file break one rule more per row, as TigerBeetle's state machine tests do.
//! The gateway checks the request itself first (signature, parameters, `biz_content`); every
//! rule that looks at stored state is here.

mod disburse;
mod fund;
mod payment;
mod query;
mod refund;
pub mod trans;
mod user;

pub use disburse::decide_disburse;
pub use fund::decide_fund;
pub use payment::{decide_close, decide_expiry, decide_payment, EXPIRE_REFUND, EXPIRE_REMARK};
pub use query::decide_query;
pub use refund::decide_refund;
pub use trans::{
    decide_claim, decide_return, decide_send, decide_trans_query, decide_transfer, QueryFound,
};
pub use user::{decide_create_user, decide_login, decide_top_up, decide_user};

use crate::command::{OrderRef, PayeeRef};
use crate::facts::{OrderRecord, UserRecord};
use crate::packet::{OrderKind, Product};
use crate::plan::OrderState;
use crate::{Bug, Rejection};

/// The order a reference found, if it is the calling app's: no order → `AuthOrderNotExist`,
/// another app's → `AccessForbidden`.
pub fn resolve_order<'a>(
    app_id: &str,
    found: Option<&'a OrderRecord>,
) -> Result<&'a OrderRecord, Rejection> {
    match found {
        None => Err(Rejection::AuthOrderNotExist),
        Some(order) if order.app_id != app_id => Err(Rejection::AccessForbidden),
        Some(order) => Ok(order),
    }
}

/// Like `resolve_order`, and the order must be a red packet of `product`: a disburse's own
/// order, or the other product's packet, is `IllegalArgument`, naming the field that named it.
pub fn resolve_packet<'a>(
    app_id: &str,
    found: Option<&'a OrderRecord>,
    field: &str,
    product: Product,
) -> Result<&'a OrderRecord, Rejection> {
    let order = resolve_order(app_id, found)?;
    if order.kind != OrderKind::Packet {
        return Err(Rejection::IllegalArgument(format!(
            "{field} names a disburse order, not a red packet"
        )));
    }
    if order.product != product {
        let other = match order.product {
            Product::Coupon => "an alipay.fund.coupon red packet",
            Product::StdRedPacket => "a STD_RED_PACKET send (alipay.fund.trans)",
        };
        return Err(Rejection::IllegalArgument(format!("{field} names {other}")));
    }
    Ok(order)
}

/// The mutable state of a stored order, as a plan's `before`.
pub(crate) fn state_of(order: &OrderRecord) -> OrderState {
    OrderState {
        status: order.packet.status,
        disbursed: order.packet.disbursed,
        refunded: order.packet.refunded,
        payer_user_id: order.payer_user_id.clone(),
        expire_at_ms: order.expire_at_ms,
        expired_at_ms: order.expired_at_ms,
    }
}

/// The payee's user id a payee reference names (`PayeeNotExist` when none; `IllegalArgument`
/// when its id and logon id name different users), and, when a name is given, the name must be
/// the user's real name (`PayeeNameNotMatch`; a user the sandbox knows no name of accepts any).
pub(crate) fn resolve_payee(
    payee: &PayeeRef,
    by_user_id: Option<&UserRecord>,
    by_logon_id: Option<&UserRecord>,
    name: Option<&str>,
) -> Result<String, Rejection> {
    let user = match payee {
        PayeeRef::UserId(_) => by_user_id.ok_or(Rejection::PayeeNotExist)?,
        PayeeRef::LogonId(_) => by_logon_id.ok_or(Rejection::PayeeNotExist)?,
        PayeeRef::Both { user_id, .. } => match by_logon_id {
            None => return Err(Rejection::PayeeNotExist),
            Some(found) if &found.user_id != user_id => {
                return Err(Rejection::IllegalArgument(
                    "payee_user_id and payee_logon_id name different users".into(),
                ))
            }
            Some(found) => found,
        },
    };
    if let (Some(name), Some(real_name)) = (name, &user.real_name) {
        if name != real_name {
            return Err(Rejection::PayeeNameNotMatch);
        }
    }
    Ok(user.user_id.clone())
}

/// The wire field a packet reference came in.
pub(crate) fn packet_field(reference: &OrderRef, by_auth_no: &'static str) -> &'static str {
    match reference {
        OrderRef::AuthNo(_) => by_auth_no,
        OrderRef::OutOrderNo(_) => "deduct_out_order_no",
    }
}

/// `now + after`, a deadline; an overflow is a bug (the gateway bounds every duration).
pub(crate) fn deadline(now_ms: i64, after_ms: i64) -> Result<i64, Bug> {
    now_ms
        .checked_add(after_ms)
        .ok_or_else(|| Bug(format!("deadline overflow: {now_ms} + {after_ms}")))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Facts for the decision tests.

    use crate::command::FundMethod;
    use crate::facts::{NewIds, OrderRecord};
    use crate::notify::{NotifyCharset, NotifySignType, NotifyTarget};
    use crate::packet::{OrderKind, Packet, PacketStatus, Product};
    use hongbao_money::Fen;

    pub const APP: &str = "appA";
    pub const NOW: i64 = 1_700_000_000_000;

    pub fn target() -> NotifyTarget {
        NotifyTarget {
            url: "http://127.0.0.1:1/notify".into(),
            charset: NotifyCharset::Utf8,
            sign_type: NotifySignType::Rsa2,
        }
    }

    pub fn ids() -> NewIds {
        NewIds { auth_no: "A2".into(), operation_id: "O2".into() }
    }

    /// A funded packet of 100.00 paid by `payer`, nothing moved out, expiring in an hour.
    pub fn funded_packet() -> OrderRecord {
        OrderRecord {
            auth_no: "A1".into(),
            app_id: APP.into(),
            out_order_no: "p1".into(),
            kind: OrderKind::Packet,
            product: Product::Coupon,
            fund_method: Some(FundMethod::Agreement),
            packet: Packet {
                amount: Fen::from_fen(10_000),
                disbursed: Fen::ZERO,
                refunded: Fen::ZERO,
                status: PacketStatus::Funded,
            },
            payer_user_id: Some("payer".into()),
            fingerprint: "fp".into(),
            pay_deadline_ms: None,
            expire_after_ms: Some(3_600_000),
            expire_at_ms: Some(NOW + 3_600_000),
            expired_at_ms: None,
            notify: Some(target()),
            first_operation_id: "O1".into(),
        }
    }

    /// An unpaid page.pay packet of 100.00 whose pay deadline is a minute away.
    pub fn unpaid_packet() -> OrderRecord {
        let mut packet = funded_packet();
        packet.fund_method = Some(FundMethod::Page);
        packet.packet.status = PacketStatus::WaitPay;
        packet.payer_user_id = None;
        packet.pay_deadline_ms = Some(NOW + 60_000);
        packet.expire_at_ms = None;
        packet
    }
}

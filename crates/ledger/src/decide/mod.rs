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
mod user;

pub use disburse::decide_disburse;
pub use fund::decide_fund;
pub use payment::{decide_close, decide_expiry, decide_payment, EXPIRE_REFUND, EXPIRE_REMARK};
pub use query::decide_query;
pub use refund::decide_refund;
pub use user::{decide_login, decide_user};

use crate::command::OrderRef;
use crate::facts::OrderRecord;
use crate::packet::OrderKind;
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

/// Like `resolve_order`, and the order must be a red packet: a disburse's own order is
/// `IllegalArgument`, naming the field that named it.
pub fn resolve_packet<'a>(
    app_id: &str,
    found: Option<&'a OrderRecord>,
    field: &str,
) -> Result<&'a OrderRecord, Rejection> {
    let order = resolve_order(app_id, found)?;
    if order.kind != OrderKind::Packet {
        return Err(Rejection::IllegalArgument(format!(
            "{field} names a disburse order, not a red packet"
        )));
    }
    Ok(order)
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
    use crate::packet::{OrderKind, Packet, PacketStatus};
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

//! Commands and views: what the gateway asks of the store, and what it gets back.
//!
//! Every command carries its own `now_ms` (the ledger never reads a clock) and a `fingerprint`
//! of its business parameters: the same ids with the same fingerprint replay the first outcome,
//! with another fingerprint they are a `UniqueViolation` (Stripe's idempotency contract).

use crate::notify::{CallFormat, NotifyTarget};
use crate::packet::{OperationKind, OperationStatus, OperationType, Product};
use crate::Rejection;
use hongbao_money::Fen;

/// How a packet is funded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FundMethod {
    /// agreement.pay: from the merchant's own account, SUCCESS at once.
    Agreement,
    /// page.pay: the payer confirms on the cashier page; INIT until then.
    Page,
    /// app.pay: the payer confirms in the wallet; INIT until then.
    App,
}

impl FundMethod {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            FundMethod::Agreement => "agreement",
            FundMethod::Page => "page",
            FundMethod::App => "app",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<FundMethod> {
        [FundMethod::Agreement, FundMethod::Page, FundMethod::App]
            .into_iter()
            .find(|method| method.as_str() == text)
    }
}

/// Create (and for agreement.pay, fund) a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundCommand {
    /// Calling app.
    pub app_id: String,
    /// Merchant order number (unique per app).
    pub out_order_no: String,
    /// Merchant operation number of the PAY.
    pub out_request_no: String,
    /// Title.
    pub order_title: String,
    /// Packet amount.
    pub amount: Fen,
    /// Payer; required for agreement.pay, chosen on the cashier for page/app.
    pub payer_user_id: Option<String>,
    /// agreement.pay: the app's own merchant account, the only payer it may name.
    pub merchant_user_id: Option<String>,
    /// `pay_timeout` in minutes (default 60).
    pub pay_timeout_minutes: u32,
    /// `extra_param` JSON text.
    pub extra_param: Option<String>,
    /// Where to notify the merchant of the outcome (the call's `notify_url`).
    pub notify: Option<NotifyTarget>,
    /// The call's charset and sign_type (what the payer's pages sign the return with).
    pub call: CallFormat,
    /// How it is funded.
    pub method: FundMethod,
    /// How long after funding an undisbursed remainder goes back to the payer
    /// (`orderExpiredTime` in `extra_param`, else the configured default).
    pub expire_after_ms: i64,
    /// `return_url` of a page.pay call: where the cashier sends the browser after paying.
    pub return_url: Option<String>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl FundCommand {
    /// The business parameters compared on a replay.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[
            ("method", self.method.as_str()),
            ("out_request_no", &self.out_request_no),
            ("order_title", &self.order_title),
            ("amount", &self.amount.fen().to_string()),
            ("payer_user_id", self.payer_user_id.as_deref().unwrap_or("")),
            ("pay_timeout", &self.pay_timeout_minutes.to_string()),
            ("extra_param", self.extra_param.as_deref().unwrap_or("")),
        ])
    }
}

/// The payer confirmed a page.pay / app.pay order on the cashier or in the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletePayment {
    /// The packet.
    pub auth_no: String,
    /// Who pays.
    pub payer_user_id: String,
    /// When.
    pub now_ms: i64,
}

/// What the deadline scheduler did to one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FiredDeadline {
    /// An unpaid packet passed its pay_timeout and closed.
    Closed {
        /// The packet.
        auth_no: String,
    },
    /// A funded packet expired; its remainder (possibly zero) went back to the payer.
    Expired {
        /// The packet.
        auth_no: String,
        /// What was refunded.
        refunded: Fen,
    },
}

/// A sandbox user: an account with a logon id and a password for the cashier page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxUser {
    /// `2088…` id.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Cashier password (sandbox only).
    pub password: String,
    /// Opening balance, issued once when the user is first created.
    pub opening_balance: Fen,
    /// Real name (optional; checked against a fund.trans payee's `name`).
    pub real_name: Option<String>,
}

/// Names a packet by Alipay's id or the merchant's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// `auth_no` (wins when both are given).
    AuthNo(String),
    /// `out_order_no`, scoped to the calling app.
    OutOrderNo(String),
}

/// Names a payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayeeRef {
    /// `payee_user_id`.
    UserId(String),
    /// `payee_logon_id`.
    LogonId(String),
    /// Both given: they must name the same user.
    Both {
        /// `payee_user_id`.
        user_id: String,
        /// `payee_logon_id`.
        logon_id: String,
    },
}

/// Pay part of a packet to a user. The disburse is an order of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisburseCommand {
    /// Calling app.
    pub app_id: String,
    /// The disburse's own merchant order number.
    pub out_order_no: String,
    /// The packet it draws from.
    pub packet: OrderRef,
    /// Merchant operation number.
    pub out_request_no: String,
    /// Title.
    pub order_title: String,
    /// Amount paid to the payee.
    pub amount: Fen,
    /// Who receives it.
    pub payee: PayeeRef,
    /// `extra_param` JSON text.
    pub extra_param: Option<String>,
    /// Where to notify the merchant of the outcome (the call's `notify_url`).
    pub notify: Option<NotifyTarget>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl DisburseCommand {
    /// The business parameters compared on a replay, with the packet and payee as resolved.
    pub fn fingerprint(&self, packet_auth_no: &str, payee_user_id: &str) -> String {
        fingerprint(&[
            ("packet", packet_auth_no),
            ("out_request_no", &self.out_request_no),
            ("order_title", &self.order_title),
            ("amount", &self.amount.fen().to_string()),
            ("payee", payee_user_id),
            ("extra_param", self.extra_param.as_deref().unwrap_or("")),
        ])
    }
}

/// Return part of a packet's remainder to its payer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundCommand {
    /// Calling app.
    pub app_id: String,
    /// The packet.
    pub auth_no: String,
    /// Merchant operation number, unique within the packet.
    pub out_request_no: String,
    /// Amount.
    pub amount: Fen,
    /// Remark.
    pub remark: String,
    /// Where to notify the merchant of the outcome (the call's `notify_url`).
    pub notify: Option<NotifyTarget>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl RefundCommand {
    /// The business parameters compared on a replay.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[("amount", &self.amount.fen().to_string()), ("remark", &self.remark)])
    }
}

/// Names an operation within an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationRef {
    /// `operation_id` (wins when both are given).
    OperationId(String),
    /// `out_request_no`.
    OutRequestNo(String),
}

/// `operation.query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationQuery {
    /// Calling app.
    pub app_id: String,
    /// The order.
    pub order: OrderRef,
    /// The operation.
    pub operation: OperationRef,
}

/// Everything the wire shows about one operation (the seed's response table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationView {
    /// Alipay order id.
    pub auth_no: String,
    /// Merchant order number.
    pub out_order_no: String,
    /// Alipay operation id.
    pub operation_id: String,
    /// Merchant operation number.
    pub out_request_no: String,
    /// This operation's amount.
    pub amount: Fen,
    /// The order's title.
    pub order_title: String,
    /// PAY or REFUND.
    pub operation_type: OperationType,
    /// INIT, SUCCESS or CLOSED.
    pub status: OperationStatus,
    /// Remark (the refund's remark, or the title).
    pub remark: String,
    /// Payer user id.
    pub payer_user_id: Option<String>,
    /// Payer logon id (unmasked; the gateway masks it).
    pub payer_logon_id: Option<String>,
    /// Payee user id.
    pub payee_user_id: Option<String>,
    /// Payee logon id (unmasked).
    pub payee_logon_id: Option<String>,
    /// Creation time.
    pub gmt_create_ms: i64,
    /// When the money moved (SUCCESS only).
    pub gmt_trans_ms: Option<i64>,
    /// `extra_param` of the order.
    pub extra_param: Option<String>,
    /// Σ refunds of the packet this operation belongs to.
    pub total_pay_refund_amount: Fen,
    /// What the operation does (finer than `operation_type`).
    pub kind: OperationKind,
    /// The product of its order.
    pub product: Product,
    /// For a disburse order: the packet it drew from (`None` for a B2C transfer).
    pub packet_auth_no: Option<String>,
    /// fund.trans `passback_params` of its order, echoed in messages.
    pub passback_params: Option<String>,
}

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now.
    Applied(OperationView),
    /// Applied before, by an identical request; nothing moved this time.
    Replayed(OperationView),
    /// Refused; nothing changed.
    Rejected(Rejection),
}

/// A canonical text of named business fields: `name=len:value;…`. Length-prefixing keeps two
/// different field sets from ever printing alike.
pub fn fingerprint(fields: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (name, value) in fields {
        text.push_str(name);
        text.push('=');
        text.push_str(&value.len().to_string());
        text.push(':');
        text.push_str(value);
        text.push(';');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_cannot_collide_by_shifting_separators() {
        assert_ne!(
            fingerprint(&[("a", "1;b=1:"), ("b", "")]),
            fingerprint(&[("a", "1"), ("b", "1:")])
        );
    }
}

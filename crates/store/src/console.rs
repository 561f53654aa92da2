//! What the sandbox console reads and writes beside the ledger's commands: listings of orders
//! (both products) with their operations and the journal entries behind them, users with their
//! balances and history, the console's own money commands (a new user, a top-up: both ledger
//! decisions, `decide_create_user` and `decide_top_up`), and the request log.
//!
//! The request log is the gateway's record of every call it answered. The store keeps it as
//! text columns it never interprets (it knows no Alipay wire), bounded by `Retention`.

use hongbao_ledger::{
    FundMethod, OperationView, OrderKind, Packet, PacketStatus, Posting, Product,
};
use hongbao_money::Fen;

/// Which orders to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this app's.
    pub app_id: Option<String>,
    /// Only this product's.
    pub product: Option<Product>,
    /// Only this state.
    pub status: Option<PacketStatus>,
    /// Only orders this id names: its auth_no, out_order_no, or one of its operations'
    /// operation_id or out_request_no.
    pub id: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// An order as the console lists it: a red packet (a fund.coupon packet or a fund.trans send)
/// or a disburse's own order (a claim, a B2C transfer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    /// Alipay's order id.
    pub auth_no: String,
    /// The app.
    pub app_id: String,
    /// The merchant's order number (out_biz_no for fund.trans).
    pub out_order_no: String,
    /// Packet or disburse order.
    pub kind: OrderKind,
    /// Which product.
    pub product: Product,
    /// How a packet is funded.
    pub fund_method: Option<FundMethod>,
    /// Title.
    pub order_title: String,
    /// Amount, disbursed, refunded and state.
    pub packet: Packet,
    /// Payer.
    pub payer_user_id: Option<String>,
    /// For a disburse order: who was paid.
    pub payee_user_id: Option<String>,
    /// For a disburse order: the packet it draws from.
    pub packet_auth_no: Option<String>,
    /// Created.
    pub created_at_ms: i64,
    /// When an unpaid packet closes.
    pub pay_deadline_ms: Option<i64>,
    /// When a funded packet expires.
    pub expire_at_ms: Option<i64>,
    /// When its expiry fired.
    pub expired_at_ms: Option<i64>,
    /// The call's notify_url.
    pub notify_url: Option<String>,
}

/// One journal entry with its postings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Its number.
    pub entry_id: i64,
    /// `issuance`, `top_up`, `fund`, `disburse`, `refund`.
    pub memo: String,
    /// The operation it belongs to (`None` for issuance and top-ups).
    pub operation_id: Option<String>,
    /// When.
    pub created_at_ms: i64,
    /// Its postings (summing to zero).
    pub postings: Vec<Posting>,
}

/// An operation with the journal entry behind it (none while INIT or CLOSED).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationDetail {
    /// The operation as a query shows it.
    pub view: OperationView,
    /// Its journal entry.
    pub entry: Option<JournalEntry>,
}

/// An order with everything behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderDetail {
    /// The order.
    pub order: OrderSummary,
    /// Its own operations, oldest first (a packet's fund and refunds; a disburse order's PAY).
    pub operations: Vec<OperationDetail>,
    /// For a packet: the disburse orders drawn from it, oldest first.
    pub disbursements: Vec<OrderSummary>,
}

/// A sandbox user with its balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    /// `2088…`.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Real name, when set.
    pub real_name: Option<String>,
    /// Balance.
    pub balance: Fen,
}

/// A user with the journal entries that moved its balance, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDetail {
    /// The user.
    pub user: UserSummary,
    /// The newest entries posting to its account.
    pub history: Vec<JournalEntry>,
}

/// Most history entries a user's page shows.
pub const USER_HISTORY_MAX: u32 = 200;

/// Where a request-log row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// A `/gateway.do` call.
    Gateway,
    /// A payer page action (cashier, wallet).
    Page,
}

impl LogKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Gateway => "gateway",
            LogKind::Page => "page",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<LogKind> {
        [LogKind::Gateway, LogKind::Page].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One request as the gateway logged it. Every text is as the gateway wrote it (bounded by the
/// gateway, `gateway::reqlog`); the store interprets none of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogEntry {
    /// The request id (`observe`).
    pub request_id: String,
    /// Business time of the answer (the sandbox clock), shown.
    pub at_ms: i64,
    /// Wall-clock time of the answer, for retention (the sandbox clock moving ages nothing).
    pub wall_ms: i64,
    /// Gateway call or page action.
    pub kind: Option<LogKind>,
    /// `GET`, `POST`.
    pub http_method: String,
    /// The path (never the query).
    pub path: String,
    /// `app_id` as sent.
    pub app_id: Option<String>,
    /// `method` as sent (for pages: the method of the order they show).
    pub method: Option<String>,
    /// `charset` as sent.
    pub charset: Option<String>,
    /// `sign_type` as sent.
    pub sign_type: Option<String>,
    /// The other parameters as a JSON object (biz_content apart, sign shortened).
    pub params: Option<String>,
    /// The decoded biz_content.
    pub biz_content: Option<String>,
    /// Whether the signature verified (`None`: not checked).
    pub sign_ok: Option<bool>,
    /// On a failed signature: the exact sign content the gateway built, and its hint.
    pub sign_content: Option<String>,
    /// The answer: the response node as JSON, or what a page did.
    pub answer: Option<String>,
    /// The answer's code.
    pub code: Option<String>,
    /// The answer's sub_code.
    pub sub_code: Option<String>,
    /// HTTP status.
    pub http_status: u16,
    /// From the first byte read to the answer.
    pub latency_us: i64,
    /// The console's injection rule that shaped the answer, when one did.
    pub injected: Option<String>,
    /// The merchant and Alipay ids the call named or answered (out_order_no, auth_no,
    /// operation_id, …), for the id filter.
    pub refs: Vec<String>,
}

/// A stored request-log row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its number: newer rows have larger ones.
    pub log_id: i64,
    /// What was logged.
    pub entry: LogEntry,
}

/// Which request-log rows to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this app's.
    pub app_id: Option<String>,
    /// Only this method's.
    pub method: Option<String>,
    /// Only answers with this code or sub_code.
    pub code: Option<String>,
    /// Only calls naming or answering this id.
    pub id: Option<String>,
    /// Only rows older than this one (paging).
    pub before_log_id: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// How much of the request log is kept: whichever bound is hit first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The newest rows kept.
    pub rows_max: u64,
    /// Rows older than this (wall clock) go.
    pub age_max_ms: i64,
}

/// Defaults: 100,000 rows, 7 days (docs/console.md).
impl Default for Retention {
    fn default() -> Retention {
        Retention { rows_max: 100_000, age_max_ms: 7 * 24 * 3_600_000 }
    }
}

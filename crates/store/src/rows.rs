//! What both stores read alike: the columns of an order record and of an operation view, as
//! SQL text shared by both dialects (only the `WHERE` differs) and one decoder each over
//! `Columns`, which SQLite's and PostgreSQL's rows both implement. A column added here is added
//! for both stores at once.

use crate::console::{JournalEntry, LogEntry, LogKind, LoggedRequest, OrderSummary, UserSummary};
use crate::notify::{AttemptRecord, NotifyRecord, PendingNotify};
use crate::StoreError;
use hongbao_ledger::decide::QueryFound;
use hongbao_ledger::invariants::OperationSnapshot;
use hongbao_ledger::notify::OutboxState;
use hongbao_ledger::{
    Account, BizScene, CallFormat, Entry, FundMethod, NotifyCharset, NotifyEvent, NotifySignType,
    NotifyStatus, NotifyTarget, OperationKind, OperationStatus, OperationView, OrderKind,
    OrderRecord, Packet, PacketStatus, Posting, Product,
};
use hongbao_money::Fen;

/// Reads a result row by column index.
pub(crate) trait Columns {
    /// A non-null text column.
    fn text(&self, index: usize) -> Result<String, StoreError>;
    /// A nullable text column.
    fn text_opt(&self, index: usize) -> Result<Option<String>, StoreError>;
    /// A non-null 64-bit integer column.
    fn int(&self, index: usize) -> Result<i64, StoreError>;
    /// A nullable 64-bit integer column.
    fn int_opt(&self, index: usize) -> Result<Option<i64>, StoreError>;
}

/// The columns of a row from index `.1` on: a statement that selects two records side by side
/// (`order_select!` then `view_select!`) decodes the second with the same decoder.
pub(crate) struct Shifted<'r, R>(pub &'r R, pub usize);

impl<R: Columns> Columns for Shifted<'_, R> {
    fn text(&self, index: usize) -> Result<String, StoreError> {
        self.0.text(self.1 + index)
    }
    fn text_opt(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.0.text_opt(self.1 + index)
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.0.int(self.1 + index)
    }
    fn int_opt(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.0.int_opt(self.1 + index)
    }
}

fn column_error(index: usize, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {index}: {err}"))
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, index: usize) -> Result<String, StoreError> {
        self.get(index).map_err(|err| column_error(index, err))
    }
    fn text_opt(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.get(index).map_err(|err| column_error(index, err))
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.get(index).map_err(|err| column_error(index, err))
    }
    fn int_opt(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.get(index).map_err(|err| column_error(index, err))
    }
}

impl Columns for tokio_postgres::Row {
    fn text(&self, index: usize) -> Result<String, StoreError> {
        self.try_get(index).map_err(|err| column_error(index, err))
    }
    fn text_opt(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.try_get(index).map_err(|err| column_error(index, err))
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.try_get(index).map_err(|err| column_error(index, err))
    }
    fn int_opt(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.try_get(index).map_err(|err| column_error(index, err))
    }
}

fn parsed<T>(value: Option<T>, what: &str, text: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| StoreError::Corrupt(format!("{what} {text:?}")))
}

/// `SELECT` of an order record (`order_record` decodes it), without its `WHERE`. Its
/// nineteenth column is the order's first funding or disbursing operation: `order_select!()`
/// finds it with `ORDER BY … LIMIT 1`, which SQLite runs by building a temporary B-tree for every
/// row; `order_select!(sqlite)` asks SQLite's `MIN` aggregate, whose bare columns come from the
/// row holding the minimum (one index search, no sort; the same row, ties aside).
macro_rules! order_select {
    () => {
        crate::rows::order_select!(@first "(SELECT f.operation_id FROM fund_operation f \
            WHERE f.auth_no = o.auth_no AND f.kind IN ('FUND', 'DISBURSE') \
            ORDER BY f.created_at_ms LIMIT 1)")
    };
    (sqlite) => {
        crate::rows::order_select!(@first "(SELECT first.operation_id FROM \
            (SELECT f.operation_id, MIN(f.created_at_ms) FROM fund_operation f \
             WHERE f.auth_no = o.auth_no AND f.kind IN ('FUND', 'DISBURSE')) first)")
    };
    (@first $first:literal) => {
        concat!(
            "SELECT o.auth_no, o.app_id, o.out_order_no, o.kind, o.fund_method, o.amount_fen, \
             o.disbursed_fen, o.refunded_fen, o.status, o.payer_user_id, o.fingerprint, \
             o.pay_deadline_ms, o.expire_after_ms, o.expire_at_ms, o.expired_at_ms, o.notify_url, \
             o.notify_charset, o.notify_sign_type, ",
            $first,
            ", o.product FROM fund_order o"
        )
    };
}
pub(crate) use order_select;

/// How many columns `order_select!` selects.
pub(crate) const ORDER_COLUMNS: usize = 20;

/// Decodes a row of `order_select!`.
pub(crate) fn order_record(row: &impl Columns) -> Result<OrderRecord, StoreError> {
    let kind = row.text(3)?;
    let product = row.text(19)?;
    let fund_method = row.text_opt(4)?;
    let status = row.text(8)?;
    let notify = match row.text_opt(15)? {
        None => None,
        Some(url) => {
            // Rows written before the charset and sign_type were stored notify as the SDKs'
            // defaults did.
            let charset = row.text_opt(16)?.unwrap_or_else(|| "utf-8".into());
            let sign_type = row.text_opt(17)?.unwrap_or_else(|| "RSA2".into());
            Some(NotifyTarget {
                url,
                charset: parsed(NotifyCharset::parse(&charset), "notify charset", &charset)?,
                sign_type: parsed(
                    NotifySignType::parse(&sign_type),
                    "notify sign_type",
                    &sign_type,
                )?,
            })
        }
    };
    Ok(OrderRecord {
        auth_no: row.text(0)?,
        app_id: row.text(1)?,
        out_order_no: row.text(2)?,
        kind: parsed(OrderKind::parse(&kind), "order kind", &kind)?,
        fund_method: match fund_method {
            None => None,
            Some(text) => Some(parsed(FundMethod::parse(&text), "fund method", &text)?),
        },
        packet: Packet {
            amount: Fen::from_fen(row.int(5)?),
            disbursed: Fen::from_fen(row.int(6)?),
            refunded: Fen::from_fen(row.int(7)?),
            status: parsed(PacketStatus::parse(&status), "order status", &status)?,
        },
        payer_user_id: row.text_opt(9)?,
        fingerprint: row.text(10)?,
        pay_deadline_ms: row.int_opt(11)?,
        expire_after_ms: row.int_opt(12)?,
        expire_at_ms: row.int_opt(13)?,
        expired_at_ms: row.int_opt(14)?,
        notify,
        first_operation_id: row
            .text_opt(18)?
            .ok_or_else(|| StoreError::Corrupt("an order without operations".into()))?,
        product: parsed(Product::parse(&product), "order product", &product)?,
    })
}

/// The stored format of the call that created an order; orders stored before it was kept
/// (and disburse orders without a notify_url) have none and read as the SDKs' defaults.
pub(crate) fn call_format(
    charset: Option<&str>,
    sign_type: Option<&str>,
) -> Result<CallFormat, StoreError> {
    let default = CallFormat::default();
    Ok(CallFormat {
        charset: match charset {
            None => default.charset,
            Some(text) => parsed(NotifyCharset::parse(text), "call charset", text)?,
        },
        sign_type: match sign_type {
            None => default.sign_type,
            Some(text) => parsed(NotifySignType::parse(text), "call sign_type", text)?,
        },
    })
}

/// `SELECT` of an operation view (`operation_view` decodes it), without its `WHERE`.
macro_rules! view_select {
    () => {
        "SELECT op.operation_id, op.out_request_no, op.kind, op.status, op.amount_fen, op.remark, \
         op.payer_user_id, op.payee_user_id, op.created_at_ms, op.trans_at_ms, \
         o.auth_no, o.out_order_no, o.order_title, o.extra_param, \
         COALESCE(p.refunded_fen, o.refunded_fen), payer.logon_id, payee.logon_id, \
         o.product, o.packet_auth_no, o.passback_params \
         FROM fund_operation op \
         JOIN fund_order o ON o.auth_no = op.auth_no \
         LEFT JOIN fund_order p ON p.auth_no = o.packet_auth_no \
         LEFT JOIN sandbox_user payer ON payer.user_id = op.payer_user_id \
         LEFT JOIN sandbox_user payee ON payee.user_id = op.payee_user_id"
    };
}
pub(crate) use view_select;

/// Decodes a row of `view_select!`.
pub(crate) fn operation_view(row: &impl Columns) -> Result<OperationView, StoreError> {
    let kind = row.text(2)?;
    let kind = parsed(OperationKind::parse(&kind), "operation kind", &kind)?;
    let status = row.text(3)?;
    let product = row.text(17)?;
    Ok(OperationView {
        operation_id: row.text(0)?,
        out_request_no: row.text(1)?,
        operation_type: kind.operation_type(),
        status: parsed(OperationStatus::parse(&status), "operation status", &status)?,
        amount: Fen::from_fen(row.int(4)?),
        remark: row.text(5)?,
        payer_user_id: row.text_opt(6)?,
        payee_user_id: row.text_opt(7)?,
        gmt_create_ms: row.int(8)?,
        gmt_trans_ms: row.int_opt(9)?,
        auth_no: row.text(10)?,
        out_order_no: row.text(11)?,
        order_title: row.text(12)?,
        extra_param: row.text_opt(13)?,
        total_pay_refund_amount: Fen::from_fen(row.int(14)?),
        payer_logon_id: row.text_opt(15)?,
        payee_logon_id: row.text_opt(16)?,
        kind,
        product: parsed(Product::parse(&product), "order product", &product)?,
        packet_auth_no: row.text_opt(18)?,
        passback_params: row.text_opt(19)?,
    })
}

/// Groups `(entry_id, account_id, amount_fen)` postings, ordered by entry, into entries.
pub(crate) fn entries_from_postings(
    postings: impl IntoIterator<Item = (i64, String, i64)>,
) -> Result<Vec<Entry>, StoreError> {
    let mut entries = Vec::new();
    let mut current: Option<(i64, Vec<Posting>)> = None;
    for (entry_id, account_id, amount) in postings {
        let account = Account::parse(&account_id)
            .ok_or_else(|| StoreError::Corrupt(format!("posting account {account_id:?}")))?;
        let posting = Posting { account, amount: Fen::from_fen(amount) };
        match &mut current {
            Some((id, postings)) if *id == entry_id => postings.push(posting),
            _ => {
                if let Some((_, postings)) = current.take() {
                    entries.push(Entry::from_stored(postings));
                }
                current = Some((entry_id, vec![posting]));
            }
        }
    }
    if let Some((_, postings)) = current {
        entries.push(Entry::from_stored(postings));
    }
    Ok(entries)
}

/// `SELECT` of every operation as the invariants see it (`operation_snapshot` decodes it).
pub(crate) const OPERATION_SNAPSHOTS: &str = "SELECT op.operation_id, \
     COALESCE(o.packet_auth_no, o.auth_no), op.kind, op.status, op.amount_fen, \
     (SELECT COUNT(*) FROM journal_entry j WHERE j.operation_id = op.operation_id) \
     FROM fund_operation op JOIN fund_order o ON o.auth_no = op.auth_no";

/// Decodes a row of `OPERATION_SNAPSHOTS`.
pub(crate) fn operation_snapshot(row: &impl Columns) -> Result<OperationSnapshot, StoreError> {
    let kind = row.text(2)?;
    let status = row.text(3)?;
    Ok(OperationSnapshot {
        operation_id: row.text(0)?,
        packet_auth_no: row.text(1)?,
        kind: parsed(OperationKind::parse(&kind), "operation kind", &kind)?,
        status: parsed(OperationStatus::parse(&status), "operation status", &status)?,
        amount: Fen::from_fen(row.int(4)?),
        entries: usize::try_from(row.int(5)?).unwrap_or(usize::MAX),
    })
}

/// `SELECT` of every packet for a snapshot.
pub(crate) const PACKET_SNAPSHOTS: &str = concat!(order_select!(), " WHERE o.kind = 'PACKET'");

/// `SELECT` of an outbox row (`outbox_row` decodes it), without its `WHERE`. Integer columns are
/// cast to 64 bits so both dialects read them alike.
macro_rules! outbox_select {
    () => {
        "SELECT notify_id, app_id, operation_id, event, notify_url, charset, sign_type, status, \
         CAST(attempts AS BIGINT), next_attempt_at_ms, last_error, created_at_ms, delivered_at_ms \
         FROM notify_outbox"
    };
}
pub(crate) use outbox_select;

/// The due notifications offered to a claim, round robin over the apps (each app's oldest
/// first, at most `per_app` of each), `notify_id, app_id`; the SQL of both stores, whose
/// placeholders for now, `per_app` and the row limit are the arguments.
macro_rules! due_round_robin {
    ($now:literal, $per_app:literal, $limit:literal) => {
        concat!(
            "SELECT notify_id, app_id FROM (SELECT notify_id, app_id, next_attempt_at_ms, \
             ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY next_attempt_at_ms, notify_id) AS turn \
             FROM notify_outbox WHERE status = 'PENDING' AND next_attempt_at_ms <= ",
            $now,
            ") due WHERE turn <= ",
            $per_app,
            " ORDER BY turn, next_attempt_at_ms, notify_id LIMIT ",
            $limit
        )
    };
}
pub(crate) use due_round_robin;

/// A stored outbox row.
pub(crate) struct OutboxRow {
    pub(crate) notify_id: String,
    pub(crate) app_id: String,
    pub(crate) operation_id: String,
    pub(crate) event: NotifyEvent,
    pub(crate) target: NotifyTarget,
    pub(crate) status: NotifyStatus,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at_ms: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at_ms: i64,
    pub(crate) delivered_at_ms: Option<i64>,
}

/// Decodes a row of `outbox_select!`.
pub(crate) fn outbox_row(row: &impl Columns) -> Result<OutboxRow, StoreError> {
    let event = row.text(3)?;
    let charset = row.text(5)?;
    let sign_type = row.text(6)?;
    let status = row.text(7)?;
    Ok(OutboxRow {
        notify_id: row.text(0)?,
        app_id: row.text(1)?,
        operation_id: row.text(2)?,
        event: parsed(NotifyEvent::parse(&event), "notify event", &event)?,
        target: NotifyTarget {
            url: row.text(4)?,
            charset: parsed(NotifyCharset::parse(&charset), "notify charset", &charset)?,
            sign_type: parsed(NotifySignType::parse(&sign_type), "notify sign_type", &sign_type)?,
        },
        status: parsed(NotifyStatus::parse(&status), "notify status", &status)?,
        attempts: u32::try_from(row.int(8)?).unwrap_or(u32::MAX),
        next_attempt_at_ms: row.int_opt(9)?,
        last_error: row.text_opt(10)?,
        created_at_ms: row.int(11)?,
        delivered_at_ms: row.int_opt(12)?,
    })
}

impl OutboxRow {
    /// The row's state, as `hongbao_ledger::notify` decides on it.
    pub(crate) fn state(&self) -> OutboxState {
        OutboxState { status: self.status, attempts: self.attempts }
    }

    /// The row claimed for delivery, with its operation as it stands.
    pub(crate) fn into_pending(self, view: OperationView) -> PendingNotify {
        PendingNotify {
            notify_id: self.notify_id,
            app_id: self.app_id,
            event: self.event,
            target: self.target,
            created_at_ms: self.created_at_ms,
            attempts: self.attempts,
            view,
        }
    }

    /// The row for a listing, with its attempts.
    pub(crate) fn into_record(self, history: Vec<AttemptRecord>) -> NotifyRecord {
        NotifyRecord {
            notify_id: self.notify_id,
            app_id: self.app_id,
            operation_id: self.operation_id,
            event: self.event,
            notify_url: self.target.url,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at_ms: self.next_attempt_at_ms,
            last_error: self.last_error,
            created_at_ms: self.created_at_ms,
            delivered_at_ms: self.delivered_at_ms,
            history,
        }
    }
}

/// `SELECT` of a notification's attempts, oldest first (`attempt_record` decodes it).
macro_rules! attempts_select {
    () => {
        "SELECT at_ms, CAST(CAST(delivered AS INTEGER) AS BIGINT), CAST(http_status AS BIGINT), \
         error, answer, latency_ms FROM notify_attempt"
    };
}
pub(crate) use attempts_select;

/// Decodes a row of `attempts_select!`.
pub(crate) fn attempt_record(row: &impl Columns) -> Result<AttemptRecord, StoreError> {
    Ok(AttemptRecord {
        at_ms: row.int(0)?,
        delivered: row.int(1)? != 0,
        http_status: row.int_opt(2)?.and_then(|status| u16::try_from(status).ok()),
        error: row.text_opt(3)?,
        answer: row.text_opt(4)?,
        latency_ms: row.int_opt(5)?,
    })
}

/// `SELECT` of a fund.trans document for `common.query` (`query_found` decodes it), without its
/// `WHERE`: the app and product of its order, its scene's inputs, its operation.
macro_rules! trans_document_select {
    () => {
        "SELECT o.app_id, o.product, op.kind, o.packet_auth_no, op.operation_id \
         FROM fund_operation op JOIN fund_order o ON o.auth_no = op.auth_no"
    };
}
pub(crate) use trans_document_select;

/// Decodes a row of `trans_document_select!`.
pub(crate) fn query_found(row: &impl Columns) -> Result<QueryFound, StoreError> {
    let product = row.text(1)?;
    let kind = row.text(2)?;
    let kind = parsed(OperationKind::parse(&kind), "operation kind", &kind)?;
    Ok(QueryFound {
        app_id: row.text(0)?,
        product: parsed(Product::parse(&product), "order product", &product)?,
        scene: BizScene::of_operation(kind, row.text_opt(3)?.is_some()),
        operation_id: row.text(4)?,
    })
}

/// `SELECT` of an order as the console lists it (`order_summary` decodes it), without its
/// `WHERE`.
macro_rules! order_summary_select {
    () => {
        "SELECT o.auth_no, o.app_id, o.out_order_no, o.kind, o.product, o.fund_method, \
         o.order_title, o.amount_fen, o.disbursed_fen, o.refunded_fen, o.status, o.payer_user_id, \
         o.payee_user_id, o.packet_auth_no, o.created_at_ms, o.pay_deadline_ms, o.expire_at_ms, \
         o.expired_at_ms, o.notify_url FROM fund_order o"
    };
}
pub(crate) use order_summary_select;

/// Decodes a row of `order_summary_select!`.
pub(crate) fn order_summary(row: &impl Columns) -> Result<OrderSummary, StoreError> {
    let kind = row.text(3)?;
    let product = row.text(4)?;
    let status = row.text(10)?;
    Ok(OrderSummary {
        auth_no: row.text(0)?,
        app_id: row.text(1)?,
        out_order_no: row.text(2)?,
        kind: parsed(OrderKind::parse(&kind), "order kind", &kind)?,
        product: parsed(Product::parse(&product), "order product", &product)?,
        fund_method: match row.text_opt(5)? {
            None => None,
            Some(text) => Some(parsed(FundMethod::parse(&text), "fund method", &text)?),
        },
        order_title: row.text(6)?,
        packet: Packet {
            amount: Fen::from_fen(row.int(7)?),
            disbursed: Fen::from_fen(row.int(8)?),
            refunded: Fen::from_fen(row.int(9)?),
            status: parsed(PacketStatus::parse(&status), "order status", &status)?,
        },
        payer_user_id: row.text_opt(11)?,
        payee_user_id: row.text_opt(12)?,
        packet_auth_no: row.text_opt(13)?,
        created_at_ms: row.int(14)?,
        pay_deadline_ms: row.int_opt(15)?,
        expire_at_ms: row.int_opt(16)?,
        expired_at_ms: row.int_opt(17)?,
        notify_url: row.text_opt(18)?,
    })
}

/// `SELECT` of journal entries with their postings (`journal_entries` groups the rows), without
/// its `WHERE`; the caller orders by `e.entry_id` (then `p.amount_fen`: the debit first).
macro_rules! journal_select {
    () => {
        "SELECT e.entry_id, e.memo, e.operation_id, e.created_at_ms, p.account_id, p.amount_fen \
         FROM journal_entry e JOIN posting p ON p.entry_id = e.entry_id"
    };
}
pub(crate) use journal_select;

/// One row of `journal_select!`.
pub(crate) type JournalRow = (i64, String, Option<String>, i64, String, i64);

/// Decodes a row of `journal_select!`.
pub(crate) fn journal_row(row: &impl Columns) -> Result<JournalRow, StoreError> {
    Ok((row.int(0)?, row.text(1)?, row.text_opt(2)?, row.int(3)?, row.text(4)?, row.int(5)?))
}

/// Groups rows of `journal_select!`, ordered by entry, into entries (in that order).
pub(crate) fn journal_entries(rows: Vec<JournalRow>) -> Result<Vec<JournalEntry>, StoreError> {
    let mut entries: Vec<JournalEntry> = Vec::new();
    for (entry_id, memo, operation_id, created_at_ms, account_id, amount) in rows {
        let account = Account::parse(&account_id)
            .ok_or_else(|| StoreError::Corrupt(format!("posting account {account_id:?}")))?;
        let posting = Posting { account, amount: Fen::from_fen(amount) };
        match entries.last_mut() {
            Some(last) if last.entry_id == entry_id => last.postings.push(posting),
            _ => entries.push(JournalEntry {
                entry_id,
                memo,
                operation_id,
                created_at_ms,
                postings: vec![posting],
            }),
        }
    }
    Ok(entries)
}

/// `SELECT` of users with their balances (`user_summary` decodes it), without its `WHERE`.
macro_rules! user_summary_select {
    () => {
        "SELECT u.user_id, u.logon_id, u.real_name, COALESCE(a.balance_fen, 0) \
         FROM sandbox_user u LEFT JOIN account a ON a.account_id = 'user:' || u.user_id"
    };
}
pub(crate) use user_summary_select;

/// Decodes a row of `user_summary_select!`.
pub(crate) fn user_summary(row: &impl Columns) -> Result<UserSummary, StoreError> {
    Ok(UserSummary {
        user_id: row.text(0)?,
        logon_id: row.text(1)?,
        real_name: row.text_opt(2)?,
        balance: Fen::from_fen(row.int(3)?),
    })
}

/// `SELECT` of request-log rows (`logged_request` decodes it), without its `WHERE`. Integer
/// columns are cast to 64 bits, the flag to an integer, so both dialects read them alike.
macro_rules! request_log_select {
    () => {
        "SELECT log_id, request_id, at_ms, wall_ms, kind, http_method, path, app_id, method, \
         charset, sign_type, params, biz_content, CAST(CAST(sign_ok AS INTEGER) AS BIGINT), \
         sign_content, answer, code, sub_code, CAST(http_status AS BIGINT), latency_us, injected \
         FROM request_log"
    };
}
pub(crate) use request_log_select;

/// Decodes a row of `request_log_select!` (its refs are read apart).
pub(crate) fn logged_request(row: &impl Columns) -> Result<LoggedRequest, StoreError> {
    let kind = row.text(4)?;
    Ok(LoggedRequest {
        log_id: row.int(0)?,
        entry: LogEntry {
            request_id: row.text(1)?,
            at_ms: row.int(2)?,
            wall_ms: row.int(3)?,
            kind: Some(parsed(LogKind::parse(&kind), "request log kind", &kind)?),
            http_method: row.text(5)?,
            path: row.text(6)?,
            app_id: row.text_opt(7)?,
            method: row.text_opt(8)?,
            charset: row.text_opt(9)?,
            sign_type: row.text_opt(10)?,
            params: row.text_opt(11)?,
            biz_content: row.text_opt(12)?,
            sign_ok: row.int_opt(13)?.map(|flag| flag != 0),
            sign_content: row.text_opt(14)?,
            answer: row.text_opt(15)?,
            code: row.text_opt(16)?,
            sub_code: row.text_opt(17)?,
            http_status: u16::try_from(row.int(18)?).unwrap_or(0),
            latency_us: row.int(19)?,
            injected: row.text_opt(20)?,
            refs: Vec::new(),
        },
    })
}

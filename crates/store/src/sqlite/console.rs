//! The sandbox console on SQLite: listings (on the blocking pool, `SqliteStore::scan`), the
//! console's money commands and the request log's appends and pruning (on the writer, each in
//! its savepoint like any command, so a log batch shares a group commit's fsync).

use super::apply::apply;
use super::commands::{balance, exec, first, user_by, USER_BY_ID, USER_BY_LOGON_ID};
use crate::console::{
    LogEntry, LogFilter, LoggedRequest, OperationDetail, OrderDetail, OrderFilter, OrderSummary,
    Retention, UserDetail, UserSummary,
};
use crate::rows::{
    journal_entries, journal_row, journal_select, logged_request, operation_view, order_summary,
    order_summary_select, request_log_select, user_summary, user_summary_select, view_select,
};
use crate::{Keep, StoreError};
use hongbao_ledger::{
    decide_create_user, decide_top_up, Account, NewUserFacts, PacketStatus, Product, Rejection,
    SandboxUser, TopUpFacts,
};
use hongbao_money::Fen;
use rusqlite::{params, Connection};

fn summaries(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<OrderSummary>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(order_summary(row)?);
    }
    Ok(found)
}

/// Orders, newest first.
pub fn orders(conn: &Connection, filter: &OrderFilter) -> Result<Vec<OrderSummary>, StoreError> {
    let sql = concat!(
        order_summary_select!(),
        " WHERE (?1 IS NULL OR o.app_id = ?1) AND (?2 IS NULL OR o.product = ?2) \
         AND (?3 IS NULL OR o.status = ?3) \
         AND (?4 IS NULL OR o.auth_no = ?4 OR o.out_order_no = ?4 OR o.packet_auth_no = ?4 \
              OR EXISTS (SELECT 1 FROM fund_operation f WHERE f.auth_no = o.auth_no \
                         AND (f.operation_id = ?4 OR f.out_request_no = ?4))) \
         ORDER BY o.created_at_ms DESC, o.auth_no DESC LIMIT ?5"
    );
    summaries(
        conn,
        sql,
        params![
            filter.app_id,
            filter.product.map(Product::as_str),
            filter.status.map(PacketStatus::as_str),
            filter.id,
            filter.limit.max(1)
        ],
    )
}

fn entries_where(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<crate::console::JournalEntry>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(journal_row(row)?);
    }
    journal_entries(found)
}

/// One order with its operations, their entries and its disburse orders (run by a reader, in
/// one read transaction: they agree).
pub fn order_detail(conn: &Connection, auth_no: &str) -> Result<Option<OrderDetail>, StoreError> {
    let found =
        summaries(conn, concat!(order_summary_select!(), " WHERE o.auth_no = ?1"), [auth_no])?;
    let Some(order) = found.into_iter().next() else { return Ok(None) };
    let mut statement = conn.prepare_cached(concat!(
        view_select!(),
        " WHERE op.auth_no = ?1 ORDER BY op.created_at_ms, op.operation_id"
    ))?;
    let mut rows = statement.query([auth_no])?;
    let mut views = Vec::new();
    while let Some(row) = rows.next()? {
        views.push(operation_view(row)?);
    }
    drop(rows);
    let mut entries = entries_where(
        conn,
        concat!(
            journal_select!(),
            " WHERE e.operation_id IN (SELECT operation_id FROM fund_operation WHERE auth_no = ?1) \
             ORDER BY e.entry_id, p.amount_fen"
        ),
        [auth_no],
    )?;
    let operations = views
        .into_iter()
        .map(|view| {
            let at =
                entries.iter().position(|e| e.operation_id.as_ref() == Some(&view.operation_id));
            OperationDetail { entry: at.map(|index| entries.swap_remove(index)), view }
        })
        .collect();
    let disbursements = summaries(
        conn,
        concat!(
            order_summary_select!(),
            " WHERE o.packet_auth_no = ?1 ORDER BY o.created_at_ms, o.auth_no"
        ),
        [auth_no],
    )?;
    Ok(Some(OrderDetail { order, operations, disbursements }))
}

/// Users by id.
pub fn users(conn: &Connection, limit: u32) -> Result<Vec<UserSummary>, StoreError> {
    let mut statement =
        conn.prepare_cached(concat!(user_summary_select!(), " ORDER BY u.user_id LIMIT ?1"))?;
    let mut rows = statement.query([limit.max(1)])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(user_summary(row)?);
    }
    Ok(found)
}

/// One user and the newest entries of its account (run by a reader, in one read transaction:
/// they agree).
pub fn user_detail(
    conn: &Connection,
    user_id: &str,
    history_limit: u32,
) -> Result<Option<UserDetail>, StoreError> {
    let user =
        first(conn, concat!(user_summary_select!(), " WHERE u.user_id = ?1"), [user_id], |row| {
            user_summary(row)
        })?;
    let Some(user) = user else { return Ok(None) };
    let history = entries_where(
        conn,
        concat!(
            journal_select!(),
            " WHERE e.entry_id IN (SELECT entry_id FROM posting WHERE account_id = ?1 \
                                   ORDER BY entry_id DESC LIMIT ?2) \
             ORDER BY e.entry_id DESC, p.amount_fen"
        ),
        params![Account::User(user_id.to_owned()).id(), history_limit.max(1)],
    )?;
    Ok(Some(UserDetail { user, history }))
}

/// A new sandbox user, as `decide_create_user` decides.
pub fn create_user(
    conn: &Connection,
    user: &SandboxUser,
    now_ms: i64,
) -> Result<Keep<Result<(), Rejection>>, StoreError> {
    let facts = NewUserFacts {
        exists: user_by(conn, USER_BY_ID, &user.user_id)?.is_some(),
        logon_id_taken: user_by(conn, USER_BY_LOGON_ID, &user.logon_id)?.is_some(),
        issuance_balance: balance(conn, &Account::Issuance)?.unwrap_or(Fen::ZERO),
    };
    match decide_create_user(user, &facts, now_ms)? {
        Err(rejection) => Ok(Keep::Rollback(Err(rejection))),
        Ok(plan) => {
            apply(conn, &plan)?;
            Ok(Keep::Commit(Ok(())))
        }
    }
}

/// A top-up, as `decide_top_up` decides; answers the new balance.
pub fn top_up(
    conn: &Connection,
    user_id: &str,
    amount: Fen,
    now_ms: i64,
) -> Result<Keep<Result<Fen, Rejection>>, StoreError> {
    let account = Account::User(user_id.to_owned());
    let facts = TopUpFacts {
        balance: match user_by(conn, USER_BY_ID, user_id)? {
            Some(_) => Some(balance(conn, &account)?.unwrap_or(Fen::ZERO)),
            None => None,
        },
        issuance_balance: balance(conn, &Account::Issuance)?.unwrap_or(Fen::ZERO),
    };
    match decide_top_up(user_id, amount, &facts, now_ms)? {
        Err(rejection) => Ok(Keep::Rollback(Err(rejection))),
        Ok(plan) => {
            apply(conn, &plan)?;
            let after = balance(conn, &account)?.unwrap_or(Fen::ZERO);
            Ok(Keep::Commit(Ok(after)))
        }
    }
}

/// Appends log rows and their refs.
pub fn append_request_log(conn: &Connection, entries: &[LogEntry]) -> Result<Keep<()>, StoreError> {
    for entry in entries {
        exec(
            conn,
            "INSERT INTO request_log (request_id, at_ms, wall_ms, kind, http_method, path, app_id, \
             method, charset, sign_type, params, biz_content, sign_ok, sign_content, answer, code, \
             sub_code, http_status, latency_us, injected) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
                     ?18, ?19, ?20)",
            params![
                entry.request_id,
                entry.at_ms,
                entry.wall_ms,
                entry.kind.unwrap_or(crate::LogKind::Gateway).as_str(),
                entry.http_method,
                entry.path,
                entry.app_id,
                entry.method,
                entry.charset,
                entry.sign_type,
                entry.params,
                entry.biz_content,
                entry.sign_ok,
                entry.sign_content,
                entry.answer,
                entry.code,
                entry.sub_code,
                entry.http_status,
                entry.latency_us,
                entry.injected
            ],
        )?;
        let log_id = conn.last_insert_rowid();
        for reference in &entry.refs {
            exec(
                conn,
                "INSERT OR IGNORE INTO request_log_ref (log_id, ref) VALUES (?1, ?2)",
                params![log_id, reference],
            )?;
        }
    }
    Ok(Keep::Commit(()))
}

/// Rows newest first, filtered.
pub fn request_log(
    conn: &Connection,
    filter: &LogFilter,
) -> Result<Vec<LoggedRequest>, StoreError> {
    let mut statement = conn.prepare_cached(concat!(
        request_log_select!(),
        " WHERE (?1 IS NULL OR app_id = ?1) AND (?2 IS NULL OR method = ?2) \
         AND (?3 IS NULL OR code = ?3 OR sub_code = ?3) \
         AND (?4 IS NULL OR log_id IN (SELECT log_id FROM request_log_ref WHERE ref = ?4)) \
         AND (?5 IS NULL OR log_id < ?5) \
         ORDER BY log_id DESC LIMIT ?6"
    ))?;
    let mut rows = statement.query(params![
        filter.app_id,
        filter.method,
        filter.code,
        filter.id,
        filter.before_log_id,
        filter.limit.max(1)
    ])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(logged_request(row)?);
    }
    Ok(found)
}

/// One row with its refs.
pub fn request_log_entry(
    conn: &Connection,
    log_id: i64,
) -> Result<Option<LoggedRequest>, StoreError> {
    let found =
        first(conn, concat!(request_log_select!(), " WHERE log_id = ?1"), [log_id], |row| {
            logged_request(row)
        })?;
    let Some(mut found) = found else { return Ok(None) };
    let mut statement =
        conn.prepare_cached("SELECT ref FROM request_log_ref WHERE log_id = ?1 ORDER BY ref")?;
    found.entry.refs =
        statement.query_map([log_id], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(Some(found))
}

/// Deletes the rows past `retention`: those below the newest `rows_max`, and those logged
/// before `wall_now_ms - age_max_ms` (log ids grow with time, so the old rows are a range at
/// the start, found without an index on the time).
pub fn prune_request_log(
    conn: &Connection,
    retention: Retention,
    wall_now_ms: i64,
) -> Result<Keep<u64>, StoreError> {
    let rows_max = i64::try_from(retention.rows_max).unwrap_or(i64::MAX);
    let by_rows: Option<i64> = first(
        conn,
        "SELECT log_id FROM request_log ORDER BY log_id DESC LIMIT 1 OFFSET ?1",
        [rows_max],
        |row| Ok(row.get::<_, i64>(0)?),
    )?;
    let oldest_kept: Option<i64> = first(
        conn,
        "SELECT log_id FROM request_log WHERE wall_ms >= ?1 ORDER BY log_id LIMIT 1",
        [wall_now_ms.saturating_sub(retention.age_max_ms)],
        |row| Ok(row.get::<_, i64>(0)?),
    )?;
    // Everything up to and including `cut` goes.
    let by_age = match oldest_kept {
        Some(id) => Some(id - 1),
        None => first(conn, "SELECT MAX(log_id) FROM request_log", [], |row| {
            Ok(row.get::<_, Option<i64>>(0)?)
        })?
        .flatten(),
    };
    let Some(cut) = by_rows.into_iter().chain(by_age).max() else {
        return Ok(Keep::Rollback(0));
    };
    exec(conn, "DELETE FROM request_log_ref WHERE log_id <= ?1", [cut])?;
    let deleted = exec(conn, "DELETE FROM request_log WHERE log_id <= ?1", [cut])?;
    Ok(Keep::Commit(deleted as u64))
}

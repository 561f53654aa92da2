//! The sandbox console on PostgreSQL: listings in one REPEATABLE READ snapshot
//! (`PostgresStore::read`), the console's money commands in their own transactions (locking
//! the balances they decide on, issuance first: the fixed ascending order), and the request
//! log, appended a batch per statement (arrays through `unnest`) on a pooled connection, never
//! through the money writer.

use super::apply::apply;
use super::commands::{
    balance, decoded, execute, query_all, query_opt, user_by, USER_BY_ID, USER_BY_LOGON_ID,
};
use super::Failure;
use crate::console::{
    JournalEntry, LogEntry, LogFilter, LoggedRequest, OperationDetail, OrderDetail, OrderFilter,
    OrderSummary, Retention, UserDetail, UserSummary,
};
use crate::rows::{
    journal_entries, journal_row, journal_select, logged_request, operation_view, order_summary,
    order_summary_select, request_log_select, user_summary, user_summary_select, view_select,
};
use crate::{Keep, LogKind};
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    decide_create_user, decide_top_up, Account, NewUserFacts, PacketStatus, Product, Rejection,
    SandboxUser, TopUpFacts,
};
use hongbao_money::Fen;
use std::sync::Arc;
use tokio_postgres::Row;

fn summaries(rows: Vec<Row>) -> Result<Vec<OrderSummary>, Failure> {
    rows.iter().map(|row| decoded(order_summary(row))).collect()
}

async fn entries(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<JournalEntry>, Failure> {
    let rows = query_all(tx, sql, params).await?;
    let rows = rows.iter().map(|row| decoded(journal_row(row))).collect::<Result<Vec<_>, _>>()?;
    decoded(journal_entries(rows))
}

pub(crate) async fn orders(
    tx: &Transaction<'_>,
    filter: OrderFilter,
) -> Result<Vec<OrderSummary>, Failure> {
    let sql = concat!(
        order_summary_select!(),
        " WHERE ($1::text IS NULL OR o.app_id = $1) AND ($2::text IS NULL OR o.product = $2) \
         AND ($3::text IS NULL OR o.status = $3) \
         AND ($4::text IS NULL OR o.auth_no = $4 OR o.out_order_no = $4 OR o.packet_auth_no = $4 \
              OR EXISTS (SELECT 1 FROM fund_operation f WHERE f.auth_no = o.auth_no \
                         AND (f.operation_id = $4 OR f.out_request_no = $4))) \
         ORDER BY o.created_at_ms DESC, o.auth_no DESC LIMIT $5"
    );
    let product = filter.product.map(Product::as_str);
    let status = filter.status.map(PacketStatus::as_str);
    let limit = i64::from(filter.limit.max(1));
    summaries(query_all(tx, sql, &[&filter.app_id, &product, &status, &filter.id, &limit]).await?)
}

pub(crate) async fn order_detail(
    tx: &Transaction<'_>,
    auth_no: String,
) -> Result<Option<OrderDetail>, Failure> {
    let found =
        query_all(tx, concat!(order_summary_select!(), " WHERE o.auth_no = $1"), &[&auth_no])
            .await?;
    let Some(order) = summaries(found)?.into_iter().next() else { return Ok(None) };
    let rows = query_all(
        tx,
        concat!(
            view_select!(),
            " WHERE op.auth_no = $1 ORDER BY op.created_at_ms, op.operation_id"
        ),
        &[&auth_no],
    )
    .await?;
    let views =
        rows.iter().map(|row| decoded(operation_view(row))).collect::<Result<Vec<_>, _>>()?;
    let mut found_entries = entries(
        tx,
        concat!(
            journal_select!(),
            " WHERE e.operation_id IN (SELECT operation_id FROM fund_operation WHERE auth_no = $1) \
             ORDER BY e.entry_id, p.amount_fen"
        ),
        &[&auth_no],
    )
    .await?;
    let operations = views
        .into_iter()
        .map(|view| {
            let at = found_entries
                .iter()
                .position(|e| e.operation_id.as_ref() == Some(&view.operation_id));
            OperationDetail { entry: at.map(|index| found_entries.swap_remove(index)), view }
        })
        .collect();
    let disbursements = summaries(
        query_all(
            tx,
            concat!(
                order_summary_select!(),
                " WHERE o.packet_auth_no = $1 ORDER BY o.created_at_ms, o.auth_no"
            ),
            &[&auth_no],
        )
        .await?,
    )?;
    Ok(Some(OrderDetail { order, operations, disbursements }))
}

pub(crate) async fn users(tx: &Transaction<'_>, limit: u32) -> Result<Vec<UserSummary>, Failure> {
    let limit = i64::from(limit.max(1));
    let rows =
        query_all(tx, concat!(user_summary_select!(), " ORDER BY u.user_id LIMIT $1"), &[&limit])
            .await?;
    rows.iter().map(|row| decoded(user_summary(row))).collect()
}

pub(crate) async fn user_detail(
    tx: &Transaction<'_>,
    user_id: String,
    history_limit: u32,
) -> Result<Option<UserDetail>, Failure> {
    let Some(row) =
        query_opt(tx, concat!(user_summary_select!(), " WHERE u.user_id = $1"), &[&user_id])
            .await?
    else {
        return Ok(None);
    };
    let user = decoded(user_summary(&row))?;
    let account = Account::User(user_id).id();
    let limit = i64::from(history_limit.max(1));
    let history = entries(
        tx,
        concat!(
            journal_select!(),
            " WHERE e.entry_id IN (SELECT entry_id FROM posting WHERE account_id = $1 \
                                   ORDER BY entry_id DESC LIMIT $2) \
             ORDER BY e.entry_id DESC, p.amount_fen"
        ),
        &[&account, &limit],
    )
    .await?;
    Ok(Some(UserDetail { user, history }))
}

pub(crate) async fn create_user(
    tx: &Transaction<'_>,
    user: SandboxUser,
    now_ms: i64,
) -> Result<Keep<Result<(), Rejection>>, Failure> {
    // Issuance is locked first (the lock order), so creations are issued one at a time; a race
    // on the same id or logon id meets the UNIQUE keys, retries, and is then refused here.
    let issuance_balance = balance(tx, Some(Account::Issuance), true).await?.unwrap_or(Fen::ZERO);
    let facts = NewUserFacts {
        exists: user_by(tx, USER_BY_ID, Some(&user.user_id)).await?.is_some(),
        logon_id_taken: user_by(tx, USER_BY_LOGON_ID, Some(&user.logon_id)).await?.is_some(),
        issuance_balance,
    };
    match decide_create_user(&user, &facts, now_ms)? {
        Err(rejection) => Ok(Keep::Rollback(Err(rejection))),
        Ok(plan) => {
            apply(tx, &plan).await?;
            Ok(Keep::Commit(Ok(())))
        }
    }
}

pub(crate) async fn top_up(
    tx: &Transaction<'_>,
    user_id: String,
    amount: Fen,
    now_ms: i64,
) -> Result<Keep<Result<Fen, Rejection>>, Failure> {
    let issuance_balance = balance(tx, Some(Account::Issuance), true).await?.unwrap_or(Fen::ZERO);
    let account = Account::User(user_id.clone());
    let exists = user_by(tx, USER_BY_ID, Some(&user_id)).await?.is_some();
    let balance_now = match exists {
        true => Some(balance(tx, Some(account.clone()), true).await?.unwrap_or(Fen::ZERO)),
        false => None,
    };
    let facts = TopUpFacts { balance: balance_now, issuance_balance };
    match decide_top_up(&user_id, amount, &facts, now_ms)? {
        Err(rejection) => Ok(Keep::Rollback(Err(rejection))),
        Ok(plan) => {
            apply(tx, &plan).await?;
            let after = balance(tx, Some(account), false).await?.unwrap_or(Fen::ZERO);
            Ok(Keep::Commit(Ok(after)))
        }
    }
}

/// One statement for the ids, one for the rows, one for their refs.
pub(crate) async fn append_request_log(
    tx: &Transaction<'_>,
    entries: Arc<Vec<LogEntry>>,
) -> Result<Keep<()>, Failure> {
    let entries = entries.as_slice();
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let ids: Vec<i64> = query_all(
        tx,
        "SELECT nextval('request_log_id') FROM generate_series(1::bigint, $1::bigint)",
        &[&count],
    )
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    // Rows numbered in the order given, whatever order the set came back in.
    let mut ids = ids;
    ids.sort_unstable();
    let column = |f: &dyn Fn(&LogEntry) -> Option<String>| -> Vec<Option<String>> {
        entries.iter().map(f).collect()
    };
    let request_ids = column(&|e| Some(e.request_id.clone()));
    let kinds = column(&|e| Some(e.kind.unwrap_or(LogKind::Gateway).as_str().to_owned()));
    let http_methods = column(&|e| Some(e.http_method.clone()));
    let paths = column(&|e| Some(e.path.clone()));
    let app_ids = column(&|e| e.app_id.clone());
    let methods = column(&|e| e.method.clone());
    let charsets = column(&|e| e.charset.clone());
    let sign_types = column(&|e| e.sign_type.clone());
    let params = column(&|e| e.params.clone());
    let biz_contents = column(&|e| e.biz_content.clone());
    let sign_contents = column(&|e| e.sign_content.clone());
    let answers = column(&|e| e.answer.clone());
    let codes = column(&|e| e.code.clone());
    let sub_codes = column(&|e| e.sub_code.clone());
    let injected = column(&|e| e.injected.clone());
    let at: Vec<i64> = entries.iter().map(|e| e.at_ms).collect();
    let wall: Vec<i64> = entries.iter().map(|e| e.wall_ms).collect();
    let sign_ok: Vec<Option<bool>> = entries.iter().map(|e| e.sign_ok).collect();
    let statuses: Vec<i32> = entries.iter().map(|e| i32::from(e.http_status)).collect();
    let latencies: Vec<i64> = entries.iter().map(|e| e.latency_us).collect();
    execute(
        tx,
        "INSERT INTO request_log (log_id, request_id, at_ms, wall_ms, kind, http_method, path, \
         app_id, method, charset, sign_type, params, biz_content, sign_ok, sign_content, answer, \
         code, sub_code, http_status, latency_us, injected) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
         $13::text[], $14::boolean[], $15::text[], $16::text[], $17::text[], $18::text[], \
         $19::integer[], $20::bigint[], $21::text[])",
        &[
            &ids,
            &request_ids,
            &at,
            &wall,
            &kinds,
            &http_methods,
            &paths,
            &app_ids,
            &methods,
            &charsets,
            &sign_types,
            &params,
            &biz_contents,
            &sign_ok,
            &sign_contents,
            &answers,
            &codes,
            &sub_codes,
            &statuses,
            &latencies,
            &injected,
        ],
    )
    .await?;
    let mut ref_ids = Vec::new();
    let mut refs = Vec::new();
    for (log_id, entry) in ids.iter().zip(entries) {
        for reference in &entry.refs {
            ref_ids.push(*log_id);
            refs.push(reference.clone());
        }
    }
    if !refs.is_empty() {
        execute(
            tx,
            "INSERT INTO request_log_ref (log_id, ref) \
             SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING",
            &[&ref_ids, &refs],
        )
        .await?;
    }
    Ok(Keep::Commit(()))
}

pub(crate) async fn request_log(
    tx: &Transaction<'_>,
    filter: LogFilter,
) -> Result<Vec<LoggedRequest>, Failure> {
    let limit = i64::from(filter.limit.max(1));
    let rows = query_all(
        tx,
        concat!(
            request_log_select!(),
            " WHERE ($1::text IS NULL OR app_id = $1) AND ($2::text IS NULL OR method = $2) \
             AND ($3::text IS NULL OR code = $3 OR sub_code = $3) \
             AND ($4::text IS NULL OR log_id IN (SELECT log_id FROM request_log_ref WHERE ref = $4)) \
             AND ($5::bigint IS NULL OR log_id < $5) \
             ORDER BY log_id DESC LIMIT $6"
        ),
        &[&filter.app_id, &filter.method, &filter.code, &filter.id, &filter.before_log_id, &limit],
    )
    .await?;
    rows.iter().map(|row| decoded(logged_request(row))).collect()
}

pub(crate) async fn request_log_entry(
    tx: &Transaction<'_>,
    log_id: i64,
) -> Result<Option<LoggedRequest>, Failure> {
    let Some(row) =
        query_opt(tx, concat!(request_log_select!(), " WHERE log_id = $1"), &[&log_id]).await?
    else {
        return Ok(None);
    };
    let mut found = decoded(logged_request(&row))?;
    found.entry.refs =
        query_all(tx, "SELECT ref FROM request_log_ref WHERE log_id = $1 ORDER BY ref", &[&log_id])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
    Ok(Some(found))
}

/// As SQLite's: the newest `rows_max` rows stay, and rows younger than the age bound.
pub(crate) async fn prune_request_log(
    tx: &Transaction<'_>,
    retention: Retention,
    wall_now_ms: i64,
) -> Result<Keep<u64>, Failure> {
    let rows_max = i64::try_from(retention.rows_max).unwrap_or(i64::MAX);
    let by_rows: Option<i64> = match query_opt(
        tx,
        "SELECT log_id FROM request_log ORDER BY log_id DESC LIMIT 1 OFFSET $1",
        &[&rows_max],
    )
    .await?
    {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    };
    let young_since = wall_now_ms.saturating_sub(retention.age_max_ms);
    let by_age: Option<i64> = match query_opt(
        tx,
        "SELECT log_id FROM request_log WHERE wall_ms >= $1 ORDER BY log_id LIMIT 1",
        &[&young_since],
    )
    .await?
    {
        Some(row) => Some(row.try_get::<_, i64>(0)? - 1),
        None => query_opt(tx, "SELECT MAX(log_id) FROM request_log", &[])
            .await?
            .map(|row| row.try_get::<_, Option<i64>>(0))
            .transpose()?
            .flatten(),
    };
    let Some(cut) = by_rows.into_iter().chain(by_age).max() else {
        return Ok(Keep::Rollback(0));
    };
    execute(tx, "DELETE FROM request_log_ref WHERE log_id <= $1", &[&cut]).await?;
    let deleted = execute(tx, "DELETE FROM request_log WHERE log_id <= $1", &[&cut]).await?;
    Ok(Keep::Commit(deleted))
}

//! The fund.trans (`STD_RED_PACKET`) commands on SQLite: load the facts, ask the ledger
//! (`hongbao_ledger::decide::trans`), apply the plan, exactly as the fund.coupon commands do.

use super::commands::{
    balance, finish, load_view, new_trans_ids, operation_by_request, order_by_auth_no,
    order_by_out_order_no, user_by, USER_BY_ID, USER_BY_LOGON_ID,
};
use crate::ids::TransDocument;
use crate::rows::{query_found, trans_document_select};
use crate::{Keep, StoreError};
use hongbao_ledger::{
    decide_claim, decide_return, decide_send, decide_trans_query, decide_transfer, Account,
    BizScene, ClaimCommand, DisburseFacts, FundFacts, OperationView, Outcome, PayeeRef,
    RefundFacts, Rejection, ReturnCommand, SendCommand, TransLookup, TransQuery, TransferCommand,
    TransferFacts, UserRecord,
};
use rusqlite::Connection;

/// The users a payee reference names, by id and by logon id.
fn payees(
    conn: &Connection,
    payee: &PayeeRef,
) -> Result<(Option<UserRecord>, Option<UserRecord>), StoreError> {
    let (by_user_id, by_logon_id) = match payee {
        PayeeRef::UserId(user_id) => (Some(user_id), None),
        PayeeRef::LogonId(logon_id) => (None, Some(logon_id)),
        PayeeRef::Both { user_id, logon_id } => (Some(user_id), Some(logon_id)),
    };
    Ok((
        match by_user_id {
            Some(user_id) => user_by(conn, USER_BY_ID, user_id)?,
            None => None,
        },
        match by_logon_id {
            Some(logon_id) => user_by(conn, USER_BY_LOGON_ID, logon_id)?,
            None => None,
        },
    ))
}

pub fn send(conn: &Connection, cmd: &SendCommand) -> Result<Keep<Outcome>, StoreError> {
    let facts = FundFacts {
        existing: order_by_out_order_no(conn, &cmd.app_id, &cmd.out_biz_no)?,
        payer_balance: balance(conn, &Account::User(cmd.payer_user_id.clone()))?,
        ids: new_trans_ids(conn, &cmd.app_id, TransDocument::Send, cmd.now_ms)?,
    };
    finish(conn, decide_send(cmd, &facts)?)
}

pub fn claim(conn: &Connection, cmd: &ClaimCommand) -> Result<Keep<Outcome>, StoreError> {
    let (payee_by_user_id, payee_by_logon_id) = payees(conn, &cmd.payee)?;
    let facts = DisburseFacts {
        packet: order_by_auth_no(conn, &cmd.original_order_id)?,
        payee_by_user_id,
        payee_by_logon_id,
        existing: order_by_out_order_no(conn, &cmd.app_id, &cmd.out_biz_no)?,
        ids: new_trans_ids(conn, &cmd.app_id, TransDocument::Transfer, cmd.now_ms)?,
    };
    finish(conn, decide_claim(cmd, &facts)?)
}

pub fn transfer(conn: &Connection, cmd: &TransferCommand) -> Result<Keep<Outcome>, StoreError> {
    let (payee_by_user_id, payee_by_logon_id) = payees(conn, &cmd.payee)?;
    let facts = TransferFacts {
        payee_by_user_id,
        payee_by_logon_id,
        existing: order_by_out_order_no(conn, &cmd.app_id, &cmd.out_biz_no)?,
        payer_balance: balance(conn, &Account::User(cmd.merchant_user_id.clone()))?,
        ids: new_trans_ids(conn, &cmd.app_id, TransDocument::Transfer, cmd.now_ms)?,
    };
    finish(conn, decide_transfer(cmd, &facts)?)
}

pub fn return_send(conn: &Connection, cmd: &ReturnCommand) -> Result<Keep<Outcome>, StoreError> {
    let ids = new_trans_ids(conn, &cmd.app_id, TransDocument::Send, cmd.now_ms)?;
    let facts = RefundFacts {
        packet: order_by_auth_no(conn, &cmd.order_id)?,
        existing: operation_by_request(conn, &cmd.order_id, &cmd.out_request_no)?,
        operation_id: ids.operation_id,
    };
    finish(conn, decide_return(cmd, &facts)?)
}

pub fn trans_query(
    conn: &Connection,
    query: &TransQuery,
) -> Result<Result<OperationView, Rejection>, StoreError> {
    let mut found = Vec::new();
    let (sql, params, scene): (&str, Vec<&str>, Option<BizScene>) = match &query.lookup {
        TransLookup::PayFundOrderId(id) => {
            (concat!(trans_document_select!(), " WHERE op.operation_id = ?1"), vec![id], None)
        }
        TransLookup::OrderId(id) => (
            concat!(
                trans_document_select!(),
                " WHERE o.auth_no = ?1 AND op.kind IN ('FUND', 'DISBURSE')"
            ),
            vec![id],
            None,
        ),
        TransLookup::OutBizNo { out_biz_no, scene: BizScene::Refund } => (
            concat!(
                trans_document_select!(),
                " WHERE o.app_id = ?1 AND op.out_request_no = ?2 AND op.kind = 'REFUND'"
            ),
            vec![&query.app_id, out_biz_no],
            Some(BizScene::Refund),
        ),
        TransLookup::OutBizNo { out_biz_no, scene } => (
            concat!(
                trans_document_select!(),
                " WHERE o.app_id = ?1 AND o.out_order_no = ?2 AND op.kind IN ('FUND', 'DISBURSE')"
            ),
            vec![&query.app_id, out_biz_no],
            Some(*scene),
        ),
    };
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        found.push(query_found(row)?);
    }
    drop(rows);
    match decide_trans_query(&query.app_id, scene, &found) {
        Ok(operation_id) => Ok(Ok(load_view(conn, &operation_id)?)),
        Err(rejection) => Ok(Err(rejection)),
    }
}

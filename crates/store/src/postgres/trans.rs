//! The fund.trans (`STD_RED_PACKET`) commands on PostgreSQL: load (and lock) the facts, ask the
//! ledger (`hongbao_ledger::decide::trans`), apply the plan, as `commands` does for fund.coupon:
//! a claim or return locks its send first, a B2C transfer the merchant account it debits.

use super::commands::{
    balance, finish, load_view, lock_order, new_trans_ids, operation_by_request,
    order_by_out_order_no, prepare, query_all, user_by, LOCK_BALANCE, LOCK_ORDER, NEXT_IDS,
    OPERATION_BY_REQUEST, ORDER_BY_OUT_ORDER_NO, USER_BY_ID, USER_BY_LOGON_ID,
};
use super::Failure;
use crate::ids::TransDocument;
use crate::rows::{query_found, trans_document_select};
use crate::Keep;
use deadpool_postgres::Transaction;
use hongbao_ledger::{
    decide_claim, decide_return, decide_send, decide_trans_query, decide_transfer, Account,
    BizScene, ClaimCommand, DisburseFacts, FundFacts, OperationView, Outcome, PayeeRef,
    RefundFacts, Rejection, ReturnCommand, SendCommand, TransLookup, TransQuery, TransferCommand,
    TransferFacts,
};
use tokio_postgres::types::ToSql;

fn payee_ids(payee: &PayeeRef) -> (Option<&String>, Option<&String>) {
    match payee {
        PayeeRef::UserId(user_id) => (Some(user_id), None),
        PayeeRef::LogonId(logon_id) => (None, Some(logon_id)),
        PayeeRef::Both { user_id, logon_id } => (Some(user_id), Some(logon_id)),
    }
}

pub(crate) async fn send(tx: &Transaction<'_>, cmd: SendCommand) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[ORDER_BY_OUT_ORDER_NO, LOCK_BALANCE, NEXT_IDS]).await?;
    let payer = Some(Account::User(cmd.payer_user_id.clone()));
    // One round trip: an earlier order with these ids, the bound payer's account (it is not
    // debited until the wallet confirms, so not locked), the new ids.
    let (existing, payer_balance, ids) = tokio::try_join!(
        biased;
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_biz_no),
        balance(tx, payer, false),
        new_trans_ids(tx, &cmd.app_id, TransDocument::Send, cmd.now_ms),
    )?;
    finish(tx, decide_send(&cmd, &FundFacts { existing, payer_balance, ids })?).await
}

pub(crate) async fn claim(
    tx: &Transaction<'_>,
    cmd: ClaimCommand,
) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[LOCK_ORDER, ORDER_BY_OUT_ORDER_NO, USER_BY_ID, USER_BY_LOGON_ID, NEXT_IDS])
        .await?;
    let (by_user_id, by_logon_id) = payee_ids(&cmd.payee);
    // One round trip: the send, locked, then the earlier claim with these ids (after the lock,
    // so an identical claim that waited replays), the payee, the new ids.
    let (packet, existing, payee_by_user_id, payee_by_logon_id, ids) = tokio::try_join!(
        biased;
        lock_order(tx, &cmd.original_order_id),
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_biz_no),
        user_by(tx, USER_BY_ID, by_user_id),
        user_by(tx, USER_BY_LOGON_ID, by_logon_id),
        new_trans_ids(tx, &cmd.app_id, TransDocument::Transfer, cmd.now_ms),
    )?;
    let facts = DisburseFacts { packet, payee_by_user_id, payee_by_logon_id, existing, ids };
    finish(tx, decide_claim(&cmd, &facts)?).await
}

pub(crate) async fn transfer(
    tx: &Transaction<'_>,
    cmd: TransferCommand,
) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[ORDER_BY_OUT_ORDER_NO, USER_BY_ID, USER_BY_LOGON_ID, LOCK_BALANCE, NEXT_IDS])
        .await?;
    let (by_user_id, by_logon_id) = payee_ids(&cmd.payee);
    let merchant = Some(Account::User(cmd.merchant_user_id.clone()));
    // One round trip: the earlier transfer, the payee, the merchant account (locked: debited),
    // the new ids.
    let (existing, payee_by_user_id, payee_by_logon_id, payer_balance, ids) = tokio::try_join!(
        biased;
        order_by_out_order_no(tx, &cmd.app_id, &cmd.out_biz_no),
        user_by(tx, USER_BY_ID, by_user_id),
        user_by(tx, USER_BY_LOGON_ID, by_logon_id),
        balance(tx, merchant, true),
        new_trans_ids(tx, &cmd.app_id, TransDocument::Transfer, cmd.now_ms),
    )?;
    let facts = TransferFacts { payee_by_user_id, payee_by_logon_id, existing, payer_balance, ids };
    finish(tx, decide_transfer(&cmd, &facts)?).await
}

pub(crate) async fn return_send(
    tx: &Transaction<'_>,
    cmd: ReturnCommand,
) -> Result<Keep<Outcome>, Failure> {
    prepare(tx, &[LOCK_ORDER, OPERATION_BY_REQUEST, NEXT_IDS]).await?;
    // One round trip: the send, locked, then the earlier return with this out_request_no, ids.
    let (packet, existing, ids) = tokio::try_join!(
        biased;
        lock_order(tx, &cmd.order_id),
        operation_by_request(tx, &cmd.order_id, &cmd.out_request_no),
        new_trans_ids(tx, &cmd.app_id, TransDocument::Send, cmd.now_ms),
    )?;
    let facts = RefundFacts { packet, existing, operation_id: ids.operation_id };
    finish(tx, decide_return(&cmd, &facts)?).await
}

pub(crate) async fn trans_query(
    tx: &Transaction<'_>,
    query: TransQuery,
) -> Result<Result<OperationView, Rejection>, Failure> {
    let (sql, scene): (&str, Option<BizScene>) = match &query.lookup {
        TransLookup::PayFundOrderId(_) => {
            (concat!(trans_document_select!(), " WHERE op.operation_id = $1"), None)
        }
        TransLookup::OrderId(_) => (
            concat!(
                trans_document_select!(),
                " WHERE o.auth_no = $1 AND op.kind IN ('FUND', 'DISBURSE')"
            ),
            None,
        ),
        TransLookup::OutBizNo { scene: BizScene::Refund, .. } => (
            concat!(
                trans_document_select!(),
                " WHERE o.app_id = $1 AND op.out_request_no = $2 AND op.kind = 'REFUND'"
            ),
            Some(BizScene::Refund),
        ),
        TransLookup::OutBizNo { scene, .. } => (
            concat!(
                trans_document_select!(),
                " WHERE o.app_id = $1 AND o.out_order_no = $2 AND op.kind IN ('FUND', 'DISBURSE')"
            ),
            Some(*scene),
        ),
    };
    let rows = match &query.lookup {
        TransLookup::PayFundOrderId(id) | TransLookup::OrderId(id) => {
            query_all(tx, sql, &[id]).await?
        }
        TransLookup::OutBizNo { out_biz_no, .. } => {
            let params: [&(dyn ToSql + Sync); 2] = [&query.app_id, out_biz_no];
            query_all(tx, sql, &params).await?
        }
    };
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        found.push(query_found(row).map_err(Failure::Store)?);
    }
    match decide_trans_query(&query.app_id, scene, &found) {
        Ok(operation_id) => Ok(Ok(load_view(tx, &operation_id).await?)),
        Err(rejection) => Ok(Err(rejection)),
    }
}

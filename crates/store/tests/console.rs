//! What the sandbox console reads and writes, on both stores: users made and topped up from the
//! console (issued from `issuance`, so every money invariant still holds, and refused without a
//! trace when the ledger says no), the order listing and detail (operations with the journal
//! entries behind them, the disburse orders of a packet), what a notify attempt got back, and
//! the request log (filters, paging, refs, retention by rows and by age).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::{
    check_invariants, Account, DisburseCommand, FundCommand, FundMethod, NotifyAttempt,
    NotifyCharset, NotifySignType, NotifyTarget, OrderRef, Outcome, PayeeRef, Rejection,
};
use hongbao_money::Fen;
use hongbao_store::{
    LogEntry, LogFilter, LogKind, NotifyFilter, OrderFilter, Retention, SandboxUser, Store,
};

mod backends;

const APP: &str = "2021000000000001";
const MERCHANT: &str = "2088000000000001";
const PAYEE: &str = "2088000000000002";
const NOW: i64 = 1_795_000_000_000;

fn user(user_id: &str, opening_fen: i64) -> SandboxUser {
    SandboxUser {
        user_id: user_id.into(),
        logon_id: format!("{user_id}@x.com"),
        password: "p".into(),
        opening_balance: Fen::from_fen(opening_fen),
        real_name: None,
    }
}

async fn assert_invariants(store: &dyn Store, label: &str) {
    let snapshot = store.snapshot().await.expect("snapshot");
    let violations = check_invariants(&snapshot);
    assert!(violations.is_empty(), "{label}: {violations:?}");
}

#[tokio::test]
async fn console_users_are_issued_their_money_and_refusals_change_nothing() {
    for test_store in backends::each_store().await {
        let label = format!("{:?}", test_store.backend);
        let store = &*test_store.store;
        store.create_user(user(MERCHANT, 10_000), NOW).await.expect("store").expect("created");
        assert_eq!(store.balance(MERCHANT).await.expect("balance"), Some(Fen::from_fen(10_000)));

        // The same id, or another id with the same logon id: refused, nothing issued.
        let again = store.create_user(user(MERCHANT, 5), NOW).await.expect("store");
        assert_eq!(again, Err(Rejection::UniqueViolation), "{label}");
        let same_logon = SandboxUser { logon_id: format!("{MERCHANT}@x.com"), ..user(PAYEE, 7) };
        let refused = store.create_user(same_logon, NOW).await.expect("store");
        assert_eq!(refused, Err(Rejection::UniqueViolation), "{label}");
        assert_eq!(store.balance(PAYEE).await.expect("balance"), None, "{label}: no half user");

        // A top-up: issued, the new balance answered; unknown users and zero amounts refused.
        let after = store.top_up(MERCHANT, Fen::from_fen(250), NOW + 1).await.expect("store");
        assert_eq!(after, Ok(Fen::from_fen(10_250)), "{label}");
        let nobody = store.top_up(PAYEE, Fen::from_fen(1), NOW).await.expect("store");
        assert_eq!(nobody, Err(Rejection::PayeeNotExist), "{label}");
        let zero = store.top_up(MERCHANT, Fen::ZERO, NOW).await.expect("store");
        assert!(matches!(zero, Err(Rejection::IllegalArgument(_))), "{label}: {zero:?}");

        let snapshot = store.snapshot().await.expect("snapshot");
        let issuance = snapshot
            .balances
            .iter()
            .find(|(account, _)| *account == Account::Issuance)
            .map(|(_, fen)| *fen);
        assert_eq!(issuance, Some(Fen::from_fen(-10_250)), "{label}: issuance issued it all");
        assert_invariants(store, &label).await;

        // The user's page: balance and history, newest first.
        let detail = store.user_detail(MERCHANT, 10).await.expect("store").expect("user");
        assert_eq!(detail.user.balance, Fen::from_fen(10_250), "{label}");
        let memos: Vec<&str> = detail.history.iter().map(|e| e.memo.as_str()).collect();
        assert_eq!(memos, ["top_up", "issuance"], "{label}");
        assert_eq!(detail.history[0].postings.len(), 2);
        assert!(store.user_detail(PAYEE, 10).await.expect("store").is_none(), "{label}");
        let users = store.users(10).await.expect("store");
        assert_eq!(users.len(), 1, "{label}");
        assert_eq!(users[0].logon_id, format!("{MERCHANT}@x.com"));
    }
}

#[tokio::test]
async fn an_order_shows_its_operations_entries_and_disbursements() {
    for test_store in backends::each_store().await {
        let label = format!("{:?}", test_store.backend);
        let store = &*test_store.store;
        store.ensure_user(user(MERCHANT, 100_000), NOW).await.expect("merchant");
        store.create_user(user(PAYEE, 0), NOW).await.expect("store").expect("payee");
        let notify = NotifyTarget {
            url: "http://127.0.0.1:9/notify".into(),
            charset: NotifyCharset::Utf8,
            sign_type: NotifySignType::Rsa2,
        };
        let funded = store
            .fund(FundCommand {
                app_id: APP.into(),
                out_order_no: "packet-1".into(),
                out_request_no: "pay-1".into(),
                order_title: "<b>title</b>".into(),
                amount: Fen::from_fen(1_000),
                payer_user_id: Some(MERCHANT.into()),
                merchant_user_id: Some(MERCHANT.into()),
                pay_timeout_minutes: 60,
                extra_param: None,
                notify: Some(notify.clone()),
                method: FundMethod::Agreement,
                expire_after_ms: 3_600_000,
                return_url: None,
                call: hongbao_ledger::CallFormat::default(),
                now_ms: NOW,
            })
            .await
            .expect("fund");
        let Outcome::Applied(packet) = funded else { panic!("{label}: {funded:?}") };
        let paid = store
            .disburse(DisburseCommand {
                app_id: APP.into(),
                out_order_no: "claim-1".into(),
                packet: OrderRef::AuthNo(packet.auth_no.clone()),
                out_request_no: "1".into(),
                order_title: "claim".into(),
                amount: Fen::from_fen(300),
                payee: PayeeRef::UserId(PAYEE.into()),
                extra_param: None,
                notify: Some(notify),
                now_ms: NOW + 10,
            })
            .await
            .expect("disburse");
        let Outcome::Applied(claim) = paid else { panic!("{label}: {paid:?}") };

        let detail = store.order_detail(&packet.auth_no).await.expect("store").expect("packet");
        assert_eq!(detail.order.out_order_no, "packet-1");
        assert_eq!(detail.order.order_title, "<b>title</b>", "{label}: stored as given");
        assert_eq!(detail.order.packet.disbursed, Fen::from_fen(300), "{label}");
        assert_eq!(detail.order.packet.remaining(), Fen::from_fen(700), "{label}");
        assert_eq!(detail.order.expire_at_ms, Some(NOW + 3_600_000), "{label}");
        assert_eq!(detail.operations.len(), 1, "{label}: the fund operation");
        let fund_entry = detail.operations[0].entry.as_ref().expect("fund entry");
        assert_eq!(fund_entry.memo, "fund");
        let sum: i64 = fund_entry.postings.iter().map(|p| p.amount.fen()).sum();
        assert_eq!(sum, 0, "{label}: an entry sums to zero");
        assert_eq!(detail.disbursements.len(), 1, "{label}");
        assert_eq!(detail.disbursements[0].out_order_no, "claim-1");
        assert_eq!(detail.disbursements[0].payee_user_id.as_deref(), Some(PAYEE));

        let claim_order = &detail.disbursements[0].auth_no;
        let claim_detail = store.order_detail(claim_order).await.expect("store").expect("claim");
        assert_eq!(claim_detail.operations.len(), 1);
        assert_eq!(claim_detail.operations[0].view.operation_id, claim.operation_id);
        assert_eq!(
            claim_detail.operations[0].entry.as_ref().map(|e| e.memo.as_str()),
            Some("disburse")
        );
        assert!(store.order_detail("nothing").await.expect("store").is_none());

        // The listing: newest first, and the id filter finds an order by any of its ids.
        let all =
            store.orders(OrderFilter { limit: 10, ..OrderFilter::default() }).await.expect("store");
        let listed: Vec<&str> = all.iter().map(|o| o.out_order_no.as_str()).collect();
        assert_eq!(listed, ["claim-1", "packet-1"], "{label}");
        for id in ["packet-1", packet.auth_no.as_str(), packet.operation_id.as_str(), "pay-1"] {
            let found = store
                .orders(OrderFilter { id: Some(id.into()), limit: 10, ..OrderFilter::default() })
                .await
                .expect("store");
            assert!(found.iter().any(|o| o.auth_no == packet.auth_no), "{label}: by {id}");
        }
        let other_app = store
            .orders(OrderFilter {
                app_id: Some("other".into()),
                limit: 10,
                ..OrderFilter::default()
            })
            .await
            .expect("store");
        assert!(other_app.is_empty(), "{label}");
        let limited =
            store.orders(OrderFilter { limit: 1, ..OrderFilter::default() }).await.expect("store");
        assert_eq!(limited.len(), 1, "{label}: bounded");

        // A notify attempt keeps what the merchant answered and how long it took.
        let due = store
            .claim_due_notifications(NOW + 20, 15_000, hongbao_ledger::notify::ClaimShare::all(10))
            .await
            .expect("claim");
        assert!(!due.is_empty(), "{label}: notifications queued");
        let attempt = NotifyAttempt {
            at_ms: NOW + 21,
            delivered: false,
            http_status: Some(500),
            error: Some("HTTP 500".into()),
            answer: Some("oops <script>".into()),
            latency_ms: Some(42),
        };
        store.record_notify_attempt(&due[0].notify_id, attempt).await.expect("attempt");
        let listed = store
            .list_notifications(NotifyFilter { limit: 10, ..NotifyFilter::default() })
            .await
            .expect("list");
        let record = listed.iter().find(|n| n.notify_id == due[0].notify_id).expect("record");
        assert_eq!(record.history.len(), 1, "{label}");
        assert_eq!(record.history[0].answer.as_deref(), Some("oops <script>"), "{label}");
        assert_eq!(record.history[0].latency_ms, Some(42), "{label}");
        assert_invariants(store, &label).await;
    }
}

fn logged(request_id: &str, wall_ms: i64, method: &str, code: &str, refs: &[&str]) -> LogEntry {
    LogEntry {
        request_id: request_id.into(),
        at_ms: wall_ms + 5,
        wall_ms,
        kind: Some(LogKind::Gateway),
        http_method: "POST".into(),
        path: "/gateway.do".into(),
        app_id: Some(APP.into()),
        method: Some(method.into()),
        charset: Some("utf-8".into()),
        sign_type: Some("RSA2".into()),
        params: Some("{}".into()),
        biz_content: Some(format!("{{\"out_order_no\":\"{request_id}\"}}")),
        sign_ok: Some(code != "40002"),
        sign_content: None,
        answer: Some("{}".into()),
        code: Some(code.into()),
        sub_code: (code != "10000").then(|| "isp.unknow-error".to_owned()),
        http_status: 200,
        latency_us: 1_234,
        injected: None,
        refs: refs.iter().map(|r| (*r).to_owned()).collect(),
    }
}

#[tokio::test]
async fn the_request_log_filters_pages_and_keeps_only_what_retention_allows() {
    for test_store in backends::each_store().await {
        let label = format!("{:?}", test_store.backend);
        let store = &*test_store.store;
        store.append_request_log(Vec::new()).await.expect("nothing to append");
        let disburse = "alipay.fund.coupon.order.disburse";
        let query = "alipay.fund.coupon.operation.query";
        let mut batch = Vec::new();
        for index in 0..10_i64 {
            let method = if index % 2 == 0 { disburse } else { query };
            let code = if index == 7 { "20000" } else { "10000" };
            let request_id = format!("r{index}");
            // Each row names its own id and, for the first three, a shared one twice.
            let refs: Vec<&str> = if index < 3 { vec!["shared", "shared"] } else { vec![] };
            let mut row = logged(&request_id, 1_000 * index, method, code, &refs);
            row.refs.push(request_id.clone());
            batch.push(row);
        }
        store.append_request_log(batch[..4].to_vec()).await.expect("append");
        store.append_request_log(batch[4..].to_vec()).await.expect("append");

        let all =
            store.request_log(LogFilter { limit: 100, ..LogFilter::default() }).await.expect("log");
        let order: Vec<&str> = all.iter().map(|r| r.entry.request_id.as_str()).collect();
        assert_eq!(order, ["r9", "r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1", "r0"], "{label}");
        assert!(all.windows(2).all(|w| w[0].log_id > w[1].log_id), "{label}: ids grow");
        assert!(all[0].entry.refs.is_empty(), "{label}: listings leave refs out");

        let filtered = |filter: LogFilter| async move {
            store
                .request_log(LogFilter { limit: 100, ..filter })
                .await
                .expect("log")
                .into_iter()
                .map(|r| r.entry.request_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            filtered(LogFilter { method: Some(query.into()), ..LogFilter::default() }).await,
            ["r9", "r7", "r5", "r3", "r1"],
            "{label}"
        );
        assert_eq!(
            filtered(LogFilter { code: Some("20000".into()), ..LogFilter::default() }).await,
            ["r7"]
        );
        assert_eq!(
            filtered(LogFilter { code: Some("isp.unknow-error".into()), ..LogFilter::default() })
                .await,
            ["r7"],
            "{label}: a sub_code filters too"
        );
        assert_eq!(
            filtered(LogFilter { id: Some("shared".into()), ..LogFilter::default() }).await,
            ["r2", "r1", "r0"],
            "{label}"
        );
        assert!(filtered(LogFilter { app_id: Some("other".into()), ..LogFilter::default() })
            .await
            .is_empty());
        let page = store
            .request_log(LogFilter {
                before_log_id: Some(all[2].log_id),
                limit: 2,
                ..LogFilter::default()
            })
            .await
            .expect("page");
        let page: Vec<&str> = page.iter().map(|r| r.entry.request_id.as_str()).collect();
        assert_eq!(page, ["r6", "r5"], "{label}: paging goes on below a row");

        let detail = store.request_log_entry(all[9].log_id).await.expect("entry").expect("r0");
        assert_eq!(
            detail.entry,
            {
                batch[0].refs = vec!["r0".into(), "shared".into()];
                batch[0].clone()
            },
            "{label}: stored as given, refs once each"
        );
        assert!(store.request_log_entry(-1).await.expect("entry").is_none());

        // Rows: the newest 6 stay.
        let rows = Retention { rows_max: 6, age_max_ms: i64::MAX / 2 };
        assert_eq!(store.prune_request_log(rows, 10_000).await.expect("prune"), 4, "{label}");
        let left = filtered(LogFilter::default()).await;
        assert_eq!(left, ["r9", "r8", "r7", "r6", "r5", "r4"], "{label}");
        assert!(
            filtered(LogFilter { id: Some("shared".into()), ..LogFilter::default() })
                .await
                .is_empty(),
            "{label}: the refs of pruned rows go too"
        );
        // Age: rows written before wall 7,000 go (wall_now 9,000, two seconds kept).
        let age = Retention { rows_max: 1_000, age_max_ms: 2_000 };
        assert_eq!(store.prune_request_log(age, 9_000).await.expect("prune"), 3, "{label}");
        assert_eq!(filtered(LogFilter::default()).await, ["r9", "r8", "r7"], "{label}");
        // Nothing young enough: all go; an empty log prunes nothing.
        assert_eq!(store.prune_request_log(age, 1_000_000).await.expect("prune"), 3, "{label}");
        assert_eq!(store.prune_request_log(age, 1_000_000).await.expect("prune"), 0, "{label}");
        // Numbering goes on after a prune: a new row is the newest.
        store
            .append_request_log(vec![logged("new", 2_000_000, query, "10000", &[])])
            .await
            .expect("append");
        let newest =
            store.request_log(LogFilter { limit: 1, ..LogFilter::default() }).await.expect("log");
        assert!(newest[0].log_id > all[0].log_id, "{label}");
    }
}

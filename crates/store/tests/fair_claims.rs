//! Notify claims shared among apps (issue 16, item 3), on both stores. Goal: one app's flood of
//! due notifications never hides another app's, however much older the flood is. Method: app A
//! has ten due notifications, all older than app B's one; a claim of four places with at most
//! two per app takes two of A's (its oldest) and B's; with A's two places taken by deliveries in
//! flight, a claim takes B's alone. The claimed rows are leased (a second claim at the same
//! time finds nothing of them).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::notify::ClaimShare;
use hongbao_ledger::{
    CallFormat, FundCommand, FundMethod, NotifyCharset, NotifySignType, NotifyTarget, Outcome,
};
use hongbao_money::Fen;
use hongbao_store::{PendingNotify, SandboxUser, Store};

mod backends;

const APP_A: &str = "2021000000000001";
const APP_B: &str = "2021000000000002";
const MERCHANT_A: &str = "2088000000000001";
const MERCHANT_B: &str = "2088000000000002";
const NOW_MS: i64 = 1_795_000_000_000;
const LEASE_MS: i64 = 60_000;

async fn funded_with_notify(store: &dyn Store, app_id: &str, merchant: &str, name: &str, at: i64) {
    let outcome = store
        .fund(FundCommand {
            app_id: app_id.into(),
            out_order_no: name.into(),
            out_request_no: "pay1".into(),
            order_title: name.into(),
            amount: Fen::from_fen(100),
            payer_user_id: Some(merchant.into()),
            merchant_user_id: Some(merchant.into()),
            pay_timeout_minutes: 60,
            extra_param: None,
            notify: Some(NotifyTarget {
                url: format!("http://127.0.0.1:9/{app_id}"),
                charset: NotifyCharset::Utf8,
                sign_type: NotifySignType::Rsa2,
            }),
            method: FundMethod::Agreement,
            expire_after_ms: 48 * 3_600_000,
            return_url: None,
            call: CallFormat::default(),
            now_ms: at,
        })
        .await
        .expect("fund");
    assert!(matches!(outcome, Outcome::Applied(_)), "{name}: {outcome:?}");
}

fn apps(claimed: &[PendingNotify]) -> Vec<&str> {
    let mut apps: Vec<&str> = claimed.iter().map(|pending| pending.app_id.as_str()).collect();
    apps.sort_unstable();
    apps
}

#[tokio::test]
async fn a_claim_shares_its_places_among_the_apps() {
    for test_store in backends::each_store().await {
        let store = test_store.store.as_ref();
        for merchant in [MERCHANT_A, MERCHANT_B] {
            let user = SandboxUser {
                user_id: merchant.into(),
                logon_id: format!("{merchant}@x.com"),
                password: "p".into(),
                opening_balance: Fen::from_fen(10_000),
                real_name: None,
            };
            store.ensure_user(user, NOW_MS).await.expect("user");
        }
        for index in 0..10 {
            funded_with_notify(store, APP_A, MERCHANT_A, &format!("A{index}"), NOW_MS + index)
                .await;
        }
        funded_with_notify(store, APP_B, MERCHANT_B, "B0", NOW_MS + 100).await;
        let now = NOW_MS + 1_000;

        let share = ClaimShare { limit: 4, per_app_max: 2, in_flight: Vec::new() };
        let claimed = store.claim_due_notifications(now, LEASE_MS, share).await.expect("claim");
        assert_eq!(
            apps(&claimed),
            [APP_A, APP_A, APP_B],
            "{:?}: two of A's, B's",
            test_store.backend
        );
        let a_orders: Vec<&str> = claimed
            .iter()
            .filter(|pending| pending.app_id == APP_A)
            .map(|pending| pending.view.out_order_no.as_str())
            .collect();
        assert!(a_orders.contains(&"A0") && a_orders.contains(&"A1"), "A's oldest: {a_orders:?}");

        // B has a new one; A's two places are busy with the deliveries just claimed.
        funded_with_notify(store, APP_B, MERCHANT_B, "B1", NOW_MS + 200).await;
        let share = ClaimShare {
            limit: 4,
            per_app_max: 2,
            in_flight: vec![(APP_A.into(), 2), (APP_B.into(), 1)],
        };
        let claimed = store.claim_due_notifications(now, LEASE_MS, share).await.expect("claim");
        assert_eq!(apps(&claimed), [APP_B], "{:?}: only B had a free place", test_store.backend);
        assert_eq!(claimed[0].view.out_order_no, "B1", "the leased B0 is not claimed twice");

        // With no bound per app, A's eight others are there to take.
        let claimed = store
            .claim_due_notifications(now, LEASE_MS, ClaimShare::all(100))
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 8, "{:?}", test_store.backend);
    }
}

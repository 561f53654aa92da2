//! PostgreSQL over TLS (issue: operating hongbao): against a private cluster that speaks TLS
//! only (`ssl=on`, a pg_hba.conf with `hostssl` lines only, a certificate for `localhost` signed
//! by a CA made for the test: scripts/pg-cluster.sh with PG_CLUSTER_TLS=1), every `sslmode`
//! behaves as libpq's does, and the whole store (its pool, its group-commit writer, the
//! scratch-database helper) works with `verify-full`. Skips with a printed reason when
//! PostgreSQL cannot be started, except under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

mod backends;

use backends::PrivateCluster;
use hongbao_ledger::{FundCommand, FundMethod, Outcome};
use hongbao_money::Fen;
use hongbao_store::postgres::scratch::ScratchDatabase;
use hongbao_store::{PostgresStore, SandboxUser, Store};

async fn connect_error(url: &str) -> String {
    match PostgresStore::connect(url).await {
        Ok(_) => panic!("{url} connected"),
        Err(err) => err.to_string(),
    }
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_pg,
    ignore = "SKIPPED: needs PostgreSQL (set HONGBAO_TEST_PG; scripts/pg-cluster.sh start prints one)"
)]
async fn a_tls_only_cluster_is_reached_as_libpq_would() {
    let (cluster, url) = match PrivateCluster::start("pg-tls", &[("PG_CLUSTER_TLS", "1")]) {
        Ok(started) => started,
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => panic!("{reason}"),
        Err(reason) => {
            eprintln!("SKIP pg_tls: {reason}");
            return;
        }
    };
    let tls = cluster.dir.join("tls");
    let port = url.split("localhost:").nth(1).and_then(|rest| rest.split('/').next()).unwrap();
    let by_ip = |query: &str| format!("postgres://postgres@127.0.0.1:{port}/postgres?{query}");
    let ca = tls.join("ca.crt").display().to_string();
    let other_ca = tls.join("other-ca.crt").display().to_string();

    // The whole store with verify-full: a scratch database made over TLS, the pool, and the
    // group-commit writer (fund goes through it).
    let scratch = ScratchDatabase::create(&url).await.expect("scratch database over TLS");
    let store = PostgresStore::connect(scratch.url()).await.expect("verify-full connects");
    let merchant = SandboxUser {
        user_id: "2088000000000001".into(),
        logon_id: "m@x.com".into(),
        password: "p".into(),
        opening_balance: Fen::from_fen(10_000),
        real_name: None,
    };
    store.ensure_user(merchant, 0).await.expect("user");
    let fund = FundCommand {
        app_id: "app".into(),
        out_order_no: "TLS".into(),
        out_request_no: "pay1".into(),
        order_title: "t".into(),
        amount: Fen::from_fen(100),
        payer_user_id: Some("2088000000000001".into()),
        merchant_user_id: Some("2088000000000001".into()),
        pay_timeout_minutes: 60,
        extra_param: None,
        notify: None,
        method: FundMethod::Agreement,
        expire_after_ms: 3_600_000,
        return_url: None,
        call: hongbao_ledger::CallFormat::default(),
        now_ms: 1_795_000_000_000,
    };
    assert!(matches!(store.fund(fund).await, Ok(Outcome::Applied(_))));
    store.ping().await.expect("ready over TLS");
    assert_eq!(
        store.balance("2088000000000001").await.expect("read").map(|b| b.fen()),
        Some(9_900)
    );
    // Every connection the store holds is encrypted (pg_hba would refuse any other, but look).
    let (config, connector) = hongbao_store::postgres::tls::parse(&url).expect("url");
    let (admin, connection) = config.connect(connector).await.expect("admin over TLS");
    tokio::spawn(connection);
    let row = admin
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
            &[&scratch.name()],
        )
        .await
        .expect("pg_stat_ssl");
    let (encrypted, total): (i64, i64) = (row.get(0), row.get(1));
    assert!(total >= 2, "the pool and the writer hold connections: {total}");
    assert_eq!(encrypted, total);
    drop(store);

    // disable: pg_hba.conf rejects plain TCP.
    let refused = connect_error(&by_ip("sslmode=disable")).await;
    assert!(refused.contains("no encryption"), "{refused}");
    // prefer (also the default) and require encrypt without checking the certificate: the name
    // 127.0.0.1 is not in it, and no root certificate is given.
    for query in ["sslmode=prefer", "sslmode=require", "application_name=x"] {
        let store = PostgresStore::connect(&by_ip(query)).await.expect(query);
        store.ping().await.expect(query);
    }
    // verify-ca checks the chain, not the name.
    let store = PostgresStore::connect(&by_ip(&format!("sslmode=verify-ca&sslrootcert={ca}")))
        .await
        .expect("verify-ca with the cluster's CA");
    store.ping().await.expect("verify-ca");
    drop(store);
    for query in [
        format!("sslmode=verify-ca&sslrootcert={other_ca}"),
        // require with a root certificate checks the chain, as in libpq.
        format!("sslmode=require&sslrootcert={other_ca}"),
    ] {
        let refused = connect_error(&by_ip(&query)).await;
        assert!(refused.contains("unable to get local issuer certificate"), "{query}: {refused}");
    }
    // verify-full checks the name too: 127.0.0.1 is not in the certificate, localhost is.
    let refused = connect_error(&by_ip(&format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    assert!(refused.contains("IP address mismatch"), "{refused}");
    drop(scratch);
}

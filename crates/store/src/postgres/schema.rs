//! Versioned schema migrations for PostgreSQL: the SQLite schema (`sqlite::schema`) in
//! PostgreSQL's words, migration `n` here matching migration `n` there. Every process runs them
//! at start; an advisory lock makes processes that start together migrate one after the other,
//! and DDL is transactional, so a migration applies whole or not at all.

use super::{unavailable, Failure};
use crate::StoreError;
use tokio_postgres::Client;

/// The advisory lock key migrations hold ("hongbao" in ASCII).
const MIGRATION_LOCK: i64 = 0x0068_6f6e_6762_616f;

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, users, orders, operations, journal.
    r#"
    CREATE TABLE account (
        account_id  TEXT PRIMARY KEY,
        balance_fen BIGINT NOT NULL,
        -- Money invariant 2, enforced by the database: only issuance may go negative.
        CHECK (account_id = 'issuance' OR balance_fen >= 0)
    );
    INSERT INTO account (account_id, balance_fen) VALUES ('issuance', 0);

    CREATE TABLE sandbox_user (
        user_id  TEXT PRIMARY KEY,
        logon_id TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL
    );

    CREATE TABLE fund_order (
        auth_no        TEXT PRIMARY KEY,
        app_id         TEXT NOT NULL,
        out_order_no   TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('PACKET', 'DISBURSE')),
        packet_auth_no TEXT REFERENCES fund_order (auth_no),
        fund_method    TEXT,
        order_title    TEXT NOT NULL,
        amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
        disbursed_fen  BIGINT NOT NULL DEFAULT 0,
        refunded_fen   BIGINT NOT NULL DEFAULT 0,
        status         TEXT NOT NULL CHECK (status IN ('WAIT_PAY', 'FUNDED', 'CLOSED')),
        payer_user_id  TEXT,
        payee_user_id  TEXT,
        pay_timeout_minutes INTEGER,
        extra_param    TEXT,
        notify_url     TEXT,
        fingerprint    TEXT NOT NULL,
        created_at_ms  BIGINT NOT NULL,
        -- Idempotency key of packets and disburses alike.
        UNIQUE (app_id, out_order_no),
        -- Money invariant 4, enforced by the database.
        CHECK (disbursed_fen >= 0 AND refunded_fen >= 0 AND disbursed_fen + refunded_fen <= amount_fen)
    );
    CREATE INDEX fund_order_packet ON fund_order (packet_auth_no);

    CREATE TABLE fund_operation (
        operation_id   TEXT PRIMARY KEY,
        auth_no        TEXT NOT NULL REFERENCES fund_order (auth_no),
        out_request_no TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('FUND', 'DISBURSE', 'REFUND')),
        status         TEXT NOT NULL CHECK (status IN ('INIT', 'SUCCESS', 'CLOSED')),
        amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
        payer_user_id  TEXT,
        payee_user_id  TEXT,
        remark         TEXT NOT NULL,
        fingerprint    TEXT NOT NULL,
        notify_url     TEXT,
        created_at_ms  BIGINT NOT NULL,
        trans_at_ms    BIGINT,
        -- Idempotency key of operations: out_request_no is unique per order.
        UNIQUE (auth_no, out_request_no)
    );

    CREATE TABLE journal_entry (
        entry_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- At most one entry per operation: an operation moves money once (invariant 6).
        operation_id  TEXT UNIQUE REFERENCES fund_operation (operation_id),
        memo          TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );

    CREATE TABLE posting (
        entry_id   BIGINT NOT NULL REFERENCES journal_entry (entry_id),
        account_id TEXT NOT NULL REFERENCES account (account_id),
        amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0)
    );
    CREATE INDEX posting_entry ON posting (entry_id);

    -- Journal entries are immutable; corrections are new entries.
    CREATE FUNCTION hongbao_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
    END
    $$;
    CREATE TRIGGER journal_entry_immutable BEFORE UPDATE OR DELETE ON journal_entry
        FOR EACH ROW EXECUTE FUNCTION hongbao_immutable();
    CREATE TRIGGER journal_entry_no_truncate BEFORE TRUNCATE ON journal_entry
        FOR EACH STATEMENT EXECUTE FUNCTION hongbao_immutable();
    CREATE TRIGGER posting_immutable BEFORE UPDATE OR DELETE ON posting
        FOR EACH ROW EXECUTE FUNCTION hongbao_immutable();
    CREATE TRIGGER posting_no_truncate BEFORE TRUNCATE ON posting
        FOR EACH STATEMENT EXECUTE FUNCTION hongbao_immutable();

    -- Id numbers: sequences hand out distinct numbers to concurrent transactions without
    -- locking a row (SQLite's id_sequence table would serialize every writer on one row).
    CREATE SEQUENCE auth_no_seq;
    CREATE SEQUENCE operation_id_seq;
    "#,
    // 2: the notify outbox, written in the same transaction as the money movement it reports.
    r#"
    ALTER TABLE fund_order ADD COLUMN notify_charset TEXT;
    ALTER TABLE fund_order ADD COLUMN notify_sign_type TEXT;

    CREATE TABLE notify_outbox (
        notify_id          TEXT PRIMARY KEY,
        app_id             TEXT NOT NULL,
        operation_id       TEXT NOT NULL REFERENCES fund_operation (operation_id),
        event              TEXT NOT NULL,
        notify_url         TEXT NOT NULL,
        charset            TEXT NOT NULL,
        sign_type          TEXT NOT NULL,
        status             TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms BIGINT,
        last_error         TEXT,
        created_at_ms      BIGINT NOT NULL,
        delivered_at_ms    BIGINT,
        -- One notification per state change of an operation.
        UNIQUE (operation_id, event)
    );
    CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at_ms);
    CREATE INDEX notify_outbox_app ON notify_outbox (app_id, created_at_ms);

    CREATE TABLE notify_attempt (
        notify_id   TEXT NOT NULL REFERENCES notify_outbox (notify_id),
        attempt_no  INTEGER NOT NULL,
        at_ms       BIGINT NOT NULL,
        delivered   BOOLEAN NOT NULL,
        http_status INTEGER,
        error       TEXT,
        PRIMARY KEY (notify_id, attempt_no)
    );
    CREATE SEQUENCE notify_id_seq;
    "#,
    // 3: persisted deadlines (pay_timeout, expiry) and page.pay's return_url.
    r#"
    ALTER TABLE fund_order ADD COLUMN pay_deadline_ms BIGINT;
    ALTER TABLE fund_order ADD COLUMN expire_after_ms BIGINT;
    ALTER TABLE fund_order ADD COLUMN expire_at_ms BIGINT;
    ALTER TABLE fund_order ADD COLUMN expired_at_ms BIGINT;
    ALTER TABLE fund_order ADD COLUMN return_url TEXT;
    CREATE INDEX fund_order_pay_deadline ON fund_order (pay_deadline_ms) WHERE status = 'WAIT_PAY';
    CREATE INDEX fund_order_expiry ON fund_order (expire_at_ms)
        WHERE status = 'FUNDED' AND expired_at_ms IS NULL AND kind = 'PACKET';
    "#,
    // 4: balances stay integers (SQLite's migration 4 adds triggers for it); BIGINT arithmetic
    // fails on overflow already, so there is nothing to add here but the version.
    r#"
    SELECT 1;
    "#,
    // 5: today's product beside fund.coupon (STD_RED_PACKET over alipay.fund.trans.*): an order's
    // product, its passback_params, and sandbox users' real names (a payee's name is checked).
    r#"
    ALTER TABLE fund_order ADD COLUMN product TEXT NOT NULL DEFAULT 'COUPON'
        CHECK (product IN ('COUPON', 'STD_RED_PACKET'));
    ALTER TABLE fund_order ADD COLUMN passback_params TEXT;
    ALTER TABLE sandbox_user ADD COLUMN real_name TEXT;
    "#,
    // 6: the sandbox console: the request log, the ids each call named, and what a notify
    // attempt got back (as SQLite's migration 6).
    r#"
    CREATE SEQUENCE request_log_id;
    CREATE TABLE request_log (
        log_id       BIGINT PRIMARY KEY,
        request_id   TEXT NOT NULL,
        at_ms        BIGINT NOT NULL,
        wall_ms      BIGINT NOT NULL,
        kind         TEXT NOT NULL,
        http_method  TEXT NOT NULL,
        path         TEXT NOT NULL,
        app_id       TEXT,
        method       TEXT,
        charset      TEXT,
        sign_type    TEXT,
        params       TEXT,
        biz_content  TEXT,
        sign_ok      BOOLEAN,
        sign_content TEXT,
        answer       TEXT,
        code         TEXT,
        sub_code     TEXT,
        http_status  INTEGER NOT NULL,
        latency_us   BIGINT NOT NULL,
        injected     TEXT
    );
    CREATE TABLE request_log_ref (
        log_id BIGINT NOT NULL,
        ref    TEXT NOT NULL,
        PRIMARY KEY (log_id, ref)
    );
    CREATE INDEX request_log_ref_by_ref ON request_log_ref (ref, log_id);
    ALTER TABLE notify_attempt ADD COLUMN answer TEXT;
    ALTER TABLE notify_attempt ADD COLUMN latency_ms BIGINT;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies every migration above the stored version, in one transaction under the migration
/// advisory lock. Refuses a database from a newer build.
pub async fn migrate(client: &mut Client) -> Result<usize, StoreError> {
    run(client).await.map_err(|failure| match failure {
        Failure::Db(err) => unavailable(err),
        Failure::Store(err) => err,
    })
}

async fn run(client: &mut Client) -> Result<usize, Failure> {
    let tx = client.transaction().await?;
    // The migration waits as long as it takes (another process migrating, DDL waiting for
    // running transactions), unlike the commands' bounded lock waits.
    tx.batch_execute("SET LOCAL lock_timeout = 0").await?;
    // Held until COMMIT: a second process waits here, then finds the work done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .await?;
    let current: i32 =
        tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.get(0);
    let current = usize::try_from(current).unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(Failure::Store(StoreError::unavailable(format!(
            "database schema version {current} is newer than this build ({SCHEMA_VERSION})"
        ))));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.batch_execute(sql).await?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).await?;
    }
    tx.commit().await?;
    Ok(SCHEMA_VERSION)
}

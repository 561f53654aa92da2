//! Versioned schema migrations, applied in order at start-up inside one transaction each.

use rusqlite::Connection;

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, users, orders, operations, journal.
    r#"
    CREATE TABLE account (
        account_id  TEXT PRIMARY KEY,
        balance_fen INTEGER NOT NULL,
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
        amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
        disbursed_fen  INTEGER NOT NULL DEFAULT 0,
        refunded_fen   INTEGER NOT NULL DEFAULT 0,
        status         TEXT NOT NULL CHECK (status IN ('WAIT_PAY', 'FUNDED', 'CLOSED')),
        payer_user_id  TEXT,
        payee_user_id  TEXT,
        pay_timeout_minutes INTEGER,
        extra_param    TEXT,
        notify_url     TEXT,
        fingerprint    TEXT NOT NULL,
        created_at_ms  INTEGER NOT NULL,
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
        amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
        payer_user_id  TEXT,
        payee_user_id  TEXT,
        remark         TEXT NOT NULL,
        fingerprint    TEXT NOT NULL,
        notify_url     TEXT,
        created_at_ms  INTEGER NOT NULL,
        trans_at_ms    INTEGER,
        -- Idempotency key of operations: out_request_no is unique per order.
        UNIQUE (auth_no, out_request_no)
    );

    CREATE TABLE journal_entry (
        entry_id      INTEGER PRIMARY KEY,
        -- At most one entry per operation: an operation moves money once (invariant 6).
        operation_id  TEXT UNIQUE REFERENCES fund_operation (operation_id),
        memo          TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    );

    CREATE TABLE posting (
        entry_id   INTEGER NOT NULL REFERENCES journal_entry (entry_id),
        account_id TEXT NOT NULL REFERENCES account (account_id),
        amount_fen INTEGER NOT NULL CHECK (amount_fen <> 0)
    );
    CREATE INDEX posting_entry ON posting (entry_id);

    -- Journal entries are immutable; corrections are new entries.
    CREATE TRIGGER journal_entry_no_update BEFORE UPDATE ON journal_entry
        BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;
    CREATE TRIGGER journal_entry_no_delete BEFORE DELETE ON journal_entry
        BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;
    CREATE TRIGGER posting_no_update BEFORE UPDATE ON posting
        BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
    CREATE TRIGGER posting_no_delete BEFORE DELETE ON posting
        BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;

    CREATE TABLE id_sequence (name TEXT PRIMARY KEY, next_value INTEGER NOT NULL);
    INSERT INTO id_sequence (name, next_value) VALUES ('auth_no', 1), ('operation_id', 1);
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
        next_attempt_at_ms INTEGER,
        last_error         TEXT,
        created_at_ms      INTEGER NOT NULL,
        delivered_at_ms    INTEGER,
        -- One notification per state change of an operation.
        UNIQUE (operation_id, event)
    );
    CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at_ms);
    CREATE INDEX notify_outbox_app ON notify_outbox (app_id, created_at_ms);

    CREATE TABLE notify_attempt (
        notify_id   TEXT NOT NULL REFERENCES notify_outbox (notify_id),
        attempt_no  INTEGER NOT NULL,
        at_ms       INTEGER NOT NULL,
        delivered   INTEGER NOT NULL,
        http_status INTEGER,
        error       TEXT,
        PRIMARY KEY (notify_id, attempt_no)
    );
    INSERT INTO id_sequence (name, next_value) VALUES ('notify_id', 1);
    "#,
    // 3: persisted deadlines (pay_timeout, expiry) and page.pay's return_url.
    r#"
    ALTER TABLE fund_order ADD COLUMN pay_deadline_ms INTEGER;
    ALTER TABLE fund_order ADD COLUMN expire_after_ms INTEGER;
    ALTER TABLE fund_order ADD COLUMN expire_at_ms INTEGER;
    ALTER TABLE fund_order ADD COLUMN expired_at_ms INTEGER;
    ALTER TABLE fund_order ADD COLUMN return_url TEXT;
    CREATE INDEX fund_order_pay_deadline ON fund_order (pay_deadline_ms) WHERE status = 'WAIT_PAY';
    CREATE INDEX fund_order_expiry ON fund_order (expire_at_ms)
        WHERE status = 'FUNDED' AND expired_at_ms IS NULL AND kind = 'PACKET';
    "#,
    // 4: balances stay integers. SQLite turns an integer sum that overflows 64 bits into a REAL
    // instead of failing; refusing that keeps every balance checked, as PostgreSQL's BIGINT is.
    r#"
    CREATE TRIGGER account_balance_integer_insert BEFORE INSERT ON account
        WHEN typeof(NEW.balance_fen) <> 'integer'
        BEGIN SELECT RAISE(ABORT, 'account balances are integers (fen)'); END;
    CREATE TRIGGER account_balance_integer_update BEFORE UPDATE ON account
        WHEN typeof(NEW.balance_fen) <> 'integer'
        BEGIN SELECT RAISE(ABORT, 'account balances are integers (fen)'); END;
    "#,
    // 5: today's product beside fund.coupon (STD_RED_PACKET over alipay.fund.trans.*): an order's
    // product, its passback_params, and sandbox users' real names (a payee's name is checked).
    r#"
    ALTER TABLE fund_order ADD COLUMN product TEXT NOT NULL DEFAULT 'COUPON'
        CHECK (product IN ('COUPON', 'STD_RED_PACKET'));
    ALTER TABLE fund_order ADD COLUMN passback_params TEXT;
    ALTER TABLE sandbox_user ADD COLUMN real_name TEXT;
    "#,
    // 6: the sandbox console. The request log (outside the ledger: no money rule reads it,
    // retention deletes from it; `log_id` grows with time, so retention deletes a range, and
    // AUTOINCREMENT keeps it growing after a prune emptied the table), the
    // ids each call named (the console's id filter), and what a notify attempt got back.
    r#"
    CREATE TABLE request_log (
        log_id       INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id   TEXT NOT NULL,
        at_ms        INTEGER NOT NULL,
        wall_ms      INTEGER NOT NULL,
        kind         TEXT NOT NULL,
        http_method  TEXT NOT NULL,
        path         TEXT NOT NULL,
        app_id       TEXT,
        method       TEXT,
        charset      TEXT,
        sign_type    TEXT,
        params       TEXT,
        biz_content  TEXT,
        sign_ok      INTEGER,
        sign_content TEXT,
        answer       TEXT,
        code         TEXT,
        sub_code     TEXT,
        http_status  INTEGER NOT NULL,
        latency_us   INTEGER NOT NULL,
        injected     TEXT
    );
    CREATE TABLE request_log_ref (
        log_id INTEGER NOT NULL,
        ref    TEXT NOT NULL,
        PRIMARY KEY (log_id, ref)
    );
    CREATE INDEX request_log_ref_by_ref ON request_log_ref (ref, log_id);
    ALTER TABLE notify_attempt ADD COLUMN answer TEXT;
    ALTER TABLE notify_attempt ADD COLUMN latency_ms INTEGER;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies every migration above the stored version. Refuses a database from a newer build.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: usize =
        conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| {
            row.get(0)
        })?;
    if current > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this build ({SCHEMA_VERSION})"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [index + 1])?;
        tx.commit()?;
    }
    Ok(SCHEMA_VERSION)
}

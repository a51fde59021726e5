//! Versioned migrations, tracked in `PRAGMA user_version`.
//!
//! Each migration runs inside the caller's transaction and bumps the
//! version, so a crash mid-migration leaves the previous version intact, and
//! running [`migrate`] again is a no-op.

use rusqlite::Transaction;

use super::DbError;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE chats (
        chat_id     INTEGER PRIMARY KEY,
        username    TEXT,
        first_name  TEXT,
        active      INTEGER NOT NULL DEFAULT 1,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE subscriptions (
        id          INTEGER PRIMARY KEY,
        chat_id     INTEGER NOT NULL REFERENCES chats(chat_id),
        chain_id    INTEGER NOT NULL,
        address     TEXT NOT NULL CHECK (address = lower(address) AND length(address) = 42),
        label       TEXT,
        created_at  INTEGER NOT NULL,
        UNIQUE (chat_id, chain_id, address)
    );
    CREATE INDEX subscriptions_by_address ON subscriptions (chain_id, address);
    CREATE TABLE cursors (
        chain_id    INTEGER NOT NULL,
        token       TEXT NOT NULL,
        block       INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (chain_id, token)
    );
    CREATE TABLE transfers (
        id          INTEGER PRIMARY KEY,
        chain_id    INTEGER NOT NULL,
        tx_hash     TEXT NOT NULL,
        log_index   INTEGER NOT NULL,
        block       INTEGER NOT NULL,
        timestamp   INTEGER NOT NULL,
        token       TEXT NOT NULL,
        from_addr   TEXT NOT NULL,
        to_addr     TEXT NOT NULL,
        amount      TEXT NOT NULL CHECK (amount NOT GLOB '*[^0-9]*' AND amount <> ''),
        created_at  INTEGER NOT NULL,
        UNIQUE (chain_id, tx_hash, log_index)
    );
    CREATE INDEX transfers_by_from ON transfers (chain_id, from_addr);
    CREATE INDEX transfers_by_to ON transfers (chain_id, to_addr);
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        chat_id         INTEGER NOT NULL REFERENCES chats(chat_id),
        transfer_id     INTEGER REFERENCES transfers(id),
        text            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed', 'held')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        sent_at         INTEGER,
        UNIQUE (chat_id, transfer_id)
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    CREATE TABLE meta (
        key     TEXT PRIMARY KEY,
        value   TEXT NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies every migration the database has not seen yet.
pub fn migrate(tx: &Transaction<'_>) -> Result<(), DbError> {
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(DbError::TooNew {
            found: current,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

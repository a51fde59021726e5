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
    // 2: address-poisoning and dust protection.
    //
    // The verdict depends on the chat's watched address (its known
    // counterparties, its own other addresses), so it is stored per outbox
    // row, not per transfer. `outbox.flagged` marks a row the checks found
    // suspicious when it was recorded — held back ('held') or turned into a
    // warning — independent of later threshold changes; `spam_score` and
    // `spam_reasons` (a JSON array of the flags) are kept for every row with
    // a flag, suspicious or not. `transfers.flagged` is set when any chat's
    // verdict refused to let the transfer establish a counterparty: such a
    // transfer never makes its sender "known" to anyone. `chats.spam_mode`
    // NULL means the configured default, so changing the default reaches
    // everyone who never chose.
    r#"
    ALTER TABLE chats ADD COLUMN spam_mode TEXT CHECK (spam_mode IN ('off', 'on', 'digest'));
    ALTER TABLE transfers ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1));
    ALTER TABLE outbox ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1));
    ALTER TABLE outbox ADD COLUMN spam_score INTEGER NOT NULL DEFAULT 0
        CHECK (spam_score BETWEEN 0 AND 100);
    ALTER TABLE outbox ADD COLUMN spam_reasons TEXT;
    ALTER TABLE outbox ADD COLUMN digested_at INTEGER;
    CREATE INDEX outbox_flagged ON outbox (chat_id, id) WHERE flagged = 1;
    CREATE INDEX outbox_undigested ON outbox (chat_id, id)
        WHERE state = 'held' AND digested_at IS NULL;
    "#,
    // 3: delivery states for answers that were lost.
    //
    // A `sendMessage` whose answer never arrived (client timeout, connection
    // reset) may have been delivered. `lost_answers` counts such attempts of
    // a row; after the second one the row is held as 'uncertain' and never
    // sent again, so that a subscriber gets at most two copies. 'failed'
    // stays the dead letter (never retried). Each retry limit counts only
    // its own kind of failure: `refusals` counts Telegram refusing the
    // message itself (a 4xx other than a chat-level one or missing rights),
    // `no_rights` its "not enough rights" answers; `attempts` counts every
    // send but one answered at chat level (chat not found, blocked), which
    // leaves the row untouched until the chat is back. SQLite cannot change a CHECK constraint in place: the table is
    // rebuilt, with its indexes.
    r#"
    CREATE TABLE outbox_v3 (
        id              INTEGER PRIMARY KEY,
        chat_id         INTEGER NOT NULL REFERENCES chats(chat_id),
        transfer_id     INTEGER REFERENCES transfers(id),
        text            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed', 'held', 'uncertain')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        sent_at         INTEGER,
        flagged         INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
        spam_score      INTEGER NOT NULL DEFAULT 0 CHECK (spam_score BETWEEN 0 AND 100),
        spam_reasons    TEXT,
        digested_at     INTEGER,
        lost_answers    INTEGER NOT NULL DEFAULT 0 CHECK (lost_answers >= 0),
        refusals        INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0),
        no_rights       INTEGER NOT NULL DEFAULT 0 CHECK (no_rights >= 0),
        UNIQUE (chat_id, transfer_id)
    );
    INSERT INTO outbox_v3 (id, chat_id, transfer_id, text, state, attempts, next_attempt_at,
        last_error, created_at, sent_at, flagged, spam_score, spam_reasons, digested_at)
    SELECT id, chat_id, transfer_id, text, state, attempts, next_attempt_at,
        last_error, created_at, sent_at, flagged, spam_score, spam_reasons, digested_at
    FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v3 RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    CREATE INDEX outbox_flagged ON outbox (chat_id, id) WHERE flagged = 1;
    CREATE INDEX outbox_undigested ON outbox (chat_id, id)
        WHERE state = 'held' AND digested_at IS NULL;
    "#,
    // 4: webhook deliveries, one row per (transfer, sink), written with the
    // transfer.
    //
    // `sink` is the sink's stable id (derived from its URL, see
    // `webhook::sink_id`); `webhook_id` the Standard Webhooks `webhook-id`,
    // identical on every retry; `body` the exact payload, so every retry
    // signs the same bytes. `next_attempt_ms` is in Unix milliseconds (the
    // backoff starts at seconds or less); `state` 'dead' is a dead letter.
    r#"
    CREATE TABLE webhook_deliveries (
        id              INTEGER PRIMARY KEY,
        sink            TEXT NOT NULL,
        transfer_id     INTEGER NOT NULL REFERENCES transfers(id),
        webhook_id      TEXT NOT NULL,
        body            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        finished_at     INTEGER,
        UNIQUE (transfer_id, sink)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (sink, state, next_attempt_ms);
    "#,
    // 5: pruning (`src/db/prune.rs`). Old outbox rows and webhook deliveries
    // are found by state and age; a transfer may go only when no outbox row
    // and no webhook delivery refers to it (also what the foreign key checks
    // look up on every deleted transfer; `webhook_deliveries` has its
    // `UNIQUE (transfer_id, sink)` index for that).
    r#"
    CREATE INDEX outbox_by_state_age ON outbox (state, created_at);
    CREATE INDEX webhook_deliveries_by_state_age ON webhook_deliveries (state, created_at);
    CREATE INDEX outbox_by_transfer ON outbox (transfer_id);
    CREATE INDEX transfers_by_age ON transfers (created_at);
    "#,
    // 6 (issue 11, groups): what kind of chat a row is (`private`, `group`,
    // `supergroup`; NULL for chats registered before, all private) and a
    // group's title, from the messages and `my_chat_member` updates.
    r#"
    ALTER TABLE chats ADD COLUMN kind TEXT
        CHECK (kind IN ('private', 'group', 'supergroup', 'channel'));
    ALTER TABLE chats ADD COLUMN title TEXT;
    "#,
    // 7 (issue 11, alerts): per-subscription settings (`src/db/settings.rs`)
    // and the inline keyboard of a notification. `min_amount`: the minimum in units of
    // 10^-18 token (NULL: none); `direction`: which transfers notify;
    // `muted_until`: Unix seconds (NULL: not muted; i64::MAX: until
    // `/unmute`). `outbox.reply_markup`: the Bot API `reply_markup` JSON
    // sent with the row (NULL: none).
    r#"
    ALTER TABLE subscriptions ADD COLUMN min_amount TEXT
        CHECK (min_amount IS NULL OR (min_amount NOT GLOB '*[^0-9]*' AND min_amount <> ''));
    ALTER TABLE subscriptions ADD COLUMN direction TEXT NOT NULL DEFAULT 'both'
        CHECK (direction IN ('in', 'out', 'both'));
    ALTER TABLE subscriptions ADD COLUMN muted_until INTEGER;
    ALTER TABLE outbox ADD COLUMN reply_markup TEXT;
    "#,
    // 8: the daily call budget (issue 12).
    // Calls sent per provider ("Etherscan", "Blockscout") per UTC day
    // (`day` = days since the Unix epoch), so a restart keeps the count.
    // Written once per poll (`src/db/budget.rs`), never per HTTP call; days
    // older than a week are dropped by the same write.
    r#"
    CREATE TABLE provider_calls (
        provider TEXT NOT NULL,
        day      INTEGER NOT NULL,
        calls    INTEGER NOT NULL CHECK (calls >= 0),
        PRIMARY KEY (provider, day)
    ) WITHOUT ROWID;
    "#,
    // 9: the spam checks' history reads (`src/db/history.rs`). Per direction, one index
    // answers "this address's counterparties with these leading digits" and
    // "this pair's transfers" from the index alone (it covers time and
    // flag); they replace the plain address indexes, whose queries they also
    // serve. `transfers_by_time` finds the transfers of the burst window; it
    // grows at its end (block time rises), so it costs inserts little.
    r#"
    DROP INDEX transfers_by_from;
    DROP INDEX transfers_by_to;
    CREATE INDEX transfers_from_to ON transfers (chain_id, from_addr, to_addr, timestamp, flagged);
    CREATE INDEX transfers_to_from ON transfers (chain_id, to_addr, from_addr, timestamp, flagged);
    CREATE INDEX transfers_by_time ON transfers (chain_id, timestamp);
    "#,
    // 10 (issue 17): each cursor's floor, the block the scanner created it
    // at (first sight of the (chain, token): its safe head). Written once,
    // by the insert of `cursors::advance`, never updated: the deep pass
    // (`scanner::poll`) never goes below it, so a restart soon after the
    // first start re-scans no block from before the daemon watched. NULL for
    // cursors created before this migration: their floor is unknown (none).
    r#"
    ALTER TABLE cursors ADD COLUMN first_block INTEGER CHECK (first_block IS NULL OR first_block >= 0);
    "#,
    // 11 (issue 20, fair delivery): what a row is, and bounded backlogs.
    // `kind`: 'notification' (a transfer, a digest), 'alert' (an admin
    // alert: sent before notifications) or 'fold' (the one message that
    // stands for the rows folded into it; its text is made when it is
    // sent, from those rows). `folded_into`: for a transfer row past
    // `telegram.max_pending_per_chat` of its chat, the fold row that
    // stands for it; it stays 'pending' (never sent on its own) until the
    // fold is sent, then takes the fold's outcome. The partial index
    // serves the per-chat fair fetch and the backlog count.
    r#"
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'notification'
        CHECK (kind IN ('notification', 'alert', 'fold'));
    ALTER TABLE outbox ADD COLUMN folded_into INTEGER;
    CREATE INDEX outbox_folded_into ON outbox (folded_into) WHERE folded_into IS NOT NULL;
    CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id) WHERE state = 'pending';
    "#,
    // 12 (issue 20, who may use the bot): `chats.access`: 'approved' (may
    // use the bot, gets notifications), 'pending' (asked, waits for an
    // admin: `telegram.registration = "approval"`) or 'denied'; every chat
    // existing at this migration is approved. `access_by`, `access_at`: the
    // admin who decided and when (NULL: never decided). `chats.owner`: the
    // user a chat counts for under `monitor.max_addresses_per_user` (a
    // private chat: its user; a group: whoever asked for it or added its
    // first address). `subscriptions.added_by`: the user who added it
    // (NULL: before this migration, in a group). `outbox_by_age` answers
    // "rows per chat over the last day" (`src/db/volume.rs`) from the index.
    r#"
    ALTER TABLE chats ADD COLUMN access TEXT NOT NULL DEFAULT 'approved'
        CHECK (access IN ('approved', 'pending', 'denied'));
    ALTER TABLE chats ADD COLUMN access_by INTEGER;
    ALTER TABLE chats ADD COLUMN access_at INTEGER;
    ALTER TABLE chats ADD COLUMN owner INTEGER;
    ALTER TABLE subscriptions ADD COLUMN added_by INTEGER;
    UPDATE chats SET owner = chat_id WHERE chat_id > 0;
    UPDATE subscriptions SET added_by = chat_id WHERE chat_id > 0;
    CREATE INDEX chats_by_owner ON chats (owner) WHERE owner IS NOT NULL;
    CREATE INDEX subscriptions_by_adder ON subscriptions (added_by) WHERE added_by IS NOT NULL;
    CREATE INDEX outbox_by_age ON outbox (created_at, chat_id, kind);
    "#,
    // 13 (issue 20): `chats.migrated_to`: the supergroup a group became
    // (an admin's Approve / Deny pressed under the old id's request
    // decides the supergroup). `allowlist`: the ids of `telegram.allowed`
    // and `telegram.admins`, written at every start while
    // `telegram.registration = "allowlist"` (meta `registration`); a chat
    // that is neither listed nor owned by a listed user is then sent no
    // notification (`src/db/access.rs`, `NOTIFIED`), whatever it was
    // approved under before.
    r#"
    ALTER TABLE chats ADD COLUMN migrated_to INTEGER;
    CREATE TABLE allowlist (id INTEGER PRIMARY KEY);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DbSettings, connection};

    /// A database at version 1 with data in it upgrades in place: existing
    /// rows get the neutral defaults (not flagged, score 0, default mode).
    #[test]
    fn migration_2_upgrades_a_version_1_database_with_data() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DbSettings {
            path: dir.path().join("v1.db"),
            busy_timeout: std::time::Duration::from_secs(5),
            max_size: None,
        };
        connection::with_transaction(&settings, true, |tx| {
            tx.execute_batch(MIGRATIONS[0])?;
            tx.pragma_update(None, "user_version", 1)?;
            tx.execute_batch(
                "INSERT INTO chats (chat_id, created_at) VALUES (7, 0);
                 INSERT INTO transfers (chain_id, tx_hash, log_index, block, timestamp, token,
                     from_addr, to_addr, amount, created_at)
                 VALUES (1, '0xab', 0, 1, 1, '0xt', '0xf', '0xt', '5', 0);
                 INSERT INTO outbox (chat_id, transfer_id, text, next_attempt_at, created_at)
                 VALUES (7, 1, 'hi', 0, 0);",
            )?;
            Ok(())
        })
        .unwrap();
        connection::prepare(&settings).unwrap();
        let row = connection::with_transaction(&settings, false, |tx| {
            Ok(tx.query_row(
                "SELECT c.spam_mode, t.flagged, o.flagged, o.spam_score, o.spam_reasons,
                        o.digested_at, (SELECT user_version FROM pragma_user_version)
                 FROM chats c, transfers t, outbox o",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )?)
        })
        .unwrap();
        assert_eq!(row, (None, 0, 0, 0, None, None, VERSION));
    }

    /// A version 2 database keeps its outbox rows, their ids and indexes,
    /// and accepts the new state.
    #[test]
    fn migration_3_rebuilds_the_outbox_keeping_rows_and_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DbSettings {
            path: dir.path().join("v2.db"),
            busy_timeout: std::time::Duration::from_secs(5),
            max_size: None,
        };
        connection::with_transaction(&settings, true, |tx| {
            tx.execute_batch(MIGRATIONS[0])?;
            tx.execute_batch(MIGRATIONS[1])?;
            tx.pragma_update(None, "user_version", 2)?;
            tx.execute_batch(
                "INSERT INTO chats (chat_id, created_at) VALUES (7, 0);
                 INSERT INTO outbox (id, chat_id, transfer_id, text, state, attempts,
                     next_attempt_at, created_at, flagged, spam_score)
                 VALUES (41, 7, NULL, 'held one', 'held', 0, 0, 0, 1, 80),
                        (42, 7, NULL, 'hi', 'pending', 3, 9, 0, 0, 0);",
            )?;
            Ok(())
        })
        .unwrap();
        connection::prepare(&settings).unwrap();
        let (rows, indexes) = connection::with_transaction(&settings, true, |tx| {
            tx.execute("UPDATE outbox SET state = 'uncertain' WHERE id = 42", [])?;
            let rows: Vec<(i64, String, i64, i64, i64, i64, i64)> = tx
                .prepare(
                    "SELECT id, state, attempts, spam_score, lost_answers, refusals, no_rights
                     FROM outbox ORDER BY id",
                )?
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let indexes: Vec<String> = tx
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((rows, indexes))
        })
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (41, "held".into(), 0, 80, 0, 0, 0),
                (42, "uncertain".into(), 3, 0, 0, 0, 0)
            ]
        );
        // Migrations 5, 11 and 12 add indexes on top of the rebuilt ones.
        assert_eq!(
            indexes,
            [
                "outbox_by_age",
                "outbox_by_state_age",
                "outbox_by_transfer",
                "outbox_due",
                "outbox_flagged",
                "outbox_folded_into",
                "outbox_pending_by_chat",
                "outbox_undigested"
            ]
        );
    }

    /// A version 11 database with chats and subscriptions upgrades in
    /// place: every existing chat is approved (nothing a user has is lost),
    /// a private chat is its user's, a private subscription its user's.
    #[test]
    fn migration_12_approves_every_existing_chat_and_records_owners() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DbSettings {
            path: dir.path().join("v11.db"),
            busy_timeout: std::time::Duration::from_secs(5),
            max_size: None,
        };
        connection::with_transaction(&settings, true, |tx| {
            for sql in &MIGRATIONS[..11] {
                tx.execute_batch(sql)?;
            }
            tx.pragma_update(None, "user_version", 11)?;
            tx.execute_batch(
                "INSERT INTO chats (chat_id, created_at, active) VALUES (7, 0, 1), (-55, 0, 0);
                 INSERT INTO subscriptions (chat_id, chain_id, address, created_at)
                 VALUES (7, 1, '0x1111111111111111111111111111111111111111', 0),
                        (-55, 1, '0x2222222222222222222222222222222222222222', 0);",
            )?;
            Ok(())
        })
        .unwrap();
        connection::prepare(&settings).unwrap();
        let (chats, subs, version) = connection::with_transaction(&settings, true, |tx| {
            let chats: Vec<(i64, String, Option<i64>, bool)> = tx
                .prepare("SELECT chat_id, access, owner, active FROM chats ORDER BY chat_id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            let subs: Vec<(i64, Option<i64>)> = tx
                .prepare("SELECT chat_id, added_by FROM subscriptions ORDER BY chat_id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            // The new check refuses an unknown state.
            let refused = tx
                .execute("UPDATE chats SET access = 'maybe' WHERE chat_id = 7", [])
                .is_err();
            assert!(refused, "access is checked");
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((chats, subs, version))
        })
        .unwrap();
        assert_eq!(
            chats,
            vec![
                (-55, "approved".to_string(), None, false),
                (7, "approved".to_string(), Some(7), true)
            ]
        );
        assert_eq!(subs, vec![(-55, None), (7, Some(7))]);
        assert_eq!(version, VERSION);
    }
}

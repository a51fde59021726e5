//! Request-level tests on a real SQLite file.

use super::cursors::{GetCursors, GetFloors, advance};
use super::outbox::{Delivery, DueNotifications, MarkDelivery, OutboxDepth};
use super::poll_result::RecordPollResult;
use super::subscriptions::{
    AddOutcome, AddSubscription, ListSubscriptions, RemoveSubscription, WatchedAddresses,
};
use super::*;
use crate::domain::{Address, Amount, TokenSymbol, Transfer};

pub(crate) fn temp_db() -> (tempfile::TempDir, DbSettings) {
    let dir = tempfile::tempdir().unwrap();
    let settings = DbSettings {
        path: dir.path().join("nested/dir/test.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).unwrap();
    (dir, settings)
}

/// The default spam policy (`spam.default_mode = off`).
pub(crate) fn policy() -> std::sync::Arc<spam::SpamPolicy> {
    std::sync::Arc::new(
        spam::SpamPolicy::from_config(&crate::config::SpamConfig::default()).unwrap(),
    )
}

pub(crate) fn exec<R: DbRequest>(s: &DbSettings, r: R) -> R::Output {
    connection::with_transaction(s, R::WRITES, |tx| r.run(tx)).unwrap()
}

fn addr(n: u8) -> Address {
    Address::parse(&format!("0x{}", format!("{n:02x}").repeat(20))).unwrap()
}

fn usdt() -> Address {
    Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap()
}

fn transfer(log_index: u64, from: u8, to: u8, raw: u128) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{:064x}", 0xabc),
        log_index,
        block: 100,
        timestamp: 1_700_000_000,
        token: TokenSymbol::Usdt,
        contract: usdt(),
        decimals: 6,
        from: addr(from),
        to: addr(to),
        amount: Amount::from_u128(raw),
    }
}

fn add(s: &DbSettings, chat: i64, a: u8, label: Option<&str>) -> AddOutcome {
    exec(
        s,
        AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: addr(a),
            label: label.map(String::from),
            limit: 3,
        },
    )
}

#[test]
fn creates_the_file_private_and_migrations_rerun_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, s) = temp_db();
    let mode = std::fs::metadata(&s.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    connection::prepare(&s).unwrap();
    connection::prepare(&s).unwrap();
    let version: i64 = connection::with_transaction(&s, false, |tx| {
        Ok(tx.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    })
    .unwrap();
    assert_eq!(version, schema::VERSION);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_dir, s) = temp_db();
    connection::with_transaction(&s, true, |tx| {
        Ok(tx.pragma_update(None, "user_version", 999)?)
    })
    .unwrap();
    assert!(matches!(
        connection::prepare(&s),
        Err(DbError::TooNew { found: 999, .. })
    ));
}

#[test]
fn subscriptions_add_duplicate_limit_remove() {
    let (_dir, s) = temp_db();
    assert_eq!(add(&s, 7, 1, Some("one")), AddOutcome::Added);
    assert_eq!(add(&s, 7, 1, None), AddOutcome::AlreadyWatching);
    assert_eq!(add(&s, 7, 2, None), AddOutcome::Added);
    assert_eq!(add(&s, 7, 3, None), AddOutcome::Added);
    assert_eq!(add(&s, 7, 4, None), AddOutcome::LimitReached { limit: 3 });
    assert_eq!(add(&s, 8, 4, None), AddOutcome::Added);
    let list = exec(&s, ListSubscriptions { chat_id: 7 });
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].label.as_deref(), Some("one"));
    let removed = exec(
        &s,
        RemoveSubscription {
            chat_id: 7,
            address: addr(1),
            chain_id: None,
        },
    );
    assert_eq!(removed, 1);
    assert_eq!(exec(&s, ListSubscriptions { chat_id: 7 }).len(), 2);
}

#[test]
fn watched_set_reloads_only_after_a_change() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, None);
    let (v1, set) = exec(
        &s,
        WatchedAddresses {
            known_version: None,
        },
    )
    .unwrap();
    assert!(set[&1].contains(&addr(1)));
    assert!(
        exec(
            &s,
            WatchedAddresses {
                known_version: Some(v1)
            }
        )
        .is_none()
    );
    add(&s, 7, 2, None);
    let (v2, set) = exec(
        &s,
        WatchedAddresses {
            known_version: Some(v1),
        },
    )
    .unwrap();
    assert!(v2 > v1);
    assert_eq!(set[&1].len(), 2);
}

#[test]
fn poll_result_records_transfers_outbox_and_cursor_atomically_and_idempotently() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, Some("mine"));
    add(&s, 8, 1, None);
    add(&s, 8, 2, None);
    let result = || {
        RecordPollResult::new(
            1,
            vec![
                transfer(0, 9, 1, 5_000_000), // in, chats 7 and 8
                transfer(1, 1, 2, 7),         // same tx, second log: 7 out, 8 self
            ],
            vec![(usdt(), 150)],
            policy(),
        )
    };
    let first = exec(&s, result());
    assert_eq!(first.new_transfers, 2);
    assert_eq!(first.notifications, 4);
    let again = exec(&s, result());
    assert_eq!(again, Default::default(), "re-recording is a no-op");
    assert_eq!(exec(&s, GetCursors)[&(1, usdt())], 150);
    let due = exec(
        &s,
        DueNotifications {
            limit: 100,
            per_chat: 100,
        },
    );
    assert_eq!(due.len(), 4);
    let texts: Vec<_> = due
        .iter()
        .map(|d| (d.chat_id, d.text.lines().next().unwrap().to_string()))
        .collect();
    assert!(
        texts.contains(&(7, "⬇️ <b>Incoming 5 USDT</b> on Ethereum".into())),
        "{texts:?}"
    );
    assert!(
        texts.contains(&(7, "⬆️ <b>Outgoing 0.000007 USDT</b> on Ethereum".into())),
        "{texts:?}"
    );
    assert!(
        texts.contains(&(
            8,
            "🔁 <b>Self-transfer 0.000007 USDT</b> on Ethereum".into()
        )),
        "{texts:?}"
    );
}

#[test]
fn a_failed_poll_write_leaves_the_cursor_and_transfers_untouched() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, None);
    let result = connection::with_transaction(&s, true, |tx| {
        RecordPollResult::new(1, vec![transfer(0, 9, 1, 1)], vec![(usdt(), 150)], policy())
            .run(tx)?;
        Err::<(), _>(DbError::Corrupt(
            "simulated failure after the writes".into(),
        ))
    });
    assert!(result.is_err());
    assert!(exec(&s, GetCursors).is_empty());
    assert!(
        exec(
            &s,
            DueNotifications {
                limit: 10,
                per_chat: 10
            }
        )
        .is_empty()
    );
}

#[test]
fn cursors_never_move_back() {
    let (_dir, s) = temp_db();
    connection::with_transaction(&s, true, |tx| {
        advance(tx, 1, &usdt(), 200)?;
        advance(tx, 1, &usdt(), 150)
    })
    .unwrap();
    assert_eq!(exec(&s, GetCursors)[&(1, usdt())], 200);
}

/// A cursor's floor is the block it was created at; moves keep it.
#[test]
fn a_cursor_keeps_the_floor_it_was_created_at() {
    let (_dir, s) = temp_db();
    connection::with_transaction(&s, true, |tx| {
        advance(tx, 1, &usdt(), 200)?;
        advance(tx, 1, &usdt(), 260)?;
        advance(tx, 1, &usdt(), 150)
    })
    .unwrap();
    assert_eq!(exec(&s, GetCursors)[&(1, usdt())], 260);
    assert_eq!(exec(&s, GetFloors)[&(1, usdt())], 200);
}

#[test]
fn delivery_outcomes() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, None);
    exec(
        &s,
        RecordPollResult::new(
            1,
            vec![
                transfer(0, 9, 1, 1),
                transfer(1, 9, 1, 2),
                transfer(2, 9, 1, 3),
            ],
            vec![],
            policy(),
        ),
    );
    let due = exec(
        &s,
        DueNotifications {
            limit: 10,
            per_chat: 10,
        },
    );
    assert_eq!(exec(&s, OutboxDepth), 3);
    exec(
        &s,
        MarkDelivery {
            id: due[0].id,
            delivery: Delivery::Sent,
        },
    );
    exec(
        &s,
        MarkDelivery {
            id: due[1].id,
            delivery: Delivery::Retry {
                after_secs: 3600,
                error: "502".into(),
            },
        },
    );
    exec(
        &s,
        MarkDelivery {
            id: due[2].id,
            delivery: Delivery::Failed {
                error: "400".into(),
            },
        },
    );
    assert!(
        exec(
            &s,
            DueNotifications {
                limit: 10,
                per_chat: 10
            }
        )
        .is_empty(),
        "sent, failed and later retries are not due"
    );
    assert_eq!(exec(&s, OutboxDepth), 1);
    let stats = exec(&s, stats::GetStats);
    assert_eq!(
        (
            stats.notifications_sent,
            stats.notifications_failed,
            stats.notifications_pending
        ),
        (1, 1, 1)
    );
}

#[test]
fn inactive_chats_get_nothing_new_but_keep_subscriptions() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, None);
    exec(
        &s,
        chats::SetChatActive {
            chat_id: 7,
            active: false,
        },
    );
    let r = exec(
        &s,
        RecordPollResult::new(1, vec![transfer(0, 9, 1, 1)], vec![], policy()),
    );
    assert_eq!(r.notifications, 0);
    assert_eq!(exec(&s, ListSubscriptions { chat_id: 7 }).len(), 1);
    let new = exec(
        &s,
        chats::UpsertChat {
            chat_id: 7,
            username: None,
            first_name: None,
        },
    );
    assert!(!new);
    let r = exec(
        &s,
        RecordPollResult::new(1, vec![transfer(1, 9, 1, 1)], vec![], policy()),
    );
    assert_eq!(r.notifications, 1);
}

/// The kind `migrated`: a group's settings, subscriptions and outbox rows
/// move to the supergroup's id in one request; a subscription the new id
/// already has stays behind; repeating it moves nothing more.
#[test]
fn a_migrated_group_moves_everything_to_its_new_id() {
    use super::chats::{ChatKind, MigrateChat, RegisterGroup};
    use super::spam::SetSpamMode;
    let (_dir, s) = temp_db();
    let (old, new) = (-42, -1_000_000_000_042);
    exec(
        &s,
        RegisterGroup {
            chat_id: old,
            kind: ChatKind::Group,
            title: Some("Team".into()),
        },
    );
    exec(
        &s,
        SetSpamMode {
            chat_id: old,
            mode: crate::config::SpamMode::Digest,
        },
    );
    add(&s, old, 1, Some("Treasury"));
    add(&s, old, 2, None);
    add(&s, new, 2, None);
    let r = exec(
        &s,
        RecordPollResult::new(1, vec![transfer(0, 9, 1, 5)], vec![], policy()),
    );
    assert_eq!(r.notifications, 1);
    let moved = exec(&s, MigrateChat { from: old, to: new });
    assert_eq!(moved, 2, "one subscription and one outbox row");
    let due = exec(
        &s,
        DueNotifications {
            limit: 10,
            per_chat: 10,
        },
    );
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].chat_id, new);
    let listed = exec(&s, ListSubscriptions { chat_id: new });
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .any(|x| x.label.as_deref() == Some("Treasury"))
    );
    assert_eq!(exec(&s, ListSubscriptions { chat_id: old }).len(), 1);
    let row = |chat: i64| {
        connection::with_transaction(&s, false, |tx| {
            Ok(tx.query_row(
                "SELECT active, kind, title, spam_mode FROM chats WHERE chat_id = ?1",
                [chat],
                |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )?)
        })
        .unwrap()
    };
    assert_eq!(
        row(new),
        (
            true,
            "supergroup".into(),
            Some("Team".into()),
            Some("digest".into())
        )
    );
    assert!(!row(old).0, "the old id is left inactive");
    assert_eq!(exec(&s, MigrateChat { from: old, to: new }), 0);
}

/// A database as an older release left it — in rollback-journal mode and
/// four schema versions behind, with the plain address indexes and cursors
/// without a floor — is put
/// in WAL mode and migrated by the first `prepare`, keeps its rows, and every
/// later per-message connection finds WAL without setting it.
#[test]
fn an_older_database_in_rollback_mode_gets_wal_and_migrates_on_first_prepare() {
    let (_dir, s) = temp_db();
    add(&s, 7, 1, Some("mine"));
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = DELETE;
         DROP INDEX transfers_from_to; DROP INDEX transfers_to_from;
         DROP INDEX transfers_by_time;
         CREATE INDEX transfers_by_from ON transfers (chain_id, from_addr);
         CREATE INDEX transfers_by_to ON transfers (chain_id, to_addr);
         ALTER TABLE cursors DROP COLUMN first_block;
         DROP INDEX outbox_by_age; DROP INDEX chats_by_owner; DROP INDEX subscriptions_by_adder;
         ALTER TABLE chats DROP COLUMN access; ALTER TABLE chats DROP COLUMN access_by;
         ALTER TABLE chats DROP COLUMN access_at; ALTER TABLE chats DROP COLUMN owner;
         ALTER TABLE subscriptions DROP COLUMN added_by;
         DROP INDEX outbox_folded_into; DROP INDEX outbox_pending_by_chat;
         ALTER TABLE outbox DROP COLUMN folded_into; ALTER TABLE outbox DROP COLUMN kind;
         ALTER TABLE chats DROP COLUMN migrated_to; DROP TABLE allowlist;
         PRAGMA user_version = {};",
        schema::VERSION - 5
    ))
    .unwrap();
    conn.close().unwrap();

    connection::prepare(&s).unwrap();

    let conn = connection::open(&s).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transfers'
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    connection::close(conn);
    assert_eq!(mode, "wal");
    assert_eq!(version, schema::VERSION);
    assert_eq!(
        indexes,
        [
            "transfers_by_age",
            "transfers_by_time",
            "transfers_from_to",
            "transfers_to_from"
        ]
    );
    let listed = exec(&s, ListSubscriptions { chat_id: 7 });
    assert_eq!(listed.len(), 1);
}

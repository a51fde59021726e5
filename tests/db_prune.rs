//! Pruning through a real DbActor pool on a real SQLite file: what goes,
//! what stays, in batches, and the write-ahead log truncated afterwards.

mod pool;

use std::time::Duration;

use usdt_monitor::db::prune::{Pruned, Retention, prune};
use usdt_monitor::db::{DbSettings, connection, now_secs};

const DAY: i64 = 24 * 3600;

fn retention(batch: usize) -> Retention {
    Retention {
        keep_delivered: Duration::from_secs(30 * DAY as u64),
        keep_transfers: Duration::from_secs(90 * DAY as u64),
        batch,
    }
}

fn settings(dir: &tempfile::TempDir) -> DbSettings {
    DbSettings {
        path: dir.path().join("db/test.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    }
}

/// Inserts a transfer recorded `age_days` ago and, unless `state` is
/// `None`, one outbox row for chat 1 in that state; returns the transfer id.
fn row(s: &DbSettings, n: i64, age_days: i64, state: Option<&str>, flagged: bool) -> i64 {
    let at = now_secs() - age_days * DAY;
    connection::with_transaction(s, true, |tx| {
        tx.execute(
            "INSERT OR IGNORE INTO chats (chat_id, created_at) VALUES (1, 0)",
            [],
        )?;
        tx.execute(
            "INSERT INTO transfers (chain_id, tx_hash, log_index, block, timestamp, token,
                 from_addr, to_addr, amount, created_at, flagged)
             VALUES (1, ?1, 0, ?2, ?3, '0xt', '0xf', '0xw', '5', ?3, ?4)",
            (format!("0x{n:064x}"), n, at, flagged),
        )?;
        let id = tx.last_insert_rowid();
        if let Some(state) = state {
            tx.execute(
                "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at,
                     created_at, flagged)
                 VALUES (1, ?1, 'hi', ?2, ?3, ?3, ?4)",
                (id, state, at, flagged),
            )?;
        }
        Ok(id)
    })
    .unwrap()
}

fn exists(s: &DbSettings, table: &str, column: &str, id: i64) -> bool {
    connection::with_transaction(s, false, |tx| {
        Ok(tx.query_row(
            &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
            [id],
            |r| r.get::<_, i64>(0),
        )? > 0)
    })
    .unwrap()
}

fn count(s: &DbSettings, table: &str) -> i64 {
    connection::with_transaction(s, false, |tx| {
        Ok(tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    })
    .unwrap()
}

#[actix_rt::test]
async fn prune_removes_old_delivered_rows_and_keeps_newer_and_pending_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 2);
    let s = settings(&dir);
    // Delivered 40 days ago: the notification goes (30 d); the transfer is
    // younger than 90 d and stays.
    let sent_40 = row(&s, 1, 40, Some("sent"), false);
    let failed_40 = row(&s, 2, 40, Some("failed"), false);
    // Delivered 10 days ago: stays.
    let sent_10 = row(&s, 3, 10, Some("sent"), false);
    // Pending for 200 days (a chat that blocked the bot): stays, and so does
    // its transfer.
    let pending_200 = row(&s, 4, 200, Some("pending"), false);
    // Delivered 100 days ago: notification and transfer both go.
    let sent_100 = row(&s, 5, 100, Some("sent"), false);
    // A transfer nobody was notified of, 100 days old: goes; 50 days: stays.
    let bare_100 = row(&s, 6, 100, None, false);
    let bare_50 = row(&s, 7, 50, None, false);

    let p = prune(&db, retention(500), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.transfers), (3, 2), "{p:?}");
    assert!(p.checkpointed);
    let outbox = |id| exists(&s, "outbox", "transfer_id", id);
    let transfer = |id| exists(&s, "transfers", "id", id);
    assert!(!outbox(sent_40) && !outbox(failed_40) && !outbox(sent_100));
    assert!(outbox(sent_10) && outbox(pending_200));
    assert!(transfer(sent_40) && transfer(failed_40) && transfer(sent_10));
    assert!(transfer(pending_200), "a pending row's transfer was pruned");
    assert!(!transfer(sent_100) && !transfer(bare_100) && transfer(bare_50));

    // A second round finds nothing.
    let p = prune(&db, retention(500), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.transfers), (0, 0));
}

#[actix_rt::test]
async fn prune_keeps_the_flagged_rows_spam_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 1);
    let s = settings(&dir);
    let listed = usdt_monitor::spam::render::MAX_LISTED as i64;
    // More held-back transfers than /spam lists, all 120 days old.
    let ids: Vec<i64> = (0..listed + 5)
        .map(|n| row(&s, n, 120, Some("held"), true))
        .collect();
    let p = prune(&db, retention(500), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.transfers), (5, 5), "{p:?}");
    // The oldest five went; the latest MAX_LISTED stay, with their transfers.
    for (i, id) in ids.iter().enumerate() {
        let kept = i >= 5;
        assert_eq!(exists(&s, "outbox", "transfer_id", *id), kept, "row {i}");
        assert_eq!(exists(&s, "transfers", "id", *id), kept, "transfer {i}");
    }
}

#[actix_rt::test]
async fn prune_works_in_small_batches_and_truncates_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 2);
    let s = settings(&dir);
    for n in 0..35 {
        row(&s, n, 100, Some("sent"), false);
    }
    let p = prune(&db, retention(10), now_secs()).await.unwrap();
    // 35 rows at 10 per transaction: 4 outbox batches, 4 transfer batches.
    assert_eq!(
        p,
        Pruned {
            outbox: 35,
            transfers: 35,
            batches: 8,
            checkpointed: true
        }
    );
    assert_eq!((count(&s, "outbox"), count(&s, "transfers")), (0, 0));
    let wal = std::fs::metadata(dir.path().join("db/test.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the write-ahead log was not truncated");
}

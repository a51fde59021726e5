//! Pruning through a real DbActor pool on a real SQLite file: what goes,
//! what stays, in batches, and the write-ahead log truncated afterwards.

use crate::pool;

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

/// Adds a webhook delivery of transfer `id` in `state`, recorded
/// `age_days` ago.
fn webhook(s: &DbSettings, id: i64, age_days: i64, state: &str) {
    let at = now_secs() - age_days * DAY;
    connection::with_transaction(s, true, |tx| {
        tx.execute(
            "INSERT INTO webhook_deliveries (sink, transfer_id, webhook_id, body, state,
                 next_attempt_ms, created_at)
             VALUES ('0123456789abcdef', ?1, ?2, '{}', ?3, ?4, ?5)",
            (id, format!("msg_{id}"), state, at * 1000, at),
        )?;
        Ok(())
    })
    .unwrap()
}

/// Makes the outbox row of transfer `id` `age_days` old.
fn age_outbox_row(s: &DbSettings, id: i64, age_days: i64) {
    connection::with_transaction(s, true, |tx| {
        tx.execute(
            "UPDATE outbox SET created_at = ?2 WHERE transfer_id = ?1",
            (id, now_secs() - age_days * DAY),
        )?;
        Ok(())
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
    // 35 rows at 10 per transaction: 4 outbox batches, 1 (empty) webhook
    // batch, 4 transfer batches.
    assert_eq!(
        p,
        Pruned {
            outbox: 35,
            webhooks: 0,
            transfers: 35,
            batches: 9,
            checkpointed: true
        }
    );
    assert_eq!((count(&s, "outbox"), count(&s, "transfers")), (0, 0));
    let wal = std::fs::metadata(dir.path().join("db/test.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the write-ahead log was not truncated");
}

#[actix_rt::test]
async fn prune_removes_uncertain_outbox_rows_after_keep_delivered_like_sent_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 2);
    let s = settings(&dir);
    // Uncertain (answer lost, never retried) 40 days ago: goes; 10 days: stays.
    let uncertain_40 = row(&s, 1, 40, Some("uncertain"), false);
    let uncertain_10 = row(&s, 2, 10, Some("uncertain"), false);
    // A 100-day-old transfer whose uncertain row is 10 days old: both stay.
    let old_transfer = row(&s, 3, 100, Some("uncertain"), false);
    age_outbox_row(&s, old_transfer, 10);

    let p = prune(&db, retention(500), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.transfers), (1, 0), "{p:?}");
    let outbox = |id| exists(&s, "outbox", "transfer_id", id);
    assert!(!outbox(uncertain_40));
    assert!(outbox(uncertain_10) && outbox(old_transfer));
    assert!(
        exists(&s, "transfers", "id", old_transfer),
        "an uncertain row's transfer was pruned"
    );
}

#[actix_rt::test]
async fn prune_removes_final_webhook_deliveries_after_keep_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 2);
    let s = settings(&dir);
    let delivered_40 = row(&s, 1, 40, None, false);
    webhook(&s, delivered_40, 40, "delivered");
    let dead_40 = row(&s, 2, 40, None, false);
    webhook(&s, dead_40, 40, "dead");
    let delivered_10 = row(&s, 3, 10, None, false);
    webhook(&s, delivered_10, 10, "delivered");
    // Pending for 200 days (a sink down for good): stays.
    let pending_200 = row(&s, 4, 50, None, false);
    webhook(&s, pending_200, 200, "pending");

    let p = prune(&db, retention(500), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.webhooks, p.transfers), (0, 2, 0), "{p:?}");
    let delivery = |id| exists(&s, "webhook_deliveries", "transfer_id", id);
    assert!(!delivery(delivered_40) && !delivery(dead_40));
    assert!(delivery(delivered_10) && delivery(pending_200));
}

#[actix_rt::test]
async fn prune_keeps_a_transfer_a_pending_webhook_delivery_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = pool::start(&dir, 2);
    let s = settings(&dir);
    // Old transfers, already sent to Telegram long ago.
    let pending = row(&s, 1, 100, Some("sent"), false);
    webhook(&s, pending, 100, "pending");
    let delivered = row(&s, 2, 100, Some("sent"), false);
    webhook(&s, delivered, 100, "delivered");
    // A delivered webhook younger than keep_delivered keeps its transfer
    // for now (the foreign key would refuse the deletion).
    let recent = row(&s, 3, 100, None, false);
    webhook(&s, recent, 10, "delivered");

    // Batches of one: a transfer the foreign key protects must not stall
    // the batch loop or fail the round.
    let p = prune(&db, retention(1), now_secs()).await.unwrap();
    assert_eq!((p.outbox, p.webhooks, p.transfers), (2, 1, 1), "{p:?}");
    let transfer = |id| exists(&s, "transfers", "id", id);
    assert!(
        transfer(pending),
        "a pending webhook delivery's transfer was pruned"
    );
    assert!(exists(&s, "webhook_deliveries", "transfer_id", pending));
    assert!(!transfer(delivered));
    assert!(transfer(recent));
}

//! A full database, end to end: the compiled daemon with a real size limit
//! (`database.max_size` → `PRAGMA max_page_count`, the same SQLITE_FULL a
//! full disk gives), the simulators, and the database file.

use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::TokenSymbol;

/// Five chats watch the same address: each transfer queues five
/// notifications (about 2 KiB), so ten of them need pages a database with
/// no room to grow does not have, while each chat receives only ten at
/// Telegram's pace of about one a second.
const USERS: [i64; 5] = [601, 602, 603, 604, 605];
const TRANSFERS: u128 = 10;

/// Sets `key = value` (a TOML literal) in `[section]` of the test configuration.
fn set_key(w: &World, section: &str, key: &str, value: &str) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with(&format!("{key} =")) {
            continue;
        }
        out += line;
        out += "\n";
        if line == format!("[{section}]") {
            out += &format!("{key} = {value}\n");
        }
    }
    std::fs::write(&w.config, out).unwrap();
}

fn set_max_size(w: &World, max_size: &str) {
    set_key(w, "database", "max_size", &format!("\"{max_size}\""));
}

fn db_path(w: &World) -> std::path::PathBuf {
    w.dir.path().join("data/monitor.db")
}

/// The database's size in bytes, as SQLite counts it (pages × page size).
fn db_bytes(w: &World) -> u64 {
    let conn = rusqlite::Connection::open(db_path(w)).unwrap();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    (pages * size) as u64
}

fn count_lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn db_fault_full_database_loses_nothing_alerts_once_and_recovers() {
    let mut w = World::new(Tweaks::default()).await;
    let (watched, payer) = (addr('c'), addr('4'));

    // Run 1, no limit: a user watches an address; one transfer goes through.
    w.start_daemon();
    for user in USERS {
        w.say(user, "/start").await;
        w.say(user, &format!("/add {watched}")).await;
    }
    let first = w.transfer(TokenSymbol::Usdt, &payer, &watched, 999_000);
    for user in USERS {
        w.wait_messages(user, &first, 1).await;
    }
    w.signal("TERM");
    assert_eq!(w.wait_exit(WAIT).await.code(), Some(0));

    // Run 2: the limit is the size the database has now — no room to grow.
    let size = db_bytes(&w);
    assert!(size >= 64 * 1024, "the database is only {size} bytes");
    set_max_size(&w, &format!("{size}B"));
    w.start_daemon();
    let txs: Vec<String> = (0..TRANSFERS)
        .map(|i| w.transfer(TokenSymbol::Usdt, &payer, &watched, 1_000_000 + i))
        .collect();
    // The admins are told.
    let alert = w.wait_messages(ADMIN, "is full", 1).await;
    assert!(alert[0].text.contains("max_size"), "{}", alert[0].text);
    // Polls keep failing and the daemon keeps running ...
    let failed_before = count_lines(&w.logs(2), "poll incomplete");
    wait_until("three more failed polls", || {
        count_lines(&w.logs(2), "poll incomplete") >= failed_before + 3
    })
    .await;
    assert!(
        w.daemon.as_mut().unwrap().try_wait().unwrap().is_none(),
        "the daemon exited while the database was full"
    );
    // ... the admins heard of it once, and the transfers wait.
    let alerts = w.bot.sent_to(ADMIN);
    let alerts = alerts.iter().filter(|m| m.text.contains("is full")).count();
    assert_eq!(alerts, 1, "admins were told {alerts} times");
    let sent = w.bot.sent();
    let delivered = txs
        .iter()
        .filter(|tx| sent.iter().any(|m| m.text.contains(tx.as_str())))
        .count();
    assert_eq!(delivered, 0, "transfers were recorded in a full database");
    w.signal("TERM");
    assert_eq!(w.wait_exit(WAIT).await.code(), Some(0));

    // Run 3: the operator raises the limit and restarts; nothing was lost.
    set_max_size(&w, "64MiB");
    w.start_daemon();
    for user in USERS {
        for tx in &txs {
            w.wait_messages(user, tx, 1).await;
        }
        w.assert_delivered_once(user, txs.iter().chain([&first]));
    }
}

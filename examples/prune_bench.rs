//! The database stays bounded under pruning: a simulated run of many days,
//! each recording `per_day` transfers with a delivered notification, then
//! pruning with the default ages (notifications 30 days, transfers 90 days)
//! through a one-worker DbActor pool. Prints the database size every ten
//! days, and the longest wait of a small request sent every millisecond
//! while pruning runs (how long the pool was ever busy with one batch).
//!
//!     cargo run --release --example prune_bench [days] [per_day]

use std::time::{Duration, Instant};

use usdt_monitor::db::outbox::OutboxDepth;
use usdt_monitor::db::prune::{Retention, prune};
use usdt_monitor::db::{DbSettings, connection};

/// The DbActor pool the database tests use.
#[path = "../tests/integration/pool.rs"]
mod pool;

const DAY: i64 = 24 * 3600;

/// One day of traffic, recorded `day` days after the start.
fn record_day(settings: &DbSettings, day: i64, per_day: i64) {
    let at = 1_700_000_000 + day * DAY;
    let text = "⬇️ <b>Incoming 1,250.5 USDT</b> on Ethereum\nTo: 0xcccc…cccc\nFrom: \
                <code>0x4444444444444444444444444444444444444444</code>\nTime: 2025-10-09 \
                08:54:20 UTC\n<a href=\"https://etherscan.io/tx/0x8f6e\">View transaction</a>";
    connection::with_transaction(settings, true, |tx| {
        tx.execute(
            "INSERT OR IGNORE INTO chats (chat_id, created_at) VALUES (1, 0)",
            [],
        )?;
        let mut transfer = tx.prepare_cached(
            "INSERT INTO transfers (chain_id, tx_hash, log_index, block, timestamp, token,
                 from_addr, to_addr, amount, created_at)
             VALUES (1, ?1, 0, ?2, ?3, '0xdac17f958d2ee523a2206206994597c13d831ec7',
                 '0x4444444444444444444444444444444444444444',
                 '0xcccccccccccccccccccccccccccccccccccccccc', '1250500000', ?3)",
        )?;
        let mut outbox = tx.prepare_cached(
            "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at,
                 created_at, sent_at)
             VALUES (1, ?1, ?2, 'sent', ?3, ?3, ?3)",
        )?;
        for i in 0..per_day {
            let n = day * per_day + i;
            transfer.execute((format!("0x{n:064x}"), n, at))?;
            outbox.execute((tx.last_insert_rowid(), text, at))?;
        }
        Ok(())
    })
    .unwrap();
}

fn bytes(settings: &DbSettings) -> u64 {
    let wal = settings.path.with_extension("db-wal");
    [&settings.path, &wal]
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

fn main() {
    let arg = |i: usize, default: i64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (days, per_day) = (arg(1, 180), arg(2, 2000));
    let dir = tempfile::tempdir().unwrap();
    let settings = DbSettings {
        path: dir.path().join("db/test.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    let retention = Retention {
        keep_delivered: Duration::from_secs(30 * DAY as u64),
        keep_transfers: Duration::from_secs(90 * DAY as u64),
        batch: usdt_monitor::db::prune::BATCH,
    };
    println!(
        "{days} days × {per_day} transfers/day, batches of {}",
        retention.batch
    );
    println!(
        "| day | rows recorded | database + WAL | rows pruned that day | longest wait of a request during pruning |"
    );
    println!("|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        // One worker: a probe request waits behind every pruning batch.
        let (db, _sup) = pool::start(&dir, 1);
        let mut worst = Duration::ZERO;
        for day in 1..=days {
            record_day(&settings, day, per_day);
            let now = 1_700_000_000 + day * DAY;
            // A probe: one small request at a time, timed, while pruning runs.
            let probe_db = db.clone();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let probe = actix_rt::spawn(async move {
                let mut longest = Duration::ZERO;
                tokio::pin!(stopped);
                loop {
                    let t = Instant::now();
                    probe_db.exec(OutboxDepth).await.unwrap();
                    longest = longest.max(t.elapsed());
                    tokio::select! {
                        _ = &mut stopped => return longest,
                        () = tokio::time::sleep(Duration::from_millis(1)) => {}
                    }
                }
            });
            let pruned = prune(&db, retention, now).await.unwrap();
            let _ = stop.send(());
            let longest = probe.await.unwrap();
            worst = worst.max(longest);
            if day % 10 == 0 || day == days {
                println!(
                    "| {day} | {} | {:.1} MiB | {} | {:.1} ms |",
                    day * per_day,
                    bytes(&settings) as f64 / (1 << 20) as f64,
                    pruned.outbox + pruned.transfers,
                    longest.as_secs_f64() * 1e3
                );
            }
        }
        println!(
            "longest wait of a request during any pruning round: {:.1} ms",
            worst.as_secs_f64() * 1e3
        );
    });
}

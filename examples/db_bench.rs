//! DbActor throughput: messages per second with a connection opened and
//! closed per message (the design), against one long-lived connection (the
//! comparison).
//!
//!     cargo run --release --example db_bench [messages]

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use rusqlite::Connection;
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::meta::GetMeta;
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::{DbActor, DbRef, DbRequest, DbSettings, connection};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::supervisor::{ChildSpec, Policy, Supervisor};

fn transfers(batch: u64, n: u64) -> Vec<Transfer> {
    let usdt = Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap();
    (0..n)
        .map(|i| Transfer {
            chain_id: 1,
            tx_hash: format!("0x{:032x}{:032x}", batch, i),
            log_index: i,
            block: batch,
            timestamp: 1_700_000_000,
            token: TokenSymbol::Usdt,
            contract: usdt.clone(),
            decimals: 6,
            from: Address::parse(&format!("0x{:040x}", i + 1)).unwrap(),
            to: Address::parse(&format!("0x{:040x}", batch + 1_000_000)).unwrap(),
            amount: Amount::from_u128(1_000_000 + i as u128),
        })
        .collect()
}

fn report(what: &str, mode: &str, n: u64, elapsed: Duration) {
    let rate = n as f64 / elapsed.as_secs_f64();
    println!("| {what} | {mode} | {n} | {:.0} |", rate);
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let settings = DbSettings {
        path: dir.path().join("bench.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).unwrap();
    println!("| message | connection | messages | messages/s |");
    println!("|---|---|---|---|");

    let s = settings.clone();
    actix_rt::System::new().block_on(async move {
        let db = DbRef::new("db", Duration::from_secs(10));
        let settings = s.clone();
        let spec = ChildSpec::sync_pool("db", 2, db.clone(), move |g| {
            DbActor::new(settings.clone(), g)
        });
        let policy = Policy {
            max_restarts: 5,
            restart_window: Duration::from_secs(60),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_secs(1),
            fault_injection: false,
            shutdown_order: None,
        };
        let _sup = Supervisor::start(vec![spec], policy);
        db.exec(GetMeta("warm")).await.unwrap();

        let t = Instant::now();
        run(&db, n, |_| Nothing).await;
        report(
            "empty transaction",
            "open + close per message",
            n,
            t.elapsed(),
        );

        let t = Instant::now();
        run(&db, n, |i| Insert(i as i64)).await;
        report("point insert", "open + close per message", n, t.elapsed());

        let t = Instant::now();
        run(&db, n, |i| UpsertChat {
            chat_id: 1_000_000 + i as i64,
            username: None,
            first_name: None,
        })
        .await;
        report(
            "chat upsert (insert + update)",
            "open + close per message",
            n,
            t.elapsed(),
        );

        let t = Instant::now();
        run(&db, n, |_| GetMeta("subscriptions_version")).await;
        report("point select", "open + close per message", n, t.elapsed());

        let polls = (n / 100).max(10);
        let t = Instant::now();
        run(&db, polls, |i| {
            RecordPollResult::without_spam_checks(1, transfers(i, 100), vec![])
        })
        .await;
        report(
            "poll result, 100 transfers",
            "open + close per message",
            polls,
            t.elapsed(),
        );
    });

    // The comparison: one connection kept open, one transaction per message.
    let dir2 = tempfile::tempdir().unwrap();
    let settings = DbSettings {
        path: dir2.path().join("bench.db"),
        ..settings
    };
    connection::prepare(&settings).unwrap();
    let mut conn = connection::open(&settings).unwrap();
    let mut one = |r: &mut dyn FnMut(&rusqlite::Transaction<'_>)| {
        let tx = conn.transaction().unwrap();
        r(&tx);
        tx.commit().unwrap();
    };
    let t = Instant::now();
    for i in 0..n {
        one(&mut |tx| {
            Insert(i as i64).run(tx).unwrap();
        });
    }
    report("point insert", "one long-lived connection", n, t.elapsed());
    let t = Instant::now();
    for i in 0..n {
        one(&mut |tx| {
            UpsertChat {
                chat_id: 1_000_000 + i as i64,
                username: None,
                first_name: None,
            }
            .run(tx)
            .unwrap();
        });
    }
    report(
        "chat upsert (insert + update)",
        "one long-lived connection",
        n,
        t.elapsed(),
    );
    let t = Instant::now();
    for _ in 0..n {
        one(&mut |tx| {
            GetMeta("subscriptions_version").run(tx).unwrap();
        });
    }
    report("point select", "one long-lived connection", n, t.elapsed());
    let polls = (n / 100).max(10);
    let t = Instant::now();
    for i in 0..polls {
        one(&mut |tx| {
            RecordPollResult::without_spam_checks(1, transfers(i, 100), vec![])
                .run(tx)
                .unwrap();
        });
    }
    report(
        "poll result, 100 transfers",
        "one long-lived connection",
        polls,
        t.elapsed(),
    );
    let _: &Connection = &conn;
}

async fn run<R: DbRequest>(db: &DbRef, n: u64, make: impl Fn(u64) -> R) {
    let ok = stream::iter(0..n)
        .map(|i| db.exec(make(i)))
        .buffer_unordered(16)
        .filter(|r| std::future::ready(r.is_ok()))
        .count()
        .await;
    assert_eq!(ok as u64, n);
}

/// One row into one table: a point insert.
pub struct Insert(i64);
impl DbRequest for Insert {
    type Output = ();
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<(), usdt_monitor::db::DbError> {
        tx.execute(
            "INSERT INTO chats (chat_id, active, created_at) VALUES (?1, 1, 0)",
            [self.0],
        )?;
        Ok(())
    }
}

/// Opens and closes a connection and does nothing else: the floor.
pub struct Nothing;
impl DbRequest for Nothing {
    type Output = ();
    const WRITES: bool = false;
    fn run(self, _: &rusqlite::Transaction<'_>) -> Result<(), usdt_monitor::db::DbError> {
        Ok(())
    }
}

//! Fair delivery benchmark (issue 20): a quiet chat's notification latency
//! while another chat is flooded, through the real client, a real
//! supervisor tree, a real SQLite file and the simulated Bot API with its
//! Telegram-like flood limits on; default pacing (`send_rate` 25,
//! `per_chat_interval` 1 s, `combine_after` 3, `max_pending_per_chat` 200).
//!
//! `cargo run --release --example fairness_bench`
//!
//! * **burst**: the flooded chat's address gets 1 500 transfers at once;
//! * **steady**: it gets 50 transfers per second (5 every 100 ms);
//!
//! meanwhile 10 quiet chats each get one transfer every 3 s (staggered,
//! beyond `combine_window`), for [`RUN`]. A quiet notification's latency
//! runs from recording its transfer to the simulator accepting it; p50,
//! p99 and max are printed (target p99 ≤ 2 s). Then the cost of the fair
//! fetch (`DueNotifications`) and of the backlog bound (`FoldBacklog`) at
//! 10 000 pending rows, on a database of its own.

use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::outbox::{DueNotifications, FoldBacklog};
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbRequest, DbSettings, connection};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{Shutdown, SupervisorHandle};

/// How long quiet chats are measured in each scenario.
const RUN: Duration = Duration::from_secs(30);
const QUIET_CHATS: usize = 10;
const FLOODED: i64 = 500_000;

struct Bench {
    sim: SimBotApi,
    shared: Shared,
    tree: SupervisorHandle,
    _dir: tempfile::TempDir,
}

async fn start() -> Bench {
    let sim = SimBotApi::start(SimBotOptions::default())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Config::default();
    c.telegram.api_url = sim.api_url();
    c.etherscan.base_url = "http://127.0.0.1:9/v2/api".into();
    c.blockscout.enabled = false;
    c.monitor.poll_interval = Duration::from_secs(3600);
    c.database.path = dir.path().join("bench.db");
    let secrets = Secrets {
        telegram_token: Secret::new(sim.token()),
        etherscan_key: Some(Secret::new("bench")),
        tron_key: None,
    };
    let shared = Shared::new(c, secrets).expect("config");
    shared
        .paused
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let tree = app::start(&shared).expect("tree starts");
    Bench {
        sim,
        shared,
        tree,
        _dir: dir,
    }
}

fn address(i: usize) -> String {
    format!("0x{:040x}", 0xfa00_0000usize + i)
}

fn transfer(log_index: u64, to: &str) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{:064x}", 0xfa1u64),
        log_index,
        block: 19_000_000,
        timestamp: 1_764_297_023,
        token: TokenSymbol::Usdt,
        contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").expect("valid"),
        decimals: 6,
        from: Address::parse("0x1111111111111111111111111111111111111111").expect("valid"),
        to: Address::parse(to).expect("valid"),
        // Whole USDT, unique per log index: found again in the text.
        amount: Amount::from_u128(u128::from(log_index) * 1_000_000),
    }
}

impl Bench {
    async fn watch(&self, chat: i64, address: &str) {
        let db = &self.shared.db;
        db.exec(UpsertChat {
            chat_id: chat,
            username: None,
            first_name: None,
        })
        .await
        .expect("chat");
        db.exec(AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: Address::parse(address).expect("valid"),
            label: None,
            limit: 10,
        })
        .await
        .expect("subscription");
    }

    async fn record(&self, transfers: Vec<Transfer>) {
        self.shared
            .db
            .exec(RecordPollResult::without_spam_checks(1, transfers, vec![]))
            .await
            .expect("recorded");
        self.shared.outbox_ready.notify_one();
    }

    async fn stop(self) {
        self.tree.addr.do_send(Shutdown);
        let _ = self.tree.exit.await;
        self.sim.stop().await;
    }
}

/// `"Incoming 1,234 USDT"` for `n` whole USDT.
fn incoming(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("Incoming {out} USDT")
}

#[derive(Clone, Copy)]
enum Flood {
    Burst,
    Steady,
}

/// Runs one scenario; returns the quiet latencies, sorted, and how many
/// messages the flooded chat got.
async fn scenario(flood: Flood) -> (Vec<Duration>, usize, u64) {
    let b = start().await;
    b.watch(FLOODED, &address(999)).await;
    for q in 0..QUIET_CHATS {
        b.watch(600_000 + q as i64, &address(q)).await;
    }
    let started = Instant::now();
    let mut next_flood_log: u64 = 1_000_000;
    if let Flood::Burst = flood {
        let burst = (0..1500)
            .map(|i| transfer(next_flood_log + i, &address(999)))
            .collect();
        next_flood_log += 1500;
        b.record(burst).await;
    }
    // (quiet chat, log index, recorded at)
    let mut quiet: Vec<(i64, u64, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut step: u64 = 0;
    while started.elapsed() < RUN {
        tick.tick().await;
        let mut transfers = Vec::new();
        if let Flood::Steady = flood {
            for _ in 0..5 {
                transfers.push(transfer(next_flood_log, &address(999)));
                next_flood_log += 1;
            }
        }
        // Every 300 ms one quiet chat in turn: each every 3 s.
        if step.is_multiple_of(3) {
            let q = ((step / 3) as usize) % QUIET_CHATS;
            let log = 1 + step;
            transfers.push(transfer(log, &address(q)));
            quiet.push((600_000 + q as i64, log, Instant::now()));
        }
        b.record(transfers).await;
        step += 1;
    }
    // Wait (bounded) for the last quiet notifications.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latencies = Vec::new();
    loop {
        let sent = b.sim.sent();
        latencies.clear();
        let mut missing = 0;
        for (chat, log, at) in &quiet {
            let needle = incoming(*log);
            match sent
                .iter()
                .find(|m| m.chat_id == *chat && m.text.contains(&needle))
            {
                Some(m) => latencies.push(m.at.saturating_duration_since(*at)),
                None => missing += 1,
            }
        }
        if missing == 0 || Instant::now() > deadline {
            if missing > 0 {
                println!("  {missing} quiet notifications not delivered within 30 s after the run");
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    latencies.sort();
    let flooded = b.sim.sent_to(FLOODED).len();
    let rejected = b.sim.rejected_429();
    b.stop().await;
    (latencies, flooded, rejected)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Cost of the fair fetch and of the backlog bound at `pending` rows: one
/// chat holds 9 000 of them, 100 chats 10 each.
fn query_cost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = DbSettings {
        path: dir.path().join("cost.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).expect("database");
    connection::with_transaction(&settings, true, |tx| {
        let now = 1_764_297_023i64;
        tx.execute(
            "INSERT INTO transfers (id, chain_id, tx_hash, log_index, block, timestamp, token,
                 from_addr, to_addr, amount, created_at)
             VALUES (1, 1, '0xab', 0, 1, 1, 'USDT', '0xf', '0xt', '5', 0)",
            [],
        )?;
        for chat in 0..=100i64 {
            tx.execute(
                "INSERT INTO chats (chat_id, created_at) VALUES (?1, 0)",
                [chat],
            )?;
        }
        let mut insert = tx.prepare(
            "INSERT INTO outbox (chat_id, transfer_id, text, next_attempt_at, created_at)
             VALUES (?1, NULL, 'x', ?2, ?2)",
        )?;
        for _ in 0..9000 {
            insert.execute(rusqlite::params![0, now])?;
        }
        for chat in 1..=100i64 {
            for _ in 0..10 {
                insert.execute(rusqlite::params![chat, now])?;
            }
        }
        Ok(())
    })
    .expect("rows");
    let runs = 50;
    let started = Instant::now();
    let mut n = 0;
    for _ in 0..runs {
        n = connection::with_transaction(&settings, false, |tx| {
            DueNotifications {
                limit: 500,
                per_chat: 50,
            }
            .run(tx)
        })
        .expect("fetch")
        .len();
    }
    let fetch = started.elapsed() / runs;
    let started = Instant::now();
    for _ in 0..runs {
        connection::with_transaction(&settings, true, |tx| {
            FoldBacklog {
                max_per_chat: 100_000,
                keep: Vec::new(),
            }
            .run(tx)
        })
        .expect("fold");
    }
    let fold = started.elapsed() / runs;
    println!(
        "fair fetch at 10 000 pending rows (9 000 in one chat, 100 chats × 10): {:.2} ms per fetch ({n} rows), \
         backlog check {:.2} ms (none over the bound), each with its own transaction",
        fetch.as_secs_f64() * 1e3,
        fold.as_secs_f64() * 1e3
    );
}

#[actix_rt::main]
async fn main() {
    for (name, flood) in [
        ("burst of 1 500", Flood::Burst),
        ("steady 50/s", Flood::Steady),
    ] {
        let (latencies, flooded, rejected) = scenario(flood).await;
        println!(
            "{name}: quiet notifications {} — p50 {:.2} s, p99 {:.2} s, max {:.2} s; \
             flooded chat got {flooded} messages; {rejected} × 429",
            latencies.len(),
            pct(&latencies, 0.5).as_secs_f64(),
            pct(&latencies, 0.99).as_secs_f64(),
            latencies.last().copied().unwrap_or_default().as_secs_f64(),
        );
    }
    query_cost();
}

//! Telegram actor benchmark against the simulated Bot API, through the real
//! client, a real supervisor tree and a real SQLite file.
//!
//! `cargo run --release --example telegram_bench`
//!
//! * notifications per second delivered, simulator flood limits off (the
//!   pacer set far above what the machine can do) and on (send_rate 25,
//!   per-chat spacing 1 s, the simulator's Telegram-like limits);
//! * command round trip (update in → reply out), p50 / p99;
//! * a burst: N due transfers to one chat, simulator limits on, combined
//!   (`combine_after` 3) vs one message each (`combine_after` 0, bounded by
//!   the 1/s per-chat limit, so run shorter and extrapolated).
//!
//! `cargo run --release --example telegram_bench -- burst` runs the burst
//! part alone.

use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{Shutdown, SupervisorHandle};

struct Bench {
    sim: SimBotApi,
    shared: Shared,
    tree: SupervisorHandle,
    _dir: tempfile::TempDir,
}

async fn start(
    flood_limits: bool,
    send_rate: u32,
    per_chat: Duration,
    combine_after: u32,
) -> Bench {
    let sim = SimBotApi::start(SimBotOptions {
        flood_limits,
        ..SimBotOptions::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Config::default();
    c.telegram.api_url = sim.api_url();
    c.telegram.send_rate = send_rate;
    c.telegram.per_chat_interval = per_chat;
    c.telegram.command_limit = 1_000_000;
    c.telegram.combine_after = combine_after;
    c.etherscan.base_url = "http://127.0.0.1:9/v2/api".into();
    c.monitor.poll_interval = Duration::from_secs(3600);
    c.database.path = dir.path().join("bench.db");
    let secrets = Secrets {
        telegram_token: Secret::new(sim.token()),
        etherscan_key: Some(Secret::new("bench")),
        tron_key: None,
    };
    let shared = Shared::new(c, secrets).unwrap();
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

impl Bench {
    async fn stop(self) {
        self.tree.addr.do_send(Shutdown);
        let _ = self.tree.exit.await;
        self.sim.stop().await;
    }
}

fn address(i: usize) -> String {
    format!("0x{:040x}", 0xbe00_0000usize + i)
}

fn transfer(log_index: u64, to: &str) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{:064x}", 0xbeef),
        log_index,
        block: 19_000_000,
        timestamp: 1_764_297_023,
        token: TokenSymbol::Usdt,
        contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").expect("valid"),
        decimals: 6,
        from: Address::parse("0x1111111111111111111111111111111111111111").expect("valid"),
        to: Address::parse(to).expect("valid"),
        amount: Amount::from_u128(1_000_000 + u128::from(log_index)),
    }
}

/// Queues `per_chat` notifications to each of `chats` chats and returns
/// the delivered rate.
async fn notifications(b: &Bench, chats: usize, per_chat: usize) -> f64 {
    for i in 0..chats {
        let chat = 100_000 + i as i64;
        b.shared
            .db
            .exec(UpsertChat {
                chat_id: chat,
                username: None,
                first_name: None,
            })
            .await
            .expect("chat");
        b.shared
            .db
            .exec(AddSubscription {
                chat_id: chat,
                chain_id: 1,
                address: Address::parse(&address(i)).expect("valid"),
                label: None,
                limit: 10,
            })
            .await
            .expect("subscription");
    }
    let mut transfers = Vec::new();
    for round in 0..per_chat {
        for i in 0..chats {
            transfers.push(transfer((round * 100_000 + i) as u64, &address(i)));
        }
    }
    let total = transfers.len();
    let before = b.sim.sent().len();
    let started = Instant::now();
    b.shared
        .db
        .exec(RecordPollResult::without_spam_checks(1, transfers, vec![]))
        .await
        .expect("recorded");
    b.shared.outbox_ready.notify_one();
    let sent = b
        .sim
        .wait_for(Duration::from_secs(600), |all| all.len() >= before + total)
        .await
        .expect("all delivered");
    let first = sent[before].at;
    let last = sent[sent.len() - 1].at;
    let elapsed = last.duration_since(first).max(Duration::from_millis(1));
    println!(
        "  {total} notifications to {chats} chats: {:.2} s from first to last ({:.2} s from queueing), {:.1}/s, {} × 429",
        elapsed.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        (total - 1) as f64 / elapsed.as_secs_f64(),
        b.sim.rejected_429()
    );
    (total - 1) as f64 / elapsed.as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sequential commands from distinct users: update in → reply out.
async fn round_trips(b: &Bench, n: usize) {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let user = 500_000 + i as i64;
        let asked = Instant::now();
        b.sim.user_says(user, "/help");
        let sent = b
            .sim
            .wait_for(Duration::from_secs(10), |all| {
                all.iter().rev().take(4).any(|m| m.chat_id == user)
            })
            .await
            .expect("reply");
        let reply = sent
            .iter()
            .rev()
            .find(|m| m.chat_id == user)
            .expect("reply present");
        latencies.push(reply.at.duration_since(asked));
    }
    latencies.sort();
    println!(
        "  {n} commands: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
}

/// Queues `n` transfers to one watched address of one chat at once and
/// returns the time until the last one was delivered, and the messages.
async fn burst(b: &Bench, n: usize) -> (Duration, usize) {
    let chat = 700_000;
    b.shared
        .db
        .exec(UpsertChat {
            chat_id: chat,
            username: None,
            first_name: None,
        })
        .await
        .expect("chat");
    b.shared
        .db
        .exec(AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: Address::parse(&address(0)).expect("valid"),
            label: None,
            limit: 10,
        })
        .await
        .expect("subscription");
    let transfers = (0..n).map(|i| transfer(i as u64, &address(0))).collect();
    let started = Instant::now();
    b.shared
        .db
        .exec(RecordPollResult::without_spam_checks(1, transfers, vec![]))
        .await
        .expect("recorded");
    b.shared.outbox_ready.notify_one();
    let delivered = |all: &[usdt_monitor::sim::botapi::SentMessage]| -> usize {
        all.iter()
            .filter(|m| m.chat_id == chat)
            .map(|m| m.text.matches("Incoming ").count())
            .sum()
    };
    let sent = b
        .sim
        .wait_for(Duration::from_secs(1800), |all| delivered(all) >= n)
        .await
        .expect("all delivered");
    let elapsed = started.elapsed();
    let messages = sent.iter().filter(|m| m.chat_id == chat).count();
    (elapsed, messages)
}

async fn bursts() {
    let n = 1000;
    println!(
        "burst: {n} due transfers to one chat, simulator limits on (send_rate 25, per-chat 1 s):"
    );
    let b = start(true, 25, Duration::from_secs(1), 3).await;
    let (elapsed, messages) = burst(&b, n).await;
    println!(
        "  combined (combine_after 3): {:.1} s, {messages} messages, {} × 429",
        elapsed.as_secs_f64(),
        b.sim.rejected_429()
    );
    b.stop().await;
    let short = 20;
    let b = start(true, 25, Duration::from_secs(1), 0).await;
    let (elapsed, messages) = burst(&b, short).await;
    let per = elapsed.as_secs_f64() / short as f64;
    println!(
        "  one message each (combine_after 0): {short} in {:.1} s ({messages} messages, {} × 429), \
         extrapolated to {n}: {:.0} s",
        elapsed.as_secs_f64(),
        b.sim.rejected_429(),
        per * n as f64
    );
    b.stop().await;
}

async fn run() {
    if std::env::args().any(|a| a == "burst") {
        bursts().await;
        return;
    }
    println!("notifications, simulator limits off (send_rate 100000, per-chat 1 ms):");
    let b = start(false, 100_000, Duration::from_millis(1), 0).await;
    notifications(&b, 200, 10).await;
    println!("command round trip, simulator limits off:");
    round_trips(&b, 500).await;
    b.stop().await;

    println!("notifications, simulator limits on (send_rate 25, per-chat 1 s):");
    let b = start(true, 25, Duration::from_secs(1), 0).await;
    notifications(&b, 100, 5).await;
    println!("command round trip, simulator limits on (idle bot):");
    round_trips(&b, 200).await;
    b.stop().await;
    bursts().await;
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    actix_rt::System::new().block_on(run());
}

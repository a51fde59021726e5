//! End-to-end scale run: the compiled daemon against the simulators with
//! 1 000 chats watching 10 000 addresses, 100 Transfer logs per block and a
//! block every second.
//!
//!     cargo build --release && cargo run --release --example scale_bench [seconds]
//!
//! Reports Etherscan calls per poll, detection lag (block safe → message
//! delivered) p50/p99, notifications per second in a burst, and the
//! daemon's resident memory and open descriptors at steady state.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbRequest, DbSettings, connection};
use usdt_monitor::domain::{Address, Amount, Chain, TokenSymbol};
use usdt_monitor::sim::botapi::{SimBotApi, SimBotOptions};
use usdt_monitor::sim::etherscan::{
    InjectedTransfer, RequestKind, SimEtherscan, SimEtherscanOptions,
};

const CHATS: i64 = 1_000;
const PER_CHAT: i64 = 10;
const KEY: &str = "scale-key";
const TOKEN: &str = "777:scale-token";
const POLL: &str = "1s";
const CONFIRMATIONS: u64 = 2;

fn watched(chat: i64, i: i64) -> Address {
    Address::parse(&format!("0x{:020x}{:020x}", 0xfeed_0000 + chat, i)).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/usdt-monitor");
    assert!(
        std::path::Path::new(bin).exists(),
        "build the daemon first: cargo build --release"
    );
    actix_rt::System::new().block_on(run(bin, seconds));
}

async fn run(bin: &str, seconds: u64) {
    let es = SimEtherscan::start(SimEtherscanOptions {
        api_key: KEY.into(),
        chains: vec![1],
        start_block: 8_000_000,
        block_time: Some(Duration::from_secs(1)),
        noise_per_block: 50, // per token: 100 Transfer logs per block
        rate_limit_per_sec: Some(5),
        query_timeout_above: None,
        seed: 99,
    })
    .await
    .unwrap();
    let bot = SimBotApi::start(SimBotOptions {
        token: TOKEN.into(),
        ..Default::default()
    })
    .await
    .unwrap();

    // The daemon's state before it starts: 1 000 chats, 10 000 addresses.
    let dir = tempfile::tempdir().unwrap();
    let settings = DbSettings {
        path: dir.path().join("scale.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).unwrap();
    connection::with_transaction(&settings, true, |tx| {
        for chat in 0..CHATS {
            UpsertChat {
                chat_id: 10_000 + chat,
                username: None,
                first_name: None,
            }
            .run(tx)?;
            for i in 0..PER_CHAT {
                AddSubscription {
                    chat_id: 10_000 + chat,
                    chain_id: 1,
                    address: watched(chat, i),
                    label: None,
                    limit: 50,
                }
                .run(tx)?;
            }
        }
        Ok(())
    })
    .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[telegram]\napi_url = \"{}\"\nlong_poll_timeout = \"5s\"\n\
             [etherscan]\nbase_url = \"{}\"\nrequests_per_second = 5\n\
             [monitor]\npoll_interval = \"{POLL}\"\nconfirmations = {CONFIRMATIONS}\n\
             [database]\npath = \"{}\"\n[log]\nlevel = \"warn\"\n",
            bot.api_url(),
            es.base_url(),
            settings.path.display()
        ),
    )
    .unwrap();
    let mut daemon = Command::new(bin)
        .args(["run", "--config"])
        .arg(&config)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("ETHERSCAN_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    let usdt = Chain::by_id(1)
        .unwrap()
        .token(TokenSymbol::Usdt)
        .unwrap()
        .contract
        .clone();
    let payer = Address::parse("0x1234567890123456789012345678901234567890").unwrap();

    // Warm up: the first poll sets the cursors.
    tokio::time::sleep(Duration::from_secs(5)).await;
    es.reset_requests();

    // Steady state: each block carries one transfer to a watched address
    // of a different chat; when each block becomes safe is recorded.
    let mut injected: BTreeMap<String, u64> = BTreeMap::new(); // tx → block
    let mut safe_at: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut last_head = es.head(1);
    let mut n = 0i64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let head = es.head(1);
        for h in last_head + 1..=head {
            safe_at.insert(h.saturating_sub(CONFIRMATIONS), Instant::now());
            let block = h + 1;
            let to = watched(n % CHATS, n % PER_CHAT);
            n += 1;
            let (tx, _) = es.inject_transfer(
                1,
                InjectedTransfer {
                    contract: usdt.clone(),
                    from: payer.clone(),
                    to,
                    amount: Amount::from_u128(1_000_000 + n as u128),
                    block: Some(block),
                },
            );
            injected.insert(tx, block);
        }
        last_head = head;
        if samples.len() < (start.elapsed().as_secs() as usize) {
            samples.push((rss_kib(pid), fds(pid)));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let records = es.requests();
    // Let the last blocks become safe and be delivered.
    tokio::time::sleep(Duration::from_secs(CONFIRMATIONS + 4)).await;
    let sent = bot.sent();
    let delivered = injected
        .keys()
        .filter(|tx| sent.iter().any(|m| m.text.contains(tx.as_str())))
        .count();
    let mut lags = Vec::new();
    for m in &sent {
        if let Some((_, block)) = injected.iter().find(|(tx, _)| m.text.contains(tx.as_str()))
            && let Some(at) = safe_at.get(block)
        {
            lags.push(m.at.saturating_duration_since(*at));
        }
    }
    lags.sort();
    let heads = records
        .iter()
        .filter(|r| r.kind == RequestKind::BlockNumber)
        .count()
        .max(1);
    let logs = records
        .iter()
        .filter(|r| r.kind == RequestKind::GetLogs)
        .count();

    // A burst: 500 transfers to 500 different chats in one block.
    let before = bot.sent().len();
    let burst_block = es.head(1) + 1;
    for chat in 0..500 {
        es.inject_transfer(
            1,
            InjectedTransfer {
                contract: usdt.clone(),
                from: payer.clone(),
                to: watched(chat, 0),
                amount: Amount::from_u128(7),
                block: Some(burst_block),
            },
        );
    }
    let delivered_all = bot
        .wait_for(Duration::from_secs(120), |all| all.len() >= before + 500)
        .await
        .unwrap_or_else(|all| all);
    let burst: Vec<_> = delivered_all[before..].to_vec();
    let rate = if burst.len() > 1 {
        let span = burst.last().unwrap().at.duration_since(burst[0].at);
        (burst.len() - 1) as f64 / span.as_secs_f64()
    } else {
        0.0
    };
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = daemon.wait();

    let (rss_min, rss_max) = (
        samples.iter().map(|s| s.0).min().unwrap_or(0),
        samples.iter().map(|s| s.0).max().unwrap_or(0),
    );
    let (fd_min, fd_max) = (
        samples.iter().map(|s| s.1).min().unwrap_or(0),
        samples.iter().map(|s| s.1).max().unwrap_or(0),
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| chats / watched addresses | {CHATS} / {} |",
        CHATS * PER_CHAT
    );
    println!("| Transfer logs per block | 100 (+1 to a watched address) |");
    println!("| run | {seconds} s, blocks every 1 s, poll every {POLL} |");
    println!(
        "| Etherscan calls per poll (head + getLogs pages) | {:.2} ({} head + {} getLogs over {} polls) |",
        (heads + logs) as f64 / heads as f64,
        heads,
        logs,
        heads
    );
    println!(
        "| transfers injected / delivered (lag measured for) | {} / {} ({}) |",
        injected.len(),
        delivered,
        lags.len()
    );
    if !lags.is_empty() {
        println!(
            "| detection lag, block safe → message delivered, p50 / p99 / max | {:.0} / {:.0} / {:.0} ms |",
            percentile(&lags, 0.5).as_secs_f64() * 1e3,
            percentile(&lags, 0.99).as_secs_f64() * 1e3,
            lags.last().unwrap().as_secs_f64() * 1e3
        );
    }
    println!(
        "| burst of 500 notifications to 500 chats | {} delivered, {:.1}/s, {} × 429 |",
        burst.len(),
        rate,
        bot.rejected_429()
    );
    println!(
        "| daemon resident memory, steady state (min–max) | {:.1}–{:.1} MiB |",
        rss_min as f64 / 1024.0,
        rss_max as f64 / 1024.0
    );
    println!("| daemon open descriptors, steady state (min–max) | {fd_min}–{fd_max} |");
}

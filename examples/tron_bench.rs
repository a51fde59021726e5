//! Tron scanner benchmark against the simulated TronGrid.
//!
//! `cargo run --release --example tron_bench`
//!
//! Two runs, 1 and 10 000 watched Tron addresses, each against a fresh
//! simulated TronGrid with [`REALISTIC_NOISE_PER_BLOCK`] (90) USDT Transfers
//! per 3 s block, i.e. 30 a second of chain time, plus one transfer between
//! two watched addresses per block. Chain time runs 10× faster than the real
//! chain (a block every 300 ms) and the daemon polls every 300 ms (one poll
//! per block, as `poll_interval = "3s"` does on the real chain). The
//! daemon's own tree (db, tron, ticker) runs through the real HTTP client and
//! a real SQLite file. Prints a markdown table: TronGrid calls per poll and
//! the lag from a block's solidification to its transfer in the outbox.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rusqlite::Transaction;
use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, TRON_CHAIN_ID};
use usdt_monitor::sim::tron::{
    AccountId, Endpoint, REALISTIC_NOISE_PER_BLOCK, SimTronGrid, SimTronGridOptions, Transfer,
    USDT_CONTRACT, to_base58,
};
use usdt_monitor::supervisor::{Shutdown, Supervisor};

const BLOCK_TIME: Duration = Duration::from_millis(300);
const POLL_INTERVAL: Duration = Duration::from_millis(300);
const RATE: u32 = 10;
const RUN: Duration = Duration::from_secs(20);
const KEY: &str = "bench-tron-key";

/// Watched address `n`: the account id `0xcc…` with `n` in its last bytes.
fn watched_id(n: u32) -> AccountId {
    let mut id = [0xcc; 20];
    id[16..].copy_from_slice(&n.to_be_bytes());
    id
}

struct Subscribe(Vec<AddSubscription>);

impl DbRequest for Subscribe {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        for s in self.0 {
            s.run(tx)?;
        }
        Ok(())
    }
}

/// Blocks of the transfers that reached the outbox.
struct OutboxBlocks;

impl DbRequest for OutboxBlocks {
    type Output = Vec<u64>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<u64>, DbError> {
        let mut stmt = tx.prepare(
            "SELECT DISTINCT t.block FROM outbox o JOIN transfers t ON t.id = o.transfer_id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|b| b as u64)
            .collect())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What one run measured.
struct Run {
    watched: u32,
    polls: u64,
    calls: usize,
    max_in_window: usize,
    blocks: u64,
    lags: Vec<Duration>,
    missing: usize,
}

async fn run(watched: u32) -> Run {
    let sim = SimTronGrid::start(SimTronGridOptions {
        valid_keys: vec![KEY.into()],
        block_time: None,
        noise_per_block: REALISTIC_NOISE_PER_BLOCK,
        seed: 11,
        ..SimTronGridOptions::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.tron.api_url = sim.base_url();
    config.tron.requests_per_second = RATE;
    config.monitor.chains = vec!["tron".into()];
    config.monitor.poll_interval = POLL_INTERVAL;
    config.database.path = dir.path().join("bench.db");
    let shared = Shared::new(
        config,
        Secrets {
            telegram_token: Secret::new("unused"),
            etherscan_key: None,
            tron_key: Some(Secret::new(KEY)),
        },
    )
    .expect("valid configuration");
    usdt_monitor::db::connection::prepare(&shared.db_settings()).expect("database");
    let specs: Vec<_> = app::child_specs(&shared)
        .into_iter()
        .filter(|s| s.name != "telegram")
        .collect();
    let tree = Supervisor::start(specs, app::policy(&shared.config));
    let subs = (0..watched)
        .map(|i| AddSubscription {
            chat_id: 10_000 + i64::from(i),
            chain_id: TRON_CHAIN_ID,
            address: Address::parse_tron(&to_base58(&watched_id(i))).expect("valid address"),
            label: None,
            limit: 50,
        })
        .collect();
    shared.db.exec(Subscribe(subs)).await.expect("subscribe");

    // One transfer between watched addresses in every block of the run.
    let first = sim.head() + 1;
    let blocks = (RUN.as_millis() / BLOCK_TIME.as_millis()) as u64;
    for b in first..first + blocks {
        let n = (b % u64::from(watched)) as u32;
        sim.inject_tx(
            Some(b),
            &[Transfer {
                contract: USDT_CONTRACT,
                from: watched_id(n),
                to: watched_id((n + 1) % watched),
                value: u128::from(b),
            }],
        );
    }

    let mut solid_at: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut in_outbox_at: BTreeMap<u64, Instant> = BTreeMap::new();
    let start = Instant::now();
    let mut next_block = start + BLOCK_TIME;
    // Calls counted once the daemon has caught up with the start.
    let mut counted_from: Option<usize> = None;
    while start.elapsed() < RUN + Duration::from_secs(3) {
        let now = Instant::now();
        if now >= next_block && start.elapsed() < RUN {
            sim.advance(1);
            next_block += BLOCK_TIME;
        }
        for b in first..=sim.solid_head().min(first + blocks - 1) {
            solid_at.entry(b).or_insert(now);
        }
        if counted_from.is_none() && start.elapsed() > Duration::from_secs(1) {
            counted_from = Some(sim.requests().len());
        }
        if let Ok(seen) = shared.db.exec(OutboxBlocks).await {
            let now = Instant::now();
            for b in seen {
                in_outbox_at.entry(b).or_insert(now);
            }
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    // Each poll starts with one solidified-head call.
    let counted = sim.requests().split_off(counted_from.unwrap_or_default());
    let calls = counted.len();
    let polls = counted
        .iter()
        .filter(|r| r.endpoint == Endpoint::SolidGetBlock)
        .count() as u64;
    tree.addr.do_send(Shutdown);
    let _ = tree.exit.await;
    let mut lags: Vec<Duration> = solid_at
        .iter()
        .filter_map(|(b, s)| Some(in_outbox_at.get(b)?.saturating_duration_since(*s)))
        .collect();
    lags.sort();
    let missing = solid_at
        .keys()
        .filter(|b| !in_outbox_at.contains_key(b))
        .count();
    let max_in_window = sim.max_calls_in_any_window(Duration::from_secs(1));
    sim.stop().await;
    Run {
        watched,
        polls,
        calls,
        max_in_window,
        blocks: solid_at.len() as u64,
        lags,
        missing,
    }
}

#[actix_rt::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut runs = Vec::new();
    for watched in [1, 10_000] {
        runs.push(run(watched).await);
    }
    println!();
    println!(
        "Setup: {REALISTIC_NOISE_PER_BLOCK} USDT Transfers per block (30/s of chain time) + 1 \
         between watched addresses, a block every {BLOCK_TIME:?} (10× the chain), a poll every \
         {POLL_INTERVAL:?}, tron.requests_per_second = {RATE}, {:.0} s per run.",
        RUN.as_secs_f64()
    );
    println!();
    println!(
        "| watched Tron addresses | TronGrid calls per poll (calls / polls) | max calls in any 1 s | lag solidified → outbox p50 / p99 / max | blocks delivered |"
    );
    println!("|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {:.2} ({} / {}) | {} (limit {RATE}) | {:.0} / {:.0} / {:.0} ms | {} of {} ({} not yet) |",
            r.watched,
            r.calls as f64 / r.polls.max(1) as f64,
            r.calls,
            r.polls,
            r.max_in_window,
            percentile(&r.lags, 0.5).as_secs_f64() * 1000.0,
            percentile(&r.lags, 0.99).as_secs_f64() * 1000.0,
            r.lags.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
            r.lags.len(),
            r.blocks,
            r.missing,
        );
    }
    println!();
}

//! Scan-mode benchmark: calls and bytes a day of the logs scan and of the
//! per-address scan, measured against the simulated Etherscan, for 1, 10,
//! 100 and 10 000 watched addresses, with Ethereum's and BSC's USDT volumes,
//! and the mode `auto` picks.
//!
//! `cargo run --release --example mode_bench`
//!
//! Volumes (Transfer logs per block of USDT, the simulator's noise): Ethereum
//! ≈ 420 000 a day over 7 200 blocks of 12 s ≈ 58 (shared/reference/etherscan.md);
//! BSC ≈ 12–14 million a day (CryptoOnchain, 2025) over 115 200 blocks of
//! 0.75 s ≈ 110. One token (USDT), a poll every 15 s (5 760 polls a day),
//! 2 confirmations, the default `rescan_depth` (deep pass on). Calls and
//! bytes (answer bodies, as served) are counted by the simulator over
//! sample polls after a warm-up (so the deep pass runs), then scaled to a
//! day. The sample has no transfer of the watched addresses: each one adds
//! a look-up call (about 1 kB) and its row (about 0.85 kB) per re-read.

use std::time::Duration;

use rusqlite::Transaction;
use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, ScanMode, Secret, Secrets};
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Chain};
use usdt_monitor::etherscan::Poll;
use usdt_monitor::etherscan::mode::human_bytes;
use usdt_monitor::sim::etherscan::{SimEtherscan, SimEtherscanOptions};
use usdt_monitor::supervisor::{Shutdown, Supervisor};

const KEY: &str = "bench-key";
const POLLS_PER_DAY: u64 = 86_400 / 15;

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

/// One simulated chain: its name, id, USDT logs per block, and the head
/// advance of each poll (blocks per 15 s).
struct Volume {
    name: &'static str,
    id: u64,
    logs_per_block: u32,
    advance: &'static [u64],
}

const CHAINS: [Volume; 2] = [
    Volume {
        name: "ethereum",
        id: 1,
        logs_per_block: 58,
        // 1.25 blocks of 12 s per 15 s poll.
        advance: &[1, 1, 2, 1],
    },
    Volume {
        name: "bsc",
        id: 56,
        logs_per_block: 110,
        advance: &[20],
    },
];

struct Run {
    sim: SimEtherscan,
    shared: Shared,
    tree: usdt_monitor::supervisor::SupervisorHandle,
    _dir: tempfile::TempDir,
}

async fn start(v: &Volume, addresses: u32, mode: ScanMode) -> Run {
    let sim = SimEtherscan::start(SimEtherscanOptions {
        api_key: KEY.into(),
        chains: vec![v.id],
        noise_per_block: v.logs_per_block,
        ..Default::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.etherscan.base_url = sim.base_url();
    config.etherscan.requests_per_second = 100_000;
    config.etherscan.max_connections = 8;
    config.monitor.chains = vec![v.name.into()];
    config.monitor.tokens = vec!["USDT".into()];
    config.monitor.poll_interval = Duration::from_secs(15);
    config.monitor.scan_mode = mode;
    config.database.path = dir.path().join("monitor.db");
    let secrets = Secrets {
        telegram_token: Secret::new("unused"),
        etherscan_key: Some(Secret::new(KEY)),
        tron_key: None,
    };
    let shared = Shared::new(config, secrets).expect("shared state");
    usdt_monitor::db::connection::prepare(&shared.db_settings()).expect("database");
    let specs: Vec<_> = app::child_specs(&shared)
        .into_iter()
        .filter(|s| s.name == "db" || s.name == "etherscan")
        .collect();
    let tree = Supervisor::start(specs, app::policy(&shared.config));
    let subs = (0..addresses)
        .map(|n| AddSubscription {
            chat_id: 1 + i64::from(n),
            chain_id: v.id,
            address: Address::parse(&format!("0xbb{n:038x}")).expect("address"),
            label: None,
            limit: 50,
        })
        .collect();
    shared.db.exec(Subscribe(subs)).await.expect("subscribe");
    Run {
        sim,
        shared,
        tree,
        _dir: dir,
    }
}

impl Run {
    async fn poll(&self, v: &Volume, i: usize) {
        self.sim.advance(v.id, v.advance[i % v.advance.len()]);
        let summary = self.shared.etherscan.call(Poll).await.expect("poll");
        let summary = summary.expect("poll starts");
        assert!(summary.errors().next().is_none(), "{summary:?}");
    }

    async fn stop(self) {
        self.tree.addr.do_send(Shutdown);
        let _ = tokio::time::timeout(Duration::from_secs(20), self.tree.exit).await;
        self.sim.stop().await;
    }
}

/// (calls a day, bytes a day) of `mode`, measured.
async fn measure(v: &Volume, addresses: u32, mode: ScanMode) -> (u64, u64) {
    let run = start(v, addresses, mode).await;
    run.poll(v, 0).await; // the cursor, at the safe head
    // Warm-up: until the deep pass (rescan_depth blocks behind) runs.
    let depth = Chain::by_id(v.id).map_or(0, |c| c.rescan_depth);
    let per_poll: u64 = v.advance.iter().sum::<u64>() / v.advance.len() as u64;
    let warm = if mode == ScanMode::Logs {
        (depth / per_poll.max(1) + 2) as usize
    } else {
        0
    };
    for i in 0..warm {
        run.poll(v, i).await;
    }
    run.sim.reset_requests();
    let sample = if addresses >= 1_000 { 1 } else { 4 }.max(v.advance.len());
    for i in 0..sample {
        run.poll(v, i).await;
    }
    let calls = run.sim.request_count() as u64 * POLLS_PER_DAY / sample as u64;
    let bytes = run.sim.served_bytes() * POLLS_PER_DAY / sample as u64;
    run.stop().await;
    (calls, bytes)
}

/// What `auto` picks once it has measured the logs scan (the deep pass's
/// warm-up, then a few steady polls), as `/status` says it.
async fn auto_pick(v: &Volume, addresses: u32) -> String {
    let run = start(v, addresses, ScanMode::Auto).await;
    let status = || {
        run.shared
            .health
            .chains()
            .into_iter()
            .find_map(|(id, h)| (id == v.id).then_some(h.scan_mode).flatten())
            .unwrap_or_default()
    };
    let mut line = String::new();
    for i in 0..200 {
        run.poll(v, i).await;
        line = status();
        if !line.contains("measuring") {
            break;
        }
    }
    run.stop().await;
    line
}

#[actix_rt::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!(
        "| chain | addresses | logs: calls/day | logs: bytes/day | per-address: calls/day | per-address: bytes/day | auto picks |"
    );
    println!("|---|---|---|---|---|---|---|");
    for v in &CHAINS {
        for addresses in [1u32, 10, 100, 10_000] {
            let (lc, lb) = measure(v, addresses, ScanMode::Logs).await;
            let (pc, pb) = measure(v, addresses, ScanMode::PerAddress).await;
            let pick = auto_pick(v, addresses).await;
            let mode = pick.split(' ').next().unwrap_or("?");
            println!(
                "| {} | {addresses} | {lc} | {} | {pc} | {} | {mode} |",
                v.name,
                human_bytes(lb),
                human_bytes(pb),
            );
            eprintln!("  {} {addresses}: auto: {pick}", v.name);
        }
    }
}

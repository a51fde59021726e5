//! Scan modes (`monitor.scan_mode`) against the simulated Etherscan, through
//! the real `awc` client, a real supervisor tree (db + etherscan) and a real
//! SQLite file: `auto`'s choice, a switch each way while transfers arrive,
//! `tokentx`'s quirks, and the calls a per-address poll makes.

use std::collections::BTreeSet;
use std::time::Duration;

use rusqlite::Transaction;
use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, ScanMode, Secret, Secrets};
use usdt_monitor::db::subscriptions::{AddSubscription, RemoveSubscription};
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, Chain, TokenSymbol};
use usdt_monitor::etherscan::{
    EtherscanActor, Method, Poll, PollSummary, RetryPolicy, SetScanMode,
};
use usdt_monitor::sim::etherscan::{
    InjectedTransfer, RequestKind, SimEtherscan, SimEtherscanOptions,
};
use usdt_monitor::supervisor::{ChildSpec, Restart, Shutdown, Supervisor, SupervisorHandle};

const KEY: &str = "sim-scan-mode-key";

fn addr(n: u32) -> Address {
    Address::parse(&format!("0xaa{n:038x}")).unwrap()
}

fn usdt() -> Address {
    Chain::by_id(1)
        .unwrap()
        .token(TokenSymbol::Usdt)
        .unwrap()
        .contract
        .clone()
}

fn units(n: u64) -> Amount {
    Amount::from_dec(&(n * 1_000_000).to_string()).unwrap()
}

struct Harness {
    sim: SimEtherscan,
    shared: Shared,
    sup: SupervisorHandle,
    _dir: tempfile::TempDir,
}

/// (tx hash, log index, amount) of every stored transfer.
struct StoredKeys;

impl DbRequest for StoredKeys {
    type Output = Vec<(String, u64, String)>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare("SELECT tx_hash, log_index, amount FROM transfers")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

struct OutboxRows;

impl DbRequest for OutboxRows {
    type Output = i64;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<i64, DbError> {
        Ok(tx.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
    }
}

/// Several requests in one transaction (subscribing many addresses).
struct Batch<R>(Vec<R>);

impl<R: DbRequest> DbRequest for Batch<R> {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        for r in self.0 {
            r.run(tx)?;
        }
        Ok(())
    }
}

impl Harness {
    async fn start(noise_per_block: u32, mode: ScanMode) -> Harness {
        Self::start_with(noise_per_block, mode, |_| {}).await
    }

    /// As [`start`](Self::start), with `tweak` applied to the configuration.
    async fn start_with(
        noise_per_block: u32,
        mode: ScanMode,
        tweak: impl FnOnce(&mut Config),
    ) -> Harness {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = SimEtherscan::start(SimEtherscanOptions {
            api_key: KEY.into(),
            noise_per_block,
            ..Default::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.etherscan.base_url = sim.base_url();
        config.etherscan.requests_per_second = 1000;
        config.etherscan.request_timeout = Duration::from_secs(5);
        config.monitor.chains = vec!["ethereum".into()];
        config.monitor.tokens = vec!["USDT".into(), "USDC".into()];
        config.monitor.confirmations = 2;
        config.blockscout.enabled = false;
        // The estimate's poll rate (polls are sent by the test, not a ticker).
        config.monitor.poll_interval = Duration::from_secs(15);
        config.monitor.scan_mode = mode;
        tweak(&mut config);
        config.database.path = dir.path().join("monitor.db");
        config.supervisor.shutdown_timeout = Duration::from_secs(10);
        let secrets = Secrets {
            telegram_token: Secret::new("unused"),
            etherscan_key: Some(Secret::new(KEY)),
            tron_key: None,
        };
        let shared = Shared::new(config, secrets).unwrap();
        usdt_monitor::db::connection::prepare(&shared.db_settings()).unwrap();
        let db = app::child_specs(&shared)
            .into_iter()
            .find(|s| s.name == "db")
            .unwrap();
        let s = shared.clone();
        let retry = RetryPolicy {
            transient_tries: 2,
            timeout_tries: 2,
            transient_backoff: Duration::from_millis(10),
            rate_limit_tries: 2,
            rate_limit_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        };
        let etherscan = ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
            EtherscanActor::with_retry(s.etherscan_deps(), guard, retry)
        })
        .restart(Restart::Permanent);
        let sup = Supervisor::start(vec![db, etherscan], app::policy(&shared.config));
        let _ = shared.supervisor.set(sup.addr.clone());
        Harness {
            sim,
            shared,
            sup,
            _dir: dir,
        }
    }

    async fn poll(&self) -> PollSummary {
        self.shared
            .etherscan
            .call(Poll)
            .await
            .expect("the scanner answers")
            .expect("the poll starts")
    }

    /// Watches each address from its own chat.
    async fn watch(&self, addresses: &[Address], first_chat: i64) {
        let subs = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| AddSubscription {
                chat_id: first_chat + i as i64,
                chain_id: 1,
                address: a.clone(),
                label: None,
                limit: 50,
            })
            .collect();
        self.shared.db.exec(Batch(subs)).await.unwrap();
    }

    /// Stops watching each address from its own chat (as [`watch`](Self::watch)).
    async fn unwatch(&self, addresses: &[Address], first_chat: i64) {
        let subs = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| RemoveSubscription {
                chat_id: first_chat + i as i64,
                address: a.clone(),
                chain_id: Some(1),
            })
            .collect();
        self.shared.db.exec(Batch(subs)).await.unwrap();
    }

    /// Polls `n` times, the head `advance` blocks further each time; every
    /// poll must succeed.
    async fn polls(&self, n: u32, advance: u64) {
        for _ in 0..n {
            self.sim.advance(1, advance);
            let summary = self.poll().await;
            assert!(summary.errors().next().is_none(), "{summary:?}");
        }
    }

    /// Polls (the head `advance` blocks further each time) until `auto` has
    /// measured the logs scan — the deep pass's warm-up after the cursors'
    /// first sight, then a few steady polls — and decided: the status line
    /// of the deciding poll. At most 60 polls.
    async fn until_decided(&self, advance: u64) -> String {
        for _ in 0..60 {
            self.polls(1, advance).await;
            let line = self.status_line();
            if !line.contains("measuring") {
                return line;
            }
        }
        panic!("no decision after 60 polls: {}", self.status_line());
    }

    async fn pin(&self, method: Method) {
        self.shared
            .etherscan
            .call(SetScanMode {
                chain_id: 1,
                pin: Some(method),
            })
            .await
            .unwrap();
    }

    fn status_line(&self) -> String {
        self.shared
            .health
            .chains()
            .into_iter()
            .find(|(id, _)| *id == 1)
            .and_then(|(_, h)| h.scan_mode)
            .unwrap_or_default()
    }

    fn inject(&self, from: &Address, to: &Address, amount: Amount, block: u64) -> (String, u64) {
        self.sim.inject_transfer(
            1,
            InjectedTransfer {
                contract: usdt(),
                from: from.clone(),
                to: to.clone(),
                amount,
                block: Some(block),
            },
        )
    }

    async fn stored(&self) -> Vec<(String, u64, String)> {
        self.shared.db.exec(StoredKeys).await.unwrap()
    }

    fn count(&self, kind: RequestKind) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    }

    async fn stop(self) {
        self.sup.addr.do_send(Shutdown);
        let exit = tokio::time::timeout(Duration::from_secs(20), self.sup.exit)
            .await
            .expect("the tree stops in time");
        assert!(exit.is_ok());
        self.sim.stop().await;
    }
}

#[actix_rt::test]
async fn auto_with_two_watched_addresses_scans_per_address() {
    let h = Harness::start(5, ScanMode::Auto).await;
    let (a, b) = (addr(1), addr(2));
    h.watch(&[a.clone(), b.clone()], 10).await;
    h.poll().await; // cursors at the safe head
    // `auto` measures the logs scan before it decides.
    h.polls(1, 5).await;
    let line = h.status_line();
    assert!(
        line.starts_with("logs") && line.contains("measuring"),
        "{line}"
    );
    assert_eq!(h.count(RequestKind::TokenTx), 0);
    let line = h.until_decided(5).await;
    assert!(line.starts_with("per-address"), "{line}");
    let block = h.sim.head(1) + 1;
    let key = h.inject(&addr(77), &a, units(5), block);
    h.sim.advance(1, 5);
    h.sim.reset_requests();
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert!(
        h.status_line().starts_with("per-address"),
        "{}",
        h.status_line()
    );
    assert_eq!(h.count(RequestKind::TokenTx), 4, "2 addresses × 2 tokens");
    let stored = h.stored().await;
    assert_eq!(stored, vec![(key.0, key.1, units(5).to_string())]);
    h.stop().await;
}

#[actix_rt::test]
async fn auto_with_two_thousand_watched_addresses_scans_logs() {
    let h = Harness::start(5, ScanMode::Auto).await;
    let watched: Vec<Address> = (1..=2_000).map(addr).collect();
    h.watch(&watched, 100_000).await;
    h.poll().await;
    let block = h.sim.head(1) + 1;
    let key = h.inject(&watched[1_999], &addr(5_000), units(3), block);
    h.sim.advance(1, 5);
    h.sim.reset_requests();
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert!(h.status_line().starts_with("logs"), "{}", h.status_line());
    assert_eq!(h.count(RequestKind::TokenTx), 0);
    assert_eq!(h.stored().await, vec![(key.0, key.1, units(3).to_string())]);
    h.stop().await;
}

/// Issue 17's tie: a poll a second, 2 watched addresses, 2 tokens. Both
/// modes make 5 calls a poll (per-address a few more with the look-ups of
/// own transfers: 432 756 against 432 000 calls a day), both fit a plan of
/// 1 000 000 calls a day, but the logs scan moves every Transfer of both
/// tokens. `auto` goes per-address and stays there over many polls — each
/// one a decision (`scan_mode_recheck` of 1 ms) — own transfers and a third
/// address included (then 7 calls a poll against 5: fewer bytes still win).
#[actix_rt::test]
async fn auto_two_address_tie_stays_per_address() {
    let h = Harness::start_with(20, ScanMode::Auto, |c| {
        c.monitor.poll_interval = Duration::from_secs(1);
        c.monitor.scan_mode_recheck = Duration::from_millis(1);
        c.etherscan.daily_limit = 1_000_000;
    })
    .await;
    let (a, b) = (addr(1), addr(2));
    h.watch(&[a.clone(), b.clone()], 10).await;
    h.poll().await;
    // What one logs poll (first pass only, still in the warm-up) served.
    h.sim.reset_requests();
    h.polls(1, 1).await;
    assert!(h.status_line().contains("measuring"));
    let logs_poll = h.sim.served_bytes();
    let line = h.until_decided(1).await;
    assert!(line.starts_with("per-address"), "{line}");
    let mut want = BTreeSet::new();
    let mut per_address_bytes = 0;
    for n in 0..100u64 {
        if n == 70 {
            h.watch(&[addr(3)], 30).await;
        }
        if n % 10 == 5 {
            let block = h.sim.head(1) + 1;
            let (tx, index) = h.inject(&addr(80), &a, units(1 + n), block);
            want.insert((tx, index));
        }
        h.sim.reset_requests();
        h.polls(1, 1).await;
        let line = h.status_line();
        assert!(
            line.starts_with("per-address") && line.contains("bytes"),
            "poll {n}: {line}"
        );
        let addresses = if n < 70 { 2 } else { 3 };
        assert_eq!(h.count(RequestKind::TokenTx), addresses * 2, "poll {n}");
        // No logs scan: getLogs only to look up an own transfer's index.
        assert!(h.count(RequestKind::GetLogs) <= 1, "poll {n}");
        per_address_bytes += h.sim.served_bytes();
    }
    // Far fewer bytes than even one pass of the logs scan.
    assert!(
        per_address_bytes * 4 < logs_poll * 100,
        "{per_address_bytes} bytes in 100 polls, one logs poll {logs_poll}"
    );
    h.polls(3, 1).await;
    let stored: BTreeSet<(String, u64)> = h
        .stored()
        .await
        .into_iter()
        .map(|(t, i, _)| (t, i))
        .collect();
    assert_eq!(stored, want);
    h.stop().await;
}

/// Issue 17's jump: 2 000 addresses watched at once while a chain scans per
/// address. The very next poll scans logs — no per-address poll of 4 000
/// `tokentx` queries is started (at 200 calls a second they would take 20 s
/// of a 15 s interval) — and when the set shrinks back, the next poll scans
/// per address again.
#[actix_rt::test]
async fn auto_two_thousand_address_jump_scans_logs_at_the_next_poll() {
    let h = Harness::start_with(20, ScanMode::Auto, |c| {
        c.etherscan.requests_per_second = 200;
    })
    .await;
    h.watch(&[addr(1), addr(2)], 10).await;
    h.poll().await;
    let line = h.until_decided(2).await;
    assert!(line.starts_with("per-address"), "{line}");
    let many: Vec<Address> = (3..=2_000).map(addr).collect();
    h.watch(&many, 100_000).await;
    let block = h.sim.head(1) + 1;
    let key = h.inject(&addr(90), &addr(2_000), units(4), block);
    h.sim.reset_requests();
    h.polls(1, 3).await;
    let line = h.status_line();
    assert!(
        line.starts_with("logs") && line.contains("rate limit"),
        "{line}"
    );
    assert_eq!(h.count(RequestKind::TokenTx), 0);
    assert_eq!(h.stored().await, vec![(key.0, key.1, units(4).to_string())]);
    // Back to 2 addresses: per-address at the next poll.
    h.unwatch(&many, 100_000).await;
    h.sim.reset_requests();
    h.polls(1, 2).await;
    assert!(
        h.status_line().starts_with("per-address"),
        "{}",
        h.status_line()
    );
    assert_eq!(h.count(RequestKind::TokenTx), 4);
    h.stop().await;
}

/// Issue 17's first poll against a real node: with no address watched,
/// `auto` makes no per-address decision (no `tokentx` call); the first
/// address watched gets one at the next poll.
#[actix_rt::test]
async fn auto_waits_for_a_watched_address() {
    let h = Harness::start(20, ScanMode::Auto).await;
    // The daemon's first poll, nothing watched yet: logs, undecided.
    h.poll().await;
    let line = h.status_line();
    assert!(
        line.starts_with("logs") && line.contains("no watched address"),
        "{line}"
    );
    // 40 blocks: past the deep pass's warm-up (16 blocks on Ethereum) and
    // long enough to measure the logs scan; still no decision to make.
    for _ in 0..20 {
        h.polls(1, 2).await;
        let line = h.status_line();
        assert!(
            line.starts_with("logs") && line.contains("no watched address"),
            "{line}"
        );
    }
    assert_eq!(h.count(RequestKind::TokenTx), 0);
    h.watch(&[addr(1)], 10).await;
    h.sim.reset_requests();
    h.polls(1, 2).await;
    let line = h.status_line();
    assert!(
        line.starts_with("per-address") && line.contains("bytes"),
        "{line}"
    );
    assert_eq!(h.count(RequestKind::TokenTx), 2);
    h.stop().await;
}

/// The logs scan's bytes are measured per chain, not assumed: a token with
/// no traffic costs the logs scan a few empty answers, less than 3 × 2
/// `tokentx` queries, so a quiet chain stays on logs for the same watched
/// set that a busy one scans per address.
#[actix_rt::test]
async fn auto_keeps_a_quiet_chain_on_logs() {
    for (noise, want) in [(0, "logs"), (20, "per-address")] {
        let h = Harness::start(noise, ScanMode::Auto).await;
        h.watch(&[addr(1), addr(2), addr(3)], 10).await;
        h.poll().await;
        h.until_decided(2).await;
        h.polls(10, 2).await;
        let line = h.status_line();
        assert!(line.starts_with(want), "noise {noise}: {line}");
        h.stop().await;
    }
}

#[actix_rt::test]
async fn per_address_calls_per_poll_are_addresses_times_tokens_plus_head() {
    let h = Harness::start(5, ScanMode::PerAddress).await;
    h.watch(&[addr(1), addr(2), addr(3)], 10).await;
    h.poll().await;
    for _ in 0..3 {
        h.sim.advance(1, 4);
        h.sim.reset_requests();
        let summary = h.poll().await;
        assert!(summary.errors().next().is_none(), "{summary:?}");
        assert_eq!(h.count(RequestKind::BlockNumber), 1);
        assert_eq!(h.count(RequestKind::TokenTx), 3 * 2);
        assert_eq!(h.sim.request_count(), 1 + 3 * 2, "{:?}", h.sim.requests());
    }
    h.stop().await;
}

/// Every injected transfer is delivered exactly once across a forced switch
/// each way, while transfers keep arriving (also inside the re-read window
/// that both modes scan again): same cursor, same key.
#[actix_rt::test]
async fn a_switch_each_way_while_transfers_arrive_loses_and_repeats_nothing() {
    let h = Harness::start(3, ScanMode::Auto).await;
    let (a, b) = (addr(1), addr(2));
    h.watch(&[a.clone(), b.clone()], 10).await;
    h.poll().await;
    let mut want: BTreeSet<(String, u64, String)> = BTreeSet::new();
    let mut notifications = 0;
    let plan = [
        Method::PerAddress,
        Method::PerAddress,
        Method::Logs,
        Method::Logs,
        Method::PerAddress,
        Method::Logs,
        Method::PerAddress,
    ];
    for (round, method) in plan.into_iter().enumerate() {
        h.pin(method).await;
        let head = h.sim.head(1);
        let n = round as u64;
        // One into a, one out of b, one from a to b (two chats), one in a
        // block the poll will not reach yet (beyond the safe head).
        for (from, to, amount, block, chats) in [
            (addr(90), a.clone(), units(10 + n), head + 1, 1),
            (b.clone(), addr(91), units(20 + n), head + 2, 1),
            (a.clone(), b.clone(), units(30 + n), head + 3, 2),
            (addr(92), b.clone(), units(40 + n), head + 6, 1),
        ] {
            let (tx, index) = h.inject(&from, &to, amount, block);
            want.insert((tx, index, amount.to_string()));
            notifications += chats;
        }
        h.sim.advance(1, 5);
        let summary = h.poll().await;
        assert!(
            summary.errors().next().is_none(),
            "round {round}: {summary:?}"
        );
        assert!(
            h.status_line().starts_with(method.as_str()),
            "round {round}: {}",
            h.status_line()
        );
    }
    h.sim.advance(1, 10);
    h.poll().await;
    let stored: BTreeSet<_> = h.stored().await.into_iter().collect();
    assert_eq!(stored, want, "every transfer once, keyed as injected");
    assert_eq!(h.shared.db.exec(OutboxRows).await.unwrap(), notifications);
    h.stop().await;
}

/// Several Transfer logs in one transaction are several tokentx rows of one
/// hash; two of them identical in amount. Each is recorded once with its own
/// log index, the one the logs scan stores.
#[actix_rt::test]
async fn tokentx_several_rows_per_tx() {
    let h = Harness::start(3, ScanMode::PerAddress).await;
    let a = addr(1);
    h.watch(std::slice::from_ref(&a), 10).await;
    h.poll().await;
    let block = h.sim.head(1) + 1;
    let t = |from: u32, amount| InjectedTransfer {
        contract: usdt(),
        from: addr(from),
        to: a.clone(),
        amount,
        block: None,
    };
    let keys = h.sim.inject_transfers_in_one_tx(
        1,
        block,
        vec![t(50, units(7)), t(50, units(7)), t(51, units(8))],
    );
    assert!(keys.iter().all(|(tx, _)| *tx == keys[0].0));
    h.sim.advance(1, 5);
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    let stored: BTreeSet<(String, u64)> = h
        .stored()
        .await
        .into_iter()
        .map(|(t, i, _)| (t, i))
        .collect();
    assert_eq!(stored, keys.into_iter().collect());
    // The same block scanned by logs adds nothing.
    h.pin(Method::Logs).await;
    h.sim.advance(1, 1);
    h.poll().await;
    assert_eq!(h.stored().await.len(), 3);
    h.stop().await;
}

/// More than 10 000 rows for one address in one poll: the walk goes on from
/// the last block seen and every transfer is recorded once.
#[actix_rt::test]
async fn tokentx_result_window() {
    let h = Harness::start(0, ScanMode::PerAddress).await;
    let a = addr(1);
    h.watch(std::slice::from_ref(&a), 10).await;
    h.poll().await;
    let first = h.sim.head(1) + 1;
    let mut want = BTreeSet::new();
    for i in 0..10_500u64 {
        let (tx, index) = h.inject(&addr(60), &a, units(1 + i % 7), first + i / 350);
        want.insert((tx, index));
    }
    h.sim.advance(1, 40);
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    let stored: BTreeSet<(String, u64)> = h
        .stored()
        .await
        .into_iter()
        .map(|(t, i, _)| (t, i))
        .collect();
    assert_eq!(stored.len(), 10_500);
    assert_eq!(stored, want);
    let pages = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.kind == RequestKind::TokenTx)
        .map(|r| r.page.unwrap_or(1))
        .max();
    assert!(pages <= Some(10), "never past the 10 000-row window");
    h.stop().await;
}

/// Malformed rows are rejected and counted; the good row next to them is
/// recorded and the cursor moves.
#[actix_rt::test]
async fn tokentx_malformed_rows() {
    let h = Harness::start(0, ScanMode::PerAddress).await;
    let a = addr(1);
    h.watch(std::slice::from_ref(&a), 10).await;
    h.poll().await;
    let block = h.sim.head(1) + 1;
    let good = h.inject(&addr(70), &a, units(9), block);
    let row = |field: &str, value: serde_json::Value| {
        let mut r = serde_json::json!({
            "blockNumber": block.to_string(), "timeStamp": "1700000000",
            "hash": format!("0x{}", "ab".repeat(32)), "from": addr(71).as_str(),
            "contractAddress": usdt().as_str(), "to": a.as_str(), "value": "1000000",
            "tokenDecimal": "6"
        });
        r[field] = value;
        r
    };
    for bad in [
        row("value", "1.5".into()),
        row("blockNumber", format!("0x{block:x}").into()),
        row("tokenDecimal", "18".into()),
        row("hash", "0x1234".into()),
    ] {
        h.sim.inject_raw_tokentx_row(1, block, bad);
    }
    h.sim.advance(1, 5);
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert_eq!(summary.chains[0].rejected, 4);
    assert_eq!(
        h.stored().await,
        vec![(good.0, good.1, units(9).to_string())]
    );
    let safe = h.sim.head(1) - 2;
    assert!(summary.chains[0].cursors.iter().all(|(_, c)| *c == safe));
    h.stop().await;
}

//! The Blockscout fallback in each chain's provider pool, end to end:
//! the real scanner actor under a supervisor with a real SQLite file, its
//! real `awc` clients against the simulated Etherscan and the simulated
//! Blockscout built on the same chain state (so the same transfers are
//! visible on both). Polls are sent directly (no ticker); a poll's answer
//! comes after its result is persisted. Waits poll a condition with a
//! deadline.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rusqlite::Transaction;
use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, ScanMode, Secret, Secrets};
use usdt_monitor::db::budget::GetCalls;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, Chain, TokenSymbol};
use usdt_monitor::etherscan::blockscout::BlockscoutClient;
use usdt_monitor::etherscan::{EtherscanActor, Poll, PollSummary, RetryPolicy};
use usdt_monitor::sim::blockscout::SimBlockscout;
use usdt_monitor::sim::etherscan::{Fault, SimEtherscan, SimEtherscanOptions};
use usdt_monitor::supervisor::{ChildSpec, PanicChild, Restart, Supervisor};

const KEY: &str = "sim-key-fallback";

fn addr(n: u32) -> Address {
    Address::parse(&format!("0xbb{n:038x}")).unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        transient_tries: 2,
        timeout_tries: 2,
        transient_backoff: Duration::from_millis(10),
        rate_limit_tries: 2,
        rate_limit_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
    }
}

/// (tx hash, log index) of every recorded transfer, and the outbox size.
struct Recorded;

impl DbRequest for Recorded {
    type Output = (Vec<(String, i64)>, i64);
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare("SELECT tx_hash, log_index FROM transfers")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let outbox = tx.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        Ok((rows, outbox))
    }
}

struct Harness {
    sim: SimEtherscan,
    blockscout: SimBlockscout,
    shared: Shared,
    sup: usdt_monitor::supervisor::SupervisorHandle,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut Config)) -> Harness {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = SimEtherscan::start(SimEtherscanOptions {
            api_key: KEY.into(),
            chains: vec![1, 137],
            ..SimEtherscanOptions::default()
        })
        .await
        .unwrap();
        let blockscout = SimBlockscout::start(&sim).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.etherscan.base_url = sim.base_url();
        config.etherscan.requests_per_second = 100;
        config.etherscan.request_timeout = Duration::from_secs(3);
        config.etherscan.daily_cap_probe_interval = Duration::from_secs(3600);
        config.blockscout.requests_per_second = 100;
        config.blockscout.failure_threshold = 2;
        config.blockscout.probe_interval = Duration::from_millis(300);
        config
            .blockscout
            .urls
            .insert("ethereum".into(), blockscout.base_url(1));
        config
            .blockscout
            .urls
            .insert("polygon".into(), blockscout.base_url(137));
        config.monitor.chains = vec!["ethereum".into()];
        config.monitor.tokens = vec!["USDT".into(), "USDC".into()];
        config.monitor.poll_interval = Duration::from_secs(3600);
        config.database.path = dir.path().join("monitor.db");
        config.supervisor.fault_injection = true;
        config.supervisor.backoff_min = Duration::from_millis(20);
        config.supervisor.backoff_max = Duration::from_millis(200);
        tweak(&mut config);
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
        let scanner = ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
            EtherscanActor::with_retry(s.etherscan_deps(), guard, fast_retry())
        })
        .restart(Restart::Permanent);
        let sup = Supervisor::start(vec![db, scanner], app::policy(&shared.config));
        Harness {
            sim,
            blockscout,
            shared,
            sup,
            _dir: dir,
        }
    }

    async fn poll(&self) -> PollSummary {
        self.shared.etherscan.call(Poll).await.unwrap().unwrap()
    }

    async fn watch(&self, a: &Address) {
        let sub = AddSubscription {
            chat_id: 77,
            chain_id: 1,
            address: a.clone(),
            label: None,
            limit: 50,
        };
        self.shared.db.exec(sub).await.unwrap();
    }

    /// A transfer to `to` in the next block, and the head moved past it
    /// (and past the confirmations).
    fn pay(&self, to: &Address, cents: u128) -> String {
        let tx = self.sim.transfer(
            1,
            TokenSymbol::Usdt,
            &addr(999),
            to,
            Amount::from_u128(cents),
        );
        self.sim.advance(1, 4);
        tx
    }

    async fn recorded(&self) -> (Vec<(String, i64)>, i64) {
        self.shared.db.exec(Recorded).await.unwrap()
    }

    /// How `/status` describes the chain's provider.
    fn provider(&self) -> String {
        self.provider_of(1)
    }

    /// How `/status` describes chain `chain_id`'s provider.
    fn provider_of(&self, chain_id: u64) -> String {
        let chains = self.shared.health.chains();
        chains
            .iter()
            .find(|(id, _)| *id == chain_id)
            .and_then(|(_, h)| h.provider.clone())
            .unwrap_or_default()
    }

    fn alert_keys(&self) -> Vec<String> {
        let alerts = self.shared.alerts.take_undelivered();
        alerts.into_iter().map(|a| a.key).collect()
    }
}

/// Every transfer paid is recorded exactly once, and notified once.
async fn assert_each_once(h: &Harness, paid: &[String]) {
    let (rows, outbox) = h.recorded().await;
    let hashes: Vec<&String> = rows.iter().map(|(t, _)| t).collect();
    for tx in paid {
        assert_eq!(
            hashes.iter().filter(|h| **h == tx).count(),
            1,
            "{tx} recorded once in {rows:?}"
        );
    }
    let unique: BTreeSet<_> = rows.iter().collect();
    assert_eq!(unique.len(), rows.len(), "no duplicate rows");
    assert_eq!(rows.len(), paid.len(), "{rows:?}");
    assert_eq!(outbox, paid.len() as i64, "one notification per transfer");
}

/// Fault kind: the primary answers 5xx for a while. The chain moves to
/// Blockscout after `failure_threshold` failed polls, transfers made during
/// the switch are each delivered once, and Etherscan takes over again once
/// a probe answers.
#[actix_rt::test]
async fn primary_5xx_switches_to_blockscout_and_back() {
    let h = Harness::start().await;
    let me = addr(1);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    assert_eq!(h.provider(), "Etherscan");
    let mut paid = vec![h.pay(&me, 1_000_000)];
    h.poll().await;
    assert_each_once(&h, &paid).await;

    h.sim.set_fault(Some(Fault::Http500));
    paid.push(h.pay(&me, 2_000_000));
    for _ in 0..2 {
        let s = h.poll().await;
        assert!(s.errors().next().is_some(), "Etherscan fails: {s:?}");
    }
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    assert_eq!(h.alert_keys(), vec!["etherscan:fallback:ethereum"]);
    let before = h.sim.request_count();
    let s = h.poll().await;
    assert_eq!(s.errors().count(), 0, "{s:?}");
    assert!(h.blockscout.request_count() >= 3, "head and both tokens");
    assert_eq!(
        h.sim.request_count(),
        before,
        "no Etherscan call while open"
    );
    assert_each_once(&h, &paid).await;

    // Transfers keep coming while the chain is on Blockscout.
    paid.push(h.pay(&me, 3_000_000));
    h.poll().await;
    assert_each_once(&h, &paid).await;

    // Etherscan recovers: within a probe interval it takes over again.
    h.sim.set_fault(None);
    paid.push(h.pay(&me, 4_000_000));
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.provider() != "Etherscan" {
        assert!(
            Instant::now() < deadline,
            "never switched back: {}",
            h.provider()
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        h.poll().await;
    }
    assert_eq!(h.alert_keys(), vec!["etherscan:fallback:ethereum:closed"]);
    assert!(h.shared.alerts.active_alerts().is_empty());
    let bs = h.blockscout.request_count();
    paid.push(h.pay(&me, 5_000_000));
    h.poll().await;
    assert_eq!(
        h.blockscout.request_count(),
        bs,
        "closed: no Blockscout call"
    );
    assert_each_once(&h, &paid).await;
}

/// Fault kind: the daily cap. The "Max daily rate limit reached" answer
/// pauses Etherscan without burning retries, the chain moves to Blockscout
/// at once, and nothing is lost.
#[actix_rt::test]
async fn daily_cap_moves_the_chain_to_blockscout_without_loss() {
    let h = Harness::start().await;
    let me = addr(2);
    h.watch(&me).await;
    h.poll().await;
    let mut paid = vec![h.pay(&me, 10)];
    h.sim.set_daily_limit(Some(h.sim.daily_used() + 1));
    let s = h.poll().await;
    assert!(s.errors().next().is_some(), "the cap is hit: {s:?}");
    let capped = h.sim.request_count();
    assert!(
        capped <= h.sim.daily_used() as usize + 1 + 4,
        "the cap answer is not retried"
    );
    paid.push(h.pay(&me, 20));
    let s = h.poll().await;
    assert!(s.paused.is_some(), "Etherscan is paused until midnight");
    assert_eq!(s.errors().count(), 0, "{s:?}");
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    assert_eq!(
        h.sim.request_count(),
        capped,
        "no call to a capped Etherscan"
    );
    assert_each_once(&h, &paid).await;
}

/// Blockscout has no paging: a full answer (1000 logs) is asked again from
/// its last block, and every log of the range comes back exactly once.
#[actix_rt::test]
async fn a_full_blockscout_answer_pages_by_block_range() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = SimEtherscan::start(SimEtherscanOptions {
        noise_per_block: 150,
        ..SimEtherscanOptions::default()
    })
    .await
    .unwrap();
    let bs = SimBlockscout::start(&sim).await.unwrap();
    let mut config = Config::default();
    config.blockscout.requests_per_second = 100;
    config
        .blockscout
        .urls
        .insert("ethereum".into(), bs.base_url(1));
    let chain = Chain::by_id(1).unwrap();
    let client = BlockscoutClient::new(
        &config.blockscout,
        &config.etherscan,
        std::slice::from_ref(&chain),
        usdt_monitor::metrics::ProviderHandles::default(),
        fast_retry(),
    );
    let head = client.block_number(&chain).await.unwrap();
    assert_eq!(head, sim.head(1));
    let usdt = &chain.token(TokenSymbol::Usdt).unwrap().contract;
    let logs = client
        .transfer_logs(&chain, usdt, head - 19, head)
        .await
        .unwrap();
    assert_eq!(logs.len(), 20 * 150, "every log of 20 blocks");
    let keys: BTreeSet<String> = logs
        .iter()
        .map(|l| format!("{}/{}", l["transactionHash"], l["logIndex"]))
        .collect();
    assert_eq!(keys.len(), logs.len(), "each once");
    assert!(bs.request_count() >= 4, "3000 logs need at least 3 pages");
}

/// The daily call budget: from 90 % of `etherscan.daily_limit` polls are
/// stretched (skipped, no call) so the rest lasts until midnight UTC; the
/// count is in the database, so a restarted scanner still stretches.
#[actix_rt::test]
async fn call_budget_stretches_polls_and_survives_a_restart() {
    // Logs mode: every poll costs the same 5 calls (head, 2 tokens × 2
    // passes), so the restarted scanner's one poll stays below the limit.
    let h = Harness::start_with(|c| {
        c.etherscan.daily_limit = 100;
        c.monitor.scan_mode = ScanMode::Logs;
    })
    .await;
    let me = addr(3);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    let day = usdt_monitor::scanner::budget::utc_day(std::time::SystemTime::now());
    let stored = || async {
        let rows = h.shared.db.exec(GetCalls { day }).await.unwrap();
        rows.into_iter()
            .find(|(p, _)| p == "Etherscan")
            .map_or(0, |(_, n)| n) as usize
    };
    let mut paid = Vec::new();
    let mut stretched = None;
    for _ in 0..40 {
        paid.push(h.pay(&me, 7));
        let s = h.poll().await;
        if let Some(line) = s.paused {
            stretched = Some(line);
            break;
        }
        assert_eq!(
            stored().await,
            h.sim.request_count(),
            "every call counted, once a poll"
        );
    }
    let line = stretched.expect("polls stretch before the limit");
    assert!(line.contains("stretched"), "{line}");
    let used = h.sim.request_count();
    assert!((90..100).contains(&used), "{used} calls");
    let status = h.shared.health.calls_today().unwrap();
    assert!(
        status.contains(&format!("Etherscan {used} of 100")),
        "{status}"
    );
    // The transfer paid while stretched waits for the next allowed poll.
    assert_each_once(&h, &paid[..paid.len() - 1]).await;

    h.sup
        .addr
        .send(PanicChild("etherscan".into()))
        .await
        .unwrap()
        .expect("fault injection is on");
    // The restarted scanner's first poll runs (it knows no last poll)...
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        match h.shared.etherscan.call(Poll).await {
            Ok(Ok(s)) => break s,
            _ => {
                assert!(Instant::now() < deadline, "the scanner restarts");
                actix_rt::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(first.paused.is_none(), "{first:?}");
    assert_each_once(&h, &paid).await;
    // ...and the next one is stretched again: the count came from the database.
    let s = h.poll().await;
    assert!(s.paused.is_some_and(|l| l.contains("stretched")));
    assert_eq!(stored().await, h.sim.request_count());
}

/// At `etherscan.daily_limit` Etherscan is paused until midnight UTC (no
/// probe spends the budget) and the chain moves to Blockscout at once;
/// nothing is lost.
#[actix_rt::test]
async fn call_budget_spent_moves_the_chain_to_blockscout() {
    let h = Harness::start_with(|c| c.etherscan.daily_limit = 3).await;
    let me = addr(4);
    h.watch(&me).await;
    h.poll().await; // 1 call: the head (cursors start there)
    let mut paid = vec![h.pay(&me, 1)];
    h.poll().await; // below the limit before it: runs, and spends it
    let spent = h.sim.request_count();
    assert!(spent >= 3, "{spent} calls");
    paid.push(h.pay(&me, 2));
    let s = h.poll().await;
    assert!(s.paused.is_some(), "Etherscan paused: {s:?}");
    assert_eq!(s.errors().count(), 0, "{s:?}");
    assert_eq!(
        h.sim.request_count(),
        spent,
        "no Etherscan call past the budget"
    );
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    let keys = h.alert_keys();
    assert!(
        keys.contains(&"etherscan:daily-cap".to_string()),
        "{keys:?}"
    );
    assert_each_once(&h, &paid).await;
}

/// Fault kind: a rate limit (HTTP 429 past its retries) in one poll. The
/// later chains of that poll use Blockscout (the key's limit is account
/// wide), but one poll is below the threshold: the pool does not leave
/// Etherscan, the admins get no "moved" alert, and the next poll is on
/// Etherscan again. (A lasting one moves the chain:
/// `a_lasting_failure_of_any_kind_moves_the_chain_to_blockscout`.)
#[actix_rt::test]
async fn rate_limit_on_one_chain_opens_no_breaker() {
    let h = Harness::start_with(|c| {
        c.monitor.chains = vec!["ethereum".into(), "polygon".into()];
        c.blockscout.probe_interval = Duration::from_secs(3600);
    })
    .await;
    h.poll().await; // cursors start at the safe heads
    let _ = h.alert_keys();
    h.sim.set_fault(Some(Fault::Http429));
    let s = h.poll().await;
    assert!(s.errors().next().is_some(), "Etherscan refuses: {s:?}");
    h.sim.set_fault(None);
    assert_eq!(h.provider_of(137), "Etherscan");
    let keys = h.alert_keys();
    assert!(
        !keys.iter().any(|k| k.starts_with("etherscan:fallback")),
        "{keys:?}"
    );
    let bs = h.blockscout.request_count();
    let s = h.poll().await;
    assert_eq!(s.errors().count(), 0, "{s:?}");
    assert_eq!(
        h.blockscout.request_count(),
        bs,
        "both chains back on Etherscan"
    );
}

/// Fault kind: a probe refused for the same reason Etherscan was paused
/// (here the key). The probe is no correct answer: the chain stays on
/// Blockscout, and the admins get no "Etherscan answers again" notice
/// followed by a new "moved to Blockscout" at every probe.
#[actix_rt::test]
async fn refused_probe_keeps_the_circuit_open() {
    let h = Harness::start_with(|c| {
        c.etherscan.invalid_key_probe_interval = Duration::from_millis(200);
    })
    .await;
    let me = addr(5);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    h.sim.set_fault(Some(Fault::InvalidKey));
    let mut paid = vec![h.pay(&me, 11)];
    h.poll().await; // the key is refused: Etherscan pauses
    h.poll().await;
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    let _ = h.alert_keys();
    // Poll until the paused Etherscan has been probed (and refused) twice.
    let before = h.sim.request_count();
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.sim.request_count() < before + 2 {
        assert!(Instant::now() < deadline, "Etherscan is never probed");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        paid.push(h.pay(&me, 12 + paid.len() as u128));
        h.poll().await;
    }
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    let keys = h.alert_keys();
    assert!(
        !keys.iter().any(|k| k.starts_with("etherscan:fallback")),
        "no switch back and forth: {keys:?}"
    );
    h.poll().await;
    assert_each_once(&h, &paid).await;
}

/// Regression (issue 17 review), fault kinds: a failure that outlasts the
/// retries and is no 5xx (a rate limit as HTTP 429 or as NOTOK "Max calls
/// per sec", a head answer with no number or an error object, a head
/// behind the cursor) stopped the chain silently: over 40 s no transfer, no
/// Blockscout call, no alert, and `/status` said "Etherscan: serving". A
/// poll the source did not serve counts against it whatever the kind: at
/// the threshold the chain moves to Blockscout, the admins are told once,
/// nothing is lost, and Etherscan serves again once it answers.
#[actix_rt::test]
async fn a_lasting_failure_of_any_kind_moves_the_chain_to_blockscout() {
    for fault in [
        Fault::Http429,
        Fault::RateLimitStorm,
        Fault::EmptyHead,
        Fault::ErrorHead,
        Fault::HeadBehind(50),
    ] {
        let h = Harness::start().await;
        let me = addr(7);
        h.watch(&me).await;
        h.poll().await; // cursors start at the safe head
        let _ = h.alert_keys();
        h.sim.set_fault(Some(fault.clone()));
        let mut paid = vec![h.pay(&me, 71)];
        let bs = h.blockscout.request_count();
        for _ in 0..3 {
            h.poll().await;
        }
        assert!(
            h.provider().starts_with("Blockscout (Etherscan: "),
            "{fault:?}: {}",
            h.provider()
        );
        assert!(h.blockscout.request_count() > bs, "{fault:?}");
        let keys = h.alert_keys();
        let moved = "etherscan:fallback:ethereum";
        assert_eq!(
            keys.iter().filter(|k| *k == moved).count(),
            1,
            "{fault:?}: {keys:?}"
        );
        assert_eq!(h.recorded().await.0.len(), 1, "{fault:?}: via Blockscout");

        h.sim.set_fault(None);
        paid.push(h.pay(&me, 72));
        // Etherscan is probed every 300 ms and serves again when it answers.
        let deadline = Instant::now() + Duration::from_secs(20);
        while h.provider() != "Etherscan" || h.recorded().await.0.len() < paid.len() {
            assert!(Instant::now() < deadline, "{fault:?}: {}", h.provider());
            actix_rt::time::sleep(Duration::from_millis(50)).await;
            h.poll().await;
        }
        assert_each_once(&h, &paid).await;
        let closed = format!("{moved}:closed");
        assert!(h.alert_keys().contains(&closed), "{fault:?}");
        assert!(h.shared.alerts.active_alerts().is_empty(), "{fault:?}");
    }
}

/// Regression (issue 17 review): a chain whose only source keeps failing
/// (no Blockscout instance) went on without a word: `/status` said
/// "Etherscan: serving" and the admins heard nothing. Its pool of one says
/// "no working source" and tells the admins once; when Etherscan answers
/// again they hear it once, and nothing is lost.
#[actix_rt::test]
async fn a_chain_without_a_fallback_whose_source_keeps_failing_tells_the_admins() {
    let h = Harness::start_with(|c| {
        c.blockscout.urls.insert("ethereum".into(), String::new());
    })
    .await;
    let me = addr(8);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    assert_eq!(h.provider(), "Etherscan");
    let _ = h.alert_keys();
    let mut alerts = Vec::new();
    h.sim.set_fault(Some(Fault::Http429));
    let mut paid = vec![h.pay(&me, 81)];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !h.provider().starts_with("no working source (Etherscan: ") {
        assert!(Instant::now() < deadline, "{}", h.provider());
        h.poll().await;
        alerts.extend(h.alert_keys());
    }
    for _ in 0..5 {
        actix_rt::time::sleep(Duration::from_millis(100)).await;
        h.poll().await;
        alerts.extend(h.alert_keys());
    }
    let down = "pool:ethereum:no-source".to_string();
    assert_eq!(
        alerts.iter().filter(|k| **k == down).count(),
        1,
        "{alerts:?}"
    );
    assert_eq!(h.blockscout.request_count(), 0, "no fallback was asked");

    h.sim.set_fault(None);
    paid.push(h.pay(&me, 82));
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.recorded().await.0.len() < paid.len() {
        assert!(Instant::now() < deadline, "{}", h.provider());
        actix_rt::time::sleep(Duration::from_millis(100)).await;
        h.poll().await;
        alerts.extend(h.alert_keys());
    }
    assert_each_once(&h, &paid).await;
    assert_eq!(h.provider(), "Etherscan");
    let again = format!("{down}:again");
    assert_eq!(
        alerts.iter().filter(|k| **k == again).count(),
        1,
        "{alerts:?}"
    );
    assert!(h.shared.alerts.active_alerts().is_empty());
}

/// Regression (issue 17 review), fault kind: the fallback's host accepts
/// connections and never answers (a blackholed port), so each of its calls
/// costs a whole timeout. Before, a fallback that had failed fewer than
/// `failure_threshold` polls still counted as serving: Etherscan, which had
/// recovered, was asked again only after Blockscout's three polls of three
/// timed-out tries each (here over 18 s; with the default 15 s timeout,
/// minutes). Now a fallback waits for one timeout per poll, and once the
/// source serving fails a poll, the ones left before it are retried after
/// their short backoff: the transfer made after Etherscan's recovery is
/// recorded within a few seconds (deadline 10 s; probe interval 60 s).
#[actix_rt::test]
async fn a_fallback_that_never_answers_does_not_hold_back_the_recovered_first() {
    const TICK: Duration = Duration::from_millis(200);
    // Connections complete in the listen backlog; nothing ever answers.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/api", blackhole.local_addr().unwrap());
    let h = Harness::start_with(|c| {
        c.blockscout.urls.insert("ethereum".into(), dead.clone());
        c.blockscout.failure_threshold = 3;
        c.blockscout.probe_interval = Duration::from_secs(60);
        c.etherscan.request_timeout = Duration::from_secs(2);
    })
    .await;
    let me = addr(9);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    h.sim.set_fault(Some(Fault::Http500));
    let mut paid = vec![h.pay(&me, 91)];
    for _ in 0..3 {
        h.poll().await;
    }
    assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
    let waited = Instant::now();
    let s = h.poll().await; // on Blockscout: one timeout
    assert!(s.errors().next().is_some(), "{s:?}");
    eprintln!(
        "one poll of the blackholed fallback: {:?}",
        waited.elapsed()
    );

    h.sim.set_fault(None);
    paid.push(h.pay(&me, 92));
    let recovered = Instant::now();
    let deadline = recovered + Duration::from_secs(10);
    while h.recorded().await.0.len() < paid.len() {
        assert!(
            Instant::now() < deadline,
            "Etherscan answers, yet the chain waits: {}",
            h.provider()
        );
        actix_rt::time::sleep(TICK).await;
        h.poll().await;
    }
    eprintln!(
        "recorded {:?} after Etherscan answered again",
        recovered.elapsed()
    );
    assert_each_once(&h, &paid).await;
    assert_eq!(h.provider(), "Etherscan");
    drop(blackhole);
}

/// The `/metrics` text of this harness (no supervisor tree, no database
/// figures: the scanner's part only).
fn exposition(h: &Harness) -> String {
    usdt_monitor::http::exposition::render(&usdt_monitor::http::exposition::Scrape {
        instruments: &h.shared.instruments,
        counters: &h.shared.counters,
        pauses: h.shared.pauses.pauses(),
        chains: h.shared.health.chains(),
        tree: None,
        db: None,
        sinks: &[],
    })
    .unwrap()
}

/// Regression (issue 17), fault kind: Etherscan answers 500 for ~10 s while
/// the Blockscout fallback is unreachable (nothing listens on its port). The
/// chain's pool leaves Etherscan, then Blockscout; with every source failing
/// none waits for a probe (here the default minute): each is retried after
/// its own short backoff. So once Etherscan answers again, a transfer made
/// after its recovery is recorded within seconds (the deadline, 20 s, is far
/// below the probe interval the old breaker waited), and the admins are told
/// once that the chain has no working source and once that it has one again.
/// Polls come every 200 ms, as from the ticker.
#[actix_rt::test]
async fn every_source_failing_recovers_at_the_first_correct_answer() {
    const TICK: Duration = Duration::from_millis(200);
    let dead = format!(
        "http://{}/api",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    let h = Harness::start_with(|c| {
        c.blockscout.urls.insert("ethereum".into(), dead.clone());
        c.blockscout.failure_threshold = 3;
        c.blockscout.probe_interval = Duration::from_secs(60);
    })
    .await;
    let me = addr(6);
    h.watch(&me).await;
    h.poll().await; // cursors start at the safe head
    let _ = h.alert_keys();
    let mut alerts = Vec::new();

    h.sim.set_fault(Some(Fault::Http500));
    let mut paid = vec![h.pay(&me, 61)];
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(10) {
        h.poll().await;
        alerts.extend(h.alert_keys());
        actix_rt::time::sleep(TICK).await;
    }
    assert!(
        h.provider().starts_with("no working source"),
        "{}",
        h.provider()
    );
    let down = "pool:ethereum:no-source".to_string();
    assert_eq!(
        alerts.iter().filter(|k| **k == down).count(),
        1,
        "{alerts:?}"
    );
    assert!(
        h.shared
            .alerts
            .active_alerts()
            .iter()
            .any(|a| a.key == down)
    );
    let text = exposition(&h);
    for source in ["etherscan", "blockscout"] {
        let serving =
            format!("usdt_monitor_source_serving{{chain=\"ethereum\",source=\"{source}\"}} 0");
        assert!(text.contains(&serving), "{text}");
    }

    // Etherscan answers again: the next poll that tries it (after a backoff
    // of at most a few seconds) records what was missed and what comes.
    h.sim.set_fault(None);
    paid.push(h.pay(&me, 62));
    let recovered = Instant::now();
    let deadline = recovered + Duration::from_secs(20);
    while h.recorded().await.0.len() < paid.len() {
        assert!(
            Instant::now() < deadline,
            "not recovered: {}; recorded {:?}",
            h.provider(),
            h.recorded().await
        );
        actix_rt::time::sleep(TICK).await;
        h.poll().await;
        alerts.extend(h.alert_keys());
    }
    eprintln!(
        "recorded {:?} after Etherscan answered again",
        recovered.elapsed()
    );
    assert_each_once(&h, &paid).await;
    assert_eq!(h.provider(), "Etherscan");
    for _ in 0..3 {
        h.poll().await;
        alerts.extend(h.alert_keys());
    }
    let again = format!("{down}:again");
    assert_eq!(
        alerts.iter().filter(|k| **k == down).count(),
        1,
        "{alerts:?}"
    );
    assert_eq!(
        alerts.iter().filter(|k| **k == again).count(),
        1,
        "{alerts:?}"
    );
    assert!(
        h.shared.alerts.active_alerts().is_empty(),
        "{:?}",
        h.shared.alerts.active_alerts()
    );

    // `/status` and `/metrics` show each source of the chain.
    let chains = h.shared.health.chains();
    let sources = &chains.iter().find(|(id, _)| *id == 1).unwrap().1.sources;
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Etherscan", "Blockscout"]);
    assert!(sources[0].serving && sources[0].state == "serving");
    assert!(!sources[1].serving);
    assert!(sources[0].errors_today > 0 && sources[1].errors_today > 0);
    assert!(
        sources[1].line().contains("errors"),
        "{}",
        sources[1].line()
    );
    let text = exposition(&h);
    assert!(
        text.contains("usdt_monitor_source_serving{chain=\"ethereum\",source=\"etherscan\"} 1"),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "usdt_monitor_source_errors_total{chain=\"ethereum\",source=\"blockscout\"}"
        ) > 0.0,
        "{text}"
    );
}

/// The value of one sample of an exposition (0 when absent).
fn sample(text: &str, key: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The alerts taken so far: (key, text).
fn alerts(h: &Harness) -> Vec<(String, String)> {
    let taken = h.shared.alerts.take_undelivered();
    taken.into_iter().map(|a| (a.key, a.text)).collect()
}

/// Regression (issue 17 break test): a chain the key's plan does not
/// cover ("Free API access is not supported for this chain"), with no
/// fallback. Etherscan tells the admins itself ("That chain is not
/// scanned"); the pool of one added "no working source … retried every few
/// seconds" for the same cause. Now the admins get the one alert.
#[actix_rt::test]
async fn a_chain_the_plan_refuses_is_told_once() {
    let h = Harness::start_with(|c| {
        c.blockscout.urls.insert("ethereum".into(), String::new());
    })
    .await;
    h.poll().await;
    let _ = alerts(&h);
    h.sim.set_fault(Some(Fault::PaidChain(1)));
    let mut got = Vec::new();
    // Past the threshold of three, each poll after the pool's backoff.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !h.provider().starts_with("no working source") {
        assert!(Instant::now() < deadline, "{}", h.provider());
        h.poll().await;
        got.extend(alerts(&h));
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        h.poll().await;
        got.extend(alerts(&h));
    }
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["etherscan:unsupported-chain:ethereum"], "{got:#?}");
}

/// Regression (issue 17 break test): Etherscan paused by the daily cap
/// (or a rejected key) on a chain with a fallback. The "moved to
/// Blockscout" alert promised a probe "every 300ms" (the pool's interval)
/// while the pause probes at its own time (here an hour away). Now it names
/// the pause's probe time.
#[actix_rt::test]
async fn a_paused_first_source_left_is_said_to_be_probed_when_its_pause_ends() {
    for fault in [Fault::DailyCap, Fault::InvalidKey] {
        let h = Harness::start().await;
        h.poll().await;
        let _ = alerts(&h);
        h.sim.set_fault(Some(fault.clone()));
        let mut got = Vec::new();
        for _ in 0..4 {
            h.poll().await;
            got.extend(alerts(&h));
        }
        assert!(h.provider().starts_with("Blockscout"), "{}", h.provider());
        let moved: Vec<_> = got
            .iter()
            .filter(|(k, _)| k == "etherscan:fallback:ethereum")
            .collect();
        assert_eq!(moved.len(), 1, "{fault:?}: {got:#?}");
        let text = &moved[0].1;
        assert!(text.contains("Etherscan is paused"), "{text}");
        assert!(text.contains("is probed at"), "{text}");
        assert!(!text.contains("every"), "{text}");
    }
}

/// Regression (issue 17 break test): Etherscan's host accepts connections
/// and never answers while Blockscout serves. Each probe of Etherscan used
/// the primary's patience (a try per `timeout_tries`, each a whole
/// timeout: 3 × 15 s with the defaults, every probe interval, holding the
/// scanner). Now a probe waits for one timeout.
#[actix_rt::test]
async fn a_probe_of_a_blackholed_first_source_costs_one_timeout() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Accepts and counts every connection; never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    let h = Harness::start_with(|c| {
        c.etherscan.base_url = dead;
        c.etherscan.request_timeout = Duration::from_millis(500);
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !h.provider().starts_with("Blockscout") {
        assert!(Instant::now() < deadline, "{}", h.provider());
        h.poll().await;
    }
    // Polls until one of them probed Etherscan (the probe interval is
    // 300 ms): it made one connection, not one per timeout try.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let before = accepted.load(Ordering::SeqCst);
        h.poll().await;
        let tries = accepted.load(Ordering::SeqCst) - before;
        if tries > 0 {
            assert_eq!(tries, 1, "a probe waits for one timeout");
            break;
        }
        assert!(Instant::now() < deadline, "no probe of Etherscan");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

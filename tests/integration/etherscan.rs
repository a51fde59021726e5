//! The scanner against the simulated Etherscan, through the real `awc`
//! client, a real supervisor tree (db + etherscan) and a real SQLite file.
//!
//! Polls are sent directly through the supervisor's `ChildRef` (no ticker),
//! and a poll's answer comes after its result is persisted, so assertions
//! read the database right after it. Waits for asynchronous things (a
//! restart) poll a condition with a generous deadline.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::Transaction;
use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, ScanMode, Secret, Secrets};
use usdt_monitor::db::cursors::{Cursors, GetCursors};
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::chain::TRANSFER_TOPIC;
use usdt_monitor::domain::{Address, Amount, Chain, TokenSymbol};
use usdt_monitor::etherscan::{
    ApiError, EtherscanActor, Poll, PollSummary, RetryPolicy, ScanError,
};
use usdt_monitor::metrics::Counters;
use usdt_monitor::sim::etherscan::{
    Fault, InjectedTransfer, RequestKind, SimEtherscan, SimEtherscanOptions,
    max_requests_in_any_window,
};
use usdt_monitor::supervisor::{
    ChildSpec, ChildState, GetStatus, PanicChild, Restart, Shutdown, Supervisor, SupervisorHandle,
};

/// A key that must never show up in a log line.
const KEY: &str = "K3Y-d0-n0t-l0g-9f2c7e";

// ---------------------------------------------------------------- logging

/// Everything every test of this binary logs, at debug level.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        // Also installs the `log` bridge, so that actix and awc records are
        // captured too.
        let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber);
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

// ---------------------------------------------------------------- harness

fn addr(n: u32) -> Address {
    Address::parse(&format!("0xaa{n:038x}")).unwrap()
}

fn token(symbol: TokenSymbol) -> Address {
    Chain::by_id(1)
        .unwrap()
        .token(symbol)
        .unwrap()
        .contract
        .clone()
}

fn usdt() -> Address {
    token(TokenSymbol::Usdt)
}

fn usdc() -> Address {
    token(TokenSymbol::Usdc)
}

/// Short backoffs, so that fault tests stay fast.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        transient_tries: 3,
        timeout_tries: 3,
        transient_backoff: Duration::from_millis(20),
        rate_limit_tries: 3,
        rate_limit_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

static NEXT_CHAT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);

struct Harness {
    sim: SimEtherscan,
    shared: Shared,
    sup: SupervisorHandle,
    _dir: tempfile::TempDir,
}

/// One transfer put on the simulated chain.
#[derive(Debug, Clone)]
struct Injected {
    contract: Address,
    tx_hash: String,
    log_index: u64,
    block: u64,
    amount: Amount,
}

/// A row of the transfers table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    tx_hash: String,
    log_index: u64,
    block: u64,
    token: String,
    from: String,
    to: String,
    amount: String,
}

struct AllTransfers;

impl DbRequest for AllTransfers {
    type Output = Vec<Row>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<Row>, DbError> {
        let mut stmt = tx.prepare(
            "SELECT tx_hash, log_index, block, token, from_addr, to_addr, amount FROM transfers",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Row {
                tx_hash: r.get(0)?,
                log_index: r.get::<_, i64>(1)? as u64,
                block: r.get::<_, i64>(2)? as u64,
                token: r.get(3)?,
                from: r.get(4)?,
                to: r.get(5)?,
                amount: r.get(6)?,
            })
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

/// Moves every cursor back (the daemon never does; a test of idempotency does).
struct RewindCursors(u64);

impl DbRequest for RewindCursors {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        Ok(tx.execute("UPDATE cursors SET block = ?1", [self.0 as i64])?)
    }
}

/// Many subscriptions in one transaction.
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

impl Harness {
    async fn start(opts: SimEtherscanOptions, tweak: impl FnOnce(&mut Config)) -> Harness {
        Self::start_with(opts, fast_retry(), tweak).await
    }

    async fn start_with(
        opts: SimEtherscanOptions,
        retry: RetryPolicy,
        tweak: impl FnOnce(&mut Config),
    ) -> Harness {
        captured();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = SimEtherscan::start(SimEtherscanOptions {
            api_key: KEY.into(),
            ..opts
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.etherscan.base_url = sim.base_url();
        config.etherscan.requests_per_second = 100;
        config.etherscan.request_timeout = Duration::from_secs(3);
        // No fallback here (tests/fallback.rs has it): Etherscan's faults as
        // they are, and never a public Blockscout instance.
        config.blockscout.enabled = false;
        config.monitor.chains = vec!["ethereum".into()];
        config.monitor.tokens = vec!["USDT".into(), "USDC".into()];
        config.monitor.confirmations = 2;
        config.monitor.poll_interval = Duration::from_secs(3600);
        // The whole-contract scan (scan modes: tests/scan_mode.rs).
        config.monitor.scan_mode = ScanMode::Logs;
        config.database.path = dir.path().join("monitor.db");
        config.supervisor.backoff_min = Duration::from_millis(20);
        config.supervisor.backoff_max = Duration::from_millis(200);
        config.supervisor.shutdown_timeout = Duration::from_secs(10);
        tweak(&mut config);
        let secrets = Secrets {
            telegram_token: Secret::new("unused"),
            etherscan_key: Some(Secret::new(KEY)),
            tron_key: None,
        };
        let shared = Shared::new(config, secrets).unwrap();
        usdt_monitor::db::connection::prepare(&shared.db_settings()).unwrap();

        // db from the app's own specs; etherscan as the app builds it, with
        // short retry backoffs.
        let db = app::child_specs(&shared)
            .into_iter()
            .find(|s| s.name == "db")
            .unwrap();
        let s = shared.clone();
        let etherscan = ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
            EtherscanActor::with_retry(s.etherscan_deps(), guard, retry)
        })
        .restart(Restart::Permanent)
        .shutdown_timeout(shared.config.supervisor.shutdown_timeout);
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

    async fn watch(&self, addresses: &[Address]) {
        let subs = addresses
            .iter()
            .map(|a| AddSubscription {
                // One chat per address: no chat reaches its limit.
                chat_id: NEXT_CHAT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                chain_id: 1,
                address: a.clone(),
                label: None,
                limit: 50,
            })
            .collect();
        self.shared.db.exec(Subscribe(subs)).await.unwrap();
    }

    async fn transfers(&self) -> Vec<Row> {
        self.shared.db.exec(AllTransfers).await.unwrap()
    }

    async fn cursors(&self) -> Cursors {
        self.shared.db.exec(GetCursors).await.unwrap()
    }

    fn head(&self) -> u64 {
        self.sim.head(1)
    }

    fn inject(
        &self,
        contract: &Address,
        from: &Address,
        to: &Address,
        amount: Amount,
        block: u64,
    ) -> Injected {
        let (tx_hash, log_index) = self.sim.inject_transfer(
            1,
            InjectedTransfer {
                contract: contract.clone(),
                from: from.clone(),
                to: to.clone(),
                amount,
                block: Some(block),
            },
        );
        Injected {
            contract: contract.clone(),
            tx_hash,
            log_index,
            block,
            amount,
        }
    }

    /// The stored cursor never passed a block with an unrecorded transfer.
    async fn assert_cursor_never_passed_unrecorded(&self, injected: &[Injected]) {
        let cursors = self.cursors().await;
        let rows = self.transfers().await;
        for i in injected {
            let cursor = cursors.get(&(1, i.contract.clone())).copied().unwrap_or(0);
            if i.block <= cursor {
                assert!(
                    rows.iter()
                        .any(|r| r.tx_hash == i.tx_hash && r.log_index == i.log_index),
                    "cursor {cursor} passed block {} but its transfer is not recorded",
                    i.block
                );
            }
        }
    }

    /// Every injected transfer is recorded exactly once, with its exact
    /// amount, and nothing else is.
    async fn assert_recorded_exactly(&self, injected: &[Injected]) {
        let rows = self.transfers().await;
        let keys: BTreeSet<(String, u64)> = rows
            .iter()
            .map(|r| (r.tx_hash.clone(), r.log_index))
            .collect();
        assert_eq!(keys.len(), rows.len(), "no duplicates");
        assert_eq!(rows.len(), injected.len(), "rows: {rows:#?}");
        for i in injected {
            let row = rows
                .iter()
                .find(|r| r.tx_hash == i.tx_hash && r.log_index == i.log_index)
                .unwrap_or_else(|| panic!("{i:?} not recorded"));
            assert_eq!(row.amount, i.amount.to_string());
            assert_eq!(row.block, i.block);
            assert_eq!(row.token, i.contract.as_str());
        }
    }

    /// Polls until every token's cursor reached the safe head.
    async fn poll_until_caught_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let summary = self.poll().await;
            let safe = self.head() - self.shared.config.monitor.confirmations;
            let cursors = self.cursors().await;
            if summary.errors().next().is_none()
                && [usdt(), usdc()]
                    .iter()
                    .all(|t| cursors.get(&(1, t.clone())) == Some(&safe))
            {
                return;
            }
            assert!(Instant::now() < deadline, "not caught up: {summary:?}");
        }
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

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn get_logs(sim: &SimEtherscan) -> Vec<usdt_monitor::sim::etherscan::RequestRecord> {
    sim.requests()
        .into_iter()
        .filter(|r| r.kind == RequestKind::GetLogs)
        .collect()
}

// ---------------------------------------------------------------- tests

#[actix_rt::test]
async fn watched_transfers_are_recorded_once_with_exact_amounts_and_fakes_are_not() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 5,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let (w1, w2, other) = (addr(1), addr(2), addr(99));
    h.watch(&[w1.clone(), w2.clone()]).await;

    // First poll: cursors start at the safe head, nothing is backfilled.
    let first = h.poll().await;
    let safe0 = h.head() - 2;
    assert_eq!(first.calls(), 1, "only the head call: {first:?}");
    let cursors = h.cursors().await;
    assert_eq!(cursors.get(&(1, usdt())), Some(&safe0));
    assert_eq!(cursors.get(&(1, usdc())), Some(&safe0));

    let b = h.head() + 1;
    // Larger than u128: stored exactly, not truncated.
    let huge = Amount::from_dec("340282366920938463463374607431768211457123").unwrap();
    let incoming = h.inject(&usdt(), &other, &w1, huge, b);
    let outgoing = h.inject(&usdc(), &w2, &other, Amount::from_u128(1), b + 1);
    // A token calling itself USDT from another contract.
    let fake = Address::parse("0x1111111111111111111111111111111111111111").unwrap();
    h.inject(&fake, &other, &w1, Amount::from_u128(5_000_000), b);
    // ERC-721 shape on the USDT contract: 4 topics.
    let pad = |a: &Address| format!("0x{:0>64}", a.hex());
    h.sim.inject_raw_log(
        1,
        b,
        &usdt(),
        vec![
            TRANSFER_TOPIC.into(),
            pad(&other),
            pad(&w1),
            format!("0x{:064x}", 42),
        ],
        "0x".into(),
    );
    // Between unwatched addresses.
    h.inject(&usdt(), &other, &addr(100), Amount::from_u128(7), b);
    h.sim.advance(1, 4);

    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert_eq!(summary.new_transfers(), 2);
    h.assert_recorded_exactly(&[incoming.clone(), outgoing.clone()])
        .await;
    let rows = h.transfers().await;
    let row = rows.iter().find(|r| r.tx_hash == incoming.tx_hash).unwrap();
    assert_eq!(row.amount, "340282366920938463463374607431768211457123");
    assert_eq!(
        (row.from.as_str(), row.to.as_str()),
        (other.as_str(), w1.as_str())
    );
    assert!(h.shared.db.exec(OutboxRows).await.unwrap() >= 2);
    // The bot was told that the outbox has work.
    tokio::time::timeout(Duration::from_secs(1), h.shared.outbox_ready.notified())
        .await
        .expect("outbox_ready notified");

    // Re-scanning the same blocks records nothing new.
    h.shared.db.exec(RewindCursors(safe0)).await.unwrap();
    let again = h.poll().await;
    assert_eq!(again.new_transfers(), 0);
    assert!(
        again.chains[0].matched >= 2,
        "the same transfers were matched again"
    );
    h.assert_recorded_exactly(&[incoming, outgoing]).await;

    // Health and counters.
    let health = h.shared.health.chains();
    let (_, eth) = health.iter().find(|(id, _)| *id == 1).unwrap();
    assert_eq!(eth.head, Some(h.head()));
    assert_eq!(eth.cursor, Some(h.head() - 2));
    assert!(eth.last_ok_poll.is_some() && eth.last_error.is_none());
    let c = &h.shared.counters;
    assert_eq!(Counters::get(&c.polls), 3);
    assert_eq!(
        Counters::get(&c.etherscan_calls),
        h.sim.request_count() as u64
    );
    h.stop().await;
}

#[actix_rt::test]
async fn paginates_past_1000_logs_and_splits_ranges_on_query_timeout() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 250,
            query_timeout_above: Some(8),
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let w = addr(7);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let b = h.head() + 1;
    let injected = vec![
        h.inject(&usdt(), &w, &addr(50), Amount::from_u128(1), b),
        h.inject(&usdt(), &addr(51), &w, Amount::from_u128(2), b + 9),
        // The last log of the last block: on the second page of its range.
        h.inject(&usdt(), &addr(52), &w, Amount::from_u128(3), b + 19),
        h.inject(&usdc(), &addr(53), &w, Amount::from_u128(4), b + 12),
    ];
    let cursor0 = h.head() - 2;
    // The last injected block becomes safe (2 confirmations).
    h.sim.advance(1, 22);
    let blocks = (h.head() - 2 - cursor0) as usize;
    h.sim.reset_requests();

    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    h.assert_recorded_exactly(&injected).await;
    assert_eq!(summary.chains[0].logs, 2 * blocks * 250 + injected.len());

    let logs = get_logs(&h.sim);
    let width = |r: &usdt_monitor::sim::etherscan::RequestRecord| {
        r.to_block.unwrap() - r.from_block.unwrap() + 1
    };
    assert!(
        logs.iter().any(|r| width(r) > 8 && r.outcome == "error"),
        "a wide range got a Query Timeout"
    );
    assert!(
        logs.iter()
            .filter(|r| r.outcome == "ok")
            .all(|r| width(r) <= 8)
    );
    assert!(
        logs.iter().any(|r| r.page == Some(2) && r.outcome == "ok"),
        "paginated"
    );
    assert!(logs.iter().all(|r| r.page.unwrap_or(1) * 1000 <= 10_000));
    h.stop().await;
}

#[actix_rt::test]
async fn outages_lose_nothing_and_double_nothing() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 50,
            query_timeout_above: Some(4),
            ..Default::default()
        },
        |c| c.etherscan.request_timeout = Duration::from_millis(300),
    )
    .await;
    let w = addr(3);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let mut injected = Vec::new();
    let faults = [
        Fault::Http500,
        Fault::RateLimitStorm,
        Fault::Http429,
        Fault::Slow(Duration::from_millis(700)),
        Fault::MalformedJson,
    ];
    for (n, fault) in faults.into_iter().enumerate() {
        let b = h.head() + 1;
        for k in 0..3u64 {
            let contract = if k % 2 == 0 { usdt() } else { usdc() };
            let amount = Amount::from_u128(1_000_000 * (n as u128 + 1) + k as u128);
            injected.push(h.inject(&contract, &addr(60), &w, amount, b + 3 * k));
        }
        h.sim.advance(1, 10);
        h.sim.set_fault(Some(fault.clone()));
        let summary = h.poll().await;
        assert!(
            summary.errors().next().is_some(),
            "{fault:?} must fail the poll"
        );
        h.assert_cursor_never_passed_unrecorded(&injected).await;
        let health = h.shared.health.chains();
        assert!(health[0].1.last_error.is_some());
        h.sim.set_fault(None);
        // Etherscan is the chain's only source: after three failed polls
        // in a row it is retried after a short backoff (the pool), so the
        // next fault meets a poll that calls it. Polls until one served.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let summary = h.poll().await;
            if summary.calls() > 0 && summary.errors().next().is_none() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{summary:?}");
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A fault that starts in the middle of a poll: the finished sub-ranges
    // are kept, the cursor stops before the first unfinished one.
    let b = h.head() + 1;
    for k in 0..8u64 {
        injected.push(h.inject(
            &usdt(),
            &w,
            &addr(61),
            Amount::from_u128(77 + k as u128),
            b + 2 * k,
        ));
    }
    h.sim.advance(1, 18);
    // Slow answers keep the poll under way long enough to break it midway.
    h.sim
        .set_fault(Some(Fault::Slow(Duration::from_millis(20))));
    let before = h.sim.request_count();
    let es = h.shared.etherscan.clone();
    let poll = actix_rt::spawn(async move { es.call(Poll).await });
    let sim = h.sim.clone();
    wait_until("the poll to be under way", || {
        let n = sim.request_count();
        async move { n >= before + 3 }
    })
    .await;
    h.sim.set_fault(Some(Fault::Http500));
    let _ = poll.await.unwrap().unwrap().unwrap();
    h.assert_cursor_never_passed_unrecorded(&injected).await;
    h.sim.set_fault(None);

    // After the outage: everything recorded exactly once.
    h.poll_until_caught_up().await;
    h.assert_recorded_exactly(&injected).await;
    let c = &h.shared.counters;
    assert!(Counters::get(&c.etherscan_errors) > 0);
    assert!(Counters::get(&c.etherscan_rate_limited) > 0);
    assert!(h.shared.health.chains()[0].1.last_error.is_none());
    h.stop().await;
}

#[actix_rt::test]
async fn a_long_gap_is_caught_up_over_several_polls_in_bounded_steps() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 10,
            ..Default::default()
        },
        |c| {
            c.etherscan.max_blocks_per_poll = 10;
            // Exact ranges below: no overlap (a_trailing_index_* covers it).
            c.monitor.rescan_depth.insert("ethereum".into(), 0);
        },
    )
    .await;
    let w = addr(9);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let cursor0 = h.head() - 2;
    let b = h.head() + 1;
    let injected = vec![
        h.inject(&usdt(), &addr(90), &w, Amount::from_u128(1), b),
        h.inject(&usdc(), &addr(90), &w, Amount::from_u128(2), b + 15),
        h.inject(&usdt(), &w, &addr(90), Amount::from_u128(3), b + 34),
    ];
    // Downtime: 37 blocks to catch up, at most 10 per token per poll.
    h.sim.advance(1, 37);
    let safe = h.head() - 2;
    assert_eq!(safe - cursor0, 37);
    let mut expected = cursor0;
    for _ in 0..4 {
        h.sim.reset_requests();
        let summary = h.poll().await;
        assert!(summary.errors().next().is_none(), "{summary:?}");
        expected = (expected + 10).min(safe);
        let cursors = h.cursors().await;
        assert_eq!(cursors[&(1, usdt())], expected);
        assert_eq!(cursors[&(1, usdc())], expected);
        for r in get_logs(&h.sim) {
            assert!(r.from_block.unwrap() > expected - 10 && r.to_block.unwrap() <= expected);
        }
        let recorded = h.transfers().await.len();
        let due = injected.iter().filter(|i| i.block <= expected).count();
        assert_eq!(recorded, due, "recorded as the cursor passes them");
    }
    assert_eq!(expected, safe, "caught up in 4 polls");
    h.assert_recorded_exactly(&injected).await;
    h.stop().await;
}

#[actix_rt::test]
async fn an_unsupported_chain_alerts_once_without_retries() {
    let h = Harness::start(SimEtherscanOptions::default(), |c| {
        c.monitor.chains = vec!["ethereum".into(), "polygon".into()];
    })
    .await;
    let first = h.poll().await;
    let polygon = first.chains.iter().find(|c| c.chain == "polygon").unwrap();
    assert_eq!(polygon.calls, 1, "an unsupported chain is not retried");
    assert!(polygon.errors[0].to_string().contains("polygon"));
    let alerts: Vec<String> = h
        .shared
        .alerts
        .take_undelivered()
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(alerts, ["etherscan:unsupported-chain:polygon"]);

    h.stop().await;
}

/// Issue 9 fault 4 (the daily cap) and issue 13 (a key revoked while
/// running) are one mechanism: the provider is paused until T because R.
/// No call while paused, one alert per incident, rare probes, `/status`
/// says so, and nothing is lost when it lifts.
async fn a_provider_wide_answer_pauses_every_call(fault: Fault, alert: &str, reason: &str) {
    let h = Harness::start(
        SimEtherscanOptions {
            chains: vec![1, 137],
            ..Default::default()
        },
        |c| {
            c.monitor.chains = vec!["ethereum".into(), "polygon".into()];
            c.etherscan.daily_cap_probe_interval = Duration::from_millis(300);
            c.etherscan.invalid_key_probe_interval = Duration::from_millis(300);
        },
    )
    .await;
    let w = addr(21);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let b = h.head() + 1;
    let during = h.inject(&usdt(), &addr(22), &w, Amount::from_u128(21), b);
    h.sim.advance(1, 5);

    h.sim.set_fault(Some(fault.clone()));
    h.sim.reset_requests();
    let summary = h.poll().await;
    assert_eq!(
        h.sim.request_count(),
        1,
        "no retry, no call to the other chain: {summary:?}"
    );
    assert!(summary.errors().next().is_some());
    let alerts: Vec<String> = h
        .shared
        .alerts
        .take_undelivered()
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(alerts, [alert]);
    let status = h
        .shared
        .pauses
        .paused("Etherscan")
        .expect("paused")
        .describe(std::time::SystemTime::now());
    assert!(status.contains(reason), "{status}");

    // Paused: polls make no call at all.
    for _ in 0..3 {
        let skipped = h.poll().await;
        assert!(skipped.paused.is_some() && skipped.chains.is_empty());
    }
    assert_eq!(h.sim.request_count(), 1, "no call while paused");

    // The probe: one call, still refused; paused again, no second alert.
    let sim = h.sim.clone();
    let shared = h.shared.clone();
    wait_until("the probe", || {
        let (sim, es) = (sim.clone(), shared.etherscan.clone());
        async move {
            let _ = es.call(Poll).await;
            sim.request_count() > 1
        }
    })
    .await;
    assert_eq!(h.sim.request_count(), 2, "one probe");
    assert!(h.shared.pauses.paused("Etherscan").is_some());
    assert!(
        h.shared.alerts.take_undelivered().is_empty(),
        "alerted once"
    );

    // It lifts: the next probe succeeds and the poll resumes at the cursor.
    h.sim.set_fault(None);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = h.poll().await;
        if s.paused.is_none() && !s.chains.is_empty() && s.errors().next().is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the pause never lifted: {s:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(h.shared.pauses.paused("Etherscan").is_none());
    assert!(
        h.shared
            .alerts
            .active_alerts()
            .iter()
            .all(|a| a.key != alert),
        "the alert is cleared"
    );
    h.assert_recorded_exactly(&[during]).await;
    h.stop().await;
}

#[actix_rt::test]
async fn daily_cap_pauses_the_provider_until_the_quota_resets_and_loses_nothing() {
    a_provider_wide_answer_pauses_every_call(
        Fault::DailyCap,
        "etherscan:daily-cap",
        "daily cap reached, resumes ~00:00 UTC",
    )
    .await;
}

#[actix_rt::test]
async fn revoked_key_pauses_the_provider_and_probes_until_it_works() {
    a_provider_wide_answer_pauses_every_call(
        Fault::InvalidKey,
        "etherscan:invalid-key",
        "API key rejected",
    )
    .await;
}

#[actix_rt::test]
async fn the_rate_limit_holds_in_every_one_second_window() {
    const RATE: u32 = 5;
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 300,
            rate_limit_per_sec: Some(RATE),
            ..Default::default()
        },
        |c| c.etherscan.requests_per_second = RATE,
    )
    .await;
    h.watch(&[addr(1)]).await;
    h.poll().await;
    h.sim.advance(1, 12);
    let started = Instant::now();
    let summary = h.poll().await;
    let took = started.elapsed();
    assert!(summary.errors().next().is_none(), "{summary:?}");
    // 1 head + 2 tokens × 4 pages (3600 logs each): more than RATE.
    assert_eq!(summary.calls(), 9);
    assert!(took >= Duration::from_millis(1000), "throttled: {took:?}");
    let records = h.sim.requests();
    let max = max_requests_in_any_window(&records, Duration::from_secs(1));
    assert!(max <= RATE as usize, "{max} requests in one second");
    assert!(records.iter().all(|r| r.outcome != "rate_limited"));
    assert_eq!(Counters::get(&h.shared.counters.etherscan_rate_limited), 0);
    h.stop().await;
}

#[actix_rt::test]
async fn calls_per_poll_do_not_depend_on_the_number_of_watched_addresses() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 150,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    h.watch(&[addr(0)]).await;
    h.poll().await;
    // Past the first sight: from here the deep pass trails 16 blocks behind.
    h.sim.advance(1, 20);
    h.poll().await;

    let b = h.head() + 1;
    let one = h.inject(&usdt(), &addr(70), &addr(0), Amount::from_u128(1), b);
    h.sim.advance(1, 20);
    h.sim.reset_requests();
    let with_one = h.poll().await;

    let many: Vec<Address> = (1..10_000).map(addr).collect();
    h.watch(&many).await;
    let b = h.head() + 1;
    let last = h.inject(&usdc(), &addr(9_999), &addr(70), Amount::from_u128(2), b);
    h.sim.advance(1, 20);
    h.sim.reset_requests();
    let with_many = h.poll().await;

    let (a, m) = (with_one.calls(), with_many.calls());
    // 1 head call + 2 tokens × 2 passes × (20 blocks × 150 logs = 3000
    // logs, plus at most the one injected: 3 full pages + 1 short or empty).
    assert_eq!(a, 17, "{with_one:?}");
    assert_eq!(m, a, "1 address: {a} calls, 10 000 addresses: {m} calls");
    for summary in [&with_one, &with_many] {
        let chain = &summary.chains[0];
        assert_eq!(chain.deep_logs / 2 / 150, 20, "the deep pass: 20 blocks");
    }
    assert_eq!(h.sim.request_count() as u64, m);
    h.assert_recorded_exactly(&[one, last]).await;
    h.stop().await;
}

#[actix_rt::test]
async fn a_panic_during_a_poll_restarts_the_scanner_which_resumes_from_the_cursor() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 100,
            query_timeout_above: Some(3),
            ..Default::default()
        },
        |c| {
            c.supervisor.fault_injection = true;
            c.etherscan.requests_per_second = 20;
        },
    )
    .await;
    let w = addr(5);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let mut injected = Vec::new();
    let b = h.head() + 1;
    for k in 0..6u64 {
        injected.push(h.inject(
            &usdt(),
            &addr(80),
            &w,
            Amount::from_u128(10 + k as u128),
            b + 3 * k,
        ));
    }
    h.sim.advance(1, 20);

    // A poll in flight (dozens of calls at 20/s), then the panic.
    let before = h.sim.request_count();
    let es = h.shared.etherscan.clone();
    let in_flight = actix_rt::spawn(async move { es.call(Poll).await });
    let sim = h.sim.clone();
    wait_until("the poll to be under way", || {
        let n = sim.request_count();
        async move { n >= before + 2 }
    })
    .await;
    h.sup
        .addr
        .send(PanicChild("etherscan".into()))
        .await
        .unwrap()
        .expect("fault injection is enabled");
    // The poll is atomic: the panic waits for it to finish and persist.
    let summary = in_flight
        .await
        .unwrap()
        .expect("answered")
        .expect("started");
    assert!(summary.errors().next().is_none(), "{summary:?}");

    let addr_ = h.sup.addr.clone();
    wait_until("the scanner to be restarted", || {
        let addr_ = addr_.clone();
        async move {
            let status = addr_.send(GetStatus).await.unwrap();
            let es = status
                .children
                .iter()
                .find(|c| c.name == "etherscan")
                .unwrap();
            es.restarts >= 1 && es.state == ChildState::Running
        }
    })
    .await;
    let cursor_before: HashMap<_, _> = h.cursors().await;

    let b = h.head() + 1;
    for k in 0..4u64 {
        injected.push(h.inject(
            &usdc(),
            &w,
            &addr(81),
            Amount::from_u128(20 + k as u128),
            b + 2 * k,
        ));
    }
    h.sim.advance(1, 10);
    h.sim.reset_requests();
    h.poll_until_caught_up().await;
    // The new incarnation resumed right after the stored cursors.
    let cursor = cursor_before[&(1, usdt())];
    assert_eq!(cursor_before[&(1, usdc())], cursor);
    let first = get_logs(&h.sim)
        .iter()
        .map(|r| r.from_block.unwrap())
        .min()
        .unwrap();
    // …with a one-off deep pass below it (the deep cursor is in memory).
    let depth = h.shared.config.chains()[0].rescan_depth;
    assert_eq!(first, cursor + 1 - depth);
    h.assert_recorded_exactly(&injected).await;
    h.stop().await;
}

#[actix_rt::test]
async fn the_api_key_never_appears_in_logs_or_errors() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 20,
            query_timeout_above: Some(2),
            ..Default::default()
        },
        |c| {
            c.etherscan.request_timeout = Duration::from_millis(200);
            c.monitor.chains = vec!["ethereum".into(), "base".into()];
        },
    )
    .await;
    h.watch(&[addr(1)]).await;
    let mut errors = Vec::new();
    for fault in [
        None,
        Some(Fault::Http500),
        Some(Fault::Slow(Duration::from_millis(400))),
        Some(Fault::MalformedJson),
        Some(Fault::InvalidKey),
        Some(Fault::RateLimitStorm),
        None,
    ] {
        h.inject(
            &usdt(),
            &addr(2),
            &addr(1),
            Amount::from_u128(3),
            h.head() + 1,
        );
        h.sim.advance(1, 5);
        h.sim.set_fault(fault);
        let summary = h.poll().await;
        errors.extend(summary.errors().map(|e| format!("{e} {e:?}")));
    }
    h.stop().await;
    assert!(!errors.is_empty());
    for e in &errors {
        assert!(!e.contains(KEY) && !e.contains("apikey"), "{e}");
    }
    let logs = log_text();
    assert!(
        logs.contains("getLogs") && logs.contains("call failed"),
        "logs were captured"
    );
    assert!(!logs.contains(KEY), "the API key leaked into the logs");
    assert!(!logs.contains("apikey="), "a URL was logged");
}

// ------------------------------------------- issue 9: faults by kind

/// Fault 1: the getLogs index trails the head its own `eth_blockNumber`
/// reports. The cursor passes a block whose logs were not served yet; the
/// deep pass, `rescan_depth` blocks behind the safe head, finds the transfer
/// once the index has it, and it is delivered once.
#[actix_rt::test]
async fn trailing_index_a_late_transfer_is_delivered_exactly_once() {
    let h = Harness::start(
        SimEtherscanOptions {
            noise_per_block: 3,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let w = addr(31);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    // Confirmations are 2: the index is 4 blocks short of the safe head.
    h.sim.set_index_lag(1, 6);
    let b = h.head() + 1;
    let late = h.inject(&usdt(), &addr(32), &w, Amount::from_u128(31), b);
    h.sim.advance(1, 4);

    let first = h.poll().await;
    assert!(first.errors().next().is_none(), "{first:?}");
    assert!(
        h.cursors().await[&(1, usdt())] >= b,
        "the cursor passed the block"
    );
    assert!(h.transfers().await.is_empty(), "not indexed yet");

    // The index catches up; the deep pass reaches the block once it is
    // `rescan_depth` blocks behind the safe head, and finds the transfer.
    let depth = h.shared.config.chains()[0].rescan_depth;
    let mut found_at = None;
    for _ in 0..depth {
        h.sim.advance(1, 2);
        let summary = h.poll().await;
        assert!(summary.errors().next().is_none(), "{summary:?}");
        let safe = h.head() - 2;
        if summary.new_transfers() > 0 {
            assert_eq!(summary.new_transfers(), 1, "{summary:?}");
            found_at = Some(safe);
            break;
        }
        assert!(
            safe - depth < b,
            "the deep pass scanned block {b} and missed it"
        );
    }
    let found_at = found_at.expect("the deep pass found the late transfer");
    assert!(found_at - depth >= b && found_at - depth < b + 2);
    // Later polls do not scan the block a third time.
    for _ in 0..3 {
        h.sim.advance(1, 2);
        let summary = h.poll().await;
        assert_eq!(summary.new_transfers(), 0);
        assert_eq!(summary.chains[0].matched, 0, "{summary:?}");
    }
    h.assert_recorded_exactly(std::slice::from_ref(&late)).await;
    assert_eq!(
        h.shared.db.exec(OutboxRows).await.unwrap(),
        1,
        "notified once"
    );
    h.stop().await;
}

/// Fault 2: `"0x"`, null or an error object from `eth_blockNumber` is an
/// unknown head: the chain's poll is skipped, nothing is computed with it,
/// and the last known head is kept (never head 0).
#[actix_rt::test]
async fn unknown_head_skips_the_poll_and_keeps_the_last_known_head() {
    let h = Harness::start(SimEtherscanOptions::default(), |_| {}).await;
    let w = addr(41);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let known = h.head();
    let cursors = h.cursors().await;
    let b = h.head() + 1;
    let t = h.inject(&usdc(), &addr(42), &w, Amount::from_u128(41), b);
    h.sim.advance(1, 5);
    for fault in [Fault::EmptyHead, Fault::NullHead, Fault::ErrorHead] {
        h.sim.set_fault(Some(fault.clone()));
        h.sim.reset_requests();
        let summary = h.poll().await;
        let error = summary.errors().next().expect("the poll reports it");
        assert!(
            matches!(
                error,
                ScanError::Head {
                    source: ApiError::UnknownHead(_),
                    ..
                }
            ),
            "{fault:?}: {error}"
        );
        assert_eq!(h.sim.request_count(), 1, "{fault:?}: no retry, no getLogs");
        assert_eq!(h.cursors().await, cursors, "{fault:?}: nothing moved");
        let health = h.shared.health.chains();
        assert_eq!(
            health[0].1.head,
            Some(known),
            "{fault:?}: the last known head"
        );
    }
    h.sim.set_fault(None);
    h.poll_until_caught_up().await;
    assert_eq!(h.shared.health.chains()[0].1.head, Some(h.head()));
    h.assert_recorded_exactly(&[t]).await;
    h.stop().await;
}

/// Fault 2, sibling: a head far below the cursor is suspect; logged,
/// nothing moves, and it is not shown as the head.
#[actix_rt::test]
async fn head_behind_the_cursor_moves_nothing() {
    let h = Harness::start(SimEtherscanOptions::default(), |_| {}).await;
    let w = addr(43);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    h.sim.advance(1, 5);
    h.poll().await;
    let (known, cursors) = (h.head(), h.cursors().await);

    h.sim.set_fault(Some(Fault::HeadBehind(100)));
    h.sim.reset_requests();
    let summary = h.poll().await;
    assert!(
        summary
            .errors()
            .any(|e| matches!(e, ScanError::HeadBehind { cursor, .. } if *cursor == known - 2)),
        "{summary:?}"
    );
    assert!(get_logs(&h.sim).is_empty());
    assert_eq!(h.cursors().await, cursors);
    assert_eq!(h.shared.health.chains()[0].1.head, Some(known));
    assert!(log_text().contains("head behind the cursor"));

    // A step of one block back (another backend node) is not an error.
    h.sim.set_fault(Some(Fault::HeadBehind(1)));
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert_eq!(h.cursors().await, cursors);
    h.sim.set_fault(None);
    h.stop().await;
}

/// A getLogs item as Etherscan shapes it, from the USDT contract.
fn raw_item(block: u64, n: u64, topics: Vec<String>, data: &str) -> serde_json::Value {
    serde_json::json!({
        "address": usdt().as_str(),
        "topics": topics,
        "data": data,
        "blockNumber": format!("0x{block:x}"),
        "blockHash": format!("0x{}", "ab".repeat(32)),
        "timeStamp": "0x6553f100",
        "gasPrice": "0x", "gasUsed": "0x",
        "logIndex": format!("0x{:x}", 100 + n),
        "transactionHash": format!("0x{:064x}", 0xbad0_0000 + n),
        "transactionIndex": "0x",
    })
}

/// Fault 3: a log of the USDT contract with topic0 = Transfer and 3 topics
/// but a non-canonical encoding (31-byte data, dirty address bytes, short
/// topics, missing prefixes) is rejected and counted, the cursor still
/// moves, and nobody is notified. The canonical one next to them is.
#[actix_rt::test]
async fn non_canonical_transfer_log_is_rejected_counted_and_never_notified() {
    let h = Harness::start(SimEtherscanOptions::default(), |_| {}).await;
    let w = addr(51);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    let b = h.head() + 1;
    let from = format!("0x{:0>64}", addr(52).hex());
    let to = format!("0x{:0>64}", w.hex());
    let word = |v: u64| format!("0x{v:064x}");
    let t = || TRANSFER_TOPIC.to_string();
    let bad: Vec<(Vec<String>, String)> = vec![
        (
            vec![t(), from.clone(), to.clone()],
            format!("0x{}", "ff".repeat(31)),
        ),
        (
            vec![t(), from.clone(), to.clone()],
            format!("0x{}", "00".repeat(33)),
        ),
        (vec![t(), from.clone(), to.clone()], "0x".into()),
        (
            vec![t(), from.clone(), to.clone()],
            word(5)[2..].to_string(),
        ),
        (vec![t(), from.clone(), to.clone()], format!("{}0", word(5))),
        (
            vec![t(), from.clone(), to.replacen("0x000000", "0x0000ff", 1)],
            word(5),
        ),
        (vec![t(), from.clone(), format!("0x{}", w.hex())], word(5)),
        (vec![t(), from[2..].to_string(), to.clone()], word(5)),
        (vec![t(), from.clone(), to.clone(), word(9)], word(5)),
    ];
    let n_bad = bad.len() as u64;
    for (n, (topics, data)) in bad.into_iter().enumerate() {
        h.sim
            .inject_raw_json(1, b, raw_item(b, n as u64, topics, &data));
    }
    // Canonical, with uppercase hex digits: the same value, accepted.
    h.sim.inject_raw_json(
        1,
        b,
        raw_item(
            b,
            99,
            vec![
                t(),
                from.clone(),
                to.to_ascii_uppercase().replace("0X", "0x"),
            ],
            &word(0xabc).to_ascii_uppercase().replace("0X", "0x"),
        ),
    );
    h.sim.advance(1, 4);

    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    assert_eq!(summary.chains[0].rejected as u64, n_bad);
    let counted = Counters::get(&h.shared.counters.logs_rejected);
    assert_eq!(counted, n_bad);
    let rows = h.transfers().await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].amount, "2748");
    assert_eq!(h.shared.db.exec(OutboxRows).await.unwrap(), 1);
    let safe = h.head() - 2;
    assert_eq!(h.cursors().await[&(1, usdt())], safe, "the cursor moved");

    // Scanned again by the deep pass: not counted twice, not notified.
    let depth = h.shared.config.chains()[0].rescan_depth;
    h.sim.advance(1, depth);
    let again = h.poll().await;
    assert!(again.errors().next().is_none(), "{again:?}");
    assert!(again.chains[0].deep_logs as u64 > n_bad, "{again:?}");
    assert_eq!(again.chains[0].rejected, 0);
    assert_eq!(Counters::get(&h.shared.counters.logs_rejected), counted);
    assert_eq!(h.transfers().await.len(), 1);
    h.stop().await;
}

/// Fault 9: a stale registry misses a migrated token. An operator adds the
/// contract in config.toml; it is scanned, matched by contract, notified,
/// and logged at start-up.
#[actix_rt::test]
async fn stale_registry_an_operator_added_contract_is_notified() {
    let added = Address::parse("0x01bff41798a0bcf287b996046ca68b395dbc1071").unwrap();
    let h = Harness::start(SimEtherscanOptions::default(), |c| {
        c.monitor
            .contracts
            .push(usdt_monitor::config::ContractConfig {
                chain: "ethereum".into(),
                symbol: "USDT".into(),
                contract: "0x01bFF41798a0BcF287b996046Ca68b395DbC1071".into(),
                decimals: 6,
            });
    })
    .await;
    let w = addr(61);
    h.watch(std::slice::from_ref(&w)).await;
    h.poll().await;
    assert!(h.cursors().await.contains_key(&(1, added.clone())));
    let b = h.head() + 1;
    let t = h.inject(&added, &addr(62), &w, Amount::from_u128(1_500_000), b);
    // The same symbol from an unregistered contract is still ignored.
    let other = Address::parse("0x2222222222222222222222222222222222222222").unwrap();
    h.inject(&other, &addr(62), &w, Amount::from_u128(9), b);
    h.sim.advance(1, 4);
    let summary = h.poll().await;
    assert!(summary.errors().next().is_none(), "{summary:?}");
    h.assert_recorded_exactly(&[t]).await;
    assert_eq!(h.shared.db.exec(OutboxRows).await.unwrap(), 1);
    let log = log_text();
    assert!(
        log.lines().any(|l| l.contains("active contract")
            && l.contains(added.as_str())
            && l.contains("config")),
        "the active contracts are logged at start-up"
    );
    h.stop().await;
}

/// Kind: a watched set older than the head. Reading the head took a while
/// (rate-limit retries); an address added meanwhile must see the transfers
/// of every block up to that head, or the cursor moves past them for good.
/// (Found by the chaos campaign, seed 20261129.)
#[actix_rt::test]
async fn watched_set_older_than_the_head_an_address_added_during_the_head_read_loses_nothing() {
    let retry = RetryPolicy {
        rate_limit_tries: 1000,
        rate_limit_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ..fast_retry()
    };
    let h = Harness::start_with(SimEtherscanOptions::default(), retry, |_| {}).await;
    let (old, new, payer) = (addr(1), addr(2), addr(3));
    h.watch(&[old]).await;
    h.poll_until_caught_up().await;

    // The next poll reads the watched set, then is rate limited on its head
    // read; meanwhile `new` is watched and receives a transfer that the
    // head the poll finally reads covers.
    h.sim.reset_requests();
    h.sim.set_fault(Some(Fault::Http429));
    let meanwhile = async {
        wait_until("the head read is rate limited", || async {
            h.sim.requests().iter().any(|r| r.outcome == "fault")
        })
        .await;
        h.watch(std::slice::from_ref(&new)).await;
        let t = h.inject(
            &usdt(),
            &payer,
            &new,
            Amount::from_u128(5_000_000),
            h.head() + 1,
        );
        h.sim.advance(1, 3);
        h.sim.set_fault(None);
        t
    };
    let (summary, injected) = tokio::join!(h.poll(), meanwhile);
    assert!(summary.errors().next().is_none(), "{summary:?}");
    h.assert_cursor_never_passed_unrecorded(std::slice::from_ref(&injected))
        .await;
    let rows = h.transfers().await;
    assert!(
        rows.iter().any(|r| r.tx_hash == injected.tx_hash),
        "the transfer to the address added during the head read was not recorded: {rows:#?}"
    );
    h.stop().await;
}

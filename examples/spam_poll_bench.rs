//! What the spam checks add to recording a poll.
//!
//! Builds a database with a history of 100 000 recorded transfers, then
//! records one poll of 10 000 new transfers (repeat payers, first payments
//! from strangers, zero-value look-alikes, dust) with [`RecordPollResult`]
//! with the spam checks and without, each on a fresh copy of the same
//! database, and prints the time of each, the checks per second and the
//! added latency. A small poll (20 transfers, the usual case every 60 s)
//! shows the fixed cost: reading the watched addresses' histories.
//!
//! Two shapes of history: one busy watched address holding all 100 000
//! transfers (the worst case for the per-poll history load), and 100 watched
//! addresses with 1 000 each.
//!
//!     cargo run --release --example spam_poll_bench

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use usdt_monitor::config::SpamConfig;
use usdt_monitor::db::poll_result::{PollRecorded, RecordPollResult};
use usdt_monitor::db::spam::SpamPolicy;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbRequest, DbSettings, connection};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};

const HISTORY: usize = 100_000;
const BATCH: usize = 10_000;
const SMALL: usize = 20;
const RUNS: usize = 3;
const T0: u64 = 1_700_000_000;

type Res<T> = Result<T, Box<dyn Error>>;

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn address(&mut self) -> Res<Address> {
        let (a, b, c) = (self.next(), self.next(), self.next() as u32);
        Ok(Address::parse(&format!("0x{a:016x}{b:016x}{c:08x}"))?)
    }

    fn lookalike(&mut self, real: &Address) -> Res<Address> {
        let hex = real.hex();
        let middle = format!("{:016x}{:016x}", self.next(), self.next());
        Ok(Address::parse(&format!(
            "0x{}{}{}",
            &hex[..4],
            &middle,
            &hex[36..]
        ))?)
    }
}

fn transfer(n: u64, from: Address, to: Address, raw: u128, ts: u64) -> Res<Transfer> {
    Ok(Transfer {
        chain_id: 1,
        tx_hash: format!("0x{n:064x}"),
        log_index: 0,
        block: 19_000_000 + n,
        timestamp: ts,
        token: TokenSymbol::Usdt,
        contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7")?,
        decimals: 6,
        from,
        to,
        amount: Amount::from_u128(raw),
    })
}

fn exec<R: DbRequest>(s: &DbSettings, r: R) -> Res<R::Output> {
    Ok(connection::with_transaction(s, R::WRITES, |tx| r.run(tx))?)
}

struct Scenario {
    watched: Vec<Address>,
    /// Each watched address's counterparties in the history.
    counterparties: Vec<Vec<Address>>,
}

/// Creates the database with `watched` addresses (one chat each) and
/// HISTORY recorded transfers spread evenly over them.
fn build(path: &Path, watched_count: usize, rng: &mut Rng) -> Res<Scenario> {
    let settings = settings(path);
    connection::prepare(&settings)?;
    let mut watched = Vec::new();
    for chat in 0..watched_count {
        let a = rng.address()?;
        exec(
            &settings,
            AddSubscription {
                chat_id: chat as i64 + 1,
                chain_id: 1,
                address: a.clone(),
                label: None,
                limit: 10,
            },
        )?;
        watched.push(a);
    }
    let per = HISTORY / watched_count;
    let mut counterparties = vec![Vec::with_capacity(per); watched_count];
    let mut history = Vec::with_capacity(HISTORY);
    for i in 0..HISTORY {
        let w = i % watched_count;
        let cp = rng.address()?;
        counterparties[w].push(cp.clone());
        // History ends a day before the batch: outside any burst window.
        let ts = T0 - 86_400 - (HISTORY - i) as u64 * 10;
        let t = if i % 3 == 0 {
            transfer(i as u64, watched[w].clone(), cp, 5_000_000, ts)?
        } else {
            transfer(i as u64, cp, watched[w].clone(), 250_000_000, ts)?
        };
        history.push(t);
    }
    // The history as the daemon would have recorded it, without notifications
    // cost mattering here: one big write.
    exec(
        &settings,
        RecordPollResult::without_spam_checks(1, history, vec![]),
    )?;
    // Fold the WAL into the main file, so that copying the file copies it all.
    let conn = connection::open(&settings)?;
    let checkpoint = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    connection::close(conn);
    checkpoint?;
    Ok(Scenario {
        watched,
        counterparties,
    })
}

/// A poll of `n` new transfers spread over the watched addresses.
fn batch(sc: &Scenario, n: usize, first: u64, rng: &mut Rng) -> Res<Vec<Transfer>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let w = i % sc.watched.len();
        let cps = &sc.counterparties[w];
        let pick = cps[(rng.next() % cps.len() as u64) as usize].clone();
        let ts = T0 + i as u64 * 12;
        let id = first + i as u64;
        let to = sc.watched[w].clone();
        let t = match rng.next() % 100 {
            0..=69 => transfer(id, pick, to, 250_000_000, ts)?, // repeat payer
            70..=89 => transfer(id, rng.address()?, to, 1_000_000_000, ts)?, // first payment
            90..=94 => transfer(id, rng.lookalike(&pick)?, to, 0, ts)?, // poisoning
            _ => transfer(id, rng.address()?, to, 5_000, ts)?,  // dust
        };
        out.push(t);
    }
    Ok(out)
}

fn settings(path: &Path) -> DbSettings {
    DbSettings {
        path: path.to_owned(),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    }
}

/// Records `transfers` on a fresh copy of `base`, `RUNS` times; the median.
fn time(
    base: &Path,
    dir: &Path,
    transfers: &[Transfer],
    spam: Option<&Arc<SpamPolicy>>,
) -> Res<(Duration, PollRecorded)> {
    let mut times = Vec::new();
    let mut last = PollRecorded::default();
    for run in 0..RUNS {
        let copy = dir.join(format!("run-{run}.db"));
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("run-{run}.db{suffix}")));
        }
        std::fs::copy(base, &copy)?;
        let request = match spam {
            Some(p) => RecordPollResult::new(1, transfers.to_vec(), vec![], p.clone()),
            None => RecordPollResult::without_spam_checks(1, transfers.to_vec(), vec![]),
        };
        let started = Instant::now();
        last = exec(&settings(&copy), request)?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[RUNS / 2], last))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Res<()> {
    let policy = Arc::new(SpamPolicy::from_config(&SpamConfig::default())?);
    println!(
        "history {HISTORY} transfers; median of {RUNS} runs, each on a fresh copy of the database\n"
    );
    println!(
        "| watched addresses | poll | without spam | with spam | added | added per transfer | checks/s (whole write) | delivered / held |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for watched in [1usize, 100] {
        let dir = tempfile::tempdir()?;
        let base = dir.path().join("base.db");
        let mut rng = Rng(0x5eed + watched as u64);
        let sc = build(&base, watched, &mut rng)?;
        for n in [BATCH, SMALL] {
            let transfers = batch(&sc, n, HISTORY as u64 + 1, &mut rng)?;
            let (without, _) = time(&base, dir.path(), &transfers, None)?;
            let (with, rec) = time(&base, dir.path(), &transfers, Some(&policy))?;
            let added = with.saturating_sub(without);
            println!(
                "| {watched} | {n} transfers | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} µs | {:.0} | {} / {} |",
                ms(without),
                ms(with),
                ms(added),
                added.as_secs_f64() * 1e6 / n as f64,
                n as f64 / with.as_secs_f64(),
                rec.notifications,
                rec.held
            );
        }
    }
    Ok(())
}

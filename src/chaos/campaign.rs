//! The campaign loop: starts the simulators and the daemon, then, every
//! [`TICK`], restarts the daemon if it exited (as systemd would), samples
//! its descriptors and memory, hands the bot's replies to the users, ends
//! and starts faults, puts transfers on the chain and lets users act. After
//! `duration`, every fault is switched off and the daemon gets a bounded
//! drain period; then it is stopped with SIGTERM and the checker runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::check::{self, tx_of, txs_of};
use super::daemon::{self, ADMIN, Daemon, ES_KEY, TG_TOKEN};
use super::faults::{FaultKind, Lasts, Target};
use super::ledger::{AmbiguousSend, Cause, Ledger, TransferRecord};
use super::logscan;
use super::report::Report;
use super::rng::Rng;
use super::users::User;
use crate::domain::{Address, Amount, Chain, TokenSymbol};
use crate::sim::botapi::{SimBotApi, SimBotOptions};
use crate::sim::etherscan::{InjectedTransfer, SimEtherscan, SimEtherscanOptions};

/// How often the loop looks at everything.
pub const TICK: Duration = Duration::from_millis(100);
/// How long the daemon may take to make its first scan (no faults yet).
const SETUP_LIMIT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd daemon may take to exit before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(45);
/// The simulated chain's id (Ethereum).
const CHAIN: u64 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// How long faults, commands and transfers go on.
    pub duration: Duration,
    /// The longest the daemon gets afterwards, faults off, to deliver
    /// everything (the drain ends as soon as it has).
    pub drain: Duration,
    /// The `usdt-monitor` binary.
    pub daemon: PathBuf,
    pub users: usize,
    /// Mean rates of the seeded schedule.
    pub transfers_per_sec: f64,
    pub faults_per_min: f64,
    /// Print a progress line every this often (standard error).
    pub progress: Option<Duration>,
}

impl Options {
    /// The defaults for `duration` on `daemon`.
    pub fn new(seed: u64, duration: Duration, daemon: PathBuf) -> Options {
        Options {
            seed,
            duration,
            drain: Duration::from_secs(180),
            daemon,
            users: 8,
            transfers_per_sec: 2.0,
            faults_per_min: 12.0,
            progress: None,
        }
    }
}

/// What the fault switches act on.
pub struct Stage {
    pub es: SimEtherscan,
    pub bot: SimBotApi,
    pub daemon: Daemon,
    pub users: Vec<User>,
    pub ledger: Ledger,
    /// The highest head seen: transfers go above it, whatever the head says.
    pub head_floor: u64,
    /// When SIGTERM was sent, until the daemon exits.
    pub stopping: Option<Instant>,
    restart_at: Option<Instant>,
    /// Daemon exits, "cause: status" → count.
    pub exits: BTreeMap<String, u64>,
    /// Exits that should not have happened.
    pub unexpected: Vec<String>,
}

impl Stage {
    /// Records an exit and schedules the restart (a short random pause,
    /// like systemd's `RestartSec`).
    pub fn exited(&mut self, cause: &str, status: &str, rng: &mut Rng) {
        *self.exits.entry(format!("{cause}: {status}")).or_default() += 1;
        let expected = match cause {
            "SIGKILL" => true,
            "SIGTERM" => status == "exit 0",
            // Restart intensity exceeded: the panics came too fast.
            _ => status == "exit 3",
        };
        if !expected {
            let at = self.ledger.secs(Instant::now());
            self.unexpected.push(format!(
                "{cause}: {status} at {at:.1}s (run {})",
                self.daemon.runs()
            ));
        }
        self.stopping = None;
        self.restart_at =
            Some(Instant::now() + rng.between(Duration::from_millis(200), Duration::from_secs(2)));
    }
}

/// One fault that is on.
struct Active {
    kind: usize,
    target: Target,
    until: Instant,
}

/// The schedule's random streams, one per purpose.
struct Streams {
    faults: Rng,
    transfers: Rng,
    restarts: Rng,
}

/// Runs a whole campaign.
pub async fn run(opts: Options) -> std::io::Result<Report> {
    let es = SimEtherscan::start(SimEtherscanOptions {
        api_key: ES_KEY.into(),
        chains: vec![CHAIN],
        start_block: 5_000_000,
        block_time: Some(Duration::from_millis(250)),
        noise_per_block: 5,
        rate_limit_per_sec: Some(20),
        query_timeout_above: None,
        seed: opts.seed,
    })
    .await?;
    let bot = SimBotApi::start(SimBotOptions {
        token: TG_TOKEN.into(),
        // Switched on by the flood fault; tight, so that it bites.
        flood_limits: false,
        per_chat_per_sec: 0.5,
        global_per_sec: 4.0,
        group_per_min: 20.0,
        retry_after_secs: 2,
    })
    .await?;
    let dir = tempfile::Builder::new().prefix("chaos-").tempdir()?;
    let config = daemon::config_text(
        &bot.api_url(),
        &es.base_url(),
        &dir.path().join("data/monitor.db"),
    );
    let daemon = Daemon::new(opts.daemon.clone(), dir.path(), &config)?;

    let mut pool_rng = Rng::stream(opts.seed, 1);
    let pool: Vec<Address> = (0..opts.users.max(1) * 3)
        .map(|_| pool_rng.address())
        .collect();
    let now = Instant::now();
    let users = (0..opts.users)
        .map(|i| {
            let mut rng = Rng::stream(opts.seed, 100 + i as u64);
            let mut candidates = Vec::new();
            while candidates.len() < 4.min(pool.len()) {
                let a = rng.pick(&pool).cloned().expect("a non-empty pool");
                if !candidates.contains(&a) {
                    candidates.push(a);
                }
            }
            User::new(2001 + i as i64, candidates, rng, now)
        })
        .collect();
    let mut stage = Stage {
        head_floor: es.head(CHAIN),
        es,
        bot,
        daemon,
        users,
        ledger: Ledger::new(),
        stopping: None,
        restart_at: None,
        exits: BTreeMap::new(),
        unexpected: Vec::new(),
    };
    let mut streams = Streams {
        faults: Rng::stream(opts.seed, 2),
        transfers: Rng::stream(opts.seed, 3),
        restarts: Rng::stream(opts.seed, 4),
    };
    stage.daemon.start()?;
    setup(&mut stage).await?;

    let table = super::faults::table();
    let mut deck = Deck::new(&table, &mut streams.faults);
    let mut report = Report::new(opts.seed, &table);
    let started = Instant::now();
    let end = started + opts.duration;
    let mut active: Vec<Active> = Vec::new();
    let fault_gap = Duration::from_secs_f64(60.0 / opts.faults_per_min.max(0.01));
    let transfer_gap = Duration::from_secs_f64(1.0 / opts.transfers_per_sec.max(0.01));
    let mut next_fault = started + streams.faults.exponential(fault_gap);
    let mut next_transfer = started + streams.transfers.exponential(transfer_gap);
    let mut seen = 0;
    let mut next_sample = started;
    let mut next_progress = opts.progress.map(|p| started + p);
    let mut drain_deadline: Option<Instant> = None;
    let mut next_drain_check = started;

    loop {
        let now = Instant::now();
        supervise(&mut stage, &mut streams.restarts)?;
        if now >= next_sample {
            next_sample = now + Duration::from_secs(1);
            if let Some((fds, rss)) = stage.daemon.sample() {
                report.max_fds = report.max_fds.max(fds);
                report.max_rss_kib = report.max_rss_kib.max(rss);
            }
        }
        seen = route_replies(&mut stage, seen);

        match drain_deadline {
            None if now < end => {
                active.retain(|a| {
                    let keep = now < a.until;
                    if !keep {
                        table[a.kind].off(&mut stage, a.target);
                    }
                    keep
                });
                while now >= next_fault {
                    next_fault += streams.faults.exponential(fault_gap);
                    start_fault(
                        &table,
                        &mut deck,
                        &mut stage,
                        &mut streams.faults,
                        &mut active,
                        &mut report,
                    );
                }
                while now >= next_transfer {
                    next_transfer += streams.transfers.exponential(transfer_gap);
                    inject(&mut stage, &pool, &mut streams.transfers);
                }
            }
            None => {
                // The campaign is over: every fault off, the daemon up.
                for a in active.drain(..) {
                    table[a.kind].off(&mut stage, a.target);
                }
                if !stage.daemon.is_running() && stage.stopping.is_none() {
                    stage.restart_at = Some(now);
                }
                report.duration = now - started;
                drain_deadline = Some(now + opts.drain);
            }
            Some(deadline) => {
                if now >= next_drain_check {
                    next_drain_check = now + Duration::from_secs(1);
                    let idle = stage.users.iter().all(User::is_idle);
                    if (idle && check_now(&mut stage, now).losses.is_empty()) || now >= deadline {
                        report.drain = now - end;
                        break;
                    }
                }
            }
        }
        let campaign_on = drain_deadline.is_none();
        for u in &mut stage.users {
            u.act(&stage.bot, &mut stage.ledger, now, campaign_on);
        }
        if let Some(at) = next_progress.filter(|at| now >= *at) {
            next_progress = opts.progress.map(|p| at + p);
            let v = check_now(&mut stage, now);
            eprintln!(
                "chaos: {:>5.0}s  transfers {}  deliveries {}  daemon runs {}  faults on {}",
                stage.ledger.secs(now),
                v.transfers,
                v.deliveries,
                stage.daemon.runs(),
                active.len()
            );
        }
        tokio::time::sleep(TICK).await;
    }
    stop(&mut stage).await;
    finish(stage, report, dir)
}

/// Waits (no faults yet) until the daemon has scanned once: from then on,
/// every transfer is above its cursors, and none is "history before it
/// watched".
async fn setup(stage: &mut Stage) -> std::io::Result<()> {
    let deadline = Instant::now() + SETUP_LIMIT;
    while !stage
        .es
        .requests()
        .iter()
        .any(|r| r.kind == crate::sim::etherscan::RequestKind::GetLogs && r.outcome != "fault")
    {
        if let Some(status) = stage.daemon.exited() {
            return Err(std::io::Error::other(format!(
                "the daemon exited during setup ({}); see {}",
                daemon::describe(status),
                stage.daemon.log_path(1).display()
            )));
        }
        if Instant::now() > deadline {
            return Err(std::io::Error::other(
                "the daemon made no getLogs call within a minute",
            ));
        }
        tokio::time::sleep(TICK).await;
    }
    Ok(())
}

/// Notices an exit, and restarts the daemon when it is time.
fn supervise(stage: &mut Stage, rng: &mut Rng) -> std::io::Result<()> {
    if let Some(status) = stage.daemon.exited() {
        let cause = if stage.stopping.is_some() {
            "SIGTERM"
        } else {
            "on its own"
        };
        stage.exited(cause, &daemon::describe(status), rng);
    }
    if let Some(at) = stage.restart_at
        && Instant::now() >= at
        && !stage.daemon.is_running()
    {
        stage.restart_at = None;
        stage.daemon.start()?;
    }
    Ok(())
}

/// Hands every new non-notification message to its user; returns how many
/// messages have been seen.
fn route_replies(stage: &mut Stage, seen: usize) -> usize {
    let sent = stage.bot.sent();
    for m in sent.iter().skip(seen) {
        if tx_of(&m.text).is_some() {
            continue;
        }
        if let Some(u) = stage.users.iter_mut().find(|u| u.chat == m.chat_id) {
            u.on_reply(&m.text, m.at, &mut stage.ledger);
        }
    }
    sent.len()
}

/// The order kinds are picked in: every kind once (seeded order) first, so
/// that even a short run meets them all, then decks of each kind `weight`
/// times, shuffled.
struct Deck {
    cards: Vec<usize>,
}

impl Deck {
    fn new(table: &[FaultKind], rng: &mut Rng) -> Deck {
        let mut cards: Vec<usize> = (0..table.len()).filter(|i| table[*i].weight > 0).collect();
        shuffle(&mut cards, rng);
        Deck { cards }
    }

    /// The next kind that `eligible` allows (skipped ones stay in the deck).
    fn draw(
        &mut self,
        table: &[FaultKind],
        rng: &mut Rng,
        eligible: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if !self.cards.iter().any(|i| eligible(*i)) {
            let mut more: Vec<usize> = (0..table.len())
                .flat_map(|i| std::iter::repeat_n(i, table[i].weight as usize))
                .collect();
            shuffle(&mut more, rng);
            self.cards.extend(more);
        }
        let at = self.cards.iter().position(|i| eligible(*i))?;
        Some(self.cards.remove(at))
    }
}

/// Fisher–Yates.
fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

fn start_fault(
    table: &[FaultKind],
    deck: &mut Deck,
    stage: &mut Stage,
    rng: &mut Rng,
    active: &mut Vec<Active>,
    report: &mut Report,
) {
    let free = |i: usize| {
        table[i]
            .slot
            .is_none_or(|slot| !active.iter().any(|a| table[a.kind].slot == Some(slot)))
    };
    let Some(i) = deck.draw(table, rng, free) else {
        return;
    };
    let Some(target) = table[i].on(stage, rng) else {
        // It cannot apply now (no daemon to kill, no chat to block): it
        // comes first next time.
        deck.cards.insert(0, i);
        return;
    };
    report.count_fault(table[i].name);
    if let Lasts::Between(lo, hi) = table[i].lasts {
        active.push(Active {
            kind: i,
            target,
            until: Instant::now() + rng.between(lo, hi),
        });
    }
}

/// A transfer to or from a pool address (watched by someone or not), in
/// the next block above every head seen.
fn inject(stage: &mut Stage, pool: &[Address], rng: &mut Rng) {
    let Some(ours) = rng.pick(pool).cloned() else {
        return;
    };
    let other = match rng.chance(0.1) {
        true => rng.pick(pool).cloned().unwrap_or_else(|| rng.address()),
        false => rng.address(),
    };
    let (from, to) = if rng.chance(0.5) {
        (other, ours)
    } else {
        (ours, other)
    };
    let token = if rng.chance(0.5) {
        TokenSymbol::Usdt
    } else {
        TokenSymbol::Usdc
    };
    let Some(contract) =
        Chain::by_id(CHAIN).and_then(|c| c.token(token).map(|t| t.contract.clone()))
    else {
        return;
    };
    // At least one whole unit: never dust.
    let amount = Amount::from_u128(1_000_000 + u128::from(rng.below(10_000_000_000)));
    stage.head_floor = stage.head_floor.max(stage.es.head(CHAIN));
    let at = Instant::now();
    let (tx, _) = stage.es.inject_transfer(
        CHAIN,
        InjectedTransfer {
            contract,
            from: from.clone(),
            to: to.clone(),
            amount,
            block: Some(stage.head_floor + 1),
        },
    );
    stage
        .ledger
        .transfers
        .push(TransferRecord { tx, from, to, at });
}

fn chats(stage: &Stage) -> Vec<i64> {
    stage.users.iter().map(|u| u.chat).chain([ADMIN]).collect()
}

fn check_now(stage: &mut Stage, now: Instant) -> check::Verdict {
    note_late_answers(stage);
    check::check(&stage.ledger, &stage.bot.sent(), &chats(stage), now)
}

/// Hands the checker every notification the Bot API stored but answered
/// after the daemon's send timeout: the cause of a second copy.
fn note_late_answers(stage: &mut Stage) {
    stage.ledger.ambiguous = stage
        .bot
        .answered_late()
        .into_iter()
        .flat_map(|m| {
            txs_of(&m.text)
                .into_iter()
                .map(|tx| AmbiguousSend {
                    tx: Some(tx.to_owned()),
                    chat_id: m.chat_id,
                    at: m.at,
                })
                .collect::<Vec<_>>()
        })
        .collect();
}

/// The final SIGTERM: the daemon must stop in order and exit 0.
async fn stop(stage: &mut Stage) {
    if !stage.daemon.is_running() || !stage.daemon.term() {
        return;
    }
    let deadline = Instant::now() + STOP_LIMIT;
    loop {
        if let Some(status) = stage.daemon.exited() {
            let status = daemon::describe(status);
            *stage
                .exits
                .entry(format!("final SIGTERM: {status}"))
                .or_default() += 1;
            if status != "exit 0" {
                stage.unexpected.push(format!("final SIGTERM: {status}"));
            }
            return;
        }
        if Instant::now() > deadline {
            stage.daemon.kill9();
            stage
                .unexpected
                .push("final SIGTERM: still running after 45 s".into());
            return;
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Reads the crashes from the logs, runs the checker, fills the report.
fn finish(mut stage: Stage, mut report: Report, dir: tempfile::TempDir) -> std::io::Result<Report> {
    for run in 1..=stage.daemon.runs() {
        let log = std::fs::read_to_string(stage.daemon.log_path(run)).unwrap_or_default();
        for e in logscan::actor_events(&log) {
            if e.message == "actor crashed" {
                *report.actor_crashes.entry(e.actor.clone()).or_default() += 1;
                let at = stage.ledger.instant_of(e.at);
                stage.ledger.cause(at, Cause::ActorCrash(e.actor));
            } else {
                *report.actor_restarts.entry(e.actor).or_default() += 1;
            }
        }
    }
    let end = Instant::now();
    note_late_answers(&mut stage);
    report.verdict = check::check(&stage.ledger, &stage.bot.sent(), &chats(&stage), end);
    report.daemon_runs = stage.daemon.runs();
    report.exits = std::mem::take(&mut stage.exits);
    report.unexpected_exits = std::mem::take(&mut stage.unexpected);
    report.commands = stage.users.iter().map(|u| u.pushed).sum();
    drop(stage);
    if !report.passed() {
        report.kept_dir = Some(dir.keep());
    }
    Ok(report)
}

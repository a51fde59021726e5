//! DbActor against raw rusqlite doing the same work, side by side in one run.
//!
//! Both sides open a connection per message with the same pragmas
//! (`busy_timeout`, foreign keys on, `synchronous=NORMAL`; the database is
//! in WAL mode, which is persistent and set once by `connection::prepare`),
//! do one point insert (or one point select), and close the connection:
//!
//! * **DbActor**: [`Insert`] / [`GetMeta`] through the real pool under its
//!   supervisor, 16 requests in flight, with 1 worker and with 2 workers;
//! * **raw rusqlite**: the same statement in a plain loop on one thread:
//!   `Connection::open_with_flags`, the pragmas, `execute`, `close`. Like the
//!   pool (see `db::anchor`), it keeps one idle connection open so that
//!   every open is not the first one (which would rebuild the WAL index).
//!
//! Each database is its own file, prepared the same way. Each round runs
//! every side once, the order reversed on every other round, so that drift
//! and other load on the machine hit both; the summary gives each side's
//! median and the median of the per-round ratios. It also gives each side's
//! CPU time per message (all threads of the process, from
//! `/proc/self/task/*/schedstat`): with other work on the machine, the wall
//! clock rates drift, CPU time much less.
//!
//!     cargo run --release --example db_bench [messages per round] [rounds]

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use usdt_monitor::db::meta::GetMeta;
use usdt_monitor::db::{DbActor, DbRef, DbRequest, DbSettings, connection};
use usdt_monitor::supervisor::{ChildSpec, Policy, Supervisor};

#[derive(Clone, Copy, PartialEq)]
enum Work {
    Insert,
    Select,
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Work::Insert => "point insert",
            Work::Select => "point select",
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Actor(usize),
    Raw,
}

const SIDES: [Side; 3] = [Side::Actor(1), Side::Actor(2), Side::Raw];

fn settings(dir: &Path, name: &str) -> DbSettings {
    DbSettings {
        path: dir.join(name),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    }
}

fn policy() -> Policy {
    Policy {
        max_restarts: 5,
        restart_window: Duration::from_secs(60),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_secs(1),
        fault_injection: false,
        shutdown_order: None,
    }
}

/// CPU time used so far by every thread of this process, in nanoseconds.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let dir = tempfile::tempdir().unwrap();
    let raw = settings(dir.path(), "raw.db");
    let actor_settings = [
        settings(dir.path(), "pool1.db"),
        settings(dir.path(), "pool2.db"),
    ];
    for s in actor_settings.iter().chain([&raw]) {
        connection::prepare(s).unwrap();
    }

    actix_rt::System::new().block_on(async move {
        let mut pools = Vec::new();
        let mut supervisors = Vec::new();
        for (workers, s) in [1, 2].into_iter().zip(actor_settings) {
            let db = DbRef::new("db", Duration::from_secs(10));
            let spec = ChildSpec::sync_pool("db", workers, db.clone(), move |g| {
                DbActor::new(s.clone(), g)
            });
            supervisors.push(Supervisor::start(vec![spec], policy()));
            db.exec(GetMeta("warm")).await.unwrap();
            pools.push(db);
        }
        // The raw side's idle connection, the counterpart of the pool's
        // anchor. SQLite opens the file at the first statement, so it reads.
        let raw_anchor = raw_open(&raw.path);
        raw_anchor
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .unwrap();

        println!("{n} messages per side and round, {rounds} rounds; messages/s\n");
        for work in [Work::Insert, Work::Select] {
            println!(
                "| {} | DbActor, 1 worker | DbActor, 2 workers | raw rusqlite, 1 thread | ratio 1 worker | ratio 2 workers |",
                work.name()
            );
            println!("|---|---|---|---|---|---|");
            let mut rates = [Vec::new(), Vec::new(), Vec::new()];
            let mut cpu = [Vec::new(), Vec::new(), Vec::new()];
            let mut ratios = [Vec::new(), Vec::new()];
            for round in 0..rounds {
                let first = (round as u64) * n;
                let mut order: Vec<usize> = (0..SIDES.len()).collect();
                if round % 2 == 1 {
                    order.reverse();
                }
                let mut rate = [0.0; 3];
                for i in order {
                    let (t, c) = (Instant::now(), cpu_ns());
                    match SIDES[i] {
                        Side::Actor(w) => actor_side(&pools[w - 1], work, first, n).await,
                        Side::Raw => raw_side(&raw.path, work, first, n),
                    }
                    rate[i] = n as f64 / t.elapsed().as_secs_f64();
                    rates[i].push(rate[i]);
                    cpu[i].push((cpu_ns() - c) as f64 / n as f64 / 1e3);
                }
                let r = [rate[0] / rate[2], rate[1] / rate[2]];
                ratios[0].push(r[0]);
                ratios[1].push(r[1]);
                println!(
                    "| round {} | {:.0} | {:.0} | {:.0} | {:.0} % | {:.0} % |",
                    round + 1,
                    rate[0],
                    rate[1],
                    rate[2],
                    r[0] * 100.0,
                    r[1] * 100.0
                );
            }
            println!(
                "| **median** | **{:.0}** | **{:.0}** | **{:.0}** | **{:.0} %** | **{:.0} %** |\n",
                median(&rates[0]),
                median(&rates[1]),
                median(&rates[2]),
                median(&ratios[0]) * 100.0,
                median(&ratios[1]) * 100.0
            );
            let (a1, a2, r) = (median(&cpu[0]), median(&cpu[1]), median(&cpu[2]));
            println!(
                "CPU per message (median): DbActor 1 worker {a1:.1} µs, 2 workers {a2:.1} µs, \
                 raw {r:.1} µs; raw / DbActor: {:.0} %, {:.0} %\n",
                r / a1 * 100.0,
                r / a2 * 100.0
            );
        }
        raw_anchor.close().unwrap();
        drop(supervisors);
    });
}

async fn actor_side(db: &DbRef, work: Work, first: u64, n: u64) {
    let ok = match work {
        Work::Insert => run(db, n, |i| Insert((first + i) as i64)).await,
        Work::Select => run(db, n, |_| GetMeta("subscriptions_version")).await,
    };
    assert_eq!(ok, n);
}

async fn run<R: DbRequest>(db: &DbRef, n: u64, make: impl Fn(u64) -> R) -> u64 {
    stream::iter(0..n)
        .map(|i| db.exec(make(i)))
        .buffer_unordered(16)
        .filter(|r| std::future::ready(r.is_ok()))
        .count()
        .await as u64
}

/// What `connection::open` does, written out with plain rusqlite: the same
/// flags and the same per-connection pragmas.
fn raw_open(path: &Path) -> Connection {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)
        .unwrap();
    conn.execute_batch("PRAGMA synchronous=NORMAL").unwrap();
    conn
}

/// Open, one statement, close, `n` times on this thread.
fn raw_side(path: &Path, work: Work, first: u64, n: u64) {
    for i in 0..n {
        let conn = raw_open(path);
        match work {
            Work::Insert => {
                conn.execute(INSERT, [(first + i) as i64]).unwrap();
            }
            Work::Select => {
                let found: Option<String> = conn
                    .query_row(SELECT, ["subscriptions_version"], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
                    .unwrap();
                std::hint::black_box(found);
            }
        }
        conn.close().unwrap();
    }
}

const INSERT: &str = "INSERT INTO chats (chat_id, active, created_at) VALUES (?1, 1, 0)";
const SELECT: &str = "SELECT value FROM meta WHERE key = ?1";

/// One row into one table: a point insert.
pub struct Insert(i64);
impl DbRequest for Insert {
    type Output = ();
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<(), usdt_monitor::db::DbError> {
        tx.execute(INSERT, [self.0])?;
        Ok(())
    }
}

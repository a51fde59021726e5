//! The campaign's report: what was injected, what was delivered, what went
//! wrong, and how the daemon held up.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::check::Verdict;
use super::faults::FaultKind;

/// Everything a campaign measured; `Display` prints it for people.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    /// The campaign proper, and the drain after it.
    pub duration: Duration,
    pub drain: Duration,
    /// Faults injected, by kind, in table order.
    pub faults: Vec<(&'static str, u64)>,
    /// Commands the users sent.
    pub commands: u64,
    pub verdict: Verdict,
    /// Daemon processes started.
    pub daemon_runs: u32,
    /// Daemon exits, "cause: status" → count.
    pub exits: BTreeMap<String, u64>,
    pub unexpected_exits: Vec<String>,
    /// From the daemon's logs.
    pub actor_crashes: BTreeMap<String, u64>,
    pub actor_restarts: BTreeMap<String, u64>,
    /// Highest open descriptors and resident memory of any daemon process.
    pub max_fds: usize,
    pub max_rss_kib: u64,
    /// The work directory (config, database, logs), kept when the run failed.
    pub kept_dir: Option<PathBuf>,
}

impl Report {
    pub fn new(seed: u64, table: &[FaultKind]) -> Report {
        Report {
            seed,
            faults: table.iter().map(|k| (k.name, 0)).collect(),
            ..Report::default()
        }
    }

    pub fn count_fault(&mut self, name: &str) {
        if let Some(entry) = self.faults.iter_mut().find(|(n, _)| *n == name) {
            entry.1 += 1;
        }
    }

    /// No loss, no unexplained duplicate, nothing forbidden, no exit
    /// that should not have happened.
    pub fn passed(&self) -> bool {
        self.verdict.passed() && self.unexpected_exits.is_empty()
    }
}

/// At most this many offending pairs are listed per category.
const LIST_LIMIT: usize = 20;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.verdict;
        let result = if self.passed() { "PASSED" } else { "FAILED" };
        writeln!(f, "chaos campaign, seed {}: {result}", self.seed)?;
        writeln!(
            f,
            "  duration {:.0} s, drain {:.1} s",
            self.duration.as_secs_f64(),
            self.drain.as_secs_f64()
        )?;
        let total: u64 = self.faults.iter().map(|(_, n)| n).sum();
        writeln!(f, "  faults injected: {total}")?;
        for (name, n) in &self.faults {
            writeln!(f, "    {name:<32} {n}")?;
        }
        writeln!(f, "  transfers: {}", v.transfers)?;
        writeln!(f, "  user commands sent: {}", self.commands)?;
        writeln!(
            f,
            "  required (chat, transfer) pairs: {}, delivered: {}",
            v.required, v.required_delivered
        )?;
        writeln!(
            f,
            "  notifications accepted by the Bot API: {}",
            v.deliveries
        )?;
        let dups: u64 = v.duplicates.values().sum();
        writeln!(f, "  explained duplicates: {dups}")?;
        for (cause, n) in &v.duplicates {
            writeln!(f, "    {cause:<32} {n}")?;
        }
        writeln!(f, "  unexplained duplicates: {}", v.unexplained.len())?;
        writeln!(f, "  losses: {}", v.losses.len())?;
        writeln!(f, "  forbidden deliveries: {}", v.forbidden.len())?;
        writeln!(f, "  accepted while blocked: {}", v.while_blocked.len())?;
        writeln!(f, "  daemon processes started: {}", self.daemon_runs)?;
        for (exit, n) in &self.exits {
            writeln!(f, "    {exit:<32} {n}")?;
        }
        let crashes = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(a, n)| format!("{a} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "  actor crashes (log): {}", crashes(&self.actor_crashes))?;
        writeln!(
            f,
            "  actor restarts (log): {}",
            crashes(&self.actor_restarts)
        )?;
        writeln!(
            f,
            "  daemon max open descriptors: {}, max RSS: {:.1} MiB",
            self.max_fds,
            self.max_rss_kib as f64 / 1024.0
        )?;
        for (title, list) in [
            ("LOSSES", &v.losses),
            ("UNEXPLAINED DUPLICATES", &v.unexplained),
            ("FORBIDDEN DELIVERIES", &v.forbidden),
            ("ACCEPTED WHILE BLOCKED", &v.while_blocked),
        ] {
            if !list.is_empty() {
                writeln!(f, "  {title} (seed {}):", self.seed)?;
                for o in list.iter().take(LIST_LIMIT) {
                    writeln!(f, "    {o}")?;
                }
                if list.len() > LIST_LIMIT {
                    writeln!(f, "    … and {} more", list.len() - LIST_LIMIT)?;
                }
            }
        }
        for e in &self.unexpected_exits {
            writeln!(f, "  UNEXPECTED EXIT: {e}")?;
        }
        if let Some(dir) = &self.kept_dir {
            writeln!(
                f,
                "  config, database and daemon logs kept in {}",
                dir.display()
            )?;
        }
        Ok(())
    }
}

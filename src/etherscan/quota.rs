//! The scanner's side of the daily call budget ([`crate::scanner::budget`]):
//! today's counts loaded once from the database (a restart keeps them),
//! the poll gate (stretch from 90 %, pause Etherscan at the limit), and one
//! write per poll with the calls it made.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use super::blockscout;
use super::error::ApiError;
use super::{Scanner, pause};
use crate::db::budget::{GetCalls, RecordCalls};
use crate::scanner::budget::{self, Verdict, utc_day};

/// Alert key of a stretched poll interval.
const STRETCH_ALERT: &str = "etherscan:budget-stretch";

/// Today's counts and what was already written.
#[derive(Debug, Default)]
pub(super) struct Quota {
    /// The UTC day `used` counts; `None` until loaded.
    day: Option<i64>,
    /// Calls per provider today, as stored.
    used: BTreeMap<String, u64>,
    /// Each client's `calls_sent` at the last write (Etherscan, Blockscout).
    flushed: (u64, u64),
    /// Etherscan calls of the last poll that made any.
    per_poll: u64,
    /// When the last poll ran (not skipped).
    last_poll: Option<Instant>,
}

impl Scanner {
    /// Before a poll: loads today's counts (once a day), pauses Etherscan
    /// at the limit, and says why this poll is skipped when the budget
    /// stretches polls.
    pub(super) async fn budget_gate(&self) -> Option<String> {
        let now = SystemTime::now();
        let day = utc_day(now);
        if self.quota.borrow().day != Some(day) {
            match self.deps.scanner.db.exec(GetCalls { day }).await {
                Ok(rows) => {
                    let mut q = self.quota.borrow_mut();
                    q.used = rows.into_iter().collect();
                    q.day = Some(day);
                }
                Err(e) => tracing::warn!(actor = "etherscan", error = %e,
                    "cannot read today's call counts; counting from what this run sends"),
            }
            self.publish_counts();
        }
        let limit = self.deps.config.etherscan.daily_limit;
        let (used, per_poll, last) = {
            let q = self.quota.borrow();
            let used = q.used.get(pause::PROVIDER).copied().unwrap_or(0);
            (used, q.per_poll, q.last_poll)
        };
        let (alerts, pauses) = (&self.deps.scanner.alerts, &self.deps.scanner.pauses);
        match budget::verdict(used, limit, per_poll, now) {
            Verdict::Normal => alerts.resolve(STRETCH_ALERT),
            Verdict::Spent => {
                if pauses.paused(pause::PROVIDER).is_none() {
                    let why = ApiError::DailyLimit(format!(
                        "call budget: {used} of etherscan.daily_limit {limit} used today"
                    ));
                    let probes = pause::ProbeIntervals::from_config(&self.deps.config.etherscan);
                    if let Some((mut p, text)) = pause::pause_for(&why, now, probes) {
                        // The budget is ours: no probe spends it before midnight.
                        p.next_probe = p.until.unwrap_or(p.next_probe);
                        tracing::warn!(
                            actor = "etherscan",
                            used,
                            limit,
                            "daily call budget spent; Etherscan paused until midnight UTC"
                        );
                        alerts.raise(&p.alert_key, text);
                        pauses.pause(p);
                    }
                }
            }
            Verdict::Stretch(every) => {
                let every_text = humantime::format_duration(std::time::Duration::from_secs(
                    every.as_secs().max(1),
                ));
                alerts.raise(
                    STRETCH_ALERT,
                    format!(
                        "Etherscan calls today: {used} of {limit} (≥ {} %). Polls are stretched to \
                         about every {every_text} so the rest lasts until midnight UTC.",
                        budget::STRETCH_PERCENT
                    ),
                );
                // Stretching saves Etherscan calls: moot while it is paused
                // (chains with a fallback poll Blockscout meanwhile).
                let paused = pauses.paused(pause::PROVIDER).is_some();
                if !paused && last.is_some_and(|t| t.elapsed() < every) {
                    return Some(format!(
                        "call budget: {used} of {limit} used today; polls stretched to every {every_text}"
                    ));
                }
            }
        }
        self.quota.borrow_mut().last_poll = Some(Instant::now());
        None
    }

    /// After a poll: one write adding the calls it sent, per provider.
    pub(super) async fn record_calls(&self) {
        let sent = (self.client.calls_sent(), self.fallback.calls_sent());
        let (etherscan, blockscout) = {
            let q = self.quota.borrow();
            (sent.0 - q.flushed.0, sent.1 - q.flushed.1)
        };
        if etherscan + blockscout == 0 {
            return;
        }
        let day = utc_day(SystemTime::now());
        let calls = vec![
            (pause::PROVIDER, etherscan),
            (blockscout::PROVIDER, blockscout),
        ];
        match self.deps.scanner.db.exec(RecordCalls { day, calls }).await {
            Ok(rows) => {
                let mut q = self.quota.borrow_mut();
                q.used = rows.into_iter().collect();
                q.day = Some(day);
                q.flushed = sent;
                if etherscan > 0 {
                    q.per_poll = etherscan;
                }
            }
            // Kept in `flushed`'s gap: the next poll's write adds them.
            Err(e) => {
                tracing::warn!(actor = "etherscan", error = %e, "cannot record today's call counts")
            }
        }
        self.publish_counts();
    }

    /// Today's counts for `/status`.
    fn publish_counts(&self) {
        let limit = self.deps.config.etherscan.daily_limit;
        let q = self.quota.borrow();
        let line = [pause::PROVIDER, blockscout::PROVIDER]
            .iter()
            .map(|p| {
                let used = q.used.get(*p).copied().unwrap_or(0);
                match *p {
                    pause::PROVIDER => format!("{p} {used} of {limit}"),
                    _ => format!("{p} {used}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.deps.scanner.health.set_calls_today(line);
    }
}

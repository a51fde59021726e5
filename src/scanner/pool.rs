//! A provider pool per chain: which source serves a chain's poll, and each
//! source's health. It knows nothing of any provider: a source is an entry
//! in an ordered list, a caller's key `K` (e.g. a provider enum) with a
//! name; the caller says which poll went where and how it went.
//!
//! - **Order.** A poll is served by the first healthy source in list order
//!   (today Etherscan, then Blockscout). Heads and logs of one poll come
//!   from the one chosen source (the caller's promise: one source per chain
//!   per poll).
//! - **Moving on.** A poll that failed in a way retries cannot fix (the
//!   caller decides which: [`Report::failure`]) counts one failure of its
//!   source; any other poll resets the count. At `threshold` failures in a
//!   row the source is *left*: the next source in order serves.
//! - **Probing, moving back.** A left source is probed by one poll every
//!   `probe_interval` while a later source serves; a probe that answers
//!   makes it healthy again, and, being earlier in the order, it serves
//!   again. Sources after it are then assumed healthy again (they are not
//!   asked while an earlier one serves, so what they last said is stale).
//! - **Every source failing.** Then none is "on probation": each is tried
//!   again after its own short backoff ([`BACKOFF_FIRST`] doubling per
//!   failure, capped at [`BACKOFF_CAP`]), so the chain resumes within one
//!   poll interval plus that backoff of the first correct answer of any
//!   source. Polls in between make no call for the chain.
//! - **Pauses.** A source paused by its caller (a daily cap, a rejected key)
//!   is not healthy and gets no poll before its pause ends.
//!
//! The pool lives in memory (a restart starts with every source healthy).
//! Its state is published through the chain's
//! [`ChainHealth`](crate::metrics::ChainHealth) (`/status`, `/metrics`),
//! and a change of the serving source is told to the admins once by
//! [`announce`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::domain::Chain;
use crate::metrics::{Alerts, Health, utc_hhmm};
use crate::scanner::budget::utc_day;
use crate::scanner::summary::ChainSummary;

/// The first backoff of a source while every source of its pool is failing.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);

/// The longest backoff of a source while every source of its pool is failing.
pub const BACKOFF_CAP: Duration = Duration::from_secs(4);

/// Polls in a row the one source of a chain that has no other (TronGrid)
/// may fail before the chain has "no working source".
pub const SINGLE_SOURCE_THRESHOLD: u32 = 3;

/// A caller's pause of a source: no poll before `until`, because of `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// Short, for `/status`: "daily cap reached".
    pub reason: String,
    /// The earliest poll (the pause's probe).
    pub until: SystemTime,
}

/// How one poll of a chain on one source went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Calls the poll sent to the source, retries included.
    pub calls: u64,
    /// Errors the poll ended with (any kind).
    pub errors: u64,
    /// Wall time of the poll.
    pub latency: Duration,
    /// `Some(why)`: the poll failed in a way retries cannot fix (the
    /// caller's classification); `None`: the source answered.
    pub failure: Option<String>,
    /// The provider told the admins of that failure itself.
    pub told: bool,
}

/// One source and its health.
#[derive(Debug, Clone)]
struct Entry<K> {
    key: K,
    name: String,
    /// Failures retries cannot fix, in a row.
    failures: u32,
    /// When the pool left it (`failures` reached the threshold).
    failing_since: Option<SystemTime>,
    /// While left: the earliest next poll (probe or backoff).
    retry_at: Option<SystemTime>,
    last_error: Option<String>,
    /// The provider told the admins of `last_error` itself.
    told: bool,
    last_latency: Option<Duration>,
    pause: Option<Pause>,
    /// The UTC day (days since the epoch) of the `_today` counts.
    day: i64,
    calls_today: u64,
    errors_today: u64,
    calls_total: u64,
    errors_total: u64,
}

/// The serving source changed: `None` is "no working source".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    pub from: Option<String>,
    pub to: Option<String>,
    /// The first source in order (the one the pool prefers).
    pub first: String,
    /// Why: the reason of the source left (or, with `to: None`, of each).
    pub why: String,
    /// Every source is paused by its provider (daily cap, rejected key) or
    /// failed in a way its provider told the admins of (a chain the plan
    /// does not cover): "no working source" adds nothing for them.
    pub all_told: bool,
    /// The source left (`from`, when the pool moved on) is paused until
    /// then: its next probe, rather than every `probe_interval`.
    pub from_paused_until: Option<SystemTime>,
}

/// One source's state, for `/status` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// E.g. "Etherscan".
    pub name: String,
    /// The chain's polls go to it.
    pub serving: bool,
    /// Why it serves or not, e.g. "serving", "standby", "paused: daily cap
    /// reached until 00:00 UTC", "left after 3 failures (HTTP 500) since
    /// 10:01 UTC; next probe 10:02:00 UTC".
    pub state: String,
    /// Failures retries cannot fix, in a row.
    pub failures: u32,
    /// Wall time of its last poll of the chain.
    pub latency: Option<Duration>,
    /// Calls and errors of the chain's polls on it today (UTC) and since start.
    pub calls_today: u64,
    pub errors_today: u64,
    pub calls_total: u64,
    pub errors_total: u64,
}

impl SourceStatus {
    /// One `/status` line: "Etherscan: serving; calls today 12, errors 0".
    pub fn line(&self) -> String {
        let mut s = format!("{}: {}", self.name, self.state);
        if let Some(l) = self.latency {
            s += &format!("; last poll {} ms", l.as_millis());
        }
        s += &format!(
            "; calls today {}, errors {}",
            self.calls_today, self.errors_today
        );
        s
    }
}

/// The ordered sources of one chain.
#[derive(Debug, Clone)]
pub struct Pool<K> {
    entries: Vec<Entry<K>>,
    threshold: u32,
    probe_interval: Duration,
}

/// The backoff of a source `extra` failures past the threshold, every
/// source failing.
pub fn backoff(extra: u32) -> Duration {
    BACKOFF_FIRST
        .saturating_mul(1u32 << extra.min(16))
        .min(BACKOFF_CAP)
}

/// "HH:MM:SS UTC" of a time.
fn utc_hhmmss(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let of_day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

impl<K: PartialEq + Clone> Pool<K> {
    /// A pool of `sources` (key, name) in order of preference; `threshold`
    /// (at least 1) failures in a row leave a source, which is then probed
    /// every `probe_interval` while another serves.
    pub fn new(sources: Vec<(K, String)>, threshold: u32, probe_interval: Duration) -> Self {
        let entries = sources
            .into_iter()
            .map(|(key, name)| Entry {
                key,
                name,
                failures: 0,
                failing_since: None,
                retry_at: None,
                last_error: None,
                told: false,
                last_latency: None,
                pause: None,
                day: 0,
                calls_today: 0,
                errors_today: 0,
                calls_total: 0,
                errors_total: 0,
            })
            .collect();
        Pool {
            entries,
            threshold: threshold.max(1),
            probe_interval,
        }
    }

    /// How often a left source is probed while another serves.
    pub fn probe_interval(&self) -> Duration {
        self.probe_interval
    }

    fn healthy(&self, i: usize) -> bool {
        let e = &self.entries[i];
        e.pause.is_none() && e.failures < self.threshold
    }

    /// An unhealthy source whose pause and backoff (or probe wait) are over.
    fn due(&self, i: usize, now: SystemTime) -> bool {
        let e = &self.entries[i];
        e.pause.as_ref().is_none_or(|p| p.until <= now) && e.retry_at.is_none_or(|t| t <= now)
    }

    /// The index of the source that serves the chain: the first healthy
    /// one; `None` when no source works.
    pub fn serving(&self) -> Option<usize> {
        (0..self.entries.len()).find(|&i| self.healthy(i))
    }

    /// The source for this poll: the first, in order, that is healthy or
    /// due for a probe (or, every source failing, a retry), skipping those
    /// `excluded` says (e.g. refused account-wide earlier in this poll).
    /// `None`: no call for the chain in this poll.
    pub fn choose(&self, now: SystemTime, excluded: impl Fn(&K) -> bool) -> Option<K> {
        (0..self.entries.len())
            .filter(|&i| !excluded(&self.entries[i].key))
            .find(|&i| self.healthy(i) || self.due(i, now))
            .map(|i| self.entries[i].key.clone())
    }

    fn index(&self, key: &K) -> Option<usize> {
        self.entries.iter().position(|e| &e.key == key)
    }

    /// Is the source at `i` answering: healthy, and its last poll served?
    /// While a source answers, the ones left before it wait for their probe;
    /// while none does, each is retried after its own short backoff.
    fn answering(&self, i: usize) -> bool {
        self.healthy(i) && self.entries[i].failures == 0
    }

    /// Records a poll of the chain on `key`'s source.
    pub fn record(&mut self, key: &K, report: Report, now: SystemTime) {
        let Some(i) = self.index(key) else {
            return;
        };
        let others_answering = (0..self.entries.len()).any(|j| j != i && self.answering(j));
        let (threshold, probe_interval) = (self.threshold, self.probe_interval);
        let e = &mut self.entries[i];
        let day = utc_day(now);
        if e.day != day {
            (e.day, e.calls_today, e.errors_today) = (day, 0, 0);
        }
        e.calls_today += report.calls;
        e.errors_today += report.errors;
        e.calls_total += report.calls;
        e.errors_total += report.errors;
        e.last_latency = Some(report.latency);
        match report.failure {
            // What the other sources last said stands: a source left keeps
            // its record until it answers itself.
            None => (e.failures, e.failing_since, e.retry_at) = (0, None, None),
            Some(why) => {
                e.failures = e.failures.saturating_add(1);
                e.last_error = Some(why);
                e.told = report.told;
                if e.failures >= threshold {
                    e.failing_since.get_or_insert(now);
                    let wait = if others_answering {
                        probe_interval
                    } else {
                        backoff(e.failures - threshold)
                    };
                    e.retry_at = Some(now + wait);
                }
            }
        }
        self.settle(now);
    }

    /// Pauses `key`'s source until `pause.until` (`None`: lifts its pause).
    pub fn pause(&mut self, key: &K, pause: Option<Pause>, now: SystemTime) {
        if let Some(i) = self.index(key) {
            self.entries[i].pause = pause;
            self.settle(now);
        }
    }

    /// With no source answering (every one failing, or the one serving
    /// failed its last poll) none is on probation: each left source's next
    /// try is at most its own backoff away.
    fn settle(&mut self, now: SystemTime) {
        if (0..self.entries.len()).any(|i| self.answering(i)) {
            return;
        }
        let threshold = self.threshold;
        for e in &mut self.entries {
            if e.failures >= threshold {
                let soon = now + backoff(e.failures - threshold);
                e.retry_at = Some(e.retry_at.map_or(soon, |t| t.min(soon)));
            }
        }
    }

    /// Why the source at `i` does not serve, short.
    fn reason(&self, i: usize) -> String {
        let e = &self.entries[i];
        match (&e.pause, &e.last_error) {
            (Some(p), _) => format!("paused: {}", p.reason),
            (None, Some(err)) => err.clone(),
            (None, None) => "failing".into(),
        }
    }

    /// The change of serving source since `before` (a [`serving`](Self::serving)
    /// taken before the pool was told something), if any.
    pub fn switch_from(&self, before: Option<usize>) -> Option<Switch> {
        let after = self.serving();
        if before == after {
            return None;
        }
        let name = |i: usize| self.entries[i].name.clone();
        let why = match (before, after) {
            (_, None) => (0..self.entries.len())
                .map(|i| format!("{}: {}", name(i), self.reason(i)))
                .collect::<Vec<_>>()
                .join(", "),
            (Some(b), Some(a)) if a > b => self.reason(b),
            (_, Some(a)) => format!("{} answers", name(a)),
        };
        Some(Switch {
            from: before.map(name),
            to: after.map(name),
            first: self
                .entries
                .first()
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            why,
            all_told: self
                .entries
                .iter()
                .all(|e| e.pause.is_some() || (e.failures > 0 && e.told)),
            from_paused_until: before
                .and_then(|b| self.entries[b].pause.as_ref())
                .map(|p| p.until),
        })
    }

    /// Each source's state at `now`, in order.
    pub fn status(&self, now: SystemTime) -> Vec<SourceStatus> {
        let serving = self.serving();
        let day = utc_day(now);
        (0..self.entries.len())
            .map(|i| {
                let e = &self.entries[i];
                let state = if serving == Some(i) {
                    "serving".to_string()
                } else if let Some(p) = &e.pause {
                    format!("paused: {}, next try {}", p.reason, utc_hhmmss(p.until))
                } else if e.failures >= self.threshold {
                    let next = e.retry_at.map_or_else(|| "now".into(), utc_hhmmss);
                    let how = if serving.is_some() {
                        "next probe"
                    } else {
                        "every source failing, next try"
                    };
                    format!(
                        "left after {} failures ({}) since {}; {how} {next}",
                        e.failures,
                        e.last_error.as_deref().unwrap_or("failing"),
                        e.failing_since.map_or_else(|| "?".into(), utc_hhmm),
                    )
                } else {
                    "standby".to_string()
                };
                let today = e.day == day;
                SourceStatus {
                    name: e.name.clone(),
                    serving: serving == Some(i),
                    state,
                    failures: e.failures,
                    latency: e.last_latency,
                    calls_today: if today { e.calls_today } else { 0 },
                    errors_today: if today { e.errors_today } else { 0 },
                    calls_total: e.calls_total,
                    errors_total: e.errors_total,
                }
            })
            .collect()
    }

    /// The chain's one-line provider for `/status`: the serving source's
    /// name, with why the sources before it do not serve, e.g. "Blockscout
    /// (Etherscan: HTTP 500, left 10:01 UTC, next probe 10:02:00 UTC)";
    /// "no working source (…)" when none works.
    pub fn describe(&self) -> String {
        let Some(serving) = self.serving() else {
            let why = (0..self.entries.len())
                .map(|i| format!("{}: {}", self.entries[i].name, self.reason(i)))
                .collect::<Vec<_>>()
                .join(", ");
            return format!("no working source ({why}); each retried with a short backoff");
        };
        let name = &self.entries[serving].name;
        let left: Vec<String> = (0..serving)
            .map(|i| {
                let e = &self.entries[i];
                let mut s = format!("{}: {}", e.name, self.reason(i));
                if let Some(since) = e.failing_since {
                    s += &format!(", left {}", utc_hhmm(since));
                }
                match (&e.pause, e.retry_at) {
                    (Some(p), _) => s += &format!(", next probe {}", utc_hhmmss(p.until)),
                    (None, Some(t)) => s += &format!(", next probe {}", utc_hhmmss(t)),
                    (None, None) => {}
                }
                s
            })
            .collect();
        if left.is_empty() {
            name.clone()
        } else {
            format!("{name} ({})", left.join("; "))
        }
    }
}

/// The pools of one scanner's chains, and where their state goes: each
/// chain's health (`/status`, `/metrics`) and, on a change of serving
/// source, the admins ([`announce`]). Every chain of a scanner has a pool,
/// one of a single source included: so a chain whose only source keeps
/// failing is "no working source" in `/status`, and the admins hear of it.
pub struct Pools<K> {
    /// The scanner's child name, in log lines.
    actor: &'static str,
    pools: RefCell<HashMap<u64, Pool<K>>>,
    health: Arc<Health>,
    alerts: Arc<Alerts>,
}

impl<K: PartialEq + Clone> Pools<K> {
    /// `pools`: (chain id, its pool).
    pub fn new(
        actor: &'static str,
        pools: impl IntoIterator<Item = (u64, Pool<K>)>,
        health: Arc<Health>,
        alerts: Arc<Alerts>,
    ) -> Self {
        Pools {
            actor,
            pools: RefCell::new(pools.into_iter().collect()),
            health,
            alerts,
        }
    }

    /// The source for this poll of `chain`: the first healthy or due one,
    /// skipping those `excluded` says; `None`: no call for the chain this
    /// poll. `pauses`: each source's pause as its provider has it now.
    pub fn choose(
        &self,
        chain: &Chain,
        pauses: &[(K, Option<Pause>)],
        excluded: impl Fn(&K) -> bool,
    ) -> Option<K> {
        let mut chosen = None;
        self.update(chain, pauses, |pool, now| {
            chosen = pool.choose(now, excluded);
        });
        if chosen.is_none() {
            tracing::debug!(
                actor = self.actor,
                chain = chain.name,
                "no source due: the chain waits for its next poll"
            );
        }
        chosen
    }

    /// Is a poll of `chain` on `key` a probe: another source serves the
    /// chain while `key`'s, left, is due? (Its calls need no patience.)
    pub fn probing(&self, chain: &Chain, key: &K) -> bool {
        let pools = self.pools.borrow();
        let Some(pool) = pools.get(&chain.id) else {
            return false;
        };
        pool.serving().is_some_and(|i| pool.entries[i].key != *key)
    }

    /// Tells `chain`'s pool how its poll on `key` went: `out` (the frame
    /// says whether the source served it), `latency` its wall time.
    pub fn record<E>(
        &self,
        chain: &Chain,
        key: &K,
        out: &ChainSummary<E>,
        latency: Duration,
        pauses: &[(K, Option<Pause>)],
    ) {
        let report = Report {
            calls: out.calls,
            errors: out.errors.len() as u64,
            latency,
            failure: out.source_failed.as_ref().map(|f| f.why.clone()),
            told: out.source_failed.as_ref().is_some_and(|f| f.told),
        };
        self.update(chain, pauses, |pool, now| pool.record(key, report, now));
    }

    /// Applies `pauses` and `change` to `chain`'s pool, then publishes its
    /// state and announces a change of serving source.
    fn update(
        &self,
        chain: &Chain,
        pauses: &[(K, Option<Pause>)],
        change: impl FnOnce(&mut Pool<K>, SystemTime),
    ) {
        let mut pools = self.pools.borrow_mut();
        let Some(pool) = pools.get_mut(&chain.id) else {
            return;
        };
        let now = SystemTime::now();
        let before = pool.serving();
        for (key, pause) in pauses {
            pool.pause(key, pause.clone(), now);
        }
        change(pool, now);
        let switch = pool.switch_from(before);
        let (line, sources) = (pool.describe(), pool.status(now));
        let probe_interval = pool.probe_interval();
        drop(pools);
        self.health.chain(chain.id, |h| {
            h.provider = Some(line);
            h.sources = sources;
        });
        if let Some(switch) = switch {
            announce(&self.alerts, self.actor, chain, &switch, probe_interval);
        }
    }
}

/// Tells the log and the admins about a change of a chain's serving source,
/// once per change (`actor` names the scanner in the log):
///
/// - first source → a later one: "the first keeps failing, moved to …",
///   alert `<first>:fallback:<chain>` (active until the first serves again);
/// - → none: "no working source", alert `pool:<chain>:no-source` (not
///   when every source is paused: each pause alerted with its reason);
/// - none → one: a one-off "works again" notice if "no working source"
///   was told (both alerts end when the first serves);
/// - a later one → the first: a one-off "back on the first" notice.
pub fn announce(
    alerts: &Alerts,
    actor: &'static str,
    chain: &Chain,
    switch: &Switch,
    probe_interval: Duration,
) {
    let fallback = format!("{}:fallback:{}", switch.first.to_lowercase(), chain.name);
    let down = format!("pool:{}:no-source", chain.name);
    let first = switch.first.as_str();
    let why = switch.why.as_str();
    // A one-off notice: raised and ended at once, so it is handed to the
    // admins once and never stays in /status.
    let notice = |key: String, text: String| {
        alerts.raise(&key, text);
        alerts.resolve(&key);
    };
    match (switch.from.as_deref(), switch.to.as_deref()) {
        (_, None) => {
            tracing::warn!(
                actor,
                chain = chain.name,
                reason = why,
                "no working source: each is retried with a short backoff"
            );
            if switch.all_told {
                // Each source's own alert says why (and until when).
                return;
            }
            alerts.raise(
                &down,
                format!(
                    "{}: no working source ({why}). Retried every few seconds; \
                     scanning resumes at the first correct answer, nothing is lost.",
                    chain.display
                ),
            );
        }
        (None, Some(to)) => {
            tracing::info!(
                actor,
                chain = chain.name,
                source = to,
                "a source works again"
            );
            let was_down = alerts.is_active(&down);
            alerts.resolve(&down);
            if to == first {
                alerts.resolve(&fallback);
            }
            if !was_down {
                // Told nothing (each source's own alert spoke): nothing to end.
                return;
            }
            notice(
                format!("{down}:again"),
                format!(
                    "{}: {to} answers again; scanning resumes on {to}.",
                    chain.display
                ),
            );
        }
        (Some(from), Some(to)) if to == first => {
            tracing::info!(
                actor,
                chain = chain.name,
                from,
                "{first} answers again; scanning back on {first}"
            );
            alerts.resolve(&fallback);
            notice(
                format!("{fallback}:closed"),
                format!(
                    "{}: {first} answers again; scanning is back on {first}.",
                    chain.display
                ),
            );
        }
        (Some(from), Some(to)) => {
            tracing::warn!(
                actor,
                chain = chain.name,
                from,
                to,
                reason = why,
                "source left: scanning moved on"
            );
            if from == first {
                let text = match switch.from_paused_until {
                    Some(until) => format!(
                        "{}: {first} is {why}; scanning moved to {to}. {first} is probed \
                         at {} and takes over again when it answers.",
                        chain.display,
                        utc_hhmmss(until),
                    ),
                    None => format!(
                        "{}: {first} keeps failing ({why}); scanning moved to {to}. \
                         {first} is probed every {} and takes over again when it answers.",
                        chain.display,
                        humantime::format_duration(probe_interval),
                    ),
                };
                alerts.raise(&fallback, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + ms)
    }

    const PROBE: Duration = Duration::from_secs(60);

    fn pool() -> Pool<u8> {
        Pool::new(vec![(0, "A".into()), (1, "B".into())], 2, PROBE)
    }

    fn fail(p: &mut Pool<u8>, k: u8, at: u64) {
        let report = Report {
            calls: 2,
            errors: 1,
            failure: Some("HTTP 500".into()),
            ..Report::default()
        };
        p.record(&k, report, t(at));
    }

    fn answer(p: &mut Pool<u8>, k: u8, at: u64) {
        let report = Report {
            calls: 3,
            ..Report::default()
        };
        p.record(&k, report, t(at));
    }

    fn choose(p: &Pool<u8>, at: u64) -> Option<u8> {
        p.choose(t(at), |_| false)
    }

    #[test]
    fn serves_in_order_and_moves_on_at_the_threshold_only() {
        let mut p = pool();
        assert_eq!(choose(&p, 0), Some(0));
        fail(&mut p, 0, 0);
        answer(&mut p, 0, 1);
        fail(&mut p, 0, 2);
        assert_eq!(choose(&p, 3), Some(0), "one failure in a row: still first");
        let before = p.serving();
        fail(&mut p, 0, 3);
        let s = p.switch_from(before).expect("moved on");
        assert_eq!(
            (s.from.as_deref(), s.to.as_deref(), s.why.as_str()),
            (Some("A"), Some("B"), "HTTP 500")
        );
        assert_eq!(choose(&p, 4), Some(1));
        assert!(
            p.describe().starts_with("B (A: HTTP 500"),
            "{}",
            p.describe()
        );
        let status = p.status(t(4));
        assert!(!status[0].serving && status[1].serving);
        assert_eq!((status[0].calls_today, status[0].errors_today), (9, 3));
    }

    #[test]
    fn a_left_source_is_probed_once_per_interval_and_serves_again_when_it_answers() {
        let mut p = pool();
        fail(&mut p, 0, 0);
        fail(&mut p, 0, 0);
        assert_eq!(choose(&p, 59_999), Some(1));
        assert_eq!(choose(&p, 60_000), Some(0), "the probe");
        fail(&mut p, 0, 60_000);
        assert_eq!(choose(&p, 60_001), Some(1), "failed probe: wait again");
        assert_eq!(choose(&p, 119_999), Some(1));
        assert_eq!(choose(&p, 120_000), Some(0));
        let before = p.serving();
        answer(&mut p, 0, 120_000);
        let s = p.switch_from(before).expect("back");
        assert_eq!((s.from.as_deref(), s.to.as_deref()), (Some("B"), Some("A")));
        assert_eq!(choose(&p, 120_001), Some(0));
        assert_eq!(p.describe(), "A");
    }

    #[test]
    fn every_source_failing_each_is_retried_with_its_own_short_backoff() {
        let mut p = pool();
        fail(&mut p, 0, 0);
        fail(&mut p, 0, 0); // A left, probe in 60 s
        fail(&mut p, 1, 100);
        let before = p.serving();
        fail(&mut p, 1, 100);
        let s = p.switch_from(before).expect("none works");
        assert_eq!(s.to, None);
        assert_eq!(s.why, "A: HTTP 500, B: HTTP 500");
        assert!(p.describe().starts_with("no working source"));
        // A is no longer on probation: it is tried after its backoff.
        assert_eq!(choose(&p, 99), None, "A's backoff runs from B's failure");
        assert_eq!(choose(&p, 100 + 499), None);
        assert_eq!(choose(&p, 600), Some(0));
        fail(&mut p, 0, 600); // 1 s next
        assert_eq!(choose(&p, 601), Some(1), "B's own backoff is over");
        fail(&mut p, 1, 601);
        assert_eq!(choose(&p, 1_599), None);
        assert_eq!(choose(&p, 1_600), Some(0));
        // The backoff doubles and is capped at a few seconds.
        let mut at = 1_600;
        for _ in 0..10 {
            fail(&mut p, 0, at);
            at += 10_000;
        }
        assert!(p.entries[0].retry_at.unwrap() <= t(at - 10_000) + BACKOFF_CAP);
        // The first correct answer of any source ends the outage.
        let before = p.serving();
        assert_eq!(choose(&p, at), Some(0));
        answer(&mut p, 0, at);
        let s = p.switch_from(before).expect("works again");
        assert_eq!((s.from, s.to.as_deref()), (None, Some("A")));
        assert_eq!(choose(&p, at + 1), Some(0));
        assert_eq!(p.describe(), "A");
        // B was not asked since: it keeps its record (not assumed to work),
        // and is tried at once when A fails again.
        assert!(!p.status(t(at + 1))[1].state.starts_with("standby"));
        fail(&mut p, 0, at + 1);
        let before = p.serving();
        fail(&mut p, 0, at + 2);
        assert_eq!(p.switch_from(before).and_then(|s| s.to), None);
        assert_eq!(choose(&p, at + 3), Some(1));
    }

    /// Found by review: a fallback that never answers (a timeout each
    /// poll) kept counting as serving until its threshold, so the first
    /// source waited a whole probe interval after it had recovered.
    #[test]
    fn the_serving_fallback_failing_once_brings_the_first_back_after_its_backoff() {
        let mut p = pool();
        fail(&mut p, 0, 0);
        fail(&mut p, 0, 0); // A left; B answers (untried): A waits for its probe
        assert_eq!(choose(&p, 1), Some(1));
        fail(&mut p, 1, 15_000); // B timed out once: nobody answers now
        assert_eq!(p.serving(), Some(1), "B is not left after one failure");
        assert_eq!(choose(&p, 15_000 + 499), Some(1));
        assert_eq!(choose(&p, 15_000 + 500), Some(0), "A after its backoff");
        let before = p.serving();
        answer(&mut p, 0, 15_500);
        let s = p.switch_from(before).expect("back on A");
        assert_eq!((s.from.as_deref(), s.to.as_deref()), (Some("B"), Some("A")));
        // A failing again: B's failure is remembered, it is not a fresh
        // standby, and A is not put on probation behind it.
        fail(&mut p, 0, 16_000);
        fail(&mut p, 0, 16_001);
        assert_eq!(p.status(t(16_001))[1].failures, 1);
        assert_eq!(choose(&p, 16_002), Some(1));
        assert!(p.entries[0].retry_at.unwrap() <= t(16_001) + BACKOFF_FIRST);
    }

    #[test]
    fn a_later_source_answering_first_serves_while_the_first_is_retried() {
        let mut p = pool();
        for at in [0, 0] {
            fail(&mut p, 0, at);
        }
        for at in [1, 1] {
            fail(&mut p, 1, at);
        }
        assert_eq!(choose(&p, 501), Some(0));
        fail(&mut p, 0, 501); // A's backoff: 1 s
        assert_eq!(choose(&p, 502), Some(1));
        let before = p.serving();
        answer(&mut p, 1, 502);
        let s = p.switch_from(before).unwrap();
        assert_eq!((s.from, s.to.as_deref()), (None, Some("B")));
        assert_eq!(choose(&p, 1_501), Some(0), "A probed after its backoff");
        fail(&mut p, 0, 1_501);
        assert_eq!(choose(&p, 1_502), Some(1), "B serves: A is on probation");
        assert_eq!(choose(&p, 61_500), Some(1));
        assert_eq!(choose(&p, 61_501), Some(0));
    }

    #[test]
    fn a_pause_is_respected_even_with_every_source_failing() {
        let mut p = pool();
        let pause = Pause {
            reason: "daily cap reached".into(),
            until: t(900_000),
        };
        let before = p.serving();
        p.pause(&0, Some(pause), t(0));
        let s = p.switch_from(before).unwrap();
        assert_eq!(s.why, "paused: daily cap reached");
        assert_eq!(choose(&p, 1), Some(1));
        fail(&mut p, 1, 1);
        fail(&mut p, 1, 1);
        assert_eq!(p.serving(), None);
        for at in [2, 600, 5_000, 899_999] {
            assert_ne!(choose(&p, at), Some(0), "paused until 900 s");
        }
        assert_eq!(choose(&p, 900_000), Some(0), "its probe");
        assert!(p.status(t(1))[0].state.starts_with("paused: daily cap"));
        // Excluded for this poll only (refused account-wide).
        assert_eq!(p.choose(t(900_000), |k| *k == 0), Some(1));
        p.pause(&0, None, t(900_000));
        assert_eq!(choose(&p, 900_000), Some(0));
    }

    #[test]
    fn counts_of_today_start_again_at_midnight() {
        let mut p = pool();
        answer(&mut p, 0, 0);
        let tomorrow = 86_400_000;
        assert_eq!(p.status(t(tomorrow))[0].calls_today, 0);
        assert_eq!(p.status(t(tomorrow))[0].calls_total, 3);
        answer(&mut p, 0, tomorrow);
        assert_eq!(p.status(t(tomorrow))[0].calls_today, 3);
    }

    /// A pool whose every source is paused (a pool of one whose key was
    /// rejected, say) says so in `/status` but raises no second alert: the
    /// pause told the admins why and until when. Its lifting ends nothing
    /// that was not told. A failing source does alert, once, and its
    /// recovery is told.
    #[test]
    fn a_pool_of_paused_sources_leaves_the_telling_to_the_pauses() {
        let chain = Chain::by_id(1).expect("Ethereum");
        let alerts = Alerts::default();
        let mut p = Pool::new(vec![(0u8, "Etherscan".into())], 3, PROBE);
        let pause = Pause {
            reason: "API key rejected".into(),
            until: t(300_000),
        };
        let told = |p: &Pool<u8>, before| {
            if let Some(switch) = p.switch_from(before) {
                announce(&alerts, "etherscan", &chain, &switch, PROBE);
            }
        };
        let before = p.serving();
        p.pause(&0, Some(pause), t(0));
        told(&p, before);
        assert!(
            p.describe()
                .starts_with("no working source (Etherscan: paused")
        );
        let before = p.serving();
        p.pause(&0, None, t(300_000));
        answer(&mut p, 0, 300_000);
        told(&p, before);
        assert_eq!(alerts.take_undelivered(), []);

        for at in 0..3 {
            let before = p.serving();
            fail(&mut p, 0, 400_000 + at);
            told(&p, before);
        }
        let before = p.serving();
        answer(&mut p, 0, 500_000);
        told(&p, before);
        let keys: Vec<_> = alerts
            .take_undelivered()
            .into_iter()
            .map(|a| a.key)
            .collect();
        assert_eq!(
            keys,
            ["pool:ethereum:no-source", "pool:ethereum:no-source:again"]
        );
    }
}

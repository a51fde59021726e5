//! Shared health and counters: what `/status` and `/stats` show.
//!
//! Plain shared memory rather than actor messages, on purpose: an admin's
//! `/status` must answer while the scanner is busy with a poll or being
//! restarted, and counters must survive an actor's restart.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The scanner's view of one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainHealth {
    pub name: String,
    pub head: Option<u64>,
    /// The lowest cursor of the chain's tokens: everything up to it is recorded.
    pub cursor: Option<u64>,
    pub last_ok_poll: Option<SystemTime>,
    pub last_error: Option<String>,
    /// How the chain is scanned and why (EVM chains: logs or per-address,
    /// with the two daily estimates), for `/status`.
    pub scan_mode: Option<String>,
    /// Which source scans the chain, and why the sources before it do not
    /// (chains with a provider pool: EVM chains with a Blockscout fallback).
    pub provider: Option<String>,
    /// Each source of the chain's provider pool, in order (empty without a
    /// pool): serving or not, why, calls and errors.
    pub sources: Vec<crate::scanner::pool::SourceStatus>,
}

impl ChainHealth {
    /// Blocks between the head and the cursor.
    pub fn lag(&self) -> Option<u64> {
        Some(self.head?.saturating_sub(self.cursor?))
    }
}

/// Something only a human can fix (an invalid API key, say), or that a
/// human must know (restart intensity near its limit). Raised once per
/// incident: raising an alert that is already active does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: u64,
    /// Identifies the incident, e.g. "etherscan:invalid-key".
    pub key: String,
    pub text: String,
}

/// A provider that gets no calls until `next_probe`, because of `reason`:
/// one shape for every provider-wide condition (a daily quota spent, a key
/// revoked while running). At `next_probe` one call is let through as a
/// probe; its success lifts the pause, its failure sets the next probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPause {
    /// E.g. "Etherscan".
    pub provider: &'static str,
    /// Short, for `/status`: "daily cap reached", "API key rejected".
    pub reason: String,
    /// When the cause can have gone by itself (a daily quota: the next UTC
    /// midnight); `None` when only a fix can lift it.
    pub until: Option<SystemTime>,
    /// The earliest time of the next call (the probe).
    pub next_probe: SystemTime,
    /// The alert raised for it, resolved when the pause lifts.
    pub alert_key: String,
}

impl ProviderPause {
    /// One `/status` line, e.g. "Etherscan paused: daily cap reached,
    /// resumes ~00:00 UTC; next probe in 14m".
    pub fn describe(&self, now: SystemTime) -> String {
        let mut s = format!("{} paused: {}", self.provider, self.reason);
        if let Some(until) = self.until {
            s += &format!(", resumes ~{}", utc_hhmm(until));
        }
        let wait = self.next_probe.duration_since(now).unwrap_or_default();
        if wait.is_zero() {
            s += "; probing at the next poll";
        } else {
            let wait = Duration::from_secs(wait.as_secs().max(1));
            s += &format!("; next probe in {}", humantime::format_duration(wait));
        }
        s
    }
}

/// "HH:MM UTC" of a time.
pub fn utc_hhmm(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let of_day = secs % 86_400;
    format!("{:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60)
}

/// The next UTC midnight strictly after `t` (when daily quotas reset).
pub fn next_utc_midnight(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs((secs / 86_400 + 1) * 86_400)
}

#[derive(Debug, Default)]
pub struct Counters {
    pub etherscan_calls: AtomicU64,
    pub etherscan_errors: AtomicU64,
    pub etherscan_rate_limited: AtomicU64,
    pub polls: AtomicU64,
    /// getLogs items rejected as not a canonical Transfer of a registered
    /// contract (or outside the requested range); never notified.
    pub logs_rejected: AtomicU64,
    /// Polls skipped because the provider is paused.
    pub polls_paused: AtomicU64,
    pub notifications_sent: AtomicU64,
    pub notifications_failed: AtomicU64,
    pub telegram_429: AtomicU64,
    pub commands: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub counters: Counters,
    /// Prometheus instruments (`GET /metrics`).
    pub instruments: crate::instruments::Instruments,
    chains: Mutex<BTreeMap<u64, ChainHealth>>,
    alerts: Mutex<AlertBook>,
    pauses: Mutex<Vec<ProviderPause>>,
    /// Calls per provider today against the daily budget, for `/status`.
    calls_today: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct AlertBook {
    next_id: u64,
    active: Vec<Alert>,
    /// Alerts raised but not yet delivered to admins.
    undelivered: Vec<Alert>,
}

impl Metrics {
    /// Updates one chain's health in place.
    pub fn chain(&self, chain_id: u64, update: impl FnOnce(&mut ChainHealth)) {
        let mut chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        update(chains.entry(chain_id).or_default());
    }

    pub fn chains(&self) -> Vec<(u64, ChainHealth)> {
        let chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        chains.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Pauses `pause.provider` (replacing an earlier pause of it).
    pub fn pause(&self, pause: ProviderPause) {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.retain(|p| p.provider != pause.provider);
        pauses.push(pause);
    }

    /// Lifts the pause of `provider`, resolving its alert; returns it.
    pub fn lift(&self, provider: &str) -> Option<ProviderPause> {
        let lifted = {
            let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
            let at = pauses.iter().position(|p| p.provider == provider)?;
            pauses.remove(at)
        };
        self.resolve(&lifted.alert_key);
        Some(lifted)
    }

    /// The pause of `provider`, if any.
    pub fn paused(&self, provider: &str) -> Option<ProviderPause> {
        let pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.iter().find(|p| p.provider == provider).cloned()
    }

    /// Sets the `/status` line of today's calls ("Etherscan 123 of 100000, Blockscout 4").
    pub fn set_calls_today(&self, line: String) {
        *self.calls_today.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
    }

    /// Today's calls per provider, once a poll counted them.
    pub fn calls_today(&self) -> Option<String> {
        self.calls_today
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every paused provider.
    pub fn pauses(&self) -> Vec<ProviderPause> {
        self.pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Raises an alert unless one with the same key is active.
    pub fn raise(&self, key: &str, text: impl Into<String>) {
        let mut book = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        if book.active.iter().any(|a| a.key == key) {
            return;
        }
        book.next_id += 1;
        let alert = Alert {
            id: book.next_id,
            key: key.to_string(),
            text: text.into(),
        };
        tracing::warn!(alert = %alert.key, text = %alert.text, "alert raised");
        book.active.push(alert.clone());
        book.undelivered.push(alert);
    }

    /// Ends an incident: the next `raise` with this key alerts again.
    pub fn resolve(&self, key: &str) {
        let mut book = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        book.active.retain(|a| a.key != key);
    }

    pub fn active_alerts(&self) -> Vec<Alert> {
        let book = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        book.active.clone()
    }

    /// Alerts not yet handed to the bot; each is handed out once.
    pub fn take_undelivered(&self) -> Vec<Alert> {
        let mut book = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut book.undelivered)
    }
}

/// Open file descriptors of this process (Linux: entries of /proc/self/fd).
pub fn open_descriptors() -> Option<usize> {
    // The directory handle used for counting is itself one entry.
    Some(
        std::fs::read_dir("/proc/self/fd")
            .ok()?
            .count()
            .saturating_sub(1),
    )
}

/// Resident memory of this process in bytes (Linux: VmRSS).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_raised_once_per_incident() {
        let m = Metrics::default();
        m.raise("etherscan:invalid-key", "Invalid API Key");
        m.raise("etherscan:invalid-key", "Invalid API Key");
        assert_eq!(m.take_undelivered().len(), 1);
        assert!(m.take_undelivered().is_empty());
        m.resolve("etherscan:invalid-key");
        m.raise("etherscan:invalid-key", "Invalid API Key");
        assert_eq!(m.take_undelivered().len(), 1);
    }

    #[test]
    fn a_pause_is_described_and_lifting_it_resolves_its_alert() {
        let m = Metrics::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 22 * 3600);
        let midnight = next_utc_midnight(now);
        assert_eq!(
            midnight.duration_since(now).unwrap(),
            Duration::from_secs(2 * 3600)
        );
        assert_eq!(
            next_utc_midnight(midnight),
            midnight + Duration::from_secs(86_400)
        );
        m.raise("etherscan:daily-cap", "cap");
        m.pause(ProviderPause {
            provider: "Etherscan",
            reason: "daily cap reached".into(),
            until: Some(midnight),
            next_probe: now + Duration::from_secs(15 * 60),
            alert_key: "etherscan:daily-cap".into(),
        });
        assert_eq!(
            m.paused("Etherscan").unwrap().describe(now),
            "Etherscan paused: daily cap reached, resumes ~00:00 UTC; next probe in 15m"
        );
        assert!(m.paused("TronGrid").is_none());
        assert!(m.lift("Etherscan").is_some());
        assert!(m.pauses().is_empty());
        assert!(m.active_alerts().is_empty());
        assert!(m.lift("Etherscan").is_none());
    }

    #[test]
    fn process_figures_are_readable() {
        assert!(open_descriptors().unwrap() >= 3);
        assert!(resident_bytes().unwrap() > 0);
    }
}

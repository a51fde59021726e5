//! Shared health and counters: what `/status` and `/stats` show.
//!
//! Plain shared memory rather than actor messages, on purpose: an admin's
//! `/status` must answer while the scanner is busy with a poll or being
//! restarted, and counters must survive an actor's restart.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The scanner's view of one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainHealth {
    pub name: String,
    pub head: Option<u64>,
    /// The lowest cursor of the chain's tokens: everything up to it is recorded.
    pub cursor: Option<u64>,
    pub last_ok_poll: Option<SystemTime>,
    pub last_error: Option<String>,
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

#[derive(Debug, Default)]
pub struct Counters {
    pub etherscan_calls: AtomicU64,
    pub etherscan_errors: AtomicU64,
    pub etherscan_rate_limited: AtomicU64,
    pub polls: AtomicU64,
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
    fn process_figures_are_readable() {
        assert!(open_descriptors().unwrap() >= 3);
        assert!(resident_bytes().unwrap() > 0);
    }
}

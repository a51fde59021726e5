//! Plain counters for `/stats` (and a few for `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since the process started; each is written by one child.
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

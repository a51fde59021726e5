//! A per-chain circuit breaker around the primary provider (Etherscan),
//! with Blockscout as the fallback.
//!
//! - **Closed**: the chain is scanned on Etherscan. Each poll of the chain
//!   that fails in a way retries could not fix ([`is_hard`]: 5xx, timeouts,
//!   broken connections, non-JSON bodies, the daily cap) counts one failure;
//!   any poll without such a failure resets the count. At
//!   `blockscout.failure_threshold` failures in a row the breaker opens.
//! - **Open**: the chain is scanned on Blockscout (head *and* logs: a range
//!   is never scanned against one provider's head with the other's logs).
//!   Once per `blockscout.probe_interval` the breaker turns half-open.
//! - **Half-open**: one poll of the chain on Etherscan is the probe. A
//!   correct answer (a poll without a hard failure) closes the breaker;
//!   a hard failure opens it again for another interval.
//!
//! Switching is harmless for the data: the cursor stays one per (chain,
//! token), whichever provider moved it, and transfers are unique by (chain,
//! tx hash, log index), so a block seen on both providers is recorded once.
//! The state is in memory (a restart starts closed: Etherscan is tried
//! first) and shown in `/status` through the chain's health.

use std::time::{Duration, SystemTime};

use super::error::ApiError;

/// Which provider scans a chain in one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Etherscan,
    Blockscout,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Etherscan => "Etherscan",
            Provider::Blockscout => super::blockscout::PROVIDER,
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// On the primary; `failures` hard failures in a row so far.
    Closed { failures: u32 },
    /// On the fallback since `since`; the primary is probed at `probe_at`.
    Open {
        since: SystemTime,
        probe_at: SystemTime,
    },
    /// This poll probes the primary.
    HalfOpen { since: SystemTime },
}

/// What a recorded outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// The breaker opened: the chain moves to the fallback.
    ToFallback,
    /// The probe answered correctly: the chain is back on the primary.
    ToPrimary,
}

/// One chain's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    pub state: State,
    threshold: u32,
    probe_interval: Duration,
}

/// Is this a failure that retries cannot fix, so that the fallback should
/// take over? (Rate limits, range splits, unknown heads and answers that
/// need a human are not: the first two pass, the last two are not
/// Blockscout's to fix.)
pub fn is_hard(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Http(500..=599)
            | ApiError::Timeout(_)
            | ApiError::Connection(_)
            | ApiError::Malformed(_)
            | ApiError::DailyLimit(_)
    )
}

impl Breaker {
    pub fn new(threshold: u32, probe_interval: Duration) -> Self {
        Breaker {
            state: State::Closed { failures: 0 },
            threshold: threshold.max(1),
            probe_interval,
        }
    }

    /// The provider for this poll of the chain; turns an open breaker
    /// half-open when its probe is due.
    pub fn choose(&mut self, now: SystemTime) -> Provider {
        match self.state {
            State::Closed { .. } | State::HalfOpen { .. } => Provider::Etherscan,
            State::Open { since, probe_at } if now >= probe_at => {
                self.state = State::HalfOpen { since };
                Provider::Etherscan
            }
            State::Open { .. } => Provider::Blockscout,
        }
    }

    /// Forces the breaker open (the primary is paused as a whole, e.g. its
    /// daily cap): the chain moves to the fallback until `probe_at`.
    pub fn trip(&mut self, now: SystemTime, probe_at: SystemTime) -> Option<Switch> {
        let (since, switch) = match self.state {
            State::Open { since, .. } | State::HalfOpen { since } => (since, None),
            State::Closed { .. } => (now, Some(Switch::ToFallback)),
        };
        self.state = State::Open { since, probe_at };
        switch
    }

    /// Records a poll of the chain on the primary: `hard` when it failed in
    /// a way retries could not fix.
    pub fn record(&mut self, hard: bool, now: SystemTime) -> Option<Switch> {
        match (self.state, hard) {
            (State::Closed { .. }, false) => {
                self.state = State::Closed { failures: 0 };
                None
            }
            (State::Closed { failures }, true) if failures + 1 >= self.threshold => {
                self.trip(now, now + self.probe_interval)
            }
            (State::Closed { failures }, true) => {
                self.state = State::Closed {
                    failures: failures + 1,
                };
                None
            }
            (State::HalfOpen { .. }, false) => {
                self.state = State::Closed { failures: 0 };
                Some(Switch::ToPrimary)
            }
            (State::HalfOpen { since }, true) => {
                self.state = State::Open {
                    since,
                    probe_at: now + self.probe_interval,
                };
                None
            }
            // A poll on the fallback says nothing about the primary.
            (State::Open { .. }, _) => None,
        }
    }

    /// For `/status`: "Etherscan" or "Blockscout (Etherscan failing since
    /// HH:MM UTC, next probe HH:MM UTC)".
    pub fn describe(&self) -> String {
        use crate::metrics::utc_hhmm;
        match self.state {
            State::Closed { .. } => "Etherscan".into(),
            State::Open { since, probe_at } => format!(
                "Blockscout (circuit open: Etherscan failing since {}, next probe {})",
                utc_hhmm(since),
                utc_hhmm(probe_at)
            ),
            State::HalfOpen { since } => format!(
                "Etherscan (circuit half-open: probing, on Blockscout since {})",
                utc_hhmm(since)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn opens_after_a_run_of_hard_failures_only() {
        let mut b = Breaker::new(3, Duration::from_secs(60));
        assert_eq!(b.choose(t(0)), Provider::Etherscan);
        assert_eq!(b.record(true, t(0)), None);
        assert_eq!(b.record(false, t(1)), None, "a good poll resets the run");
        assert_eq!(b.record(true, t(2)), None);
        assert_eq!(b.record(true, t(3)), None);
        assert_eq!(b.record(true, t(4)), Some(Switch::ToFallback));
        assert_eq!(b.choose(t(5)), Provider::Blockscout);
        assert_eq!(b.choose(t(63)), Provider::Blockscout);
        assert!(b.describe().starts_with("Blockscout"), "{}", b.describe());
    }

    #[test]
    fn probes_at_most_once_per_interval_and_closes_on_one_good_answer() {
        let mut b = Breaker::new(1, Duration::from_secs(60));
        assert_eq!(b.record(true, t(0)), Some(Switch::ToFallback));
        assert_eq!(b.choose(t(60)), Provider::Etherscan, "the probe");
        assert_eq!(b.record(true, t(61)), None, "failed probe: open again");
        assert_eq!(b.choose(t(62)), Provider::Blockscout);
        assert_eq!(b.choose(t(120)), Provider::Blockscout);
        assert_eq!(b.choose(t(121)), Provider::Etherscan);
        assert_eq!(b.record(false, t(121)), Some(Switch::ToPrimary));
        assert_eq!(b.state, State::Closed { failures: 0 });
    }

    #[test]
    fn a_paused_primary_trips_it_once() {
        let mut b = Breaker::new(3, Duration::from_secs(60));
        assert_eq!(b.trip(t(0), t(900)), Some(Switch::ToFallback));
        assert_eq!(b.trip(t(10), t(900)), None);
        assert_eq!(b.choose(t(899)), Provider::Blockscout);
    }

    #[test]
    fn which_failures_count() {
        assert!(is_hard(&ApiError::Http(503)));
        assert!(is_hard(&ApiError::Malformed("<html>".into())));
        assert!(is_hard(&ApiError::DailyLimit(
            "Max daily rate limit reached".into()
        )));
        assert!(!is_hard(&ApiError::Http(404)));
        assert!(!is_hard(&ApiError::RateLimited("3/sec".into())));
        assert!(!is_hard(&ApiError::QueryTimeout));
        assert!(!is_hard(&ApiError::InvalidKey("Invalid API Key".into())));
    }
}

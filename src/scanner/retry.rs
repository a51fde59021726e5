//! What a scanner does with a failed provider call: the classification
//! every provider's error type maps into ([`Disposition`]), and how often
//! and how patiently one call is retried within a poll ([`RetryPolicy`]).
//!
//! Moved here from `etherscan` (client.rs, error.rs) so that the Etherscan
//! and the Tron scanner retry by one rule.

use std::time::Duration;

/// What the retry loop does with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Wait (longer than for a transient error) and try again.
    BackOff,
    /// Wait a little and try again, a few times.
    Retry,
    /// Do not repeat the same call: the caller splits (or narrows) its range.
    Split,
    /// Do not retry within this poll (tell a human, or pause the provider).
    GiveUp,
}

/// How often and how patiently one call is retried within a poll.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries for 5xx, timeouts, broken bodies, other transient answers.
    pub transient_tries: u32,
    pub transient_backoff: Duration,
    /// Tries for rate-limit answers (Etherscan NOTOK "rate limit", HTTP 429,
    /// TronGrid's "frequency limit").
    pub rate_limit_tries: u32,
    pub rate_limit_backoff: Duration,
    /// No single wait is longer than this.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            transient_tries: 3,
            transient_backoff: Duration::from_millis(500),
            rate_limit_tries: 4,
            rate_limit_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), doubling from `base`,
    /// never above `max_backoff`.
    pub fn backoff(&self, base: Duration, retry: u32) -> Duration {
        base.saturating_mul(1 << retry.saturating_sub(1).min(16))
            .min(self.max_backoff)
    }

    /// The wait before the next try of a call that failed with
    /// `disposition`, counting tries in `tries` (transient, rate-limited);
    /// `None`: do not try again within this poll.
    pub fn next_wait(&self, disposition: Disposition, tries: &mut (u32, u32)) -> Option<Duration> {
        match disposition {
            Disposition::BackOff => {
                tries.1 += 1;
                (tries.1 < self.rate_limit_tries)
                    .then(|| self.backoff(self.rate_limit_backoff, tries.1))
            }
            Disposition::Retry => {
                tries.0 += 1;
                (tries.0 < self.transient_tries)
                    .then(|| self.backoff(self.transient_backoff, tries.0))
            }
            Disposition::Split | Disposition::GiveUp => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        let b = Duration::from_secs(1);
        assert_eq!(p.backoff(b, 1), Duration::from_secs(1));
        assert_eq!(p.backoff(b, 2), Duration::from_secs(2));
        assert_eq!(p.backoff(b, 3), Duration::from_secs(4));
        assert_eq!(p.backoff(b, 30), Duration::from_secs(8));
    }

    #[test]
    fn tries_are_bounded_per_kind() {
        let p = RetryPolicy::default();
        let mut tries = (0, 0);
        let waits: Vec<_> = (0..5)
            .map(|_| p.next_wait(Disposition::Retry, &mut tries))
            .collect();
        assert_eq!(waits.iter().filter(|w| w.is_some()).count(), 2);
        assert_eq!(p.next_wait(Disposition::Split, &mut tries), None);
        assert_eq!(p.next_wait(Disposition::GiveUp, &mut tries), None);
        assert!(p.next_wait(Disposition::BackOff, &mut tries).is_some());
    }
}

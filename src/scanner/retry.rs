//! The one retry loop every provider call goes through ([`Caller::call`]),
//! and how often and how patiently one call is retried within a poll
//! ([`RetryPolicy`]).
//!
//! Every try passes the caller's [`Limiter`], is counted (calls, failures:
//! what the pool shows per source), gets its `/metrics` outcome from its
//! [kind](super::kind::Kind) and is handed to the provider's [`Hooks`]
//! (its log line, its pause on a quota or key answer, its alerts). What is
//! retried, and how long the loop waits, depends on the kind alone.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use super::http::Transport;
use super::kind::Classify;
use super::limiter::Limiter;
use crate::metrics::ProviderHandles;

/// What the retry loop does with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Wait (the provider's `Some(wait)`, else longer than for a transient
    /// error) and try again.
    BackOff(Option<Duration>),
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
    /// Tries for rate-limit answers (Etherscan NOTOK "rate limit", HTTP 429).
    pub rate_limit_tries: u32,
    pub rate_limit_backoff: Duration,
    /// No single wait is longer than this; a provider asking for a longer
    /// one is not retried within the poll.
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
            Disposition::BackOff(Some(wait)) if wait > self.max_backoff => None,
            Disposition::BackOff(asked) => {
                tries.1 += 1;
                (tries.1 < self.rate_limit_tries).then(|| {
                    let ours = self.backoff(self.rate_limit_backoff, tries.1);
                    asked.map_or(ours, |w| w.max(ours).min(self.max_backoff))
                })
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

/// Requests sent and failed so far by one client, every try included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u64,
    pub errors: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, before: Counts) -> Counts {
        Counts {
            calls: self.calls - before.calls,
            errors: self.errors - before.errors,
        }
    }
}

/// What a provider does around its calls (all optional).
pub trait Hooks<E> {
    /// A try is about to go out.
    fn sending(&self) {}
    /// A call answered: lift the provider's pause, end its incidents.
    fn answered(&self) {}
    /// A try failed; `retry_in`: the wait before the next one (`None`: the
    /// error is returned). The provider's log line.
    fn failed(&self, _error: &E, _retry_in: Option<Duration>) {}
    /// The call is given up for this poll by its kind (a quota, a key, a
    /// refusal, a wait longer than the policy's): pause the provider or
    /// tell the admins, as the error says.
    fn gave_up(&self, _error: &E) {}
}

/// One provider client's side of the loop: its limiter, policy and counts.
pub struct Caller {
    /// The provider's label in `/metrics` (`etherscan`, `blockscout`, `tron`).
    label: &'static str,
    limiter: Limiter,
    policy: RetryPolicy,
    handles: ProviderHandles,
    calls: Cell<u64>,
    errors: Cell<u64>,
}

impl Caller {
    /// `per_second` requests at most in any one-second window.
    pub fn new(
        label: &'static str,
        per_second: u32,
        policy: RetryPolicy,
        handles: ProviderHandles,
    ) -> Self {
        Caller {
            label,
            limiter: Limiter::per_second(per_second),
            policy,
            handles,
            calls: Cell::new(0),
            errors: Cell::new(0),
        }
    }

    /// Requests sent and failed so far, every try included.
    pub fn counts(&self) -> Counts {
        Counts {
            calls: self.calls.get(),
            errors: self.errors.get(),
        }
    }

    /// What the provider reports to (its pause, alerts, counters).
    pub fn handles(&self) -> &ProviderHandles {
        &self.handles
    }

    /// Sends with `send` and reads the answer with `parse` until it
    /// succeeds or its kind says stop: rate limits back off and retry,
    /// transient and malformed answers retry a few times, a "split the
    /// range" or "give up" answer returns at once. `action` is the call's
    /// `/metrics` label.
    pub async fn call<T, E, F, Fut>(
        &self,
        action: &'static str,
        hooks: &impl Hooks<E>,
        send: F,
        parse: impl Fn(u16, &[u8]) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: Classify + From<Transport>,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(u16, Vec<u8>), Transport>>,
    {
        let mut tries = (0u32, 0u32);
        loop {
            self.limiter.acquire().await;
            self.calls.set(self.calls.get() + 1);
            hooks.sending();
            let result = match send().await {
                Ok((status, body)) => parse(status, &body),
                Err(t) => Err(E::from(t)),
            };
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.kind().outcome(),
            };
            (self.handles.instruments).provider_call(self.label, action, outcome);
            let error = match result {
                Ok(v) => {
                    hooks.answered();
                    return Ok(v);
                }
                Err(e) => e,
            };
            self.errors.set(self.errors.get() + 1);
            let disposition = error.kind().disposition();
            let wait = self.policy.next_wait(disposition, &mut tries);
            let refused = match disposition {
                Disposition::GiveUp => true,
                Disposition::BackOff(Some(w)) => w > self.policy.max_backoff,
                _ => false,
            };
            if refused {
                hooks.gave_up(&error);
            }
            hooks.failed(&error, wait);
            match wait {
                Some(d) => actix_rt::time::sleep(d).await,
                None => return Err(error),
            }
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
        assert!(
            p.next_wait(Disposition::BackOff(None), &mut tries)
                .is_some()
        );
    }

    /// A provider asking for a wait is waited at least that long; one
    /// asking for more than the longest backoff is not retried this poll.
    #[test]
    fn a_wait_the_provider_names_is_honoured_or_left_to_the_next_poll() {
        let p = RetryPolicy::default();
        let mut tries = (0, 0);
        let asked = Duration::from_secs(3);
        assert_eq!(
            p.next_wait(Disposition::BackOff(Some(asked)), &mut tries),
            Some(asked)
        );
        let long = Duration::from_secs(30);
        assert_eq!(
            p.next_wait(Disposition::BackOff(Some(long)), &mut tries),
            None
        );
    }
}

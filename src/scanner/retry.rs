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

use super::http::{Transport, scrub};
use super::kind::{Cause, Classify, Kind};
use super::limiter::Limiter;
use crate::config::Secret;
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
    /// Of those, tries that may end in a timeout: each costs a whole
    /// client timeout, so a source in a pool with another to move to (a
    /// fallback) waits for one only ([`RetryPolicy::fallback`]).
    pub timeout_tries: u32,
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
            timeout_tries: 3,
            transient_backoff: Duration::from_millis(500),
            rate_limit_tries: 4,
            rate_limit_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// This policy for a source that is never the first of its pool: a
    /// call that got no answer in time is not tried again within the poll
    /// (the pool tries another source at the next one), so a host that
    /// accepts and never answers holds a poll for one timeout, not three.
    pub fn fallback(self) -> Self {
        RetryPolicy {
            timeout_tries: 1,
            ..self
        }
    }

    /// The wait before retry number `retry` (1-based), doubling from `base`,
    /// never above `max_backoff`.
    pub fn backoff(&self, base: Duration, retry: u32) -> Duration {
        base.saturating_mul(1 << retry.saturating_sub(1).min(16))
            .min(self.max_backoff)
    }

    /// The wait before the next try of a call that failed with `kind`,
    /// counting tries in `tries`; `None`: do not try again within this poll.
    pub fn next_wait(&self, kind: Kind, tries: &mut Tries) -> Option<Duration> {
        if kind == Kind::Transient(Cause::Timeout) {
            tries.timeouts += 1;
            if tries.timeouts >= self.timeout_tries {
                return None;
            }
        }
        match kind.disposition() {
            Disposition::BackOff(Some(wait)) if wait > self.max_backoff => None,
            Disposition::BackOff(asked) => {
                tries.rate_limited += 1;
                (tries.rate_limited < self.rate_limit_tries).then(|| {
                    let ours = self.backoff(self.rate_limit_backoff, tries.rate_limited);
                    asked.map_or(ours, |w| w.max(ours).min(self.max_backoff))
                })
            }
            Disposition::Retry => {
                tries.transient += 1;
                (tries.transient < self.transient_tries)
                    .then(|| self.backoff(self.transient_backoff, tries.transient))
            }
            Disposition::Split | Disposition::GiveUp => None,
        }
    }
}

/// The failed tries of one call so far, by what they met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tries {
    /// Transient and malformed answers (timeouts included).
    pub transient: u32,
    /// Of those, timeouts.
    pub timeouts: u32,
    pub rate_limited: u32,
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
    /// The provider's key, scrubbed from every answer before it is parsed.
    secret: Option<Secret>,
    /// Calls probe a source its pool has left ([`probing`](Self::probing)).
    probing: Cell<bool>,
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
            secret: None,
            probing: Cell::new(false),
        }
    }

    /// While `on`, calls probe a source the chain's pool has left while
    /// another serves: a timeout is not waited for twice
    /// ([`RetryPolicy::fallback`]), so a probe of a host that accepts and
    /// never answers costs one timeout, not the policy's tries of it.
    pub fn probing(&self, on: bool) {
        self.probing.set(on);
    }

    /// Scrubs `secret` (the provider's key) from every answer that fails to
    /// parse, before its error is built ([`scrub`]): an answer echoing the
    /// request, whole or clipped, cannot carry the key into an error, a log
    /// line, `/status` or an alert.
    pub fn scrubbing(mut self, secret: &Secret) -> Self {
        self.secret = Some(secret.clone());
        self
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
        let policy = if self.probing.get() {
            self.policy.fallback()
        } else {
            self.policy
        };
        let mut tries = Tries::default();
        loop {
            self.limiter.acquire().await;
            self.calls.set(self.calls.get() + 1);
            hooks.sending();
            let result = match send().await {
                Ok((status, body)) => {
                    // An error is built again from the answer scrubbed of
                    // the key, if it holds any of it (answers that parse
                    // are typed values, and cost nothing more).
                    let result = parse(status, &body);
                    let clean = || {
                        let key = self.secret.as_ref()?.expose().as_bytes();
                        scrub(&body, key)
                    };
                    match result {
                        Err(_) => clean().map_or(result, |clean| parse(status, &clean)),
                        ok => ok,
                    }
                }
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
            let kind = error.kind();
            let disposition = kind.disposition();
            let wait = policy.next_wait(kind, &mut tries);
            let refused = match disposition {
                Disposition::GiveUp => true,
                Disposition::BackOff(Some(w)) => w > policy.max_backoff,
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
        let mut tries = Tries::default();
        let status = Kind::Transient(Cause::Status);
        let waits: Vec<_> = (0..5).map(|_| p.next_wait(status, &mut tries)).collect();
        assert_eq!(waits.iter().filter(|w| w.is_some()).count(), 2);
        assert_eq!(p.next_wait(Kind::TooLarge, &mut tries), None);
        assert_eq!(p.next_wait(Kind::RejectedKey, &mut tries), None);
        assert!(
            p.next_wait(Kind::RateLimited { wait: None }, &mut tries)
                .is_some()
        );
    }

    /// A fallback waits for one timeout per call, not three; other
    /// transient failures are retried as usual.
    #[test]
    fn a_fallback_is_not_waited_for_twice() {
        let timeout = Kind::Transient(Cause::Timeout);
        let (primary, fallback) = (RetryPolicy::default(), RetryPolicy::default().fallback());
        let mut tries = Tries::default();
        assert!(primary.next_wait(timeout, &mut tries).is_some());
        let mut tries = Tries::default();
        assert_eq!(fallback.next_wait(timeout, &mut tries), None);
        let mut tries = Tries::default();
        let status = Kind::Transient(Cause::Status);
        assert!(fallback.next_wait(status, &mut tries).is_some());
        assert_eq!(fallback.next_wait(timeout, &mut tries), None);
    }

    /// A provider asking for a wait is waited at least that long; one
    /// asking for more than the longest backoff is not retried this poll.
    #[test]
    fn a_wait_the_provider_names_is_honoured_or_left_to_the_next_poll() {
        let p = RetryPolicy::default();
        let mut tries = Tries::default();
        let asked = Duration::from_secs(3);
        let limited = |wait| Kind::RateLimited { wait: Some(wait) };
        assert_eq!(p.next_wait(limited(asked), &mut tries), Some(asked));
        let long = Duration::from_secs(30);
        assert_eq!(p.next_wait(limited(long), &mut tries), None);
    }

    /// Every provider's answers are scrubbed of its key before they are
    /// parsed: an answer echoing the request (a debug page listing the
    /// headers, an error quoting the URL) never carries the key into the
    /// error the parser builds, whatever the provider.
    #[actix_rt::test]
    async fn an_answer_echoing_the_key_is_scrubbed_before_it_is_parsed() {
        /// A refusal quoting the answer in its text, as our parsers' are.
        #[derive(Debug, thiserror::Error)]
        #[error("refused: {0}")]
        struct Refused(String);
        impl Classify for Refused {
            fn kind(&self) -> Kind {
                Kind::RejectedKey
            }
        }
        impl From<Transport> for Refused {
            fn from(t: Transport) -> Self {
                Refused(t.to_string())
            }
        }
        struct Quiet;
        impl Hooks<Refused> for Quiet {}
        let key = Secret::new("tron-SECRET-5b2d");
        let echo = b"<html>TRON-PRO-API-KEY: tron-SECRET-5b2d</html>".to_vec();
        let parse = |_: u16, body: &[u8]| -> Result<(), Refused> {
            Err(Refused(String::from_utf8_lossy(body).into_owned()))
        };
        let call = |caller: Caller| {
            let echo = echo.clone();
            async move {
                let send = || {
                    let echo = echo.clone();
                    async move { Ok((401, echo)) }
                };
                let error = caller.call("events", &Quiet, send, parse).await;
                error.unwrap_err().to_string()
            }
        };
        let policy = RetryPolicy::default();
        let plain = Caller::new("tron", 100, policy, ProviderHandles::default());
        assert!(call(plain).await.contains("tron-SECRET-5b2d"));
        let scrubbing = Caller::new("tron", 100, policy, ProviderHandles::default());
        let error = call(scrubbing.scrubbing(&key)).await;
        assert!(!error.contains("SECRET"), "{error}");
        assert!(error.contains("TRON-PRO-API-KEY: [redacted]"), "{error}");
        // Echoed cut short, as an error page clips a long URL.
        let echo = b"GET /v1/events?key=tron-SECRET-5... 400".to_vec();
        let send = || {
            let echo = echo.clone();
            async move { Ok((401, echo)) }
        };
        let clipped = Caller::new("tron", 100, policy, ProviderHandles::default());
        let error = clipped
            .scrubbing(&key)
            .call("events", &Quiet, send, parse)
            .await;
        let error = error.unwrap_err().to_string();
        assert!(!error.contains("SECRET"), "{error}");
    }
}

//! What one delivery attempt's outcome means for the row: delivered, retried
//! later, or dead-lettered.
//!
//! Retried: timeouts, connection errors, 5xx, 408, 429 and 3xx (redirects are
//! not followed), after `backoff_min · 2^attempts` capped at `backoff_max`,
//! or after the `Retry-After` the receiver asked for (delay-seconds or an
//! HTTP date, RFC 9110 §10.2.3), never sooner than `backoff_min` (a
//! `Retry-After: 0` must not turn into a busy loop). Any other 4xx
//! (400, 401, 404, 410 Gone, …) is dead-lettered at once; a row still
//! failing `give_up_after` after its transfer was recorded is dead-lettered
//! too (its last try is scheduled at that deadline, not beyond it).

use std::time::{Duration, SystemTime};

use awc::http::header::HttpDate;

use crate::config::WebhookConfig;
use crate::db::webhooks::Outcome;

/// How one POST went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx.
    Delivered,
    /// Worth trying again; `retry_after` is the receiver's `Retry-After`.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never retried.
    Permanent { error: String },
}

impl Attempt {
    /// Classifies an HTTP answer.
    pub fn from_status(status: u16, retry_after: Option<Duration>) -> Attempt {
        let error = format!("HTTP {status}");
        match status {
            200..=299 => Attempt::Delivered,
            408 | 429 => Attempt::Transient { error, retry_after },
            400..=499 => Attempt::Permanent { error },
            _ => Attempt::Transient { error, retry_after },
        }
    }
}

/// A `Retry-After` value as a delay from `now`: delay-seconds (`"120"`) or
/// an HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`, RFC 9110 §10.2.3); a
/// date in the past is no delay. `None` for anything else (the backoff
/// applies then).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at: SystemTime = value.parse::<HttpDate>().ok()?.into();
    Some(at.duration_since(now).unwrap_or_default())
}

/// A sink's retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub give_up_after: Duration,
}

impl RetryPolicy {
    pub fn new(c: &WebhookConfig) -> RetryPolicy {
        RetryPolicy {
            backoff_min: c.backoff_min,
            backoff_max: c.backoff_max,
            give_up_after: c.give_up_after,
        }
    }

    /// The delay after `failures` failed attempts (0-based): doubling from
    /// `backoff_min`, capped at `backoff_max`.
    pub fn backoff(&self, failures: u32) -> Duration {
        self.backoff_min
            .saturating_mul(1u32 << failures.min(20))
            .min(self.backoff_max)
    }

    /// How long to wait after `failures` failed attempts (0-based): the
    /// receiver's `Retry-After` when given, never below `backoff_min`,
    /// else [`backoff`](Self::backoff).
    pub fn delay(&self, retry_after: Option<Duration>, failures: u32) -> Duration {
        retry_after.map_or_else(|| self.backoff(failures), |d| d.max(self.backoff_min))
    }

    /// The row's fate after `attempt`, its `attempts_before` earlier tries,
    /// for a transfer recorded at `created_ms` (all times Unix milliseconds).
    pub fn outcome(
        &self,
        attempt: &Attempt,
        attempts_before: u32,
        created_ms: i64,
        now_ms: i64,
    ) -> Outcome {
        match attempt {
            Attempt::Delivered => Outcome::Delivered,
            Attempt::Permanent { error } => Outcome::Dead {
                error: error.clone(),
            },
            Attempt::Transient { error, retry_after } => {
                let deadline = created_ms.saturating_add(millis(self.give_up_after));
                if now_ms >= deadline {
                    return Outcome::Dead {
                        error: format!(
                            "gave up after {}: {error}",
                            humantime::format_duration(self.give_up_after)
                        ),
                    };
                }
                let delay = self.delay(*retry_after, attempts_before);
                Outcome::Retry {
                    at_ms: now_ms.saturating_add(millis(delay)).min(deadline),
                    error: error.clone(),
                }
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&WebhookConfig::default())
    }

    fn retry_at(o: Outcome) -> i64 {
        match o {
            Outcome::Retry { at_ms, .. } => at_ms,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn server_errors_back_off_exponentially_from_seconds_to_the_cap() {
        let p = policy();
        let e500 = Attempt::from_status(500, None);
        let delays: Vec<i64> = (0..4)
            .map(|n| retry_at(p.outcome(&e500, n, 0, 0)))
            .collect();
        assert_eq!(delays, [2_000, 4_000, 8_000, 16_000]);
        assert_eq!(retry_at(p.outcome(&e500, 30, 0, 0)), 3_600_000);
        assert!(matches!(
            Attempt::from_status(408, None),
            Attempt::Transient { .. }
        ));
    }

    #[test]
    fn retry_after_of_a_429_is_honoured() {
        let a = Attempt::from_status(429, Some(Duration::from_secs(7)));
        assert_eq!(retry_at(policy().outcome(&a, 0, 0, 1_000)), 8_000);
    }

    /// `Retry-After` in both RFC 9110 forms; garbage falls back to the
    /// backoff; a huge one is bounded by `give_up_after`.
    #[test]
    fn retry_after_as_seconds_an_http_date_garbage_or_huge() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_420);
        let parse = |v: &str| parse_retry_after(v, now);
        assert_eq!(parse(" 120 "), Some(Duration::from_secs(120)));
        // 07:28:00 is 60 s after `now` (07:27:00).
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        for garbage in ["soon", "-5", "1.5", "", "Wed, 99 Oct 2015"] {
            assert_eq!(parse(garbage), None, "{garbage:?}");
        }
        let p = policy();
        let e503 = |s: &str| Attempt::from_status(503, parse(s));
        assert_eq!(retry_at(p.outcome(&e503("soon"), 2, 0, 0)), 8_000);
        let day = 24 * 3_600_000;
        let huge = "18446744073709551615";
        assert_eq!(retry_at(p.outcome(&e503(huge), 0, 0, 0)), day);
    }

    /// A receiver answering `Retry-After: 0` to every try must not be
    /// hammered in a loop: the delay is at least `backoff_min`.
    #[test]
    fn retry_after_zero_still_waits_backoff_min() {
        let p = policy();
        let a = Attempt::from_status(429, Some(Duration::ZERO));
        assert_eq!(retry_at(p.outcome(&a, 5, 0, 1_000)), 3_000);
        assert_eq!(p.delay(Some(Duration::ZERO), 5), p.backoff_min);
    }

    #[test]
    fn a_410_and_other_client_errors_dead_letter_at_once() {
        for status in [400, 401, 404, 410, 422] {
            let a = Attempt::from_status(status, None);
            assert!(
                matches!(policy().outcome(&a, 0, 0, 0), Outcome::Dead { .. }),
                "{status}"
            );
        }
    }

    #[test]
    fn give_up_after_dead_letters_and_caps_the_last_retry() {
        let p = policy();
        let day = 24 * 3_600_000;
        let e503 = Attempt::from_status(503, None);
        // An hour's backoff near the deadline: the last try is at the deadline.
        assert_eq!(retry_at(p.outcome(&e503, 30, 0, day - 60_000)), day);
        match p.outcome(&e503, 31, 0, day) {
            Outcome::Dead { error } => assert!(error.contains("gave up after 1day"), "{error}"),
            other => panic!("{other:?}"),
        }
    }
}

//! What a failed provider call means to a scanner: the one classification
//! every provider's errors map into ([`Kind`]), and the provider-neutral
//! form of a failed call the poll works with ([`CallError`]).
//!
//! Each provider keeps its own typed error (`etherscan::ApiError`,
//! `tron::TronError`: its answers' texts and quirks) and says which kind
//! each variant is ([`Classify`]). Everything the scanner decides about a
//! failure is decided from the kind, here, once:
//!
//! | kind | retried within the poll ([`retry`](super::retry)) | `/metrics` outcome | the poll ([`poll`](super::poll)) |
//! |---|---|---|---|
//! | transient (5xx, timeout, connection, an unexplained error answer) | a few times, with backoff (a fallback's timeout: once) | `http_error`, `timeout`, `connection_error`, `provider_error` | ends the chain's poll |
//! | malformed (HTML page, cut-off or non-JSON body, a redirect) | like transient | `malformed` | ends the chain's poll |
//! | rate-limited, with a wait | after the wait (or a backoff), a few times; a wait beyond the policy's longest: not retried (the provider pauses itself for it) | `rate_limited` | ends the chain's poll |
//! | paused (a quota spent) | no | `paused` | ends the chain's poll |
//! | rejected key | no | `invalid_key` | ends the chain's poll |
//! | too large (the range holds too much) | no: the caller splits the range | `range_too_large` | — (split) |
//! | refused (this request, for good) | no | `refused` | holds that token only (at the head: ends it) |
//! | unknown head | no | `unknown_head` | ends the chain's poll |
//!
//! The chain's [pool](super::pool) counts a poll that ended, whatever the
//! kind, against its source: a rate limit that outlasts the retries, a
//! head nobody can read, stop a chain as surely as a 500, and only another
//! source (or, alone, the admins) can help.

use std::time::Duration;

use super::retry::Disposition;

/// What kind of failure a provider call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A failure a retry may fix: the provider or the way to it.
    Transient(Cause),
    /// Too many calls. `wait`: how long the provider asked to wait (`None`:
    /// the retry policy's backoff).
    RateLimited { wait: Option<Duration> },
    /// The provider refuses every call for a while (a daily quota spent):
    /// no retry; the provider's pause says why and until when.
    Paused,
    /// The API key is refused: no retry, the admins are told, the provider
    /// is paused and probed.
    RejectedKey,
    /// An answer that is not the API's shape: an HTML page, a cut-off or
    /// non-JSON body, a redirect (never followed). Retried like a transient
    /// failure (a proxy's page passes).
    Malformed,
    /// The range asked holds too much for one call: the caller splits it.
    TooLarge,
    /// This request is refused for good (a chain the plan does not cover, a
    /// parameter the provider rejects): not retried.
    Refused,
    /// The head answer holds no usable block number (never read as 0).
    UnknownHead,
}

/// What a transient failure was, for the `/metrics` outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An HTTP status the API does not answer with when it works (5xx).
    Status,
    /// No answer in time.
    Timeout,
    /// No connection, or it broke.
    Connection,
    /// The API's own error answer, of a reason it may not give next time.
    Answer,
}

impl Kind {
    /// The `outcome` label of `usdt_monitor_provider_calls_total`.
    pub fn outcome(self) -> &'static str {
        match self {
            Kind::Transient(Cause::Status) => "http_error",
            Kind::Transient(Cause::Timeout) => "timeout",
            Kind::Transient(Cause::Connection) => "connection_error",
            Kind::Transient(Cause::Answer) => "provider_error",
            Kind::RateLimited { .. } => "rate_limited",
            Kind::Paused => "paused",
            Kind::RejectedKey => "invalid_key",
            Kind::Malformed => "malformed",
            Kind::TooLarge => "range_too_large",
            Kind::Refused => "refused",
            Kind::UnknownHead => "unknown_head",
        }
    }

    /// What the retry loop does with it.
    pub fn disposition(self) -> Disposition {
        match self {
            Kind::Transient(_) | Kind::Malformed => Disposition::Retry,
            Kind::RateLimited { wait } => Disposition::BackOff(wait),
            Kind::TooLarge => Disposition::Split,
            Kind::Paused | Kind::RejectedKey | Kind::Refused | Kind::UnknownHead => {
                Disposition::GiveUp
            }
        }
    }

    /// Does the failure concern the provider as a whole (any other call of
    /// this poll would meet it too), rather than one token's request?
    /// A provider-wide failure ends the chain's poll; a token's holds that
    /// token only.
    pub fn provider_wide(self) -> bool {
        !matches!(self, Kind::Refused | Kind::TooLarge)
    }
}

/// A provider's typed error, classified.
pub trait Classify: std::fmt::Display {
    fn kind(&self) -> Kind;
}

/// A failed call as the poll sees it, whatever the provider: its kind and
/// its text (the provider's error, which never holds a URL or a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct CallError {
    pub kind: Kind,
    pub text: String,
}

impl CallError {
    pub fn new(kind: Kind, text: impl Into<String>) -> Self {
        CallError {
            kind,
            text: text.into(),
        }
    }

    /// The provider-neutral form of a provider's error.
    pub fn of(e: &impl Classify) -> Self {
        CallError::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels are a small fixed set, one per kind (and transient cause).
    #[test]
    fn every_kind_has_its_own_outcome_label() {
        let kinds = [
            Kind::Transient(Cause::Status),
            Kind::Transient(Cause::Timeout),
            Kind::Transient(Cause::Connection),
            Kind::Transient(Cause::Answer),
            Kind::RateLimited { wait: None },
            Kind::Paused,
            Kind::RejectedKey,
            Kind::Malformed,
            Kind::TooLarge,
            Kind::Refused,
            Kind::UnknownHead,
        ];
        let labels: std::collections::BTreeSet<_> = kinds.iter().map(|k| k.outcome()).collect();
        assert_eq!(labels.len(), kinds.len());
        assert!(
            labels
                .iter()
                .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn what_ends_a_chains_poll() {
        assert!(Kind::RateLimited { wait: None }.provider_wide());
        assert!(Kind::UnknownHead.provider_wide());
        assert!(!Kind::Refused.provider_wide());
        assert!(!Kind::TooLarge.provider_wide());
        assert!(Kind::RejectedKey.provider_wide());
    }
}

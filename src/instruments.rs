//! Prometheus instruments recorded as things happen (the rest of
//! `GET /metrics` is read at scrape time from [`metrics`](crate::metrics),
//! the supervisor and the database; see [`crate::http::exposition`]).
//!
//! Built on the `prometheus-client` crate: families of counters keyed by
//! label sets, and a histogram. Everything here is `Arc`-backed, survives
//! any actor's restart, and is cheap to update from any thread.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// A label set: `(name, value)` pairs in a fixed order.
pub type Labels = Vec<(&'static str, String)>;

/// Instruments updated by the actors.
#[derive(Debug)]
pub struct Instruments {
    /// Calls to a provider: labels `provider` ("etherscan", "telegram"),
    /// `action` ("eth_blockNumber", "getLogs", "sendMessage", "getMe") and
    /// `outcome` ("ok" or an error kind such as "rate_limited").
    pub provider_calls: Family<Labels, Counter>,
    /// Restarts by `actor` and `cause` ("panicked", "stopped", "exited",
    /// "requested").
    pub actor_restarts: Family<Labels, Counter>,
    /// Wall time of one whole poll (every chain and token), in seconds.
    pub poll_duration: Histogram,
    /// Transfers touching a watched address, counted once each when the
    /// poll write records them: label `chain`. Counted in the process (a
    /// restart resets it, as Prometheus expects), never derived from rows
    /// that pruning deletes.
    pub transfers_recorded: Family<Labels, Counter>,
    /// Notifications queued in the outbox by the same writes (one per
    /// subscribed chat and transfer, held spam included): label `chain`.
    pub notifications_queued: Family<Labels, Counter>,
    /// Notifications folded into one "and N more" message because their
    /// chat's backlog passed `telegram.max_pending_per_chat` (see
    /// [`FoldBacklog`](crate::db::outbox::FoldBacklog)).
    pub notifications_folded: Counter,
}

impl Default for Instruments {
    fn default() -> Self {
        Instruments {
            provider_calls: Family::default(),
            actor_restarts: Family::default(),
            // 10 ms to about 41 s.
            poll_duration: Histogram::new(exponential_buckets(0.01, 2.0, 13)),
            transfers_recorded: Family::default(),
            notifications_queued: Family::default(),
            notifications_folded: Counter::default(),
        }
    }
}

impl Instruments {
    /// Counts one call (every try counts).
    pub fn provider_call(&self, provider: &'static str, action: &'static str, outcome: &str) {
        let labels = vec![
            ("provider", provider.to_string()),
            ("action", action.to_string()),
            ("outcome", outcome.to_string()),
        ];
        self.provider_calls.get_or_create(&labels).inc();
    }

    /// Counts what one poll write of `chain` recorded.
    pub fn recorded(&self, chain: &'static str, transfers: usize, notifications: usize) {
        let labels = vec![("chain", chain.to_string())];
        if transfers > 0 {
            (self.transfers_recorded.get_or_create(&labels)).inc_by(transfers as u64);
        }
        if notifications > 0 {
            (self.notifications_queued.get_or_create(&labels)).inc_by(notifications as u64);
        }
    }

    /// Counts one restart of `actor`; `reason` is the supervisor's text
    /// ("panicked: <message>", "stopped", ...), reduced to its kind so that
    /// panic messages do not become label values.
    pub fn actor_restart(&self, actor: &'static str, reason: &str) {
        let cause = restart_cause(reason);
        let labels = vec![("actor", actor.to_string()), ("cause", cause.to_string())];
        self.actor_restarts.get_or_create(&labels).inc();
    }
}

/// The kind of a supervisor restart reason.
fn restart_cause(reason: &str) -> &'static str {
    if reason.starts_with("panicked") {
        "panicked"
    } else if reason.starts_with("restart requested") {
        "requested"
    } else if reason.starts_with("exited") {
        "exited"
    } else {
        "stopped"
    }
}

/// The `outcome` label of a call's result: `ok`, or the error's own label
/// (a provider's error kind, `scanner::kind::Kind::outcome`; a Bot API
/// error, `TgError::outcome`), decided where the error type lives.
pub fn outcome<T, E>(result: &Result<T, E>, label: impl Fn(&E) -> &'static str) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => label(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_causes_are_a_small_fixed_set() {
        assert_eq!(restart_cause("panicked: index out of bounds"), "panicked");
        assert_eq!(restart_cause("restart requested"), "requested");
        assert_eq!(restart_cause("exited normally"), "exited");
        assert_eq!(restart_cause("stopped"), "stopped");
    }
}

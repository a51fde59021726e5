//! The Etherscan scanner's side of the [provider pool](crate::scanner::pool)
//! of each chain that has a Blockscout instance: Etherscan first, then
//! Blockscout. Three seams and nothing more: which source scans a chain in
//! this poll ([`Scanner::choose_source`]), how the poll went
//! ([`Scanner::record_outcome`], with [`is_hard`] deciding which failures
//! retries cannot fix), and Etherscan's provider-wide pause (daily cap,
//! key), which the pool respects like any source's pause.
//!
//! Switching is harmless for the data: the cursor stays one per (chain,
//! token), whichever provider moved it, and transfers are unique by (chain,
//! tx hash, log index), so a block seen on both providers is recorded once.
//! A chain without a Blockscout instance has no pool: it is scanned on
//! Etherscan at every poll, as its pause allows.

use std::time::{Duration, SystemTime};

use super::error::ApiError;
use super::source::{Provider, Source};
use super::{ChainSummary, Scanner, pause};
use crate::config::BlockscoutConfig;
use crate::domain::Chain;
use crate::scanner::kind::{Cause, Classify, Kind};
use crate::scanner::pool::{self, Pause, Pool, Report};

/// Is this a failure that retries cannot fix, so that the pool should move
/// on? Decided from the failure's [kind](crate::scanner::kind): a status the
/// API does not answer with when it works, no answer, no connection, a body
/// that is not the API's (a redirect included), a spent daily quota. Not:
/// rate limits and range splits (they pass), an unexplained NOTOK text, a
/// rejected key, a chain the plan lacks and an unknown head (no other
/// source fixes those, or they need a human). The one place that decides it.
pub fn is_hard(error: &ApiError) -> bool {
    matches!(
        error.kind(),
        Kind::Transient(Cause::Status | Cause::Timeout | Cause::Connection)
            | Kind::Malformed
            | Kind::Paused
    )
}

/// A chain's pool: Etherscan, then Blockscout; moving on after
/// `blockscout.failure_threshold` failures, probing every
/// `blockscout.probe_interval`.
pub(super) fn new_pool(config: &BlockscoutConfig) -> Pool<Provider> {
    let sources = [Provider::Etherscan, Provider::Blockscout]
        .into_iter()
        .map(|p| (p, p.as_str().to_string()))
        .collect();
    Pool::new(sources, config.failure_threshold, config.probe_interval)
}

impl Scanner {
    /// The provider for this poll of `chain`; `None`: skip the chain
    /// (Etherscan is down as a whole and the chain has no fallback, or no
    /// source of its pool is due). `primary_down`: Etherscan is paused
    /// (daily cap, key) or refused an earlier chain of this poll
    /// account-wide.
    pub(super) fn choose_source(&self, chain: &Chain, primary_down: bool) -> Option<Source<'_>> {
        let mut pools = self.pools.borrow_mut();
        let Some(pool) = pools.get_mut(&chain.id) else {
            return (!primary_down).then_some(Source::Etherscan(&self.client));
        };
        let now = SystemTime::now();
        let before = pool.serving();
        pool.pause(&Provider::Etherscan, self.etherscan_pause(), now);
        let switch = pool.switch_from(before);
        let chosen = pool.choose(now, |p| primary_down && *p == Provider::Etherscan);
        self.publish(chain, pool, now);
        let probe_interval = pool.probe_interval();
        drop(pools);
        if let Some(switch) = switch {
            pool::announce(
                &self.deps.alerts,
                "etherscan",
                chain,
                &switch,
                probe_interval,
            );
        }
        if chosen.is_none() {
            tracing::debug!(
                actor = "etherscan",
                chain = chain.name,
                "no source due: the chain waits for its next poll"
            );
        }
        chosen.map(|p| match p {
            Provider::Etherscan => Source::Etherscan(&self.client),
            Provider::Blockscout => Source::Blockscout(&self.fallback),
        })
    }

    /// Tells the chain's pool how a poll on `source` went (`latency`: its
    /// wall time). A poll after which Etherscan is paused (an answer of it
    /// refused the key or hit the daily cap, a probe included) leaves
    /// Etherscan paused in the pool until the pause's next probe.
    pub(super) fn record_outcome(
        &self,
        chain: &Chain,
        source: Source<'_>,
        outcome: &ChainSummary,
        latency: Duration,
    ) {
        let failure = outcome
            .errors
            .iter()
            .filter_map(|e| e.api())
            .find(|e| is_hard(e))
            .map(ToString::to_string);
        let report = Report {
            calls: outcome.calls,
            errors: outcome.errors.len() as u64,
            latency,
            failure,
        };
        let mut pools = self.pools.borrow_mut();
        let Some(pool) = pools.get_mut(&chain.id) else {
            return;
        };
        let now = SystemTime::now();
        let before = pool.serving();
        pool.record(&source.provider(), report, now);
        pool.pause(&Provider::Etherscan, self.etherscan_pause(), now);
        let switch = pool.switch_from(before);
        self.publish(chain, pool, now);
        let probe_interval = pool.probe_interval();
        drop(pools);
        if let Some(switch) = switch {
            pool::announce(
                &self.deps.alerts,
                "etherscan",
                chain,
                &switch,
                probe_interval,
            );
        }
    }

    /// Etherscan's provider-wide pause, as the pool takes it.
    fn etherscan_pause(&self) -> Option<Pause> {
        self.deps.pauses.paused(pause::PROVIDER).map(|p| Pause {
            reason: p.reason,
            until: p.next_probe,
        })
    }

    /// The pool's state into the chain's health (`/status`, `/metrics`).
    fn publish(&self, chain: &Chain, pool: &Pool<Provider>, now: SystemTime) {
        let line = pool.describe();
        let sources = pool.status(now);
        self.deps.health.chain(chain.id, |h| {
            h.provider = Some(line);
            h.sources = sources;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_count() {
        assert!(is_hard(&ApiError::Http(503)));
        assert!(is_hard(&ApiError::Malformed("<html>".into())));
        assert!(is_hard(&ApiError::Connection("refused")));
        assert!(is_hard(&ApiError::DailyLimit(
            "Max daily rate limit reached".into()
        )));
        assert!(
            is_hard(&ApiError::Http(404)),
            "a provider answering 404 is not serving"
        );
        assert!(!is_hard(&ApiError::Notok(
            "Error! Invalid address format".into()
        )));
        assert!(!is_hard(&ApiError::RateLimited("3/sec".into())));
        assert!(!is_hard(&ApiError::QueryTimeout));
        assert!(!is_hard(&ApiError::InvalidKey("Invalid API Key".into())));
    }

    #[test]
    fn etherscan_comes_first_then_blockscout() {
        let p = new_pool(&BlockscoutConfig::default());
        let names: Vec<String> = p
            .status(SystemTime::now())
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["Etherscan", "Blockscout"]);
        assert_eq!(
            p.choose(SystemTime::now(), |_| false),
            Some(Provider::Etherscan)
        );
    }
}

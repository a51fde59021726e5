//! The scanner's side of the circuit breaker: which provider scans a chain
//! in this poll, what a poll on Etherscan tells the breaker, and telling
//! the admins (once per switch), the log and `/status` about a switch.

use std::time::SystemTime;

use super::breaker::{Provider, Switch, is_hard};
use super::source::Source;
use super::{ChainSummary, Scanner, pause};
use crate::domain::Chain;

/// The alert key of a chain on the fallback.
fn alert_key(chain: &Chain) -> String {
    format!("etherscan:fallback:{}", chain.name)
}

impl Scanner {
    /// The provider for this poll of `chain`; `None`: skip the chain
    /// (Etherscan is down as a whole and the chain has no fallback).
    /// `primary_down`: Etherscan is paused (daily cap, key) or refused an
    /// earlier chain of this poll account-wide.
    pub(super) fn choose_source(&self, chain: &Chain, primary_down: bool) -> Option<Source<'_>> {
        let now = SystemTime::now();
        let mut breakers = self.breakers.borrow_mut();
        let Some(breaker) = breakers.get_mut(&chain.id) else {
            return (!primary_down).then_some(Source::Etherscan(&self.client));
        };
        let provider = if primary_down {
            // Paused (daily cap, key): open until the pause's probe. Only
            // refused for this poll (a rate limit on an earlier chain): this
            // poll is on Blockscout, but a rate limit is no failure the
            // fallback is for (`is_hard`), so the breaker stays as it is.
            if let Some(p) = self.shared.metrics.paused(pause::PROVIDER)
                && let Some(switch) = breaker.trip(now, p.next_probe)
            {
                self.announce(chain, switch, &format!("Etherscan is paused: {}", p.reason));
            }
            Provider::Blockscout
        } else {
            breaker.choose(now)
        };
        let line = breaker.describe();
        drop(breakers);
        self.shared
            .metrics
            .chain(chain.id, |h| h.provider = Some(line));
        Some(match provider {
            Provider::Etherscan => Source::Etherscan(&self.client),
            Provider::Blockscout => Source::Blockscout(&self.fallback),
        })
    }

    /// Tells the chain's breaker how a poll on Etherscan went. A poll after
    /// which Etherscan is paused (an answer of it refused the key or hit the
    /// daily cap, a probe included) is no correct answer: the chain is on
    /// the fallback until the pause's next probe.
    pub(super) fn record_primary(&self, chain: &Chain, outcome: &ChainSummary) {
        let hard = outcome
            .errors
            .iter()
            .filter_map(|e| e.api())
            .find(|e| is_hard(e));
        let paused = self.shared.metrics.paused(pause::PROVIDER);
        let mut breakers = self.breakers.borrow_mut();
        let Some(breaker) = breakers.get_mut(&chain.id) else {
            return;
        };
        let now = SystemTime::now();
        let switch = match &paused {
            Some(p) => breaker.trip(now, p.next_probe),
            None => breaker.record(hard.is_some(), now),
        };
        let line = breaker.describe();
        drop(breakers);
        self.shared
            .metrics
            .chain(chain.id, |h| h.provider = Some(line));
        if let Some(switch) = switch {
            let why = match (&paused, hard) {
                (Some(p), _) => format!("Etherscan is paused: {}", p.reason),
                (None, Some(e)) => e.to_string(),
                (None, None) => "Etherscan answers".to_string(),
            };
            self.announce(chain, switch, &why);
        }
    }

    /// Logs a switch and tells the admins, once per switch.
    fn announce(&self, chain: &Chain, switch: Switch, why: &str) {
        let metrics = &self.shared.metrics;
        let key = alert_key(chain);
        match switch {
            Switch::ToFallback => {
                tracing::warn!(
                    actor = "etherscan",
                    chain = chain.name,
                    reason = why,
                    "circuit open: scanning on Blockscout"
                );
                metrics.raise(
                    &key,
                    format!(
                        "{}: Etherscan keeps failing ({why}); scanning moved to Blockscout. \
                         Etherscan is probed every {} and takes over again when it answers.",
                        chain.display,
                        humantime::format_duration(self.shared.config.blockscout.probe_interval),
                    ),
                );
            }
            Switch::ToPrimary => {
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    "circuit closed: Etherscan answers again; scanning back on Etherscan"
                );
                metrics.resolve(&key);
                // A one-off notice: raised and ended at once, so it is
                // handed to the admins once and never stays in /status.
                let notice = format!("{key}:closed");
                metrics.raise(
                    &notice,
                    format!(
                        "{}: Etherscan answers again; scanning is back on Etherscan.",
                        chain.display
                    ),
                );
                metrics.resolve(&notice);
            }
        }
    }
}

//! The Etherscan scanner's side of the [provider pool](crate::scanner::pool)
//! of each chain that has a Blockscout instance: Etherscan first, then
//! Blockscout. Three seams and nothing more: which source scans a chain in
//! this poll ([`Scanner::choose_source`]), how the poll went
//! ([`Scanner::record_outcome`]; the poll frame says whether the source
//! served it), and Etherscan's provider-wide pause (daily cap, key), which
//! the pool respects like any source's pause.
//!
//! Switching is harmless for the data: the cursor stays one per (chain,
//! token), whichever provider moved it, and transfers are unique by (chain,
//! tx hash, log index), so a block seen on both providers is recorded once.
//! A chain without a Blockscout instance has a pool of Etherscan alone: it
//! is scanned on Etherscan at every poll its pause and backoff allow, and
//! the admins hear once when it has no working source.

use std::time::Duration;

use super::source::{Provider, Source};
use super::{ChainSummary, Scanner, pause};
use crate::config::BlockscoutConfig;
use crate::domain::Chain;
use crate::scanner::pool::{Pause, Pool};

/// A chain's pool: its JSON-RPC endpoints in order (named by host:
/// `rpc_hosts`), then Etherscan (`etherscan`: a key is set, or the chain
/// has no endpoint), then Blockscout when the chain has an instance
/// (`fallback`); moving on after `blockscout.failure_threshold` polls in a
/// row that the source did not serve, probing every
/// `blockscout.probe_interval`.
pub(super) fn new_pool(
    config: &BlockscoutConfig,
    rpc_hosts: &[&str],
    etherscan: bool,
    fallback: bool,
) -> Pool<Provider> {
    let mut sources: Vec<(Provider, String)> = (rpc_hosts.iter().enumerate())
        .map(|(i, host)| (Provider::Rpc(i), host.to_string()))
        .collect();
    if etherscan || rpc_hosts.is_empty() {
        sources.push((Provider::Etherscan, Provider::Etherscan.as_str().into()));
    }
    if fallback {
        sources.push((Provider::Blockscout, Provider::Blockscout.as_str().into()));
    }
    Pool::new(sources, config.failure_threshold, config.probe_interval)
}

impl Scanner {
    /// The provider for this poll of `chain`; `None`: skip the chain (no
    /// source of its pool is due). `primary_down`: Etherscan is paused
    /// (daily cap, key) or refused an earlier chain of this poll
    /// account-wide.
    pub(super) fn choose_source(&self, chain: &Chain, primary_down: bool) -> Option<Source<'_>> {
        let chosen = self.pools.choose(chain, &self.pauses(), |p| {
            primary_down && *p == Provider::Etherscan
        })?;
        let probe = self.pools.probing(chain, &chosen);
        Some(match chosen {
            Provider::Rpc(i) => {
                let client = self.rpc.get(&chain.id)?.get(i)?;
                client.probing(probe);
                Source::Rpc(i, client)
            }
            Provider::Etherscan => {
                self.client.probing(probe);
                Source::Etherscan(&self.client)
            }
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
        let pauses = self.pauses();
        (self.pools).record(chain, &source.provider(), outcome, latency, &pauses);
    }

    /// Etherscan's provider-wide pause, as the pool takes it (Blockscout
    /// has no pause of its own: its failures are counted).
    fn pauses(&self) -> [(Provider, Option<Pause>); 1] {
        let pause = self
            .deps
            .scanner
            .pauses
            .paused(pause::PROVIDER)
            .map(|p| Pause {
                reason: p.reason,
                until: p.next_probe,
            });
        [(Provider::Etherscan, pause)]
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn etherscan_comes_first_then_blockscout_if_the_chain_has_one() {
        let names = |fallback| -> Vec<String> {
            let p = new_pool(&BlockscoutConfig::default(), &[], true, fallback);
            assert_eq!(
                p.choose(SystemTime::now(), |_| false),
                Some(Provider::Etherscan)
            );
            p.status(SystemTime::now())
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(names(true), ["Etherscan", "Blockscout"]);
        assert_eq!(names(false), ["Etherscan"]);
    }

    #[test]
    fn rpc_endpoints_come_first_by_host_and_etherscan_only_with_a_key() {
        let names = |etherscan, fallback| -> Vec<String> {
            let p = new_pool(
                &BlockscoutConfig::default(),
                &["node.example.org", "eth.llamarpc.com"],
                etherscan,
                fallback,
            );
            assert_eq!(
                p.choose(SystemTime::now(), |_| false),
                Some(Provider::Rpc(0))
            );
            p.status(SystemTime::now())
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(
            names(true, true),
            [
                "node.example.org",
                "eth.llamarpc.com",
                "Etherscan",
                "Blockscout"
            ]
        );
        assert_eq!(
            names(false, false),
            ["node.example.org", "eth.llamarpc.com"]
        );
    }
}

//! `[blockscout]`: the keyless fallback provider for EVM chains, and when
//! a chain's provider pool moves its scan to it (see
//! [`crate::scanner::pool`], [`crate::etherscan::sources`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::Chain;

/// The public per-chain instances (Etherscan-compatible path `/api`), from
/// Blockscout's chain registry. BNB Smart Chain has none.
pub const DEFAULT_URLS: [(&str, &str); 5] = [
    ("ethereum", "https://eth.blockscout.com/api"),
    ("polygon", "https://polygon.blockscout.com/api"),
    ("arbitrum", "https://arbitrum.blockscout.com/api"),
    ("optimism", "https://explorer.optimism.io/api"),
    ("base", "https://base.blockscout.com/api"),
];

/// `[blockscout]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockscoutConfig {
    /// `false`: no fallback; a failing chain retries and pauses as before.
    pub enabled: bool,
    /// Keyless rate of every Blockscout call together (its own limiter).
    pub requests_per_second: u32,
    /// Consecutive polls of a chain that its source did not serve (a
    /// failure that outlasted the retries, whatever its kind: 5xx, timeouts,
    /// non-JSON bodies, a lasting rate limit, an unreadable or lagging head,
    /// the daily cap) before the chain's pool leaves the source and the next
    /// one (Blockscout) serves. A chain without a fallback is then "no
    /// working source", and the admins are told.
    pub failure_threshold: u32,
    /// While a later source serves, how often one poll of the chain probes
    /// a source the pool left (Etherscan). When every source is failing,
    /// each is retried after a short backoff instead (a few seconds).
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
    /// `[blockscout.urls]`: per chain name, the instance's `/api` URL.
    /// Chains not named keep [`DEFAULT_URLS`]; an empty string turns a
    /// chain's fallback off.
    pub urls: BTreeMap<String, String>,
}

impl Default for BlockscoutConfig {
    fn default() -> Self {
        BlockscoutConfig {
            enabled: true,
            requests_per_second: 3,
            failure_threshold: 3,
            probe_interval: Duration::from_secs(60),
            urls: BTreeMap::new(),
        }
    }
}

impl BlockscoutConfig {
    /// The instance URL for `chain`, if it has a fallback (enabled, and
    /// configured or a public default).
    pub fn url(&self, chain: &Chain) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let configured = self
            .urls
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(chain.name))
            .map(|(_, url)| url.clone());
        let url = configured.or_else(|| {
            DEFAULT_URLS
                .iter()
                .find(|(name, _)| *name == chain.name)
                .map(|(_, url)| url.to_string())
        })?;
        (!url.is_empty()).then_some(url)
    }
}

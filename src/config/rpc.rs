//! `[rpc.<chain>]`: the chain's own JSON-RPC endpoints ("bring your own
//! node"), read before Etherscan and Blockscout (issue 18).
//!
//! ```toml
//! [rpc.ethereum]
//! urls = ["env:ETH_RPC_URL", "https://ethereum-rpc.publicnode.com"]
//! requests_per_second = 10      # per endpoint
//! # max_block_range = 1000      # otherwise learned from the answers
//! # confirmations = "finalized" # or "safe", or a number of blocks
//! ```
//!
//! An entry `"env:NAME"` is read from the environment variable `NAME` at
//! start: such a URL is a [`Secret`] (Alchemy and Infura put the key in the
//! path) and only its host is ever shown. A literal URL that looks keyed (a
//! long token in its path or query, `user:pass@`) is refused at load, with
//! a message to move it to the environment. `"public"` expands to the
//! keyless public endpoints of [`PUBLIC_URLS`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::domain::Chain;

/// Keyless public endpoints per registry chain (`urls = ["public"]`), from
/// the reference (`evm-jsonrpc.md` §7). Limits are unverified: the range
/// logic learns each one's. BSC's official dataseed is left out: it has
/// `eth_getLogs` disabled.
pub const PUBLIC_URLS: [(&str, &[&str]); 6] = [
    (
        "ethereum",
        &[
            "https://ethereum-rpc.publicnode.com",
            "https://eth.llamarpc.com",
            "https://eth.drpc.org",
        ],
    ),
    ("bsc", &["https://bsc-rpc.publicnode.com"]),
    (
        "polygon",
        &[
            "https://polygon-bor-rpc.publicnode.com",
            "https://polygon-rpc.com",
        ],
    ),
    (
        "arbitrum",
        &[
            "https://arbitrum-one-rpc.publicnode.com",
            "https://arb1.arbitrum.io/rpc",
        ],
    ),
    (
        "optimism",
        &[
            "https://optimism-rpc.publicnode.com",
            "https://mainnet.optimism.io",
        ],
    ),
    (
        "base",
        &[
            "https://base-rpc.publicnode.com",
            "https://mainnet.base.org",
        ],
    ),
];

/// The entry that expands to [`PUBLIC_URLS`].
pub const PUBLIC: &str = "public";

/// The prefix of an entry read from the environment.
pub const ENV_PREFIX: &str = "env:";

/// How deep a block must be before its transfers are scanned as final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Confirmations {
    /// Head − this many blocks.
    Blocks(u64),
    /// The block the endpoint tags so (`eth_getBlockByNumber`).
    Tag(FinalityTag),
}

/// A finality tag of `eth_getBlockByNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalityTag {
    Finalized,
    Safe,
}

impl FinalityTag {
    /// The tag as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            FinalityTag::Finalized => "finalized",
            FinalityTag::Safe => "safe",
        }
    }
}

/// `[rpc.<chain>]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RpcChainConfig {
    /// Endpoints in order: `"env:NAME"`, a keyless literal URL, or `"public"`.
    pub urls: Vec<String>,
    /// Calls per second, per endpoint.
    #[serde(default = "default_rps")]
    pub requests_per_second: u32,
    /// Blocks one `eth_getLogs` asks for at most (otherwise learned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_range: Option<u64>,
    /// Overrides `monitor.confirmations` for this chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<Confirmations>,
}

fn default_rps() -> u32 {
    10
}

/// One resolved endpoint.
#[derive(Debug, Clone)]
pub struct RpcEndpoint {
    /// The URL (a secret when read from the environment: shown never).
    pub url: Secret,
    /// The URL's host (and port): its name in logs, `/status`, `/metrics`.
    pub host: String,
    /// Read from the environment variable of this name.
    pub env: Option<String>,
}

/// Why an endpoint could not be resolved (names the variable, never the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("the environment variable {var} (`rpc.{chain}.urls`) is not set")]
    Unset { chain: String, var: String },
    #[error(
        "the environment variable {var} (`rpc.{chain}.urls`) is not an http:// or https:// URL"
    )]
    NotUrl { chain: String, var: String },
}

/// The host (and port) of an http(s) URL, without any `user:pass@`.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty() && !host.chars().any(char::is_whitespace)).then(|| host.to_string())
}

/// Does a literal URL look like it carries a key: `user:pass@`, a path
/// segment or query value of 20 characters or more with digits and
/// letters, or any query at all with a key-like name?
pub fn looks_keyed(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return true;
    }
    let tokenish = |s: &str| {
        s.len() >= 20
            && s.chars().any(|c| c.is_ascii_digit())
            && s.chars().any(|c| c.is_ascii_alphabetic())
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    if path.split('/').any(tokenish) {
        return true;
    }
    query.split('&').any(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or(("", kv));
        let k = k.to_ascii_lowercase();
        tokenish(v) || k.contains("key") || k.contains("token") || k.contains("secret")
    })
}

impl RpcChainConfig {
    /// The entries with `"public"` expanded for `chain` (by name).
    fn expanded(&self, chain: &str) -> Vec<String> {
        let mut out = Vec::new();
        for u in &self.urls {
            if u == PUBLIC {
                let public = PUBLIC_URLS.iter().find(|(c, _)| *c == chain);
                out.extend(
                    public
                        .into_iter()
                        .flat_map(|(_, us)| us.iter().map(|u| u.to_string())),
                );
            } else {
                out.push(u.clone());
            }
        }
        out
    }

    /// The endpoints of `chain` in order, environment entries read now.
    pub fn endpoints(&self, chain: &str) -> Result<Vec<RpcEndpoint>, EndpointError> {
        let mut out = Vec::new();
        for u in self.expanded(chain) {
            let (url, env) = match u.strip_prefix(ENV_PREFIX) {
                Some(var) => {
                    let value = std::env::var(var).ok().filter(|v| !v.trim().is_empty());
                    let value = value.ok_or_else(|| EndpointError::Unset {
                        chain: chain.into(),
                        var: var.into(),
                    })?;
                    (value.trim().to_string(), Some(var.to_string()))
                }
                None => (u, None),
            };
            let host = host_of(&url).ok_or_else(|| EndpointError::NotUrl {
                chain: chain.into(),
                var: env.clone().unwrap_or_default(),
            })?;
            out.push(RpcEndpoint {
                url: Secret::new(url),
                host,
                env,
            });
        }
        Ok(out)
    }

    /// The entries as they may be shown: `env:NAME` and `public` as
    /// written, literal URLs as their host.
    pub fn shown(&self) -> Vec<String> {
        self.urls
            .iter()
            .map(|u| {
                if u == PUBLIC || u.starts_with(ENV_PREFIX) {
                    u.clone()
                } else {
                    host_of(u).unwrap_or_else(|| "[invalid]".into())
                }
            })
            .collect()
    }
}

/// `[rpc.*]` checks: a known EVM chain, at least one entry, each entry an
/// `env:NAME`, `public` (where the chain has public endpoints) or a keyless
/// http(s) URL; a positive rate and range. Errors name the key.
pub(super) fn validate(rpc: &BTreeMap<String, RpcChainConfig>) -> Result<(), (String, String)> {
    let bad = |k: String, p: String| Err((k, p));
    for (name, c) in rpc {
        let base = format!("rpc.{name}");
        match Chain::by_name(name) {
            Some(chain) if chain.is_evm() => {}
            Some(_) => {
                return bad(
                    base,
                    "is not an EVM chain (JSON-RPC serves EVM chains)".into(),
                );
            }
            None => {
                return bad(
                    base,
                    format!(
                        "names an unknown chain (known: {})",
                        Chain::names().join(", ")
                    ),
                );
            }
        }
        let key = format!("{base}.urls");
        if c.urls.is_empty() {
            return bad(key, "must name at least one endpoint".into());
        }
        for u in &c.urls {
            if u == PUBLIC {
                if !PUBLIC_URLS.iter().any(|(n, _)| n == name) {
                    return bad(
                        key,
                        format!("\"public\": no public endpoints are known for {name}"),
                    );
                }
            } else if let Some(var) = u.strip_prefix(ENV_PREFIX) {
                let ok = !var.is_empty()
                    && var
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                if !ok {
                    return bad(
                        key,
                        format!(
                            "{u:?} must be env:NAME with a variable name of letters, digits and _"
                        ),
                    );
                }
            } else if host_of(u).is_none() {
                return bad(
                    key,
                    "each entry must be \"env:NAME\", \"public\" or an http:// or https:// URL"
                        .into(),
                );
            } else if looks_keyed(u) {
                let host = host_of(u).unwrap_or_default();
                return bad(
                    key,
                    format!(
                        "the URL of {host} seems to carry a key: move it to the environment \
                         (e.g. export ETH_RPC_URL=… and write \"env:ETH_RPC_URL\")"
                    ),
                );
            }
        }
        if c.requests_per_second == 0 {
            return bad(
                format!("{base}.requests_per_second"),
                "must be at least 1".into(),
            );
        }
        if c.max_block_range == Some(0) {
            return bad(
                format!("{base}.max_block_range"),
                "must be at least 1".into(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_urls_are_recognised() {
        for u in [
            "https://eth-mainnet.g.alchemy.com/v2/AbCdEf0123456789xyzQWERTY",
            "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
            "https://user:pass@node.example.org",
            "https://node.example.org/?apikey=abc",
            "https://x.quiknode.pro/9f8e7d6c5b4a39281706f5e4d3c2b1a0/",
        ] {
            assert!(looks_keyed(u), "{u}");
        }
        for u in [
            "https://ethereum-rpc.publicnode.com",
            "https://arb1.arbitrum.io/rpc",
            "http://127.0.0.1:8545",
            "https://rpc.ankr.com/eth",
        ] {
            assert!(!looks_keyed(u), "{u}");
        }
    }

    #[test]
    fn hosts_lose_credentials_path_and_query() {
        assert_eq!(
            host_of("https://u:p@eth.example.org:8545/v2/KEY?x=1").as_deref(),
            Some("eth.example.org:8545")
        );
        assert_eq!(host_of("ftp://x"), None);
    }

    #[test]
    fn public_expands_per_chain_and_env_is_read() {
        let c = RpcChainConfig {
            urls: vec!["public".into(), "env:USDT_MONITOR_TEST_RPC_UNSET_9".into()],
            requests_per_second: 1,
            max_block_range: None,
            confirmations: None,
        };
        let e = c.endpoints("bsc").unwrap_err();
        assert!(e.to_string().contains("USDT_MONITOR_TEST_RPC_UNSET_9"));
        let c = RpcChainConfig {
            urls: vec!["public".into()],
            ..c
        };
        let eps = c.endpoints("base").unwrap();
        assert_eq!(eps[0].host, "base-rpc.publicnode.com");
        assert!(eps.iter().all(|e| e.env.is_none()));
    }

    #[test]
    fn validation_names_the_key() {
        let one = |toml: &str| {
            let m: BTreeMap<String, RpcChainConfig> = toml::from_str(toml).unwrap();
            validate(&m).err().map(|(k, _)| k)
        };
        assert_eq!(one("[ethereum]\nurls = [\"env:ETH_RPC\"]"), None);
        assert_eq!(
            one("[ethereum]\nurls = []"),
            Some("rpc.ethereum.urls".into())
        );
        assert_eq!(
            one(
                "[ethereum]\nurls = [\"https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef\"]"
            ),
            Some("rpc.ethereum.urls".into())
        );
        assert_eq!(one("[tron]\nurls = [\"public\"]"), Some("rpc.tron".into()));
        assert_eq!(
            one("[ethereum]\nurls = [\"public\"]\nrequests_per_second = 0"),
            Some("rpc.ethereum.requests_per_second".into())
        );
        let c: BTreeMap<String, RpcChainConfig> =
            toml::from_str("[base]\nurls = [\"public\"]\nconfirmations = \"safe\"").unwrap();
        assert_eq!(
            c["base"].confirmations,
            Some(Confirmations::Tag(FinalityTag::Safe))
        );
        let c: BTreeMap<String, RpcChainConfig> =
            toml::from_str("[base]\nurls = [\"public\"]\nconfirmations = 12").unwrap();
        assert_eq!(c["base"].confirmations, Some(Confirmations::Blocks(12)));
        assert!(
            toml::from_str::<BTreeMap<String, RpcChainConfig>>(
                "[base]\nurls = [\"public\"]\nconfirmations = \"latest\""
            )
            .is_err()
        );
    }
}

//! The two secrets, read from the environment only.
//!
//! [`Secret`] has no `Display` and a `Debug` that prints `[redacted]`, so a
//! stray `{:?}` in a log line or an error cannot leak it. Code that needs the
//! value (to build a request) calls [`Secret::expose`] on purpose.

use std::fmt;

use super::ConfigError;

pub const TELEGRAM_TOKEN_VAR: &str = "TELEGRAM_BOT_TOKEN";
pub const ETHERSCAN_KEY_VAR: &str = "ETHERSCAN_API_KEY";
/// TronGrid's key: optional (keyless TronGrid works at a lower rate), sent
/// only as the header `TRON-PRO-API-KEY`.
pub const TRONGRID_KEY_VAR: &str = "TRONGRID_API_KEY";

#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone)]
pub struct Secrets {
    pub telegram_token: Secret,
    /// `ETHERSCAN_API_KEY`: required when `monitor.chains` has an EVM chain
    /// without `[rpc.<chain>]` (then always `Some`, see
    /// [`Secrets::from_env`]); optional when every EVM chain has RPC
    /// endpoints; `None` on a Tron-only daemon.
    pub etherscan_key: Option<Secret>,
    /// `TRONGRID_API_KEY`, when set (optional).
    pub tron_key: Option<Secret>,
}

impl Secrets {
    /// Reads the secrets. `TELEGRAM_BOT_TOKEN` is always required,
    /// `ETHERSCAN_API_KEY` only when `config`'s `monitor.chains` has an EVM
    /// chain; a required one missing or empty is an error naming its variable
    /// (and, for the Etherscan key, the EVM chains that need it).
    pub fn from_env(config: &super::Config) -> Result<Secrets, ConfigError> {
        let read = |var: &'static str| match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(ConfigError::MissingSecret(var)),
        };
        config.check_rpc_env()?;
        Ok(Secrets {
            telegram_token: read(TELEGRAM_TOKEN_VAR)?,
            etherscan_key: match config.etherscan_only_chains().is_empty() {
                // Every EVM chain (if any) has its own JSON-RPC endpoints:
                // the key is optional (Etherscan then follows them).
                true => read(ETHERSCAN_KEY_VAR)
                    .ok()
                    .filter(|_| !config.evm_chains().is_empty()),
                false => Some(read(ETHERSCAN_KEY_VAR).map_err(|_| missing_etherscan_key(config))?),
            },
            tron_key: read(TRONGRID_KEY_VAR).ok(),
        })
    }
}

/// The error for a missing `ETHERSCAN_API_KEY`, naming the EVM chains of
/// `config` that need it.
pub fn missing_etherscan_key(config: &super::Config) -> ConfigError {
    let chains: Vec<&str> = (config.etherscan_only_chains().iter())
        .map(|c| c.name)
        .collect();
    ConfigError::MissingEtherscanKey {
        chains: chains.join(", "),
    }
}

/// `url` as it may be shown (`check-config`, log lines): scheme, host and
/// port as written; any `user:password@` replaced by `[redacted]@`; each
/// path segment that could be a key (16 characters or more, or holding a
/// `:` as a bot token does) replaced by `[redacted]`; every query value
/// and any fragment replaced by `[redacted]` (the parameter names stay).
/// A string without `://` is treated the same (authority first).
pub fn redact_url(url: &str) -> String {
    const R: &str = "[redacted]";
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{R}@{host}"),
        None => authority.to_string(),
    };
    let (tail, fragment) = match tail.split_once('#') {
        Some((t, _)) => (t, Some(R)),
        None => (tail, None),
    };
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if seg.chars().count() >= 16 || seg.contains(':') || seg.contains('@') {
                R
            } else {
                seg
            }
        })
        .collect();
    let mut out = scheme + &authority + &path.join("/");
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) => format!("{k}={R}"),
                None if kv.is_empty() => String::new(),
                None => R.to_string(),
            })
            .collect();
        out += "?";
        out += &pairs.join("&");
    }
    if let Some(f) = fragment {
        out += "#";
        out += f;
    }
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn credentials_in_a_url_are_redacted_and_the_rest_stays_readable() {
        let cases = [
            ("https://api.telegram.org", "https://api.telegram.org"),
            (
                "https://bob:hunter2@api.etherscan.io/v2/api?apikey=K3Y&chainid=1",
                "https://[redacted]@api.etherscan.io/v2/api?apikey=[redacted]&chainid=[redacted]",
            ),
            (
                "https://proxy.example:8443/ABCDEF0123456789abcdef/tron",
                "https://proxy.example:8443/[redacted]/tron",
            ),
            (
                "http://127.0.0.1:81/bot123:tok/x#frag",
                "http://127.0.0.1:81/[redacted]/x#[redacted]",
            ),
            ("user:pw@host/path", "[redacted]@host/path"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}

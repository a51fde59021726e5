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
    /// (then always `Some`, see [`Secrets::from_env`]); `None` on a Tron-only
    /// daemon, which starts no `etherscan` child.
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
        Ok(Secrets {
            telegram_token: read(TELEGRAM_TOKEN_VAR)?,
            etherscan_key: match config.evm_chains().is_empty() {
                true => None,
                false => Some(read(ETHERSCAN_KEY_VAR).map_err(|_| missing_etherscan_key(config))?),
            },
            tron_key: read(TRONGRID_KEY_VAR).ok(),
        })
    }
}

/// The error for a missing `ETHERSCAN_API_KEY`, naming the EVM chains of
/// `config` that need it.
pub fn missing_etherscan_key(config: &super::Config) -> ConfigError {
    let chains: Vec<&str> = config.evm_chains().iter().map(|c| c.name).collect();
    ConfigError::MissingEtherscanKey {
        chains: chains.join(", "),
    }
}

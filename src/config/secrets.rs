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
    pub etherscan_key: Secret,
    /// `TRONGRID_API_KEY`, when set (optional).
    pub tron_key: Option<Secret>,
}

impl Secrets {
    /// Reads both secrets; a missing or empty one is an error naming its variable.
    pub fn from_env() -> Result<Secrets, ConfigError> {
        let read = |var: &'static str| match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(ConfigError::MissingSecret(var)),
        };
        Ok(Secrets {
            telegram_token: read(TELEGRAM_TOKEN_VAR)?,
            etherscan_key: read(ETHERSCAN_KEY_VAR)?,
            tron_key: read(TRONGRID_KEY_VAR).ok(),
        })
    }
}

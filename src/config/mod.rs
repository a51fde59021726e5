//! Configuration: `config.toml` plus two secrets from the environment.
//!
//! Every section denies unknown keys, so a typo such as `pol_interval` is an
//! error that names it instead of a silently ignored setting. Durations are
//! humantime strings ("15s", "500ms"); zero durations are rejected where they
//! would make a loop spin. Secrets are never read from the file: they live
//! in [`Secrets`], whose `Debug` prints nothing of them.

mod secrets;
mod validate;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use secrets::{Secret, Secrets};
pub use webhook::WebhookConfig;

use crate::domain::{Chain, TokenSymbol};

/// A configuration problem, naming the file and the key where it can.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        path: PathBuf,
        key: String,
        problem: String,
    },
    #[error("the environment variable {0} is not set (secrets are read only from the environment)")]
    MissingSecret(&'static str),
    /// A webhook's signing secret (`[[webhook]] secret_env`) is missing or
    /// unusable; names the variable, never its value.
    #[error("the environment variable {var} (webhook signing secret) {problem}")]
    WebhookSecret { var: String, problem: &'static str },
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub telegram: TelegramConfig,
    pub etherscan: EtherscanConfig,
    pub monitor: MonitorConfig,
    pub database: DatabaseConfig,
    pub supervisor: SupervisorConfig,
    pub log: LogConfig,
    pub spam: SpamConfig,
    /// `[[webhook]]` sinks. Not part of [`Config::to_toml`]: a URL may carry
    /// a token in its query, so `check-config` lists sinks by host only.
    #[serde(rename = "webhook", skip_serializing)]
    pub webhooks: Vec<WebhookConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Bot API base URL; tests and the demo point it at the simulator.
    pub api_url: String,
    /// Telegram user ids allowed to use admin commands.
    pub admins: Vec<i64>,
    #[serde(with = "humantime_serde")]
    pub long_poll_timeout: Duration,
    /// Messages per second across all chats.
    pub send_rate: u32,
    #[serde(with = "humantime_serde")]
    pub per_chat_interval: Duration,
    /// Commands one chat may send per `command_window`.
    pub command_limit: u32,
    #[serde(with = "humantime_serde")]
    pub command_window: Duration,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            api_url: "https://api.telegram.org".into(),
            admins: Vec::new(),
            long_poll_timeout: Duration::from_secs(10),
            send_rate: 25,
            per_chat_interval: Duration::from_secs(1),
            command_limit: 10,
            command_window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EtherscanConfig {
    pub base_url: String,
    pub requests_per_second: u32,
    pub max_connections: usize,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// The most blocks one poll scans per chain and token; a longer gap
    /// after downtime is caught up over several polls.
    pub max_blocks_per_poll: u64,
}

impl Default for EtherscanConfig {
    fn default() -> Self {
        EtherscanConfig {
            base_url: "https://api.etherscan.io/v2/api".into(),
            requests_per_second: 3,
            max_connections: 3,
            request_timeout: Duration::from_secs(15),
            max_blocks_per_poll: 2000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    pub chains: Vec<String>,
    pub tokens: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    pub confirmations: u64,
    pub max_addresses_per_user: u32,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            chains: vec!["ethereum".into()],
            tokens: vec!["USDT".into(), "USDC".into()],
            poll_interval: Duration::from_secs(15),
            confirmations: 2,
            max_addresses_per_user: 50,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    pub workers: usize,
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("data/usdt-monitor.db"),
            workers: 2,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    pub max_restarts: u32,
    #[serde(with = "humantime_serde")]
    pub restart_window: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    pub fault_injection: bool,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            max_restarts: 5,
            restart_window: Duration::from_secs(60),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            fault_injection: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// How a chat hears about transfers flagged as likely address poisoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpamMode {
    /// Held back silently; visible with `/spam`.
    Off,
    /// A short ⚠️ warning naming the look-alike and the address it imitates.
    On,
    /// One daily summary.
    Digest,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpamConfig {
    /// Transfers scoring at or above this (0–100) are held back.
    pub threshold: u8,
    /// Amounts below this many token units count as dust ("0.1").
    pub dust_below: String,
    /// Leading and trailing hex digits a look-alike shares with the real address.
    pub lookalike_prefix: usize,
    pub lookalike_suffix: usize,
    /// This many distinct new counterparties within `burst_window` is a burst.
    pub burst_count: u32,
    #[serde(with = "humantime_serde")]
    pub burst_window: Duration,
    /// What a chat gets until it says otherwise with `/spam on|off|digest`.
    pub default_mode: SpamMode,
}

impl Default for SpamConfig {
    fn default() -> Self {
        SpamConfig {
            threshold: 50,
            dust_below: "0.1".into(),
            lookalike_prefix: 4,
            lookalike_suffix: 4,
            burst_count: 3,
            burst_window: Duration::from_secs(30 * 60),
            default_mode: SpamMode::Off,
        }
    }
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: describe_toml_error(&e, text),
        })?;
        validate::validate(&config).map_err(|(key, problem)| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            problem,
        })?;
        Ok(config)
    }

    /// The configured chains, resolved against the registry (validated at load).
    pub fn chains(&self) -> Vec<Chain> {
        let tokens = self.token_symbols();
        self.monitor
            .chains
            .iter()
            .filter_map(|n| Chain::by_name(n))
            .map(|mut c| {
                c.tokens.retain(|t| tokens.contains(&t.symbol));
                c
            })
            .collect()
    }

    pub fn token_symbols(&self) -> Vec<TokenSymbol> {
        self.monitor
            .tokens
            .iter()
            .filter_map(|t| TokenSymbol::parse(t))
            .collect()
    }

    /// The effective configuration as TOML (it holds no secrets).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// toml's message names the key and shows the line; keep it, drop the noise.
/// `at line L, column C: <problem>`. Not the toml crate's `Display`, which
/// quotes the offending line: that line may hold a secret pasted into the
/// file by mistake (`secret = "whsec_…"`) or a URL with a token.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let problem = e.message().trim_end();
    let Some(span) = e.span() else {
        return problem.to_string();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    // The key of a `key = value` line, without its value.
    let key = text[line_start..]
        .lines()
        .next()
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match key {
        Some(key) => format!("at line {line}, column {column} (`{key}`): {problem}"),
        None => format!("at line {line}, column {column}: {problem}"),
    }
}

#[cfg(test)]
mod tests;

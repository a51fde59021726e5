//! Configuration: `config.toml` plus two secrets from the environment.
//!
//! Every section denies unknown keys, so a typo such as `pol_interval` is an
//! error that names it instead of a silently ignored setting. Durations are
//! humantime strings ("15s", "500ms"); zero durations are rejected where they
//! would make a loop spin. Secrets are never read from the file: they live
//! in [`Secrets`], whose `Debug` prints nothing of them.

pub mod blockscout;
mod days;
pub mod rpc;
mod secrets;
mod size;
pub mod tron;
mod validate;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use blockscout::BlockscoutConfig;
pub use rpc::{Confirmations, EndpointError, FinalityTag, RpcChainConfig, RpcEndpoint};
pub use secrets::{
    ETHERSCAN_KEY_VAR, Secret, Secrets, TELEGRAM_TOKEN_VAR, TRONGRID_KEY_VAR,
    missing_etherscan_key, redact_url,
};
pub use size::ByteSize;
pub use tron::TronConfig;
pub use webhook::WebhookConfig;

use crate::domain::{Chain, Contracts, Token, TokenSymbol};

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
    /// An `env:NAME` entry of `[rpc.<chain>] urls` is unset or not a URL.
    #[error("{0}")]
    RpcEndpoint(#[from] rpc::EndpointError),
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        path: PathBuf,
        key: String,
        problem: String,
    },
    #[error("the environment variable {0} is not set (secrets are read only from the environment)")]
    MissingSecret(&'static str),
    /// `ETHERSCAN_API_KEY` is missing while `monitor.chains` has EVM chains.
    #[error(
        "the environment variable ETHERSCAN_API_KEY is not set; monitor.chains includes the EVM \
         chain(s) {chains}, scanned through Etherscan (secrets are read only from the environment)"
    )]
    MissingEtherscanKey { chains: String },
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
    /// `[blockscout]`: the EVM fallback provider and when a chain's pool moves to it.
    pub blockscout: BlockscoutConfig,
    /// `[tron]`: TronGrid, when `monitor.chains` includes `tron`.
    pub tron: TronConfig,
    /// `[rpc.<chain>]`: the chain's own JSON-RPC endpoints, read first.
    pub rpc: BTreeMap<String, RpcChainConfig>,
    pub monitor: MonitorConfig,
    pub database: DatabaseConfig,
    pub supervisor: SupervisorConfig,
    pub log: LogConfig,
    pub spam: SpamConfig,
    pub http: HttpConfig,
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
    /// How long one `sendMessage` may take before its answer counts as
    /// lost (the message may still have been delivered: it is retried at
    /// most once, then held as "uncertain").
    #[serde(with = "humantime_serde")]
    pub send_timeout: Duration,
    /// Messages per second across all chats.
    pub send_rate: u32,
    #[serde(with = "humantime_serde")]
    pub per_chat_interval: Duration,
    /// Commands each member of a chat (chat, user) may send per
    /// `command_window`: in a group one member cannot use up the others'.
    pub command_limit: u32,
    #[serde(with = "humantime_serde")]
    pub command_window: Duration,
    /// Messages per minute into one group or supergroup (Telegram allows
    /// about 20), on top of `send_rate` and `per_chat_interval`.
    pub group_per_minute: u32,
    /// At least this many notifications for one chat due together are sent
    /// as one combined message (0: never combine).
    pub combine_after: u32,
    /// After a notification went to a chat, further ones due for it within
    /// this window wait to be combined (up to the window's end) instead of
    /// going one by one.
    #[serde(with = "humantime_serde")]
    pub combine_window: Duration,
    /// A chat's backlog bound: past this many waiting transfer
    /// notifications of one chat, its newer ones are folded into one
    /// message saying how many there were ("📦 And 812 more transfers
    /// since …"), counted in `/status` and `/metrics`. Webhooks still get
    /// every transfer.
    pub max_pending_per_chat: u32,
    /// Who may use the bot: `open` (anyone), `allowlist` (only the user
    /// and chat ids in `allowed`) or `approval` (a new chat waits until an
    /// admin presses Approve). Admins are always allowed.
    pub registration: Registration,
    /// `registration = "allowlist"`: the user ids and chat ids (a group's
    /// negative id) that may use the bot.
    pub allowed: Vec<i64>,
    /// The most chats the bot keeps (denied ones aside); a new chat past it
    /// is refused with a clear reply and nothing is stored for it.
    pub max_chats: u32,
}

/// `telegram.registration`: who may use the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone who finds the bot.
    Open,
    /// Only the user and chat ids in `telegram.allowed` (and the admins).
    Allowlist,
    /// A new chat waits until an admin approves it.
    Approval,
}

impl Registration {
    /// The name `config.toml` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Allowlist => "allowlist",
            Registration::Approval => "approval",
        }
    }
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            api_url: "https://api.telegram.org".into(),
            admins: Vec::new(),
            long_poll_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(10),
            send_rate: 25,
            per_chat_interval: Duration::from_secs(1),
            command_limit: 10,
            command_window: Duration::from_secs(60),
            group_per_minute: 20,
            combine_after: 3,
            combine_window: Duration::from_secs(2),
            max_pending_per_chat: 200,
            registration: Registration::Open,
            allowed: Vec::new(),
            max_chats: 10_000,
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
    /// After "Max daily rate limit reached": how often one probe call checks
    /// whether the quota is back before the next UTC midnight.
    #[serde(with = "humantime_serde")]
    pub daily_cap_probe_interval: Duration,
    /// After "Invalid API Key" (a key revoked while running): how often one
    /// probe call checks whether the key works again.
    #[serde(with = "humantime_serde")]
    pub invalid_key_probe_interval: Duration,
    /// The plan's calls per UTC day (Free 100 000): the daily call budget.
    pub daily_limit: u64,
}

impl Default for EtherscanConfig {
    fn default() -> Self {
        EtherscanConfig {
            base_url: "https://api.etherscan.io/v2/api".into(),
            requests_per_second: 3,
            max_connections: 3,
            request_timeout: Duration::from_secs(15),
            max_blocks_per_poll: 2000,
            daily_cap_probe_interval: Duration::from_secs(15 * 60),
            invalid_key_probe_interval: Duration::from_secs(5 * 60),
            daily_limit: 100_000,
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
    /// Addresses one user may watch, counted across their private chat,
    /// the groups they brought the bot into and every address they added
    /// anywhere (one address on several chains counts once).
    pub max_addresses_per_user: u32,
    /// Subscriptions (address × chain) the bot keeps in all; an `/add`
    /// past it is refused with a clear reply and stores nothing.
    pub max_subscriptions: u32,
    /// Per chain name: how many blocks behind the safe head every block is
    /// scanned a second time (the deep pass), for an explorer index that
    /// trails its head; 0 turns the deep pass off. Chains not named keep
    /// the registry's default ([`Chain::rescan_depth`]).
    pub rescan_depth: BTreeMap<String, u64>,
    /// How each chain's tokens are scanned: `auto` (default) picks per chain
    /// by measured calls and bytes per day (rule: `etherscan::mode`), `logs`
    /// always scans the whole contract (getLogs), `per-address` always asks
    /// `tokentx` per watched address.
    pub scan_mode: ScanMode,
    /// `auto` only: wall-clock time between two decisions while the number
    /// of watched addresses on a chain stays the same (default 60 s). A
    /// change of the watched set, or a mode that no longer fits the limits,
    /// is decided at the next poll whatever this says.
    #[serde(with = "humantime_serde")]
    pub scan_mode_recheck: Duration,
    /// Contracts added by the operator (a token migrated before a release
    /// knew it). Matched by contract, like the registry's own.
    pub contracts: Vec<ContractConfig>,
}

/// `monitor.scan_mode`: how a chain's transfers are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// Per chain: what fits the limits, then the lighter in bytes by a
    /// margin (`etherscan::mode`).
    Auto,
    /// Whole-contract `getLogs`: calls flat in the number of addresses,
    /// bytes proportional to the token's volume.
    Logs,
    /// `tokentx` per watched address: calls proportional to the addresses,
    /// bytes proportional to their own transfers.
    PerAddress,
}

/// One `[[monitor.contracts]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContractConfig {
    /// A chain name of the registry, also listed in `monitor.chains`.
    pub chain: String,
    /// USDT or USDC: how notifications name the token.
    pub symbol: String,
    /// The token contract as the chain writes it: `0x` + 40 hex digits on
    /// EVM chains (EIP-55 checked when mixed case), base58check `T…` on Tron.
    pub contract: String,
    /// The token's decimals (0 to 36).
    pub decimals: u8,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            chains: vec!["ethereum".into()],
            tokens: vec!["USDT".into(), "USDC".into()],
            poll_interval: Duration::from_secs(15),
            confirmations: 2,
            max_addresses_per_user: 50,
            max_subscriptions: 100_000,
            rescan_depth: BTreeMap::new(),
            scan_mode: ScanMode::Auto,
            scan_mode_recheck: crate::etherscan::mode::DECIDE_EVERY,
            contracts: Vec::new(),
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
    /// The most the database may hold (`PRAGMA max_page_count`); beyond it
    /// new transfers wait (nothing is lost) and admins are told. `None`: as
    /// much as the disk holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<ByteSize>,
    /// Delivered (`sent`) and given-up (`failed`) notifications older than
    /// this are deleted.
    #[serde(with = "days")]
    pub keep_delivered: Duration,
    /// Transfers older than this are deleted once no notification refers to
    /// them; held-back (`/spam`) notifications older than this too, except
    /// the latest ones `/spam` lists.
    #[serde(with = "days")]
    pub keep_transfers: Duration,
    /// How often old rows are pruned (and the write-ahead log truncated).
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        DatabaseConfig {
            path: PathBuf::from("data/usdt-monitor.db"),
            workers: 2,
            busy_timeout: Duration::from_secs(5),
            max_size: None,
            keep_delivered: Duration::from_secs(30 * DAY),
            keep_transfers: Duration::from_secs(90 * DAY),
            prune_interval: Duration::from_secs(3600),
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
    /// On Tron: leading (counting the `T`) and trailing base58 characters a
    /// look-alike shares with the real address's `T…` form, as wallets show it.
    pub lookalike_prefix_tron: usize,
    pub lookalike_suffix_tron: usize,
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
            lookalike_prefix_tron: 5,
            lookalike_suffix_tron: 5,
            burst_count: 3,
            burst_window: Duration::from_secs(30 * 60),
            default_mode: SpamMode::Off,
        }
    }
}

/// `[http]`: the health and metrics endpoint (off when `listen` is absent).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to serve `GET /healthz` and `GET /metrics` on, e.g.
    /// "127.0.0.1:9108". `None`: no HTTP server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

impl HttpConfig {
    /// The validated listen address, if the server is on.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.as_deref().and_then(|s| s.parse().ok())
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

    /// Does `monitor.chains` include a Tron chain (and so the `tron` scanner)?
    pub fn scans_tron(&self) -> bool {
        self.chains()
            .iter()
            .any(|c| c.kind == crate::domain::ChainKind::Tron)
    }

    /// The configured chains, resolved against the registry (validated at
    /// load), with the operator's contracts added and the rescan depths set.
    pub fn chains(&self) -> Vec<Chain> {
        let tokens = self.token_symbols();
        let contracts = self.contracts();
        self.monitor
            .chains
            .iter()
            .filter_map(|n| Chain::by_name(n))
            .map(|mut c| {
                c.tokens = contracts.on_chain(c.id).cloned().collect();
                c.tokens.retain(|t| tokens.contains(&t.symbol));
                if let Some(depth) = self
                    .monitor
                    .rescan_depth
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(c.name))
                    .map(|(_, d)| *d)
                {
                    c.rescan_depth = depth;
                }
                c
            })
            .collect()
    }

    /// `[rpc.<chain>]` of `chain`, if it has JSON-RPC endpoints.
    pub fn rpc_of(&self, chain: &Chain) -> Option<&RpcChainConfig> {
        self.rpc
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(chain.name))
            .map(|(_, c)| c)
    }

    /// The configured EVM chains without `[rpc.<chain>]`: the ones that
    /// need `ETHERSCAN_API_KEY` (a chain with RPC endpoints reads them
    /// first and uses Etherscan only when a key is set).
    pub fn etherscan_only_chains(&self) -> Vec<Chain> {
        (self.evm_chains().into_iter())
            .filter(|c| self.rpc_of(c).is_none())
            .collect()
    }

    /// Reads every `env:NAME` endpoint of `[rpc.*]` (an error names the
    /// variable, never a value).
    pub fn check_rpc_env(&self) -> Result<(), ConfigError> {
        for chain in self.evm_chains() {
            if let Some(r) = self.rpc_of(&chain) {
                r.endpoints(chain.name)?;
            }
        }
        Ok(())
    }

    /// The configured chains Etherscan serves ([`Chain::is_evm`]): what the
    /// Etherscan scanner and its preflight loop over; Tron is scanned elsewhere.
    pub fn evm_chains(&self) -> Vec<Chain> {
        self.chains().into_iter().filter(Chain::is_evm).collect()
    }

    /// The active contracts: the registry's and the operator's
    /// `[[monitor.contracts]]` (validated at load), on every chain, whatever
    /// `monitor.chains` and `monitor.tokens` say (a stored transfer of a token
    /// no longer scanned is still shown with its symbol).
    pub fn contracts(&self) -> Contracts {
        Contracts::new(
            self.monitor
                .contracts
                .iter()
                .filter_map(|c| Some((Chain::by_name(&c.chain)?.id, c.token()?))),
        )
    }

    pub fn token_symbols(&self) -> Vec<TokenSymbol> {
        self.monitor
            .tokens
            .iter()
            .filter_map(|t| TokenSymbol::parse(t))
            .collect()
    }

    /// This configuration with every URL passed through [`redact_url`]
    /// (`telegram.api_url`, `etherscan.base_url`, `tron.api_url`,
    /// `[blockscout.urls]`, the webhooks'): for showing it.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.telegram.api_url = redact_url(&c.telegram.api_url);
        c.etherscan.base_url = redact_url(&c.etherscan.base_url);
        c.tron.api_url = redact_url(&c.tron.api_url);
        for url in c.blockscout.urls.values_mut() {
            *url = redact_url(url);
        }
        for w in &mut c.webhooks {
            w.url = redact_url(&w.url);
        }
        for r in c.rpc.values_mut() {
            r.urls = r.shown();
        }
        c
    }

    /// The effective configuration as TOML (it holds no secrets from the
    /// environment; URLs as written: show [`Config::redacted`]'s).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

impl ContractConfig {
    /// The token this entry adds, if it is valid (validated at load).
    pub fn token(&self) -> Option<Token> {
        let kind = Chain::by_name(&self.chain)?.kind;
        Some(Token {
            symbol: TokenSymbol::parse(&self.symbol)?,
            contract: kind.parse_address(&self.contract).ok()?,
            decimals: self.decimals,
        })
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
mod props;
#[cfg(test)]
mod tests;

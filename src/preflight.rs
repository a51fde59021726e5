//! Checks done before the supervision tree starts (`run`, and
//! `check-config --online`): are the secrets accepted, and does the
//! Etherscan key serve every configured chain?
//!
//! What only a human can fix stops the start with exit code 2 and a message
//! naming the variable or key: Telegram answers `getMe` with 401
//! (`TELEGRAM_BOT_TOKEN`), Etherscan answers "Invalid API Key"
//! (`ETHERSCAN_API_KEY`) or "… not supported for this chain"
//! (`monitor.chains`). A network error, a timeout or a 5xx is not a
//! configuration problem: it is reported as a warning and the daemon starts
//! anyway, its actors retrying (a daemon must come up during a provider's
//! outage).
//!
//! The calls go through the daemon's own clients (teloxide's `Bot` built by
//! [`telegram::bot::build`], the [`EtherscanClient`] with its error
//! classification), so nothing here formats a URL or sees the secrets'
//! values in an error.

use std::time::Duration;

use teloxide_core::prelude::Requester;

use crate::config::{Config, Secrets};
use crate::etherscan::{ApiError, EtherscanClient, RetryPolicy};
use crate::instruments::{Instruments, outcome};
use crate::metrics::ProviderHandles;
use crate::telegram::bot::{self, TgError};

/// How long `getMe` may take before the start goes ahead without it. The
/// Bot API client sleeps 10 s after a 5xx before it reports it; longer than
/// that, so the reason is logged, and shorter than the client's own timeout
/// (the long-poll timeout + 15 s).
const TELEGRAM_WITHIN: Duration = Duration::from_secs(15);

/// A configuration problem found by asking the providers (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "TELEGRAM_BOT_TOKEN was rejected by Telegram (getMe answered Unauthorized or Not Found): set the token @BotFather gave you"
    )]
    TelegramToken,
    #[error("ETHERSCAN_API_KEY was rejected by Etherscan ({0}): set a valid Etherscan API V2 key")]
    EtherscanKey(String),
    #[error(
        "Etherscan does not serve chain {chain} with this key or plan ({reason}): remove it from monitor.chains or use a plan that covers it"
    )]
    UnsupportedChain { chain: &'static str, reason: String },
}

/// What the checks found when nothing was fatal.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The bot's username from `getMe` (without the `@`).
    pub bot_username: Option<String>,
    /// Problems that did not stop the start (network errors, 5xx, …).
    pub warnings: Vec<String>,
}

/// Asks Telegram `getMe` and Etherscan `eth_blockNumber` once per chain.
/// Must run inside an actix `System` (the Etherscan client is awc).
pub async fn check(
    config: &Config,
    secrets: &Secrets,
    handles: ProviderHandles,
) -> Result<Report, PreflightError> {
    // TLS for both clients: rustls selects no crypto provider itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (telegram, etherscan) = tokio::join!(
        check_telegram(config, secrets, &handles.instruments),
        check_etherscan(config, secrets, handles.clone()),
    );
    let (bot_username, mut warnings) = telegram?;
    warnings.extend(etherscan?);
    Ok(Report {
        bot_username,
        warnings,
    })
}

async fn check_telegram(
    config: &Config,
    secrets: &Secrets,
    instruments: &Instruments,
) -> Result<(Option<String>, Vec<String>), PreflightError> {
    let bot = match bot::build(&config.telegram, secrets.telegram_token.expose()) {
        Ok(b) => b,
        Err(e) => return Ok((None, vec![format!("Telegram: {e}")])),
    };
    let Ok(answer) = tokio::time::timeout(TELEGRAM_WITHIN, bot.poller.get_me()).await else {
        instruments.provider_call("telegram", "getMe", "timeout");
        let within = humantime::format_duration(TELEGRAM_WITHIN);
        let warning =
            format!("Telegram getMe: no answer within {within} (not a configuration error)");
        return Ok((None, vec![warning]));
    };
    let result = answer.map_err(TgError::from);
    instruments.provider_call("telegram", "getMe", outcome(&result, TgError::outcome));
    match result {
        Ok(me) => Ok((me.user.username.clone(), Vec::new())),
        Err(TgError::Unauthorized) => Err(PreflightError::TelegramToken),
        Err(e) => Ok((
            None,
            vec![format!(
                "Telegram getMe failed: {e} (not a configuration error)"
            )],
        )),
    }
}

async fn check_etherscan(
    config: &Config,
    secrets: &Secrets,
    handles: ProviderHandles,
) -> Result<Vec<String>, PreflightError> {
    // One try for transient errors: an outage is reported, not waited out.
    let retry = RetryPolicy {
        transient_tries: 1,
        ..RetryPolicy::default()
    };
    // No EVM chain, no key, nothing to check.
    let Some(key) = secrets.etherscan_key.clone() else {
        return Ok(Vec::new());
    };
    let client = EtherscanClient::new(&config.etherscan, key, handles, retry);
    let mut warnings = Vec::new();
    // Etherscan serves EVM chains only; Tron has its own provider.
    for chain in config.evm_chains() {
        match client.block_number(&chain).await {
            Ok(_) => {}
            Err(ApiError::InvalidKey(reason)) => return Err(PreflightError::EtherscanKey(reason)),
            Err(ApiError::UnsupportedChain(reason)) => {
                return Err(PreflightError::UnsupportedChain {
                    chain: chain.name,
                    reason,
                });
            }
            Err(e) => warnings.push(format!(
                "Etherscan eth_blockNumber on {} failed: {e} (not a configuration error)",
                chain.name
            )),
        }
    }
    Ok(warnings)
}

//! Building the Bot API client, and turning its errors into ours.
//!
//! The token is part of every request URL (`/bot<token>/<method>`), so a
//! log line that prints a URL, or the `Display` of a client error that
//! carries one, leaks it. Nothing in this module's output can contain a URL:
//! teloxide's errors are mapped to [`TgError`], which keeps only what the
//! server said (its description) or the *kind* of network failure.

use std::time::Duration;

use teloxide_core::Bot;
use teloxide_core::errors::{ApiError, RequestError};
use teloxide_core::payloads::SendMessageSetters;
use teloxide_core::prelude::Requester;
use teloxide_core::types::{ChatId, LinkPreviewOptions, ParseMode};

use crate::config::TelegramConfig;

/// How much longer than the long poll the HTTP client waits: the server
/// answers an empty long poll only after its full timeout, so the client
/// timeout must be longer (teloxide's default 17 s would cut a 20 s poll).
const CLIENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(15);

/// Why the Bot could not be built. Neither variant holds the URL or token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error("telegram.api_url is not a valid URL")]
    BadApiUrl,
    #[error("cannot build the HTTP client (TLS initialisation failed)")]
    Client,
}

/// Builds the one Bot of an actor incarnation. Call it on the Arbiter
/// that will use it: pooled connections belong to the runtime that made
/// them.
pub fn build(config: &TelegramConfig, token: &str) -> Result<Bot, BuildError> {
    let url = config.api_url.parse().map_err(|_| BuildError::BadApiUrl)?;
    let client = teloxide_core::net::default_reqwest_settings()
        .timeout(config.long_poll_timeout + CLIENT_TIMEOUT_MARGIN)
        .build()
        .map_err(|_| BuildError::Client)?;
    Ok(Bot::with_client(token, client).set_api_url(url))
}

/// A failed Bot API call, as the daemon reasons about it. `Display` never
/// contains a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TgError {
    /// 429: wait this long before sending anything.
    #[error("flood limit: retry after {0:?}")]
    RetryAfter(Duration),
    /// 403: blocked by the user, user deactivated, kicked, or never started.
    #[error("the chat cannot be reached: {0}")]
    Forbidden(String),
    /// 400: the request itself is wrong; sending it again will not help.
    #[error("rejected: {0}")]
    BadRequest(String),
    /// The token is wrong or revoked: only a human can fix it.
    #[error("the bot token was rejected")]
    Unauthorized,
    /// 409: another process polls with the same token.
    #[error("another instance is polling with this bot token")]
    Conflict,
    /// The group became a supergroup with a new id.
    #[error("the chat moved to id {0}")]
    Migrated(i64),
    /// Timeouts, refused connections, broken bodies: worth retrying.
    #[error("network error ({0})")]
    Network(&'static str),
    /// 5xx and anything else unexpected from the server: worth retrying.
    #[error("server error: {0}")]
    Server(String),
}

impl TgError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TgError::RetryAfter(_) | TgError::Network(_) | TgError::Server(_)
        )
    }
}

/// Server descriptions are short, but cap what we store and log.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

impl From<RequestError> for TgError {
    fn from(e: RequestError) -> TgError {
        match e {
            RequestError::RetryAfter(secs) => TgError::RetryAfter(secs.duration()),
            RequestError::MigrateToChatId(id) => TgError::Migrated(id.0),
            RequestError::Api(api) => from_api(&api),
            // Only the kind: the error's Display would name the URL.
            RequestError::Network(net) => TgError::Network(if net.is_timeout() {
                "timeout"
            } else if net.is_connect() {
                "cannot connect"
            } else if net.is_body() || net.is_decode() {
                "broken response body"
            } else {
                "request failed"
            }),
            RequestError::InvalidJson { .. } => TgError::Server("unparseable answer".into()),
            RequestError::Io(_) => TgError::Network("i/o error"),
        }
    }
}

fn from_api(api: &ApiError) -> TgError {
    match api {
        ApiError::BotBlocked
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::UserDeactivated
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots => TgError::Forbidden(api.to_string()),
        ApiError::InvalidToken => TgError::Unauthorized,
        ApiError::TerminatedByOtherGetUpdates => TgError::Conflict,
        other => {
            // The server's description: teloxide knows many by name and
            // keeps the rest verbatim in `Unknown`.
            let description = match other {
                ApiError::Unknown(s) => clip(s),
                known => clip(&known.to_string()),
            };
            if description.starts_with("Forbidden") {
                TgError::Forbidden(description)
            } else if description.starts_with("Unauthorized") {
                TgError::Unauthorized
            } else if description.starts_with("Conflict") {
                TgError::Conflict
            } else if description.starts_with("Bad Request") {
                TgError::BadRequest(description)
            } else {
                // "Bad Gateway", "Internal Server Error", ...: the Bot API
                // answers 5xx with such descriptions.
                TgError::Server(description)
            }
        }
    }
}

/// Sends one HTML message with link previews off.
pub async fn send_html(bot: &Bot, chat_id: i64, text: &str) -> Result<(), TgError> {
    bot.send_message(ChatId(chat_id), text)
        .parse_mode(ParseMode::Html)
        .link_preview_options(LinkPreviewOptions {
            is_disabled: true,
            url: None,
            prefer_small_media: false,
            prefer_large_media: false,
            show_above_text: false,
        })
        .await
        .map(|_| ())
        .map_err(TgError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_classified_by_meaning() {
        assert!(matches!(
            from_api(&ApiError::BotBlocked),
            TgError::Forbidden(_)
        ));
        assert!(matches!(
            from_api(&ApiError::UserDeactivated),
            TgError::Forbidden(_)
        ));
        assert!(matches!(
            from_api(&ApiError::ChatNotFound),
            TgError::BadRequest(_)
        ));
        assert_eq!(from_api(&ApiError::InvalidToken), TgError::Unauthorized);
        assert_eq!(
            from_api(&ApiError::TerminatedByOtherGetUpdates),
            TgError::Conflict
        );
        assert_eq!(
            from_api(&ApiError::Unknown("Bad Gateway".into())),
            TgError::Server("Bad Gateway".into())
        );
        assert!(matches!(
            from_api(&ApiError::Unknown(
                "Bad Request: can't parse entities".into()
            )),
            TgError::BadRequest(_)
        ));
        assert!(matches!(
            from_api(&ApiError::Unknown(
                "Forbidden: bot was kicked from the group chat".into()
            )),
            TgError::Forbidden(_)
        ));
        assert!(!TgError::BadRequest("x".into()).is_transient());
        assert!(TgError::Server("x".into()).is_transient());
    }

    #[test]
    fn build_errors_do_not_echo_the_url() {
        let config = TelegramConfig {
            api_url: "not a url".into(),
            ..TelegramConfig::default()
        };
        let err = build(&config, "123:secret").unwrap_err();
        assert!(!err.to_string().contains("secret"));
        assert!(!err.to_string().contains("not a url"));
    }
}

//! Building the Bot API client, and turning its errors into ours.
//!
//! The token is part of every request URL (`/bot<token>/<method>`), so a
//! log line that prints a URL, or the `Display` of a client error that
//! carries one, leaks it. Nothing in this module's output can contain a URL:
//! teloxide's errors are mapped to [`TgError`], which keeps only what the
//! server said (its description) or the *kind* of network failure. For
//! the same reason the client never follows a redirect (a `3xx` naming
//! another host would receive the token): it is an unparseable answer.

use std::sync::Arc;
use std::time::Duration;

use teloxide_core::Bot;
use teloxide_core::errors::{ApiError, RequestError};

use crate::config::TelegramConfig;

/// How much longer than the long poll the HTTP client waits: the server
/// answers an empty long poll only after its full timeout, so the client
/// timeout must be longer (teloxide's default 17 s would cut a 20 s poll).
const CLIENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(15);
/// How long a connection to the Bot API may take to open. A failure here
/// is a connect error: nothing was sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// What a 429 without `parameters.retry_after` waits.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why the Bot could not be built. Neither variant holds the URL or token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error("telegram.api_url is not a valid URL")]
    BadApiUrl,
    #[error("cannot build the HTTP client (TLS initialisation failed)")]
    Client,
}

/// The two clients of one actor incarnation: one for long polling (its
/// timeout outlasts `long_poll_timeout`), one for sending (its timeout is
/// `send_timeout`, after which an answer counts as lost).
#[derive(Clone)]
pub struct Bots {
    pub poller: Bot,
    pub sender: Bot,
}

/// Builds the Bots of an actor incarnation. Call it on the Arbiter that
/// will use them: pooled connections belong to the runtime that made them.
pub fn build(config: &TelegramConfig, token: &str) -> Result<Bots, BuildError> {
    let client = |timeout: Duration| {
        teloxide_core::net::default_reqwest_settings()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // The token is in every request's path: a redirect is never
            // followed (reqwest follows up to 10 by default), it is an
            // unparseable answer.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| BuildError::Client)
    };
    let bot = |timeout: Duration| -> Result<Bot, BuildError> {
        let url = config.api_url.parse().map_err(|_| BuildError::BadApiUrl)?;
        let bot = Bot::with_client(token, client(timeout)?).set_api_url(url);
        if bot.api_url().cannot_be_a_base() {
            return Err(BuildError::BadApiUrl);
        }
        Ok(bot)
    };
    Ok(Bots {
        poller: bot(config.long_poll_timeout + CLIENT_TIMEOUT_MARGIN)?,
        sender: bot(config.send_timeout)?,
    })
}

/// A failed Bot API call, as the daemon reasons about it. `Display` never
/// contains a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TgError {
    /// 429 (or any answer with `parameters.retry_after`): wait this long
    /// before sending anything.
    #[error("flood limit: retry after {0:?}")]
    RetryAfter(Duration),
    /// The chat cannot be reached and retrying will not change that until
    /// the user comes back: 403 (blocked, user deactivated, kicked, can't
    /// initiate a conversation) and 400 "chat not found".
    #[error("the chat cannot be reached: {0}")]
    ChatUnreachable(String),
    /// 400 "not enough rights to send text messages": seen as a transient
    /// fault of the Bot API; the chat's messages wait a long backoff.
    #[error("not allowed to write to the chat (yet): {0}")]
    NoRights(String),
    /// 400 "message is too long": sending the same text again cannot help.
    #[error("the message is too long: {0}")]
    TooLong(String),
    /// Any other 4xx: the request itself is wrong.
    #[error("rejected: {0}")]
    BadRequest(String),
    /// The token is wrong or revoked: only a human can fix it.
    #[error("the bot token was rejected")]
    Unauthorized,
    /// 409: another process polls with the same token.
    #[error("another instance is polling with this bot token")]
    Conflict,
    /// 400 with `parameters.migrate_to_chat_id`: the group became a
    /// supergroup with this new id.
    #[error("the chat moved to id {0}")]
    Migrated(i64),
    /// The request never reached Telegram (the connection could not be
    /// opened): safe to send again.
    #[error("network error, nothing sent ({0})")]
    Network(&'static str),
    /// The request was sent but its answer was lost (client timeout,
    /// connection reset, a garbled or gateway-timeout answer): the message
    /// may have been delivered, and a retry may duplicate it.
    #[error("answer lost, the message may have been delivered ({0})")]
    AnswerLost(&'static str),
    /// 5xx from the Bot API: not processed, worth retrying.
    #[error("server error: {0}")]
    Server(String),
}

impl TgError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TgError::RetryAfter(_)
                | TgError::Network(_)
                | TgError::AnswerLost(_)
                | TgError::Server(_)
                | TgError::NoRights(_)
        )
    }

    /// Whether the message may have been delivered despite the error.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, TgError::AnswerLost(_))
    }

    /// Whether the error concerns the chat rather than the message: every
    /// message to that chat would meet it.
    pub fn is_chat_level(&self) -> bool {
        matches!(self, TgError::ChatUnreachable(_) | TgError::Migrated(_))
    }

    /// The `outcome` label of `usdt_monitor_provider_calls_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            TgError::RetryAfter(_) => "rate_limited",
            TgError::ChatUnreachable(_) => "chat_unreachable",
            TgError::NoRights(_) => "no_rights",
            TgError::TooLong(_) => "too_long",
            TgError::BadRequest(_) => "bad_request",
            TgError::Unauthorized => "unauthorized",
            TgError::Conflict => "conflict",
            TgError::Migrated(_) => "migrated",
            TgError::Network(_) => "connection_error",
            TgError::AnswerLost(_) => "answer_lost",
            TgError::Server(_) => "server_error",
        }
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
            // Only the kind: the error's Display would name the URL. A
            // connect failure (including a connect timeout) sent nothing;
            // anything after the connection was open may have been
            // received.
            RequestError::Network(net) => {
                if net.is_connect() {
                    TgError::Network("cannot connect")
                } else if net.is_builder() {
                    TgError::Network("request not built")
                } else if net.is_timeout() {
                    TgError::AnswerLost("timeout")
                } else if net.is_body() || net.is_decode() {
                    TgError::AnswerLost("broken response body")
                } else {
                    TgError::AnswerLost("request failed")
                }
            }
            RequestError::InvalidJson { .. } => TgError::AnswerLost("unparseable answer"),
            RequestError::Io(_) => TgError::AnswerLost("i/o error"),
        }
    }
}

/// teloxide's parsed error (long polling and start-up calls): it keeps
/// only the description, so this maps by its names.
fn from_api(api: &ApiError) -> TgError {
    match api {
        ApiError::BotBlocked
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::UserDeactivated
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots
        | ApiError::ChatNotFound => TgError::ChatUnreachable(api.to_string()),
        ApiError::InvalidToken => TgError::Unauthorized,
        ApiError::TerminatedByOtherGetUpdates => TgError::Conflict,
        ApiError::MessageIsTooLong => TgError::TooLong(api.to_string()),
        other => {
            let description = match other {
                ApiError::Unknown(s) => clip(s),
                known => clip(&known.to_string()),
            };
            let code = if description.starts_with("Forbidden") {
                403
            } else if description.starts_with("Unauthorized") {
                401
            } else if description.starts_with("Conflict") {
                409
            } else if description.starts_with("Bad Request") {
                400
            } else {
                // "Bad Gateway", "Internal Server Error", ...: the Bot API
                // answers 5xx with such descriptions.
                502
            };
            classify(code, &description, None)
        }
    }
}

/// `parameters` of a Bot API error answer (`ResponseParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Parameters {
    pub retry_after: Option<u64>,
    pub migrate_to_chat_id: Option<i64>,
}

/// The Bot API envelope: `{"ok":true,"result":…}` or
/// `{"ok":false,"error_code":N,"description":"…","parameters":{…}}`.
#[derive(Debug, serde::Deserialize)]
struct Envelope {
    ok: bool,
    error_code: Option<u16>,
    #[serde(default)]
    description: String,
    parameters: Option<Parameters>,
}

/// Classifies an error answer on `parameters` first, then `error_code`,
/// and on the description only where the code is shared by answers that
/// must be treated differently (400).
pub fn classify(error_code: u16, description: &str, parameters: Option<&Parameters>) -> TgError {
    let params = parameters.cloned().unwrap_or_default();
    if let Some(secs) = params.retry_after {
        return TgError::RetryAfter(Duration::from_secs(secs));
    }
    if let Some(id) = params.migrate_to_chat_id {
        return TgError::Migrated(id);
    }
    let description = clip(description);
    let lower = description.to_ascii_lowercase();
    match error_code {
        429 => TgError::RetryAfter(DEFAULT_RETRY_AFTER),
        401 | 404 => TgError::Unauthorized,
        409 => TgError::Conflict,
        // Every 403 of sendMessage is about the chat: blocked, user
        // deactivated, kicked, can't initiate conversation, not a member.
        403 => TgError::ChatUnreachable(description),
        // A gateway timeout: the Bot API may have delivered it meanwhile.
        504 => TgError::AnswerLost("gateway timeout"),
        500..=599 => TgError::Server(description),
        400 if lower.contains("chat not found")
            || lower.contains("user is deactivated")
            || lower.contains("bot was blocked")
            || lower.contains("bot was kicked")
            || lower.contains("peer_id_invalid")
            || lower.contains("chat was upgraded") =>
        {
            TgError::ChatUnreachable(description)
        }
        400 if lower.contains("not enough rights")
            || lower.contains("have no rights")
            || lower.contains("chat_write_forbidden")
            || lower.contains("chat_restricted") =>
        {
            TgError::NoRights(description)
        }
        400 if lower.contains("message is too long") || lower.contains("text is too long") => {
            TgError::TooLong(description)
        }
        _ => TgError::BadRequest(description),
    }
}

/// Reads one Bot API answer: HTTP status and body.
fn read_answer(status: u16, body: &[u8]) -> Result<(), TgError> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) if envelope.ok => Ok(()),
        Ok(envelope) => Err(classify(
            envelope.error_code.unwrap_or(status),
            &envelope.description,
            envelope.parameters.as_ref(),
        )),
        // A success we cannot read is a success we cannot confirm.
        Err(_) if (200..300).contains(&status) => Err(TgError::AnswerLost("unparseable answer")),
        // Not a Bot API answer (an HTML page from a proxy in front of it):
        // it says nothing about the chat or the message, so it never
        // deactivates a chat or dead-letters a row. Only a gateway timeout
        // may hide a delivery, and a 429 still asks to slow down.
        Err(_) => Err(match status {
            429 | 504 => classify(status, &format!("HTTP {status}"), None),
            _ => TgError::Server(format!("HTTP {status} without a Bot API answer")),
        }),
    }
}

/// Sends one HTML message with link previews off, as one `sendMessage`
/// call made directly with the Bot's HTTP client: teloxide's own request
/// drops the answer's `error_code` and sleeps 10 s after any 5xx, and the
/// classification above needs the one and not the other.
pub async fn send_html(bot: &Bot, chat_id: i64, text: &str) -> Result<(), TgError> {
    send_html_with(bot, chat_id, text, None).await
}

/// [`send_html`] with a `reply_markup` (inline keyboard JSON, sent as it
/// is) when one is given.
pub async fn send_html_with(
    bot: &Bot,
    chat_id: i64,
    text: &str,
    reply_markup: Option<&str>,
) -> Result<(), TgError> {
    let mut url = bot.api_url();
    match url.path_segments_mut() {
        Ok(mut segments) => {
            segments.push(&format!("bot{}", bot.token()));
            segments.push("sendMessage");
        }
        Err(()) => return Err(TgError::Network("telegram.api_url cannot take a path")),
    }
    let mut body = serde_json::json!({
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    });
    if let (Some(markup), serde_json::Value::Object(map)) = (reply_markup, &mut body) {
        let markup = serde_json::from_str(markup)
            .map_err(|_| TgError::BadRequest("stored reply_markup is not JSON".into()))?;
        map.insert("reply_markup".into(), markup);
    }
    let response = bot
        .client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| TgError::from(RequestError::Network(Arc::new(e))))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| TgError::from(RequestError::Network(Arc::new(e))))?;
    read_answer(status, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_classified_by_meaning() {
        for e in [
            ApiError::BotBlocked,
            ApiError::UserDeactivated,
            ApiError::ChatNotFound,
        ] {
            assert!(matches!(from_api(&e), TgError::ChatUnreachable(_)), "{e}");
        }
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
            TgError::ChatUnreachable(_)
        ));
        assert!(!TgError::BadRequest("x".into()).is_transient());
        assert!(TgError::Server("x".into()).is_transient());
    }

    /// The kind `4xx_classification`: parameters, then the code, then the
    /// description, in that order.
    #[test]
    fn error_answers_are_classified_on_code_and_parameters_first() {
        let wait = Parameters {
            retry_after: Some(7),
            migrate_to_chat_id: None,
        };
        // retry_after wins whatever the code and wording.
        assert_eq!(
            classify(400, "Bad Request: chat not found", Some(&wait)),
            TgError::RetryAfter(Duration::from_secs(7))
        );
        let moved = Parameters {
            retry_after: None,
            migrate_to_chat_id: Some(-100_123),
        };
        assert_eq!(
            classify(400, "Bad Request: whatever the wording", Some(&moved)),
            TgError::Migrated(-100_123)
        );
        // A 403 is about the chat whatever it says.
        assert!(matches!(
            classify(403, "Forbidden: something new", None),
            TgError::ChatUnreachable(_)
        ));
        assert!(matches!(
            classify(400, "Bad Request: chat not found", None),
            TgError::ChatUnreachable(_)
        ));
        assert!(matches!(
            classify(
                400,
                "Bad Request: not enough rights to send text messages to the chat",
                None
            ),
            TgError::NoRights(_)
        ));
        assert!(matches!(
            classify(400, "Bad Request: message is too long", None),
            TgError::TooLong(_)
        ));
        assert!(matches!(
            classify(400, "Bad Request: something unheard of", None),
            TgError::BadRequest(_)
        ));
        // A code without a description still classifies.
        assert_eq!(
            classify(429, "", None),
            TgError::RetryAfter(DEFAULT_RETRY_AFTER)
        );
        assert_eq!(classify(401, "", None), TgError::Unauthorized);
        assert!(matches!(classify(502, "", None), TgError::Server(_)));
        assert!(classify(504, "Gateway Timeout", None).is_ambiguous());
    }

    /// The kind `ambiguous_send`: what may have been delivered says so.
    #[test]
    fn answers_that_cannot_be_read_are_ambiguous() {
        assert_eq!(read_answer(200, br#"{"ok":true,"result":{}}"#), Ok(()));
        assert!(read_answer(200, b"<html>").unwrap_err().is_ambiguous());
        assert!(matches!(
            read_answer(502, b"<html>bad gateway</html>"),
            Err(TgError::Server(_))
        ));
        let body = br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
        assert!(read_answer(400, body).unwrap_err().is_chat_level());
        assert!(TgError::AnswerLost("timeout").is_transient());
        assert!(!TgError::Network("cannot connect").is_ambiguous());
    }

    /// The kind `proxy_answer`: an error page that is not a Bot API
    /// answer (no envelope) is retried, whatever its HTTP status: a 403 or
    /// 400 from a proxy must not deactivate a chat or dead-letter a row.
    #[test]
    fn proxy_pages_never_deactivate_a_chat() {
        // A proxy's page is not Telegram's word on the chat or the message.
        for status in [400, 403, 404, 500] {
            assert!(
                matches!(
                    read_answer(status, b"<html>denied</html>"),
                    Err(TgError::Server(_))
                ),
                "{status}"
            );
        }
        assert!(read_answer(504, b"<html>").unwrap_err().is_ambiguous());
        assert!(matches!(
            read_answer(429, b"<html>"),
            Err(TgError::RetryAfter(_))
        ));
    }

    #[test]
    fn build_errors_do_not_echo_the_url() {
        let config = TelegramConfig {
            api_url: "not a url".into(),
            ..TelegramConfig::default()
        };
        let Err(err) = build(&config, "123:secret") else {
            panic!("built with a bad URL")
        };
        assert!(!err.to_string().contains("secret"));
        assert!(!err.to_string().contains("not a url"));
    }
}

//! `[[webhook]]`: signed HTTP sinks for integrators (see [`crate::webhook`]).
//!
//! Each entry names an endpoint and the environment variable holding its
//! signing secret (never the secret itself), optional filters, and its retry
//! schedule. Validation names the key as `webhook[<index>].<key>`, counting
//! entries from 0 in file order.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::{Amount, Chain, TokenSymbol};

/// One `[[webhook]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// The endpoint (`http://` or `https://`). Logs show only its host,
    /// since a query string may carry a token.
    pub url: String,
    /// The environment variable holding the signing secret: the Standard
    /// Webhooks form `whsec_<base64>` (decoded to the HMAC key), or any
    /// other text of at least 16 bytes (used as is).
    pub secret_env: String,
    /// Chain names to post (empty: every configured chain).
    pub chains: Vec<String>,
    /// Token symbols to post (empty: every configured token).
    pub tokens: Vec<String>,
    /// Transfers below this many token units are not posted: an exact
    /// decimal such as `"1000"` or `"0.5"` (at most 6 decimal places).
    pub min_amount: Option<String>,
    /// First retry delay; doubles per failed attempt up to `backoff_max`.
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// A delivery still failing this long after its transfer was recorded
    /// is dead-lettered.
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    /// Timeout of one POST (connect, send, response).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            secret_env: String::new(),
            chains: Vec::new(),
            tokens: Vec::new(),
            min_amount: None,
            backoff_min: Duration::from_secs(2),
            backoff_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(15),
        }
    }
}

/// The decimal places `min_amount` may have: the fewest of any registered
/// token (USDT and USDC have 6 on most chains, 18 on BSC).
pub const MIN_AMOUNT_DECIMALS: u8 = 6;

/// The host of `url`, for log lines and `/status` (never the path or query).
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Drop any `user:password@`.
    authority.rsplit('@').next().unwrap_or_default()
}

type Problem = (String, String);

/// Checks every `[[webhook]]`; the error names the key.
pub(super) fn validate(sinks: &[WebhookConfig]) -> Result<(), Problem> {
    for (i, w) in sinks.iter().enumerate() {
        let key = |name: &str| format!("webhook[{i}].{name}");
        let bad = |name: &str, problem: &str| Err((key(name), problem.to_string()));
        let authority = w
            .url
            .parse::<awc::http::Uri>()
            .ok()
            .filter(|u| {
                u.scheme_str().is_some_and(|s| {
                    s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https")
                })
            })
            .and_then(|u| u.authority().cloned());
        let Some(authority) = authority else {
            return bad("url", "must be an http:// or https:// URL with a host");
        };
        // The client never turns `user:password@` into an Authorization
        // header: the receiver would answer 401 and every delivery would
        // be dead-lettered.
        if authority.as_str().contains('@') {
            return bad(
                "url",
                "must not carry user:password@ (never sent); put a token in the path or query instead",
            );
        }
        // Only `host` or `host:port`, so that what logs show (`host_of`)
        // is exactly that and nothing else of the URL.
        let host = authority.host();
        let exact = match authority.port_u16() {
            Some(port) => authority.as_str() == format!("{host}:{port}"),
            None => authority.as_str() == host,
        };
        if host.is_empty() || !exact || w.url.chars().any(char::is_whitespace) {
            return bad("url", "must be an http:// or https:// URL with a host");
        }
        if let Some(j) = sinks[..i].iter().position(|o| o.url == w.url) {
            return Err((key("url"), format!("repeats the url of webhook[{j}]")));
        }
        let env_ok = !w.secret_env.is_empty()
            && w.secret_env
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !env_ok {
            return bad(
                "secret_env",
                "must name an environment variable (A-Z, 0-9, _), not hold the secret",
            );
        }
        for name in &w.chains {
            if Chain::by_name(name).is_none() {
                return Err((
                    key("chains"),
                    format!(
                        "names an unknown chain {name:?} (known: {})",
                        Chain::names().join(", ")
                    ),
                ));
            }
        }
        for name in &w.tokens {
            if TokenSymbol::parse(name).is_none() {
                return Err((
                    key("tokens"),
                    format!("names an unknown token {name:?} (known: USDT, USDC)"),
                ));
            }
        }
        if let Some(min) = &w.min_amount
            && Amount::parse_units(min, MIN_AMOUNT_DECIMALS).is_err()
        {
            return bad(
                "min_amount",
                "must be a token amount such as \"1000\" or \"0.5\" (at most 6 decimals)",
            );
        }
        for (name, d) in [
            ("backoff_min", w.backoff_min),
            ("backoff_max", w.backoff_max),
            ("give_up_after", w.give_up_after),
            ("timeout", w.timeout),
        ] {
            if d.is_zero() {
                return bad(name, "must be longer than zero");
            }
        }
        if w.backoff_max < w.backoff_min {
            return bad("backoff_max", "must not be shorter than backoff_min");
        }
        if w.timeout > Duration::from_secs(60) {
            return bad("timeout", "must be at most 60s");
        }
    }
    Ok(())
}

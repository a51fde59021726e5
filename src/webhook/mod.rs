//! The signed webhook sink: every recorded, non-spam transfer touching a
//! watched address, posted as JSON to each configured `[[webhook]]`.
//!
//! * [`filter`] — which transfers a sink wants; applied in the atomic poll
//!   write, which queues one row per (transfer, sink) ([`crate::db::webhooks`]);
//! * [`payload`] — the JSON body and the stable `webhook-id`;
//! * [`signature`] — Standard Webhooks `v1` signatures (HMAC-SHA256);
//! * [`retry`] — backoff, `Retry-After`, dead letters;
//! * [`actor`] — the `webhook` child: posts due rows, one sink at a time
//!   per loop, and marks each.
//!
//! A sink is identified by [`sink_id`], derived from its URL: changing the
//! URL makes a new sink (rows still pending for the old one stay in the
//! database, undelivered). Logs and `/status` name a sink by its host only,
//! because a URL's query may carry a token.

pub mod actor;
pub mod filter;
pub mod payload;
pub mod retry;
pub mod signature;

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use actor::{Deps, WebhookActor};
pub use filter::SinkFilter;
pub use retry::RetryPolicy;
pub use signature::SigningKey;

use crate::config::webhook::host_of;
use crate::config::{ConfigError, WebhookConfig};
use crate::db::webhooks::SinkCounts;
use crate::notification::escape_html;

/// A configured sink, ready to post to. `Debug` shows only the host.
#[derive(Clone)]
pub struct Sink {
    /// Stable id ([`sink_id`]), stored with each delivery row.
    pub id: String,
    /// The full URL: never logged.
    pub url: String,
    /// The URL's host (and port), for logs and `/status`.
    pub host: String,
    pub key: SigningKey,
    pub filter: SinkFilter,
    pub retry: RetryPolicy,
    /// Timeout of one POST.
    pub timeout: Duration,
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("id", &self.id)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// A sink's stable id: the first 16 hex digits of SHA-256 of its URL (so
/// the URL itself, which may carry a token, is not stored).
pub fn sink_id(url: &str) -> String {
    Sha256::digest(url.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sink {
    /// Builds a sink from its validated configuration and its secret's text.
    pub fn new(c: &WebhookConfig, secret: &str) -> Result<Sink, ConfigError> {
        let key = SigningKey::parse(secret).map_err(|problem| ConfigError::WebhookSecret {
            var: c.secret_env.clone(),
            problem,
        })?;
        let id = sink_id(&c.url);
        Ok(Sink {
            filter: SinkFilter::new(id.clone(), c),
            id,
            url: c.url.clone(),
            host: host_of(&c.url).to_string(),
            key,
            retry: RetryPolicy::new(c),
            timeout: c.timeout,
        })
    }
}

/// The configured sinks, as the application holds them for the poll write,
/// the `webhook` child, `/status` and `/metrics`.
#[derive(Debug, Default)]
pub struct Webhooks {
    pub sinks: Vec<Sink>,
    /// The sinks' filters, for [`crate::db::poll_result::RecordPollResult::with_webhooks`].
    pub filters: std::sync::Arc<[SinkFilter]>,
}

impl Webhooks {
    pub fn new(sinks: Vec<Sink>) -> Webhooks {
        let filters = sinks.iter().map(|s| s.filter.clone()).collect();
        Webhooks { sinks, filters }
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

/// Builds every sink, reading each signing secret from its `secret_env`
/// variable. A missing, empty or unusable secret is an error naming the
/// variable (never its value).
pub fn sinks_from_env(configs: &[WebhookConfig]) -> Result<Vec<Sink>, ConfigError> {
    configs
        .iter()
        .map(|c| match std::env::var(&c.secret_env) {
            Ok(v) if !v.trim().is_empty() => Sink::new(c, &v),
            _ => Err(ConfigError::WebhookSecret {
                var: c.secret_env.clone(),
                problem: "is not set (secrets are read only from the environment)",
            }),
        })
        .collect()
}

/// The `/status` section: one line per sink with its backlog and dead
/// letters (`counts` in the order of `sinks`; `None`: the database did not
/// answer in time).
pub fn status_text(sinks: &[Sink], counts: Option<&[SinkCounts]>) -> String {
    let mut s = String::from("<b>Webhooks</b>\n");
    for (i, sink) in sinks.iter().enumerate() {
        s += &format!("• {}: ", escape_html(&sink.host));
        match counts.and_then(|c| c.get(i)) {
            Some(c) => {
                s += &format!("{} pending, {} dead", c.pending, c.dead);
                if let Some(e) = &c.last_dead_error {
                    s += &format!(" (last: {})", escape_html(e));
                }
            }
            None => s += "<i>unavailable</i>",
        }
        s += "\n";
    }
    s
}

//! The TronGrid client: the requests TronGrid's API asks (the solidified
//! head, a block's header, a contract's events) and what its answers mean
//! for the scanner (a pause on a suspension or a rejected key).
//!
//! Built by the one builder (`scanner::http::client`: at most
//! `tron.max_connections`, `tron.request_timeout`, bounded bodies, redirects
//! never followed), on the actor's own Arbiter (`!Send`), with its own
//! limiter at `tron.requests_per_second` (separate from Etherscan's: the two
//! providers' limits are unrelated). The key (`TRONGRID_API_KEY`, optional)
//! goes only in the header `TRON-PRO-API-KEY`: never in a URL, a log line or
//! an error, and never to another host (a redirect is not followed).
//!
//! Every call goes through the one retry loop (`scanner::retry::Caller`):
//! transient errors (5xx, timeouts, HTML or broken bodies) are retried. A
//! rate-limit answer (403 / 429 / 503 / "frequency limit": TronGrid
//! suspends the key for 30 s) pauses the provider for at least that long —
//! no call until then — and a rejected key pauses it until a probe
//! succeeds, with one admin alert ([`super::pause`]).

use std::time::{Duration, SystemTime};

use super::api::{self, BlockHeader, EventPage};
use super::error::TronError;
use super::pause;
use super::scan::{LIMIT, Window};
use crate::config::{Secret, TronConfig};
use crate::metrics::ProviderHandles;
use crate::scanner::http::{self, Body, Transport};
use crate::scanner::retry::{Caller, Counts, Hooks, RetryPolicy};

/// The largest body read, in bytes (200 event items are about 150 kB); a
/// longer one is a malformed answer, "body larger than … bytes".
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The header TronGrid reads the key from.
pub const KEY_HEADER: &str = "TRON-PRO-API-KEY";

/// What one call asks for (for logs and metrics: never the URL).
#[derive(Debug, Clone, Copy)]
enum Action {
    /// `POST /walletsolidity/getblock` (latest, header only).
    SolidHead,
    /// `POST /walletsolidity/getblock` of one number.
    Block(u64),
    /// `GET /v1/contracts/{contract}/events`.
    Events,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::SolidHead => "getblock_solid",
            Action::Block(_) => "getblock",
            Action::Events => "events",
        }
    }
}

/// The TronGrid client.
pub struct TronClient {
    http: awc::Client,
    base_url: String,
    key: Option<Secret>,
    timeout: Duration,
    caller: Caller,
    /// The least wait after a rate-limit answer (TronGrid's suspension: 30 s).
    suspension: Duration,
}

impl TronClient {
    /// Builds the client. Must run on the thread that will use it.
    pub fn new(
        config: &TronConfig,
        key: Option<Secret>,
        handles: ProviderHandles,
        retry: RetryPolicy,
        suspension: Duration,
    ) -> Self {
        let timeout = config.request_timeout;
        let caller = Caller::new("tron", config.requests_per_second, retry, handles);
        let caller = match &key {
            Some(key) => caller.scrubbing(key),
            None => caller,
        };
        TronClient {
            http: http::client(timeout, config.max_connections),
            base_url: config.api_url.trim_end_matches('/').to_string(),
            key,
            timeout,
            caller,
            suspension,
        }
    }

    /// Requests sent so far, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.caller.counts().calls
    }

    /// Requests sent and failed so far, every retry included.
    pub fn counts(&self) -> Counts {
        self.caller.counts()
    }

    /// The solidified head (final blocks only).
    pub async fn solid_head(&self) -> Result<BlockHeader, TronError> {
        self.call(Action::SolidHead, api::parse_block).await
    }

    /// The header of solidified block `number`.
    pub async fn block(&self, number: u64) -> Result<BlockHeader, TronError> {
        let header = self.call(Action::Block(number), api::parse_block).await?;
        if header.number != number {
            return Err(TronError::Malformed(format!(
                "asked for block {number}, got {}",
                header.number
            )));
        }
        Ok(header)
    }

    /// One page of confirmed `Transfer` events of `contract` (its `T…` form)
    /// in `window`, ascending.
    pub async fn events(
        &self,
        contract: &str,
        window: Window,
        fingerprint: Option<&str>,
    ) -> Result<EventPage, TronError> {
        let mut query: Vec<(&str, String)> = vec![
            ("event_name", "Transfer".into()),
            ("only_confirmed", "true".into()),
            ("order_by", "block_timestamp,asc".into()),
            ("limit", LIMIT.to_string()),
            ("min_block_timestamp", window.min_timestamp.to_string()),
            ("max_block_timestamp", window.max_timestamp.to_string()),
        ];
        if let Some(f) = fingerprint {
            query.push(("fingerprint", f.to_string()));
        }
        let path = format!("/v1/contracts/{contract}/events");
        self.call_with(Action::Events, &path, Some(&query), api::parse_events)
            .await
    }

    async fn call<T>(
        &self,
        action: Action,
        parse: impl Fn(u16, &[u8]) -> Result<T, TronError>,
    ) -> Result<T, TronError> {
        self.call_with(action, "/walletsolidity/getblock", None, parse)
            .await
    }

    /// Sends one request through the one retry loop.
    async fn call_with<T>(
        &self,
        action: Action,
        path: &str,
        query: Option<&[(&str, String)]>,
        parse: impl Fn(u16, &[u8]) -> Result<T, TronError>,
    ) -> Result<T, TronError> {
        let url = format!("{}{path}", self.base_url);
        let body = match action {
            Action::Events => None,
            Action::SolidHead => Some(serde_json::json!({"id_or_num": "", "detail": false})),
            Action::Block(n) => {
                Some(serde_json::json!({"id_or_num": n.to_string(), "detail": false}))
            }
        };
        let send = || {
            tracing::debug!(actor = "tron", action = action.as_str(), "request");
            let mut req = match query {
                Some(_) => self.http.get(&url),
                None => self.http.post(&url),
            };
            if let Some(key) = &self.key {
                req = req.insert_header((KEY_HEADER, key.expose()));
            }
            let req = match query {
                Some(q) => req
                    .query(&q)
                    .map_err(|_| Transport::Connection("cannot encode the query")),
                None => Ok(req),
            };
            let body = body.as_ref();
            async move {
                let body = body.map_or(Body::Empty, Body::Json);
                http::exchange(req?, body, self.timeout, MAX_BODY).await
            }
        };
        let hooks = Call {
            client: self,
            action,
        };
        self.caller.call(action.as_str(), &hooks, send, parse).await
    }
}

/// One call's hooks: TronGrid's log line and pauses.
struct Call<'a> {
    client: &'a TronClient,
    action: Action,
}

impl Hooks<TronError> for Call<'_> {
    fn answered(&self) {
        if let Some(p) = self.client.caller.handles().pauses.lift(pause::PROVIDER) {
            tracing::info!(actor = "tron", reason = %p.reason, "TronGrid answers again; pause lifted");
        }
    }

    fn failed(&self, error: &TronError, retry_in: Option<Duration>) {
        let action = self.action;
        tracing::warn!(actor = "tron", action = action.as_str(),
            block = match action { Action::Block(n) => Some(n), _ => None },
            retry_in_ms = retry_in.map(|d| d.as_millis() as u64), error = %error, "call failed");
    }

    /// A rate limit or a rejected key pauses every call (and alerts once
    /// for the key).
    fn gave_up(&self, error: &TronError) {
        let handles = self.client.caller.handles();
        let now = SystemTime::now();
        if let Some((p, alert)) = pause::pause_for(error, now, self.client.suspension) {
            tracing::warn!(actor = "tron", reason = %p.reason,
                next_probe = %crate::metrics::utc_hhmm(p.next_probe), error = %error, "TronGrid paused");
            if let Some(text) = alert {
                handles.alerts.raise(&p.alert_key, text);
            }
            handles.pauses.pause(p);
        }
    }
}

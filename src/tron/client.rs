//! The Tron scanner's one HTTP client for TronGrid, and the one function
//! that sends a request.
//!
//! One pooled `awc::Client` (at most `tron.max_connections`, rustls,
//! `tron.request_timeout`), built on the actor's own Arbiter (`!Send`), and
//! its own sliding-window limiter at `tron.requests_per_second` (separate
//! from Etherscan's: the two providers' limits are unrelated). The key
//! (`TRONGRID_API_KEY`, optional) goes only in the header
//! `TRON-PRO-API-KEY`: never in a URL, a log line or an error (transport
//! errors are mapped to [`TronError`] variants without their text).
//!
//! Every call is retried by the shared [`RetryPolicy`] for transient errors
//! (5xx, timeouts, HTML or broken bodies). A rate-limit answer (403 / 429 /
//! 503 / "frequency limit": TronGrid suspends the key for 30 s) pauses the
//! provider for at least that long — no call until then — and a rejected
//! key pauses it until a probe succeeds, with one admin alert
//! ([`super::pause`]).

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use awc::error::{PayloadError, SendRequestError};

use super::api::{self, BlockHeader, EventPage};
use super::error::{Disposition, TronError};
use super::pause;
use super::scan::{LIMIT, Window};
use crate::config::{Secret, TronConfig};
use crate::metrics::ProviderHandles;
use crate::scanner::limiter::Limiter;
use crate::scanner::retry::RetryPolicy;

/// The largest body read: 200 event items are about 150 kB.
const MAX_BODY: usize = 8 * 1024 * 1024;

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
    limiter: Limiter,
    handles: ProviderHandles,
    retry: RetryPolicy,
    /// The least wait after a rate-limit answer (TronGrid's suspension: 30 s).
    suspension: Duration,
    calls: Cell<u64>,
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
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = config.request_timeout;
        let connector = awc::Connector::new()
            .limit(config.max_connections.max(1))
            .timeout(timeout.min(Duration::from_secs(10)))
            .conn_keep_alive(Duration::from_secs(30))
            .conn_lifetime(Duration::from_secs(300));
        let http = awc::Client::builder()
            .connector(connector)
            .timeout(timeout)
            .add_default_header((
                "User-Agent",
                concat!("usdt-monitor/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        TronClient {
            http,
            base_url: config.api_url.trim_end_matches('/').to_string(),
            key,
            timeout,
            limiter: Limiter::per_second(config.requests_per_second),
            handles,
            retry,
            suspension,
            calls: Cell::new(0),
        }
    }

    /// Requests sent so far, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.calls.get()
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

    /// Sends until success or an error that says stop.
    async fn call_with<T>(
        &self,
        action: Action,
        path: &str,
        query: Option<&[(&str, String)]>,
        parse: impl Fn(u16, &[u8]) -> Result<T, TronError>,
    ) -> Result<T, TronError> {
        let mut tries = (0u32, 0u32);
        loop {
            let result = match self.send(action, path, query).await {
                Ok((status, body)) => parse(status, &body),
                Err(e) => Err(e),
            };
            (self.handles.instruments).provider_call("tron", action.as_str(), outcome(&result));
            let error = match result {
                Ok(v) => {
                    if let Some(p) = self.handles.pauses.lift(pause::PROVIDER) {
                        tracing::info!(actor = "tron", reason = %p.reason, "TronGrid answers again; pause lifted");
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            let disposition = error.disposition();
            if disposition == Disposition::GiveUp {
                self.give_up(&error);
            }
            let wait = self.retry.next_wait(disposition, &mut tries);
            tracing::warn!(actor = "tron", action = action.as_str(),
                block = match action { Action::Block(n) => Some(n), _ => None },
                retry_in_ms = wait.map(|d| d.as_millis() as u64), error = %error, "call failed");
            match wait {
                Some(d) => actix_rt::time::sleep(d).await,
                None => return Err(error),
            }
        }
    }

    /// A rate limit or a rejected key pauses every call (and alerts once
    /// for the key).
    fn give_up(&self, error: &TronError) {
        let now = SystemTime::now();
        if let Some((p, alert)) = pause::pause_for(error, now, self.suspension) {
            tracing::warn!(actor = "tron", reason = %p.reason,
                next_probe = %crate::metrics::utc_hhmm(p.next_probe), error = %error, "TronGrid paused");
            if let Some(text) = alert {
                self.handles.alerts.raise(&p.alert_key, text);
            }
            self.handles.pauses.pause(p);
        }
    }

    /// One HTTP request through the limiter: status and body.
    async fn send(
        &self,
        action: Action,
        path: &str,
        query: Option<&[(&str, String)]>,
    ) -> Result<(u16, Vec<u8>), TronError> {
        self.limiter.acquire().await;
        self.calls.set(self.calls.get() + 1);
        tracing::debug!(actor = "tron", action = action.as_str(), "request");
        let url = format!("{}{path}", self.base_url);
        let mut req = match query {
            Some(_) => self.http.get(&url),
            None => self.http.post(&url),
        };
        if let Some(key) = &self.key {
            req = req.insert_header((KEY_HEADER, key.expose()));
        }
        if let Some(q) = query {
            req = req
                .query(&q)
                .map_err(|_| TronError::Connection("cannot encode the query"))?;
        }
        let exchange = async {
            let sent = match action {
                Action::Events => req.send().await,
                Action::SolidHead => {
                    req.send_json(&serde_json::json!({"id_or_num": "", "detail": false}))
                        .await
                }
                Action::Block(n) => {
                    req.send_json(&serde_json::json!({"id_or_num": n.to_string(), "detail": false}))
                        .await
                }
            };
            let mut resp = sent.map_err(|e| map_send_error(e, self.timeout))?;
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .limit(MAX_BODY)
                .await
                .map_err(|e| map_payload_error(e, self.timeout))?;
            Ok::<_, TronError>((status, body.to_vec()))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(TronError::Timeout(self.timeout)),
        }
    }
}

/// The `outcome` label of a call.
fn outcome<T>(result: &Result<T, TronError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(TronError::RateLimited(_)) => "rate_limited",
        Err(TronError::InvalidKey(_)) => "invalid_key",
        Err(TronError::Refused(..)) => "refused",
        Err(TronError::Http(_)) => "http_error",
        Err(TronError::Timeout(_)) => "timeout",
        Err(TronError::Connection(_)) => "connection_error",
        Err(TronError::Malformed(_)) => "malformed",
        Err(TronError::UnknownHead(_)) => "unknown_head",
    }
}

/// Maps a transport error to our own, dropping its text.
fn map_send_error(e: SendRequestError, timeout: Duration) -> TronError {
    match e {
        SendRequestError::Timeout => TronError::Timeout(timeout),
        SendRequestError::Connect(_) => TronError::Connection("connect"),
        SendRequestError::Send(_) | SendRequestError::Body(_) => TronError::Connection("send"),
        SendRequestError::Response(_) => TronError::Malformed("unparseable HTTP response".into()),
        SendRequestError::Url(_) => TronError::Connection("invalid api_url"),
        _ => TronError::Connection("http"),
    }
}

fn map_payload_error(e: PayloadError, timeout: Duration) -> TronError {
    match e {
        PayloadError::Overflow => {
            TronError::Malformed(format!("body larger than {MAX_BODY} bytes"))
        }
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            TronError::Timeout(timeout)
        }
        PayloadError::Incomplete(_) => TronError::Connection("body cut off"),
        _ => TronError::Connection("reading the body"),
    }
}

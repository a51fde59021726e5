//! The process's one HTTP client for Etherscan, and the one function that
//! sends a request.
//!
//! Why one client: a pooled `awc::Client` reuses keep-alive connections and
//! caps them at `etherscan.max_connections` (the prior bot opened a session
//! per call and leaked them). `awc::Client` is `!Send`, so it is built on the
//! scanner actor's own Arbiter and never leaves it.
//!
//! Why one request function: every call passes the same [`Limiter`], is
//! counted in the same metrics, is retried by the same rules and is logged
//! the same way — with module, action, chain and block range, never the URL,
//! because the API key is in its query string. `awc` errors can quote the
//! URL, so they are mapped to [`ApiError`] variants without their text.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use awc::error::{PayloadError, SendRequestError};

use super::api;
use super::error::{Action, ApiError, Disposition};
use super::pause::{self, DAILY_CAP_ALERT, INVALID_KEY_ALERT, ProbeIntervals};
use crate::config::{EtherscanConfig, Secret};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Chain};
use crate::metrics::{Counters, Metrics};
use crate::scanner::limiter::Limiter;
pub use crate::scanner::retry::RetryPolicy;

/// The largest body we read: 1000 log items are about 1 MB.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Alert key for a chain the key or plan does not cover.
pub fn unsupported_chain_alert(chain: &Chain) -> String {
    format!("etherscan:unsupported-chain:{}", chain.name)
}

/// What one logical call asks for.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    BlockNumber,
    /// Transfer logs of `contract` in `from..=to`, one page.
    TransferLogs {
        contract: &'a Address,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    },
    /// Transfer logs of `contract` in the single block `block` from `from`
    /// to `to` (`topic1` and `topic2`, joined by `and`): the log indexes of
    /// `tokentx` rows. Small answers: one pair's transfers in one block.
    PairLogs {
        contract: &'a Address,
        block: u64,
        from: &'a Address,
        to: &'a Address,
    },
    /// `account/tokentx` of `address` for `contract` in `from..=to`,
    /// ascending, one page.
    TokenTx {
        contract: &'a Address,
        address: &'a Address,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    },
}

impl Request<'_> {
    fn action(&self) -> Action {
        match self {
            Request::BlockNumber => Action::BlockNumber,
            Request::TransferLogs { .. } | Request::PairLogs { .. } => Action::GetLogs,
            Request::TokenTx { .. } => Action::TokenTx,
        }
    }

    fn module(&self) -> &'static str {
        match self {
            Request::BlockNumber => "proxy",
            Request::TransferLogs { .. } | Request::PairLogs { .. } => "logs",
            Request::TokenTx { .. } => "account",
        }
    }

    /// The query, without `chainid` and `apikey`.
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("module", self.module().to_string()),
            ("action", self.action().as_str().to_string()),
        ];
        match self {
            Request::BlockNumber => {}
            Request::TransferLogs {
                contract,
                from,
                to,
                page,
                offset,
            } => p.extend([
                ("fromBlock", from.to_string()),
                ("toBlock", to.to_string()),
                ("address", contract.as_str().to_string()),
                ("topic0", TRANSFER_TOPIC.to_string()),
                ("page", page.to_string()),
                ("offset", offset.to_string()),
            ]),
            Request::PairLogs {
                contract,
                block,
                from,
                to,
            } => p.extend([
                ("fromBlock", block.to_string()),
                ("toBlock", block.to_string()),
                ("address", contract.as_str().to_string()),
                ("topic0", TRANSFER_TOPIC.to_string()),
                ("topic0_1_opr", "and".to_string()),
                ("topic1", format!("0x{:0>64}", from.hex())),
                ("topic1_2_opr", "and".to_string()),
                ("topic2", format!("0x{:0>64}", to.hex())),
                ("page", "1".to_string()),
                ("offset", super::scan::OFFSET.to_string()),
            ]),
            Request::TokenTx {
                contract,
                address,
                from,
                to,
                page,
                offset,
            } => p.extend([
                ("contractaddress", contract.as_str().to_string()),
                ("address", address.as_str().to_string()),
                ("startblock", from.to_string()),
                ("endblock", to.to_string()),
                ("page", page.to_string()),
                ("offset", offset.to_string()),
                ("sort", "asc".to_string()),
            ]),
        }
        p
    }
}

pub struct EtherscanClient {
    http: awc::Client,
    base_url: String,
    key: Secret,
    timeout: Duration,
    limiter: Limiter,
    metrics: Arc<Metrics>,
    retry: RetryPolicy,
    probes: ProbeIntervals,
    /// Requests sent by this client (every try).
    calls: Cell<u64>,
}

impl EtherscanClient {
    /// Builds the client. Must run on the thread that will use it.
    pub fn new(
        config: &EtherscanConfig,
        key: Secret,
        metrics: Arc<Metrics>,
        retry: RetryPolicy,
    ) -> Self {
        // rustls picks no crypto provider by itself and `Connector::new`
        // panics without one. The app installs ring at start-up; doing it
        // here too (a no-op when one is installed) keeps a test or tool that
        // forgot from crashing the actor on every restart.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = config.request_timeout;
        let http = http_client(timeout, config.max_connections);
        EtherscanClient {
            http,
            base_url: config.base_url.clone(),
            key,
            timeout,
            limiter: Limiter::per_second(config.requests_per_second),
            metrics,
            retry,
            probes: ProbeIntervals::from_config(config),
            calls: Cell::new(0),
        }
    }

    /// Requests sent so far by this client, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.calls.get()
    }

    /// The chain's head block.
    pub async fn block_number(&self, chain: &Chain) -> Result<u64, ApiError> {
        self.call(chain, Request::BlockNumber, api::parse_block_number)
            .await
    }

    /// One page of Transfer logs; empty for "No records found".
    pub async fn transfer_logs(
        &self,
        chain: &Chain,
        contract: &Address,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        let request = Request::TransferLogs {
            contract,
            from,
            to,
            page,
            offset,
        };
        self.call(chain, request, api::parse_list).await
    }

    /// One page of a list call (`tokentx` rows, a pair's Transfer logs);
    /// empty for "No records found" / "No transactions found".
    pub async fn list(
        &self,
        chain: &Chain,
        request: Request<'_>,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        self.call(chain, request, api::parse_list).await
    }

    /// Sends `request` until it succeeds or its error says to stop: rate
    /// limits back off and retry, transient errors retry a few times, a
    /// "split the range" or "tell a human" answer returns at once.
    async fn call<T>(
        &self,
        chain: &Chain,
        request: Request<'_>,
        parse: impl Fn(u16, &[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut tries = (0u32, 0u32);
        loop {
            let result = match self.send(chain, &request).await {
                Ok((status, body)) => parse(status, &body),
                Err(e) => Err(e),
            };
            let outcome = crate::instruments::etherscan_outcome(&result);
            (self.metrics.instruments).provider_call(
                "etherscan",
                request.action().as_str(),
                outcome,
            );
            let error = match result {
                Ok(v) => {
                    if let Some(p) = self.metrics.lift(pause::PROVIDER) {
                        tracing::info!(actor = "etherscan", reason = %p.reason, "Etherscan answers again; pause lifted");
                    }
                    self.metrics.resolve(INVALID_KEY_ALERT);
                    self.metrics.resolve(DAILY_CAP_ALERT);
                    self.metrics.resolve(&unsupported_chain_alert(chain));
                    return Ok(v);
                }
                Err(e) => e,
            };
            Counters::add(&self.metrics.counters.etherscan_errors, 1);
            let disposition = error.disposition();
            if disposition == Disposition::BackOff {
                Counters::add(&self.metrics.counters.etherscan_rate_limited, 1);
            }
            if disposition == Disposition::GiveUp {
                self.alert(chain, &error);
            }
            let wait = self.retry.next_wait(disposition, &mut tries);
            log_failure(chain, &request, &error, wait);
            match wait {
                Some(d) => actix_rt::time::sleep(d).await,
                None => return Err(error),
            }
        }
    }

    /// Tells the admins (once per incident) and, for a provider-wide
    /// answer, pauses every call until the next probe.
    fn alert(&self, chain: &Chain, error: &ApiError) {
        if let Some((p, text)) = pause::pause_for(error, std::time::SystemTime::now(), self.probes)
        {
            tracing::warn!(actor = "etherscan", reason = %p.reason, next_probe = %crate::metrics::utc_hhmm(p.next_probe), error = %error, "Etherscan paused");
            self.metrics.raise(&p.alert_key, text);
            self.metrics.pause(p);
        } else if let ApiError::UnsupportedChain(reason) = error {
            self.metrics.raise(
                &unsupported_chain_alert(chain),
                format!(
                    "Etherscan does not serve {} with this key or plan ({reason}). That chain is not scanned.",
                    chain.display
                ),
            );
        }
    }

    /// One HTTP request through the limiter. Returns the status and body.
    async fn send(&self, chain: &Chain, request: &Request<'_>) -> Result<(u16, Vec<u8>), ApiError> {
        self.limiter.acquire().await;
        Counters::add(&self.metrics.counters.etherscan_calls, 1);
        self.calls.set(self.calls.get() + 1);
        log_request(chain, request);
        let mut query = vec![("chainid", chain.id.to_string())];
        query.extend(request.params());
        query.push(("apikey", self.key.expose().to_string()));
        get(&self.http, &self.base_url, &query, self.timeout).await
    }
}

/// A pooled client: at most `max_connections`, keep-alive, `timeout` per
/// request. Shared by the Etherscan and the Blockscout client.
pub(crate) fn http_client(timeout: Duration, max_connections: usize) -> awc::Client {
    // rustls picks no crypto provider by itself and `Connector::new`
    // panics without one. The app installs ring at start-up; doing it
    // here too (a no-op when one is installed) keeps a test or tool that
    // forgot from crashing the actor on every restart.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let connector = awc::Connector::new()
        .limit(max_connections.max(1))
        .timeout(timeout.min(Duration::from_secs(10)))
        .conn_keep_alive(Duration::from_secs(30))
        .conn_lifetime(Duration::from_secs(300));
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .add_default_header((
            "User-Agent",
            concat!("usdt-monitor/", env!("CARGO_PKG_VERSION")),
        ))
        .finish()
}

/// One GET of `url` with `query`: the status and the body (at most
/// [`MAX_BODY`]), transport errors mapped without their text (they may
/// quote the URL and its key).
pub(crate) async fn get(
    http: &awc::Client,
    url: &str,
    query: &[(&str, String)],
    timeout: Duration,
) -> Result<(u16, Vec<u8>), ApiError> {
    let req = http
        .get(url)
        .query(&query)
        .map_err(|_| ApiError::Connection("cannot encode the query"))?;
    let exchange = async {
        let mut resp = req.send().await.map_err(|e| map_send_error(e, timeout))?;
        let status = resp.status().as_u16();
        let body = resp
            .body()
            .limit(MAX_BODY)
            .await
            .map_err(|e| map_payload_error(e, timeout))?;
        Ok::<_, ApiError>((status, body.to_vec()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::Timeout(timeout)),
    }
}

fn log_request(chain: &Chain, request: &Request<'_>) {
    match request {
        Request::BlockNumber => tracing::debug!(
            actor = "etherscan",
            chain = chain.name,
            module = request.module(),
            action = request.action().as_str(),
            "request"
        ),
        Request::PairLogs { block, .. } => tracing::debug!(
            actor = "etherscan",
            chain = chain.name,
            module = request.module(),
            action = request.action().as_str(),
            block,
            "request (log indexes of tokentx rows)"
        ),
        Request::TransferLogs { from, to, page, .. } | Request::TokenTx { from, to, page, .. } => {
            tracing::debug!(
                actor = "etherscan",
                chain = chain.name,
                module = request.module(),
                action = request.action().as_str(),
                from_block = from,
                to_block = to,
                page,
                "request"
            )
        }
    }
}

fn log_failure(chain: &Chain, request: &Request<'_>, error: &ApiError, retry_in: Option<Duration>) {
    let (from, to, page) = match request {
        Request::BlockNumber => (None, None, None),
        Request::TransferLogs { from, to, page, .. } | Request::TokenTx { from, to, page, .. } => {
            (Some(*from), Some(*to), Some(*page))
        }
        Request::PairLogs { block, .. } => (Some(*block), Some(*block), Some(1)),
    };
    let retry_in_ms = retry_in.map(|d| d.as_millis() as u64);
    // A range that is too large is routine (the caller splits it): debug.
    if error.disposition() == Disposition::Split {
        tracing::debug!(
            actor = "etherscan",
            chain = chain.name,
            module = request.module(),
            action = request.action().as_str(),
            from_block = from,
            to_block = to,
            page,
            error = %error,
            "range too large"
        );
        return;
    }
    tracing::warn!(
        actor = "etherscan",
        chain = chain.name,
        module = request.module(),
        action = request.action().as_str(),
        from_block = from,
        to_block = to,
        page,
        retry_in_ms,
        error = %error,
        "call failed"
    );
}

/// Maps a transport error to our own, dropping its text (it may quote the URL).
fn map_send_error(e: SendRequestError, timeout: Duration) -> ApiError {
    match e {
        SendRequestError::Timeout => ApiError::Timeout(timeout),
        SendRequestError::Connect(_) => ApiError::Connection("connect"),
        SendRequestError::Send(_) | SendRequestError::Body(_) => ApiError::Connection("send"),
        SendRequestError::Response(_) => ApiError::Malformed("unparseable HTTP response".into()),
        SendRequestError::Url(_) => ApiError::Connection("invalid base URL"),
        _ => ApiError::Connection("http"),
    }
}

fn map_payload_error(e: PayloadError, timeout: Duration) -> ApiError {
    match e {
        PayloadError::Overflow => ApiError::Malformed(format!("body larger than {MAX_BODY} bytes")),
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            ApiError::Timeout(timeout)
        }
        PayloadError::Incomplete(_) => ApiError::Connection("body cut off"),
        _ => ApiError::Connection("reading the body"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_carry_no_key_and_decimal_blocks() {
        let usdt = Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap();
        let r = Request::TransferLogs {
            contract: &usdt,
            from: 100,
            to: 0x200,
            page: 2,
            offset: 1000,
        };
        let p = r.params();
        assert!(p.contains(&("fromBlock", "100".into())));
        assert!(p.contains(&("toBlock", "512".into())));
        assert!(p.contains(&("topic0", TRANSFER_TOPIC.into())));
        assert!(p.iter().all(|(k, _)| *k != "apikey"));
    }

    #[test]
    fn transport_errors_lose_their_text() {
        let e = map_send_error(SendRequestError::Timeout, Duration::from_secs(2));
        assert_eq!(e, ApiError::Timeout(Duration::from_secs(2)));
        let e = map_send_error(
            SendRequestError::Send(std::io::Error::other("http://x/?apikey=SECRET")),
            Duration::from_secs(2),
        );
        assert!(!e.to_string().contains("SECRET"));
    }
}

//! The process's one HTTP client for Blockscout instances: keyless, with
//! its own limiter (`blockscout.requests_per_second`, every instance
//! together), the same retry rules and transport-error mapping as the
//! Etherscan client, and block-range paging (Blockscout ignores `page` and
//! `offset`: every getLogs answer holds at most 1000 logs, in (block, log
//! index) order).
//!
//! Like [`EtherscanClient`](crate::etherscan::EtherscanClient) it is
//! `!Send` and lives on the scanner actor's Arbiter. Logged with module,
//! action, chain and block range; the instance URL (which carries no key)
//! is never needed in a log line either.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::api::{self, MAX_LOGS};
use crate::config::{BlockscoutConfig, EtherscanConfig};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Chain};
use crate::etherscan::api::parse_hex_u64;
use crate::etherscan::client::{get, http_client};
use crate::etherscan::{ApiError, RetryPolicy};
use crate::instruments::Instruments;
use crate::scanner::limiter::Limiter;

/// The provider name in metrics, logs and `/status`.
pub const PROVIDER: &str = "Blockscout";

pub struct BlockscoutClient {
    http: awc::Client,
    /// Instance `/api` URL per chain id (only chains that have one).
    urls: HashMap<u64, String>,
    timeout: Duration,
    limiter: Limiter,
    instruments: Arc<Instruments>,
    retry: RetryPolicy,
    /// Requests sent (every try).
    calls: Cell<u64>,
}

impl BlockscoutClient {
    /// Builds the client for `chains` (those without an instance get none).
    /// Must run on the thread that will use it. Timeouts and the pool size
    /// follow `[etherscan]`.
    pub fn new(
        config: &BlockscoutConfig,
        etherscan: &EtherscanConfig,
        chains: &[Chain],
        instruments: Arc<Instruments>,
        retry: RetryPolicy,
    ) -> Self {
        let timeout = etherscan.request_timeout;
        let http = http_client(timeout, etherscan.max_connections);
        BlockscoutClient {
            http,
            urls: chains
                .iter()
                .filter_map(|c| Some((c.id, config.url(c)?)))
                .collect(),
            timeout,
            limiter: Limiter::per_second(config.requests_per_second),
            instruments,
            retry,
            calls: Cell::new(0),
        }
    }

    /// Does `chain` have a Blockscout instance to fall back to?
    pub fn serves(&self, chain: &Chain) -> bool {
        self.urls.contains_key(&chain.id)
    }

    /// Requests sent so far, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.calls.get()
    }

    /// The highest block the instance has indexed.
    pub async fn block_number(&self, chain: &Chain) -> Result<u64, ApiError> {
        let query = [
            ("module", "block".to_string()),
            ("action", "eth_block_number".into()),
        ];
        self.call(chain, "eth_block_number", &query, api::parse_block_number)
            .await
    }

    /// Every Transfer log of `contract` in `from..=to` (Etherscan's item
    /// shape), paging by block range: a full answer (1000 logs) is asked
    /// again from its last block, inclusive, and rows already seen (by
    /// transaction hash and log index) are dropped. A single block holding
    /// 1000 or more matches cannot be paged here:
    /// [`ApiError::WindowTooLarge`], which the scan reports as unsplittable.
    pub async fn transfer_logs(
        &self,
        chain: &Chain,
        contract: &Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out: Vec<Value> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut start = from;
        loop {
            let query = [
                ("module", "logs".to_string()),
                ("action", "getLogs".into()),
                ("fromBlock", start.to_string()),
                ("toBlock", to.to_string()),
                ("address", contract.as_str().to_string()),
                ("topic0", TRANSFER_TOPIC.to_string()),
            ];
            let batch = self.call(chain, "getLogs", &query, api::parse_logs).await?;
            let full = batch.len() >= MAX_LOGS;
            let last = batch.last().and_then(block_of);
            for item in batch {
                if seen.insert(key_of(&item)) {
                    out.push(item);
                }
            }
            match last {
                Some(last) if full && last > start && last <= to => start = last,
                _ if full => return Err(ApiError::WindowTooLarge),
                _ => return Ok(out),
            }
        }
    }

    /// Sends one query until it succeeds or its error says to stop (the
    /// same dispositions as Etherscan's; a "give up" answer returns at once).
    async fn call<T>(
        &self,
        chain: &Chain,
        action: &'static str,
        query: &[(&str, String)],
        parse: impl Fn(u16, &[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut tries = (0u32, 0u32);
        loop {
            let result = match self.send(chain, query).await {
                Ok((status, body)) => parse(status, &body),
                Err(e) => Err(e),
            };
            let outcome = crate::instruments::etherscan_outcome(&result);
            self.instruments
                .provider_call("blockscout", action, outcome);
            let error = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let wait = self.retry.next_wait(error.disposition(), &mut tries);
            tracing::warn!(actor = "etherscan", provider = PROVIDER, chain = chain.name,
                action, retry_in_ms = wait.map(|d| d.as_millis() as u64), error = %error, "call failed");
            match wait {
                Some(d) => actix_rt::time::sleep(d).await,
                None => return Err(error),
            }
        }
    }

    /// One HTTP request through the limiter: the status and the body.
    async fn send(
        &self,
        chain: &Chain,
        query: &[(&str, String)],
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let url = self.urls.get(&chain.id).ok_or(ApiError::Connection(
            "no Blockscout instance for this chain",
        ))?;
        self.limiter.acquire().await;
        self.calls.set(self.calls.get() + 1);
        tracing::debug!(actor = "etherscan", provider = PROVIDER, chain = chain.name,
            query = ?query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), "request");
        get(&self.http, url, query, self.timeout).await
    }
}

/// The block number of a raw item, if readable.
fn block_of(item: &Value) -> Option<u64> {
    item.get("blockNumber")
        .and_then(Value::as_str)
        .and_then(parse_hex_u64)
}

/// The dedupe key of a raw item: (transaction hash, log index), as sent.
fn key_of(item: &Value) -> (String, String) {
    let field = |k: &str| item.get(k).map(Value::to_string).unwrap_or_default();
    (field("transactionHash"), field("logIndex"))
}

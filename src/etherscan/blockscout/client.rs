//! The process's one HTTP client for Blockscout instances: keyless, with
//! its own limiter (`blockscout.requests_per_second`, every instance
//! together), built by the one builder and retried by the one loop
//! (`scanner::http`, `scanner::retry`), and block-range paging (Blockscout
//! ignores `page` and `offset`: every getLogs answer holds at most 1000
//! logs, in (block, log index) order).
//!
//! `!Send`: it lives on the scanner actor's Arbiter. Logged with action,
//! chain and block range; the instance URL (which carries no key) is never
//! needed in a log line either.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::super::api::parse_hex_u64;
use super::super::error::ApiError;
use super::api::{self, MAX_LOGS};
use crate::config::{BlockscoutConfig, EtherscanConfig};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Chain};
use crate::metrics::ProviderHandles;
use crate::scanner::http::{self, Body, Transport};
use crate::scanner::retry::RetryPolicy;
use crate::scanner::retry::{Caller, Counts, Hooks};

/// The largest body read, in bytes (1000 log items are about 1 MB); a
/// longer one is a malformed answer, "body larger than … bytes".
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The provider name in metrics, logs and `/status`.
pub const PROVIDER: &str = "Blockscout";

pub struct BlockscoutClient {
    http: awc::Client,
    /// Instance `/api` URL per chain id (only chains that have one).
    urls: HashMap<u64, String>,
    timeout: Duration,
    caller: Caller,
}

impl BlockscoutClient {
    /// Builds the client for `chains` (those without an instance get none).
    /// Must run on the thread that will use it. Timeouts and the pool size
    /// follow `[etherscan]`.
    pub fn new(
        config: &BlockscoutConfig,
        etherscan: &EtherscanConfig,
        chains: &[Chain],
        handles: ProviderHandles,
        retry: RetryPolicy,
    ) -> Self {
        let timeout = etherscan.request_timeout;
        BlockscoutClient {
            http: http::client(timeout, etherscan.max_connections),
            urls: chains
                .iter()
                .filter_map(|c| Some((c.id, config.url(c)?)))
                .collect(),
            timeout,
            caller: Caller::new(
                "blockscout",
                config.requests_per_second,
                retry.fallback(),
                handles,
            ),
        }
    }

    /// Does `chain` have a Blockscout instance to fall back to?
    pub fn serves(&self, chain: &Chain) -> bool {
        self.urls.contains_key(&chain.id)
    }

    /// Requests sent so far, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.caller.counts().calls
    }

    /// Requests sent and failed so far, every retry included.
    pub fn counts(&self) -> Counts {
        self.caller.counts()
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

    /// Sends one query through the one retry loop.
    async fn call<T>(
        &self,
        chain: &Chain,
        action: &'static str,
        query: &[(&str, String)],
        parse: impl Fn(u16, &[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let url = self.urls.get(&chain.id).ok_or(ApiError::Connection(
            "no Blockscout instance for this chain",
        ))?;
        let hooks = Call { chain, action };
        let send = || {
            tracing::debug!(actor = "etherscan", provider = PROVIDER, chain = chain.name,
                query = ?query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), "request");
            let req = self.http.get(url).query(&query);
            async move {
                let req = req.map_err(|_| Transport::Connection("cannot encode the query"))?;
                http::exchange(req, Body::Empty, self.timeout, MAX_BODY).await
            }
        };
        self.caller.call(action, &hooks, send, parse).await
    }
}

/// One call's hooks: its log line.
struct Call<'a> {
    chain: &'a Chain,
    action: &'static str,
}

impl Hooks<ApiError> for Call<'_> {
    fn failed(&self, error: &ApiError, retry_in: Option<Duration>) {
        tracing::warn!(actor = "etherscan", provider = PROVIDER, chain = self.chain.name,
            action = self.action, retry_in_ms = retry_in.map(|d| d.as_millis() as u64),
            error = %error, "call failed");
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

//! One JSON-RPC endpoint: its HTTP client (the shared
//! [`scanner::http`](crate::scanner::http) builder), its retry loop (the
//! shared [`Caller`]), and what it taught us: the head it last reported and
//! the block range it accepts.

use std::cell::Cell;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{RpcError, clip, parse_reply};
use crate::config::{Confirmations, FinalityTag, RpcEndpoint, Secret};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::log::parse_hex_u64;
use crate::domain::{Address, Chain};
use crate::metrics::ProviderHandles;
use crate::scanner::http::{self, Body};
use crate::scanner::retry::{Caller, Counts, Hooks, RetryPolicy};

/// The largest body of one answer.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The `/metrics` provider label of every endpoint's calls (per-endpoint
/// counts are the pool's, labelled by host).
pub const LABEL: &str = "rpc";

/// How one endpoint is used.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub timeout: Duration,
    pub max_connections: usize,
    pub requests_per_second: u32,
    /// Configured `max_block_range` (the learned cap starts there).
    pub max_block_range: Option<u64>,
    /// Head − N blocks, or a finality tag.
    pub confirmations: Confirmations,
    pub retry: RetryPolicy,
}

/// One endpoint of one chain.
pub struct RpcClient {
    host: String,
    url: Secret,
    chain_id: u64,
    http: awc::Client,
    timeout: Duration,
    caller: Caller,
    confirmations: Confirmations,
    /// The chain id was checked (once per client).
    chain_checked: Cell<bool>,
    /// The widest `eth_getLogs` range to ask for (configured or learned).
    cap: Cell<Option<u64>>,
    /// The newest head this endpoint reported.
    head: Cell<Option<u64>>,
    next_id: Cell<u64>,
}

/// The part of a URL that may carry a key (path and query), scrubbed from
/// error bodies; `None` when too short to be one.
fn key_part(url: &str) -> Option<Secret> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let tail = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    let tail = tail.trim_matches('/');
    (tail.len() >= crate::scanner::http::SCRUB_RUN).then(|| Secret::new(tail))
}

impl RpcClient {
    /// A client for `endpoint` of `chain`.
    pub fn new(
        endpoint: &RpcEndpoint,
        chain: &Chain,
        options: Options,
        handles: ProviderHandles,
    ) -> Self {
        let caller = Caller::new(LABEL, options.requests_per_second, options.retry, handles);
        let caller = match key_part(endpoint.url.expose()) {
            Some(k) => caller.scrubbing(&k),
            None => caller,
        };
        RpcClient {
            host: endpoint.host.clone(),
            url: endpoint.url.clone(),
            chain_id: chain.id,
            http: http::client(options.timeout, options.max_connections),
            timeout: options.timeout,
            caller,
            confirmations: options.confirmations,
            chain_checked: Cell::new(false),
            cap: Cell::new(options.max_block_range),
            head: Cell::new(None),
            next_id: Cell::new(1),
        }
    }

    /// The endpoint's host: its only name anywhere.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Requests sent so far (retries included).
    pub fn calls_sent(&self) -> u64 {
        self.caller.counts().calls
    }

    /// Calls and errors so far.
    pub fn counts(&self) -> Counts {
        self.caller.counts()
    }

    /// The widest range `eth_getLogs` is asked for (configured or learned).
    pub fn range_cap(&self) -> Option<u64> {
        self.cap.get()
    }

    /// Remember that at most `width` blocks are accepted.
    pub fn learn_range(&self, width: u64) {
        let width = width.max(1);
        if self.cap.get().is_none_or(|c| width < c) {
            self.cap.set(Some(width));
        }
    }

    /// The newest head this endpoint reported.
    pub fn reported_head(&self) -> Option<u64> {
        self.head.get()
    }

    /// A probe of a left endpoint: fewer retries.
    pub fn probing(&self, on: bool) {
        self.caller.probing(on);
    }

    /// The head and the safe head (head − confirmations, or the finality
    /// tag's block, never above the head). Checks the chain id first, once.
    pub async fn head(&self) -> Result<(u64, u64), RpcError> {
        if !self.chain_checked.get() {
            let id = self.quantity("eth_chainId", json!([])).await?;
            if id != self.chain_id {
                return Err(RpcError::WrongChain {
                    want: self.chain_id,
                    got: id,
                });
            }
            self.chain_checked.set(true);
        }
        let number = self.quantity("eth_blockNumber", json!([])).await?;
        let safe = match self.confirmations {
            Confirmations::Blocks(n) => number.saturating_sub(n),
            Confirmations::Tag(tag) => self.tagged(tag).await?.min(number),
        };
        self.head.set(Some(number));
        Ok((number, safe))
    }

    /// The number of the block tagged `tag`.
    async fn tagged(&self, tag: FinalityTag) -> Result<u64, RpcError> {
        let block = self
            .request("eth_getBlockByNumber", json!([tag.as_str(), false]), false)
            .await?;
        block
            .get("number")
            .and_then(Value::as_str)
            .and_then(parse_hex_u64)
            .ok_or_else(|| {
                RpcError::UnknownHead(format!(
                    "no {} block: {}",
                    tag.as_str(),
                    clip(&block.to_string())
                ))
            })
    }

    /// The timestamp of block `number`.
    pub async fn block_time(&self, number: u64) -> Result<u64, RpcError> {
        let block = self
            .request(
                "eth_getBlockByNumber",
                json!([format!("0x{number:x}"), false]),
                false,
            )
            .await?;
        block
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_hex_u64)
            .ok_or_else(|| RpcError::Malformed(format!("block {number} has no timestamp")))
    }

    /// The Transfer logs of `contracts` (an address array: OR) in blocks
    /// `from..=to`, as raw items.
    pub async fn transfer_logs(
        &self,
        contracts: &[Address],
        from: u64,
        to: u64,
    ) -> Result<Vec<Value>, RpcError> {
        let addresses: Vec<&str> = contracts.iter().map(Address::as_str).collect();
        let filter = json!({
            "fromBlock": format!("0x{from:x}"),
            "toBlock": format!("0x{to:x}"),
            "address": addresses,
            "topics": [TRANSFER_TOPIC],
        });
        match self.request("eth_getLogs", json!([filter]), true).await? {
            Value::Array(items) => Ok(items),
            other => Err(RpcError::Malformed(format!(
                "eth_getLogs result is not an array: {}",
                clip(&other.to_string())
            ))),
        }
    }

    async fn quantity(&self, method: &'static str, params: Value) -> Result<u64, RpcError> {
        let v = self.request(method, params, false).await?;
        v.as_str().and_then(parse_hex_u64).ok_or_else(|| {
            RpcError::UnknownHead(format!(
                "{method} is not a quantity: {}",
                clip(&v.to_string())
            ))
        })
    }

    /// One call through the shared retry loop; `sizeable`: read size refusals.
    async fn request(
        &self,
        method: &'static str,
        params: Value,
        sizeable: bool,
    ) -> Result<Value, RpcError> {
        let hooks = Call {
            host: &self.host,
            method,
        };
        let send = || {
            let id = self.next_id.get();
            self.next_id.set(id.wrapping_add(1));
            let body =
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params.clone()});
            tracing::debug!(actor = "etherscan", provider = LABEL, host = %self.host, method,
                params = %params, "request");
            // `send_json` sets `Content-Type: application/json`.
            let req = self.http.post(self.url.expose());
            let timeout = self.timeout;
            async move { http::exchange(req, Body::Json(&body), timeout, MAX_BODY).await }
        };
        let parse = |status: u16, body: &[u8]| parse_reply(status, body, sizeable);
        self.caller.call(method, &hooks, send, parse).await
    }
}

struct Call<'a> {
    host: &'a str,
    method: &'static str,
}

impl Hooks<RpcError> for Call<'_> {
    fn failed(&self, error: &RpcError, retry_in: Option<Duration>) {
        tracing::warn!(actor = "etherscan", provider = LABEL, host = self.host,
            method = self.method, retry_in_ms = retry_in.map(|d| d.as_millis() as u64),
            error = %error, "call failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_part_of_a_url_is_its_path_and_query() {
        let k = key_part("https://eth-mainnet.g.alchemy.com/v2/AbCdEf0123456789").unwrap();
        assert_eq!(k.expose(), "v2/AbCdEf0123456789");
        assert!(key_part("https://ethereum-rpc.publicnode.com").is_none());
        assert!(key_part("http://127.0.0.1:8545/").is_none());
    }
}

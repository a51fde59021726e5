//! The Etherscan API V2 client: the requests Etherscan's dialect asks
//! (`eth_blockNumber`, `getLogs` pages, `tokentx`, a pair's logs) and what
//! Etherscan's answers mean for the scanner (its counters, its pause on a
//! quota or key answer, its alerts).
//!
//! The client is built by the one builder (`scanner::http::client`: bounded
//! connections, timeouts, bounded bodies, redirects never followed) and every
//! request goes through the one retry loop (`scanner::retry::Caller`): the
//! limiter, the counts, the `/metrics` outcome from the error's kind. Logged
//! with module, action, chain and block range, never the URL: the API key is
//! in its query string.

use std::time::Duration;

use super::api;
use super::error::{Action, ApiError, Disposition};
use super::pause::{self, DAILY_CAP_ALERT, INVALID_KEY_ALERT, ProbeIntervals};
use crate::config::{EtherscanConfig, Secret};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Chain};
use crate::metrics::{Counters, ProviderHandles};
use crate::scanner::http::{self, Body, Transport};
use crate::scanner::kind::{Classify, Kind};
pub use crate::scanner::retry::RetryPolicy;
use crate::scanner::retry::{Caller, Counts, Hooks};

/// The largest body read, in bytes (1000 log items are about 1 MB); a
/// longer one is a malformed answer, "body larger than … bytes".
pub const MAX_BODY: usize = 32 * 1024 * 1024;

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
    caller: Caller,
    probes: ProbeIntervals,
}

impl EtherscanClient {
    /// Builds the client. Must run on the thread that will use it.
    pub fn new(
        config: &EtherscanConfig,
        key: Secret,
        handles: ProviderHandles,
        retry: RetryPolicy,
    ) -> Self {
        let timeout = config.request_timeout;
        let caller =
            Caller::new("etherscan", config.requests_per_second, retry, handles).scrubbing(&key);
        EtherscanClient {
            http: http::client(timeout, config.max_connections),
            base_url: config.base_url.clone(),
            key,
            timeout,
            caller,
            probes: ProbeIntervals::from_config(config),
        }
    }

    /// While `on`, this client's calls probe Etherscan for a chain whose
    /// pool has left it ([`Caller::probing`]).
    pub fn probing(&self, on: bool) {
        self.caller.probing(on);
    }

    /// Requests sent so far by this client, every retry included.
    pub fn calls_sent(&self) -> u64 {
        self.caller.counts().calls
    }

    /// Requests sent and failed so far, every retry included.
    pub fn counts(&self) -> Counts {
        self.caller.counts()
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

    /// Sends `request` through the one retry loop ([`Caller::call`]).
    async fn call<T>(
        &self,
        chain: &Chain,
        request: Request<'_>,
        parse: impl Fn(u16, &[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let hooks = Call {
            client: self,
            chain,
            request: &request,
        };
        let send = || {
            log_request(chain, &request);
            let mut query = vec![("chainid", chain.id.to_string())];
            query.extend(request.params());
            query.push(("apikey", self.key.expose().to_string()));
            let req = self.http.get(&self.base_url).query(&query);
            async move {
                let req = req.map_err(|_| Transport::Connection("cannot encode the query"))?;
                http::exchange(req, Body::Empty, self.timeout, MAX_BODY).await
            }
        };
        self.caller
            .call(request.action().as_str(), &hooks, send, parse)
            .await
    }
}

/// One call's hooks: Etherscan's counters, log line, pause and alerts.
struct Call<'a> {
    client: &'a EtherscanClient,
    chain: &'a Chain,
    request: &'a Request<'a>,
}

impl Hooks<ApiError> for Call<'_> {
    fn sending(&self) {
        let counters = &self.client.caller.handles().counters;
        Counters::add(&counters.etherscan_calls, 1);
    }

    fn answered(&self) {
        let handles = self.client.caller.handles();
        if let Some(p) = handles.pauses.lift(pause::PROVIDER) {
            tracing::info!(actor = "etherscan", reason = %p.reason, "Etherscan answers again; pause lifted");
        }
        handles.alerts.resolve(INVALID_KEY_ALERT);
        handles.alerts.resolve(DAILY_CAP_ALERT);
        handles.alerts.resolve(&unsupported_chain_alert(self.chain));
    }

    fn failed(&self, error: &ApiError, retry_in: Option<Duration>) {
        let counters = &self.client.caller.handles().counters;
        Counters::add(&counters.etherscan_errors, 1);
        if matches!(error.kind(), Kind::RateLimited { .. }) {
            Counters::add(&counters.etherscan_rate_limited, 1);
        }
        log_failure(self.chain, self.request, error, retry_in);
    }

    /// Tells the admins (once per incident) and, for a provider-wide
    /// answer, pauses every call until the next probe.
    fn gave_up(&self, error: &ApiError) {
        let handles = self.client.caller.handles();
        let now = std::time::SystemTime::now();
        if let Some((p, text)) = pause::pause_for(error, now, self.client.probes) {
            tracing::warn!(actor = "etherscan", reason = %p.reason, next_probe = %crate::metrics::utc_hhmm(p.next_probe), error = %error, "Etherscan paused");
            handles.alerts.raise(&p.alert_key, text);
            handles.pauses.pause(p);
        } else if let ApiError::UnsupportedChain(reason) = error {
            handles.alerts.raise(
                &unsupported_chain_alert(self.chain),
                format!(
                    "Etherscan does not serve {} with this key or plan ({reason}). That chain is not scanned.",
                    self.chain.display
                ),
            );
        }
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
    fn an_answer_echoing_the_key_yields_errors_without_it() {
        let key = b"SECRETKEY123";
        let bodies: [&[u8]; 4] = [
            // A NOTOK reason quoting the request.
            br#"{"status":"0","message":"NOTOK","result":"bad request /api?module=logs&apikey=SECRETKEY123"}"#,
            // A proxy answering a JSON string: serde quotes it in its error.
            br#""https://api.etherscan.io/v2/api?chainid=1&apikey=SECRETKEY123""#,
            // The key twice, and at the very end.
            br#"{"status":"0","message":"NOTOK","result":"SECRETKEY123 SECRETKEY123"}"#,
            // A head answer quoting it.
            br#"{"jsonrpc":"2.0","id":1,"result":"apikey=SECRETKEY123"}"#,
        ];
        // Unscrubbed, the parsers' errors do quote such answers.
        let quoted = bodies
            .iter()
            .filter(|b| {
                let e = api::parse_list(200, b).unwrap_err().to_string();
                e.contains("SECRETKEY123")
            })
            .count();
        assert!(quoted >= 2, "only {quoted} errors quote the answer");
        for body in bodies {
            let clean = http::scrub(body, key).expect("the key is found");
            for text in [
                api::parse_list(200, &clean).unwrap_err().to_string(),
                api::parse_block_number(200, &clean)
                    .unwrap_err()
                    .to_string(),
            ] {
                assert!(!text.contains("SECRETKEY"), "{text}");
                assert!(!text.contains("KEY123"), "{text}");
            }
        }
        assert_eq!(http::scrub(b"no key here", key), None);
        assert_eq!(http::scrub(b"", key), None);
        assert_eq!(http::scrub(b"xSECRETKEY123y", b""), None);
        assert_eq!(
            http::scrub(b"aSECRETKEY123bSECRETKEY123", key).unwrap(),
            b"a[redacted]b[redacted]".to_vec()
        );
    }
}

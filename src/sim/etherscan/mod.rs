//! A simulated Etherscan API V2: a real HTTP server on 127.0.0.1 that speaks
//! the V2 shapes (see `shared/reference/etherscan.md`), backed by a
//! synthetic chain. Tests, benchmarks and the demo point the daemon's real
//! `awc` client at [`SimEtherscan::base_url`]; nothing is mocked.
//!
//! The handle lets a test drive the chain (move the head, inject transfers
//! and odd logs), switch on [`Fault`]s, and read back every request the
//! server received ([`RequestRecord`]) to check call budgets and rates.

pub(crate) mod api;
pub(crate) mod chain;
pub(crate) mod codec;
mod faults;
pub(crate) mod filter;
pub(crate) mod server;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;

use crate::sim::running::Running;

use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Amount, Chain, TokenSymbol};

use chain::{SimChain, StoredLog};
use codec::{address_topic, amount_word};
pub use faults::Fault;
use server::Shared;

/// How the simulated service behaves.
#[derive(Debug, Clone)]
pub struct SimEtherscanOptions {
    /// Requests carrying another `apikey` get NOTOK "Invalid API Key".
    pub api_key: String,
    /// Chain ids served; the token contracts come from `Chain::by_id` (an id
    /// the registry lacks is served with no tokens, only injected logs).
    /// Other ids get NOTOK "Missing or unsupported chainid parameter".
    pub chains: Vec<u64>,
    /// The initial head of every chain.
    pub start_block: u64,
    /// `Some(d)`: every chain's head advances by one block every `d`.
    /// `None`: the head moves only through the handle.
    pub block_time: Option<Duration>,
    /// Background Transfer logs per block per token, between random-looking
    /// addresses, generated deterministically from the seed.
    pub noise_per_block: u32,
    /// The simulator's own per-second limit (sliding one-second window over
    /// the calls it served); beyond it, NOTOK "Max calls per sec rate limit
    /// reached (N/sec)" over HTTP 200.
    pub rate_limit_per_sec: Option<u32>,
    /// getLogs ranges wider than this many blocks (`toBlock - fromBlock + 1`,
    /// `latest` read as the head) get NOTOK "Query Timeout occured...".
    pub query_timeout_above: Option<u64>,
    /// Seed of all synthetic data (noise, hashes).
    pub seed: u64,
}

impl Default for SimEtherscanOptions {
    fn default() -> Self {
        SimEtherscanOptions {
            api_key: "sim-key".to_string(),
            chains: vec![1],
            start_block: 1_000_000,
            block_time: None,
            noise_per_block: 0,
            rate_limit_per_sec: None,
            query_timeout_above: None,
            seed: 1,
        }
    }
}

/// A Transfer to put on the simulated chain.
#[derive(Debug, Clone)]
pub struct InjectedTransfer {
    pub contract: Address,
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
    /// `None`: the next block (head + 1), visible once the head reaches it.
    pub block: Option<u64>,
}

/// What a request asked for, as far as call budgets care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    BlockNumber,
    GetLogs,
    TokenTx,
    Other,
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub at: Instant,
    pub chain_id: Option<u64>,
    pub kind: RequestKind,
    /// getLogs `fromBlock`/`toBlock` or tokentx `startblock`/`endblock`
    /// (`latest` resolved to the head at the time).
    pub from_block: Option<u64>,
    pub to_block: Option<u64>,
    pub page: Option<u64>,
    /// "ok" | "empty" | "rate_limited" | "error" | "fault".
    pub outcome: &'static str,
    /// Bytes of the answer's body (what the client downloaded, headers aside).
    pub bytes: usize,
}

/// The running simulator. Cheap to clone; all clones drive the same server.
/// The server stops with [`SimEtherscan::stop`] or when the last clone drops.
#[derive(Clone)]
pub struct SimEtherscan {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    running: Running,
}

impl SimEtherscan {
    /// Binds 127.0.0.1 on a free port and serves in the current actix
    /// System (one worker, no signal handling).
    pub async fn start(opts: SimEtherscanOptions) -> std::io::Result<SimEtherscan> {
        let block_time = opts.block_time;
        let shared = Arc::new(Shared::new(opts));
        let running = Running::start(Arc::clone(&shared), routes)?;
        if let Some(period) = block_time {
            let chains = Arc::downgrade(&shared);
            running.tick_every(period, move || {
                chains.upgrade().map(|s| s.advance_all(1)).is_some()
            });
        }
        Ok(SimEtherscan {
            inner: Arc::new(Inner { shared, running }),
        })
    }

    /// E.g. `http://127.0.0.1:PORT/v2/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2/api", self.inner.running.addr)
    }

    /// The chain state and fault switches, shared with a [`SimBlockscout`]
    /// built on this simulator (the same transfers are visible on both).
    ///
    /// [`SimBlockscout`]: crate::sim::blockscout::SimBlockscout
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.inner.shared)
    }

    /// Gives the real daily-quota answer ("Max daily rate limit reached…",
    /// NOTOK over HTTP 200) to every call after `limit` calls served this
    /// UTC day, until the next UTC midnight or [`reset_daily`](Self::reset_daily).
    /// `None` lifts the cap. The count is of calls answered normally.
    pub fn set_daily_limit(&self, limit: Option<u64>) {
        self.inner.shared.lock().daily.limit = limit;
    }

    /// Every `getLogs` and `tokentx` call about token `contract` answers
    /// HTTP `status` (a backend failing for one contract only) until
    /// `None`; other calls are served normally.
    pub fn fail_contract(&self, failing: Option<(&Address, u16)>) {
        self.inner.shared.lock().failing_contract =
            failing.map(|(c, status)| (c.as_str().to_string(), status));
    }

    /// Starts a new quota day now (as the real service does at UTC midnight).
    pub fn reset_daily(&self) {
        self.inner.shared.lock().daily.used = 0;
    }

    /// Calls counted against the daily cap this quota day.
    pub fn daily_used(&self) -> u64 {
        self.inner.shared.lock().daily.used
    }

    pub fn options(&self) -> &SimEtherscanOptions {
        &self.inner.shared.opts
    }

    /// Runs `f` on a served chain.
    ///
    /// # Panics
    /// If `chain_id` is not in `options.chains`: that is a bug in the test.
    fn with_chain<R>(&self, chain_id: u64, f: impl FnOnce(&mut SimChain) -> R) -> R {
        let mut st = self.inner.shared.lock();
        match st.chains.get_mut(&chain_id) {
            Some(chain) => f(chain),
            None => {
                drop(st);
                panic!(
                    "SimEtherscan does not serve chain {chain_id} (see SimEtherscanOptions::chains)"
                )
            }
        }
    }

    /// The Unix time (seconds) a served chain stamps on `block`: its
    /// starting head is dated at the wall-clock time the simulator started,
    /// earlier blocks 12 s apart before it. Panics for a chain not served.
    pub fn block_timestamp(&self, chain_id: u64, block: u64) -> u64 {
        self.with_chain(chain_id, |c| c.timestamp(block))
    }

    /// The head block of a served chain. Panics for a chain not served.
    pub fn head(&self, chain_id: u64) -> u64 {
        self.with_chain(chain_id, |c| c.head)
    }

    /// Moves the head (backwards too). Panics for a chain not served.
    pub fn set_head(&self, chain_id: u64, block: u64) {
        self.with_chain(chain_id, |c| c.head = block)
    }

    /// head += blocks. Panics for a chain not served.
    pub fn advance(&self, chain_id: u64, blocks: u64) {
        self.with_chain(chain_id, |c| c.head = c.head.saturating_add(blocks))
    }

    /// A transfer of the registered `token` of `chain_id` in the next
    /// block; returns its transaction hash. Panics for a chain not served
    /// or missing from the registry.
    pub fn transfer(
        &self,
        chain_id: u64,
        token: TokenSymbol,
        from: &Address,
        to: &Address,
        amount: Amount,
    ) -> String {
        let contract = Chain::by_id(chain_id)
            .and_then(|c| c.token(token).map(|t| t.contract.clone()))
            .expect("a registered chain and token");
        let t = InjectedTransfer {
            contract,
            from: from.clone(),
            to: to.clone(),
            amount,
            block: None,
        };
        self.inject_transfer(chain_id, t).0
    }

    /// Adds a Transfer log of `t.contract` in `t.block` (None = head + 1,
    /// i.e. the next block). Returns (tx_hash, log_index). Injected logs
    /// come after the block's noise logs. Panics for a chain not served.
    pub fn inject_transfer(&self, chain_id: u64, t: InjectedTransfer) -> (String, u64) {
        let log = StoredLog {
            contract: t.contract,
            topics: vec![
                TRANSFER_TOPIC.to_string(),
                address_topic(t.from.hex()),
                address_topic(t.to.hex()),
            ],
            data: amount_word(&t.amount),
        };
        self.with_chain(chain_id, |c| {
            let block = t.block.unwrap_or(c.head.saturating_add(1));
            c.inject(block, log)
        })
    }

    /// Several Transfer logs emitted by ONE transaction in `block` (a batch
    /// payout, a swap): consecutive log indexes sharing one transaction
    /// hash, as `tokentx` then shows several rows of one hash. `block` of
    /// each transfer is ignored. Returns (tx_hash, log_index) per transfer.
    /// Panics for a chain not served.
    pub fn inject_transfers_in_one_tx(
        &self,
        chain_id: u64,
        block: u64,
        transfers: Vec<InjectedTransfer>,
    ) -> Vec<(String, u64)> {
        let mut first = None;
        let mut out = Vec::with_capacity(transfers.len());
        for t in transfers {
            let (_, index) = self.inject_transfer(
                chain_id,
                InjectedTransfer {
                    block: Some(block),
                    ..t
                },
            );
            let first = *first.get_or_insert(index);
            let hash = self.with_chain(chain_id, |c| {
                c.join_tx(block, index, first);
                c.tx_hash(block, index)
            });
            out.push((hash, index));
        }
        out
    }

    /// Adds an arbitrary log (e.g. an ERC-721 Transfer with 4 topics);
    /// topics and data are stored lowercase, unchecked. Returns
    /// (tx_hash, log_index). Panics for a chain not served.
    pub fn inject_raw_log(
        &self,
        chain_id: u64,
        block: u64,
        contract: &Address,
        topics: Vec<String>,
        data: String,
    ) -> (String, u64) {
        let log = StoredLog {
            contract: contract.clone(),
            topics: topics.iter().map(|t| t.to_ascii_lowercase()).collect(),
            data: data.to_ascii_lowercase(),
        };
        self.with_chain(chain_id, |c| c.inject(block, log))
    }

    /// Serves `item` verbatim in getLogs answers covering `block` (once the
    /// index has reached it), whatever it holds: a hand-made, possibly
    /// non-canonical log. It is served to queries whose `address` filter
    /// matches its `address` field (or to every query when that field is
    /// not an address). Panics for a chain not served.
    pub fn inject_raw_json(&self, chain_id: u64, block: u64, item: serde_json::Value) {
        self.with_chain(chain_id, |c| c.inject_raw(block, item))
    }

    /// Serves `item` verbatim in tokentx answers covering `block` (once the
    /// index has reached it), after the real rows: a hand-made, possibly
    /// malformed row. It goes to queries whose `address` is its `from` or
    /// `to` field (or to every query when those are not addresses). Panics
    /// for a chain not served.
    pub fn inject_raw_tokentx_row(&self, chain_id: u64, block: u64, item: serde_json::Value) {
        self.with_chain(chain_id, |c| c.inject_raw_row(block, item))
    }

    /// Makes the getLogs index trail the head: the logs of a block become
    /// visible to getLogs (and tokentx) only `blocks` blocks after
    /// `eth_blockNumber` reported it. 0 (the default) is an index that is
    /// always complete. Panics for a chain not served.
    pub fn set_index_lag(&self, chain_id: u64, blocks: u64) {
        self.with_chain(chain_id, |c| c.index_lag = blocks)
    }

    /// Applies `fault` to every request from now on (`None` clears it).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.inner.shared.lock().fault = fault;
    }

    /// Every request received since the start (or the last reset), in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner.shared.lock().requests.clone()
    }

    /// Bytes of every answer body served since the start (or the last reset).
    pub fn served_bytes(&self) -> u64 {
        let st = self.inner.shared.lock();
        st.requests.iter().map(|r| r.bytes as u64).sum()
    }

    pub fn request_count(&self) -> usize {
        self.inner.shared.lock().requests.len()
    }

    /// Forgets the recorded requests (the rate-limit window is kept).
    pub fn reset_requests(&self) {
        self.inner.shared.lock().requests.clear();
    }

    /// Stops the block timer and the server, letting in-flight requests finish.
    pub async fn stop(&self) {
        self.inner.running.stop().await;
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/api", web::get().to(server::api_route))
        .default_service(web::to(server::not_found));
}

/// The largest number of records whose `at` falls within any window of
/// length `window` (half-open: two calls exactly `window` apart are in
/// different windows). For checking a client's own rate limiting.
pub fn max_requests_in_any_window(records: &[RequestRecord], window: Duration) -> usize {
    crate::sim::max_in_any_window(records.iter().map(|r| r.at), window)
}

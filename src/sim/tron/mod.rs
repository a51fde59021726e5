//! A simulated TronGrid: a real HTTP server on 127.0.0.1 that speaks the
//! shapes of `shared/reference/tron.md` (per-contract events with the
//! `fingerprint` cursor, `getnowblock`/`getblock` on `/wallet` and
//! `/walletsolidity`, the `TRON-PRO-API-KEY` header, the frequency limit
//! with its suspension), backed by a synthetic chain whose blocks are 3 s
//! apart and stamped from the wall clock at start. Tests, benchmarks and
//! the demo point the daemon's real `awc` client at
//! [`SimTronGrid::base_url`]; nothing is mocked.
//!
//! The handle drives the chain (blocks by timer and by [`SimTronGrid::advance`],
//! injected transfers), switches on [`Fault`]s for a number of calls or a
//! time window, and reads back every request ([`RequestRecord`]: which key
//! came in which header, the query string, status, bytes) and per-endpoint
//! counters.

mod address;
mod blocks;
mod chain;
mod events;
mod faults;
mod server;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sim::running::Running;

pub use address::{AccountId, USDT_CONTRACT, parse as parse_address, to_0x, to_base58};
pub use chain::{BLOCK_INTERVAL_MS, Transfer};
pub use events::{DEFAULT_LIMIT, EventShape, MAX_LIMIT};
pub use faults::Fault;
pub use server::API_KEY_HEADER;

use faults::ActiveFault;
use server::Shared;

/// Noise at the volume the reference gives for USDT on Tron: ~30 transfers
/// per second of chain time, i.e. 90 per 3 s block.
pub const REALISTIC_NOISE_PER_BLOCK: u32 = 90;

/// How the simulated service behaves.
#[derive(Debug, Clone)]
pub struct SimTronGridOptions {
    /// Keys the service knows; a call with any other `TRON-PRO-API-KEY`
    /// gets 401 `{"Error":"ApiKey not exists"}`. Calls without the header
    /// are served (keyless) at `keyless_rate_per_sec`.
    pub valid_keys: Vec<String>,
    /// The head at start.
    pub start_block: u64,
    /// The wall-clock time (ms since the epoch) the start block is stamped
    /// with; `None`: now. Block `b` is stamped `start + (b - start_block) × 3000`.
    pub start_time_ms: Option<u64>,
    /// `Some(d)`: the head advances by one block every `d` (3 s on the real
    /// chain; shorter in tests). `None`: only through the handle.
    pub block_time: Option<Duration>,
    /// The solidified head is this many blocks behind the head (~19 on the
    /// real chain).
    pub solid_lag: u64,
    /// Background USDT Transfers per block between random-looking
    /// addresses, generated deterministically from the seed (see
    /// [`REALISTIC_NOISE_PER_BLOCK`]).
    pub noise_per_block: u32,
    /// Calls per second (sliding one-second window) a key may make before
    /// it is suspended; `None`: no limit.
    pub key_rate_per_sec: Option<u32>,
    /// The same for keyless calls (the real service allows fewer).
    pub keyless_rate_per_sec: Option<u32>,
    /// How long a caller over its frequency limit is suspended (30 s on the
    /// real service; shorter in tests).
    pub suspension: Duration,
    /// Seed of all synthetic data (noise, ids).
    pub seed: u64,
}

impl Default for SimTronGridOptions {
    fn default() -> Self {
        SimTronGridOptions {
            valid_keys: vec!["sim-tron-key".to_string()],
            start_block: 80_000_000,
            start_time_ms: None,
            block_time: Some(Duration::from_millis(BLOCK_INTERVAL_MS)),
            solid_lag: 19,
            noise_per_block: 0,
            key_rate_per_sec: None,
            keyless_rate_per_sec: None,
            suspension: Duration::from_secs(30),
            seed: 1,
        }
    }
}

/// The endpoints served (and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET|POST /wallet/getnowblock`
    NowBlock,
    /// `GET|POST /walletsolidity/getnowblock`
    SolidNowBlock,
    /// `GET|POST /wallet/getblock`
    GetBlock,
    /// `GET|POST /walletsolidity/getblock`
    SolidGetBlock,
    /// `GET /v1/contracts/{contract}/events`
    Events,
    /// Anything else (answered 404).
    Other,
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// When it arrived.
    pub at: Instant,
    pub endpoint: Endpoint,
    /// The URL path, e.g. `/v1/contracts/T…/events`.
    pub path: String,
    /// The raw query string (to check that no key travels in the URL).
    pub query: String,
    /// The `TRON-PRO-API-KEY` header's value, if the call sent one.
    pub api_key: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// Body bytes of the answer.
    pub bytes: usize,
    /// The fault applied to this call, if any.
    pub fault: Option<Fault>,
}

/// Where an injected Transfer landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// 64 lowercase hex, no `0x` (the events' `transaction_id`).
    pub txid: String,
    /// The event's index within its transaction.
    pub event_index: u32,
    /// The block it is in (visible once the head reaches it).
    pub block: u64,
}

/// The running simulator. Cheap to clone; all clones drive the same server.
/// The server stops with [`SimTronGrid::stop`] or when the last clone drops.
#[derive(Clone)]
pub struct SimTronGrid {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    running: Running,
}

/// Parses a test's address (`T…`, `41…` or `0x…`).
///
/// # Panics
/// On an invalid address: that is a bug in the test.
fn account(s: &str) -> AccountId {
    match address::parse(s) {
        Some(id) => id,
        None => panic!("SimTronGrid: {s:?} is not a Tron address (T…, 41… or 0x… form)"),
    }
}

impl SimTronGrid {
    /// Binds 127.0.0.1 on a free port and serves in the current actix
    /// System (one worker, no signal handling).
    pub async fn start(opts: SimTronGridOptions) -> std::io::Result<SimTronGrid> {
        let block_time = opts.block_time;
        let shared = Arc::new(Shared::new(opts));
        let running = Running::start(Arc::clone(&shared), server::routes)?;
        if let Some(period) = block_time {
            let chain = Arc::downgrade(&shared);
            running.tick_every(period, move || {
                chain.upgrade().map(|s| s.advance(1)).is_some()
            });
        }
        Ok(SimTronGrid {
            inner: Arc::new(Inner { shared, running }),
        })
    }

    /// E.g. `http://127.0.0.1:PORT` (the `api_url` of the `[tron]` section).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.running.addr)
    }

    /// The options the simulator was started with.
    pub fn options(&self) -> &SimTronGridOptions {
        &self.inner.shared.opts
    }

    /// The head block.
    pub fn head(&self) -> u64 {
        self.inner.shared.lock().chain.head
    }

    /// The solidified head (`head - solid_lag`).
    pub fn solid_head(&self) -> u64 {
        self.inner.shared.lock().chain.solid_head()
    }

    /// The timestamp (ms) a block is stamped with.
    pub fn block_timestamp(&self, block: u64) -> u64 {
        self.inner.shared.lock().chain.timestamp(block)
    }

    /// head += blocks.
    pub fn advance(&self, blocks: u64) {
        self.inner.shared.advance(blocks)
    }

    /// Moves the head (backwards too).
    pub fn set_head(&self, block: u64) {
        self.inner.shared.lock().chain.head = block;
    }

    /// Changes how far the solidified head trails the head.
    pub fn set_solid_lag(&self, blocks: u64) {
        self.inner.shared.lock().chain.solid_lag = blocks;
    }

    /// Makes the events index trail the solidified head by `blocks`: the
    /// events of block `b` are served only once the solid head is
    /// ≥ `b + blocks` (before that the block reads as empty, as TronGrid's
    /// index answers for blocks it has not indexed yet). 0: no lag.
    pub fn set_index_lag(&self, blocks: u64) {
        self.inner.shared.lock().chain.index_lag = blocks;
    }

    /// A USDT Transfer of `value` raw units (6 decimals) from `from` to `to`
    /// (`T…`, `41…` or `0x…`) in its own transaction in the next block
    /// (head + 1). Panics on an invalid address (a bug in the test).
    pub fn inject(&self, from: &str, to: &str, value: u128) -> Injected {
        let t = Transfer {
            contract: USDT_CONTRACT,
            from: account(from),
            to: account(to),
            value,
        };
        self.inject_tx(None, &[t]).remove(0)
    }

    /// One transaction holding several Transfers (event indexes 0, 1, …, as
    /// a gas-free relay emits them) in `block` (`None`: head + 1). Returns
    /// one [`Injected`] per transfer, in order. An empty slice adds nothing.
    pub fn inject_tx(&self, block: Option<u64>, transfers: &[Transfer]) -> Vec<Injected> {
        let mut st = self.inner.shared.lock();
        if transfers.is_empty() {
            return Vec::new();
        }
        let block = block.unwrap_or(st.chain.head.saturating_add(1));
        let txid = st.chain.inject(block, transfers);
        (0u32..)
            .zip(transfers)
            .map(|(i, _)| Injected {
                txid: txid.clone(),
                event_index: i,
                block,
            })
            .collect()
    }

    /// Writes the `Transfer` events of `contract` (`T…`, `41…` or `0x…`) in
    /// `shape` from now on (other parameter names, no positions, no
    /// signature). Panics on an invalid address (a bug in the test).
    pub fn set_event_shape(&self, contract: &str, shape: EventShape) {
        self.inner
            .shared
            .lock()
            .chain
            .set_shape(account(contract), shape);
    }

    /// A Transfer of `value` raw units of the token `contract` (`T…`) from
    /// `from` to `to` in its own transaction in the next block.
    pub fn inject_token(&self, contract: &str, from: &str, to: &str, value: u128) -> Injected {
        let t = Transfer {
            contract: account(contract),
            from: account(from),
            to: account(to),
            value,
        };
        self.inject_tx(None, &[t]).remove(0)
    }

    /// A poisoning attempt: a zero-value USDT Transfer from `vanity` to
    /// `victim` in the next block (the look-alike address is the caller's).
    pub fn inject_poisoning(&self, vanity: &str, victim: &str) -> Injected {
        self.inject(vanity, victim, 0)
    }

    /// Every events call about token `contract` (base58 `T…`) answers HTTP
    /// `status` (a backend failing for one contract only) until `None`;
    /// other calls are served normally.
    pub fn fail_contract(&self, failing: Option<(&str, u16)>) {
        self.inner.shared.lock().failing_contract =
            failing.map(|(c, status)| (c.to_string(), status));
    }

    /// Applies `fault` to every call it concerns from now on (`None` clears it).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.inner.shared.lock().fault = fault.map(|fault| ActiveFault {
            fault,
            calls_left: None,
            until: None,
        });
    }

    /// Applies `fault` to the next `calls` calls it concerns, then clears it.
    pub fn fault_for_calls(&self, fault: Fault, calls: u64) {
        self.inner.shared.lock().fault = Some(ActiveFault {
            fault,
            calls_left: Some(calls),
            until: None,
        });
    }

    /// Applies `fault` for `window` from now, then clears it.
    pub fn fault_for(&self, fault: Fault, window: Duration) {
        self.inner.shared.lock().fault = Some(ActiveFault {
            fault,
            calls_left: None,
            until: Some(Instant::now() + window),
        });
    }

    /// Every request received since the start (or the last reset), in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner.shared.lock().requests.clone()
    }

    /// The most calls (any endpoint, any caller) received within any
    /// window of length `window`: for checking a client's own rate limit.
    pub fn max_calls_in_any_window(&self, window: Duration) -> usize {
        let st = self.inner.shared.lock();
        crate::sim::max_in_any_window(st.requests.iter().map(|r| r.at), window)
    }

    /// Calls received on `endpoint` since the start (or the last reset).
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        let st = self.inner.shared.lock();
        st.calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// Body bytes served since the start (or the last reset).
    pub fn bytes_served(&self) -> u64 {
        self.inner.shared.lock().bytes_served
    }

    /// Forgets the recorded requests and counters (suspensions and rate
    /// windows are kept).
    pub fn reset_requests(&self) {
        let mut st = self.inner.shared.lock();
        st.requests.clear();
        st.calls.clear();
        st.bytes_served = 0;
    }

    /// Stops the block timer and the server, letting in-flight requests finish.
    pub async fn stop(&self) {
        self.inner.running.stop().await;
    }
}

//! A simulated EVM JSON-RPC endpoint: a real actix-web server on
//! 127.0.0.1 speaking JSON-RPC 2.0 (single calls and batches) on any path
//! (a keyed URL's `/v2/<key>` included), for the tests of [`crate::rpc`].
//!
//! - `eth_chainId`, `eth_blockNumber`, `eth_getBlockByNumber` (a number,
//!   `latest`, `safe`, `finalized`, `earliest`; `null` above the head);
//! - `eth_getLogs` with `address` a string or an array (OR), `topics` by
//!   position with `null` wildcards and OR-lists; a reversed range is
//!   `-32602 "invalid block range params"`;
//! - a block-range cap answered with a chosen provider's exact refusal
//!   ([`RangeProfile`], texts from the reference `evm-jsonrpc.md` §3);
//! - a lagging head ([`SimRpc::set_lag`]): `eth_blockNumber` reports fewer
//!   blocks than the chain has, and `eth_getLogs` silently answers `[]`
//!   for the blocks it lacks, as a node behind a load balancer does; every
//!   request above the reported head is counted ([`SimRpc::asked_past_head`]);
//! - faults ([`RpcFault`]): an HTTP status (429, 5xx, an HTML 503 page), a
//!   JSON-RPC error envelope, a slow answer (a timeout), a wrong chain id.
//!
//! Blocks are made by a timer (`block_time`) or by [`SimRpc::mine`]; a
//! transfer goes into the next block.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::etherscan::codec::{address_topic, amount_word};
use super::running::Running;
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Amount};

/// Whose refusal a range over the cap gets (code, HTTP status and text as
/// the provider sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeProfile {
    /// `-32600` "… with up to a N block range … this block range should work: [0x…, 0x…] …".
    Alchemy,
    /// `-32005` "query returned more than 10000 results. Try with this block range [0xA, 0xB]." (uppercase hex).
    Infura,
    /// HTTP 413, `-32614` "eth_getLogs is limited to a 10,000 range".
    QuickNode,
    /// `-32603` "eth_getLogs range is too large, max is 1k blocks".
    LlamaRpc,
    /// `-32000` "exceed maximum block range: N".
    Geth,
    /// `-32602` "query exceeds max results 20000, retry with the range A-B", the
    /// suggestion equal to the request (reth does so).
    RethEcho,
    /// `-32600` "block range is too wide" (no number: halve).
    Ankr,
    /// HTTP 400, code 35 "ranges over N blocks are not supported on freetier".
    DrpcFree,
}

/// A fault every request meets while it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcFault {
    /// This HTTP status with a short plain-text body.
    Http(u16),
    /// An HTML CDN page with HTTP 503.
    Html503,
    /// HTTP 429 with a JSON-RPC body (Infura's shape).
    RateLimited,
    /// HTTP 200 with this JSON-RPC error envelope.
    Envelope { code: i64, message: String },
    /// Answer after this delay.
    Slow(Duration),
    /// `eth_chainId` answers this id.
    WrongChainId(u64),
}

/// How the simulator starts.
#[derive(Debug, Clone)]
pub struct SimRpcOptions {
    /// The chain id served (registry id: 1 = Ethereum).
    pub chain_id: u64,
    /// The head at start.
    pub start_block: u64,
    /// A block every this long; `None`: only [`SimRpc::mine`].
    pub block_time: Option<Duration>,
    /// The widest `eth_getLogs` range accepted, and whose refusal beyond it.
    pub max_range: Option<(u64, RangeProfile)>,
    /// `safe` is head − this, `finalized` head − twice this.
    pub safe_lag: u64,
    /// Unrelated Transfer logs per block (other addresses), to make ranges busy.
    pub noise_per_block: u32,
}

impl Default for SimRpcOptions {
    fn default() -> Self {
        SimRpcOptions {
            chain_id: 1,
            start_block: 7_000_000,
            block_time: Some(Duration::from_millis(250)),
            max_range: None,
            safe_lag: 4,
            noise_per_block: 2,
        }
    }
}

/// One `eth_getLogs` request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsRequest {
    pub from: u64,
    pub to: u64,
    /// The head `eth_blockNumber` reported at that moment.
    pub reported_head: u64,
    /// Answered with a range refusal.
    pub refused: bool,
}

#[derive(Debug, Clone)]
struct Log {
    block: u64,
    contract: String,
    from: Address,
    to: Address,
    amount: Amount,
    tx: String,
    index: u64,
}

struct State {
    head: u64,
    lag: u64,
    logs: Vec<Log>,
    fault: Option<RpcFault>,
    max_range: Option<(u64, RangeProfile)>,
    methods: Vec<String>,
    logs_requests: Vec<LogsRequest>,
    next_tx: u64,
    noise: u64,
}

struct Shared {
    opts: SimRpcOptions,
    genesis_time: u64,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mine(&self, n: u64) {
        let mut s = self.lock();
        for _ in 0..n {
            s.head += 1;
            let block = s.head;
            for _ in 0..self.opts.noise_per_block {
                s.noise = s
                    .noise
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = Address::parse(&format!("0x{:040x}", (s.noise >> 8) | 1))
                    .unwrap_or_else(|_| zero());
                let b = Address::parse(&format!("0x{:040x}", (s.noise >> 20) | 2))
                    .unwrap_or_else(|_| zero());
                let amount = Amount::from_u128(u128::from(s.noise % 1_000_000));
                push_log(&mut s, block, USDT_ETH, a, b, amount);
            }
        }
    }
}

const USDT_ETH: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";

fn zero() -> Address {
    Address::parse("0x0000000000000000000000000000000000000001").expect("a valid address")
}

fn push_log(
    s: &mut State,
    block: u64,
    contract: &str,
    from: Address,
    to: Address,
    amount: Amount,
) -> String {
    s.next_tx += 1;
    let tx = format!("0x{:064x}", 0x5157_0000_0000u64 + s.next_tx);
    let index = s.logs.iter().filter(|l| l.block == block).count() as u64;
    s.logs.push(Log {
        block,
        contract: contract.to_ascii_lowercase(),
        from,
        to,
        amount,
        tx: tx.clone(),
        index,
    });
    tx
}

fn block_hash(n: u64) -> String {
    format!(
        "0x{:064x}",
        n.wrapping_mul(0x9e37_79b9).wrapping_add(0xb10c)
    )
}

/// A running simulated endpoint; stops when dropped.
pub struct SimRpc {
    shared: Arc<Shared>,
    running: Running,
}

impl SimRpc {
    /// Starts the server (and its block timer) in the current actix System.
    pub async fn start(opts: SimRpcOptions) -> std::io::Result<SimRpc> {
        let genesis_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(opts.start_block);
        let state = State {
            head: opts.start_block,
            lag: 0,
            logs: Vec::new(),
            fault: None,
            max_range: opts.max_range,
            methods: Vec::new(),
            logs_requests: Vec::new(),
            next_tx: 0,
            noise: 0x5eed,
        };
        let block_time = opts.block_time;
        let shared = Arc::new(Shared {
            opts,
            genesis_time,
            state: Mutex::new(state),
        });
        let running = Running::start(Arc::clone(&shared), routes)?;
        if let Some(period) = block_time {
            let weak = Arc::downgrade(&shared);
            running.tick_every(period, move || weak.upgrade().map(|s| s.mine(1)).is_some());
        }
        Ok(SimRpc { shared, running })
    }

    /// The endpoint's URL (`http://127.0.0.1:PORT/`); any path is served.
    pub fn url(&self) -> String {
        format!("http://{}/", self.running.addr)
    }

    /// The `host:port` an endpoint of this simulator is named by.
    pub fn host(&self) -> String {
        self.running.addr.to_string()
    }

    /// The chain's real head (not the lagging one reported).
    pub fn head(&self) -> u64 {
        self.shared.lock().head
    }

    /// Makes `n` blocks now.
    pub fn mine(&self, n: u64) {
        self.shared.mine(n);
    }

    /// A Transfer log of `contract` in the next block; its transaction hash.
    pub fn transfer(
        &self,
        contract: &Address,
        from: &Address,
        to: &Address,
        amount: Amount,
    ) -> String {
        let mut s = self.shared.lock();
        let block = s.head + 1;
        push_log(
            &mut s,
            block,
            contract.as_str(),
            from.clone(),
            to.clone(),
            amount,
        )
    }

    /// The block a transaction's log is in.
    pub fn block_of(&self, tx: &str) -> Option<u64> {
        self.shared
            .lock()
            .logs
            .iter()
            .find(|l| l.tx == tx)
            .map(|l| l.block)
    }

    /// Reports a head `lag` blocks behind the chain (0: none).
    pub fn set_lag(&self, lag: u64) {
        self.shared.lock().lag = lag;
    }

    /// Sets or clears the fault every request meets.
    pub fn set_fault(&self, fault: Option<RpcFault>) {
        self.shared.lock().fault = fault;
    }

    /// Sets or clears the range cap.
    pub fn set_max_range(&self, max: Option<(u64, RangeProfile)>) {
        self.shared.lock().max_range = max;
    }

    /// The methods called so far, in order (batches flattened).
    pub fn methods(&self) -> Vec<String> {
        self.shared.lock().methods.clone()
    }

    /// Every `eth_getLogs` so far.
    pub fn logs_requests(&self) -> Vec<LogsRequest> {
        self.shared.lock().logs_requests.clone()
    }

    /// `eth_getLogs` requests whose `toBlock` was above the head reported
    /// at that moment.
    pub fn asked_past_head(&self) -> usize {
        let s = self.shared.lock();
        s.logs_requests
            .iter()
            .filter(|r| r.to > r.reported_head)
            .count()
    }

    /// Stops the timer and the server.
    pub async fn stop(&self) {
        self.running.stop().await;
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(handle));
}

async fn handle(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let (status, reply, delay) = answer(&shared, &body);
    if let Some(d) = delay {
        actix_rt::time::sleep(d).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply {
        Reply::Json(v) => HttpResponse::build(status)
            .content_type("application/json")
            .body(v.to_string()),
        Reply::Text(t) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(t),
    }
}

enum Reply {
    Json(Value),
    Text(String),
}

/// (status, body, delay) of one HTTP request, under one lock.
fn answer(shared: &Shared, body: &[u8]) -> (u16, Reply, Option<Duration>) {
    let mut s = shared.lock();
    let mut delay = None;
    match s.fault.clone() {
        Some(RpcFault::Http(code)) => return (code, Reply::Text(format!("error {code}")), None),
        Some(RpcFault::Html503) => {
            return (
                503,
                Reply::Text("<html><body>503 Service Unavailable</body></html>".into()),
                None,
            );
        }
        Some(RpcFault::RateLimited) => {
            let v = json!({"jsonrpc":"2.0","id":1,"error":{"code":429,"event":-33300,"message":"Too Many Requests","details":"You have surpassed your rate limit"}});
            return (429, Reply::Json(v), None);
        }
        Some(RpcFault::Slow(d)) => delay = Some(d),
        _ => {}
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        let v = json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}});
        return (200, Reply::Json(v), delay);
    };
    let reply = match request {
        Value::Array(calls) if calls.is_empty() => {
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"empty batch"}})
        }
        Value::Array(calls) => {
            let mut out: Vec<Value> = calls.iter().map(|c| one(shared, &mut s, c).1).collect();
            out.reverse(); // any order: match by id
            Value::Array(out)
        }
        call => {
            let (status, v) = one(shared, &mut s, &call);
            return (status, Reply::Json(v), delay);
        }
    };
    (200, Reply::Json(reply), delay)
}

/// One call: (HTTP status, reply object).
fn one(shared: &Shared, s: &mut State, call: &Value) -> (u16, Value) {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let method = call
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    s.methods.push(method.clone());
    let params = call.get("params").cloned().unwrap_or(json!([]));
    let ok = |result: Value| (200, json!({"jsonrpc":"2.0","id":id,"result":result}));
    let err = |status: u16, code: i64, message: String| {
        (
            status,
            json!({"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message}}),
        )
    };
    if let Some(RpcFault::Envelope { code, message }) = &s.fault {
        return err(200, *code, message.clone());
    }
    let reported = s.head.saturating_sub(s.lag);
    match method.as_str() {
        "eth_chainId" => {
            let id = match s.fault {
                Some(RpcFault::WrongChainId(other)) => other,
                _ => shared.opts.chain_id,
            };
            ok(json!(format!("0x{id:x}")))
        }
        "eth_blockNumber" => ok(json!(format!("0x{reported:x}"))),
        "eth_getBlockByNumber" => {
            let tag = params.get(0).cloned().unwrap_or(Value::Null);
            let n = match block_param(&tag, reported, shared.opts.safe_lag) {
                Some(n) => n,
                None => {
                    return err(
                        200,
                        -32602,
                        "invalid argument 0: hex string without 0x prefix".into(),
                    );
                }
            };
            if n > reported {
                return ok(Value::Null);
            }
            ok(json!({
                "number": format!("0x{n:x}"),
                "hash": block_hash(n),
                "parentHash": block_hash(n.saturating_sub(1)),
                "timestamp": format!("0x{:x}", shared.genesis_time + n),
                "transactions": [],
            }))
        }
        "eth_getLogs" => {
            let filter = params.get(0).cloned().unwrap_or(Value::Null);
            let lag = shared.opts.safe_lag;
            let from = filter
                .get("fromBlock")
                .map_or(Some(reported), |v| block_param(v, reported, lag));
            let to = filter
                .get("toBlock")
                .map_or(Some(reported), |v| block_param(v, reported, lag));
            let (Some(from), Some(to)) = (from, to) else {
                return err(
                    200,
                    -32602,
                    "invalid argument 0: hex string without 0x prefix".into(),
                );
            };
            if from > to {
                return err(200, -32602, "invalid block range params".into());
            }
            let mut record = LogsRequest {
                from,
                to,
                reported_head: reported,
                refused: false,
            };
            if let Some((max, profile)) = s.max_range
                && to - from + 1 > max
            {
                record.refused = true;
                s.logs_requests.push(record);
                let (status, code, message) = refusal(profile, from, to, max);
                return err(status, code, message);
            }
            s.logs_requests.push(record);
            let addresses = match filter.get("address") {
                None | Some(Value::Null) => None,
                Some(Value::String(a)) => Some(vec![a.to_ascii_lowercase()]),
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect(),
                ),
                Some(_) => return err(200, -32602, "invalid argument 0: bad address".into()),
            };
            let topics = filter
                .get("topics")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let matches = |pos: usize, word: &str| match topics.get(pos) {
                None | Some(Value::Null) => true,
                Some(Value::String(t)) => t.eq_ignore_ascii_case(word),
                Some(Value::Array(any)) => any
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| t.eq_ignore_ascii_case(word)),
                Some(_) => false,
            };
            // A lagging node has no blocks past what it reports: `[]` for them.
            let last = to.min(reported);
            let found: Vec<Value> = s
                .logs
                .iter()
                .filter(|l| l.block >= from && l.block <= last)
                .filter(|l| addresses.as_ref().is_none_or(|a| a.contains(&l.contract)))
                .filter(|l| {
                    matches(0, TRANSFER_TOPIC)
                        && matches(1, &address_topic(l.from.hex()))
                        && matches(2, &address_topic(l.to.hex()))
                })
                .map(|l| {
                    json!({
                        "address": l.contract,
                        "topics": [TRANSFER_TOPIC, address_topic(l.from.hex()), address_topic(l.to.hex())],
                        "data": amount_word(&l.amount),
                        "blockNumber": format!("0x{:x}", l.block),
                        "blockHash": block_hash(l.block),
                        "transactionHash": l.tx,
                        "transactionIndex": "0x0",
                        "logIndex": format!("0x{:x}", l.index),
                        "removed": false,
                    })
                })
                .collect();
            ok(Value::Array(found))
        }
        other => err(
            200,
            -32601,
            format!("the method {other} does not exist/is not available"),
        ),
    }
}

/// A block parameter: hex number or tag.
fn block_param(v: &Value, head: u64, safe_lag: u64) -> Option<u64> {
    match v.as_str()? {
        "latest" | "pending" => Some(head),
        "safe" => Some(head.saturating_sub(safe_lag)),
        "finalized" => Some(head.saturating_sub(2 * safe_lag)),
        "earliest" => Some(0),
        hex => u64::from_str_radix(hex.strip_prefix("0x")?, 16).ok(),
    }
}

/// (HTTP status, code, message) of `profile`'s refusal of `from..=to` over `max`.
fn refusal(profile: RangeProfile, from: u64, to: u64, max: u64) -> (u16, i64, String) {
    let end = from + max - 1;
    match profile {
        RangeProfile::Alchemy => (
            200,
            -32600,
            format!(
                "Under the Free tier plan, you can make eth_getLogs requests with up to a {max} block range. \
                 Based on your parameters, this block range should work: [0x{from:x}, 0x{end:x}]. \
                 Upgrade to PAYG for expanded block range."
            ),
        ),
        RangeProfile::Infura => (
            200,
            -32005,
            format!(
                "query returned more than 10000 results. Try with this block range [0x{from:X}, 0x{end:X}]."
            ),
        ),
        RangeProfile::QuickNode => (
            413,
            -32614,
            format!("eth_getLogs is limited to a {} range", with_commas(max)),
        ),
        RangeProfile::LlamaRpc => {
            let max = if max.is_multiple_of(1000) {
                format!("{}k", max / 1000)
            } else {
                max.to_string()
            };
            (
                200,
                -32603,
                format!("eth_getLogs range is too large, max is {max} blocks"),
            )
        }
        RangeProfile::Geth => (200, -32000, format!("exceed maximum block range: {max}")),
        RangeProfile::RethEcho => (
            200,
            -32602,
            format!("query exceeds max results 20000, retry with the range {from}-{to}"),
        ),
        RangeProfile::Ankr => (200, -32600, "block range is too wide".into()),
        RangeProfile::DrpcFree => (
            400,
            35,
            format!("ranges over {max} blocks are not supported on freetier"),
        ),
    }
}

fn with_commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Requests of `records` within any `window` (for rate checks).
pub fn max_in_window(records: &[Instant], window: Duration) -> usize {
    crate::sim::max_in_any_window(records.iter().copied(), window)
}

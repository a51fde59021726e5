//! A simulated Blockscout instance per chain: a real HTTP server on
//! 127.0.0.1 speaking Blockscout's Etherscan-compatible `/api` in its own
//! shapes (see `shared/reference/blockscout.md`), built on a
//! [`SimEtherscan`]'s chain state, so the same transfers are visible on
//! both. Its head is the block the explorer has indexed (the simulated
//! chain's index lag applies to both providers).
//!
//! Served: `GET /<chain id>/api?module=block&action=eth_block_number` →
//! `{"jsonrpc":"2.0","result": "0x…","id": 1}`, and
//! `?module=logs&action=getLogs&fromBlock&toBlock&address&topic0` → at most
//! 1000 logs in (block, log index) order, `page`/`offset` ignored, 4 topics
//! padded with `null`, zero as `"0x0"`, no `blockHash`; "No logs found" for
//! none; errors with the reason in `message` and `result: null`.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use super::etherscan::RequestKind;
use super::etherscan::SimEtherscan;
use super::etherscan::api::Params;
use super::etherscan::chain::{Record, SimChain};
use super::etherscan::filter::{FilterTopic, LogFilter, Op};
use super::etherscan::server::{Reply, Shared as ChainState};
use crate::domain::Address;

/// At most this many logs per getLogs answer.
const MAX_LOGS: usize = 1000;

/// A failure mode of the simulated instance, applied while set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockscoutFault {
    /// HTTP 500 `{"status":"0","message":"Something went wrong.","result":null}`.
    Http500,
    /// HTTP 429 "Too many requests…".
    TooManyRequests,
    /// `307 Temporary Redirect` with `Location` this URL (another host).
    Redirect(String),
}

/// One request the instance received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockscoutRequest {
    pub chain_id: u64,
    pub kind: RequestKind,
}

struct State {
    fault: Option<BlockscoutFault>,
    requests: Vec<BlockscoutRequest>,
}

struct Inner {
    chains: Arc<ChainState>,
    state: Mutex<State>,
}

/// The running simulated instances (one per chain id, by path).
#[derive(Clone)]
pub struct SimBlockscout {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
}

impl SimBlockscout {
    /// Binds 127.0.0.1 on a free port, serving `etherscan`'s chains.
    pub async fn start(etherscan: &SimEtherscan) -> std::io::Result<SimBlockscout> {
        let inner = Arc::new(Inner {
            chains: etherscan.shared(),
            state: Mutex::new(State {
                fault: None,
                requests: Vec::new(),
            }),
        });
        let data = web::Data::from(Arc::clone(&inner));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/{chain}/api", web::get().to(route))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("the simulator bound no address"))?;
        let running = server.run();
        let handle = running.handle();
        actix_rt::spawn(running);
        Ok(SimBlockscout {
            inner,
            addr,
            server: handle,
        })
    }

    /// The instance URL of `chain_id`, e.g. `http://127.0.0.1:PORT/1/api`.
    pub fn base_url(&self, chain_id: u64) -> String {
        format!("http://{}/{chain_id}/api", self.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to every request from now on (`None` clears it).
    pub fn set_fault(&self, fault: Option<BlockscoutFault>) {
        self.state().fault = fault;
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<BlockscoutRequest> {
        self.state().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    pub async fn stop(&self) {
        self.server.stop(true).await;
    }
}

/// `GET /{chain}/api?…`
async fn route(req: HttpRequest, inner: web::Data<Inner>) -> HttpResponse {
    let chain_id = req.match_info().get("chain").and_then(|c| c.parse().ok());
    serve(&inner, chain_id, req.query_string()).into_response()
}

fn error(status: u16, message: &str) -> Reply {
    let body = serde_json::json!({"status": "0", "message": message, "result": null});
    Reply::json(status, body.to_string())
}

fn serve(inner: &Inner, chain_id: Option<u64>, query: &str) -> Reply {
    let Some(p) = Params::parse(query) else {
        return error(400, "Params 'module' and 'action' are required parameters");
    };
    let kind = match (p.get("module"), p.get("action")) {
        (Some("block"), Some("eth_block_number")) => RequestKind::BlockNumber,
        (Some("logs"), Some("getLogs")) => RequestKind::GetLogs,
        _ => RequestKind::Other,
    };
    let fault = {
        let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.push(BlockscoutRequest {
            chain_id: chain_id.unwrap_or(0),
            kind,
        });
        st.fault.clone()
    };
    match fault {
        Some(BlockscoutFault::Http500) => return error(500, "Something went wrong."),
        Some(BlockscoutFault::TooManyRequests) => {
            return error(
                429,
                "Too many requests. Increase limits now at https://dev.blockscout.com",
            );
        }
        Some(BlockscoutFault::Redirect(url)) => return Reply::redirect(&url),
        None => {}
    }
    let st = inner.chains.lock();
    let Some(chain) = chain_id.and_then(|id| st.chains.get(&id)) else {
        return Reply::text(404, "Not Found");
    };
    match kind {
        RequestKind::BlockNumber => Reply::json(
            200,
            format!(
                r#"{{"jsonrpc":"2.0","result": "0x{:x}","id": 1}}"#,
                chain.indexed_head()
            ),
        ),
        RequestKind::GetLogs => get_logs(chain, &p).unwrap_or_else(|m| error(200, &m)),
        _ => match (p.get("module"), p.get("action")) {
            (None, _) | (_, None) => {
                error(400, "Params 'module' and 'action' are required parameters")
            }
            (Some("logs" | "block" | "account"), _) => error(400, "Unknown action"),
            _ => error(400, "Unknown module"),
        },
    }
}

/// `fromBlock`/`toBlock`: required, decimal or `latest`.
fn block(p: &Params, key: &str, head: u64) -> Result<u64, String> {
    match p.get(key) {
        None | Some("") => Err(format!("Required query parameters missing: {key}")),
        Some("latest") => Ok(head),
        Some(v) => v.parse().map_err(|_| format!("Invalid {key} format")),
    }
}

fn get_logs(chain: &SimChain, p: &Params) -> Result<Reply, String> {
    let head = chain.indexed_head();
    let from = block(p, "fromBlock", head)?;
    let to = block(p, "toBlock", head)?;
    let contract = match p.get("address") {
        None | Some("") => None,
        Some(a) => {
            Some(Address::parse(&a.to_ascii_lowercase()).map_err(|_| "Invalid address format")?)
        }
    };
    let mut topics: [Option<FilterTopic>; 4] = Default::default();
    for (i, slot) in topics.iter_mut().enumerate() {
        if let Some(v) = p.get(&format!("topic{i}")).filter(|v| !v.is_empty()) {
            *slot = Some(FilterTopic::parse(v).ok_or("Invalid topic format")?);
        }
    }
    if contract.is_none() && topics.iter().all(Option::is_none) {
        return Err("Required query parameters missing: address or topic".into());
    }
    let given: Vec<usize> = (0..4).filter(|&i| topics[i].is_some()).collect();
    let mut ops = [[Op::And; 4]; 4];
    for pair in given.windows(2) {
        let key = format!("topic{}_{}_opr", pair[0], pair[1]);
        ops[pair[0]][pair[1]] = match p.get(&key) {
            Some("and") => Op::And,
            Some("or") => Op::Or,
            _ => return Err(format!("Required query parameters missing: {key}")),
        };
    }
    let filter = LogFilter::topics(contract, topics, ops);
    let records = chain
        .query(from, to, &filter, 0, MAX_LOGS)
        .map_err(|_| "Something went wrong.".to_string())?;
    if records.is_empty() {
        return Ok(Reply::json(
            200,
            r#"{"status":"0","message":"No logs found","result":[]}"#.into(),
        ));
    }
    Ok(Reply::json(200, render(chain, &records)))
}

/// Blockscout's `LogsView` item: 4 topics (`null` for absent ones),
/// lowercase hex with zero as `"0x0"`, no `blockHash`.
fn render(chain: &SimChain, records: &[Record]) -> String {
    let mut out = String::from(r#"{"status":"1","message":"OK","result":["#);
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let topics: Vec<String> = (0..4)
            .map(|j| {
                r.topics
                    .get(j)
                    .map_or("null".into(), |t| format!("\"{t}\""))
            })
            .collect();
        let (gas_price, gas_used) = chain.gas(r.block, r.log_index);
        let _ = write!(
            out,
            r#"{{"address":"{}","topics":[{}],"data":"{}","blockNumber":"0x{:x}","timeStamp":"0x{:x}","gasPrice":"0x{:x}","gasUsed":"0x{:x}","logIndex":"0x{:x}","transactionHash":"{}","transactionIndex":"0x{:x}"}}"#,
            r.contract.as_str(),
            topics.join(","),
            r.data,
            r.block,
            chain.timestamp(r.block),
            gas_price,
            gas_used,
            r.log_index,
            chain.tx_hash(r.block, r.log_index),
            r.log_index,
        );
    }
    out.push_str("]}");
    out
}

//! The actions the simulator speaks, in the Etherscan API V2 shapes:
//! `proxy/eth_blockNumber`, `logs/getLogs`, `account/tokentx` and
//! `getapilimit`. Every parameter is outside input: anything malformed gets
//! the NOTOK envelope, never a panic.

use std::collections::BTreeMap;

use std::fmt::Write;

use serde::Serialize;

use crate::domain::chain::TokenSymbol;
use crate::domain::{Address, Amount};

use super::chain::{Record, SimChain};
use super::codec::HexQ;
use super::filter::{FilterTopic, LogFilter, Op};
use super::server::Reply;
use super::{RequestKind, RequestRecord, SimEtherscanOptions};

/// The most records one list call returns.
pub(crate) const MAX_OFFSET: u64 = 1000;
/// The deepest record reachable by paging (page × offset).
pub(crate) const RESULT_WINDOW: u64 = 10_000;

const QUERY_TIMEOUT: &str = "Query Timeout occured. Please select a smaller result dataset";

/// The decoded query string. Keys match case-insensitively; the first
/// occurrence of a key wins.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Option<Params> {
        actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .ok()
            .map(|q| Params(q.into_inner()))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

fn kind_of(p: &Params) -> RequestKind {
    match (p.get("module"), p.get("action")) {
        (Some("proxy"), Some("eth_blockNumber")) => RequestKind::BlockNumber,
        (Some("logs"), Some("getLogs")) => RequestKind::GetLogs,
        (Some("account"), Some("tokentx")) => RequestKind::TokenTx,
        _ => RequestKind::Other,
    }
}

/// A block parameter: decimal, or `latest` (the head). `Err` if malformed.
fn block_param(p: &Params, key: &str, default: u64, head: u64) -> Result<u64, String> {
    match p.get(key) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("latest") => Ok(head),
        Some(v) => v
            .parse()
            .map_err(|_| format!("Error! Invalid {key} parameter")),
    }
}

fn number_param(p: &Params, key: &str, default: u64) -> Result<u64, String> {
    match p.get(key) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("Error! Invalid {key} parameter")),
    }
}

/// Fills the descriptive fields of the request record (best effort).
pub(crate) fn describe(p: &Params, chains: &BTreeMap<u64, SimChain>, rec: &mut RequestRecord) {
    rec.chain_id = p.get("chainid").and_then(|v| v.parse().ok());
    rec.kind = kind_of(p);
    let head = rec
        .chain_id
        .and_then(|id| chains.get(&id))
        .map_or(0, |c| c.head);
    let (from_key, to_key) = match rec.kind {
        RequestKind::GetLogs => ("fromBlock", "toBlock"),
        RequestKind::TokenTx => ("startblock", "endblock"),
        _ => return,
    };
    rec.from_block = block_param(p, from_key, 0, head).ok();
    rec.to_block = block_param(p, to_key, head, head).ok();
    rec.page = number_param(p, "page", 1).ok();
}

/// Runs the action on a served chain. Returns the reply and its outcome.
pub(crate) fn dispatch(
    chain: &SimChain,
    p: &Params,
    opts: &SimEtherscanOptions,
    calls: usize,
) -> (Reply, &'static str) {
    let result = match kind_of(p) {
        RequestKind::BlockNumber => Ok(block_number(chain)),
        RequestKind::GetLogs => get_logs(chain, p, opts),
        RequestKind::TokenTx => token_tx(chain, p),
        RequestKind::Other => match (p.get("module"), p.get("action")) {
            (Some("getapilimit"), Some("getapilimit")) => Ok(api_limit(calls)),
            (Some("proxy" | "logs" | "account"), _) => {
                Err("Error! Missing Or invalid Action name".into())
            }
            _ => Err("Error! Missing Or invalid Module name".into()),
        },
    };
    match result {
        Ok(ok) => ok,
        Err(reason) => (Reply::notok(&reason), "error"),
    }
}

type Answer = Result<(Reply, &'static str), String>;

fn block_number(chain: &SimChain) -> (Reply, &'static str) {
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 83, "result": format!("0x{:x}", chain.head)});
    (Reply::json(200, body.to_string()), "ok")
}

fn api_limit(calls: usize) -> (Reply, &'static str) {
    let limit = 100_000usize;
    let body = serde_json::json!({"status": "1", "message": "OK", "result": {
        "creditsUsed": calls, "creditsAvailable": limit.saturating_sub(calls),
        "creditLimit": limit, "limitInterval": "daily", "intervalExpiryTimespan": "23:59:59"}});
    (Reply::json(200, body.to_string()), "ok")
}

/// (records to skip, records to take) from `page` and `offset`.
fn paging(p: &Params) -> Result<(u64, usize), String> {
    let page = number_param(p, "page", 1)?.max(1);
    let offset = match number_param(p, "offset", MAX_OFFSET)? {
        0 => MAX_OFFSET,
        o => o,
    };
    if offset > MAX_OFFSET {
        return Err(format!(
            "Error! Offset must be at most {MAX_OFFSET} records per request"
        ));
    }
    if page.checked_mul(offset).is_none_or(|w| w > RESULT_WINDOW) {
        return Err(
            "Result window is too large, PageNo x Offset size must be less than or equal to 10000"
                .into(),
        );
    }
    Ok(((page - 1) * offset, offset as usize))
}

fn address_param(p: &Params, key: &str) -> Result<Option<Address>, String> {
    match p.get(key) {
        None | Some("") => Ok(None),
        // The real API does not check EIP-55 casing; compare in lowercase.
        Some(v) => Address::parse(&v.to_ascii_lowercase())
            .map(Some)
            .map_err(|_| "Error! Invalid address format".to_string()),
    }
}

fn get_logs(chain: &SimChain, p: &Params, opts: &SimEtherscanOptions) -> Answer {
    let from = block_param(p, "fromBlock", 0, chain.head)?;
    let to = block_param(p, "toBlock", chain.head, chain.head)?;
    let contract = address_param(p, "address")?;
    let mut topics: [Option<FilterTopic>; 4] = Default::default();
    for (i, slot) in topics.iter_mut().enumerate() {
        if let Some(v) = p.get(&format!("topic{i}")).filter(|v| !v.is_empty()) {
            *slot = Some(FilterTopic::parse(v).ok_or("Error! Invalid topic format")?);
        }
    }
    let mut ops = [[Op::And; 4]; 4];
    for (a, row) in ops.iter_mut().enumerate() {
        for (b, op) in row.iter_mut().enumerate().skip(a + 1) {
            *op = match p.get(&format!("topic{a}_{b}_opr")) {
                None | Some("") => Op::And,
                Some(v) if v.eq_ignore_ascii_case("and") => Op::And,
                Some(v) if v.eq_ignore_ascii_case("or") => Op::Or,
                Some(_) => return Err("Error! Invalid topic operator, use and|or".into()),
            };
        }
    }
    let (skip, take) = paging(p)?;
    if let Some(limit) = opts.query_timeout_above
        && to.saturating_sub(from).saturating_add(1) > limit
    {
        return Err(QUERY_TIMEOUT.into());
    }
    let filter = LogFilter::topics(contract.clone(), topics, ops);
    let records = chain
        .query(from, to, &filter, skip, take)
        .map_err(|_| QUERY_TIMEOUT.to_string())?;
    // Hand-made items come with the last page of their range.
    let raw = if records.len() < take {
        chain.raw_items(from, to, contract.as_ref())
    } else {
        Vec::new()
    };
    if records.is_empty() && raw.is_empty() {
        return Ok(empty("No records found"));
    }
    let mut body = render_logs(chain, &records);
    if !raw.is_empty() {
        // Splice the items in before the closing `]}`.
        body.truncate(body.len() - 2);
        for (i, item) in raw.iter().enumerate() {
            if i > 0 || !records.is_empty() {
                body.push(',');
            }
            body.push_str(&item.to_string());
        }
        body.push_str("]}");
    }
    Ok((Reply::json(200, body), "ok"))
}

fn token_tx(chain: &SimChain, p: &Params) -> Answer {
    let party = address_param(p, "address")?.ok_or("Error! Missing or invalid address")?;
    let contract = address_param(p, "contractaddress")?;
    let from = block_param(p, "startblock", 0, chain.head)?;
    let to = block_param(p, "endblock", u64::MAX, chain.head)?;
    match p.get("sort") {
        None | Some("") | Some("asc") => {}
        // Not needed by the daemon, which walks forward by startblock.
        Some(_) => return Err("Error! The simulator supports sort=asc only".into()),
    }
    let (skip, take) = paging(p)?;
    let filter = LogFilter::party(contract.clone(), &party);
    let records = chain
        .query(from, to, &filter, skip, take)
        .map_err(|_| QUERY_TIMEOUT.to_string())?;
    // Hand-made rows come with the last page of their range.
    let raw = if records.len() < take {
        chain.raw_rows(from, to, &party, contract.as_ref())
    } else {
        Vec::new()
    };
    if records.is_empty() && raw.is_empty() {
        return Ok(empty("No transactions found"));
    }
    let mut rows: Vec<serde_json::Value> = records
        .iter()
        .filter_map(|r| serde_json::to_value(TokenTxRow::new(chain, r)).ok())
        .collect();
    rows.extend(raw.into_iter().cloned());
    Ok((ok_list(&rows), "ok"))
}

fn empty(message: &str) -> (Reply, &'static str) {
    let body = serde_json::json!({"status": "0", "message": message, "result": []});
    (Reply::json(200, body.to_string()), "empty")
}

#[derive(Serialize)]
struct OkList<'a, T> {
    status: &'static str,
    message: &'static str,
    result: &'a [T],
}

fn ok_list<T: Serialize>(items: &[T]) -> Reply {
    let env = OkList {
        status: "1",
        message: "OK",
        result: items,
    };
    match serde_json::to_string(&env) {
        Ok(body) => Reply::json(200, body),
        Err(_) => Reply::notok("Error! Internal error"),
    }
}

/// The getLogs success envelope, written directly rather than through
/// serde: a full page is 1000 items of eleven fields, and it must stay well
/// under 10 ms to serve. Hex quantities write zero as `"0x"`.
fn render_logs(chain: &SimChain, records: &[Record]) -> String {
    let mut out = String::with_capacity(64 + records.len() * 700);
    out.push_str(r#"{"status":"1","message":"OK","result":["#);
    // Records come sorted by block: hash each block once.
    let mut block_hash = (u64::MAX, String::new());
    for (i, r) in records.iter().enumerate() {
        if block_hash.0 != r.block {
            block_hash = (r.block, chain.block_hash(r.block));
        }
        let (gas_price, gas_used) = chain.gas(r.block, r.log_index);
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"address":"#);
        push_json_str(&mut out, r.contract.as_str());
        out.push_str(r#","topics":["#);
        for (j, t) in r.topics.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_json_str(&mut out, t);
        }
        out.push_str(r#"],"data":"#);
        push_json_str(&mut out, &r.data);
        let fields: [(&str, u64); 3] = [
            ("blockNumber", r.block),
            ("timeStamp", chain.timestamp(r.block)),
            ("gasPrice", gas_price),
        ];
        for (key, v) in fields {
            let _ = write!(out, r#","{key}":"{}""#, HexQ(v));
        }
        let _ = write!(out, r#","blockHash":"{}""#, block_hash.1);
        let _ = write!(
            out,
            r#","gasUsed":"{}","logIndex":"{}","transactionHash":"{}","transactionIndex":"{}"}}"#,
            HexQ(gas_used),
            HexQ(r.log_index),
            chain.tx_hash(r.block, r.log_index),
            // One transaction per log in this chain.
            HexQ(r.log_index),
        );
    }
    out.push_str("]}");
    out
}

/// A JSON string. Hex strings (nearly everything) need no escaping; an
/// injected raw log may hold anything, so fall back to serde for the rest.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(s).to_string());
    }
}

/// One tokentx row: every field a decimal string (or an address/hash).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenTxRow {
    block_number: String,
    time_stamp: String,
    hash: String,
    nonce: String,
    block_hash: String,
    from: String,
    contract_address: String,
    to: String,
    value: String,
    token_name: String,
    token_symbol: String,
    token_decimal: String,
    transaction_index: String,
    gas: String,
    gas_price: String,
    gas_used: String,
    cumulative_gas_used: String,
    input: String,
    confirmations: String,
}

impl TokenTxRow {
    fn new(chain: &SimChain, r: &Record) -> Self {
        let party = |i: usize| {
            r.topics
                .get(i)
                .and_then(|t| Address::from_topic(t))
                .map_or_else(String::new, |a| a.as_str().to_string())
        };
        let (name, symbol, decimals) = match chain.tokens.iter().find(|t| t.contract == r.contract)
        {
            Some(t) => (
                match t.symbol {
                    TokenSymbol::Usdt => "Tether USD",
                    TokenSymbol::Usdc => "USD Coin",
                },
                t.symbol.as_str(),
                t.decimals,
            ),
            None => ("", "", 0),
        };
        let (gas_price, gas_used) = chain.gas(r.block, r.log_index);
        TokenTxRow {
            block_number: r.block.to_string(),
            time_stamp: chain.timestamp(r.block).to_string(),
            hash: chain.tx_hash(r.block, r.log_index),
            nonce: (r.block % 1000).saturating_add(r.log_index).to_string(),
            block_hash: chain.block_hash(r.block),
            from: party(1),
            contract_address: r.contract.as_str().to_string(),
            to: party(2),
            value: Amount::from_hex(&r.data).map_or_else(|_| "0".into(), |a| a.to_string()),
            token_name: name.to_string(),
            token_symbol: symbol.to_string(),
            token_decimal: decimals.to_string(),
            transaction_index: r.log_index.to_string(),
            gas: (gas_used + 20_000).to_string(),
            gas_price: gas_price.to_string(),
            gas_used: gas_used.to_string(),
            cumulative_gas_used: gas_used
                .saturating_mul(r.log_index.saturating_add(1))
                .to_string(),
            input: "deprecated".to_string(),
            confirmations: (chain.head.saturating_sub(r.block) + 1).to_string(),
        }
    }
}

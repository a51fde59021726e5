//! Per-address scanning: `account/tokentx` for each watched address, for one
//! token of one chain (the scan mode of a chain with few watched addresses,
//! see [`mode`](super::mode)).
//!
//! **The rows.** `tokentx` answers one row per Transfer *log* (a transaction
//! that moves the token twice gives two rows with one `hash`), decimal
//! strings, ascending by block with `sort=asc`, at most `offset` (≤ 1000) a
//! page and only while `page × offset ≤ 10 000` (see
//! `shared/reference/etherscan.md`). One query per address returns both
//! sides (sent and received). Rows are decoded strictly ([`decode_row`]):
//! the token's own contract, its registry decimals, the queried address as
//! `from` or `to`, a 32-byte hash, decimal quantities; anything else is
//! rejected and counted, never notified.
//!
//! **The 10 000-row window.** When ten full pages came back, the walk
//! continues with `startblock` = the last block seen, dropping that block's
//! rows from the first batch (they come again in full), exactly as the logs
//! scan does with getLogs' window. One block alone with 10 000 rows for one
//! address is an error (the cursor waits) rather than a loop.
//!
//! **The dedupe key.** The database keys a transfer by (chain, tx hash, log
//! index), and the logs scan stores the log index it read. `tokentx` rows
//! carry no log index (Etherscan), so a key made up here (say, the row's
//! position within its transaction) would differ from the logs scan's, and a
//! switch of scan mode would notify the same transfer twice. So the key is
//! not derived, it is *looked up*: for the rows of one (block, from, to),
//! one `getLogs` of that block filtered by the token, the Transfer topic,
//! `topic1 = from` and `topic2 = to` returns the very logs the logs scan
//! reads, with their `logIndex`. Each row takes the first unused log of its
//! transaction with the same amount (rows that are identical in hash, from,
//! to and amount are interchangeable: any assignment gives the same set of
//! keys). The transfer recorded is then the decoded *log* (the same
//! [`decode`](super::decode) as the logs scan), so both modes store
//! identical rows. A provider whose rows do carry a `logIndex` (Blockscout's
//! tokentx does) needs no look-up. Cost: one small call per (block, pair)
//! of the user's own transfers, cached while the block can be read again.
//! Rows that the block's logs do not account for stop the token's scan with
//! [`ScanError::Unresolved`]; the cursor stays and the next poll retries.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::client::{EtherscanClient, Request};
use super::decode::decode_item;
use super::error::{Action, ApiError, ScanError};
use super::scan::{OFFSET, RESULT_WINDOW};
use crate::domain::{Address, Amount, Chain, Token, Transfer};

/// The fields of a `tokentx` row we use (Etherscan sends more).
#[derive(Debug, Deserialize)]
struct RawRow {
    #[serde(rename = "blockNumber")]
    block_number: String,
    #[serde(rename = "timeStamp")]
    time_stamp: String,
    hash: String,
    from: String,
    to: String,
    #[serde(rename = "contractAddress")]
    contract_address: String,
    value: String,
    #[serde(rename = "tokenDecimal")]
    token_decimal: String,
    /// Not sent by Etherscan; Blockscout-style providers do.
    #[serde(rename = "logIndex", default)]
    log_index: Option<String>,
}

/// Why a `tokentx` row is not a transfer of the token for the address asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("row is not a tokentx object: {0}")]
    Shape(String),
    #[error("{0} is not a decimal quantity")]
    BadQuantity(&'static str),
    #[error("{0} is not an address")]
    BadAddress(&'static str),
    #[error("hash is not 32 bytes of hex")]
    BadTxHash,
    #[error("contract {0} is not the token asked for")]
    WrongContract(String),
    #[error("tokenDecimal {0} differs from the token's")]
    WrongDecimals(String),
    #[error("neither from nor to is the address asked for")]
    NotParty,
    #[error("value is not a uint256: {0}")]
    BadAmount(String),
}

/// One decoded `tokentx` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub block: u64,
    pub timestamp: u64,
    /// Lowercase `0x…`.
    pub tx_hash: String,
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
    /// The provider's log index, when it sends one.
    pub log_index: Option<u64>,
}

/// A decimal quantity that fits u64 (no sign, no spaces, not empty).
fn decimal(s: &str, what: &'static str) -> Result<u64, RowError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RowError::BadQuantity(what));
    }
    s.parse().map_err(|_| RowError::BadQuantity(what))
}

fn address(s: &str, what: &'static str) -> Result<Address, RowError> {
    Address::parse(&s.to_ascii_lowercase()).map_err(|_| RowError::BadAddress(what))
}

/// The block of a raw row, if it has a readable one.
fn row_block(item: &Value) -> Option<u64> {
    let s = item.get("blockNumber")?.as_str()?;
    decimal(s, "blockNumber").ok()
}

/// Decodes one `tokentx` row of `token` asked for `party`.
pub fn decode_row(token: &Token, party: &Address, item: Value) -> Result<Row, RowError> {
    let raw: RawRow = serde_json::from_value(item).map_err(|e| RowError::Shape(e.to_string()))?;
    let contract = address(&raw.contract_address, "contractAddress")?;
    if contract != token.contract {
        return Err(RowError::WrongContract(contract.to_string()));
    }
    if decimal(&raw.token_decimal, "tokenDecimal")? != u64::from(token.decimals) {
        return Err(RowError::WrongDecimals(
            raw.token_decimal.chars().take(8).collect(),
        ));
    }
    let from = address(&raw.from, "from")?;
    let to = address(&raw.to, "to")?;
    if &from != party && &to != party {
        return Err(RowError::NotParty);
    }
    let hex = raw.hash.strip_prefix("0x").ok_or(RowError::BadTxHash)?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RowError::BadTxHash);
    }
    let amount = Amount::from_dec(&raw.value).map_err(|e| RowError::BadAmount(e.to_string()))?;
    let log_index = match raw.log_index.as_deref() {
        None | Some("") => None,
        Some(s) => Some(decimal(s, "logIndex")?),
    };
    Ok(Row {
        block: decimal(&raw.block_number, "blockNumber")?,
        timestamp: decimal(&raw.time_stamp, "timeStamp")?,
        tx_hash: format!("0x{}", hex.to_ascii_lowercase()),
        from,
        to,
        amount,
        log_index,
    })
}

impl Row {
    /// The transfer, keyed by the provider's own log index.
    fn with_index(&self, chain: &Chain, token: &Token, log_index: u64) -> Transfer {
        Transfer {
            chain_id: chain.id,
            tx_hash: self.tx_hash.clone(),
            log_index,
            block: self.block,
            timestamp: self.timestamp,
            token: token.symbol,
            contract: token.contract.clone(),
            decimals: token.decimals,
            from: self.from.clone(),
            to: self.to.clone(),
            amount: self.amount,
        }
    }
}

/// (chain id, token contract, block, from, to).
type PairKey = (u64, Address, u64, Address, Address);

/// The Transfer logs of one (block, from, to) already fetched to key rows:
/// the same rows come back while their block is inside the re-read window.
#[derive(Default)]
pub struct PairCache(RefCell<HashMap<PairKey, Vec<Transfer>>>);

impl PairCache {
    /// Forgets the token's entries at or below `block` (no longer re-read).
    pub fn prune(&self, chain_id: u64, contract: &Address, block: u64) {
        self.0
            .borrow_mut()
            .retain(|(c, t, b, _, _), _| *c != chain_id || t != contract || *b > block);
    }
}

/// What scanning one address for one token gave.
#[derive(Debug, Default)]
pub struct AddressScan {
    /// Transfers keyed exactly as the logs scan keys them.
    pub transfers: Vec<Transfer>,
    /// Rows received (kept ones) and of those rejected as malformed.
    pub rows: usize,
    pub rejected: usize,
    /// `getLogs` calls made to key rows.
    pub lookups: usize,
    /// Why the scan stopped before the end of the range: the token's cursor
    /// must not move this poll.
    pub error: Option<ScanError>,
}

/// Where one scan runs: the client, chain, token and cache.
pub struct Place<'a> {
    pub client: &'a EtherscanClient,
    pub chain: &'a Chain,
    pub token: &'a Token,
    pub cache: &'a PairCache,
}

/// Scans `address`'s `tokentx` rows of the token in `from..=to`.
pub async fn scan_address(place: &Place<'_>, address: &Address, from: u64, to: u64) -> AddressScan {
    let (chain, token) = (place.chain, place.token);
    let mut out = AddressScan::default();
    let mut start = from;
    while start <= to {
        let (items, window_full) = match fetch_window(place, address, start, to).await {
            Ok(v) => v,
            Err(source) => {
                out.error = Some(ScanError::Logs {
                    chain: chain.name,
                    token: token.symbol.as_str(),
                    action: Action::TokenTx,
                    from: start,
                    to,
                    source,
                });
                return out;
            }
        };
        let (items, next) = if window_full {
            // Continue from the last block seen; its rows come again in full.
            match last_block_if_ordered(&items) {
                Some(last) if last > start => {
                    let kept = items
                        .into_iter()
                        .filter(|i| row_block(i).is_some_and(|b| b < last))
                        .collect();
                    (kept, Some(last))
                }
                _ => {
                    out.error = Some(ScanError::Unsplittable {
                        chain: chain.name,
                        token: token.symbol.as_str(),
                        block: start,
                        reason: ApiError::WindowTooLarge,
                    });
                    return out;
                }
            }
        } else {
            (items, None)
        };
        let rows = decode_rows(place, address, start, to, items, &mut out);
        if let Err(e) = key_rows(place, rows, &mut out).await {
            out.error = Some(e);
            return out;
        }
        match next {
            Some(last) => start = last,
            None => break,
        }
    }
    out
}

/// Pages of rows from `start` until a short page, or ten full pages.
async fn fetch_window(
    place: &Place<'_>,
    address: &Address,
    start: u64,
    to: u64,
) -> Result<(Vec<Value>, bool), ApiError> {
    let mut items = Vec::new();
    let mut page = 1u32;
    loop {
        let request = Request::TokenTx {
            contract: &place.token.contract,
            address,
            from: start,
            to,
            page,
            offset: OFFSET,
        };
        let batch = place.client.list(place.chain, request).await?;
        let full = batch.len() >= OFFSET as usize;
        items.extend(batch);
        if !full {
            return Ok((items, false));
        }
        if (page + 1) * OFFSET > RESULT_WINDOW {
            return Ok((items, true));
        }
        page += 1;
    }
}

/// The last block of `items` when all are readable and ascending.
fn last_block_if_ordered(items: &[Value]) -> Option<u64> {
    let mut last: Option<u64> = None;
    for item in items {
        let b = row_block(item)?;
        if last.is_some_and(|l| b < l) {
            return None;
        }
        last = Some(b);
    }
    last
}

/// Decodes rows, counting and logging the rejected ones (and rows outside
/// the range asked).
fn decode_rows(
    place: &Place<'_>,
    address: &Address,
    from: u64,
    to: u64,
    items: Vec<Value>,
    out: &mut AddressScan,
) -> Vec<Row> {
    let (chain, token) = (place.chain, place.token);
    out.rows += items.len();
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        match decode_row(token, address, item) {
            Ok(r) if (from..=to).contains(&r.block) => rows.push(r),
            Ok(r) => {
                out.rejected += 1;
                tracing::warn!(
                    actor = "etherscan",
                    chain = chain.name,
                    token = token.symbol.as_str(),
                    from_block = from,
                    to_block = to,
                    block = r.block,
                    "tokentx row outside the requested range ignored"
                );
            }
            Err(e) => {
                out.rejected += 1;
                tracing::warn!(actor = "etherscan", chain = chain.name, token = token.symbol.as_str(),
                    reason = %e, "malformed tokentx row rejected");
            }
        }
    }
    rows
}

/// Gives every row the key the logs scan uses (see the module doc) and
/// pushes the transfers to `out`.
async fn key_rows(
    place: &Place<'_>,
    rows: Vec<Row>,
    out: &mut AddressScan,
) -> Result<(), ScanError> {
    let (chain, token) = (place.chain, place.token);
    // Rows without a log index, grouped by (block, from, to), in row order.
    let mut groups: Vec<((u64, Address, Address), Vec<Row>)> = Vec::new();
    for row in rows {
        if let Some(i) = row.log_index {
            out.transfers.push(row.with_index(chain, token, i));
            continue;
        }
        let key = (row.block, row.from.clone(), row.to.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    for ((block, from, to), group) in groups {
        let logs = pair_logs(place, block, &from, &to, out).await?;
        let mut used = vec![false; logs.len()];
        let mut keyed = Vec::with_capacity(group.len());
        for row in &group {
            let same = |t: &Transfer| t.tx_hash == row.tx_hash && t.amount == row.amount;
            match logs
                .iter()
                .enumerate()
                .position(|(i, t)| !used[i] && same(t))
            {
                Some(i) => {
                    used[i] = true;
                    keyed.push(logs[i].clone());
                }
                // A transfer to oneself may be listed once per side.
                None if row.from == row.to && logs.iter().any(same) => {}
                None => {
                    return Err(ScanError::Unresolved {
                        chain: chain.name,
                        token: token.symbol.as_str(),
                        block,
                        tx_hash: row.tx_hash.clone(),
                    });
                }
            }
        }
        place
            .cache
            .0
            .borrow_mut()
            .insert((chain.id, token.contract.clone(), block, from, to), logs);
        out.transfers.extend(keyed);
    }
    Ok(())
}

/// The Transfer logs from `from` to `to` in `block`, decoded like the logs
/// scan's (malformed ones are skipped: they match no row).
async fn pair_logs(
    place: &Place<'_>,
    block: u64,
    from: &Address,
    to: &Address,
    out: &mut AddressScan,
) -> Result<Vec<Transfer>, ScanError> {
    let (chain, token) = (place.chain, place.token);
    let key = (
        chain.id,
        token.contract.clone(),
        block,
        from.clone(),
        to.clone(),
    );
    if let Some(hit) = place.cache.0.borrow().get(&key) {
        return Ok(hit.clone());
    }
    out.lookups += 1;
    let request = Request::PairLogs {
        contract: &token.contract,
        block,
        from,
        to,
    };
    let items = place
        .client
        .list(chain, request)
        .await
        .map_err(|source| ScanError::Logs {
            chain: chain.name,
            token: token.symbol.as_str(),
            action: Action::GetLogs,
            from: block,
            to: block,
            source,
        })?;
    Ok(items
        .into_iter()
        .filter_map(|i| decode_item(chain, token, i).ok())
        .filter(|t| t.block == block && &t.from == from && &t.to == to)
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::TokenSymbol;

    fn usdt() -> Token {
        Chain::by_name("ethereum")
            .unwrap()
            .token(TokenSymbol::Usdt)
            .unwrap()
            .clone()
    }

    fn party() -> Address {
        Address::parse(&format!("0x{}", "aa".repeat(20))).unwrap()
    }

    fn row() -> Value {
        json!({
            "blockNumber": "17000000", "timeStamp": "1700000000",
            "hash": format!("0x{}", "AB".repeat(32)), "nonce": "1",
            "blockHash": format!("0x{}", "cd".repeat(32)),
            "from": format!("0x{}", "bb".repeat(20)),
            "contractAddress": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "to": format!("0x{}", "aa".repeat(20)), "value": "1500000",
            "tokenName": "Tether USD", "tokenSymbol": "USDT", "tokenDecimal": "6",
            "transactionIndex": "3", "gas": "1", "gasPrice": "1", "gasUsed": "1",
            "cumulativeGasUsed": "1", "input": "deprecated", "confirmations": "9"
        })
    }

    #[test]
    fn a_canonical_row_decodes() {
        let r = decode_row(&usdt(), &party(), row()).unwrap();
        assert_eq!(r.block, 17_000_000);
        assert_eq!(r.tx_hash, format!("0x{}", "ab".repeat(32)));
        assert_eq!(r.amount, Amount::from_dec("1500000").unwrap());
        assert_eq!(r.log_index, None);
        let mut with_index = row();
        with_index["logIndex"] = json!("17");
        assert_eq!(
            decode_row(&usdt(), &party(), with_index).unwrap().log_index,
            Some(17)
        );
    }

    #[test]
    fn malformed_rows_are_rejected() {
        let cases: Vec<(&str, Value, RowError)> = vec![
            (
                "hex block",
                json!("0x10"),
                RowError::BadQuantity("blockNumber"),
            ),
            (
                "negative block",
                json!("-1"),
                RowError::BadQuantity("blockNumber"),
            ),
            (
                "value with a point",
                json!("1.5"),
                RowError::BadAmount(String::new()),
            ),
            (
                "other contract",
                json!(format!("0x{}", "11".repeat(20))),
                RowError::WrongContract(String::new()),
            ),
            (
                "other decimals",
                json!("18"),
                RowError::WrongDecimals(String::new()),
            ),
            ("short hash", json!("0x1234"), RowError::BadTxHash),
            (
                "stranger",
                json!(format!("0x{}", "cc".repeat(20))),
                RowError::NotParty,
            ),
            ("bad index", json!("x"), RowError::BadQuantity("logIndex")),
        ];
        let fields = [
            "blockNumber",
            "blockNumber",
            "value",
            "contractAddress",
            "tokenDecimal",
            "hash",
            "to",
            "logIndex",
        ];
        for ((what, value, want), field) in cases.into_iter().zip(fields) {
            let mut item = row();
            item[field] = value;
            let got = decode_row(&usdt(), &party(), item).unwrap_err();
            assert_eq!(
                std::mem::discriminant(&got),
                std::mem::discriminant(&want),
                "{what}: {got}"
            );
        }
        let mut missing = row();
        missing.as_object_mut().unwrap().remove("hash");
        assert!(matches!(
            decode_row(&usdt(), &party(), missing),
            Err(RowError::Shape(_))
        ));
    }
}

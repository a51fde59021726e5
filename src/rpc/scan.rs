//! One token's Transfer logs over a block range on one endpoint, in
//! ascending sub-ranges no wider than the endpoint's cap: a size refusal
//! narrows the cap (the suggested width, the stated cap, or half) and the
//! same blocks are asked again, so nothing is skipped; the cap is kept for
//! the endpoint's next calls. A single block still refused is the
//! endpoint's fault ([`RpcError::Unservable`], which ends the chain's poll
//! and counts against the endpoint in the pool), never a block to skip.
//!
//! Never past the head this endpoint reported: a node behind a load
//! balancer answers `[]` for blocks it lacks, so a range above its own head
//! would be "scanned" empty for good.

use std::collections::HashMap;

use serde_json::Value;

use super::client::RpcClient;
use super::error::RpcError;
use super::range;
use crate::domain::log::{RawLog, decode_untimed};
use crate::domain::{Chain, Token, Transfer};

/// What one token's scan gave.
#[derive(Debug, Default)]
pub struct Scan {
    /// Decoded transfers that `keep` accepted, of finished sub-ranges only.
    pub transfers: Vec<Transfer>,
    /// Every block up to this one was scanned (`None`: not even the first).
    pub scanned_to: Option<u64>,
    /// Log items seen, and of those rejected as malformed.
    pub items: usize,
    pub rejected: usize,
    /// Why the scan stopped before the end, and the blocks it was asking for.
    pub error: Option<(u64, u64, RpcError)>,
}

/// Scans `from..=to` (capped at the endpoint's own reported head) for
/// `token`'s Transfer logs. `first`: count rejected items (the deep pass
/// saw them already).
pub async fn scan_token(
    client: &RpcClient,
    chain: &Chain,
    token: &Token,
    (from, to): (u64, u64),
    first: bool,
    keep: &dyn Fn(&Transfer) -> bool,
) -> Scan {
    let mut out = Scan::default();
    let to = client.reported_head().map_or(to, |h| to.min(h));
    let mut a = from;
    while a <= to {
        let width = client.range_cap().unwrap_or(u64::MAX).max(1);
        let b = to.min(a.saturating_add(width - 1));
        let items = match client
            .transfer_logs(std::slice::from_ref(&token.contract), a, b)
            .await
        {
            Ok(items) => items,
            Err(RpcError::RangeTooLarge { message, hint }) => {
                let asked = b - a + 1;
                if asked == 1 {
                    out.error = Some((a, b, RpcError::Unservable { block: a, message }));
                    return out;
                }
                let next = range::next_width(hint, asked);
                tracing::info!(actor = "etherscan", provider = "rpc", host = client.host(),
                    chain = chain.name, asked, next, reason = %message,
                    "eth_getLogs range refused; narrowing it for this endpoint");
                client.learn_range(next);
                continue;
            }
            Err(e) => {
                out.error = Some((a, b, e));
                return out;
            }
        };
        match commit(client, chain, token, (a, b), items, first, keep).await {
            Ok(found) => {
                out.items += found.items;
                out.rejected += found.rejected;
                out.transfers.extend(found.transfers);
                out.scanned_to = Some(b);
            }
            Err(e) => {
                out.error = Some((a, b, e));
                return out;
            }
        }
        match b.checked_add(1) {
            Some(next) => a = next,
            None => break,
        }
    }
    out
}

#[derive(Default)]
struct Found {
    transfers: Vec<Transfer>,
    items: usize,
    rejected: usize,
}

/// Decodes the items of `a..=b`, keeps the matches and gives each kept
/// transfer its block's time (from the log, or one `eth_getBlockByNumber`
/// per block that has a kept transfer). A failure of that call fails the
/// sub-range: it is asked again next time.
async fn commit(
    client: &RpcClient,
    chain: &Chain,
    token: &Token,
    (a, b): (u64, u64),
    items: Vec<Value>,
    first: bool,
    keep: &dyn Fn(&Transfer) -> bool,
) -> Result<Found, RpcError> {
    let mut out = Found {
        items: items.len(),
        ..Found::default()
    };
    for item in items {
        let decoded = serde_json::from_value::<RawLog>(item)
            .map_err(|e| e.to_string())
            .and_then(|raw| decode_untimed(chain, token, &raw).map_err(|e| e.to_string()));
        match decoded {
            Ok(t) if t.block < a || t.block > b => {
                out.rejected += usize::from(first);
                tracing::warn!(
                    actor = "etherscan",
                    provider = "rpc",
                    host = client.host(),
                    chain = chain.name,
                    token = token.symbol.as_str(),
                    from_block = a,
                    to_block = b,
                    block = t.block,
                    "log outside the requested range ignored"
                );
            }
            Ok(t) => {
                if keep(&t) {
                    out.transfers.push(t);
                }
            }
            Err(reason) => {
                out.rejected += usize::from(first);
                tracing::warn!(actor = "etherscan", provider = "rpc", host = client.host(),
                    chain = chain.name, token = token.symbol.as_str(), from_block = a,
                    to_block = b, reason = %reason, "non-canonical log rejected");
            }
        }
    }
    let mut times: HashMap<u64, u64> = HashMap::new();
    for t in &mut out.transfers {
        if t.timestamp != 0 {
            continue;
        }
        let time = match times.get(&t.block) {
            Some(&time) => time,
            None => {
                let time = client.block_time(t.block).await?;
                times.insert(t.block, time);
                time
            }
        };
        t.timestamp = time;
    }
    Ok(out)
}

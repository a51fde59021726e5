//! Scanning one token's `Transfer` events over a window of blocks, page by
//! page, without ever losing one.
//!
//! The window is blocks `from..=to` (cursor + 1 ..= solidified head), asked
//! for by time: `min_block_timestamp` = a lower bound of block `from`'s time
//! (see `tron::mod` for where it comes from), `max_block_timestamp` = the
//! head's time, `order_by=block_timestamp,asc`, `only_confirmed=true`,
//! `limit=200`; pages follow `meta.fingerprint`. Items outside `from..=to`
//! are ignored (they belong to another window).
//!
//! **The missing fingerprint** (TRON-US/trongrid#23): a page with exactly
//! `limit` items and no fingerprint is truncated, not the last page. The
//! window is narrowed to start at the last item's timestamp (inclusive) and
//! paging starts again without a fingerprint; items seen twice are deduped
//! on (transaction id, event index). A block that alone holds `limit` or
//! more events cannot be paged that way (the narrowed window would give the
//! same page again): the scan stops before that block with
//! [`ScanError::Unpageable`], the cursor stays before it, and the next poll
//! tries again — never a skip.
//!
//! Progress is a prefix: items come in ascending block order, so when a
//! call fails for good (or the page budget is spent) every block below the
//! highest block seen is complete, and the cursor may move to it.

use std::collections::HashSet;
use std::future::Future;

use serde_json::Value;

use super::api::EventPage;
use super::decode::{decode_event, key, position};
use super::error::{ScanError, TronError};
use crate::domain::{Chain, Token, Transfer};

/// Items per page: TronGrid's maximum.
pub const LIMIT: usize = 200;

/// The time window of one query, ms since the Unix epoch, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub min_timestamp: u64,
    pub max_timestamp: u64,
}

/// Where pages of one token's events come from.
pub trait EventSource {
    /// One page of at most [`LIMIT`] events in `window`, ascending; the
    /// first page without `fingerprint`. Retries are the source's business.
    fn page(
        &self,
        window: Window,
        fingerprint: Option<&str>,
    ) -> impl Future<Output = Result<EventPage, TronError>>;
}

/// What scanning one token over one window gave.
#[derive(Debug, Default)]
pub struct TokenScan {
    /// Decoded transfers that `keep` accepted, each once, in complete blocks only.
    pub transfers: Vec<Transfer>,
    /// Every block up to this one is scanned (`None`: none of the window).
    pub scanned_to: Option<u64>,
    /// The next window's `min_block_timestamp`: at most the time of block
    /// `scanned_to + 1`.
    pub next_min_timestamp: u64,
    /// Event calls made (pages, retries not included).
    pub pages: u32,
    /// Distinct event items seen in the window, and of those rejected.
    pub events: usize,
    pub rejected: usize,
    /// Times a full page without a fingerprint narrowed the window.
    pub narrowed: u32,
    /// Why the scan stopped before `to` (the page budget is not an error).
    pub error: Option<ScanError>,
}

/// Scans `token`'s events in blocks `from..=to`, starting at
/// `window.min_timestamp`, with at most `max_pages` calls.
pub async fn scan_token(
    source: &impl EventSource,
    chain: &Chain,
    token: &Token,
    (from, to): (u64, u64),
    window: Window,
    max_pages: u32,
    keep: impl Fn(&Transfer) -> bool,
) -> TokenScan {
    let symbol = token.symbol.as_str();
    let mut out = TokenScan {
        next_min_timestamp: window.min_timestamp,
        ..TokenScan::default()
    };
    let mut seen: HashSet<(String, u64)> = HashSet::new();
    // Found transfers with their block: only complete blocks are kept.
    let mut found: Vec<Transfer> = Vec::new();
    // The highest block seen so far and its timestamp.
    let mut highest: Option<(u64, u64)> = None;
    let mut current = window;
    let mut fingerprint: Option<String> = None;
    let stop_before = |highest: Option<(u64, u64)>, out: &mut TokenScan| {
        // Blocks below the highest seen are complete; it is fetched again.
        if let Some((block, ts)) = highest
            && block > from
        {
            out.scanned_to = Some(block - 1);
            out.next_min_timestamp = ts;
        }
    };
    loop {
        if out.pages >= max_pages {
            stop_before(highest, &mut out);
            break;
        }
        out.pages += 1;
        let page = match source.page(current, fingerprint.as_deref()).await {
            Ok(p) => p,
            Err(source) => {
                out.error = Some(ScanError::Events {
                    token: symbol,
                    from,
                    to,
                    source,
                });
                stop_before(highest, &mut out);
                break;
            }
        };
        let full = page.items.len() >= LIMIT;
        let mut last_ts = None;
        for item in &page.items {
            let pos = position(item);
            if let Some((_, ts)) = pos {
                last_ts = Some(ts);
            }
            if let Some((block, _)) = pos
                && !(from..=to).contains(&block)
            {
                continue;
            }
            if let Some(k) = key(item)
                && !seen.insert(k)
            {
                continue;
            }
            if let Some((block, ts)) = pos
                && highest.is_none_or(|(b, _)| block > b)
            {
                highest = Some((block, ts));
            }
            out.events += 1;
            match decode_event(chain, token, item) {
                Ok(t) if keep(&t) => found.push(t),
                Ok(_) => {}
                Err(e) => {
                    out.rejected += 1;
                    tracing::warn!(actor = "tron", token = symbol, error = %e, item = %clip(item), "event rejected");
                }
            }
        }
        if let Some(f) = page.fingerprint {
            fingerprint = Some(f);
            continue;
        }
        if !full {
            out.scanned_to = Some(to);
            out.next_min_timestamp = window.max_timestamp + 1;
            break;
        }
        // A full page without a fingerprint: truncated (TRON-US/trongrid#23).
        out.narrowed += 1;
        let Some(last_ts) = last_ts else {
            out.error = Some(ScanError::Events {
                token: symbol,
                from,
                to,
                source: TronError::Malformed("a full page of items without timestamps".into()),
            });
            stop_before(highest, &mut out);
            break;
        };
        if last_ts <= current.min_timestamp {
            // The whole page is one timestamp, i.e. one block.
            let block = highest.map_or(from, |(b, _)| b);
            out.error = Some(ScanError::Unpageable {
                token: symbol,
                block,
                limit: LIMIT,
            });
            stop_before(highest, &mut out);
            break;
        }
        tracing::info!(
            actor = "tron",
            token = symbol,
            from_timestamp = last_ts,
            "full page without a fingerprint; narrowing the window"
        );
        current.min_timestamp = last_ts;
        fingerprint = None;
    }
    let complete = out.scanned_to.unwrap_or(0);
    out.transfers = found
        .into_iter()
        .filter(|t| out.scanned_to.is_some() && t.block <= complete)
        .collect();
    out
}

/// An item for a log line, cut short.
fn clip(item: &Value) -> String {
    item.to_string().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::json;

    use super::*;
    use crate::tron::tests_support::tron_usdt;

    /// A chain of events held in memory, paged like TronGrid; with
    /// `drop_fingerprint`, every full page comes without its fingerprint
    /// (TRON-US/trongrid#23).
    struct Events {
        items: Vec<Value>,
        drop_fingerprint: bool,
        calls: Cell<u32>,
    }

    /// `per_block` events in each of blocks 1..=blocks, block n at n × 3 s.
    fn events(blocks: u64, per_block: u64, drop_fingerprint: bool) -> Events {
        let mut items = Vec::new();
        for b in 1..=blocks {
            for i in 0..per_block {
                items.push(json!({"block_number": b, "block_timestamp": b * 3000,
                    "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "event_index": i,
                    "event_name": "Transfer",
                    "result": {"from": "0x1111111111111111111111111111111111111111",
                        "to": "0x2222222222222222222222222222222222222222", "value": "5"},
                    "transaction_id": format!("{b:032x}{i:032x}")}));
            }
        }
        Events {
            items,
            drop_fingerprint,
            calls: Cell::new(0),
        }
    }

    impl EventSource for Events {
        async fn page(&self, w: Window, fingerprint: Option<&str>) -> Result<EventPage, TronError> {
            self.calls.set(self.calls.get() + 1);
            let start: usize = fingerprint.map_or(0, |f| f.parse().unwrap());
            let matching: Vec<&Value> = self
                .items
                .iter()
                .filter(|i| {
                    let ts = i["block_timestamp"].as_u64().unwrap();
                    (w.min_timestamp..=w.max_timestamp).contains(&ts)
                })
                .collect();
            let page: Vec<Value> = matching
                .iter()
                .skip(start)
                .take(LIMIT)
                .map(|v| (*v).clone())
                .collect();
            let more = start + page.len() < matching.len();
            let fingerprint = (more && !(self.drop_fingerprint && page.len() == LIMIT))
                .then(|| (start + page.len()).to_string());
            Ok(EventPage {
                items: page,
                fingerprint,
            })
        }
    }

    async fn run(source: &Events, from: u64, to: u64, max_pages: u32) -> TokenScan {
        let (chain, token) = tron_usdt();
        let window = Window {
            min_timestamp: from * 3000,
            max_timestamp: to * 3000,
        };
        scan_token(
            source,
            &chain,
            &token,
            (from, to),
            window,
            max_pages,
            |_| true,
        )
        .await
    }

    fn distinct(scan: &TokenScan) -> usize {
        let keys: HashSet<_> = scan
            .transfers
            .iter()
            .map(|t| (t.tx_hash.clone(), t.log_index))
            .collect();
        assert_eq!(keys.len(), scan.transfers.len(), "each transfer once");
        keys.len()
    }

    #[actix_rt::test]
    async fn fingerprint_paging_sees_every_event() {
        let source = events(20, 90, false);
        let scan = run(&source, 1, 20, 50).await;
        assert_eq!(distinct(&scan), 1800);
        assert_eq!((scan.scanned_to, scan.error.is_none()), (Some(20), true));
        // 9 full pages; the last one, full and without a fingerprint, reads
        // like the paging bug: one more call over the narrowed window.
        assert_eq!(scan.pages, 10);
    }

    #[actix_rt::test]
    async fn missing_fingerprint_narrows_the_window_and_loses_nothing() {
        let source = events(20, 90, true);
        let scan = run(&source, 1, 20, 50).await;
        assert_eq!(distinct(&scan), 1800);
        assert_eq!(scan.scanned_to, Some(20));
        assert!(scan.narrowed > 0 && scan.error.is_none());
        assert_eq!(scan.events, 1800, "re-fetched items are not counted twice");
    }

    #[actix_rt::test]
    async fn a_block_of_more_than_a_page_without_fingerprint_holds_the_cursor_before_it() {
        let mut source = events(3, 10, true);
        let big = events(1, 250, true).items.into_iter().map(|mut v| {
            v["block_number"] = json!(2);
            v["block_timestamp"] = json!(6000);
            v["transaction_id"] = json!(format!(
                "{:064x}",
                v["event_index"].as_u64().unwrap() + 1000
            ));
            v
        });
        source.items.retain(|v| v["block_number"] != json!(2));
        source.items.extend(big);
        source.items.sort_by_key(|v| v["block_timestamp"].as_u64());
        let scan = run(&source, 1, 3, 50).await;
        assert!(
            matches!(scan.error, Some(ScanError::Unpageable { block: 2, .. })),
            "{:?}",
            scan.error
        );
        assert_eq!(scan.scanned_to, Some(1));
        assert!(scan.transfers.iter().all(|t| t.block == 1));
        assert_eq!(scan.next_min_timestamp, 6000, "block 2 is asked for again");
    }

    #[actix_rt::test]
    async fn a_spent_page_budget_moves_the_cursor_to_the_last_complete_block() {
        let source = events(20, 90, false);
        let scan = run(&source, 1, 20, 2).await;
        // 400 items: blocks 1..=4 whole, block 5 partly.
        assert_eq!(scan.scanned_to, Some(4));
        assert_eq!(distinct(&scan), 360);
        assert_eq!(scan.next_min_timestamp, 15_000);
    }
}

//! Scanning one token of one chain over a block range: pagination, range
//! splitting, decoding, matching.
//!
//! Etherscan's `getLogs` returns at most `offset` (≤ 1000) items per page
//! and lets a client page only while `page × offset ≤ 10 000`; a range with
//! too many logs answers "Query Timeout". So a range is walked page by page
//! until a short page; when the 10-page window is full, scanning continues
//! from the last block seen (its logs are fetched again in full, so nothing
//! of a partly returned block is lost); on "Query Timeout" the range is
//! halved. Sub-ranges are finished in ascending order, so "everything up to
//! block N is scanned" is always a prefix of the range: when a call fails
//! for good, the cursor can still move to the end of the last finished
//! sub-range, and never past a block whose logs were not all seen.
//!
//! The source of pages is a trait so that this logic is unit-tested without
//! HTTP; in the daemon it is the [`EtherscanClient`](super::client::EtherscanClient).

use std::future::Future;

use serde_json::Value;

use super::api::parse_hex_u64;
use super::decode::decode_item;
use super::error::{Action, ApiError, Disposition, ScanError};
use crate::domain::{Chain, Token, Transfer};

/// Items per page: Etherscan's maximum.
pub const OFFSET: u32 = 1000;
/// Etherscan refuses `page × offset` above this.
pub const RESULT_WINDOW: u32 = 10_000;

/// Where pages of Transfer logs of one token come from.
pub trait LogSource {
    /// One page of `offset` items of logs in `from..=to` (empty for none).
    /// Retries are the source's business; an error returned here is final
    /// for this call (or asks for a split).
    fn page(
        &self,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    ) -> impl Future<Output = Result<Vec<Value>, ApiError>>;
}

/// What scanning one token over one range gave.
#[derive(Debug, Default)]
pub struct TokenScan {
    /// Decoded transfers that `keep` accepted, in finished sub-ranges only.
    pub transfers: Vec<Transfer>,
    /// Every block up to this one is scanned (`None`: not even the first
    /// sub-range finished).
    pub scanned_to: Option<u64>,
    /// getLogs calls made (pages, including ones that failed).
    pub pages: u32,
    /// Log items seen in finished sub-ranges, and of those rejected as malformed.
    pub logs: usize,
    pub rejected: usize,
    /// Why the scan stopped before `to`.
    pub error: Option<ScanError>,
}

/// Which pass over a block range a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The first scan of these blocks: rejected logs are counted.
    First,
    /// The deep pass, scanning blocks once more after the first pass (for an
    /// index that trails its head): every log here was seen, and counted if
    /// rejected, by the first pass, so nothing is counted again.
    Again,
}

/// The blocks a scan covers, and which pass it is.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// First block scanned.
    pub from: u64,
    /// Last block scanned, inclusive.
    pub to: u64,
    pub pass: Pass,
}

impl Range {
    /// The first scan of `from..=to`.
    pub fn new(from: u64, to: u64) -> Self {
        Range {
            from,
            to,
            pass: Pass::First,
        }
    }

    /// The deep pass over `from..=to`, scanned once already.
    pub fn again(from: u64, to: u64) -> Self {
        Range {
            from,
            to,
            pass: Pass::Again,
        }
    }
}

/// Scans `range` for Transfer logs of `token`, keeping the decoded
/// transfers for which `keep` is true.
pub async fn scan_token<S: LogSource>(
    source: &S,
    chain: &Chain,
    token: &Token,
    range: Range,
    keep: impl Fn(&Transfer) -> bool,
) -> TokenScan {
    let Range { from, to, pass } = range;
    let place = Place { chain, token, pass };
    let mut out = TokenScan::default();
    if from > to {
        return out;
    }
    // Pending sub-ranges, the lowest on top.
    let mut pending = vec![(from, to)];
    'ranges: while let Some((a, b)) = pending.pop() {
        let mut items: Vec<Value> = Vec::new();
        let mut page = 1u32;
        loop {
            out.pages += 1;
            let result = source.page(a, b, page, OFFSET).await;
            let error = match result {
                Ok(batch) => {
                    let full = batch.len() >= OFFSET as usize;
                    items.extend(batch);
                    if !full {
                        commit(&mut out, &place, a, b, items, &keep);
                        continue 'ranges;
                    }
                    if (page + 1) * OFFSET <= RESULT_WINDOW {
                        page += 1;
                        continue;
                    }
                    // The result window is exhausted.
                    match last_block_if_ordered(&items) {
                        Some(last) if last > a && last <= b => {
                            tracing::debug!(
                                actor = "etherscan",
                                chain = chain.name,
                                token = token.symbol.as_str(),
                                from_block = a,
                                to_block = b,
                                continue_at = last,
                                "result window full; continuing from the last block seen"
                            );
                            items.retain(|i| block_of(i).is_some_and(|n| n < last));
                            commit(&mut out, &place, a, last - 1, items, &keep);
                            pending.push((last, b));
                            continue 'ranges;
                        }
                        _ => ApiError::WindowTooLarge,
                    }
                }
                Err(e) => e,
            };
            if error.disposition() == Disposition::Split {
                if a < b {
                    let mid = a + (b - a) / 2;
                    tracing::debug!(
                        actor = "etherscan", chain = chain.name, token = token.symbol.as_str(),
                        from_block = a, to_block = b, reason = %error,
                        "splitting the block range"
                    );
                    pending.push((mid + 1, b));
                    pending.push((a, mid));
                    continue 'ranges;
                }
                out.error = Some(ScanError::Unsplittable {
                    chain: chain.name,
                    token: token.symbol.as_str(),
                    block: a,
                    reason: error,
                });
            } else {
                out.error = Some(ScanError::Logs {
                    chain: chain.name,
                    token: token.symbol.as_str(),
                    action: Action::GetLogs,
                    from: a,
                    to: b,
                    source: error,
                });
            }
            return out;
        }
    }
    out
}

/// The block number of a raw item, if it has a readable one.
fn block_of(item: &Value) -> Option<u64> {
    item.get("blockNumber")
        .and_then(Value::as_str)
        .and_then(parse_hex_u64)
}

/// The last block of `items` when every item has a block number and they
/// come in ascending block order (as Etherscan sends them); otherwise
/// `None`, and the caller halves the range instead of trusting the order.
fn last_block_if_ordered(items: &[Value]) -> Option<u64> {
    let mut last = None;
    for item in items {
        let b = block_of(item)?;
        if last.is_some_and(|l| b < l) {
            return None;
        }
        last = Some(b);
    }
    last
}

/// What [`commit`] needs to know besides the items.
struct Place<'a> {
    chain: &'a Chain,
    token: &'a Token,
    pass: Pass,
}

/// Finishes sub-range `a..=b`: decodes its items, keeps the matches and
/// moves `scanned_to` to `b`. Rejections are counted and logged in the
/// first pass; in the deep pass they were already.
fn commit(
    out: &mut TokenScan,
    place: &Place<'_>,
    a: u64,
    b: u64,
    items: Vec<Value>,
    keep: &impl Fn(&Transfer) -> bool,
) {
    let (chain, token) = (place.chain, place.token);
    out.logs += items.len();
    let first = place.pass == Pass::First;
    for item in items {
        match decode_item(chain, token, item) {
            Ok(t) if t.block < a || t.block > b => {
                out.rejected += usize::from(first);
                tracing::warn!(
                    actor = "etherscan",
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
            Err(e) if first => {
                out.rejected += 1;
                tracing::warn!(
                    actor = "etherscan", chain = chain.name, token = token.symbol.as_str(),
                    from_block = a, to_block = b, reason = %e,
                    "non-canonical log rejected"
                );
            }
            Err(e) => tracing::debug!(
                actor = "etherscan", chain = chain.name, token = token.symbol.as_str(),
                reason = %e, "non-canonical log rejected again (deep pass)"
            ),
        }
    }
    out.scanned_to = Some(b);
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::*;
    use crate::domain::TokenSymbol;
    use crate::domain::chain::TRANSFER_TOPIC;

    /// An in-memory chain: `logs[i]` = block of log i (ascending), with
    /// optional "Query Timeout" above a range width and scripted failures.
    struct Fake {
        blocks: Vec<u64>,
        timeout_above: Option<u64>,
        fail_when_from: Option<(u64, ApiError)>,
        calls: RefCell<Vec<(u64, u64, u32)>>,
        shuffle: bool,
    }

    impl Fake {
        fn new(blocks: Vec<u64>) -> Self {
            Fake {
                blocks,
                timeout_above: None,
                fail_when_from: None,
                calls: RefCell::new(Vec::new()),
                shuffle: false,
            }
        }
    }

    fn log(block: u64, index: u64) -> Value {
        json!({
            "address": "0xdac17f958d2ee523a2206206994597c13d831ec7",
            "topics": [
                TRANSFER_TOPIC,
                "0x0000000000000000000000001111111111111111111111111111111111111111",
                format!("0x{:064x}", 0x2222_0000 + index),
            ],
            "data": format!("0x{:064x}", index + 1),
            "blockNumber": format!("0x{block:x}"),
            "timeStamp": "0x1",
            "logIndex": format!("0x{index:x}"),
            "transactionHash": format!("0x{:064x}", block * 100_000 + index),
        })
    }

    impl LogSource for Fake {
        async fn page(
            &self,
            from: u64,
            to: u64,
            page: u32,
            offset: u32,
        ) -> Result<Vec<Value>, ApiError> {
            self.calls.borrow_mut().push((from, to, page));
            if let Some((f, e)) = &self.fail_when_from
                && from >= *f
            {
                return Err(e.clone());
            }
            if self.timeout_above.is_some_and(|w| to - from + 1 > w) {
                return Err(ApiError::QueryTimeout);
            }
            if page * offset > RESULT_WINDOW {
                return Err(ApiError::WindowTooLarge);
            }
            let mut matching: Vec<Value> = self
                .blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| (from..=to).contains(*b))
                .map(|(i, b)| log(*b, i as u64))
                .collect();
            let start = ((page - 1) * offset) as usize;
            let mut out: Vec<Value> = matching
                .drain(start.min(matching.len())..)
                .take(offset as usize)
                .collect();
            if self.shuffle {
                out.reverse();
            }
            Ok(out)
        }
    }

    fn eth() -> (Chain, Token) {
        let chain = Chain::by_name("ethereum").unwrap();
        let token = chain.token(TokenSymbol::Usdt).unwrap().clone();
        (chain, token)
    }

    fn run(fake: &Fake, from: u64, to: u64) -> TokenScan {
        let (chain, token) = eth();
        futures_util::FutureExt::now_or_never(scan_token(
            fake,
            &chain,
            &token,
            Range::new(from, to),
            |_| true,
        ))
        .expect("the fake never waits")
    }

    fn assert_all_once(scan: &TokenScan, fake: &Fake, from: u64, to: u64) {
        let want: Vec<u64> = (0..fake.blocks.len() as u64)
            .filter(|i| (from..=to).contains(&fake.blocks[*i as usize]))
            .collect();
        let mut got: Vec<u64> = scan.transfers.iter().map(|t| t.log_index).collect();
        got.sort();
        assert_eq!(got, want, "every log exactly once");
    }

    #[test]
    fn a_short_first_page_is_one_call() {
        let fake = Fake::new(vec![10, 10, 11, 15]);
        let scan = run(&fake, 10, 20);
        assert_eq!(scan.pages, 1);
        assert_eq!(scan.scanned_to, Some(20));
        assert_all_once(&scan, &fake, 10, 20);
    }

    #[test]
    fn pages_until_a_short_page() {
        // 2500 logs over 50 blocks: pages 1, 2, 3 (short).
        let blocks: Vec<u64> = (0..2500).map(|i| 100 + i / 50).collect();
        let fake = Fake::new(blocks);
        let scan = run(&fake, 100, 149);
        assert_eq!(
            *fake.calls.borrow(),
            vec![(100, 149, 1), (100, 149, 2), (100, 149, 3)]
        );
        assert_all_once(&scan, &fake, 100, 149);
        assert_eq!(scan.scanned_to, Some(149));
    }

    #[test]
    fn exactly_a_full_page_needs_an_empty_second_page() {
        let fake = Fake::new((0..1000).map(|i| 5 + i / 100).collect());
        let scan = run(&fake, 5, 14);
        assert_eq!(scan.pages, 2);
        assert_all_once(&scan, &fake, 5, 14);
    }

    #[test]
    fn a_full_result_window_continues_from_the_last_block() {
        // 12 345 logs, 300 per block: the 10-page window ends inside a block.
        let blocks: Vec<u64> = (0..12_345).map(|i| 1000 + i / 300).collect();
        let last = *blocks.last().unwrap();
        let fake = Fake::new(blocks);
        let scan = run(&fake, 1000, last + 5);
        assert!(
            fake.calls
                .borrow()
                .iter()
                .all(|(_, _, p)| p * OFFSET <= RESULT_WINDOW)
        );
        assert_all_once(&scan, &fake, 1000, last + 5);
        assert_eq!(scan.scanned_to, Some(last + 5));
        assert!(scan.pages <= 15, "{} pages", scan.pages);
    }

    #[test]
    fn out_of_order_pages_fall_back_to_halving() {
        let blocks: Vec<u64> = (0..10_500).map(|i| 1 + i / 100).collect();
        let mut fake = Fake::new(blocks);
        fake.shuffle = true;
        let scan = run(&fake, 1, 200);
        assert!(scan.error.is_none(), "{:?}", scan.error);
        assert_all_once(&scan, &fake, 1, 200);
    }

    #[test]
    fn query_timeout_splits_the_range() {
        let blocks: Vec<u64> = (0..400).map(|i| 1 + i / 4).collect();
        let mut fake = Fake::new(blocks);
        fake.timeout_above = Some(30);
        let scan = run(&fake, 1, 100);
        assert!(scan.error.is_none());
        assert_all_once(&scan, &fake, 1, 100);
        assert_eq!(scan.scanned_to, Some(100));
        let calls = fake.calls.borrow();
        let served: Vec<_> = calls.iter().filter(|(f, t, _)| t - f < 30).collect();
        // Ascending, contiguous, covering the range.
        let mut next = 1;
        for (f, t, _) in served {
            assert_eq!(*f, next);
            next = t + 1;
        }
        assert_eq!(next, 101);
    }

    #[test]
    fn a_single_block_that_times_out_is_an_error_not_a_loop() {
        let mut fake = Fake::new(vec![7]);
        fake.timeout_above = Some(0);
        let scan = run(&fake, 5, 8);
        assert!(matches!(
            scan.error,
            Some(ScanError::Unsplittable { block: 5, .. })
        ));
        assert_eq!(scan.scanned_to, None);
        assert!(scan.transfers.is_empty());
    }

    #[test]
    fn a_failure_keeps_the_finished_prefix_only() {
        let blocks: Vec<u64> = (0..200).map(|i| 1 + i / 2).collect();
        let mut fake = Fake::new(blocks);
        fake.timeout_above = Some(25);
        fake.fail_when_from = Some((51, ApiError::Http(500)));
        let scan = run(&fake, 1, 100);
        assert!(matches!(
            scan.error,
            Some(ScanError::Logs {
                from: 51,
                source: ApiError::Http(500),
                ..
            })
        ));
        let done = scan.scanned_to.unwrap();
        assert!(done < 51);
        assert!(scan.transfers.iter().all(|t| t.block <= done));
        assert_all_once(&scan, &fake, 1, done);
    }

    #[test]
    fn keep_filters_and_bad_items_are_counted() {
        let (chain, token) = eth();
        struct Odd;
        impl LogSource for Odd {
            async fn page(&self, _: u64, _: u64, _: u32, _: u32) -> Result<Vec<Value>, ApiError> {
                let mut erc721 = log(3, 1);
                erc721["topics"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!(format!("0x{:064x}", 9)));
                let mut outside = log(99, 2);
                outside["blockNumber"] = json!("0x63");
                Ok(vec![
                    log(3, 0),
                    erc721,
                    outside,
                    json!({"junk": true}),
                    log(4, 3),
                ])
            }
        }
        let scan = futures_util::FutureExt::now_or_never(scan_token(
            &Odd,
            &chain,
            &token,
            Range::new(1, 10),
            |t| t.log_index != 3,
        ))
        .unwrap();
        assert_eq!(scan.logs, 5);
        assert_eq!(scan.rejected, 3);
        assert_eq!(scan.transfers.len(), 1);
        assert_eq!(scan.scanned_to, Some(10));
    }
}

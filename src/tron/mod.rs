//! The Tron scanner: watches TRC-20 USDT on Tron through TronGrid and
//! records the transfers that touch a watched address.
//!
//! A permanent child `tron` of the root supervisor, on its own Arbiter, that
//! exists only when `monitor.chains` includes `tron`. Each [`Poll`] (from the
//! ticker, independently of the Etherscan scanner):
//!
//! 1. no call at all while TronGrid is paused (rate-limit suspension,
//!    rejected key: [`pause`]), until the probe time;
//! 2. the **solidified** head (`POST /walletsolidity/getblock`, header only):
//!    solid blocks are final (70 % of producers built on them), so no
//!    confirmation count is needed; an unusable head is unknown, never 0,
//!    and a head below the cursor moves nothing;
//! 3. the watched set, re-read after the head (issue 9);
//! 4. per token: the confirmed `Transfer` events of the token contract
//!    (`/v1/contracts/{T…}/events`, `only_confirmed=true`, ascending, 200 per
//!    page, fingerprint paging, narrowed on the missing-fingerprint bug:
//!    [`scan`]) in blocks cursor + 1 ..= solid head, decoded strictly
//!    ([`decode`]) and matched against the watched set — one global scan,
//!    so calls do not depend on the number of watched addresses;
//! 5. ONE `RecordPollResult` with the matches and the new cursor
//!    (`scanner::record`).
//!
//! **Cursor.** One per (chain, token) in the cursors table, like EVM
//! chains: a block number, the last block whose events were all seen and
//! recorded. TronGrid windows are asked by time, so the scanner keeps, in
//! memory, the `min_block_timestamp` of the next window: the solid head's
//! time + 1 ms after a complete scan (the next block is at least 3 s
//! later), or the time of the block the scan stopped before (that block is
//! fetched again, whole). After a start it is the stored cursor block's own
//! time (+ 1 ms), read once with `getblock` by number: exact, whatever slots
//! were missed. Items outside cursor + 1 ..= head are ignored, so the window
//! bounds never decide what is recorded. The first sight of a token starts
//! at the solid head (no backfill).
//!
//! **Dedupe.** Transaction hash `0x` + txid (lowercase) and log index =
//! `event_index`: the transfers table's UNIQUE (chain, tx hash, log index)
//! makes a second sight (a narrowed window, a restart) harmless.
//!
//! **An index that trails its head** (issue 9's rule, on Tron too).
//! TronGrid's events index can trail its own solidified head: a block's
//! events may become visible only after the cursor passed it. So each token
//! has a second, trailing cursor (the *deep pass*, as on Etherscan) that
//! scans every block exactly once more when it is `rescan_depth` blocks
//! behind the solid head (`monitor.rescan_depth.tron`, 60 blocks = 3 min by
//! default; 0 turns it off): blocks deep cursor + 1 ..= solid head −
//! `rescan_depth`, never past the first pass, with the same window scan and
//! page budget. It costs one `getblock` (the window's end time) and at
//! least one events page per poll, and reads each event twice in all; the
//! transfers UNIQUE makes the second sight harmless, and rejected events
//! are counted by the first pass only. The deep cursor lives in memory:
//! after a start it is the stored cursor − `rescan_depth`, and it never goes
//! below a cursor this scanner created (no history from before the daemon
//! watched). It moves only once its finds are recorded.
//!
//! **Bounded polls.** At most [`MAX_PAGES_PER_POLL`] event pages per token and
//! poll (10 000 events, ~110 blocks at today's ~90 per block); a longer gap
//! after downtime is caught up over several polls, the cursor moving to the
//! last complete block each time.

pub mod api;
pub mod client;
pub mod decode;
pub mod error;
pub mod pause;
#[cfg(test)]
mod proptests;
pub mod scan;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use actix::{Actor, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::app::Shared;
use crate::db::cursors::{Cursors, GetCursors};
use crate::domain::{Address, Chain, ChainKind, Token};
use crate::scanner::pause::skip_poll;
use crate::scanner::record::record;
use crate::scanner::retry::RetryPolicy;
use crate::scanner::watched::Watched;
use crate::scanner::{self, cursor};
use crate::supervisor::{ChildGuard, Control, obey};

pub use client::TronClient;
pub use error::{ScanError, TronError};

/// The chain name that turns the Tron scanner on in `monitor.chains`.
pub const CHAIN: &str = "tron";

/// Event pages per token and poll, at most.
pub const MAX_PAGES_PER_POLL: u32 = 50;

/// TronGrid's suspension after a rate-limit answer: the least wait.
pub const SUSPENSION: Duration = Duration::from_secs(30);

/// Scan the Tron chain up to the solidified head.
///
/// `Err` only when the poll could not start (the watched addresses or the
/// cursors could not be read); other failures are in the summary.
#[derive(Debug, Message)]
#[rtype(result = "Result<PollSummary, ScanError>")]
pub struct Poll;

/// What one poll did.
pub type PollSummary = scanner::PollSummary<ScanError>;

/// What one poll did on the Tron chain.
pub type ChainSummary = scanner::ChainSummary<ScanError>;

/// How the actor retries and waits (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct TronOptions {
    pub retry: RetryPolicy,
    /// The least wait after a rate-limit answer.
    pub suspension: Duration,
}

impl Default for TronOptions {
    fn default() -> Self {
        TronOptions {
            retry: RetryPolicy::default(),
            suspension: SUSPENSION,
        }
    }
}

/// Is `chain` the Tron chain (scanned by this actor, not by Etherscan)?
pub fn is_tron(chain: &Chain) -> bool {
    chain.kind == ChainKind::Tron
}

/// The Tron scanner actor.
pub struct TronActor {
    scanner: Rc<Scanner>,
    _guard: ChildGuard,
}

impl TronActor {
    /// Builds the actor and its HTTP client, on the actor's own Arbiter.
    pub fn new(shared: Shared, guard: ChildGuard) -> Self {
        Self::with_options(shared, guard, TronOptions::default())
    }

    /// As [`new`](Self::new), with other retry waits.
    pub fn with_options(shared: Shared, guard: ChildGuard, options: TronOptions) -> Self {
        let client = TronClient::new(
            &shared.config.tron,
            shared.secrets.tron_key.clone(),
            shared.metrics.clone(),
            options.retry,
            options.suspension,
        );
        let chain = shared.config.chains().into_iter().find(is_tron);
        TronActor {
            scanner: Rc::new(Scanner {
                chain,
                client,
                shared,
                watched: Watched::default(),
                next_min: RefCell::new(HashMap::new()),
                deep: RefCell::new(HashMap::new()),
            }),
            _guard: guard,
        }
    }
}

impl Actor for TronActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        let keyed = self.scanner.shared.secrets.tron_key.is_some();
        if keyed {
            tracing::info!(
                actor = "tron",
                "scanner ready; TronGrid key set (sent as a header)"
            );
        } else {
            tracing::warn!(
                actor = "tron",
                "scanner ready without TRONGRID_API_KEY: keyless TronGrid allows fewer requests; set the key for its full rate"
            );
        }
        for t in self.scanner.chain.iter().flat_map(|c| c.tokens.iter()) {
            tracing::info!(actor = "tron", token = t.symbol.as_str(), contract = %t.contract.to_tron(),
                decimals = t.decimals, "active contract");
        }
    }
}

impl Handler<Poll> for TronActor {
    type Result = AtomicResponse<Self, Result<PollSummary, ScanError>>;

    fn handle(&mut self, _: Poll, _: &mut Context<Self>) -> Self::Result {
        let scanner = self.scanner.clone();
        AtomicResponse::new(Box::pin(
            async move { scanner.poll().await }.into_actor(self),
        ))
    }
}

impl Handler<Control> for TronActor {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        obey(msg, ctx)
    }
}

/// The scanner's state, shared with the poll future.
struct Scanner {
    shared: Shared,
    /// The Tron chain with its tokens (`None`: not configured; polls do nothing).
    chain: Option<Chain>,
    client: TronClient,
    watched: Watched,
    /// Per token contract: (cursor block, `min_block_timestamp` of the next
    /// window). Valid only while the stored cursor is that block.
    next_min: RefCell<HashMap<Address, (u64, u64)>>,
    /// Per token contract: the deep pass's cursor (every block up to it was
    /// scanned a second time, or lies below a cursor this scanner created)
    /// and the `min_block_timestamp` of the blocks after it.
    deep: RefCell<HashMap<Address, (u64, u64)>>,
}

/// Adapts the client to [`scan::EventSource`] for one token.
struct TokenEvents<'a> {
    client: &'a TronClient,
    contract: String,
}

impl scan::EventSource for TokenEvents<'_> {
    async fn page(
        &self,
        window: scan::Window,
        fingerprint: Option<&str>,
    ) -> Result<api::EventPage, TronError> {
        self.client
            .events(&self.contract, window, fingerprint)
            .await
    }
}

impl Scanner {
    async fn poll(&self) -> Result<PollSummary, ScanError> {
        let Some(chain) = &self.chain else {
            return Ok(PollSummary::default());
        };
        if let Some(line) = skip_poll(&self.shared.metrics, pause::PROVIDER, "tron") {
            return Ok(PollSummary {
                paused: Some(line),
                ..PollSummary::default()
            });
        }
        self.refresh_watched().await?;
        let cursors = self
            .shared
            .db
            .exec(GetCursors)
            .await
            .map_err(|source| ScanError::Load {
                what: "the scan cursors",
                source,
            })?;
        let calls_before = self.client.calls_sent();
        let mut out = ChainSummary {
            chain: chain.name,
            ..ChainSummary::default()
        };
        self.scan_chain(chain, &cursors, &mut out).await;
        out.calls = self.client.calls_sent() - calls_before;
        scanner::summary::report(&self.shared.metrics, "tron", chain, &out);
        Ok(PollSummary {
            chains: vec![out],
            paused: None,
        })
    }

    async fn refresh_watched(&self) -> Result<(), ScanError> {
        (self.watched)
            .refresh(&self.shared.db, "tron")
            .await
            .map_err(|source| ScanError::Load {
                what: "the watched addresses",
                source,
            })
    }

    /// The `min_block_timestamp` for blocks after `cursor`.
    async fn min_timestamp(&self, token: &Token, cursor: u64) -> Result<u64, ScanError> {
        let known = self.next_min.borrow().get(&token.contract).copied();
        self.time_after(known, cursor).await
    }

    /// The `min_block_timestamp` for blocks after `cursor`: `known`'s when
    /// it is about that block, else block `cursor`'s own time + 1 ms.
    async fn time_after(&self, known: Option<(u64, u64)>, cursor: u64) -> Result<u64, ScanError> {
        if let Some((block, ts)) = known
            && block == cursor
        {
            return Ok(ts);
        }
        let header = (self.client.block(cursor).await).map_err(|source| ScanError::BlockTime {
            block: cursor,
            source,
        })?;
        Ok(header.timestamp_ms + 1)
    }

    /// The deep pass of one token: blocks the index may not have served when
    /// the first pass read them, once more, `rescan_depth` blocks behind the
    /// solid head and never past the first pass (`now_at`). `None` when the
    /// deep pass is off or has nothing to scan yet; `cursor` (the stored
    /// cursor) gives the deep cursor's start after a restart.
    async fn deep_pass(
        &self,
        source: &TokenEvents<'_>,
        (chain, token): (&Chain, &Token),
        cursor: u64,
        now_at: u64,
        head: u64,
    ) -> Option<Result<(u64, scan::TokenScan), ScanError>> {
        let depth = chain.rescan_depth;
        if depth == 0 {
            return None;
        }
        let known = self.deep.borrow().get(&token.contract).copied();
        let deep = known.map_or(cursor.saturating_sub(depth), |(b, _)| b);
        let to = head.saturating_sub(depth).min(now_at);
        if to <= deep {
            return None;
        }
        let min = match self.time_after(known, deep).await {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        let max = match self.client.block(to).await {
            Ok(h) => h.timestamp_ms,
            Err(source) => return Some(Err(ScanError::BlockTime { block: to, source })),
        };
        let window = scan::Window {
            min_timestamp: min,
            max_timestamp: max,
        };
        let scan = scan::scan_token(
            source,
            chain,
            token,
            (deep + 1, to),
            window,
            MAX_PAGES_PER_POLL,
            |t| self.watched.keeps(t),
        )
        .await;
        Some(Ok((deep, scan)))
    }

    async fn scan_chain(&self, chain: &Chain, stored: &Cursors, out: &mut ChainSummary) {
        let head = match self.client.solid_head().await {
            Ok(h) => h,
            Err(e) => {
                out.errors.push(ScanError::Head(e));
                out.cursors = cursor::stored_cursors(chain, stored);
                return;
            }
        };
        // The watched set at least as new as the head (issue 9).
        if let Err(e) = self.refresh_watched().await {
            out.errors.push(e);
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        if let Some(c) = cursor::highest(chain, stored).filter(|&c| head.number < c) {
            tracing::warn!(
                actor = "tron",
                head = head.number,
                cursor = c,
                "head behind the cursor; nothing moves"
            );
            out.errors.push(ScanError::HeadBehind {
                head: head.number,
                cursor: c,
            });
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        out.head = Some(head.number);
        out.safe_head = Some(head.number);

        let mut transfers = Vec::new();
        let mut advanced: Vec<(Address, u64)> = Vec::new();
        let mut next_min: Vec<(Address, (u64, u64))> = Vec::new();
        let mut deep_moves: Vec<(Address, (u64, u64))> = Vec::new();
        for token in &chain.tokens {
            let Some(cursor) = cursor::cursor_of(chain, stored, &token.contract) else {
                tracing::info!(
                    actor = "tron",
                    token = token.symbol.as_str(),
                    block = head.number,
                    "new cursor at the solidified head (no backfill)"
                );
                advanced.push((token.contract.clone(), head.number));
                out.cursors.push((token.contract.clone(), head.number));
                let after_head = (head.number, head.timestamp_ms + 1);
                next_min.push((token.contract.clone(), after_head));
                deep_moves.push((token.contract.clone(), after_head));
                continue;
            };
            let source = TokenEvents {
                client: &self.client,
                contract: token.contract.to_tron(),
            };
            let mut now_at = cursor;
            if cursor < head.number {
                let min = match self.min_timestamp(token, cursor).await {
                    Ok(m) => m,
                    Err(e) => {
                        out.cursors.push((token.contract.clone(), cursor));
                        out.errors.push(e);
                        continue;
                    }
                };
                let window = scan::Window {
                    min_timestamp: min,
                    max_timestamp: head.timestamp_ms,
                };
                let scan = scan::scan_token(
                    &source,
                    chain,
                    token,
                    (cursor + 1, head.number),
                    window,
                    MAX_PAGES_PER_POLL,
                    |t| self.watched.keeps(t),
                )
                .await;
                out.logs += scan.events;
                out.rejected += scan.rejected;
                decode::alert_if_undecodable(
                    &self.shared.metrics,
                    token,
                    scan.events,
                    scan.rejected,
                );
                crate::metrics::Counters::add(
                    &self.shared.metrics.counters.logs_rejected,
                    scan.rejected as u64,
                );
                out.matched += scan.transfers.len();
                transfers.extend(scan.transfers);
                now_at = scan.scanned_to.map_or(cursor, |s| s.max(cursor));
                if now_at > cursor {
                    advanced.push((token.contract.clone(), now_at));
                    next_min.push((token.contract.clone(), (now_at, scan.next_min_timestamp)));
                }
                if let Some(e) = scan.error {
                    tracing::warn!(actor = "tron", token = token.symbol.as_str(), cursor = now_at, error = %e,
                        "token scan incomplete; the cursor stays before the gap");
                    out.errors.push(e);
                }
            }
            out.cursors.push((token.contract.clone(), now_at));

            // Rejected events were counted by the first pass.
            match self
                .deep_pass(&source, (chain, token), cursor, now_at, head.number)
                .await
            {
                None => {}
                Some(Err(e)) => out.errors.push(e),
                Some(Ok((deep, scan))) => {
                    out.deep_logs += scan.events;
                    out.matched += scan.transfers.len();
                    transfers.extend(scan.transfers);
                    if let Some(done) = scan.scanned_to {
                        deep_moves.push((token.contract.clone(), (done, scan.next_min_timestamp)));
                    }
                    if let Some(e) = scan.error {
                        tracing::warn!(actor = "tron", token = token.symbol.as_str(),
                            deep_cursor = scan.scanned_to.unwrap_or(deep), error = %e,
                            "deep pass incomplete; it resumes there next poll");
                        out.errors.push(e);
                    }
                }
            }
        }
        if !transfers.is_empty() || !advanced.is_empty() {
            match record(&self.shared, chain.id, chain.name, transfers, advanced).await {
                Ok(recorded) => {
                    out.new_transfers = recorded.new_transfers;
                    out.notifications = recorded.notifications;
                }
                Err(source) => {
                    // Nothing moved, the deep cursor neither.
                    out.cursors = cursor::stored_cursors(chain, stored);
                    out.errors.push(ScanError::Record(source));
                    return;
                }
            }
        }
        // Only once their finds are recorded do the in-memory cursors move.
        self.next_min.borrow_mut().extend(next_min);
        self.deep.borrow_mut().extend(deep_moves);
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::domain::{Chain, Token, TokenSymbol};

    /// The Tron chain with USDT, as the registry has it.
    pub fn tron_usdt() -> (Chain, Token) {
        let chain = Chain::by_name(super::CHAIN).expect("registered");
        let token = chain.token(TokenSymbol::Usdt).expect("registered").clone();
        (chain, token)
    }
}

//! The Tron scanner: watches TRC-20 USDT on Tron through TronGrid and
//! records the transfers that touch a watched address.
//!
//! A permanent child `tron` of the root supervisor, on its own Arbiter, that
//! exists only when `monitor.chains` includes `tron`. Each [`Poll`] (from the
//! ticker, independently of the Etherscan scanner) is the poll of
//! [`scanner::poll`](crate::scanner::poll), written once for every
//! provider (pause gate, watched set re-read after the head, first and deep
//! pass, one record, the per-token failure rule). This module is TronGrid's
//! side of it:
//!
//! - no call at all while TronGrid is paused (rate-limit suspension,
//!   rejected key: [`pause`]), until the probe time;
//! - the head is the **solidified** head (`POST /walletsolidity/getblock`,
//!   header only): solid blocks are final (70 % of producers built on them),
//!   so it is the safe head too; an unusable head is unknown, never 0;
//! - a token's range is its confirmed `Transfer` events
//!   (`/v1/contracts/{T…}/events`, `only_confirmed=true`, ascending, 200 per
//!   page, fingerprint paging, narrowed on the missing-fingerprint bug:
//!   [`scan`]), decoded strictly ([`decode`]) — one global scan, so calls do
//!   not depend on the number of watched addresses. No per-address mode.
//!
//! **Time windows.** TronGrid windows are asked by time, so a range of
//! blocks `from..=to` becomes `min_block_timestamp` = a lower bound of the
//! time of block `from` and `max_block_timestamp` = block `to`'s time (the
//! head's when `to` is the head). The scanner remembers the lower bounds it
//! learns (the solid head's time + 1 ms; the time of the block a scan
//! stopped before, fetched again whole): facts of the chain, so a window
//! that starts after a remembered block costs no call; otherwise it is block
//! `from` − 1's own time + 1 ms, read with `getblock` by number (exact,
//! whatever slots were missed). Items outside `from..=to` are ignored, so
//! the window bounds never decide what is recorded.
//!
//! **Dedupe.** Transaction hash `0x` + txid (lowercase) and log index =
//! `event_index`: the transfers table's UNIQUE (chain, tx hash, log index)
//! makes a second sight (a narrowed window, a restart) harmless.
//!
//! **An index that trails its head** (issue 9's rule, on Tron too).
//! TronGrid's events index can trail its own solidified head; the frame's
//! deep pass reads every block once more `rescan_depth` blocks behind the
//! solid head (`monitor.rescan_depth.tron`, 60 blocks = 3 min by default; 0
//! turns it off). On Tron it costs one `getblock` (the window's end time)
//! and at least one events page per poll.
//!
//! **Bounded polls.** At most [`MAX_PAGES_PER_POLL`] event pages per token and
//! poll (10 000 events, ~110 blocks at today's ~90 per block); a longer gap
//! after downtime is caught up over several polls, the cursor moving to the
//! last complete block each time.

pub mod api;
pub mod client;
pub mod decode;
pub mod deps;
pub mod error;
pub mod pause;
#[cfg(test)]
mod proptests;
pub mod scan;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::{Actor, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::db::DbError;
use crate::db::cursors::Cursors;
use crate::domain::{Address, Chain, ChainKind, Token, Transfer};
use crate::scanner;
use crate::scanner::kind::{Classify, Kind};
use crate::scanner::pause::skip_poll;
use crate::scanner::poll::{self, Failure, Found, Frame, Gate, Head, Pass};
use crate::scanner::pool::{Pause, Pool, Pools, SINGLE_SOURCE_THRESHOLD};
use crate::scanner::retry::RetryPolicy;
use crate::supervisor::{ChildGuard, Control, obey};

pub use client::TronClient;
pub use deps::Deps;
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
    pub fn new(deps: Deps, guard: ChildGuard) -> Self {
        Self::with_options(deps, guard, TronOptions::default())
    }

    /// As [`new`](Self::new), with other retry waits.
    pub fn with_options(deps: Deps, guard: ChildGuard, options: TronOptions) -> Self {
        let client = TronClient::new(
            &deps.config.tron,
            deps.key.clone(),
            deps.scanner.provider(),
            options.retry,
            options.suspension,
        );
        let chain = deps.config.chains().into_iter().find(is_tron);
        // TronGrid alone: its pool says "no working source" when it keeps
        // failing, once, to the admins and in `/status`.
        let pools = Pools::new(
            "tron",
            chain.iter().map(|c| {
                let pool = Pool::new(
                    vec![((), "TronGrid".into())],
                    SINGLE_SOURCE_THRESHOLD,
                    Duration::ZERO,
                );
                (c.id, pool)
            }),
            deps.scanner.health.clone(),
            deps.scanner.alerts.clone(),
        );
        TronActor {
            scanner: Rc::new(Scanner {
                chain,
                pools,
                client,
                // No block bound: TronGrid's work per poll is bounded by
                // its page budget (`MAX_PAGES_PER_POLL`).
                frame: Frame::new(deps.scanner.frame(), "tron", u64::MAX),
                deps,
                head: Cell::new(None),
                times: RefCell::new(VecDeque::new()),
            }),
            _guard: guard,
        }
    }
}

impl Actor for TronActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        let keyed = self.scanner.deps.key.is_some();
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
            async move { poll::poll(&*scanner).await }.into_actor(self),
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
    deps: Deps,
    /// The Tron chain with its tokens (`None`: not configured; polls do nothing).
    chain: Option<Chain>,
    /// The chain's pool: TronGrid alone.
    pools: Pools<()>,
    client: TronClient,
    /// The poll's frame: watched set, deep cursors.
    frame: Frame,
    /// The solidified head last read: (block, its time in ms).
    head: Cell<Option<(u64, u64)>>,
    /// Known `min_block_timestamp`s: (block, a lower bound of the time of
    /// every block after it), the newest last, at most [`TIME_HINTS`]. Facts
    /// of the chain, whatever was recorded: a window that starts after a
    /// block found here costs no `getblock`.
    times: RefCell<VecDeque<(u64, u64)>>,
}

/// Time hints kept (a few polls' worth of both passes' window ends).
const TIME_HINTS: usize = 32;

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

impl Failure for ScanError {
    fn kind(&self) -> Option<Kind> {
        self.api().map(Classify::kind)
    }

    /// A rejected key pauses TronGrid with an alert; nothing else of
    /// TronGrid's is told by itself.
    fn told(&self) -> bool {
        self.kind() == Some(Kind::RejectedKey)
    }

    fn head_behind(_: &Chain, head: u64, cursor: u64) -> Self {
        ScanError::HeadBehind { head, cursor }
    }

    fn record(_: &Chain, source: DbError) -> Self {
        ScanError::Record(source)
    }

    fn load(what: &'static str, source: DbError) -> Self {
        ScanError::Load { what, source }
    }
}

impl Scanner {
    /// TronGrid's pause (rate-limit suspension, rejected key), as the
    /// chain's pool takes it: a paused source is not counted as failing.
    fn pauses(&self) -> [((), Option<Pause>); 1] {
        let pause = (self.deps.scanner.pauses)
            .paused(pause::PROVIDER)
            .map(|p| Pause {
                reason: p.reason,
                until: p.next_probe,
            });
        [((), pause)]
    }

    /// Remembers that every block after `block` is at least `ts` ms.
    fn remember(&self, block: u64, ts: u64) {
        let mut times = self.times.borrow_mut();
        if times.iter().any(|&(b, _)| b == block) {
            return;
        }
        if times.len() >= TIME_HINTS {
            times.pop_front();
        }
        times.push_back((block, ts));
    }

    /// The `min_block_timestamp` for blocks after `block`: a remembered
    /// one, else block `block`'s own time + 1 ms (one `getblock`).
    async fn time_after(&self, block: u64) -> Result<u64, ScanError> {
        let known = self
            .times
            .borrow()
            .iter()
            .rev()
            .find(|&&(b, _)| b == block)
            .copied();
        if let Some((_, ts)) = known {
            return Ok(ts);
        }
        let header = (self.client.block(block).await)
            .map_err(|source| ScanError::BlockTime { block, source })?;
        self.remember(block, header.timestamp_ms + 1);
        Ok(header.timestamp_ms + 1)
    }

    /// The time of block `block` (the head's is known).
    async fn time_of(&self, block: u64) -> Result<u64, ScanError> {
        if let Some((head, ts)) = self.head.get()
            && head == block
        {
            return Ok(ts);
        }
        let header = (self.client.block(block).await)
            .map_err(|source| ScanError::BlockTime { block, source })?;
        Ok(header.timestamp_ms)
    }
}

/// TronGrid as the poll frame's source of the Tron chain.
struct Grid<'a>(&'a Scanner, Instant);

impl poll::Source for Grid<'_> {
    type Error = ScanError;

    /// The solidified head: final, so it is the safe head too.
    async fn head(&self, _: &Chain) -> Result<Head, ScanError> {
        let head = (self.0.client.solid_head().await).map_err(ScanError::Head)?;
        self.0.head.set(Some((head.number, head.timestamp_ms)));
        self.0.remember(head.number, head.timestamp_ms + 1);
        Ok(Head {
            number: head.number,
            safe: head.number,
        })
    }

    /// The token's events in blocks `from..=to`, asked by time: from the
    /// time after block `from` − 1 to block `to`'s time.
    async fn logs(
        &self,
        chain: &Chain,
        token: &Token,
        from: u64,
        to: u64,
        _: Pass,
        keep: &dyn Fn(&Transfer) -> bool,
    ) -> Found<ScanError> {
        let scanner = self.0;
        let window = match (
            scanner.time_after(from - 1).await,
            scanner.time_of(to).await,
        ) {
            (Ok(min), Ok(max)) => scan::Window {
                min_timestamp: min,
                max_timestamp: max,
            },
            (Err(e), _) | (_, Err(e)) => {
                return Found {
                    error: Some(e),
                    ..Found::default()
                };
            }
        };
        let events = TokenEvents {
            client: &scanner.client,
            contract: token.contract.to_tron(),
        };
        let scan = scan::scan_token(
            &events,
            chain,
            token,
            (from, to),
            window,
            MAX_PAGES_PER_POLL,
            keep,
        )
        .await;
        if let Some(done) = scan.scanned_to {
            scanner.remember(done, scan.next_min_timestamp);
        }
        decode::alert_if_undecodable(
            &scanner.deps.scanner.alerts,
            token,
            scan.events,
            scan.rejected,
        );
        Found {
            transfers: scan.transfers,
            scanned_to: scan.scanned_to,
            items: scan.events,
            rejected: scan.rejected,
            error: scan.error,
        }
    }

    /// TronGrid is scanned by logs only ([`poll::Source::method`]'s
    /// default): never called.
    async fn address(&self, _: &Chain, _: &Token, _: &Address, _: u64, _: u64) -> Found<ScanError> {
        Found {
            error: Some(ScanError::NoPerAddress),
            ..Found::default()
        }
    }

    fn calls_sent(&self) -> u64 {
        self.0.client.calls_sent()
    }
}

impl poll::Scanner for Scanner {
    type Error = ScanError;
    type Source<'a> = Grid<'a>;

    fn frame(&self) -> &Frame {
        &self.frame
    }

    fn chains(&self) -> &[Chain] {
        self.chain.as_slice()
    }

    async fn gate(&self) -> Gate {
        if self.chain.is_none() {
            return Gate::Idle;
        }
        match skip_poll(
            &self.deps.scanner.pauses,
            &self.deps.scanner.counters,
            pause::PROVIDER,
            "tron",
        ) {
            Some(line) => Gate::Paused(line),
            None => Gate::Poll { paused: None },
        }
    }

    fn source(&self, chain: &Chain) -> Option<Grid<'_>> {
        self.pools.choose(chain, &self.pauses(), |_| false)?;
        Some(Grid(self, Instant::now()))
    }

    fn chain_done(&self, chain: &Chain, grid: &Grid<'_>, _: &Cursors, out: &ChainSummary) {
        (self.pools).record(chain, &(), out, grid.1.elapsed(), &self.pauses());
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

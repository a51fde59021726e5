//! The poll, written once for every scanner (issue 17).
//!
//! One [`poll`] drives any provider through two small traits: a
//! [`Scanner`] (the chains it polls, its pause gate, which [`Source`] serves
//! a chain this poll) and a [`Source`] (read the head, fetch a token
//! contract's transfers over a block range, fetch one address's transfers,
//! say what kind each failure is: [`Failure`]). Providers keep only their
//! quirks: Etherscan its getLogs paging and splitting, `tokentx`, NOTOK
//! texts and the Blockscout fallback (`etherscan`); TronGrid its time
//! windows, fingerprints and block timestamps (`tron`).
//!
//! Each poll, per chain:
//!
//! 1. no call at all while the provider is paused ([`Gate`]);
//! 2. the watched set (re-read if changed) and the stored cursors;
//! 3. the head and the *safe* head ([`Head`]: EVM head − confirmations,
//!    Tron's solidified head); the watched set **again** (an address added
//!    during a slow head read sees every block up to that head: issue 9); a
//!    head below a stored cursor is suspect and moves nothing;
//! 4. per token, in logs mode ([`Method::Logs`]): the first pass, blocks
//!    cursor + 1 ..= safe head (at most `max_blocks` a poll), then the
//!    **deep pass**: the same blocks once more when they are `rescan_depth`
//!    blocks behind the safe head, from the deep cursor + 1 (for an index
//!    that trails its own head), never past the first pass; in per-address
//!    mode ([`Method::PerAddress`]): one query per watched address from the
//!    deep cursor + 1 (the same window, re-read by the same call) to the
//!    safe head, the cursor moving only when every address was scanned;
//! 5. ONE [`record`](super::record) of the matches and the new cursors;
//! 6. only then do the in-memory cursors (the deep pass's) move.
//!
//! **Cursors.** The stored cursor (per chain and token) moves only with the
//! record of what was found up to it; progress is always a prefix (a pass
//! stops before a block it could not read whole). First sight of a token
//! starts at the safe head (no backfill). The deep cursor lives in memory;
//! after a start it is the stored cursor − `rescan_depth`, **but never below
//! the cursor's floor**: the block the cursor was created at, stored with it
//! (`cursors.first_block`, schema 10). Without the floor, a restart within
//! `rescan_depth` blocks of the first start re-scanned blocks from before
//! the daemon ever watched and notified their transfers.
//!
//! **Dedupe.** A transfer's key is (chain, tx hash, log index), the same
//! for both passes, both modes and every provider of a chain; the database
//! records each key once, so a second sight (deep pass, restart, a switch
//! of mode or provider) is harmless. Within one per-address poll, rows of a
//! transfer between two watched addresses are kept once.
//!
//! **A token's failure** (retries exhausted, or not retried) — one rule for
//! every provider, decided from the failure's [`Kind`]:
//! - a failure of the provider as a whole ([`Kind::provider_wide`]: 5xx,
//!   timeouts, broken connections, malformed answers, rate limits, a spent
//!   quota, a rejected key) **ends the chain's poll**: the tokens not yet
//!   scanned keep their cursors until the next poll, and the token that
//!   failed is scanned last in the next poll;
//! - a failure of that token's request only (a refused parameter, a block
//!   too full to page or split, `tokentx` rows that match no log) **holds
//!   that token only**: its cursor stays before the gap, the other tokens
//!   (and its own deep pass below the gap) go on.
//!
//! Why: every other call of the poll would meet a provider-wide failure too,
//! each after its own retries and backoff; going on only burns calls of a
//! rate-limited (or daily-capped) key and stretches a poll that a shutdown
//! waits for, to learn nothing the next poll will not. A token-only failure,
//! on the other hand, may last (a block that cannot be paged is still one
//! next poll): stopping there would hold every later token's transfers back
//! for as long. Scanning the failed token last next time keeps a failure
//! that looks provider-wide but comes back for one token only (a backend
//! error for one contract) from starving the others. Before this frame,
//! Etherscan stopped on every failure and Tron never did.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use super::cursor;
use super::kind::Kind;
use super::record::{Recorder, record};
use super::summary::{ChainSummary, PollSummary, SourceFailure, report};
use super::watched::Watched;
use crate::db::cursors::{Cursors, Floors, GetCursors, GetFloors};
use crate::db::{DbError, DbRef};
use crate::domain::{Address, Chain, Token, Transfer};
use crate::metrics::{Counters, Health};

/// A chain's head as one source reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The newest block.
    pub number: u64,
    /// The newest block scanned as final (EVM: `number` − confirmations;
    /// Tron: the solidified head itself).
    pub safe: u64,
}

/// Which pass over a block range a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The first scan of these blocks: rejected items are counted.
    First,
    /// The deep pass: these blocks were scanned (and their rejected items
    /// counted) by the first pass already.
    Again,
}

/// How a chain's tokens are scanned this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One scan of each token contract's transfers over the block range:
    /// calls depend on the number of transfers, never on the watched set.
    Logs,
    /// One query per watched address and token (Etherscan's `tokentx`).
    PerAddress,
}

/// What one scan (a token over a range, or one address) gave.
#[derive(Debug)]
pub struct Found<E> {
    /// Decoded transfers (of complete blocks only).
    pub transfers: Vec<Transfer>,
    /// Every block up to this one was scanned (`None`: not even the first).
    /// An address scan is complete or not: `Some(to)` or `None`.
    pub scanned_to: Option<u64>,
    /// Items (logs, events, rows) received, and of those rejected as
    /// malformed.
    pub items: usize,
    pub rejected: usize,
    /// Why the scan stopped before the end of its range.
    pub error: Option<E>,
}

impl<E> Default for Found<E> {
    fn default() -> Self {
        Found {
            transfers: Vec::new(),
            scanned_to: None,
            items: 0,
            rejected: 0,
            error: None,
        }
    }
}

/// A provider's poll failure (`etherscan::ScanError`, `tron::ScanError`):
/// what kind it is, and the failures the frame itself finds.
pub trait Failure: Display + Debug + Sized {
    /// The kind of the failed call underneath; `None` for a failure that is
    /// no call's (a block that cannot be paged, rows matching no log): it
    /// concerns its token only.
    fn kind(&self) -> Option<Kind>;
    /// Did the provider tell the admins of this failure itself (its own
    /// alert: a rejected key, a daily cap, a chain its plan does not
    /// cover)? Then the chain's pool adds none for it.
    fn told(&self) -> bool {
        false
    }
    /// The head read is below the stored cursor of the chain.
    fn head_behind(chain: &Chain, head: u64, cursor: u64) -> Self;
    /// The poll's result could not be recorded.
    fn record(chain: &Chain, source: DbError) -> Self;
    /// `what` could not be read from the database.
    fn load(what: &'static str, source: DbError) -> Self;
}

/// `e` as the chain's pool counts it against the source.
fn failure(e: &impl Failure) -> SourceFailure {
    SourceFailure {
        why: e.to_string(),
        told: e.told(),
    }
}

/// Does `e` end the chain's poll, rather than hold its token only? (The
/// module's rule.)
pub fn ends_chain_poll(e: &impl Failure) -> bool {
    e.kind().is_some_and(Kind::provider_wide)
}

/// Where one poll of one chain reads its head and its transfers: both from
/// the same provider (a range is never scanned against one provider's head
/// with another's index). Retries are the source's business: a failure
/// returned here is final for this poll.
pub trait Source {
    type Error: Failure;

    /// The chain's head and safe head.
    fn head(&self, chain: &Chain) -> impl Future<Output = Result<Head, Self::Error>>;

    /// The transfers of `token`'s contract in blocks `from..=to` that
    /// `keep` accepts (logs mode).
    fn logs(
        &self,
        chain: &Chain,
        token: &Token,
        from: u64,
        to: u64,
        pass: Pass,
        keep: &dyn Fn(&Transfer) -> bool,
    ) -> impl Future<Output = Found<Self::Error>>;

    /// The transfers of `token` to or from `address` in blocks `from..=to`
    /// (per-address mode; called only when [`method`](Self::method) says
    /// so), keyed like [`logs`](Self::logs)'.
    fn address(
        &self,
        chain: &Chain,
        token: &Token,
        address: &Address,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Found<Self::Error>>;

    /// The scan mode of `chain` this poll, decided after the head and the
    /// watched set were read.
    fn method(&self, _chain: &Chain) -> Method {
        Method::Logs
    }

    /// Requests this source's client has sent so far (retries included).
    fn calls_sent(&self) -> u64;

    /// The deep cursor of `contract` moved to `block` (its finds recorded):
    /// blocks up to it are not read again.
    fn deep_moved(&self, _chain: &Chain, _contract: &Address, _block: u64) {}
}

/// What a scanner's poll does before any call.
#[derive(Debug)]
pub enum Gate {
    /// Nothing to scan (no chain configured): an empty summary.
    Idle,
    /// The provider is paused: no call, the `/status` line.
    Paused(String),
    /// Poll; `paused`: the line of a paused primary provider whose chains
    /// are served by another source meanwhile.
    Poll { paused: Option<String> },
}

/// A scanner: the chains it polls and which source serves each.
pub trait Scanner {
    type Error: Failure;
    type Source<'a>: Source<Error = Self::Error>
    where
        Self: 'a;

    /// The frame's state of this scanner.
    fn frame(&self) -> &Frame;

    /// The chains polled, in order.
    fn chains(&self) -> &[Chain];

    /// Before any call of the poll.
    fn gate(&self) -> impl Future<Output = Gate>;

    /// The source of `chain` this poll; `None`: skip the chain.
    fn source(&self, chain: &Chain) -> Option<Self::Source<'_>>;

    /// After the poll of `chain` (reported already).
    fn chain_done(
        &self,
        _chain: &Chain,
        _source: &Self::Source<'_>,
        _stored: &Cursors,
        _out: &ChainSummary<Self::Error>,
    ) {
    }

    /// After the poll of every chain.
    fn poll_done(&self) -> impl Future<Output = ()> {
        async {}
    }
}

/// The frame's state of one scanner: the watched set, the deep cursors and
/// which token to scan last.
pub struct Frame {
    handles: Handles,
    /// The scanner's child name, in log lines.
    actor: &'static str,
    /// Blocks one pass covers in one poll, at most (`u64::MAX`: the source
    /// bounds its own work, as TronGrid's page budget does).
    max_blocks: u64,
    /// The watched set, re-read after each head.
    pub watched: Watched,
    /// The deep pass's cursor per (chain id, token contract): every block
    /// up to it was scanned a second time, or lies at or below the cursor's
    /// floor.
    deep: RefCell<HashMap<(u64, Address), u64>>,
    /// Per chain: the token whose failure ended the last poll (scanned last).
    held: RefCell<HashMap<u64, Address>>,
}

/// What [`Frame::token`] tells the chain's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// A provider-wide failure: the chain's poll ends here.
    Stop,
}

/// What a chain's poll collects before its one record.
#[derive(Default)]
struct Collected {
    transfers: Vec<Transfer>,
    /// Stored cursors to move: (contract, block).
    advanced: Vec<(Address, u64)>,
    /// Deep cursors to move once recorded.
    deep: Vec<(Address, u64)>,
}

/// What the frame needs of its scanner's dependencies, and nothing else.
#[derive(Clone)]
pub struct Handles {
    /// Cursors, floors and the watched set.
    pub db: DbRef,
    /// The poll's one atomic write.
    pub record: Recorder,
    /// Each chain's head and cursor, as the poll leaves them.
    pub health: Arc<Health>,
    /// `logs_rejected`.
    pub counters: Arc<Counters>,
}

impl Frame {
    /// `actor`: the scanner's child name; `max_blocks`: see the field.
    pub fn new(handles: Handles, actor: &'static str, max_blocks: u64) -> Self {
        Frame {
            handles,
            actor,
            max_blocks: max_blocks.max(1),
            watched: Watched::default(),
            deep: RefCell::new(HashMap::new()),
            held: RefCell::new(HashMap::new()),
        }
    }

    /// The deep cursor of (`chain_id`, `contract`) in memory (`None`: not
    /// known since the start).
    pub fn deep_at(&self, chain_id: u64, contract: &Address) -> Option<u64> {
        self.deep
            .borrow()
            .get(&(chain_id, contract.clone()))
            .copied()
    }

    async fn refresh_watched(&self) -> Result<(), DbError> {
        self.watched.refresh(&self.handles.db, self.actor).await
    }

    /// One chain's poll with its summary (calls counted, reported).
    async fn poll_chain<P: Source>(
        &self,
        source: &P,
        chain: &Chain,
        stored: &Cursors,
    ) -> ChainSummary<P::Error> {
        let calls_before = source.calls_sent();
        let mut out = ChainSummary {
            chain: chain.name,
            ..ChainSummary::default()
        };
        self.scan_chain(source, chain, stored, &mut out).await;
        out.calls = source.calls_sent() - calls_before;
        report(&self.handles.health, self.actor, chain, &out);
        out
    }

    async fn scan_chain<P: Source>(
        &self,
        source: &P,
        chain: &Chain,
        stored: &Cursors,
        out: &mut ChainSummary<P::Error>,
    ) {
        let head = match source.head(chain).await {
            Ok(h) => h,
            Err(e) => {
                out.source_failed = Some(failure(&e));
                out.errors.push(e);
                out.cursors = cursor::stored_cursors(chain, stored);
                return;
            }
        };
        // The watched set at least as new as the head: reading the head may
        // have taken seconds (retries, backoff), and an address added
        // meanwhile must see the transfers of every block up to it.
        if let Err(e) = self.refresh_watched().await {
            out.errors.push(P::Error::load("the watched addresses", e));
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        if let Some(c) = cursor::highest(chain, stored).filter(|&c| head.number < c) {
            // Below blocks already scanned as final: a lagging backend or a
            // wrong answer. Trust nothing of it.
            tracing::warn!(
                actor = self.actor,
                chain = chain.name,
                head = head.number,
                cursor = c,
                "head behind the cursor; nothing moves"
            );
            let e = P::Error::head_behind(chain, head.number, c);
            out.source_failed = Some(failure(&e));
            out.errors.push(e);
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        out.head = Some(head.number);
        out.safe_head = Some(head.safe);
        let floors = match self.floors(chain, stored).await {
            Ok(f) => f,
            Err(e) => {
                out.errors.push(P::Error::load("the cursor floors", e));
                out.cursors = cursor::stored_cursors(chain, stored);
                return;
            }
        };
        let method = source.method(chain);

        let mut got = Collected::default();
        let mut stopped_by = None;
        for token in self.order(chain) {
            let Some(cursor) = cursor::cursor_of(chain, stored, &token.contract) else {
                // First sight: start at the safe head. History before the
                // daemon watched is not notified, by any pass.
                tracing::info!(
                    actor = self.actor,
                    chain = chain.name,
                    token = token.symbol.as_str(),
                    block = head.safe,
                    "new cursor at the safe head (no backfill)"
                );
                got.advanced.push((token.contract.clone(), head.safe));
                got.deep.push((token.contract.clone(), head.safe));
                out.cursors.push((token.contract.clone(), head.safe));
                continue;
            };
            let deep = self.deep_cursor(chain, token, cursor, &floors);
            let at = Place {
                chain,
                token,
                cursor,
                deep,
                safe: head.safe,
            };
            let flow = match method {
                Method::Logs => self.logs(source, &at, out, &mut got).await,
                Method::PerAddress => self.per_address(source, &at, out, &mut got).await,
            };
            if flow == Flow::Stop {
                stopped_by = Some(token.contract.clone());
                break;
            }
        }
        match stopped_by {
            Some(contract) => self.held.borrow_mut().insert(chain.id, contract),
            None => self.held.borrow_mut().remove(&chain.id),
        };
        // Tokens not reached keep their stored cursors.
        for token in &chain.tokens {
            if !out.cursors.iter().any(|(c, _)| c == &token.contract)
                && let Some(c) = cursor::cursor_of(chain, stored, &token.contract)
            {
                out.cursors.push((token.contract.clone(), c));
            }
        }

        let Collected {
            transfers,
            advanced,
            deep,
        } = got;
        if !transfers.is_empty() || !advanced.is_empty() {
            match record(
                &self.handles.record,
                chain.id,
                chain.name,
                transfers,
                advanced,
            )
            .await
            {
                Ok(recorded) => {
                    out.new_transfers = recorded.new_transfers;
                    out.notifications = recorded.notifications;
                }
                Err(e) => {
                    // Nothing moved: the next poll scans the same blocks
                    // again; the deep pass's finds were not recorded either.
                    out.cursors = cursor::stored_cursors(chain, stored);
                    out.errors.push(P::Error::record(chain, e));
                    return;
                }
            }
        }
        // Only once their finds are recorded do the deep cursors move.
        let mut cursors = self.deep.borrow_mut();
        for (contract, block) in deep {
            source.deep_moved(chain, &contract, block);
            cursors.insert((chain.id, contract), block);
        }
    }

    /// The chain's tokens in scan order: the one whose failure ended the
    /// last poll goes last.
    fn order<'c>(&self, chain: &'c Chain) -> Vec<&'c Token> {
        let held = self.held.borrow().get(&chain.id).cloned();
        let (mut order, last): (Vec<&Token>, Vec<&Token>) = chain
            .tokens
            .iter()
            .partition(|t| Some(&t.contract) != held.as_ref());
        order.extend(last);
        order
    }

    /// The stored floors, read only when a token's deep cursor is not known
    /// in memory yet (after a start).
    async fn floors(&self, chain: &Chain, stored: &Cursors) -> Result<Floors, DbError> {
        let unknown = {
            let deep = self.deep.borrow();
            chain.rescan_depth > 0
                && chain.tokens.iter().any(|t| {
                    let key = (chain.id, t.contract.clone());
                    stored.contains_key(&key) && !deep.contains_key(&key)
                })
        };
        if !unknown {
            return Ok(Floors::new());
        }
        self.handles.db.exec(GetFloors).await
    }

    /// The deep cursor of `token`: the one in memory, or after a start the
    /// stored cursor − `rescan_depth`, never below the cursor's floor.
    fn deep_cursor(&self, chain: &Chain, token: &Token, cursor: u64, floors: &Floors) -> u64 {
        let key = (chain.id, token.contract.clone());
        *self.deep.borrow_mut().entry(key).or_insert_with_key(|key| {
            let floor = floors.get(key).copied().unwrap_or(0);
            cursor
                .saturating_sub(chain.rescan_depth)
                .max(floor)
                .min(cursor)
        })
    }

    /// A failure of `at`'s token: logged, kept in the summary; says whether
    /// the chain's poll ends.
    fn failed<E: Failure>(
        &self,
        at: &Place<'_>,
        what: &str,
        e: E,
        out: &mut ChainSummary<E>,
    ) -> Flow {
        let flow = if ends_chain_poll(&e) {
            out.source_failed = Some(failure(&e));
            Flow::Stop
        } else {
            Flow::Next
        };
        tracing::warn!(
            actor = self.actor,
            chain = at.chain.name,
            token = at.token.symbol.as_str(),
            error = %e,
            chain_poll_ends = flow == Flow::Stop,
            "{what}"
        );
        out.errors.push(e);
        flow
    }

    /// Logs mode for one token: the first pass, then the deep pass.
    async fn logs<P: Source>(
        &self,
        source: &P,
        at: &Place<'_>,
        out: &mut ChainSummary<P::Error>,
        got: &mut Collected,
    ) -> Flow {
        let Place {
            chain,
            token,
            cursor,
            deep,
            safe,
        } = *at;
        let keep = |t: &Transfer| self.watched.keeps(t);
        let mut now_at = cursor;
        if cursor < safe {
            let to = safe.min(cursor.saturating_add(self.max_blocks));
            if to < safe {
                tracing::info!(
                    actor = self.actor,
                    chain = chain.name,
                    token = token.symbol.as_str(),
                    from_block = cursor + 1,
                    to_block = to,
                    behind = safe - to,
                    "catching up in bounded steps"
                );
            }
            let found = source
                .logs(chain, token, cursor + 1, to, Pass::First, &keep)
                .await;
            out.logs += found.items;
            out.rejected += found.rejected;
            Counters::add(&self.handles.counters.logs_rejected, found.rejected as u64);
            out.matched += found.transfers.len();
            got.transfers.extend(found.transfers);
            now_at = found.scanned_to.map_or(cursor, |done| done.max(cursor));
            if now_at > cursor {
                got.advanced.push((token.contract.clone(), now_at));
            }
            if let Some(e) = found.error {
                out.cursors.push((token.contract.clone(), now_at));
                let what = "token scan incomplete; the cursor stays before the gap";
                if self.failed(at, what, e, out) == Flow::Stop {
                    return Flow::Stop;
                }
            } else {
                out.cursors.push((token.contract.clone(), now_at));
            }
        } else {
            out.cursors.push((token.contract.clone(), now_at));
        }

        // The deep pass: `rescan_depth` blocks behind the safe head, never
        // past the first pass (nor below the floor: `deep_cursor`).
        let depth = chain.rescan_depth;
        if depth == 0 {
            return Flow::Next;
        }
        let to = safe
            .saturating_sub(depth)
            .min(now_at)
            .min(deep.saturating_add(self.max_blocks));
        if to <= deep {
            return Flow::Next;
        }
        tracing::debug!(
            actor = self.actor,
            chain = chain.name,
            token = token.symbol.as_str(),
            from_block = deep + 1,
            to_block = to,
            "deep pass"
        );
        let found = source
            .logs(chain, token, deep + 1, to, Pass::Again, &keep)
            .await;
        // Rejected items were counted by the first pass.
        out.deep_logs += found.items;
        out.matched += found.transfers.len();
        got.transfers.extend(found.transfers);
        if let Some(done) = found.scanned_to {
            got.deep.push((token.contract.clone(), done));
        }
        match found.error {
            Some(e) => self.failed(
                at,
                "deep pass incomplete; it resumes there next poll",
                e,
                out,
            ),
            None => Flow::Next,
        }
    }

    /// Per-address mode for one token: every watched address from the deep
    /// cursor + 1 (the deep pass's window, re-read by the same query) to the
    /// safe head; the cursor moves only when every address was scanned.
    async fn per_address<P: Source>(
        &self,
        source: &P,
        at: &Place<'_>,
        out: &mut ChainSummary<P::Error>,
        got: &mut Collected,
    ) -> Flow {
        let Place {
            chain,
            token,
            cursor,
            deep,
            safe,
        } = *at;
        if cursor >= safe {
            out.cursors.push((token.contract.clone(), cursor));
            return Flow::Next;
        }
        let from = deep.min(cursor) + 1;
        let to = safe.min(cursor.saturating_add(self.max_blocks));
        let mut seen = HashSet::new();
        let mut rejected = 0;
        let mut error = None;
        for address in self.watched.on_chain(chain.id) {
            let found = source.address(chain, token, &address, from, to).await;
            rejected += found.rejected;
            for t in found.transfers {
                // A transfer between two watched addresses comes in both
                // addresses' rows: kept once.
                if self.watched.keeps(&t) && seen.insert((t.tx_hash.clone(), t.log_index)) {
                    out.matched += 1;
                    got.transfers.push(t);
                }
            }
            if found.error.is_some() {
                error = found.error;
                break;
            }
        }
        out.rejected += rejected;
        Counters::add(&self.handles.counters.logs_rejected, rejected as u64);
        match error {
            None => {
                got.advanced.push((token.contract.clone(), to));
                let deep_to = to.saturating_sub(chain.rescan_depth).max(deep);
                if deep_to > deep {
                    got.deep.push((token.contract.clone(), deep_to));
                }
                out.cursors.push((token.contract.clone(), to));
                Flow::Next
            }
            Some(e) => {
                // What was found is recorded anyway (and harmlessly again
                // next poll).
                out.cursors.push((token.contract.clone(), cursor));
                self.failed(at, "per-address scan incomplete; the cursor stays", e, out)
            }
        }
    }
}

/// One token's place in the poll.
#[derive(Clone, Copy)]
struct Place<'a> {
    chain: &'a Chain,
    token: &'a Token,
    /// The stored cursor.
    cursor: u64,
    /// The deep cursor.
    deep: u64,
    safe: u64,
}

/// One poll of `scanner`: every chain it polls, each with one record.
///
/// `Err` only when the poll could not start (the watched addresses or the
/// cursors could not be read); failures of single chains or tokens are in
/// the summary, and their cursors stay where they were.
pub async fn poll<S: Scanner>(scanner: &S) -> Result<PollSummary<S::Error>, S::Error> {
    let frame = scanner.frame();
    let paused = match scanner.gate().await {
        Gate::Idle => return Ok(PollSummary::default()),
        Gate::Paused(line) => {
            return Ok(PollSummary {
                paused: Some(line),
                ..PollSummary::default()
            });
        }
        Gate::Poll { paused } => paused,
    };
    (frame.refresh_watched().await).map_err(|e| S::Error::load("the watched addresses", e))?;
    let stored = (frame.handles.db.exec(GetCursors).await)
        .map_err(|e| S::Error::load("the scan cursors", e))?;
    let mut summary = PollSummary {
        paused,
        ..PollSummary::default()
    };
    for chain in scanner.chains() {
        let Some(source) = scanner.source(chain) else {
            continue;
        };
        let out = frame.poll_chain(&source, chain, &stored).await;
        scanner.chain_done(chain, &source, &stored, &out);
        summary.chains.push(out);
    }
    scanner.poll_done().await;
    Ok(summary)
}

//! The scanner: watches every configured chain and token through the
//! Etherscan API V2 and records the transfers that touch a watched address.
//!
//! Each [`Poll`] (from the ticker) does, per chain: one `eth_blockNumber`
//! call for the head; for each token, `getLogs` over the blocks from the
//! token's cursor + 1 to the *safe* head (head − confirmations), and the
//! deep pass below, filtered by
//! the token's registry contract and the Transfer topic, paginated and split
//! as [`scan`] describes; decoding ([`decode`]); matching `from`/`to` against
//! the in-memory set of watched addresses; and then ONE
//! [`RecordPollResult`](crate::db::poll_result::RecordPollResult) with the matches and the new cursors, so that a
//! cursor never moves past a transfer that was not recorded. The number of
//! calls depends on the number of logs, never on the number of watched
//! addresses (the prior bot's one `tokentx` call per address per token is
//! what could not scale).
//!
//! **An index that trails its head.** An explorer's getLogs index can lag
//! the head its own `eth_blockNumber` reports: it answers `[]` for blocks
//! it has not indexed yet. So the cursor never assumes the index complete:
//! each token has a second, trailing cursor (the *deep pass*) that scans
//! every block exactly once more when it is `rescan_depth` blocks behind the
//! safe head (per chain, `monitor.rescan_depth`, about three minutes of
//! blocks by default; 0 turns the deep pass off): blocks deep cursor + 1 ..=
//! safe − `rescan_depth`, bounded per poll like the first pass. A transfer
//! indexed less than `rescan_depth` blocks late is found there; the
//! database's uniqueness on (chain, tx hash, log index) makes the second
//! sight harmless, and rejected logs are counted by the first pass only.
//! Each block is fetched twice in all (about twice the calls of one pass,
//! never depending on the number of watched addresses). The deep cursor
//! lives in memory: after a start it is the stored cursor − `rescan_depth`
//! (a one-off re-scan of that window), and it never goes below a cursor this
//! scanner created (no history from before the daemon watched).
//!
//! **An unknown head** (`"0x"`, null, an error object) is never a number:
//! the chain's poll is skipped and `/status` keeps the last known head. A
//! head below the cursor is suspect: logged, nothing moves.
//!
//! **Per-address mode.** A chain with few watched addresses is cheaper to
//! scan with one `tokentx` query per address and token (`monitor.scan_mode`,
//! chosen per chain and poll by [`mode`], done by [`tokentx`] through the
//! hook in `per_address.rs`): same cursor, same deep-pass cursor and the
//! same (chain, tx hash, log index) key per transfer as the logs scan, so a
//! switch between the two loses and repeats nothing.
//!
//! **A paused provider** (daily cap, revoked key: [`pause`]) gets no call
//! until its next probe.
//!
//! **A provider pool per chain.** A chain with a Blockscout instance is
//! scanned by the first healthy source of its pool (Etherscan, then
//! Blockscout: [`sources`], [`crate::scanner::pool`]); head and logs of one
//! poll always come from the same source.
//!
//! The Poll handler is atomic: while a poll runs, the actor handles nothing
//! else, so the supervisor's `Control::Stop` waits for the poll to finish
//! and persist. A panic is the supervisor's to restart; the next poll
//! resumes from the stored cursors, and re-recording is idempotent (unique
//! on chain, transaction hash and log index).

pub mod api;
pub mod client;
pub mod decode;
pub mod error;
pub mod mode;
pub mod pause;
mod per_address;
#[cfg(test)]
mod proptests;
mod quota;
pub mod scan;
pub mod source;
pub mod sources;
pub mod tokentx;

/// The rate limiter moved to [`crate::scanner::limiter`]; kept here by name.
pub use crate::scanner::limiter;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use actix::{Actor, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::app::Shared;
use crate::blockscout::BlockscoutClient;
use crate::config::Secret;
use crate::db::cursors::{Cursors, GetCursors};
use crate::domain::{Address, Chain, Transfer};
use crate::metrics::Counters;
use crate::scanner::pause::skip_poll;
use crate::scanner::record::record;
use crate::scanner::watched::Watched;
use crate::scanner::{self, cursor};
use crate::supervisor::{ChildGuard, Control, obey};

use crate::scanner::pool::Pool;
use source::{Provider, Source, TokenLogs};

pub use client::{EtherscanClient, RetryPolicy};
pub use error::{Action, ApiError, ScanError};
pub use mode::Method;
pub use per_address::SetScanMode;

/// Scan every configured chain and token up to the safe head.
///
/// `Err` only when the poll could not start (the watched addresses or the
/// cursors could not be read); failures of single chains or tokens are in
/// the summary, and their cursors stay where they were.
#[derive(Debug, Message)]
#[rtype(result = "Result<PollSummary, ScanError>")]
pub struct Poll;

/// What one poll did ([`crate::scanner::PollSummary`] with Etherscan's errors).
pub type PollSummary = scanner::PollSummary<ScanError>;

/// What one poll did on one chain.
pub type ChainSummary = scanner::ChainSummary<ScanError>;

pub struct EtherscanActor {
    scanner: Rc<Scanner>,
    _guard: ChildGuard,
}

impl EtherscanActor {
    /// Builds the actor and its HTTP client. Runs on the actor's own
    /// Arbiter (see `ChildSpec::actor`): the client is `!Send`.
    pub fn new(shared: Shared, guard: ChildGuard) -> Self {
        Self::with_retry(shared, guard, RetryPolicy::default())
    }

    /// As [`new`](Self::new), with another retry policy (tests use short backoffs).
    pub fn with_retry(shared: Shared, guard: ChildGuard, retry: RetryPolicy) -> Self {
        let client = EtherscanClient::new(
            &shared.config.etherscan,
            // `Shared::new` requires the key when there is an EVM chain,
            // and this actor exists only then.
            shared
                .secrets
                .etherscan_key
                .clone()
                .unwrap_or_else(|| Secret::new(String::new())),
            shared.metrics.clone(),
            retry,
        );
        let chains = shared.config.evm_chains();
        let fallback = BlockscoutClient::new(
            &shared.config.blockscout,
            &shared.config.etherscan,
            &chains,
            shared.metrics.clone(),
            retry,
        );
        let pools = chains
            .iter()
            .filter(|c| fallback.serves(c))
            .map(|c| (c.id, sources::new_pool(&shared.config.blockscout)))
            .collect();
        EtherscanActor {
            scanner: Rc::new(Scanner {
                chains,
                client,
                fallback,
                pools: RefCell::new(pools),
                quota: RefCell::default(),
                shared,
                watched: Watched::default(),
                deep: RefCell::new(HashMap::new()),
                modes: RefCell::new(HashMap::new()),
                pair_cache: tokentx::PairCache::default(),
            }),
            _guard: guard,
        }
    }
}

impl Actor for EtherscanActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        let chains: Vec<&str> = self.scanner.chains.iter().map(|c| c.name).collect();
        tracing::info!(actor = "etherscan", ?chains, "scanner ready");
        for chain in &self.scanner.chains {
            let registry = Chain::by_id(chain.id);
            for t in &chain.tokens {
                let source = match registry
                    .as_ref()
                    .and_then(|r| r.token_by_contract(&t.contract))
                {
                    Some(_) => "registry",
                    None => "config",
                };
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    token = t.symbol.as_str(),
                    contract = t.contract.as_str(),
                    decimals = t.decimals,
                    source,
                    rescan_depth = chain.rescan_depth,
                    "active contract"
                );
            }
        }
    }
}

impl Handler<Poll> for EtherscanActor {
    type Result = AtomicResponse<Self, Result<PollSummary, ScanError>>;

    fn handle(&mut self, _: Poll, _: &mut Context<Self>) -> Self::Result {
        let scanner = self.scanner.clone();
        AtomicResponse::new(Box::pin(
            async move { scanner.poll().await }.into_actor(self),
        ))
    }
}

impl Handler<Control> for EtherscanActor {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        obey(msg, ctx)
    }
}

/// The scanner's state, shared with the poll future (which cannot borrow
/// the actor across awaits).
struct Scanner {
    shared: Shared,
    chains: Vec<Chain>,
    client: EtherscanClient,
    /// The fallback for chains that have a Blockscout instance.
    fallback: BlockscoutClient,
    /// The provider pool (Etherscan, then Blockscout) of each chain that
    /// has a fallback.
    pools: RefCell<HashMap<u64, Pool<Provider>>>,
    /// The daily call budget's counts.
    quota: RefCell<quota::Quota>,
    /// The watched set, re-read after each head.
    watched: Watched,
    /// The deep pass's cursor per (chain id, token contract): every block
    /// up to it was scanned a second time, `rescan_depth` blocks behind the
    /// safe head (or lies below a cursor this scanner created). Kept in
    /// memory: after a start it is the stored cursor − `rescan_depth`.
    deep: RefCell<HashMap<(u64, Address), u64>>,
    /// Each chain's scan mode and what its estimate has seen.
    modes: RefCell<HashMap<u64, mode::ChainMode>>,
    /// Log indexes already looked up for `tokentx` rows.
    pair_cache: tokentx::PairCache,
}

impl Scanner {
    async fn poll(&self) -> Result<PollSummary, ScanError> {
        Counters::add(&self.shared.metrics.counters.polls, 1);
        if let Some(line) = self.budget_gate().await {
            return Ok(PollSummary {
                paused: Some(line),
                ..PollSummary::default()
            });
        }
        let paused = skip_poll(&self.shared.metrics, pause::PROVIDER, "etherscan");
        if paused.is_some() && !self.chains.iter().any(|c| self.fallback.serves(c)) {
            return Ok(PollSummary {
                paused,
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
        let mut summary = PollSummary {
            paused,
            ..PollSummary::default()
        };
        let mut primary_down = summary.paused.is_some();
        for chain in &self.chains {
            let Some(source) = self.source(chain, primary_down) else {
                continue;
            };
            let started = Instant::now();
            let outcome = self.poll_chain(chain, &cursors, source).await;
            self.record_outcome(chain, source, &outcome, started.elapsed());
            // A key's limits are shared by every chain: after one of these
            // answers every other call would be refused the same way.
            let account_wide = outcome.errors.iter().find_map(|e| match e.api() {
                Some(
                    e @ (ApiError::InvalidKey(_)
                    | ApiError::RateLimited(_)
                    | ApiError::DailyLimit(_)),
                ) => Some(e.clone()),
                _ => None,
            });
            summary.chains.push(outcome);
            if let Some(e) = account_wide.filter(|_| source.provider() == Provider::Etherscan) {
                tracing::warn!(actor = "etherscan", error = %e,
                    "no more Etherscan calls this poll; chains with a fallback use Blockscout");
                primary_down = true;
            }
        }
        self.record_calls().await;
        Ok(summary)
    }

    /// Reloads the watched set if it changed since the last poll.
    async fn refresh_watched(&self) -> Result<(), ScanError> {
        (self.watched)
            .refresh(&self.shared.db, "etherscan")
            .await
            .map_err(|source| ScanError::Load {
                what: "the watched addresses",
                source,
            })
    }

    /// The deep pass of one token: blocks the index may not have served
    /// when the first pass read them, once more, `rescan_depth` blocks behind
    /// the safe head and never past the first pass (`now_at`). Gives the
    /// deep cursor it started from and the scan; `None` when the deep pass
    /// is off or has nothing to scan yet. `cursor` is the stored cursor, the
    /// deep cursor's start after a restart.
    async fn deep_pass(
        &self,
        source: &TokenLogs<'_>,
        cursor: u64,
        now_at: u64,
        safe: u64,
    ) -> Option<(u64, scan::TokenScan)> {
        let (chain, token) = (source.chain, source.token);
        let depth = chain.rescan_depth;
        if depth == 0 {
            return None;
        }
        let deep = *self
            .deep
            .borrow_mut()
            .entry((chain.id, token.contract.clone()))
            .or_insert_with(|| cursor.saturating_sub(depth));
        let to = safe
            .saturating_sub(depth)
            .min(now_at)
            .min(deep.saturating_add(self.shared.config.etherscan.max_blocks_per_poll));
        if to <= deep {
            return None;
        }
        let range = scan::Range::again(deep + 1, to);
        let scan = scan::scan_token(source, chain, token, range, |t| self.keeps(t)).await;
        Some((deep, scan))
    }

    /// Does `t` touch a watched address on its chain?
    fn keeps(&self, t: &Transfer) -> bool {
        self.watched.keeps(t)
    }

    async fn poll_chain(
        &self,
        chain: &Chain,
        stored: &Cursors,
        source: Source<'_>,
    ) -> ChainSummary {
        let calls_before = source.calls_sent();
        let mut out = ChainSummary {
            chain: chain.name,
            ..ChainSummary::default()
        };
        self.scan_chain(chain, stored, &mut out, source).await;
        out.calls = source.calls_sent() - calls_before;
        scanner::summary::report(&self.shared.metrics, "etherscan", chain, &out);
        out
    }

    async fn scan_chain(
        &self,
        chain: &Chain,
        stored: &Cursors,
        out: &mut ChainSummary,
        provider: Source<'_>,
    ) {
        let config = &self.shared.config;
        let head = match provider.block_number(chain).await {
            Ok(h) => h,
            Err(source) => {
                out.errors.push(ScanError::Head {
                    chain: chain.name,
                    action: Action::BlockNumber,
                    source,
                });
                out.cursors = cursor::stored_cursors(chain, stored);
                return;
            }
        };
        // The watched set must be at least as new as the head: reading the
        // head may have taken seconds (retries, backoff), and an address
        // added meanwhile must see the transfers of every block up to that
        // head, or the cursor moves past them for good.
        if let Err(e) = self.refresh_watched().await {
            out.errors.push(e);
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        let safe = head.saturating_sub(config.monitor.confirmations);
        if let Some(cursor) = cursor::highest(chain, stored).filter(|&c| head < c) {
            // Below blocks already scanned as confirmed: a lagging backend or
            // a wrong answer. Trust nothing of it.
            tracing::warn!(
                actor = "etherscan",
                chain = chain.name,
                head,
                cursor,
                "head behind the cursor; nothing moves"
            );
            out.errors.push(ScanError::HeadBehind {
                chain: chain.name,
                head,
                cursor,
            });
            out.cursors = cursor::stored_cursors(chain, stored);
            return;
        }
        out.head = Some(head);
        out.safe_head = Some(safe);

        // Per-address queries are Etherscan's (`tokentx`); on the fallback
        // the head came from Blockscout, and so must the logs (one provider
        // per range), so a chain on Blockscout scans by logs.
        let method = if provider.provider() == Provider::Etherscan {
            self.choose_mode(chain)
        } else {
            Method::Logs
        };
        let mut transfers = Vec::new();
        let mut advanced: Vec<(Address, u64)> = Vec::new();
        let mut deep_moves: Vec<(Address, u64)> = Vec::new();
        for token in &chain.tokens {
            let symbol = token.symbol.as_str();
            let Some(&cursor) = stored.get(&(chain.id, token.contract.clone())) else {
                // First sight of this chain/token: start at the safe head.
                // History before the daemon watched is not notified, by
                // either pass.
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    token = symbol,
                    block = safe,
                    "new cursor at the safe head (no backfill)"
                );
                advanced.push((token.contract.clone(), safe));
                out.cursors.push((token.contract.clone(), safe));
                deep_moves.push((token.contract.clone(), safe));
                continue;
            };
            if method == Method::PerAddress {
                let step = self.per_address_token(chain, token, cursor, safe).await;
                out.rejected += step.rejected;
                out.matched += step.transfers.len();
                transfers.extend(step.transfers);
                out.cursors.push((token.contract.clone(), step.now_at));
                if step.now_at > cursor {
                    advanced.push((token.contract.clone(), step.now_at));
                }
                if let Some(d) = step.deep_to {
                    deep_moves.push((token.contract.clone(), d));
                }
                if let Some(e) = step.error {
                    tracing::warn!(actor = "etherscan", chain = chain.name, token = symbol,
                        cursor, error = %e, "per-address scan incomplete; the cursor stays");
                    out.errors.push(e);
                    break;
                }
                continue;
            }
            let source = TokenLogs {
                source: provider,
                chain,
                token,
            };
            let mut now_at = cursor;
            if cursor < safe {
                let to = safe.min(cursor.saturating_add(config.etherscan.max_blocks_per_poll));
                if to < safe {
                    tracing::info!(
                        actor = "etherscan",
                        chain = chain.name,
                        token = symbol,
                        from_block = cursor + 1,
                        to_block = to,
                        behind = safe - to,
                        "catching up in bounded steps"
                    );
                }
                let range = scan::Range::new(cursor + 1, to);
                let scan = scan::scan_token(&source, chain, token, range, |t| self.keeps(t)).await;
                out.logs += scan.logs;
                out.rejected += scan.rejected;
                Counters::add(
                    &self.shared.metrics.counters.logs_rejected,
                    scan.rejected as u64,
                );
                let matched = scan.transfers.len();
                out.matched += matched;
                transfers.extend(scan.transfers);
                now_at = scan.scanned_to.map_or(cursor, |done| done.max(cursor));
                self.observe_logs(chain.id, scan.logs, now_at - cursor, matched);
                if now_at > cursor {
                    advanced.push((token.contract.clone(), now_at));
                }
                if let Some(e) = scan.error {
                    out.cursors.push((token.contract.clone(), now_at));
                    tracing::warn!(actor = "etherscan", chain = chain.name, token = symbol,
                        cursor = now_at, error = %e, "token scan incomplete; the cursor stays before the gap");
                    out.errors.push(e);
                    // Retries are exhausted (or pointless): the chain's other
                    // tokens wait for the next poll. This bounds how long a bad
                    // spell can stretch one poll (and a shutdown waiting on it).
                    break;
                }
            }
            out.cursors.push((token.contract.clone(), now_at));

            let Some((deep, scan)) = self.deep_pass(&source, cursor, now_at, safe).await else {
                continue;
            };
            out.deep_logs += scan.logs;
            out.matched += scan.transfers.len();
            transfers.extend(scan.transfers);
            if let Some(done) = scan.scanned_to {
                deep_moves.push((token.contract.clone(), done));
            }
            if let Some(e) = scan.error {
                tracing::warn!(actor = "etherscan", chain = chain.name, token = symbol,
                    deep_cursor = scan.scanned_to.unwrap_or(deep), error = %e,
                    "deep pass incomplete; it resumes there next poll");
                out.errors.push(e);
                break;
            }
        }
        // Tokens skipped after a failure keep their stored cursors.
        for token in &chain.tokens {
            if !out.cursors.iter().any(|(c, _)| c == &token.contract)
                && let Some(&c) = stored.get(&(chain.id, token.contract.clone()))
            {
                out.cursors.push((token.contract.clone(), c));
            }
        }

        if !transfers.is_empty() || !advanced.is_empty() {
            let recorded = record(&self.shared, chain.id, chain.name, transfers, advanced).await;
            match recorded {
                Ok(recorded) => {
                    out.new_transfers = recorded.new_transfers;
                    out.notifications = recorded.notifications;
                }
                Err(source) => {
                    // Nothing moved: the next poll scans the same blocks again.
                    out.cursors = cursor::stored_cursors(chain, stored);
                    out.errors.push(ScanError::Record {
                        chain: chain.name,
                        source,
                    });
                    // The deep pass's finds were not recorded either.
                    return;
                }
            }
        }
        // Only once its finds are recorded does the deep cursor move.
        let mut deep = self.deep.borrow_mut();
        for (contract, block) in deep_moves {
            self.pair_cache.prune(chain.id, &contract, block);
            deep.insert((chain.id, contract), block);
        }
    }
}

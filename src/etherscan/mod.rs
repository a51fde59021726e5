//! The scanner: watches every configured chain and token through the
//! Etherscan API V2 and records the transfers that touch a watched address.
//!
//! Each [`Poll`] (from the ticker) does, per chain: one `eth_blockNumber`
//! call for the head; for each token, `getLogs` over the blocks from the
//! token's cursor + 1 to the *safe* head (head − confirmations), filtered by
//! the token's registry contract and the Transfer topic, paginated and split
//! as [`scan`] describes; decoding ([`decode`]); matching `from`/`to` against
//! the in-memory set of watched addresses; and then ONE
//! [`RecordPollResult`] with the matches and the new cursors, so that a
//! cursor never moves past a transfer that was not recorded. The number of
//! calls depends on the number of logs, never on the number of watched
//! addresses (the prior bot's one `tokentx` call per address per token is
//! what could not scale).
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
pub mod limiter;
pub mod scan;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::SystemTime;

use actix::{Actor, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::app::Shared;
use crate::db::cursors::{Cursors, GetCursors};
use crate::db::poll_result::RecordPollResult;
use crate::db::subscriptions::{WatchedAddresses, WatchedSet};
use crate::domain::{Address, Chain, Token};
use crate::metrics::Counters;
use crate::supervisor::{ChildGuard, Control, obey};

pub use client::{EtherscanClient, RetryPolicy};
pub use error::{Action, ApiError, ScanError};

/// Scan every configured chain and token up to the safe head.
///
/// `Err` only when the poll could not start (the watched addresses or the
/// cursors could not be read); failures of single chains or tokens are in
/// the summary, and their cursors stay where they were.
#[derive(Debug, Message)]
#[rtype(result = "Result<PollSummary, ScanError>")]
pub struct Poll;

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollSummary {
    pub chains: Vec<ChainSummary>,
}

impl PollSummary {
    /// Etherscan calls made by the poll (all chains, retries included).
    pub fn calls(&self) -> u64 {
        self.chains.iter().map(|c| c.calls).sum()
    }

    pub fn errors(&self) -> impl Iterator<Item = &ScanError> {
        self.chains.iter().flat_map(|c| c.errors.iter())
    }

    pub fn new_transfers(&self) -> usize {
        self.chains.iter().map(|c| c.new_transfers).sum()
    }
}

/// What one poll did on one chain.
#[derive(Debug, Default)]
pub struct ChainSummary {
    pub chain: &'static str,
    pub head: Option<u64>,
    pub safe_head: Option<u64>,
    /// Etherscan calls for this chain, retries included.
    pub calls: u64,
    /// Log items received, rejected as malformed, and matching a watched address.
    pub logs: usize,
    pub rejected: usize,
    pub matched: usize,
    /// What the database recorded.
    pub new_transfers: usize,
    pub notifications: usize,
    /// Cursor per token contract after the poll (unchanged ones included).
    pub cursors: Vec<(Address, u64)>,
    pub errors: Vec<ScanError>,
}

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
            shared.secrets.etherscan_key.clone(),
            shared.metrics.clone(),
            retry,
        );
        EtherscanActor {
            scanner: Rc::new(Scanner {
                chains: shared.config.chains(),
                client,
                shared,
                watched: RefCell::new(None),
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
    /// The watched set and the version it was read at.
    watched: RefCell<Option<(i64, WatchedSet)>>,
}

/// The chain's stored cursors, unchanged (a poll that could not move them).
fn stored_cursors(chain: &Chain, stored: &Cursors) -> Vec<(Address, u64)> {
    chain
        .tokens
        .iter()
        .filter_map(|t| {
            Some((
                t.contract.clone(),
                *stored.get(&(chain.id, t.contract.clone()))?,
            ))
        })
        .collect()
}

/// Adapts the client to [`scan::LogSource`] for one chain and token.
struct TokenLogs<'a> {
    client: &'a EtherscanClient,
    chain: &'a Chain,
    token: &'a Token,
}

impl scan::LogSource for TokenLogs<'_> {
    async fn page(
        &self,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        self.client
            .transfer_logs(self.chain, &self.token.contract, from, to, page, offset)
            .await
    }
}

impl Scanner {
    async fn poll(&self) -> Result<PollSummary, ScanError> {
        Counters::add(&self.shared.metrics.counters.polls, 1);
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
        let mut summary = PollSummary::default();
        for chain in &self.chains {
            let outcome = self.poll_chain(chain, &cursors).await;
            let account_wide = outcome.errors.iter().find_map(|e| match e.api() {
                Some(
                    e @ (ApiError::InvalidKey(_)
                    | ApiError::RateLimited(_)
                    | ApiError::DailyLimit(_)),
                ) => Some(e.clone()),
                _ => None,
            });
            summary.chains.push(outcome);
            if let Some(e) = account_wide {
                // A key's limits are shared by every chain: every other call
                // would be refused the same way. The next poll tries again.
                tracing::warn!(actor = "etherscan", error = %e, "skipping the rest of this poll");
                break;
            }
        }
        Ok(summary)
    }

    /// Reloads the watched set if it changed since the last poll.
    async fn refresh_watched(&self) -> Result<(), ScanError> {
        let known = self.watched.borrow().as_ref().map(|(v, _)| *v);
        let fresh = self
            .shared
            .db
            .exec(WatchedAddresses {
                known_version: known,
            })
            .await
            .map_err(|source| ScanError::Load {
                what: "the watched addresses",
                source,
            })?;
        if let Some((version, set)) = fresh {
            let total: usize = set.values().map(HashSet::len).sum();
            tracing::debug!(
                actor = "etherscan",
                version,
                addresses = total,
                "watched set reloaded"
            );
            *self.watched.borrow_mut() = Some((version, set));
        }
        Ok(())
    }

    /// Is `address` watched on `chain_id`?
    fn is_watched(&self, chain_id: u64, address: &Address) -> bool {
        self.watched
            .borrow()
            .as_ref()
            .and_then(|(_, set)| set.get(&chain_id))
            .is_some_and(|s| s.contains(address))
    }

    async fn poll_chain(&self, chain: &Chain, stored: &Cursors) -> ChainSummary {
        let calls_before = self.client.calls_sent();
        let mut out = ChainSummary {
            chain: chain.name,
            ..ChainSummary::default()
        };
        self.scan_chain(chain, stored, &mut out).await;
        out.calls = self.client.calls_sent() - calls_before;
        self.report(chain, &out);
        out
    }

    async fn scan_chain(&self, chain: &Chain, stored: &Cursors, out: &mut ChainSummary) {
        let config = &self.shared.config;
        let head = match self.client.block_number(chain).await {
            Ok(h) => h,
            Err(source) => {
                out.errors.push(ScanError::Head {
                    chain: chain.name,
                    action: Action::BlockNumber,
                    source,
                });
                out.cursors = stored_cursors(chain, stored);
                return;
            }
        };
        // The watched set must be at least as new as the head: reading the
        // head may have taken seconds (retries, backoff), and an address
        // added meanwhile must see the transfers of every block up to that
        // head, or the cursor moves past them for good.
        if let Err(e) = self.refresh_watched().await {
            out.errors.push(e);
            out.cursors = stored_cursors(chain, stored);
            return;
        }
        let safe = head.saturating_sub(config.monitor.confirmations);
        out.head = Some(head);
        out.safe_head = Some(safe);

        let mut transfers = Vec::new();
        let mut advanced: Vec<(Address, u64)> = Vec::new();
        for token in &chain.tokens {
            let symbol = token.symbol.as_str();
            let Some(&cursor) = stored.get(&(chain.id, token.contract.clone())) else {
                // First sight of this chain/token: start at the safe head.
                // History before the daemon watched is not notified.
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    token = symbol,
                    block = safe,
                    "new cursor at the safe head (no backfill)"
                );
                advanced.push((token.contract.clone(), safe));
                out.cursors.push((token.contract.clone(), safe));
                continue;
            };
            if cursor >= safe {
                out.cursors.push((token.contract.clone(), cursor));
                continue;
            }
            let from = cursor + 1;
            let to = safe.min(cursor.saturating_add(config.etherscan.max_blocks_per_poll));
            if to < safe {
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    token = symbol,
                    from_block = from,
                    to_block = to,
                    behind = safe - to,
                    "catching up in bounded steps"
                );
            }
            let source = TokenLogs {
                client: &self.client,
                chain,
                token,
            };
            let scan = scan::scan_token(&source, chain, token, from, to, |t| {
                self.is_watched(chain.id, &t.from) || self.is_watched(chain.id, &t.to)
            })
            .await;
            out.logs += scan.logs;
            out.rejected += scan.rejected;
            out.matched += scan.transfers.len();
            transfers.extend(scan.transfers);
            let now_at = scan.scanned_to.unwrap_or(cursor);
            if let Some(done) = scan.scanned_to {
                advanced.push((token.contract.clone(), done));
            }
            out.cursors.push((token.contract.clone(), now_at));
            if let Some(e) = scan.error {
                tracing::warn!(actor = "etherscan", chain = chain.name, token = symbol,
                    cursor = now_at, error = %e, "token scan incomplete; the cursor stays before the gap");
                out.errors.push(e);
                // Retries are exhausted (or pointless): the chain's other
                // tokens wait for the next poll. This bounds how long a bad
                // spell can stretch one poll (and a shutdown waiting on it).
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

        if transfers.is_empty() && advanced.is_empty() {
            return;
        }
        let record = RecordPollResult::new(chain.id, transfers, advanced, self.shared.spam.clone());
        match self.shared.db.exec(record).await {
            Ok(recorded) => {
                out.new_transfers = recorded.new_transfers;
                out.notifications = recorded.notifications;
                if recorded.notifications > 0 {
                    self.shared.outbox_ready.notify_one();
                }
            }
            Err(source) => {
                // Nothing moved: the next poll scans the same blocks again.
                out.cursors = stored_cursors(chain, stored);
                out.errors.push(ScanError::Record {
                    chain: chain.name,
                    source,
                });
            }
        }
    }

    /// Logs the chain's poll and updates its health.
    fn report(&self, chain: &Chain, out: &ChainSummary) {
        let cursor = out.cursors.iter().map(|(_, c)| *c).min();
        let last_error = out.errors.last().map(ToString::to_string);
        if out.errors.is_empty() {
            let level_info = out.new_transfers > 0;
            if level_info {
                tracing::info!(
                    actor = "etherscan",
                    chain = chain.name,
                    head = out.head,
                    cursor,
                    calls = out.calls,
                    logs = out.logs,
                    matched = out.matched,
                    new_transfers = out.new_transfers,
                    notifications = out.notifications,
                    "poll done"
                );
            } else {
                tracing::debug!(
                    actor = "etherscan",
                    chain = chain.name,
                    head = out.head,
                    cursor,
                    calls = out.calls,
                    logs = out.logs,
                    matched = out.matched,
                    "poll done"
                );
            }
        } else {
            tracing::warn!(
                actor = "etherscan",
                chain = chain.name,
                head = out.head,
                cursor,
                calls = out.calls,
                new_transfers = out.new_transfers,
                errors = out.errors.len(),
                last_error = last_error.as_deref().unwrap_or(""),
                "poll incomplete"
            );
        }
        self.shared.metrics.chain(chain.id, |h| {
            h.name = chain.display.to_string();
            if out.head.is_some() {
                h.head = out.head;
            }
            if cursor.is_some() {
                h.cursor = cursor;
            }
            if out.errors.is_empty() {
                h.last_ok_poll = Some(SystemTime::now());
                h.last_error = None;
            } else {
                h.last_error = last_error;
            }
        });
    }
}

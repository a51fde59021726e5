//! The scanner: watches every configured chain and token through the
//! Etherscan API V2 and records the transfers that touch a watched address.
//!
//! The poll itself — pause gate, watched set, cursors, head, first pass,
//! deep pass, one record, the per-token failure rule — is
//! [`scanner::poll`](crate::scanner::poll)'s, written once for every
//! provider. This module is Etherscan's side of it: the head is one
//! `eth_blockNumber` call and the *safe* head is head − confirmations; a
//! token's range is `getLogs` filtered by the token's registry contract and
//! the Transfer topic, paginated and split as [`scan`] describes, decoded by
//! [`decode`]; one address's range is `tokentx` ([`tokentx`]). The number of
//! calls in logs mode depends on the number of logs, never on the number of
//! watched addresses (the prior bot's one `tokentx` call per address per
//! token is what could not scale).
//!
//! **An index that trails its head.** An explorer's getLogs index can lag
//! the head its own `eth_blockNumber` reports: it answers `[]` for blocks
//! it has not indexed yet. The frame's deep pass scans every block once
//! more when it is `rescan_depth` blocks behind the safe head (per chain,
//! `monitor.rescan_depth`, about three minutes of blocks by default; 0 turns
//! it off), bounded per poll by `etherscan.max_blocks_per_poll` like the
//! first pass; it never goes below the block a cursor was created at (no
//! history from before the daemon watched, across restarts too).
//!
//! **An unknown head** (`"0x"`, null, an error object) is never a number:
//! the chain's poll is skipped and `/status` keeps the last known head. A
//! head below the cursor is suspect: logged, nothing moves.
//!
//! **Per-address mode.** A chain with few watched addresses is cheaper to
//! scan with one `tokentx` query per address and token (`monitor.scan_mode`,
//! chosen per chain and poll by [`mode`] through the hooks in
//! `per_address.rs`, one address's query done by [`tokentx`]): same cursor, same deep-pass cursor and the
//! same (chain, tx hash, log index) key per transfer as the logs scan, so a
//! switch between the two loses and repeats nothing.
//!
//! **A paused provider** (daily cap, revoked key: [`pause`]) gets no call
//! until its next probe; chains with a Blockscout instance are served by
//! it meanwhile (the pool below).
//!
//! **A provider pool per chain.** Every chain is scanned by the first
//! answering source of its pool ([`sources`], [`crate::scanner::pool`]):
//! Etherscan, then the chain's Blockscout instance where it has one; head
//! and logs of one poll always come from the same source. A pool of one
//! (no Blockscout for the chain) still keeps a record: when Etherscan keeps
//! failing, `/status` says "no working source" and the admins are told
//! once, and again when it answers.
//!
//! The Poll handler is atomic: while a poll runs, the actor handles nothing
//! else, so the supervisor's `Control::Stop` waits for the poll to finish
//! and persist. A panic is the supervisor's to restart; the next poll
//! resumes from the stored cursors, and re-recording is idempotent (unique
//! on chain, transaction hash and log index).

pub mod api;
pub mod blockscout;
pub mod client;
pub mod decode;
pub mod deps;
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

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use actix::{Actor, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::db::DbError;
use crate::db::cursors::Cursors;
use crate::domain::{Address, Chain, Token, Transfer};
use crate::metrics::Counters;
use crate::scanner;
use crate::scanner::kind::{Classify, Kind};
use crate::scanner::pause::skip_poll;
use crate::scanner::poll::{self, Failure, Found, Frame, Gate, Head, Pass};
use crate::supervisor::{ChildGuard, Control, obey};
use blockscout::BlockscoutClient;

use crate::scanner::pool::Pools;
use source::{Provider, Source, TokenLogs};

pub use client::{EtherscanClient, RetryPolicy};
pub use deps::Deps;
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
    pub fn new(deps: Deps, guard: ChildGuard) -> Self {
        Self::with_retry(deps, guard, RetryPolicy::default())
    }

    /// As [`new`](Self::new), with another retry policy (tests use short backoffs).
    pub fn with_retry(deps: Deps, guard: ChildGuard, retry: RetryPolicy) -> Self {
        let client = EtherscanClient::new(
            &deps.config.etherscan,
            deps.key.clone(),
            deps.scanner.provider(),
            retry,
        );
        let chains = deps.config.evm_chains();
        let fallback = BlockscoutClient::new(
            &deps.config.blockscout,
            &deps.config.etherscan,
            &chains,
            deps.scanner.provider(),
            retry,
        );
        let mut rpc = HashMap::new();
        for c in &chains {
            match crate::rpc::clients(&deps.config, c, &deps.scanner.provider(), retry) {
                Ok(list) if !list.is_empty() => {
                    rpc.insert(c.id, list);
                }
                Ok(_) => {}
                // Checked at start (`Secrets::from_env`): names the variable only.
                Err(e) => tracing::error!(actor = "etherscan", chain = c.name, error = %e,
                    "JSON-RPC endpoints unusable; the chain is read without them"),
            }
        }
        let has_key = !deps.key.expose().is_empty();
        let pools = Pools::new(
            "etherscan",
            chains.iter().map(|c| {
                let hosts: Vec<&str> = rpc
                    .get(&c.id)
                    .map(|l: &Vec<crate::rpc::RpcClient>| l.iter().map(|r| r.host()).collect())
                    .unwrap_or_default();
                let pool =
                    sources::new_pool(&deps.config.blockscout, &hosts, has_key, fallback.serves(c));
                (c.id, pool)
            }),
            deps.scanner.health.clone(),
            deps.scanner.alerts.clone(),
        );
        EtherscanActor {
            scanner: Rc::new(Scanner {
                chains,
                client,
                fallback,
                rpc,
                pools,
                quota: RefCell::default(),
                frame: Frame::new(
                    deps.scanner.frame(),
                    "etherscan",
                    deps.config.etherscan.max_blocks_per_poll,
                ),
                primary_down: Cell::new(false),
                deps,
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
            async move { poll::poll(&*scanner).await }.into_actor(self),
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
    deps: Deps,
    chains: Vec<Chain>,
    client: EtherscanClient,
    /// The fallback for chains that have a Blockscout instance.
    fallback: BlockscoutClient,
    /// Each chain's JSON-RPC endpoints, in order (chains with `[rpc.<chain>]`).
    rpc: HashMap<u64, Vec<crate::rpc::RpcClient>>,
    /// The provider pool of each chain: Etherscan, then Blockscout where
    /// the chain has an instance.
    pools: Pools<Provider>,
    /// The daily call budget's counts.
    quota: RefCell<quota::Quota>,
    /// The poll's frame: watched set, deep cursors.
    frame: Frame,
    /// Etherscan is paused, or refused an earlier chain of this poll
    /// account-wide: the chains left go to their fallback (or wait).
    primary_down: Cell<bool>,
    /// Each chain's scan mode and what its estimate has seen.
    modes: RefCell<HashMap<u64, mode::ChainMode>>,
    /// Log indexes already looked up for `tokentx` rows.
    pair_cache: tokentx::PairCache,
}

impl Failure for ScanError {
    fn kind(&self) -> Option<Kind> {
        match self {
            ScanError::Rpc(f) => Some(f.kind()),
            _ => self.api().map(Classify::kind),
        }
    }

    /// A rejected key and the daily cap pause Etherscan with an alert; a
    /// chain the plan does not cover (the only refusal) has its own. A
    /// JSON-RPC endpoint tells nobody itself: its pool does.
    fn told(&self) -> bool {
        matches!(
            self.api().map(Classify::kind),
            Some(Kind::RejectedKey | Kind::Paused | Kind::Refused)
        )
    }

    fn head_behind(chain: &Chain, head: u64, cursor: u64) -> Self {
        ScanError::HeadBehind {
            chain: chain.name,
            head,
            cursor,
        }
    }

    fn record(chain: &Chain, source: DbError) -> Self {
        ScanError::Record {
            chain: chain.name,
            source,
        }
    }

    fn load(what: &'static str, source: DbError) -> Self {
        ScanError::Load { what, source }
    }
}

/// One chain's source for one poll: Etherscan or the Blockscout fallback,
/// with the scanner's Etherscan-only parts (scan mode, `tokentx` cache).
struct Evm<'a> {
    scanner: &'a Scanner,
    source: Source<'a>,
    /// When the chain's poll on this source began (the pool's latency).
    started: Instant,
}

impl poll::Source for Evm<'_> {
    type Error = ScanError;

    async fn head(&self, chain: &Chain) -> Result<Head, ScanError> {
        if let Source::Rpc(_, client) = self.source {
            let (number, safe) = client
                .head()
                .await
                .map_err(|source| crate::rpc::RpcFailure {
                    host: client.host().to_string(),
                    chain: chain.name,
                    what: "head".into(),
                    source,
                })?;
            return Ok(Head { number, safe });
        }
        let number = (self.source.block_number(chain).await).map_err(|source| ScanError::Head {
            chain: chain.name,
            action: Action::BlockNumber,
            source,
        })?;
        let confirmations = self.scanner.deps.config.monitor.confirmations;
        Ok(Head {
            number,
            safe: number.saturating_sub(confirmations),
        })
    }

    async fn logs(
        &self,
        chain: &Chain,
        token: &Token,
        from: u64,
        to: u64,
        pass: Pass,
        keep: &dyn Fn(&Transfer) -> bool,
    ) -> Found<ScanError> {
        if let Source::Rpc(_, client) = self.source {
            let first = pass == Pass::First;
            let scan =
                crate::rpc::scan::scan_token(client, chain, token, (from, to), first, keep).await;
            return Found {
                transfers: scan.transfers,
                scanned_to: scan.scanned_to,
                items: scan.items,
                rejected: scan.rejected,
                error: scan.error.map(|(a, b, source)| {
                    ScanError::Rpc(crate::rpc::RpcFailure {
                        host: client.host().to_string(),
                        chain: chain.name,
                        what: format!("{} eth_getLogs blocks {a}..={b}", token.symbol.as_str()),
                        source,
                    })
                }),
            };
        }
        let logs = TokenLogs {
            source: self.source,
            chain,
            token,
        };
        let range = match pass {
            Pass::First => scan::Range::new(from, to),
            Pass::Again => scan::Range::again(from, to),
        };
        let scan = scan::scan_token(&logs, chain, token, range, keep).await;
        Found {
            transfers: scan.transfers,
            scanned_to: scan.scanned_to,
            items: scan.logs,
            rejected: scan.rejected,
            error: scan.error,
        }
    }

    async fn address(
        &self,
        chain: &Chain,
        token: &Token,
        address: &Address,
        from: u64,
        to: u64,
    ) -> Found<ScanError> {
        let place = tokentx::Place {
            client: &self.scanner.client,
            chain,
            token,
            cache: &self.scanner.pair_cache,
        };
        let scan = tokentx::scan_address(&place, address, from, to).await;
        self.scanner.rows_received(chain, scan.rows);
        Found {
            transfers: scan.transfers,
            scanned_to: scan.error.is_none().then_some(to),
            items: scan.rows,
            rejected: scan.rejected,
            error: scan.error,
        }
    }

    /// Per-address queries are Etherscan's (`tokentx`); on the fallback the
    /// head came from Blockscout, and so must the logs (one provider per
    /// range), so a chain on Blockscout scans by logs.
    fn method(&self, chain: &Chain) -> poll::Method {
        if self.source.provider() != Provider::Etherscan {
            return poll::Method::Logs;
        }
        match self.scanner.choose_mode(chain) {
            Method::Logs => poll::Method::Logs,
            Method::PerAddress => poll::Method::PerAddress,
        }
    }

    fn calls_sent(&self) -> u64 {
        self.source.calls_sent()
    }

    fn deep_moved(&self, chain: &Chain, contract: &Address, block: u64) {
        self.scanner.pair_cache.prune(chain.id, contract, block);
    }
}

impl poll::Scanner for Scanner {
    type Error = ScanError;
    type Source<'a> = Evm<'a>;

    fn frame(&self) -> &Frame {
        &self.frame
    }

    fn chains(&self) -> &[Chain] {
        &self.chains
    }

    /// The daily call budget, then Etherscan's pause: a paused Etherscan
    /// still polls the chains that have a fallback.
    async fn gate(&self) -> Gate {
        Counters::add(&self.deps.scanner.counters.polls, 1);
        // Chains with JSON-RPC endpoints are polled while Etherscan's call
        // budget is stretched or spent (the budget is Etherscan's); without
        // any, a stretched poll makes no call at all, as before.
        let rpc = (self.chains.iter()).any(|c| self.rpc.contains_key(&c.id));
        let spent = self.budget_gate().await;
        if let Some(line) = &spent
            && !rpc
        {
            return Gate::Paused(line.clone());
        }
        // Chains with another source (JSON-RPC endpoints, Blockscout) are
        // polled while Etherscan is paused.
        let others = rpc || (self.chains.iter()).any(|c| self.fallback.serves(c));
        let paused = skip_poll(
            &self.deps.scanner.pauses,
            &self.deps.scanner.counters,
            pause::PROVIDER,
            "etherscan",
        );
        if let Some(line) = &paused
            && !others
        {
            return Gate::Paused(line.clone());
        }
        self.primary_down.set(paused.is_some() || spent.is_some());
        Gate::Poll {
            paused: paused.or(spent),
        }
    }

    fn source(&self, chain: &Chain) -> Option<Evm<'_>> {
        let source = self.choose_source(chain, self.primary_down.get())?;
        Some(Evm {
            scanner: self,
            source,
            started: Instant::now(),
        })
    }

    fn chain_done(&self, chain: &Chain, evm: &Evm<'_>, stored: &Cursors, out: &ChainSummary) {
        self.observe_mode(chain, stored, out);
        self.record_outcome(chain, evm.source, out, evm.started.elapsed());
        if let Some(list) = self.rpc.get(&chain.id) {
            let ranges: std::collections::BTreeMap<String, u64> = (list.iter())
                .filter_map(|c| Some((c.host().to_string(), c.range_cap()?)))
                .collect();
            (self.deps.scanner.health).chain(chain.id, |h| h.block_ranges = ranges);
        }
        if evm.source.provider() != Provider::Etherscan {
            return;
        }
        // A key's limits are shared by every chain: after one of these
        // answers every other call would be refused the same way.
        let account_wide = out.errors.iter().find_map(|e| match e.api() {
            Some(
                e @ (ApiError::InvalidKey(_) | ApiError::RateLimited(_) | ApiError::DailyLimit(_)),
            ) => Some(e.clone()),
            _ => None,
        });
        if let Some(e) = account_wide {
            tracing::warn!(actor = "etherscan", error = %e,
                "no more Etherscan calls this poll; chains with a fallback use Blockscout");
            self.primary_down.set(true);
        }
    }

    async fn poll_done(&self) {
        self.record_calls().await;
    }
}

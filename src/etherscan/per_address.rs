//! The two hooks of the scan-mode decision ([`mode`](super::mode)) — which
//! scan a chain uses this poll (`choose_mode`, after the head and the
//! watched set are read) and what the poll cost (`observe_mode`, after it) —
//! and what per-address mode means for the cursors. The per-address loop
//! itself (every watched address, one query each) is the poll frame's
//! (`scanner::poll`); one address's query is [`tokentx`](super::tokentx).
//!
//! **Cursor.** One cursor per (chain, token), shared by both modes: in
//! per-address mode it moves to the safe head (bounded by
//! `etherscan.max_blocks_per_poll`) only when *every* watched address was
//! scanned up to it; one failure and it stays (what was found is recorded
//! anyway, and recorded again harmlessly next poll). An address added later
//! is simply in the next poll's list, queried from the shared cursor: it
//! sees every transfer after the cursor, as the logs scan would (the set is
//! re-read after the head, like the logs scan's).
//!
//! **Deep pass.** The `tokentx` index can trail the head like getLogs', so
//! each address's query starts at the deep cursor + 1 rather than the
//! cursor + 1: the last `rescan_depth` blocks are read again by the same
//! single query, at no extra call (the deep cursor then moves to the new
//! cursor − `rescan_depth`, and is shared with the logs scan's deep pass,
//! so a switch neither skips nor repeats a deep scan). Rows seen again are
//! keyed from a cache, not looked up twice.

use std::time::Instant;

use actix::{Context, Handler, Message};

use super::mode::{ChainMode, Inputs, Limits, Method, PollCost, body_bytes, fingerprint};
use super::{ChainSummary, EtherscanActor, Scanner};
use crate::db::cursors::Cursors;
use crate::domain::Chain;

/// Pins a chain to one scan mode (`Some`), whatever `monitor.scan_mode`
/// says, or lets the setting decide again (`None`). For operators and
/// tests; logged like any switch, applied from the next poll.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetScanMode {
    pub chain_id: u64,
    pub pin: Option<Method>,
}

impl Handler<SetScanMode> for EtherscanActor {
    type Result = ();
    fn handle(&mut self, msg: SetScanMode, _: &mut Context<Self>) {
        tracing::info!(
            actor = "etherscan",
            chain_id = msg.chain_id,
            pin = msg.pin.map(Method::as_str),
            "scan mode pinned"
        );
        let mut modes = self.scanner.modes.borrow_mut();
        modes.entry(msg.chain_id).or_default().pinned = msg.pin;
    }
}

impl Scanner {
    /// The chain's mode for this poll, decided by [`ChainMode::choose`] for
    /// the watched set as just re-read; logs a switch (or a new reason for
    /// the same mode) and updates `/status`.
    pub(super) fn choose_mode(&self, chain: &Chain) -> Method {
        let config = &self.deps.config;
        let watched = self.frame.watched.on_chain(chain.id);
        let inputs = Inputs {
            addresses: watched.len() as u64,
            set: fingerprint(&watched),
            tokens: chain.tokens.len() as u64,
            rescan_depth: chain.rescan_depth,
            limits: Limits::new(
                config.etherscan.requests_per_second,
                config.etherscan.daily_limit,
                config.monitor.poll_interval,
                self.chains.len(),
            ),
            recheck: config.monitor.scan_mode_recheck,
        };
        let mut modes = self.modes.borrow_mut();
        let mode: &mut ChainMode = modes.entry(chain.id).or_default();
        mode.deep_at_start = (chain.tokens.iter())
            .map(|t| self.frame.deep_at(chain.id, &t.contract))
            .collect();
        let why_before = mode.why.clone();
        let switch = mode.choose(config.monitor.scan_mode, &inputs, Instant::now());
        let line = mode.describe();
        if let Some((from, to)) = switch {
            tracing::info!(
                actor = "etherscan",
                chain = chain.name,
                from = from.as_str(),
                to = to.as_str(),
                addresses = inputs.addresses,
                estimate = %line,
                "scan mode switched"
            );
        } else if mode.why != why_before {
            // The same mode for another reason (the first decision, a
            // watched set that changed): said once, not every poll.
            tracing::info!(
                actor = "etherscan",
                chain = chain.name,
                mode = mode.method.as_str(),
                addresses = inputs.addresses,
                estimate = %line,
                "scan mode kept"
            );
        }
        self.deps
            .scanner
            .health
            .chain(chain.id, |h| h.scan_mode = Some(line));
        mode.method
    }

    /// After a poll of `chain`: what it cost, to [`ChainMode::observe`] —
    /// measured only when the poll was complete (no error, every token
    /// already had a cursor and reached the safe head) and steady (the deep
    /// pass `rescan_depth` behind before and after: see [`mode`](super::mode)),
    /// so retries, catch-up, first sight and the deep pass's warm-up do not
    /// count as a mode's cost. Calls as the client
    /// counted them (`out.calls`), bytes from what the answers held
    /// ([`body_bytes`]): log items of both passes, `tokentx` rows, and one
    /// `getLogs` item per log-index look-up of a new own transfer.
    pub(super) fn observe_mode(&self, chain: &Chain, stored: &Cursors, out: &ChainSummary) {
        let mut modes = self.modes.borrow_mut();
        let mode = modes.entry(chain.id).or_default();
        let depth = chain.rescan_depth;
        let mut blocks = Some(0u64);
        for (i, token) in chain.tokens.iter().enumerate() {
            let key = (chain.id, token.contract.clone());
            let from = stored.get(&key);
            let to = out.cursors.iter().find(|(c, _)| *c == token.contract);
            let deep_from = mode.deep_at_start.get(i).copied().flatten();
            let deep_to = self.frame.deep_at(chain.id, &token.contract);
            blocks = match (blocks, from, to, out.safe_head) {
                (Some(b), Some(&from), Some(&(_, to)), Some(safe))
                    if to >= safe
                        && (depth == 0
                            || (deep_from == Some(from.saturating_sub(depth))
                                && deep_to == Some(to.saturating_sub(depth)))) =>
                {
                    Some(b.max(to.saturating_sub(from)))
                }
                _ => None,
            };
        }
        let cost = blocks.filter(|_| out.errors.is_empty()).map(|blocks| {
            let rows = mode.rows_received();
            let lookups = if rows > 0 { out.new_transfers } else { 0 };
            let logs = (out.logs + out.deep_logs + lookups) as u64;
            PollCost {
                calls: out.calls,
                bytes: body_bytes(out.calls, logs, rows),
                blocks,
                new_transfers: out.new_transfers as u64,
                addresses: self.frame.watched.on_chain(chain.id).len() as u64,
                tokens: chain.tokens.len() as u64,
            }
        });
        mode.observe(cost);
    }

    /// Counts `tokentx` rows received for the chain's estimate.
    pub(super) fn rows_received(&self, chain: &Chain, rows: usize) {
        let mut modes = self.modes.borrow_mut();
        modes.entry(chain.id).or_default().rows(rows as u64);
    }
}

//! What one poll did, per chain, and how it is reported: the log line and
//! the chain's health (head, cursor, lag, last error) that `/status`,
//! `/healthz` and `/metrics` read. Shared by every scanner; `E` is the
//! scanner's own error type (`etherscan::ScanError`, `tron::TronError`).

use std::fmt::Display;
use std::time::SystemTime;

use crate::domain::{Address, Chain};
use crate::metrics::Health;

/// What one poll did.
#[derive(Debug)]
pub struct PollSummary<E> {
    pub chains: Vec<ChainSummary<E>>,
    /// The provider was paused and no call was made: why (the `/status` line).
    pub paused: Option<String>,
}

impl<E> Default for PollSummary<E> {
    fn default() -> Self {
        PollSummary {
            chains: Vec::new(),
            paused: None,
        }
    }
}

impl<E> PollSummary<E> {
    /// Provider calls made by the poll (all chains, retries included).
    pub fn calls(&self) -> u64 {
        self.chains.iter().map(|c| c.calls).sum()
    }

    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.chains.iter().flat_map(|c| c.errors.iter())
    }

    pub fn new_transfers(&self) -> usize {
        self.chains.iter().map(|c| c.new_transfers).sum()
    }
}

/// What one poll did on one chain.
#[derive(Debug)]
pub struct ChainSummary<E> {
    pub chain: &'static str,
    /// The head read by this poll (for Tron: the solidified head).
    pub head: Option<u64>,
    /// The highest block scanned as final (EVM: head − confirmations).
    pub safe_head: Option<u64>,
    /// Provider calls for this chain, retries included.
    pub calls: u64,
    /// Log (event) items received by the first pass, rejected as malformed
    /// (first pass only), and matching a watched address (both passes).
    pub logs: usize,
    pub rejected: usize,
    pub matched: usize,
    /// Log items received again by a deep pass (Etherscan: blocks
    /// `rescan_depth` behind the safe head, scanned a second time).
    pub deep_logs: usize,
    /// What the database recorded.
    pub new_transfers: usize,
    pub notifications: usize,
    /// Cursor per token contract after the poll (unchanged ones included).
    pub cursors: Vec<(Address, u64)>,
    pub errors: Vec<E>,
    /// The source did not serve this poll, and why: its head failed or lay
    /// behind the cursor, or a provider-wide failure ended the chain's poll
    /// (the frame decides; a database failure is not the source's). What
    /// the chain's [pool](super::pool) counts against the source.
    pub source_failed: Option<SourceFailure>,
}

/// Why a source did not serve a chain's poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailure {
    /// The failure's text (never a URL or a key).
    pub why: String,
    /// The provider told the admins of it itself (a rejected key, a daily
    /// cap, a chain its plan does not cover: [`Failure::told`](super::poll::Failure::told)),
    /// so the pool adds no alert of its own for it.
    pub told: bool,
}

impl<E> Default for ChainSummary<E> {
    fn default() -> Self {
        ChainSummary {
            chain: "",
            head: None,
            safe_head: None,
            calls: 0,
            logs: 0,
            rejected: 0,
            matched: 0,
            deep_logs: 0,
            new_transfers: 0,
            notifications: 0,
            cursors: Vec::new(),
            errors: Vec::new(),
            source_failed: None,
        }
    }
}

/// Logs the chain's poll (`actor`: the scanner's child name) and updates
/// its health.
///
/// The head shown is the last one known: a poll without a usable head
/// leaves it as it was.
pub fn report<E: Display>(
    health: &Health,
    actor: &'static str,
    chain: &Chain,
    out: &ChainSummary<E>,
) {
    let cursor = out.cursors.iter().map(|(_, c)| *c).min();
    let last_error = out.errors.last().map(ToString::to_string);
    if out.errors.is_empty() {
        if out.new_transfers > 0 {
            tracing::info!(
                actor,
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
                actor,
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
            actor,
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
    health.chain(chain.id, |h| {
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

//! What every scanner shares (the Etherscan scanner in `etherscan`, the
//! Tron scanner in `tron`): the pieces that are "a scanner", not a provider.
//!
//! - [`poll`]: THE poll, written once — pause gate, watched set, cursors,
//!   head, first pass, deep pass (never below a cursor's stored floor), one
//!   record, then the in-memory cursors; the per-token failure rule; the
//!   traits a provider implements to be scanned;
//! - [`watched`]: the in-memory watched set, re-read after the head;
//! - [`record`]: the ONE atomic `RecordPollResult` per chain and poll, so a
//!   cursor never passes a transfer that was not recorded;
//! - [`cursor`]: stored cursors, first sight (start at the safe head, no
//!   backfill), a head behind the cursor;
//! - [`retry`]: the classification of a failed call into back off / retry /
//!   split / give up, and the bounded retry policy;
//! - [`pause`]: no call while the provider is paused (daily cap, key);
//! - [`limiter`]: the sliding-window rate limiter, one per provider client;
//! - [`summary`]: poll summaries, the log line and the per-chain health
//!   (head, cursor, lag) that `/status` shows.
//!
//! Moved here from `etherscan` (issue 10) and, for the poll itself, from
//! both scanners (issue 17); providers keep only their quirks (Etherscan's
//! getLogs paging and splitting, `tokentx`, NOTOK answers; TronGrid's time
//! windows and fingerprints) in their own modules, and no provider module
//! imports another's.

pub mod budget;
pub mod cursor;
pub mod http;
pub mod kind;
pub mod limiter;
pub mod pause;
pub mod poll;
pub mod record;
pub mod retry;
pub mod summary;
pub mod watched;

pub use summary::{ChainSummary, PollSummary};

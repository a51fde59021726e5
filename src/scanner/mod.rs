//! What every scanner shares (the Etherscan scanner in `etherscan`, the
//! Tron scanner in `tron`): the pieces that are "a scanner", not a provider.
//!
//! - [`watched`]: the in-memory watched set, re-read after the head;
//! - [`record`]: the ONE atomic `RecordPollResult` per chain and poll, so a
//!   cursor never passes a transfer that was not recorded;
//! - [`cursor`]: stored cursors, first sight (start at the safe head, no
//!   backfill), a head behind the cursor;
//! - [`retry`]: the classification of a failed call into back off / retry /
//!   split / give up, and the bounded retry policy;
//! - [`pause`]: no call while the provider is paused (daily cap, key);
//! - [`pool`]: a chain's ordered sources (providers) and their health:
//!   which one serves a poll, moving on, probing, moving back;
//! - [`limiter`]: the sliding-window rate limiter, one per provider client;
//! - [`summary`]: poll summaries, the log line and the per-chain health
//!   (head, cursor, lag) that `/status` shows.
//!
//! Moved here from `etherscan` (issue 10), generalised over the scanner's
//! error type where one was named; Etherscan's quirks (getLogs paging and
//! splitting, the deep pass, NOTOK answers) stay in `etherscan`.

pub mod budget;
pub mod cursor;
pub mod limiter;
pub mod pause;
pub mod pool;
pub mod record;
pub mod retry;
pub mod summary;
pub mod watched;

pub use summary::{ChainSummary, PollSummary};

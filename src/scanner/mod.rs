//! What every scanner shares (the Etherscan scanner in `etherscan`, the
//! Tron scanner in `tron`): the pieces that are "a scanner", not a provider.
//!
//! - [`watched`]: the in-memory watched set, re-read after the head;
//! - [`record`]: the ONE atomic `RecordPollResult` per chain and poll, so a
//!   cursor never passes a transfer that was not recorded;
//! - [`cursor`]: stored cursors, first sight (start at the safe head, no
//!   backfill), a head behind the cursor;
//! - [`kind`]: what a failed call means, whatever the provider ([`kind::Kind`],
//!   each provider's error says its kind through [`kind::Classify`]), and its
//!   `/metrics` outcome label;
//! - [`http`]: the one HTTP client builder and request exchange of every
//!   provider client: bounded connections, timeouts, bounded bodies,
//!   redirects never followed, transport errors without URLs;
//! - [`retry`]: the one retry loop every provider call goes through
//!   ([`retry::Caller`]): limiter, counts, outcome label, and back off /
//!   retry / split / give up decided from the kind, within a bounded
//!   policy;
//! - [`pause`]: no call while the provider is paused (daily cap, key);
//! - [`limiter`]: the sliding-window rate limiter, one per provider client;
//! - [`summary`]: poll summaries, the log line and the per-chain health
//!   (head, cursor, lag) that `/status` shows.
//!
//! Moved here from `etherscan` (issue 10), generalised over the scanner's
//! error type where one was named; Etherscan's quirks (getLogs paging and
//! splitting, the deep pass, NOTOK answers) stay in `etherscan`.

pub mod budget;
pub mod cursor;
pub mod http;
pub mod kind;
pub mod limiter;
pub mod pause;
pub mod record;
pub mod retry;
pub mod summary;
pub mod watched;

pub use summary::{ChainSummary, PollSummary};

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
//! - [`handles`]: what every scanner child is handed besides its config and key;
//! - [`pause`]: no call while the provider is paused (daily cap, key);
//! - [`pool`]: a chain's ordered sources (providers) and their health:
//!   which one serves a poll, moving on, probing, moving back;
//! - [`limiter`]: the sliding-window rate limiter, one per provider client;
//! - [`summary`]: poll summaries, the log line and the per-chain health
//!   (head, cursor, lag) that `/status` shows.
//!
//! # What a failed call leads to
//!
//! Every provider's error says its [`kind::Kind`]; what follows is decided
//! from the kind alone, once (the full table is in [`kind`]):
//!
//! - **retry**: transient (5xx, timeout, connection, an unexplained error
//!   answer) and malformed (an HTML page, a cut-off or non-JSON body, a body
//!   over the client's limit, a redirect, never followed) are tried again a
//!   few times with doubling backoff ([`retry::RetryPolicy`]); if they
//!   persist, the error ends the chain's poll and the cursors stay.
//! - **back off**: rate-limited waits the provider's wait (or a longer
//!   backoff) and tries again, a few times; a wait longer than the policy's
//!   longest is not waited within the poll: the provider pauses itself for
//!   it (TronGrid's 30 s suspension).
//! - **pause**: paused (a daily quota spent) and rejected key are given up
//!   at once and pause the provider until its probe ([`pause`]); the admins
//!   are told once per incident.
//! - **split**: too large is not repeated; the caller asks for a smaller
//!   block range.
//! - **give up**: refused (this request, for good: a chain the key's plan
//!   does not cover) and unknown head are not retried within the poll; the
//!   next poll asks again.
//!
//! Moved here from `etherscan` (issue 10) and, for the poll itself, from
//! both scanners (issue 17); providers keep only their quirks (Etherscan's
//! getLogs paging and splitting, `tokentx`, NOTOK answers; TronGrid's time
//! windows and fingerprints) in their own modules, and no provider module
//! imports another's.

pub mod budget;
pub mod cursor;
pub mod handles;
pub mod http;
pub mod kind;
pub mod limiter;
pub mod pause;
pub mod poll;
pub mod pool;
pub mod record;
pub mod retry;
pub mod summary;
pub mod watched;

pub use summary::{ChainSummary, PollSummary};

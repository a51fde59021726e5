//! What can go wrong talking to TronGrid, and where.
//!
//! [`TronError`] is one call's failure, classified into what the caller
//! does about it ([`Disposition`]); [`ScanError`] adds where (the head, a
//! window of blocks). Neither carries a URL or the key (the key travels only
//! in the `TRON-PRO-API-KEY` header; transport errors are mapped to our own
//! variants without their text).

use std::time::Duration;

use crate::db::DbError;
use crate::scanner::http::Transport;
use crate::scanner::kind::{Cause, Classify, Kind};
pub use crate::scanner::retry::Disposition;

/// One TronGrid call's failure, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TronError {
    /// 403 / 429 / 503, or a body saying "frequency limit": the key (or the
    /// IP) is suspended for ~30 s. No retry within the poll: the provider is
    /// paused for at least that long, then probed.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// 401 `{"Error":"ApiKey not exists"}`: tell the admins once, pause, probe.
    #[error("API key rejected: {0}")]
    InvalidKey(String),
    /// Any other 4xx with TronGrid's error text (a bad parameter): not retried.
    #[error("refused (HTTP {0}): {1}")]
    Refused(u16, String),
    /// 5xx: retried with backoff.
    #[error("HTTP {0}")]
    Http(u16),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection failed ({0})")]
    Connection(&'static str),
    /// Not the JSON we expect (an HTML page, a cut-off body): retried.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The head answer had no usable block number or timestamp.
    #[error("head unknown: {0}")]
    UnknownHead(String),
}

impl Classify for TronError {
    fn kind(&self) -> Kind {
        match self {
            // A suspension of at least 30 s: longer than any retry backoff,
            // so never retried within the poll (the provider pauses itself).
            TronError::RateLimited(text) => Kind::RateLimited {
                wait: Some(
                    super::api::suspension_secs(text)
                        .map_or(super::SUSPENSION, Duration::from_secs)
                        .max(super::SUSPENSION),
                ),
            },
            TronError::InvalidKey(_) => Kind::RejectedKey,
            TronError::Refused(..) => Kind::Refused,
            TronError::Http(_) => Kind::Transient(Cause::Status),
            TronError::Timeout(_) => Kind::Transient(Cause::Timeout),
            TronError::Connection(_) => Kind::Transient(Cause::Connection),
            TronError::Malformed(_) => Kind::Malformed,
            TronError::UnknownHead(_) => Kind::UnknownHead,
        }
    }
}

impl TronError {
    /// What the retry loop does with it (from its [kind](Classify::kind)).
    pub fn disposition(&self) -> Disposition {
        self.kind().disposition()
    }
}

impl From<Transport> for TronError {
    fn from(t: Transport) -> Self {
        match t {
            Transport::Timeout(d) => TronError::Timeout(d),
            Transport::Connection(what) => TronError::Connection(what),
            other => TronError::Malformed(other.to_string()),
        }
    }
}

/// Where a Tron poll failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("tron: solidified head: {0}")]
    Head(TronError),
    #[error("tron: timestamp of block {block}: {source}")]
    BlockTime { block: u64, source: TronError },
    #[error("tron {token}: Transfer events of blocks {from}..={to}: {source}")]
    Events {
        token: &'static str,
        from: u64,
        to: u64,
        source: TronError,
    },
    /// One block holds at least a page of events and TronGrid gave no paging
    /// cursor for it (TRON-US/trongrid#23): the cursor stays before it.
    #[error(
        "tron {token}: block {block} holds {limit} or more events and cannot be paged; retried next poll"
    )]
    Unpageable {
        token: &'static str,
        block: u64,
        limit: usize,
    },
    /// A per-address scan was asked of TronGrid, which is scanned by
    /// events (logs mode) only.
    #[error("tron: no per-address scan on TronGrid")]
    NoPerAddress,
    #[error("tron: head {head} is behind the cursor {cursor}; ignored")]
    HeadBehind { head: u64, cursor: u64 },
    #[error("tron: recording the poll result: {0}")]
    Record(DbError),
    #[error("loading {what} from the database: {source}")]
    Load { what: &'static str, source: DbError },
}

impl ScanError {
    /// The call-level error, if the failure was a call.
    pub fn api(&self) -> Option<&TronError> {
        match self {
            ScanError::Head(e) => Some(e),
            ScanError::BlockTime { source, .. } | ScanError::Events { source, .. } => Some(source),
            _ => None,
        }
    }
}

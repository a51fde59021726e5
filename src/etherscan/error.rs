//! What can go wrong talking to Etherscan, and where.
//!
//! Two layers: [`ApiError`] is what one HTTP call came back with, already
//! classified into what the caller should *do* about it (retry, back off,
//! split the range, tell a human). [`ScanError`] adds where it happened:
//! chain, action, token and block range. Neither ever carries a URL or the
//! API key — the key travels in the query string, and transport errors from
//! `awc` may quote the URL, so they are mapped to our own variants without
//! their text.

use crate::db::DbError;
use crate::scanner::http::Transport;
use crate::scanner::kind::{Cause, Classify, Kind};
pub use crate::scanner::retry::Disposition;

/// One Etherscan call's failure, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// NOTOK "… rate limit …" over HTTP 200, or HTTP 429. Back off and retry.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// "Max daily rate limit reached": retrying within the poll is useless.
    #[error("daily call limit reached: {0}")]
    DailyLimit(String),
    /// "Query Timeout occured": the range holds too much; split it.
    #[error("query timeout (the range is too large for one call)")]
    QueryTimeout,
    /// "Result window is too large": page × offset above 10 000; split it.
    #[error("result window too large (page × offset above 10 000)")]
    WindowTooLarge,
    /// "Invalid API Key" (or too many attempts with one): no retry, tell the admins.
    #[error("invalid API key: {0}")]
    InvalidKey(String),
    /// "Missing or unsupported chainid" / "not supported for this chain":
    /// no retry, tell the admins.
    #[error("chain not supported by this key or plan: {0}")]
    UnsupportedChain(String),
    /// Any other NOTOK reason. Retried with backoff.
    #[error("Etherscan answered NOTOK: {0}")]
    Notok(String),
    /// A non-200 HTTP status other than 429 (mostly 5xx). Retried with backoff.
    #[error("HTTP {0}")]
    Http(u16),
    /// No answer within `etherscan.request_timeout`. Retried with backoff.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Could not connect, or the connection broke. Retried with backoff.
    #[error("connection failed ({0})")]
    Connection(&'static str),
    /// A body that is not the JSON we expect. Retried with backoff.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// `eth_blockNumber` gave no usable head (`"0x"`, null, not hex, zero, a
    /// JSON-RPC error, no result): the head is unknown — never 0. The chain
    /// is skipped until the next poll.
    #[error("head unknown: {0}")]
    UnknownHead(String),
}

impl Classify for ApiError {
    fn kind(&self) -> Kind {
        match self {
            ApiError::RateLimited(_) => Kind::RateLimited { wait: None },
            ApiError::DailyLimit(_) => Kind::Paused,
            ApiError::QueryTimeout | ApiError::WindowTooLarge => Kind::TooLarge,
            ApiError::InvalidKey(_) => Kind::RejectedKey,
            ApiError::UnsupportedChain(_) => Kind::Refused,
            ApiError::Notok(_) => Kind::Transient(Cause::Answer),
            ApiError::Http(_) => Kind::Transient(Cause::Status),
            ApiError::Timeout(_) => Kind::Transient(Cause::Timeout),
            ApiError::Connection(_) => Kind::Transient(Cause::Connection),
            ApiError::Malformed(_) => Kind::Malformed,
            ApiError::UnknownHead(_) => Kind::UnknownHead,
        }
    }
}

impl ApiError {
    /// What the retry loop does with it (from its [kind](Classify::kind)).
    pub fn disposition(&self) -> Disposition {
        self.kind().disposition()
    }
}

impl From<Transport> for ApiError {
    fn from(t: Transport) -> Self {
        match t {
            Transport::Timeout(d) => ApiError::Timeout(d),
            Transport::Connection(what) => ApiError::Connection(what),
            other => ApiError::Malformed(other.to_string()),
        }
    }
}

/// The Etherscan call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    BlockNumber,
    GetLogs,
    /// `account/tokentx`: one address's token transfers (per-address mode).
    TokenTx,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::BlockNumber => "eth_blockNumber",
            Action::GetLogs => "getLogs",
            Action::TokenTx => "tokentx",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure during a poll, with the place it happened.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{chain}: {action}: {source}")]
    Head {
        chain: &'static str,
        action: Action,
        source: ApiError,
    },
    #[error("{chain} {token}: {action} blocks {from}..={to}: {source}")]
    Logs {
        chain: &'static str,
        token: &'static str,
        action: Action,
        from: u64,
        to: u64,
        source: ApiError,
    },
    /// One block alone holds more logs than Etherscan lets us page through
    /// (10 000), or splitting could not get a range under the limit.
    #[error("{chain} {token}: block {block} cannot be scanned: {reason}")]
    Unsplittable {
        chain: &'static str,
        token: &'static str,
        block: u64,
        reason: ApiError,
    },
    /// The head answered is below blocks already scanned: a lagging backend
    /// or a wrong answer. Suspect: nothing moves, the next poll asks again.
    #[error("{chain}: head {head} is behind the cursor {cursor}; ignored")]
    HeadBehind {
        chain: &'static str,
        head: u64,
        cursor: u64,
    },
    /// `tokentx` rows of a transaction that the same block's Transfer logs
    /// (fetched to learn their log indexes) do not account for: the rows
    /// cannot be keyed like the logs scan keys them, so the cursor waits.
    #[error(
        "{chain} {token}: block {block}: tokentx rows of {tx_hash} match no log (index not caught up?)"
    )]
    Unresolved {
        chain: &'static str,
        token: &'static str,
        block: u64,
        tx_hash: String,
    },
    #[error("{chain}: recording the poll result: {source}")]
    Record {
        chain: &'static str,
        source: DbError,
    },
    #[error("loading {what} from the database: {source}")]
    Load { what: &'static str, source: DbError },
    /// A JSON-RPC endpoint's failure (named by its host).
    #[error("{0}")]
    Rpc(#[from] crate::rpc::RpcFailure),
}

impl ScanError {
    /// The API error underneath, if any.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ScanError::Head { source, .. } | ScanError::Logs { source, .. } => Some(source),
            ScanError::Unsplittable { reason, .. } => Some(reason),
            ScanError::Record { .. }
            | ScanError::Load { .. }
            | ScanError::HeadBehind { .. }
            | ScanError::Unresolved { .. }
            | ScanError::Rpc(_) => None,
        }
    }
}

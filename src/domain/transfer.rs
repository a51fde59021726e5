//! One ERC-20 transfer of a watched token, as decoded from a Transfer log.

use super::{Address, Amount, TokenSymbol};

/// Everything a notification needs, and the identity that makes re-scans
/// idempotent: (chain id, tx hash, log index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub chain_id: u64,
    /// Lowercase `0x…` transaction hash.
    pub tx_hash: String,
    pub log_index: u64,
    pub block: u64,
    /// Block time, seconds since the Unix epoch (UTC).
    pub timestamp: u64,
    pub token: TokenSymbol,
    pub contract: Address,
    pub decimals: u8,
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
}

/// A transfer as seen from one watched address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
    /// From and to are both the subscriber's own watched addresses.
    SelfTransfer,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "in",
            Direction::Outgoing => "out",
            Direction::SelfTransfer => "self",
        }
    }
}

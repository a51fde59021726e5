//! Stored cursors: one per (chain id, token contract), the last block whose
//! events were all seen and recorded. A cursor never passes an event that
//! was not seen: it moves only with the `RecordPollResult` that records
//! what was found up to it ([`super::record`]).

use crate::db::cursors::Cursors;
use crate::domain::{Address, Chain};

/// The chain's stored cursors, unchanged (a poll that could not move them).
pub fn stored_cursors(chain: &Chain, stored: &Cursors) -> Vec<(Address, u64)> {
    chain
        .tokens
        .iter()
        .filter_map(|t| Some((t.contract.clone(), cursor_of(chain, stored, &t.contract)?)))
        .collect()
}

/// The stored cursor of one token; `None` at first sight (the scanner then
/// starts at the safe head: no backfill of history from before it watched).
pub fn cursor_of(chain: &Chain, stored: &Cursors, contract: &Address) -> Option<u64> {
    stored.get(&(chain.id, contract.clone())).copied()
}

/// The highest stored cursor of the chain's tokens: a head below it is
/// suspect (a lagging backend or a wrong answer) and moves nothing.
pub fn highest(chain: &Chain, stored: &Cursors) -> Option<u64> {
    chain
        .tokens
        .iter()
        .filter_map(|t| cursor_of(chain, stored, &t.contract))
        .max()
}

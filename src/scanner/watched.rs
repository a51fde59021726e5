//! The scanner's in-memory copy of the watched addresses.
//!
//! Read from the database only when it changed (the `WatchedAddresses`
//! version). A scanner refreshes it at the start of a poll and **again after
//! reading a chain's head** (issue 9's loss: a slow head read with a set read
//! before it let an address added meanwhile lose its transfers for good, as
//! the cursor moved past them). Matching is by the canonical stored form
//! ([`Address`]) per chain id, so the number of calls never depends on the
//! number of watched addresses.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::db::DbError;
use crate::db::DbRef;
use crate::db::subscriptions::{WatchedAddresses, WatchedSet};
use crate::domain::{Address, Transfer};

/// The watched set and the version it was read at.
#[derive(Debug, Default)]
pub struct Watched {
    set: RefCell<Option<(i64, WatchedSet)>>,
}

impl Watched {
    /// Reloads the set if it changed since the last read. `actor` names the
    /// scanner in the log line.
    pub async fn refresh(&self, db: &DbRef, actor: &'static str) -> Result<(), DbError> {
        let known = self.set.borrow().as_ref().map(|(v, _)| *v);
        let fresh = db
            .exec(WatchedAddresses {
                known_version: known,
            })
            .await?;
        if let Some((version, set)) = fresh {
            let total: usize = set.values().map(HashSet::len).sum();
            tracing::debug!(actor, version, addresses = total, "watched set reloaded");
            *self.set.borrow_mut() = Some((version, set));
        }
        Ok(())
    }

    /// Does `t` touch a watched address on its chain?
    pub fn keeps(&self, t: &Transfer) -> bool {
        self.contains(t.chain_id, &t.from) || self.contains(t.chain_id, &t.to)
    }

    /// The addresses watched on `chain_id`, sorted (per-address scanning).
    pub fn on_chain(&self, chain_id: u64) -> Vec<Address> {
        let mut out: Vec<Address> = self
            .set
            .borrow()
            .as_ref()
            .and_then(|(_, set)| set.get(&chain_id))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Is `address` watched on `chain_id`?
    pub fn contains(&self, chain_id: u64, address: &Address) -> bool {
        self.set
            .borrow()
            .as_ref()
            .and_then(|(_, set)| set.get(&chain_id))
            .is_some_and(|s| s.contains(address))
    }
}

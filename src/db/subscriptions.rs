//! Subscriptions: which chat watches which address on which chain.

use std::collections::{HashMap, HashSet};

use rusqlite::{Transaction, params};

use super::settings::Settings;
use super::{DbError, DbRequest, chats, meta, now_secs};
use crate::domain::Address;

/// Bumped on every change, so the scanner reloads its in-memory set only
/// when something changed.
pub(super) const VERSION_KEY: &str = "subscriptions_version";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The row id (what a button names).
    pub id: i64,
    pub chain_id: u64,
    pub address: Address,
    pub label: Option<String>,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    AlreadyWatching,
    /// The chat already watches `limit` addresses.
    LimitReached {
        limit: u32,
    },
}

/// Watches `address` on `chain_id` for a chat, within its limit.
pub struct AddSubscription {
    pub chat_id: i64,
    pub chain_id: u64,
    pub address: Address,
    pub label: Option<String>,
    pub limit: u32,
}

impl DbRequest for AddSubscription {
    type Output = AddOutcome;
    fn run(self, tx: &Transaction<'_>) -> Result<AddOutcome, DbError> {
        chats::ensure(tx, self.chat_id)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM subscriptions
             WHERE chat_id = ?1 AND chain_id = ?2 AND address = ?3)",
            params![self.chat_id, self.chain_id as i64, self.address.as_str()],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(AddOutcome::AlreadyWatching);
        }
        let count: i64 = tx.query_row(
            "SELECT count(*) FROM subscriptions WHERE chat_id = ?1",
            [self.chat_id],
            |r| r.get(0),
        )?;
        if count >= self.limit as i64 {
            return Ok(AddOutcome::LimitReached { limit: self.limit });
        }
        tx.execute(
            "INSERT INTO subscriptions (chat_id, chain_id, address, label, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                self.chat_id,
                self.chain_id as i64,
                self.address.as_str(),
                self.label,
                now_secs()
            ],
        )?;
        meta::bump(tx, VERSION_KEY)?;
        Ok(AddOutcome::Added)
    }
}

/// Stops watching `address` (on one chain, or on all); returns how many
/// subscriptions were removed.
pub struct RemoveSubscription {
    pub chat_id: i64,
    pub address: Address,
    pub chain_id: Option<u64>,
}

impl DbRequest for RemoveSubscription {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        let removed = tx.execute(
            "DELETE FROM subscriptions
             WHERE chat_id = ?1 AND address = ?2 AND (?3 IS NULL OR chain_id = ?3)",
            params![
                self.chat_id,
                self.address.as_str(),
                self.chain_id.map(|c| c as i64)
            ],
        )?;
        if removed > 0 {
            meta::bump(tx, VERSION_KEY)?;
        }
        Ok(removed)
    }
}

/// A chat's subscriptions, oldest first.
pub struct ListSubscriptions {
    pub chat_id: i64,
}

impl DbRequest for ListSubscriptions {
    type Output = Vec<Subscription>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<Subscription>, DbError> {
        let mut stmt = tx.prepare(
            "SELECT id, chain_id, address, label, min_amount, direction, muted_until
             FROM subscriptions WHERE chat_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([self.chat_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
                Settings::from_row(r, 4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, chain_id, address, label, settings) = row?;
            out.push(Subscription {
                id,
                chain_id: chain_id as u64,
                address: parse_stored(&address)?,
                label,
                settings,
            });
        }
        Ok(out)
    }
}

/// Every watched address per chain id.
pub type WatchedSet = HashMap<u64, HashSet<Address>>;

/// The watched addresses, unless they have not changed since `known_version`.
pub struct WatchedAddresses {
    pub known_version: Option<i64>,
}

impl DbRequest for WatchedAddresses {
    type Output = Option<(i64, WatchedSet)>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let version = meta::get_i64(tx, VERSION_KEY)?.unwrap_or(0);
        if self.known_version == Some(version) {
            return Ok(None);
        }
        let mut stmt = tx.prepare("SELECT DISTINCT chain_id, address FROM subscriptions")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut set = WatchedSet::new();
        for row in rows {
            let (chain_id, address) = row?;
            set.entry(chain_id as u64)
                .or_default()
                .insert(parse_stored(&address)?);
        }
        Ok(Some((version, set)))
    }
}

pub(crate) fn parse_stored(address: &str) -> Result<Address, DbError> {
    Address::parse(address).map_err(|e| DbError::Corrupt(format!("stored address: {e}")))
}

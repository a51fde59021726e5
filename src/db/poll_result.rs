//! Recording one poll's result — atomically.
//!
//! New transfers, one outbox row per subscribed chat, and the cursor
//! advance go in one transaction: a crash can never move a cursor past a
//! transfer that was not recorded, nor record a transfer whose notification
//! was not queued. Re-recording the same transfers is a no-op (unique on
//! chain, tx hash and log index), so a re-scan after a crash is harmless.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, cursors, now_secs, subscriptions::parse_stored};
use crate::domain::{Address, Direction, Transfer};
use crate::notification::{self, View};

pub struct RecordPollResult {
    pub chain_id: u64,
    /// Transfers touching at least one watched address.
    pub transfers: Vec<Transfer>,
    /// (token contract, last fully scanned block) for this chain.
    pub cursors: Vec<(Address, u64)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollRecorded {
    /// Transfers not seen before.
    pub new_transfers: usize,
    /// Outbox rows queued for delivery.
    pub notifications: usize,
}

impl DbRequest for RecordPollResult {
    type Output = PollRecorded;

    fn run(self, tx: &Transaction<'_>) -> Result<PollRecorded, DbError> {
        let mut out = PollRecorded::default();
        let now = now_secs();
        for t in &self.transfers {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO transfers
                 (chain_id, tx_hash, log_index, block, timestamp, token, from_addr, to_addr, amount, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.chain_id as i64,
                    t.tx_hash,
                    t.log_index as i64,
                    t.block as i64,
                    t.timestamp as i64,
                    t.contract.as_str(),
                    t.from.as_str(),
                    t.to.as_str(),
                    t.amount.to_string(),
                    now
                ],
            )?;
            if inserted == 0 {
                continue; // seen before: its notifications were queued then
            }
            out.new_transfers += 1;
            let transfer_id = tx.last_insert_rowid();
            for (chat_id, text) in notifications_for(tx, t)? {
                out.notifications += tx.execute(
                    "INSERT OR IGNORE INTO outbox (chat_id, transfer_id, text, state, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
                    params![chat_id, transfer_id, text, now],
                )?;
            }
        }
        for (token, block) in &self.cursors {
            cursors::advance(tx, self.chain_id, token, *block)?;
        }
        Ok(out)
    }
}

/// One rendered notification per active chat watching either side.
fn notifications_for(tx: &Transaction<'_>, t: &Transfer) -> Result<Vec<(i64, String)>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT s.chat_id, s.address, s.label FROM subscriptions s
         JOIN chats c ON c.chat_id = s.chat_id
         WHERE c.active = 1 AND s.chain_id = ?1 AND s.address IN (?2, ?3)",
    )?;
    let rows = stmt.query_map(
        params![t.chain_id as i64, t.from.as_str(), t.to.as_str()],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )?;
    // chat → (label if it watches `from`, label if it watches `to`)
    type Side = Option<Option<String>>;
    let mut chats: BTreeMap<i64, (Side, Side)> = BTreeMap::new();
    for row in rows {
        let (chat, address, label) = row?;
        let address = parse_stored(&address)?;
        let entry = chats.entry(chat).or_default();
        if address == t.from {
            entry.0 = Some(label.clone());
        }
        if address == t.to {
            entry.1 = Some(label);
        }
    }
    let mut out = Vec::with_capacity(chats.len());
    for (chat, (from_side, to_side)) in chats {
        let (direction, watched, watched_label, counterparty, counterparty_label) =
            match (&from_side, &to_side) {
                (Some(fl), Some(tl)) => {
                    (Direction::SelfTransfer, &t.from, fl, &t.to, tl.as_deref())
                }
                (None, Some(tl)) => (Direction::Incoming, &t.to, tl, &t.from, None),
                (Some(fl), None) => (Direction::Outgoing, &t.from, fl, &t.to, None),
                (None, None) => continue,
            };
        let text = notification::render(&View {
            transfer: t,
            direction,
            watched,
            watched_label: watched_label.as_deref(),
            counterparty,
            counterparty_label,
        });
        out.push((chat, text));
    }
    Ok(out)
}

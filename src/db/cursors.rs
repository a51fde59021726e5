//! Scan cursors: the last block fully scanned, per chain and token contract.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, now_secs, subscriptions::parse_stored};
use crate::domain::Address;

/// (chain id, token contract) → last fully scanned block.
pub type Cursors = HashMap<(u64, Address), u64>;

/// (chain id, token contract) → the cursor's floor: the block it was created
/// at (the scanner's first sight of the token), below which no pass ever
/// scans. Cursors created before schema version 10 have none (not listed).
pub type Floors = HashMap<(u64, Address), u64>;

pub struct GetCursors;

impl DbRequest for GetCursors {
    type Output = Cursors;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Cursors, DbError> {
        let mut stmt = tx.prepare("SELECT chain_id, token, block FROM cursors")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Cursors::new();
        for row in rows {
            let (chain, token, block) = row?;
            out.insert((chain as u64, parse_stored(&token)?), block as u64);
        }
        Ok(out)
    }
}

/// The floors of every cursor that has one.
pub struct GetFloors;

impl DbRequest for GetFloors {
    type Output = Floors;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Floors, DbError> {
        let mut stmt = tx.prepare(
            "SELECT chain_id, token, first_block FROM cursors WHERE first_block IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Floors::new();
        for row in rows {
            let (chain, token, block) = row?;
            out.insert((chain as u64, parse_stored(&token)?), block as u64);
        }
        Ok(out)
    }
}

/// Moves a cursor forward — never back. An upsert on the cursor row alone:
/// no `INSERT OR REPLACE`, which deletes and re-inserts (and, with cascading
/// keys, took the prior bot's history with it). The insert (the cursor's
/// first write) also sets its floor ([`GetFloors`]); later moves keep it.
pub fn advance(
    tx: &Transaction<'_>,
    chain_id: u64,
    token: &Address,
    block: u64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO cursors (chain_id, token, block, updated_at, first_block)
         VALUES (?1, ?2, ?3, ?4, ?3)
         ON CONFLICT (chain_id, token) DO UPDATE
         SET block = excluded.block, updated_at = excluded.updated_at
         WHERE excluded.block > cursors.block",
        params![chain_id as i64, token.as_str(), block as i64, now_secs()],
    )?;
    Ok(())
}

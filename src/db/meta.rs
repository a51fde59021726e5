//! The key-value table: the Telegram update offset, counters, versions.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{DbError, DbRequest};

pub fn get(tx: &Transaction<'_>, key: &str) -> Result<Option<String>, DbError> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Adds one to an integer counter and returns the new value.
pub fn bump(tx: &Transaction<'_>, key: &str) -> Result<i64, DbError> {
    let next = get_i64(tx, key)?.unwrap_or(0) + 1;
    set(tx, key, &next.to_string())?;
    Ok(next)
}

pub fn get_i64(tx: &Transaction<'_>, key: &str) -> Result<Option<i64>, DbError> {
    match get(tx, key)? {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| DbError::Corrupt(format!("meta {key} is not an integer"))),
    }
}

/// Reads one meta value.
pub struct GetMeta(pub &'static str);

impl DbRequest for GetMeta {
    type Output = Option<String>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        get(tx, self.0)
    }
}

/// Writes one meta value.
pub struct SetMeta(pub &'static str, pub String);

impl DbRequest for SetMeta {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        set(tx, self.0, &self.1)
    }
}

//! The daily call budget's counts: calls sent per provider per UTC day
//! (table `provider_calls`), added once per poll.

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest};

/// Days kept besides today.
const KEEP_DAYS: i64 = 7;

/// Adds `calls` (per provider) to UTC day `day` and returns that day's
/// totals of every provider; drops days older than a week.
#[derive(Debug)]
pub struct RecordCalls {
    /// Days since the Unix epoch, UTC.
    pub day: i64,
    pub calls: Vec<(&'static str, u64)>,
}

impl DbRequest for RecordCalls {
    type Output = Vec<(String, u64)>;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        for (provider, n) in &self.calls {
            tx.execute(
                "INSERT INTO provider_calls (provider, day, calls) VALUES (?1, ?2, ?3)
                 ON CONFLICT (provider, day) DO UPDATE SET calls = calls + excluded.calls",
                params![provider, self.day, *n as i64],
            )?;
        }
        tx.execute(
            "DELETE FROM provider_calls WHERE day < ?1",
            [self.day - KEEP_DAYS],
        )?;
        GetCalls { day: self.day }.run(tx)
    }
}

/// Every provider's calls on UTC day `day`.
#[derive(Debug)]
pub struct GetCalls {
    pub day: i64,
}

impl DbRequest for GetCalls {
    type Output = Vec<(String, u64)>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare(
            "SELECT provider, calls FROM provider_calls WHERE day = ?1 ORDER BY provider",
        )?;
        let rows = stmt
            .query_map([self.day], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

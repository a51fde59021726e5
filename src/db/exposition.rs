//! The database's part of `GET /metrics`: totals of recorded transfers and
//! of notifications by fate, per chain and token contract, and the outbox.
//!
//! Read at scrape time in one read-only transaction. No address (other
//! than a token contract), no chat id and no webhook URL leaves this module
//! (a sink is named by its stored id, see [`crate::webhook::sink_id`]).
//!
//! The counts of stored transfers and notifications are exported as gauges:
//! pruning (`database.keep_*`, [`super::prune`]) deletes old rows. The
//! monotonic totals are counted in the process as they happen
//! ([`crate::instruments::Instruments::recorded`]).

use rusqlite::Transaction;

use super::{DbError, DbRequest, now_secs};

/// One `(chain id, token contract)` row with a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCount {
    pub chain_id: u64,
    /// The token contract, lowercase (as stored).
    pub contract: String,
    pub count: u64,
}

/// What the database contributes to the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbExposition {
    /// Recorded transfers.
    pub transfers: Vec<TokenCount>,
    /// Notifications of transfers by state: `("sent" | "failed" | "held" | "uncertain", counts)`.
    pub notifications: Vec<(String, TokenCount)>,
    /// Outbox rows waiting for delivery (admin alerts included).
    pub outbox_pending: u64,
    /// Age of the oldest pending row, in seconds.
    pub oldest_pending_age_secs: Option<u64>,
    /// Outbox rows whose send may or may not have arrived (state
    /// `uncertain`: never retried, waiting for pruning).
    pub outbox_uncertain: u64,
    /// Webhook deliveries of each sink id that has any: `(sink id, pending,
    /// dead-lettered)`.
    pub webhooks: Vec<(String, u64, u64)>,
}

/// Reads [`DbExposition`].
pub struct GetExposition;

impl DbRequest for GetExposition {
    type Output = DbExposition;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<DbExposition, DbError> {
        let row = |r: &rusqlite::Row<'_>, at: usize| -> rusqlite::Result<TokenCount> {
            Ok(TokenCount {
                chain_id: r.get::<_, i64>(at)? as u64,
                contract: r.get(at + 1)?,
                count: r.get::<_, i64>(at + 2)? as u64,
            })
        };
        let mut stmt =
            tx.prepare("SELECT chain_id, token, count(*) FROM transfers GROUP BY chain_id, token")?;
        let transfers = stmt
            .query_map([], |r| row(r, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = tx.prepare(
            "SELECT o.state, t.chain_id, t.token, count(*) FROM outbox o
             JOIN transfers t ON t.id = o.transfer_id
             WHERE o.state IN ('sent', 'failed', 'held', 'uncertain')
             GROUP BY o.state, t.chain_id, t.token",
        )?;
        let notifications = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, row(r, 1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let (pending, oldest): (i64, Option<i64>) = tx.query_row(
            "SELECT count(*), min(created_at) FROM outbox WHERE state = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let uncertain: i64 = tx.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'uncertain'",
            [],
            |r| r.get(0),
        )?;
        let mut stmt = tx.prepare(
            "SELECT sink, count(*) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'dead')
             FROM webhook_deliveries GROUP BY sink",
        )?;
        let webhooks = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?.max(0) as u64,
                    r.get::<_, i64>(2)?.max(0) as u64,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DbExposition {
            transfers,
            notifications,
            outbox_pending: pending as u64,
            oldest_pending_age_secs: oldest.map(|t| now_secs().saturating_sub(t).max(0) as u64),
            outbox_uncertain: uncertain.max(0) as u64,
            webhooks,
        })
    }
}

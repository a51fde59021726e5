//! The outbox: notifications waiting to be delivered, and their fate.
//!
//! Rows are written by [`super::poll_result`] together with the transfers;
//! the bot takes due rows, sends them, and marks each one. A crash at any
//! point loses none: a row is `pending` until marked `sent` or `failed`.

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, now_secs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub chat_id: i64,
    pub text: String,
    pub attempts: u32,
}

/// Pending rows whose next attempt is due, to active chats, oldest first.
pub struct DueNotifications {
    pub limit: usize,
}

impl DbRequest for DueNotifications {
    type Output = Vec<OutboxItem>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<OutboxItem>, DbError> {
        let mut stmt = tx.prepare(
            "SELECT o.id, o.chat_id, o.text, o.attempts FROM outbox o
             JOIN chats c ON c.chat_id = o.chat_id
             WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 AND c.active = 1
             ORDER BY o.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_secs(), self.limit as i64], |r| {
            Ok(OutboxItem {
                id: r.get(0)?,
                chat_id: r.get(1)?,
                text: r.get(2)?,
                attempts: r.get::<_, i64>(3)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Try again no earlier than `after_secs` from now.
    Retry {
        after_secs: u64,
        error: String,
    },
    /// Never retried (a permanent 400, say).
    Failed {
        error: String,
    },
}

/// Records the outcome of delivering one outbox row.
pub struct MarkDelivery {
    pub id: i64,
    pub delivery: Delivery,
}

impl DbRequest for MarkDelivery {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        let now = now_secs();
        match self.delivery {
            Delivery::Sent => tx.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1
                 WHERE id = ?1",
                params![self.id, now],
            )?,
            Delivery::Retry { after_secs, error } => tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![self.id, now + after_secs as i64, error],
            )?,
            Delivery::Failed { error } => tx.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1",
                params![self.id, error],
            )?,
        };
        Ok(())
    }
}

/// How many notifications wait for delivery.
pub struct OutboxDepth;

impl DbRequest for OutboxDepth {
    type Output = u64;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<u64, DbError> {
        let n: i64 = tx.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

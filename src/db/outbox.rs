//! The outbox: notifications waiting to be delivered, and their fate.
//!
//! Rows are written by [`super::poll_result`] together with the transfers;
//! the bot takes due rows, sends them, and marks each one. A crash at any
//! point loses none. States:
//!
//! | state       | meaning                                                  |
//! |-------------|----------------------------------------------------------|
//! | `pending`   | to be sent when `next_attempt_at` is due and the chat active |
//! | `sent`      | Telegram confirmed it                                    |
//! | `uncertain` | two sends lost their answer: maybe delivered, never resent |
//! | `failed`    | dead letter: permanently refused, or retried too often   |
//! | `held`      | held back as suspected spam (listed by `/spam`)          |

use rusqlite::{Transaction, params};

use super::{DbError, DbRequest, now_secs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub chat_id: i64,
    pub text: String,
    /// Attempts so far, whatever their outcome (a chat-level answer,
    /// which leaves the row untouched, aside).
    pub attempts: u32,
    /// Attempts so far whose answer was lost (the message may have been
    /// delivered by each of them).
    pub lost_answers: u32,
    /// Attempts Telegram refused as a bad request of this message (a 4xx
    /// other than a chat-level one or missing rights), row kept pending.
    pub refusals: u32,
    /// Attempts answered "not enough rights to send text messages", row
    /// kept pending.
    pub no_rights: u32,
    /// The Bot API `reply_markup` JSON to send with the text (the
    /// notification's buttons), if any.
    pub reply_markup: Option<String>,
}

impl OutboxItem {
    /// Attempts that failed for a passing reason (5xx, connect error,
    /// 429, a lost answer, a proxy's page): every attempt that Telegram
    /// did not refuse.
    pub fn transient_failures(&self) -> u32 {
        self.attempts
            .saturating_sub(self.refusals)
            .saturating_sub(self.no_rights)
    }
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
            "SELECT o.id, o.chat_id, o.text, o.attempts, o.lost_answers, o.refusals, o.no_rights,
                    o.reply_markup
             FROM outbox o
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
                lost_answers: r.get::<_, i64>(4)? as u32,
                refusals: r.get::<_, i64>(5)? as u32,
                no_rights: r.get::<_, i64>(6)? as u32,
                reply_markup: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// A passing failure: try again no earlier than `after_secs` from now.
    Retry {
        after_secs: u64,
        error: String,
    },
    /// Telegram refused this message (a 4xx of its own, counted in
    /// `refusals`): try again no earlier than `after_secs` from now.
    RetryRefused {
        after_secs: u64,
        error: String,
    },
    /// The chat is unreachable (deactivated now): the row is left as it
    /// is, nothing counted, only `error` recorded, until the chat is back.
    ChatUnreachable {
        error: String,
    },
    /// The answer was lost (the message may have been delivered): counted,
    /// and tried again no earlier than `after_secs` from now.
    RetryLost {
        after_secs: u64,
        error: String,
    },
    /// Not enough rights in the chat (counted in `no_rights`), not a
    /// problem of this message: this row and every other pending row of
    /// the chat wait at least `after_secs`.
    RetryChat {
        after_secs: u64,
        error: String,
    },
    /// Maybe delivered, never sent again.
    Uncertain {
        error: String,
    },
    /// Never retried (a permanent 400, say): the dead letter. Only
    /// `attempts` counts this last one.
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
        // Which counters an outcome adds to, besides `attempts`.
        let counted = |lost: u32, refused: u32, no_rights: u32| Counted {
            lost,
            refused,
            no_rights,
        };
        let retry = |after_secs: u64, error: &str, c: Counted| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, lost_answers = lost_answers + ?4,
                     refusals = refusals + ?5, no_rights = no_rights + ?6,
                     next_attempt_at = ?2, last_error = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![
                    self.id,
                    now + after_secs as i64,
                    error,
                    c.lost,
                    c.refused,
                    c.no_rights
                ],
            )
        };
        let finish = |state: &str, error: &str, c: Counted| {
            tx.execute(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1,
                     lost_answers = lost_answers + ?4, refusals = refusals + ?5,
                     no_rights = no_rights + ?6, last_error = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![self.id, state, error, c.lost, c.refused, c.no_rights],
            )
        };
        match self.delivery {
            Delivery::Sent => tx.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1
                 WHERE id = ?1",
                params![self.id, now],
            )?,
            Delivery::Retry { after_secs, error } => retry(after_secs, &error, counted(0, 0, 0))?,
            Delivery::RetryLost { after_secs, error } => {
                retry(after_secs, &error, counted(1, 0, 0))?
            }
            Delivery::RetryRefused { after_secs, error } => {
                retry(after_secs, &error, counted(0, 1, 0))?
            }
            Delivery::ChatUnreachable { error } => tx.execute(
                "UPDATE outbox SET last_error = ?2 WHERE id = ?1 AND state = 'pending'",
                params![self.id, error],
            )?,
            Delivery::RetryChat { after_secs, error } => {
                retry(after_secs, &error, counted(0, 0, 1))?;
                tx.execute(
                    "UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?2)
                     WHERE state = 'pending' AND chat_id = (SELECT chat_id FROM outbox WHERE id = ?1)",
                    params![self.id, now + after_secs as i64],
                )?
            }
            Delivery::Uncertain { error } => finish("uncertain", &error, counted(1, 0, 0))?,
            Delivery::Failed { error } => finish("failed", &error, counted(0, 0, 0))?,
        };
        Ok(())
    }
}

/// Records one outcome for several rows sent as one combined message, in
/// one transaction: they were delivered (or not) together.
pub struct MarkDeliveries {
    pub ids: Vec<i64>,
    pub delivery: Delivery,
}

impl DbRequest for MarkDeliveries {
    type Output = ();
    fn run(self, tx: &Transaction<'_>) -> Result<(), DbError> {
        for id in self.ids {
            let delivery = self.delivery.clone();
            MarkDelivery { id, delivery }.run(tx)?;
        }
        Ok(())
    }
}

/// The counters one outcome adds to (0 or 1 each).
#[derive(Clone, Copy)]
struct Counted {
    lost: u32,
    refused: u32,
    no_rights: u32,
}

/// How many notifications wait for delivery.
pub struct OutboxDepth;

impl DbRequest for OutboxDepth {
    type Output = u64;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<u64, DbError> {
        Ok(OutboxCounts.run(tx)?.pending)
    }
}

/// The outbox by delivery state, for `/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: u64,
    /// Of `pending`, those to inactive chats (blocked, gone): they wait
    /// for the chat to come back (`/start`), not for the bot.
    pub pending_inactive: u64,
    /// Maybe delivered, not sent again (two answers lost).
    pub uncertain: u64,
    /// Dead letters.
    pub failed: u64,
}

/// Counts the outbox rows by state.
pub struct OutboxCounts;

impl DbRequest for OutboxCounts {
    type Output = OutboxSummary;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<OutboxSummary, DbError> {
        let count = |state: &str| -> Result<u64, DbError> {
            let n: i64 = tx.query_row(
                "SELECT count(*) FROM outbox WHERE state = ?1",
                [state],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        };
        let pending_inactive: i64 = tx.query_row(
            "SELECT count(*) FROM outbox o JOIN chats c ON c.chat_id = o.chat_id
             WHERE o.state = 'pending' AND c.active = 0",
            [],
            |r| r.get(0),
        )?;
        Ok(OutboxSummary {
            pending: count("pending")?,
            pending_inactive: pending_inactive as u64,
            uncertain: count("uncertain")?,
            failed: count("failed")?,
        })
    }
}

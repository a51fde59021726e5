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

use super::access::NOTIFIED;
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
    /// An admin alert: sent before any notification.
    pub alert: bool,
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

/// Pending rows whose next attempt is due, to active chats, fairly (a
/// chat waiting for approval, denied, or not on the allowlist in force
/// gets only the bot's own notices, `kind = 'alert'`: [`NOTIFIED`]): each
/// chat's oldest `per_chat` rows at most, taken round robin (every chat's
/// first row, then every chat's second, ...), admin alerts before
/// everything else, `limit` rows in all. A chat with a burst of thousands
/// of rows thus never keeps another chat's row out of a fetch.
///
/// Rows folded into a fold row are never returned; a fold row's text is
/// made here, at send time, from the rows it stands for
/// ([`folded_text`]).
pub struct DueNotifications {
    pub limit: usize,
    /// Rows of one chat per fetch (at least one).
    pub per_chat: usize,
}

impl DbRequest for DueNotifications {
    type Output = Vec<OutboxItem>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Vec<OutboxItem>, DbError> {
        let mut stmt = tx.prepare_cached(&format!(
            "WITH notified AS (SELECT c.chat_id FROM chats c WHERE c.active = 1 AND {NOTIFIED}),
             due AS (
                 SELECT o.id, o.chat_id, o.text, o.attempts, o.lost_answers, o.refusals,
                        o.no_rights, o.reply_markup, o.kind,
                        ROW_NUMBER() OVER (
                            PARTITION BY o.chat_id
                            ORDER BY o.kind = 'alert' DESC, o.id
                        ) AS rank
                 FROM outbox o
                 JOIN chats c ON c.chat_id = o.chat_id
                 WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 AND c.active = 1
                   AND o.folded_into IS NULL
                   AND (o.chat_id IN (SELECT chat_id FROM notified) OR o.kind = 'alert')
             )
             SELECT id, chat_id, text, attempts, lost_answers, refusals, no_rights,
                    reply_markup, kind
             FROM due WHERE rank <= ?3
             ORDER BY kind = 'alert' DESC, rank, id
             LIMIT ?2"
        ))?;
        let per_chat = self.per_chat.max(1) as i64;
        let rows = stmt.query_map(params![now_secs(), self.limit as i64, per_chat], |r| {
            Ok((
                OutboxItem {
                    id: r.get(0)?,
                    chat_id: r.get(1)?,
                    text: r.get(2)?,
                    attempts: r.get::<_, i64>(3)? as u32,
                    lost_answers: r.get::<_, i64>(4)? as u32,
                    refusals: r.get::<_, i64>(5)? as u32,
                    no_rights: r.get::<_, i64>(6)? as u32,
                    reply_markup: r.get(7)?,
                    alert: r.get::<_, String>(8)? == "alert",
                },
                r.get::<_, String>(8)? == "fold",
            ))
        })?;
        let rows: Vec<(OutboxItem, bool)> = rows.collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (mut item, fold) in rows {
            if fold {
                let (count, since): (i64, Option<i64>) = tx.query_row(
                    "SELECT count(*), min(coalesce(t.timestamp, f.created_at))
                     FROM outbox f LEFT JOIN transfers t ON t.id = f.transfer_id
                     WHERE f.folded_into = ?1",
                    [item.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                item.text = folded_text(count.max(0) as u64, since.map(|s| s.max(0) as u64));
            }
            out.push(item);
        }
        Ok(out)
    }
}

/// The text of a fold row: how many transfers it stands for, since when.
pub fn folded_text(count: u64, since: Option<u64>) -> String {
    let since = since
        .map(|s| format!(" since {}", crate::notification::utc(s)))
        .unwrap_or_default();
    format!(
        "📦 <b>And {count} more transfer{}</b>{since}, not sent one by one: \
         more were waiting for this chat than it can be sent. See /list for your addresses \
         and their explorers.",
        if count == 1 { "" } else { "s" }
    )
}

/// Bounds every chat's backlog: past `max_per_chat` waiting transfer rows
/// of a chat (`state = 'pending'`, not yet folded), its newer rows are
/// folded into one fold row (`kind = 'fold'`), which is sent in their place
/// and says how many there were. The oldest `max_per_chat` stay as they
/// are; rows in `keep` (queued or in flight in the delivery loop) are never
/// folded, nor added to a fold row in `keep`. Nothing is deleted: folded
/// rows stay pending until their fold row is sent and then take its
/// outcome. Returns how many rows were folded.
pub struct FoldBacklog {
    pub max_per_chat: u64,
    pub keep: Vec<i64>,
}

impl DbRequest for FoldBacklog {
    type Output = u64;
    fn run(self, tx: &Transaction<'_>) -> Result<u64, DbError> {
        let max = self.max_per_chat.max(1) as i64;
        let over: Vec<i64> = {
            let mut stmt = tx.prepare_cached(
                "SELECT chat_id FROM outbox
                 WHERE state = 'pending' AND kind = 'notification'
                   AND transfer_id IS NOT NULL AND folded_into IS NULL
                 GROUP BY chat_id HAVING count(*) > ?1",
            )?;
            stmt.query_map([max], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        if over.is_empty() {
            return Ok(0);
        }
        let keep: std::collections::HashSet<i64> = self.keep.into_iter().collect();
        let now = now_secs();
        let mut folded = 0u64;
        for chat in over {
            let ids: Vec<i64> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id FROM outbox
                     WHERE chat_id = ?1 AND state = 'pending' AND kind = 'notification'
                       AND transfer_id IS NOT NULL AND folded_into IS NULL
                     ORDER BY id LIMIT -1 OFFSET ?2",
                )?;
                stmt.query_map(params![chat, max], |r| r.get(0))?
                    .collect::<Result<Vec<i64>, _>>()?
            };
            let ids: Vec<i64> = ids.into_iter().filter(|id| !keep.contains(id)).collect();
            if ids.is_empty() {
                continue;
            }
            // The chat's open fold row, unless the delivery loop holds it
            // (its text may be made already): else a new one.
            let open: Vec<i64> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id FROM outbox
                     WHERE chat_id = ?1 AND state = 'pending' AND kind = 'fold'
                     ORDER BY id DESC",
                )?;
                stmt.query_map([chat], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            let fold = match open.into_iter().find(|id| !keep.contains(id)) {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO outbox (chat_id, transfer_id, text, state, next_attempt_at,
                             created_at, kind)
                         VALUES (?1, NULL, '', 'pending', ?2, ?2, 'fold')",
                        params![chat, now],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            let mut mark = tx.prepare_cached(
                "UPDATE outbox SET folded_into = ?2 WHERE id = ?1 AND state = 'pending'",
            )?;
            for id in &ids {
                folded += mark.execute(params![id, fold])? as u64;
            }
        }
        Ok(folded)
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
        // The rows a fold row stands for share its final outcome.
        tx.execute(
            "UPDATE outbox SET state = f.state, sent_at = f.sent_at, last_error = f.last_error
             FROM (SELECT state, sent_at, last_error FROM outbox WHERE id = ?1) AS f
             WHERE outbox.folded_into = ?1 AND outbox.state = 'pending' AND f.state <> 'pending'",
            [self.id],
        )?;
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
    /// Of `pending`, those folded into one message because their chat had
    /// more than `telegram.max_pending_per_chat` waiting.
    pub folded: u64,
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
        let folded: i64 = tx.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND folded_into IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(OutboxSummary {
            folded: folded as u64,
            pending: count("pending")?,
            pending_inactive: pending_inactive as u64,
            uncertain: count("uncertain")?,
            failed: count("failed")?,
        })
    }
}

//! Pruning: old notifications and transfers go, in small batches.
//!
//! What is deleted (ages from `database.keep_delivered` and
//! `database.keep_transfers`, measured from when the row was recorded):
//!
//! * outbox rows in a final state — `sent`, `failed` — and `uncertain` ones
//!   (a send whose answer was lost: never retried) older than
//!   `keep_delivered`;
//! * webhook deliveries in a final state — `delivered`, `dead` — older than
//!   `keep_delivered`;
//! * held-back (`held`) outbox rows older than `keep_transfers`;
//! * but never a flagged row among the latest [`MAX_LISTED`] of its chat:
//!   those are what `/spam` shows;
//! * transfers older than `keep_transfers` that no outbox row and no webhook
//!   delivery refers to any more — so a transfer with a `pending`
//!   notification or webhook delivery, or a flagged one `/spam` still lists,
//!   stays (the foreign keys would refuse the deletion anyway).
//!
//! `pending` rows (outbox and webhook) are never deleted. Each request deletes at most `batch`
//! rows in one transaction, so that the DbActor is never busy for long; the
//! caller sends batches (outbox, then webhook deliveries, then transfers)
//! until one comes back short ([`prune`]), then
//! truncates the write-ahead log ([`Checkpoint`]).
//!
//! Forgetting a transfer also forgets that its counterparty was known to the
//! address-poisoning checks: keep transfers longer than the gaps between a
//! wallet's real payments to the same counterparty.

use std::time::Duration;

use actix::{Handler, Message, SyncContext};
use rusqlite::{Transaction, params};

use super::{DbActor, DbError, DbRef, DbRequest, connection, now_secs};
use crate::spam::render::MAX_LISTED;

/// Deletes up to `batch` outbox rows that are old enough (see the module
/// documentation); returns how many it deleted.
pub struct PruneOutbox {
    /// `sent`, `failed` and `uncertain` rows recorded before this (Unix
    /// seconds) go.
    pub delivered_before: i64,
    /// `held` rows recorded before this (Unix seconds) go.
    pub held_before: i64,
    pub batch: usize,
}

impl DbRequest for PruneOutbox {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        Ok(tx.execute(
            "DELETE FROM outbox WHERE id IN (
                SELECT o.id FROM outbox o
                WHERE ((o.state IN ('sent', 'failed', 'uncertain') AND o.created_at < ?1)
                       OR (o.state = 'held' AND o.created_at < ?2))
                  AND NOT (o.flagged = 1 AND o.id IN (
                      SELECT f.id FROM outbox f WHERE f.chat_id = o.chat_id AND f.flagged = 1
                      ORDER BY f.id DESC LIMIT ?4))
                LIMIT ?3)",
            params![
                self.delivered_before,
                self.held_before,
                self.batch as i64,
                MAX_LISTED as i64
            ],
        )?)
    }
}

/// Deletes up to `batch` webhook deliveries in a final state (`delivered`,
/// `dead`) recorded before `before` (Unix seconds); returns how many it
/// deleted. `pending` deliveries stay, however old.
pub struct PruneWebhooks {
    pub before: i64,
    pub batch: usize,
}

impl DbRequest for PruneWebhooks {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        Ok(tx.execute(
            "DELETE FROM webhook_deliveries WHERE id IN (
                SELECT id FROM webhook_deliveries
                WHERE state IN ('delivered', 'dead') AND created_at < ?1
                LIMIT ?2)",
            params![self.before, self.batch as i64],
        )?)
    }
}

/// Deletes up to `batch` transfers recorded before `before` (Unix seconds)
/// that no outbox row and no webhook delivery refers to; returns how many
/// it deleted.
pub struct PruneTransfers {
    pub before: i64,
    pub batch: usize,
}

impl DbRequest for PruneTransfers {
    type Output = usize;
    fn run(self, tx: &Transaction<'_>) -> Result<usize, DbError> {
        Ok(tx.execute(
            "DELETE FROM transfers WHERE id IN (
                SELECT t.id FROM transfers t
                WHERE t.created_at < ?1
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.transfer_id = t.id)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.transfer_id = t.id)
                LIMIT ?2)",
            params![self.before, self.batch as i64],
        )?)
    }
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: copies the write-ahead log into the
/// database and truncates it to zero bytes. Outside any transaction, so not
/// a [`DbRequest`]. Returns whether the checkpoint completed (`false`: a
/// reader was in the way; the next one catches up).
pub struct Checkpoint;

impl Message for Checkpoint {
    type Result = Result<bool, DbError>;
}

impl Handler<Checkpoint> for DbActor {
    type Result = Result<bool, DbError>;
    fn handle(&mut self, _: Checkpoint, _: &mut SyncContext<Self>) -> Self::Result {
        connection::checkpoint(&self.settings)
    }
}

/// How long rows are kept, and how many go per transaction.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub keep_delivered: Duration,
    pub keep_transfers: Duration,
    /// Rows per transaction.
    pub batch: usize,
}

/// Rows per pruning transaction in the daemon: a few milliseconds of work.
pub const BATCH: usize = 500;

impl Retention {
    pub fn from_config(c: &crate::config::DatabaseConfig) -> Retention {
        Retention {
            keep_delivered: c.keep_delivered,
            keep_transfers: c.keep_transfers,
            batch: BATCH,
        }
    }
}

/// What one round of pruning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub outbox: usize,
    /// Webhook deliveries.
    pub webhooks: usize,
    pub transfers: usize,
    /// Transactions used (each at most `batch` rows).
    pub batches: usize,
    /// Whether the write-ahead log was truncated.
    pub checkpointed: bool,
}

/// One round: outbox batches, then webhook delivery batches, then transfer
/// batches, each its own message
/// (other requests are served in between), then a checkpoint. `now` is Unix
/// seconds.
pub async fn prune(db: &DbRef, retention: Retention, now: i64) -> Result<Pruned, DbError> {
    let before =
        |keep: Duration| now.saturating_sub(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX));
    let batch = retention.batch.max(1);
    let mut out = Pruned::default();
    let delivered_before = before(retention.keep_delivered);
    let transfers_before = before(retention.keep_transfers);
    out.outbox = in_batches(db, batch, &mut out.batches, || PruneOutbox {
        delivered_before,
        held_before: transfers_before,
        batch,
    })
    .await?;
    out.webhooks = in_batches(db, batch, &mut out.batches, || PruneWebhooks {
        before: delivered_before,
        batch,
    })
    .await?;
    out.transfers = in_batches(db, batch, &mut out.batches, || PruneTransfers {
        before: transfers_before,
        batch,
    })
    .await?;
    out.checkpointed = db.call(Checkpoint).await??;
    Ok(out)
}

/// Sends `request()` until a batch deletes fewer than `batch` rows, each
/// its own message; counts the transactions in `batches`. Returns the rows
/// deleted.
async fn in_batches<R>(
    db: &DbRef,
    batch: usize,
    batches: &mut usize,
    request: impl Fn() -> R,
) -> Result<usize, DbError>
where
    R: DbRequest<Output = usize>,
{
    let mut total = 0;
    loop {
        let n = db.exec(request()).await?;
        total += n;
        *batches += 1;
        if n < batch {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Prunes every `interval`, the first time at once. Runs outside the actors
/// (spawned by the application at start-up), so it reaches whichever db pool is
/// current; a failed round is logged and tried again at the next interval.
pub async fn prune_every(db: DbRef, retention: Retention, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match prune(&db, retention, now_secs()).await {
            Ok(p) if p.outbox + p.webhooks + p.transfers > 0 => tracing::info!(
                actor = "db",
                outbox = p.outbox,
                webhooks = p.webhooks,
                transfers = p.transfers,
                batches = p.batches,
                checkpointed = p.checkpointed,
                "pruned old rows"
            ),
            Ok(p) => tracing::debug!(
                actor = "db",
                checkpointed = p.checkpointed,
                "nothing to prune"
            ),
            Err(e) => tracing::warn!(actor = "db", error = %e, "pruning failed; will try again"),
        }
    }
}

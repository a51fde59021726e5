//! The one atomic write of a scanner's poll on one chain.
//!
//! New transfers, one outbox row per subscribed chat (spam-checked), one
//! webhook row per matching sink and the cursor advances go to the database
//! in ONE `RecordPollResult` transaction: a cursor never moves past a
//! transfer that was not recorded. Re-recording is idempotent (unique on
//! chain, transaction hash and log index), so a scanner may see a transfer
//! twice (overlapping windows, a restart) without notifying twice.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::db::poll_result::{PollRecorded, RecordPollResult};
use crate::db::spam::SpamPolicy;
use crate::db::{DbError, DbRef};
use crate::domain::{Address, Transfer};
use crate::instruments::Instruments;
use crate::webhook::SinkFilter;

/// What the poll write needs, and nothing else: the database, the spam
/// checks, the webhook sinks' filters, the instruments it counts in and the
/// delivery loop's wake-up. Cheap to clone; every scanner holds one.
#[derive(Clone)]
pub struct Recorder {
    pub db: DbRef,
    /// The address-poisoning checks applied when transfers are recorded.
    pub spam: Arc<SpamPolicy>,
    /// The `[[webhook]]` sinks' filters (empty without sinks).
    pub webhooks: Arc<[SinkFilter]>,
    pub instruments: Arc<Instruments>,
    /// Woken when the write queued notifications.
    pub outbox_ready: Arc<Notify>,
}

/// Records `transfers` and moves the cursors `advanced` ((token contract,
/// last block fully scanned)) of `chain_id`, atomically; counts the result
/// in the per-chain instruments (`chain`: the chain's config name) and wakes
/// the delivery loop when there is something to send. On `Err` nothing was
/// written: the caller keeps its cursors where they were.
pub async fn record(
    rec: &Recorder,
    chain_id: u64,
    chain: &'static str,
    transfers: Vec<Transfer>,
    advanced: Vec<(Address, u64)>,
) -> Result<PollRecorded, DbError> {
    let request = RecordPollResult::new(chain_id, transfers, advanced, rec.spam.clone())
        .with_webhooks(rec.webhooks.clone());
    let recorded = rec.db.exec(request).await?;
    (rec.instruments).recorded(chain, recorded.new_transfers, recorded.notifications);
    if recorded.notifications > 0 {
        rec.outbox_ready.notify_one();
    }
    Ok(recorded)
}

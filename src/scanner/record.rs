//! The one atomic write of a scanner's poll on one chain.
//!
//! New transfers, one outbox row per subscribed chat (spam-checked), one
//! webhook row per matching sink and the cursor advances go to the database
//! in ONE `RecordPollResult` transaction: a cursor never moves past a
//! transfer that was not recorded. Re-recording is idempotent (unique on
//! chain, transaction hash and log index), so a scanner may see a transfer
//! twice (overlapping windows, a restart) without notifying twice.

use crate::app::Shared;
use crate::db::DbError;
use crate::db::poll_result::{PollRecorded, RecordPollResult};
use crate::domain::{Address, Transfer};

/// Records `transfers` and moves the cursors `advanced` ((token contract,
/// last block fully scanned)) of `chain_id`, atomically; counts the result
/// in the per-chain instruments (`chain`: the chain's config name) and wakes
/// the delivery loop when there is something to send. On `Err` nothing was
/// written: the caller keeps its cursors where they were.
pub async fn record(
    shared: &Shared,
    chain_id: u64,
    chain: &'static str,
    transfers: Vec<Transfer>,
    advanced: Vec<(Address, u64)>,
) -> Result<PollRecorded, DbError> {
    let request = RecordPollResult::new(chain_id, transfers, advanced, shared.spam.clone())
        .with_webhooks(shared.webhooks.filters.clone());
    let recorded = shared.db.exec(request).await?;
    (shared.metrics.instruments).recorded(chain, recorded.new_transfers, recorded.notifications);
    if recorded.notifications > 0 {
        shared.outbox_ready.notify_one();
    }
    Ok(recorded)
}

//! The daily digest of transfers held back as suspected spam, for chats
//! that chose `/spam digest`.
//!
//! The time of the last digest is kept in the meta table, so a restart
//! neither skips a day nor sends two digests; `TakeDigest` queues the
//! messages in the outbox and marks the rows digested in one transaction.

use std::rc::Rc;
use std::time::Duration;

use crate::db::meta::{GetMeta, SetMeta};
use crate::db::now_secs;
use crate::db::spam::TakeDigest;
use crate::telegram::Core;

const KEY: &str = "spam_digest_at";
const DAY: u64 = 24 * 60 * 60;
const CHECK_EVERY: Duration = Duration::from_secs(10 * 60);

pub async fn run(core: Rc<Core>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = core.stopped() => return,
        }
        if let Err(e) = digest_if_due(&core).await {
            tracing::warn!(actor = "telegram", error = %e, "spam digest postponed");
        }
    }
}

async fn digest_if_due(core: &Core) -> Result<(), crate::db::DbError> {
    let db = &core.deps.db;
    let now = now_secs().max(0) as u64;
    let last = db
        .exec(GetMeta(KEY))
        .await?
        .and_then(|v| v.parse::<u64>().ok());
    let Some(last) = last else {
        // The first start: the first digest is due a day from now.
        return db.exec(SetMeta(KEY, now.to_string())).await;
    };
    if now < last + DAY {
        return Ok(());
    }
    let reports = db
        .exec(TakeDigest {
            chat_id: None,
            since: last,
            default_mode: core.deps.config.spam.default_mode,
            contracts: core.deps.contracts.clone(),
        })
        .await?;
    db.exec(SetMeta(KEY, now.to_string())).await?;
    if !reports.is_empty() {
        tracing::info!(
            actor = "telegram",
            chats = reports.len(),
            "spam digests queued"
        );
        core.deps.outbox_ready.notify_one();
    }
    Ok(())
}

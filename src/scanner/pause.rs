//! A paused provider gets no call until its next probe.
//!
//! The pause itself ([`ProviderPause`](crate::metrics::ProviderPause):
//! "provider paused until T, because R") lives in the shared [`Pauses`], so
//! it survives a restart of the scanner. What pauses a provider is the
//! provider's business (`etherscan::pause`, `tron::pause`); this is the
//! check every scanner makes before its poll's first call.

use std::time::SystemTime;

use crate::metrics::{Counters, Pauses};

/// `Some(the /status line)` when `provider` is paused and its probe time has
/// not come: the poll makes no call (counted in `polls_paused`). `None`:
/// poll normally — when a pause is on, the poll's first call is its probe.
pub fn skip_poll(
    pauses: &Pauses,
    counters: &Counters,
    provider: &str,
    actor: &'static str,
) -> Option<String> {
    let p = pauses.paused(provider)?;
    let now = SystemTime::now();
    if now < p.next_probe {
        Counters::add(&counters.polls_paused, 1);
        let line = p.describe(now);
        tracing::debug!(actor, status = %line, "poll skipped");
        return Some(line);
    }
    tracing::info!(actor, reason = %p.reason, "probing {provider}");
    None
}

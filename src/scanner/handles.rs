//! What every scanner child is handed besides its configuration and key:
//! the shared handles of a scanner, in one place for every provider.

use std::sync::Arc;

use crate::db::DbRef;
use crate::instruments::Instruments;
use crate::metrics::{Alerts, Counters, Health, Pauses, ProviderHandles};
use crate::scanner::poll;
use crate::scanner::record::Recorder;

/// A scanner's shared handles. Cheap to clone: every incarnation of a
/// scanner actor gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct ScannerHandles {
    /// Cursors, the watched set (and, for Etherscan, the daily call counts).
    pub db: DbRef,
    /// The poll's one atomic write.
    pub record: Recorder,
    /// Each chain's head, cursor and sources, and today's calls.
    pub health: Arc<Health>,
    /// The provider's pause (daily cap, rate-limit suspension, rejected key).
    pub pauses: Arc<Pauses>,
    /// Admin alerts (rejected key, no working source, a pool's switches).
    pub alerts: Arc<Alerts>,
    pub counters: Arc<Counters>,
    pub instruments: Arc<Instruments>,
}

impl ScannerHandles {
    /// What the provider clients report to.
    pub fn provider(&self) -> ProviderHandles {
        ProviderHandles {
            instruments: self.instruments.clone(),
            pauses: self.pauses.clone(),
            alerts: self.alerts.clone(),
            counters: self.counters.clone(),
        }
    }

    /// What the poll frame uses.
    pub fn frame(&self) -> poll::Handles {
        poll::Handles {
            db: self.db.clone(),
            record: self.record.clone(),
            health: self.health.clone(),
            counters: self.counters.clone(),
        }
    }
}

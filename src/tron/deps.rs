//! What the `tron` child is handed, and nothing else (built by the
//! application from the configuration and the shared handles).

use std::sync::Arc;

use crate::config::{Config, Secret};
use crate::db::DbRef;
use crate::instruments::Instruments;
use crate::metrics::{Alerts, Counters, Health, Pauses, ProviderHandles};
use crate::scanner::poll;
use crate::scanner::record::Recorder;

/// The Tron scanner's dependencies. Cheap to clone: every incarnation of
/// the actor gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct Deps {
    /// Read: `tron` and the Tron chain's tokens.
    pub config: Arc<Config>,
    /// `TRONGRID_API_KEY`, optional (keyless TronGrid allows fewer requests).
    pub key: Option<Secret>,
    /// Cursors and the watched set.
    pub db: DbRef,
    /// The poll's one atomic write.
    pub record: Recorder,
    /// The Tron chain's head and cursor.
    pub health: Arc<Health>,
    /// TronGrid's pause (rate-limit suspension, rejected key).
    pub pauses: Arc<Pauses>,
    /// Admin alerts (rejected key).
    pub alerts: Arc<Alerts>,
    pub counters: Arc<Counters>,
    pub instruments: Arc<Instruments>,
}

impl Deps {
    /// What the TronGrid client reports to.
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

//! What the `etherscan` child is handed, and nothing else (built by the
//! application from the configuration and the shared handles).

use std::sync::Arc;

use crate::config::{Config, Secret};
use crate::db::DbRef;
use crate::instruments::Instruments;
use crate::metrics::{Alerts, Counters, Health, Pauses, ProviderHandles};
use crate::scanner::poll;
use crate::scanner::record::Recorder;

/// The EVM scanner's dependencies. Cheap to clone: every incarnation of
/// the actor gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct Deps {
    /// Read: `etherscan`, `blockscout`, the EVM chains and their tokens.
    pub config: Arc<Config>,
    /// `ETHERSCAN_API_KEY`: required when `monitor.chains` has an EVM
    /// chain, and this child exists only then.
    pub key: Secret,
    /// Cursors, the watched set and the daily call counts.
    pub db: DbRef,
    /// The poll's one atomic write.
    pub record: Recorder,
    /// Each chain's head, cursor and provider, and today's calls.
    pub health: Arc<Health>,
    /// Etherscan's pause (daily cap, revoked key).
    pub pauses: Arc<Pauses>,
    /// Admin alerts (invalid key, unsupported chain, the fallback's switches).
    pub alerts: Arc<Alerts>,
    pub counters: Arc<Counters>,
    pub instruments: Arc<Instruments>,
}

impl Deps {
    /// What the provider clients (Etherscan, Blockscout) report to.
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

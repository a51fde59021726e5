//! What the `etherscan` child is handed, and nothing else (built by the
//! application from the configuration and the shared handles).

use std::sync::Arc;

use crate::config::{Config, Secret};
use crate::scanner::handles::ScannerHandles;

/// The EVM scanner's dependencies. Cheap to clone: every incarnation of
/// the actor gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct Deps {
    /// Read: `etherscan`, `blockscout`, the EVM chains and their tokens.
    pub config: Arc<Config>,
    /// `ETHERSCAN_API_KEY`: required when `monitor.chains` has an EVM
    /// chain, and this child exists only then.
    pub key: Secret,
    /// Database (cursors, watched set, daily call counts), poll write,
    /// health, Etherscan's pause, alerts, counters.
    pub scanner: ScannerHandles,
}

//! What the `tron` child is handed, and nothing else (built by the
//! application from the configuration and the shared handles).

use std::sync::Arc;

use crate::config::{Config, Secret};
use crate::scanner::handles::ScannerHandles;

/// The Tron scanner's dependencies. Cheap to clone: every incarnation of
/// the actor gets a clone, and everything inside survives its restart.
#[derive(Clone)]
pub struct Deps {
    /// Read: `tron` and the Tron chain's tokens.
    pub config: Arc<Config>,
    /// `TRONGRID_API_KEY`, optional (keyless TronGrid allows fewer requests).
    pub key: Option<Secret>,
    /// Database, poll write, health, TronGrid's pause, alerts, counters.
    pub scanner: ScannerHandles,
}

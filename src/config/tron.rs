//! `[tron]`: the TronGrid client of the Tron scanner (used only when
//! `monitor.chains` includes `tron`). The key is the secret
//! `TRONGRID_API_KEY` (optional), never a config key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[tron]` in `config.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TronConfig {
    /// TronGrid base URL (mainnet `https://api.trongrid.io`; tests and the
    /// demo point it at the simulator).
    pub api_url: String,
    /// Calls per second, every call counted (TronGrid documents 15–30 QPS
    /// per key and ~1–5 without one or after the daily quota; 10 stays
    /// under all of them with a key).
    pub requests_per_second: u32,
    /// Pooled connections to TronGrid.
    pub max_connections: usize,
    /// How long one call may take, the body included.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for TronConfig {
    fn default() -> Self {
        TronConfig {
            api_url: "https://api.trongrid.io".into(),
            requests_per_second: 10,
            max_connections: 2,
            request_timeout: Duration::from_secs(15),
        }
    }
}

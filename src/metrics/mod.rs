//! State kept outside the actors, split by concern, so that it survives any
//! one restart and an admin's `/status` answers while a scanner is busy:
//!
//! * [`Health`] — each chain's head, cursor, last poll and provider, and
//!   today's calls: written by the scanners, read by `/status`, `/healthz`
//!   and `/metrics`;
//! * [`Pauses`] — providers paused until their next probe: written by the
//!   provider clients, read by the scanners before a poll and by `/status`;
//! * [`Alerts`] — the admin-alert bus: raised by whoever meets something
//!   only a human can fix, delivered by the bot's alerts loop;
//! * [`Counters`] — plain counts for `/stats`.
//!
//! The Prometheus instruments are in [`crate::instruments`]. Plain shared
//! memory rather than actor messages, on purpose; each child is handed only
//! the parts it uses (see `app`, which builds every child's dependencies).

mod alerts;
mod counters;
mod health;
mod pauses;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use alerts::{Alert, Alerts};
pub use counters::Counters;
pub use health::{ChainHealth, Health};
pub use pauses::{Pauses, ProviderPause};

use crate::instruments::Instruments;

/// What a provider's HTTP client reports to, and nothing else: every call
/// to the instruments, its provider's pause, admin alerts, and the call
/// counters.
#[derive(Debug, Clone)]
pub struct ProviderHandles {
    pub instruments: Arc<Instruments>,
    /// Built on `alerts` (lifting a pause resolves its alert there).
    pub pauses: Arc<Pauses>,
    pub alerts: Arc<Alerts>,
    pub counters: Arc<Counters>,
}

impl Default for ProviderHandles {
    /// Fresh handles of their own (a one-off check such as `preflight`).
    fn default() -> Self {
        let alerts = Arc::new(Alerts::default());
        ProviderHandles {
            instruments: Arc::default(),
            pauses: Arc::new(Pauses::new(alerts.clone())),
            alerts,
            counters: Arc::default(),
        }
    }
}

/// "HH:MM UTC" of a time.
pub fn utc_hhmm(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let of_day = secs % 86_400;
    format!("{:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60)
}

/// The next UTC midnight strictly after `t` (when daily quotas reset).
pub fn next_utc_midnight(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs((secs / 86_400 + 1) * 86_400)
}

/// Open file descriptors of this process (Linux: entries of /proc/self/fd).
pub fn open_descriptors() -> Option<usize> {
    // The directory handle used for counting is itself one entry.
    Some(
        std::fs::read_dir("/proc/self/fd")
            .ok()?
            .count()
            .saturating_sub(1),
    )
}

/// Resident memory of this process in bytes (Linux: VmRSS).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_figures_are_readable() {
        assert!(open_descriptors().unwrap() >= 3);
        assert!(resident_bytes().unwrap() > 0);
    }
}

//! Provider pauses: a provider that gets no calls until its next probe.
//! Kept outside the scanners so that a pause survives their restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::{Alerts, utc_hhmm};

/// A provider that gets no calls until `next_probe`, because of `reason`:
/// one shape for every provider-wide condition (a daily quota spent, a key
/// revoked while running). At `next_probe` one call is let through as a
/// probe; its success lifts the pause, its failure sets the next probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPause {
    /// E.g. "Etherscan".
    pub provider: &'static str,
    /// Short, for `/status`: "daily cap reached", "API key rejected".
    pub reason: String,
    /// When the cause can have gone by itself (a daily quota: the next UTC
    /// midnight); `None` when only a fix can lift it.
    pub until: Option<SystemTime>,
    /// The earliest time of the next call (the probe).
    pub next_probe: SystemTime,
    /// The alert raised for it, resolved when the pause lifts.
    pub alert_key: String,
}

impl ProviderPause {
    /// One `/status` line, e.g. "Etherscan paused: daily cap reached,
    /// resumes ~00:00 UTC; next probe in 14m".
    pub fn describe(&self, now: SystemTime) -> String {
        let mut s = format!("{} paused: {}", self.provider, self.reason);
        if let Some(until) = self.until {
            s += &format!(", resumes ~{}", utc_hhmm(until));
        }
        let wait = self.next_probe.duration_since(now).unwrap_or_default();
        if wait.is_zero() {
            s += "; probing at the next poll";
        } else {
            let wait = Duration::from_secs(wait.as_secs().max(1));
            s += &format!("; next probe in {}", humantime::format_duration(wait));
        }
        s
    }
}

/// Every paused provider, at most one pause each. Lifting a pause resolves
/// its alert in the [`Alerts`] it was built with (no `Default`: a pause
/// book with alerts of its own would resolve nobody's alert).
#[derive(Debug)]
pub struct Pauses {
    pauses: Mutex<Vec<ProviderPause>>,
    alerts: Arc<Alerts>,
}

impl Pauses {
    /// Pauses whose alerts are raised and resolved in `alerts`.
    pub fn new(alerts: Arc<Alerts>) -> Pauses {
        Pauses {
            pauses: Mutex::default(),
            alerts,
        }
    }

    /// Pauses `pause.provider` (replacing an earlier pause of it).
    pub fn pause(&self, pause: ProviderPause) {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.retain(|p| p.provider != pause.provider);
        pauses.push(pause);
    }

    /// Lifts the pause of `provider`, resolving its alert; returns it.
    pub fn lift(&self, provider: &str) -> Option<ProviderPause> {
        let lifted = {
            let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
            let at = pauses.iter().position(|p| p.provider == provider)?;
            pauses.remove(at)
        };
        self.alerts.resolve(&lifted.alert_key);
        Some(lifted)
    }

    /// The pause of `provider`, if any.
    pub fn paused(&self, provider: &str) -> Option<ProviderPause> {
        let pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        pauses.iter().find(|p| p.provider == provider).cloned()
    }

    /// Every paused provider.
    pub fn pauses(&self) -> Vec<ProviderPause> {
        self.pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::next_utc_midnight;

    #[test]
    fn a_pause_is_described_and_lifting_it_resolves_its_alert() {
        let alerts = Arc::new(Alerts::default());
        let m = Pauses::new(alerts.clone());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 22 * 3600);
        let midnight = next_utc_midnight(now);
        assert_eq!(
            midnight.duration_since(now).unwrap(),
            Duration::from_secs(2 * 3600)
        );
        assert_eq!(
            next_utc_midnight(midnight),
            midnight + Duration::from_secs(86_400)
        );
        alerts.raise("etherscan:daily-cap", "cap");
        m.pause(ProviderPause {
            provider: "Etherscan",
            reason: "daily cap reached".into(),
            until: Some(midnight),
            next_probe: now + Duration::from_secs(15 * 60),
            alert_key: "etherscan:daily-cap".into(),
        });
        assert_eq!(
            m.paused("Etherscan").unwrap().describe(now),
            "Etherscan paused: daily cap reached, resumes ~00:00 UTC; next probe in 15m"
        );
        assert!(m.paused("TronGrid").is_none());
        assert!(m.lift("Etherscan").is_some());
        assert!(m.pauses().is_empty());
        assert!(alerts.active_alerts().is_empty());
        assert!(m.lift("Etherscan").is_none());
    }
}

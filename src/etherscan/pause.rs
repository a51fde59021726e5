//! Provider-wide conditions: Etherscan answers that no retry within a poll
//! can help, and that hold for every chain, because the key's quota and
//! validity are account-wide.
//!
//! Both map to one [`ProviderPause`] shape — "paused until T, because R" —
//! kept in the shared [`Pauses`](crate::metrics::Pauses) so that it
//! survives a restart of the scanner and `/status` can show it:
//!
//! | answer | `until` | probe | alert |
//! |---|---|---|---|
//! | "Max daily rate limit reached…" | the next UTC midnight (the quota's reset) | every `etherscan.daily_cap_probe_interval` (15m), and at midnight | once, `etherscan:daily-cap` |
//! | "Invalid API Key" (revoked while running) | unknown | every `etherscan.invalid_key_probe_interval` (5m) | once, `etherscan:invalid-key` |
//!
//! While paused, a poll makes no call at all. When `next_probe` has come,
//! the next poll runs normally; its first call is the probe. A success
//! lifts the pause and resolves the alert; the cursors simply resume, so
//! nothing is lost. A failure with the same answer sets the next probe
//! (the alert is not raised again).

use std::time::{Duration, SystemTime};

use super::error::ApiError;
use crate::config::EtherscanConfig;
use crate::metrics::{ProviderPause, next_utc_midnight, utc_hhmm};

/// The provider name of Etherscan's pauses.
pub const PROVIDER: &str = "Etherscan";

/// Alert key for an invalid API key.
pub const INVALID_KEY_ALERT: &str = "etherscan:invalid-key";

/// Alert key for the daily call limit.
pub const DAILY_CAP_ALERT: &str = "etherscan:daily-cap";

/// How rarely a paused provider is probed.
#[derive(Debug, Clone, Copy)]
pub struct ProbeIntervals {
    /// `etherscan.daily_cap_probe_interval`.
    pub daily_cap: Duration,
    /// `etherscan.invalid_key_probe_interval`.
    pub invalid_key: Duration,
}

impl ProbeIntervals {
    pub fn from_config(config: &EtherscanConfig) -> Self {
        ProbeIntervals {
            daily_cap: config.daily_cap_probe_interval,
            invalid_key: config.invalid_key_probe_interval,
        }
    }
}

/// The pause an answer calls for, with the admins' alert text; `None` for
/// an answer that is not provider-wide.
pub fn pause_for(
    error: &ApiError,
    now: SystemTime,
    probes: ProbeIntervals,
) -> Option<(ProviderPause, String)> {
    match error {
        ApiError::DailyLimit(reason) => {
            let midnight = next_utc_midnight(now);
            let pause = ProviderPause {
                provider: PROVIDER,
                reason: "daily cap reached".into(),
                until: Some(midnight),
                next_probe: (now + probes.daily_cap).min(midnight),
                alert_key: DAILY_CAP_ALERT.into(),
            };
            let text = format!(
                "Etherscan's daily call limit is reached ({reason}). Scanning is paused until \
                 the quota resets at ~{} (one probe every {}); nothing is lost, scanning resumes \
                 where it stopped. A larger plan raises the limit.",
                utc_hhmm(midnight),
                humantime::format_duration(probes.daily_cap),
            );
            Some((pause, text))
        }
        ApiError::InvalidKey(reason) => {
            let pause = ProviderPause {
                provider: PROVIDER,
                reason: "API key rejected".into(),
                until: None,
                next_probe: now + probes.invalid_key,
                alert_key: INVALID_KEY_ALERT.into(),
            };
            let text = format!(
                "Etherscan rejects the API key ({reason}). Calls with it are stopped (one probe \
                 every {}) until it works again: fix ETHERSCAN_API_KEY.",
                humantime::format_duration(probes.invalid_key),
            );
            Some((pause, text))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_cap_probes_rarely_and_never_after_midnight() {
        let probes = ProbeIntervals {
            daily_cap: Duration::from_secs(900),
            invalid_key: Duration::from_secs(300),
        };
        let day = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
        let cap = ApiError::DailyLimit("Max daily rate limit reached".into());
        let (p, text) = pause_for(&cap, day + Duration::from_secs(3600), probes).unwrap();
        assert_eq!(p.until, Some(day + Duration::from_secs(86_400)));
        assert_eq!(p.next_probe, day + Duration::from_secs(3600 + 900));
        assert!(text.contains("00:00 UTC"), "{text}");
        let late = day + Duration::from_secs(86_400 - 60);
        let (p, _) = pause_for(&cap, late, probes).unwrap();
        assert_eq!(p.next_probe, day + Duration::from_secs(86_400));

        let key = ApiError::InvalidKey("Invalid API Key".into());
        let (p, text) = pause_for(&key, day, probes).unwrap();
        assert_eq!(
            (p.until, p.next_probe),
            (None, day + Duration::from_secs(300))
        );
        assert!(
            text.contains("ETHERSCAN_API_KEY") && text.contains("5m"),
            "{text}"
        );
        assert!(pause_for(&ApiError::Http(500), day, probes).is_none());
    }
}

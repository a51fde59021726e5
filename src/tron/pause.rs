//! When TronGrid is paused: a rate-limit suspension (wait it out) or a
//! rejected key (alert once, probe). The pause is the shared
//! [`ProviderPause`] shape (`scanner::pause`), so `/status` shows it and a
//! restart of the actor keeps it.

use std::time::{Duration, SystemTime};

use super::api::suspension_secs;
use super::error::TronError;
use crate::metrics::ProviderPause;

/// The provider's name in pauses and `/status`.
pub const PROVIDER: &str = "TronGrid";

/// Alert key of a rejected TronGrid key.
pub const INVALID_KEY_ALERT: &str = "tron:invalid-key";

/// Key of the (silent) rate-limit pause: no alert is raised for it.
pub const RATE_LIMIT_PAUSE: &str = "tron:rate-limited";

/// The longest rate-limit wait taken from an answer's text ("… suspended
/// for 30s"): TronGrid names 30 s; a larger number is a broken or hostile
/// answer and must not stop Tron scanning for longer than this.
pub const MAX_SUSPENSION: Duration = Duration::from_secs(10 * 60);

/// How often a rejected key is probed.
pub const INVALID_KEY_PROBE: Duration = Duration::from_secs(5 * 60);

/// The pause `error` calls for, and the admin alert text if one is due.
/// A rate limit waits the suspension the answer names (at most
/// [`MAX_SUSPENSION`]), at least `suspension` (30 s in the daemon); a rejected key waits for a probe every
/// [`INVALID_KEY_PROBE`].
pub fn pause_for(
    error: &TronError,
    now: SystemTime,
    suspension: Duration,
) -> Option<(ProviderPause, Option<String>)> {
    match error {
        TronError::RateLimited(text) => {
            let named = suspension_secs(text).map_or(Duration::ZERO, Duration::from_secs);
            let wait = named.min(MAX_SUSPENSION).max(suspension);
            Some((
                ProviderPause {
                    provider: PROVIDER,
                    reason: format!("rate limited, waiting {}", humantime::format_duration(wait)),
                    until: Some(now + wait),
                    next_probe: now + wait,
                    alert_key: RATE_LIMIT_PAUSE.into(),
                },
                None,
            ))
        }
        TronError::InvalidKey(reason) => Some((
            ProviderPause {
                provider: PROVIDER,
                reason: "API key rejected".into(),
                until: None,
                next_probe: now + INVALID_KEY_PROBE,
                alert_key: INVALID_KEY_ALERT.into(),
            },
            Some(format!(
                "TronGrid rejects the API key ({reason}). Tron scanning is stopped (one probe \
                 every {}) until it works again: fix or unset TRONGRID_API_KEY.",
                humantime::format_duration(INVALID_KEY_PROBE)
            )),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_waits_at_least_the_suspension() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let e = TronError::RateLimited("suspended for 45s".into());
        let (p, alert) = pause_for(&e, now, Duration::from_secs(30)).unwrap();
        assert_eq!(p.next_probe, now + Duration::from_secs(45));
        assert!(alert.is_none());
        let e = TronError::RateLimited("HTTP 429".into());
        let (p, _) = pause_for(&e, now, Duration::from_secs(30)).unwrap();
        assert_eq!(p.next_probe, now + Duration::from_secs(30));
        let (_, alert) = pause_for(
            &TronError::InvalidKey("ApiKey not exists".into()),
            now,
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(alert.unwrap().contains("TRONGRID_API_KEY"));
        assert!(pause_for(&TronError::Http(500), now, Duration::from_secs(30)).is_none());
    }

    /// The kind `absurd suspension`: a rate-limit answer naming a wait far
    /// beyond TronGrid's 30 s (a broken or hostile proxy) neither panics
    /// (`SystemTime` + a huge `Duration` overflows) nor stops Tron scanning
    /// for years: the wait is capped.
    #[test]
    fn an_absurd_suspension_named_by_the_provider_is_capped() {
        let now = SystemTime::now();
        for secs in ["18446744073709551615", "9999999999"] {
            let e = TronError::RateLimited(format!(
                "The key exceeds the frequency limit(15), and the query server is suspended for {secs}s"
            ));
            let (p, _) = pause_for(&e, now, Duration::from_secs(30)).unwrap();
            assert_eq!(p.next_probe, now + MAX_SUSPENSION, "{secs}");
            assert_eq!(p.until, Some(now + MAX_SUSPENSION), "{secs}");
        }
    }
}

//! The daily call budget: what a provider's calls today allow.
//!
//! Calls are counted per provider per UTC day and persisted once per poll
//! (`db::budget`, so a restart keeps the count). Against Etherscan's
//! `etherscan.daily_limit`:
//! - below 90 % used, polls run at `monitor.poll_interval`;
//! - from 90 %, **the scanner skips polls** so that the rest lasts until
//!   the next UTC midnight: a poll runs only when at least
//!   `seconds to midnight × calls per poll ÷ calls left` have passed since
//!   the last one (calls per poll: the last poll's count). The ticker keeps
//!   its interval; skipped polls make no call;
//! - at the limit, Etherscan is paused until midnight (the same pause as
//!   its "Max daily rate limit reached" answer): chains with a Blockscout
//!   instance move to it, the others wait — no call is spent on retries.
//!
//! Admins are told once when the stretching starts; `/status` shows used /
//! limit.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::metrics::next_utc_midnight;

/// From this share of the limit used (in percent), polls are stretched.
pub const STRETCH_PERCENT: u64 = 90;

/// The UTC day of `t`: days since the Unix epoch.
pub fn utc_day(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

/// What today's count allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Poll at the configured interval.
    Normal,
    /// Poll no more often than this.
    Stretch(Duration),
    /// The limit is reached: no call until midnight.
    Spent,
}

/// `used` of `limit` calls today, polls costing `calls_per_poll`, at `now`.
pub fn verdict(used: u64, limit: u64, calls_per_poll: u64, now: SystemTime) -> Verdict {
    if used >= limit {
        return Verdict::Spent;
    }
    if used.saturating_mul(100) < limit.saturating_mul(STRETCH_PERCENT) {
        return Verdict::Normal;
    }
    let left = limit - used;
    let to_midnight = next_utc_midnight(now)
        .duration_since(now)
        .unwrap_or_default();
    let per_poll = calls_per_poll.max(1) as f64;
    // Seconds to midnight spread over the polls the calls left allow.
    let polls_left = (left as f64 / per_poll).max(1.0);
    Verdict::Stretch(to_midnight.div_f64(polls_left))
}

/// `check-config`: the calls a day the configuration implies at least, when
/// every range fits one page: per poll and chain one head call and, per
/// token, one getLogs for new blocks plus one for the deep pass (when on).
/// Returns the estimate and its arithmetic.
pub fn estimate(config: &Config) -> (u64, String) {
    let polls = (86_400.0 / config.monitor.poll_interval.as_secs_f64()).ceil() as u64;
    let mut per_poll = 0u64;
    let mut parts = Vec::new();
    for chain in config.chains() {
        let passes = if chain.rescan_depth > 0 { 2 } else { 1 };
        let calls = 1 + chain.tokens.len() as u64 * passes;
        per_poll += calls;
        parts.push(format!(
            "{}: 1 head + {} token(s) × {passes} pass(es) = {calls}",
            chain.name,
            chain.tokens.len()
        ));
    }
    let total = per_poll.saturating_mul(polls);
    let text = format!(
        "{} per poll ({}) × {polls} polls a day (86400 s / poll_interval {}) = {total} calls a day",
        per_poll,
        parts.join("; "),
        humantime::format_duration(config.monitor.poll_interval),
    );
    (total, text)
}

/// The `check-config` warning, if the estimate exceeds `etherscan.daily_limit`.
pub fn check(config: &Config) -> Option<String> {
    let (total, text) = estimate(config);
    let limit = config.etherscan.daily_limit;
    (total > limit).then(|| {
        format!(
            "warning: at least {text}, above etherscan.daily_limit = {limit}: polls will be \
             stretched from {STRETCH_PERCENT} % of it, then Etherscan pauses until midnight UTC \
             (raise poll_interval or the plan)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs_of_day: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + secs_of_day)
    }

    #[test]
    fn stretches_from_90_percent_so_the_rest_lasts_until_midnight() {
        let noon = at(43_200);
        assert_eq!(verdict(89_999, 100_000, 5, noon), Verdict::Normal);
        // 10 000 calls left at noon, 5 per poll: 2000 polls in 43 200 s.
        assert_eq!(
            verdict(90_000, 100_000, 5, noon),
            Verdict::Stretch(Duration::from_secs_f64(21.6))
        );
        assert_eq!(verdict(100_000, 100_000, 5, noon), Verdict::Spent);
        assert_eq!(verdict(100_001, 100_000, 5, noon), Verdict::Spent);
        // One call left: wait until midnight for it.
        assert_eq!(
            verdict(99_999, 100_000, 5, noon),
            Verdict::Stretch(Duration::from_secs(43_200))
        );
    }

    #[test]
    fn check_config_shows_the_arithmetic() {
        let mut c = Config::default();
        let (total, text) = estimate(&c);
        // ethereum, USDT + USDC, deep pass on, every 15 s.
        assert_eq!(total, 5 * 5760, "{text}");
        assert!(text.contains("5760 polls"), "{text}");
        assert_eq!(check(&c), None);
        c.monitor.poll_interval = Duration::from_secs(2);
        let w = check(&c).expect("5 × 43200 is above 100000");
        assert!(
            w.contains("216000 calls a day") && w.contains("100000"),
            "{w}"
        );
    }
}

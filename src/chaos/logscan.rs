//! What the daemon's JSON log says happened: actor crashes and restarts,
//! with their times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One supervisor event read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorEvent {
    pub at: SystemTime,
    pub actor: String,
    /// `"actor crashed"` or `"actor restarted"`.
    pub message: String,
}

/// The supervisor's crash and restart events in one log.
pub fn actor_events(log: &str) -> Vec<ActorEvent> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            let message = v["message"].as_str()?;
            if message != "actor crashed" && message != "actor restarted" {
                return None;
            }
            Some(ActorEvent {
                at: parse_rfc3339(v["timestamp"].as_str()?)?,
                actor: v["actor"].as_str()?.to_owned(),
                message: message.to_owned(),
            })
        })
        .collect()
}

/// `2026-11-29T21:06:12.123456Z` (UTC, as tracing-subscriber writes it).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let digits: String = frac.chars().take(9).collect();
    let nanos = digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32);
    let days = u64::try_from(days_from_civil(y, m, day)).ok()?;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(nanos))
}

/// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tracing_timestamps() {
        let t = parse_rfc3339("2025-11-28T02:30:23.5Z").unwrap();
        let d = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(d.as_secs(), 1_764_297_023);
        assert_eq!(d.subsec_millis(), 500);
        assert_eq!(
            crate::notification::utc(d.as_secs()),
            "2025-11-28 02:30:23 UTC"
        );
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn reads_crashes_and_ignores_other_lines() {
        let log = r#"{"timestamp":"2026-11-29T21:06:12.000001Z","level":"ERROR","message":"actor crashed","actor":"db","reason":"panicked: x"}
not json
{"timestamp":"2026-11-29T21:06:13Z","level":"INFO","message":"actor started","actor":"db"}"#;
        let events = actor_events(log);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor, "db");
    }
}

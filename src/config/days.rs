//! Long durations in days: humantime counts a month as 30.44 days, so 90
//! days would print as "2months 29days 2h 52m 48s". Whole days print as
//! "90days" instead; reading is plain humantime ("90d", "12weeks", "1h").

use std::time::Duration;

use serde::{Deserializer, Serializer};

const DAY: u64 = 24 * 3600;

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let secs = d.as_secs();
    if secs > 0 && secs.is_multiple_of(DAY) && d.subsec_nanos() == 0 {
        s.collect_str(&format_args!("{}days", secs / DAY))
    } else {
        humantime_serde::serialize(d, s)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    humantime_serde::deserialize(d)
}

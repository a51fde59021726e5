//! Telegram-like flood limits for `sendMessage`.
//!
//! Telegram does not publish exact numbers; it tolerates short bursts and
//! then answers 429 with `retry_after`. A token bucket models that well: the
//! bucket refills at the allowed rate and holds at most `burst` tokens, so an
//! idle chat may send a few messages back to back, while a sustained sender
//! is held to the rate. The daemon's own pacing is what these limits test.

use std::collections::HashMap;
use std::time::Instant;

/// How many messages one chat may receive back to back before the
/// per-chat rate applies.
pub(crate) const PER_CHAT_BURST: f64 = 3.0;

/// A classic token bucket; time comes from the caller so tests of the bucket
/// itself need no sleeping.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling `rate` tokens per second up to `capacity`.
    pub(crate) fn new(rate: f64, capacity: f64, now: Instant) -> Self {
        Self {
            rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }

    /// Whether a whole token is available at `now` (refills first).
    pub(crate) fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Spends one token; call only after `has_token` said yes.
    pub(crate) fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

/// A usable rate: positive and finite. Anything else disables that limit,
/// so a zero or NaN in the options cannot wedge a test forever.
fn usable(rate: f64) -> Option<f64> {
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

/// The per-chat, per-group and global buckets together.
#[derive(Debug)]
pub(crate) struct FloodGate {
    pub(crate) enabled: bool,
    per_chat_rate: Option<f64>,
    global: Option<TokenBucket>,
    chats: HashMap<i64, TokenBucket>,
    /// Messages per minute into one group (negative chat id): a bucket of
    /// that many refilling over a minute.
    group_per_min: Option<f64>,
    groups: HashMap<i64, TokenBucket>,
}

impl FloodGate {
    pub(crate) fn new(enabled: bool, per_chat_per_sec: f64, global_per_sec: f64) -> Self {
        let now = Instant::now();
        Self {
            enabled,
            per_chat_rate: usable(per_chat_per_sec),
            // About one second's worth of burst, and at least one message.
            global: usable(global_per_sec).map(|r| TokenBucket::new(r, r.max(1.0), now)),
            chats: HashMap::new(),
            group_per_min: None,
            groups: HashMap::new(),
        }
    }

    /// Adds the group limit: `per_min` messages per minute into one group
    /// (a non-positive or non-finite value: none).
    pub(crate) fn with_group_limit(mut self, per_min: f64) -> Self {
        self.group_per_min = usable(per_min);
        self
    }

    /// Admits one message to `chat_id` at `now` if both buckets allow it,
    /// spending a token from each; a refused message spends nothing, as a
    /// 429 does not count against the sender's budget.
    pub(crate) fn admit(&mut self, chat_id: i64, now: Instant) -> bool {
        if !self.enabled {
            return true;
        }
        let global_ok = self.global.as_mut().is_none_or(|b| b.has_token(now));
        let chat = self
            .per_chat_rate
            .map(|rate| {
                self.chats
                    .entry(chat_id)
                    .or_insert_with(|| TokenBucket::new(rate, PER_CHAT_BURST, now))
            })
            .map(|b| b.has_token(now));
        let group = self
            .group_per_min
            .filter(|_| chat_id < 0)
            .map(|per_min| {
                self.groups
                    .entry(chat_id)
                    .or_insert_with(|| TokenBucket::new(per_min / 60.0, per_min, now))
            })
            .map(|b| b.has_token(now));
        if !global_ok || chat == Some(false) || group == Some(false) {
            return false;
        }
        if let Some(b) = self.global.as_mut() {
            b.take();
        }
        if let Some(b) = self.chats.get_mut(&chat_id) {
            b.take();
        }
        if let Some(b) = self.groups.get_mut(&chat_id) {
            b.take();
        }
        true
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(true, 1.0, 30.0);
        assert!((0..3).all(|_| gate.admit(7, t0)));
        assert!(!gate.admit(7, t0), "fourth message in the same instant");
        assert!(gate.admit(8, t0), "another chat has its own bucket");
        assert!(gate.admit(7, t0 + Duration::from_millis(1001)));
        assert!(!gate.admit(7, t0 + Duration::from_millis(1002)));
    }

    #[test]
    fn global_limit_across_chats() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(true, 1.0, 5.0);
        let admitted = (0..10).filter(|c| gate.admit(*c, t0)).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn groups_get_20_per_minute() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(true, 0.0, 1000.0).with_group_limit(20.0);
        assert_eq!((0..30).filter(|_| gate.admit(-5, t0)).count(), 20);
        assert!(gate.admit(5, t0), "a user's chat is not a group");
        assert!(!gate.admit(-5, t0 + Duration::from_secs(2)));
        assert!(gate.admit(-5, t0 + Duration::from_secs(3)));
    }

    #[test]
    fn disabled_or_unusable_rates_admit_everything() {
        let t0 = Instant::now();
        let mut off = FloodGate::new(false, 1.0, 1.0);
        assert!((0..100).all(|_| off.admit(1, t0)));
        let mut nan = FloodGate::new(true, f64::NAN, 0.0);
        assert!((0..100).all(|_| nan.admit(1, t0)));
    }
}

//! Send pacing: a global token bucket, per-chat spacing, a per-group
//! limit per minute, and a global pause after a 429.
//!
//! Telegram answers 429 when a bot sends more than about 30 messages per
//! second overall or more than about one per second into one chat, and
//! repeated floods risk a ban; into a group (negative chat id) it allows
//! about 20 messages per minute. Pacing ourselves makes 429s the exception:
//! every message (notifications, command replies, admin alerts) takes a
//! token here before it is sent. When a 429 comes anyway, *all* sending
//! pauses for its `retry_after`, as Telegram asks.
//!
//! [`Pacer`] is pure: time is passed in, so the arithmetic is unit-tested
//! without sleeping. The async wait lives in the caller.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// When the global bucket is allowed to burst: a fifth of a second's worth
/// of messages (at least one), so a burst stays well inside Telegram's
/// per-second limit while a late timer wake-up loses no throughput.
fn burst_for(rate: f64) -> f64 {
    (rate / 5.0).max(1.0)
}

/// The pacing state shared by every sender of one bot.
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
    per_chat: Duration,
    /// The earliest instant each chat may receive its next message.
    chat_next: HashMap<i64, Instant>,
    /// No message at all before this instant (after a 429).
    paused_until: Option<Instant>,
    /// Messages per [`GROUP_WINDOW`] into one group.
    group_limit: usize,
    /// When each group's recent messages went out, oldest first (at most
    /// `group_limit`).
    group_sent: HashMap<i64, VecDeque<Instant>>,
    /// Chats a reply waits for (their spacing or group budget), until when:
    /// notifications to them stand aside so that the reply goes first.
    reply_waits: HashMap<i64, Instant>,
    /// A reply waits for a token of the global bucket until then:
    /// notifications stand aside meanwhile.
    reply_wants_token: Option<Instant>,
}

/// How long past the instant a waiting reply was told to come back its
/// claim holds (it may wake up a little late); a claim lapses by itself,
/// so a reply that is dropped while waiting holds nothing up for long.
const REPLY_CLAIM_SLACK: Duration = Duration::from_millis(100);

/// The window of the per-group limit.
pub const GROUP_WINDOW: Duration = Duration::from_secs(60);

/// Groups and supergroups have negative ids; users positive ones.
pub fn is_group(chat: i64) -> bool {
    chat < 0
}

impl Pacer {
    /// `rate` messages per second overall (at least one), `per_chat`
    /// spacing between two messages into the same chat.
    pub fn new(rate: u32, per_chat: Duration, now: Instant) -> Pacer {
        let rate = f64::from(rate.max(1));
        let capacity = burst_for(rate);
        Pacer {
            rate,
            capacity,
            tokens: capacity,
            refilled_at: now,
            per_chat,
            chat_next: HashMap::new(),
            paused_until: None,
            group_limit: 20,
            group_sent: HashMap::new(),
            reply_waits: HashMap::new(),
            reply_wants_token: None,
        }
    }

    /// At most `per_minute` messages per [`GROUP_WINDOW`] into one group
    /// (at least one); 20 unless set.
    pub fn with_group_limit(mut self, per_minute: u32) -> Pacer {
        self.group_limit = per_minute.max(1) as usize;
        self
    }

    /// When `chat`, a group, may next receive a message under the group
    /// limit (a sliding window: stricter than Telegram's own bucket).
    fn group_ready_at(&self, chat: i64) -> Option<Instant> {
        let sent = self.group_sent.get(&chat)?;
        (sent.len() >= self.group_limit)
            .then(|| sent.front().map(|first| *first + GROUP_WINDOW))
            .flatten()
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled_at = now;
    }

    /// When `chat` may next receive a notification, ignoring the global
    /// bucket (the delivery loop prefers chats that are ready); a reply
    /// waiting for the chat comes first.
    pub fn chat_ready_at(&self, chat: i64) -> Option<Instant> {
        [
            self.chat_next.get(&chat).copied(),
            self.group_ready_at(chat),
            self.reply_waits.get(&chat).copied(),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    /// Takes the right to send one notification to `chat` now, or says
    /// when to ask again. Replies waiting for the same chat, or for a
    /// token, go first.
    pub fn try_acquire(&mut self, chat: i64, now: Instant) -> Result<(), Instant> {
        if let Some(&until) = self.reply_waits.get(&chat) {
            if now < until {
                return Err(until);
            }
            self.reply_waits.remove(&chat);
        }
        if let Some(until) = self.reply_wants_token {
            if now < until {
                return Err(until);
            }
            self.reply_wants_token = None;
        }
        self.acquire(chat, now)
    }

    /// Takes the right to send one reply (to a command or a button) to
    /// `chat` now, or says when to ask again; meanwhile the reply has
    /// precedence over notifications for the chat's next turn and for the
    /// next token (a claim that lapses [`REPLY_CLAIM_SLACK`] after the
    /// instant returned).
    pub fn try_acquire_reply(&mut self, chat: i64, now: Instant) -> Result<(), Instant> {
        match self.acquire(chat, now) {
            Ok(()) => {
                self.reply_waits.remove(&chat);
                if self.reply_wants_token.is_some_and(|t| t <= now) {
                    self.reply_wants_token = None;
                }
                Ok(())
            }
            Err(at) => {
                let ready = self.chat_ready_for(chat);
                if ready.is_some_and(|r| r > now) {
                    self.reply_waits.insert(chat, at + REPLY_CLAIM_SLACK);
                } else if self.paused_until.is_none_or(|p| p <= now) {
                    // Only the bucket is missing: claim its next token.
                    let claim = at + REPLY_CLAIM_SLACK;
                    self.reply_wants_token =
                        Some(self.reply_wants_token.map_or(claim, |t| t.max(claim)));
                }
                if self.reply_waits.len() > 4096 {
                    self.reply_waits.retain(|_, until| *until > now);
                }
                Err(at)
            }
        }
    }

    /// When the chat's own limits (spacing, group budget) let it receive.
    fn chat_ready_for(&self, chat: i64) -> Option<Instant> {
        [
            self.chat_next.get(&chat).copied(),
            self.group_ready_at(chat),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    fn acquire(&mut self, chat: i64, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        if let Some(&next) = self.chat_next.get(&chat)
            && now < next
        {
            return Err(next);
        }
        if let Some(next) = self.group_ready_at(chat)
            && now < next
        {
            return Err(next);
        }
        self.refill(now);
        if self.tokens < 1.0 {
            let missing = (1.0 - self.tokens) / self.rate;
            return Err(now + Duration::from_secs_f64(missing));
        }
        self.tokens -= 1.0;
        self.chat_next.insert(chat, now + self.per_chat);
        if is_group(chat) {
            let sent = self.group_sent.entry(chat).or_default();
            sent.push_back(now);
            while sent.len() > self.group_limit {
                sent.pop_front();
            }
        }
        if self.chat_next.len() > 4096 {
            // Forget chats whose spacing has passed; keeps memory flat.
            self.chat_next.retain(|_, next| *next > now);
        }
        if self.group_sent.len() > 4096 {
            self.group_sent
                .retain(|_, sent| sent.back().is_some_and(|t| *t + GROUP_WINDOW > now));
        }
        Ok(())
    }

    /// A 429: nobody sends anything before `now + retry_after`. The bucket
    /// is emptied too, so sending resumes gently rather than in a burst.
    pub fn pause_all(&mut self, retry_after: Duration, now: Instant) {
        let until = now + retry_after;
        if self.paused_until.is_none_or(|u| u < until) {
            self.paused_until = Some(until);
        }
        self.tokens = 0.0;
        self.refilled_at = self.paused_until.unwrap_or(until);
    }

    /// Whether sending is paused at `now` (for `/status`).
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|u| *u > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn global_rate_after_a_small_burst() {
        let t0 = Instant::now();
        let mut p = Pacer::new(25, ms(0), t0);
        // Burst of 25 / 5 = 5 messages, to five different chats.
        for chat in 0..5 {
            assert!(p.try_acquire(chat, t0).is_ok());
        }
        let wait = p.try_acquire(5, t0).unwrap_err();
        assert_eq!(wait.duration_since(t0), ms(40));
        assert!(p.try_acquire(5, t0 + ms(40)).is_ok());
        assert!(p.try_acquire(6, t0 + ms(40)).is_err());
    }

    #[test]
    fn sustained_rate_is_the_configured_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(25, ms(0), t0);
        let mut now = t0;
        let mut sent = 0;
        // Ask as often as allowed for ten seconds.
        while now < t0 + Duration::from_secs(10) {
            match p.try_acquire(sent, now) {
                Ok(()) => sent += 1,
                Err(at) => now = at,
            }
        }
        // 10 s at 25/s plus the initial burst of 5.
        assert!((250..=256).contains(&sent), "{sent}");
    }

    #[test]
    fn per_chat_spacing() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100, ms(1000), t0);
        assert!(p.try_acquire(7, t0).is_ok());
        assert_eq!(p.try_acquire(7, t0 + ms(10)), Err(t0 + ms(1000)));
        assert!(
            p.try_acquire(8, t0 + ms(10)).is_ok(),
            "other chats are not held up"
        );
        assert!(p.try_acquire(7, t0 + ms(1000)).is_ok());
        assert_eq!(p.chat_ready_at(7), Some(t0 + ms(2000)));
    }

    /// The kind `group_rate`: a group gets at most 20 messages in any
    /// minute, even with no per-chat spacing; a private chat is not held.
    #[test]
    fn groups_get_at_most_20_per_minute() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000, ms(0), t0).with_group_limit(20);
        let mut now = t0;
        let mut sent = Vec::new();
        while now < t0 + Duration::from_secs(180) {
            match p.try_acquire(-5, now) {
                Ok(()) => sent.push(now),
                Err(at) => now = at,
            }
        }
        assert_eq!(sent.len(), 60, "20 per minute for three minutes");
        for pair in sent.windows(21) {
            assert!(pair[20] - pair[0] >= GROUP_WINDOW);
        }
        assert_eq!(p.chat_ready_at(-5), Some(sent[40] + GROUP_WINDOW));
        // Users are not groups.
        let mut p = Pacer::new(1000, ms(0), t0).with_group_limit(20);
        assert!(
            (0..50).all(|_| p.try_acquire(5, t0).is_ok()),
            "a private chat has no per-minute limit"
        );
    }

    /// A reply waiting for its chat's turn takes that turn before a
    /// notification to the same chat; a reply waiting for a token takes
    /// the next one. Claims lapse on their own.
    #[test]
    fn replies_go_before_notifications() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100, ms(1000), t0);
        assert!(p.try_acquire(7, t0).is_ok());
        // A reply for chat 7 must wait for the spacing: it claims the turn.
        assert_eq!(p.try_acquire_reply(7, t0 + ms(10)), Err(t0 + ms(1000)));
        assert_eq!(p.chat_ready_at(7), Some(t0 + ms(1100)));
        assert!(p.try_acquire(7, t0 + ms(1000)).is_err(), "the reply's turn");
        assert!(p.try_acquire(8, t0 + ms(1000)).is_ok(), "other chats go on");
        assert!(p.try_acquire_reply(7, t0 + ms(1000)).is_ok());
        assert!(p.try_acquire(7, t0 + ms(2000)).is_ok());
        // A claim nobody takes lapses.
        assert!(p.try_acquire_reply(7, t0 + ms(2010)).is_err());
        assert!(p.try_acquire(7, t0 + ms(3100)).is_ok());

        // The global bucket: a reply waiting for a token gets the next one.
        let mut p = Pacer::new(10, ms(0), t0);
        for chat in 0..2 {
            assert!(p.try_acquire(chat, t0).is_ok());
        }
        let at = p.try_acquire_reply(50, t0).unwrap_err();
        assert!(p.try_acquire(3, at).is_err(), "the token is the reply's");
        assert!(p.try_acquire_reply(50, at).is_ok());
    }

    #[test]
    fn a_429_pauses_everyone() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100, ms(0), t0);
        assert!(p.try_acquire(1, t0).is_ok());
        p.pause_all(Duration::from_secs(3), t0);
        assert_eq!(p.try_acquire(2, t0 + ms(10)), Err(t0 + ms(3000)));
        assert_eq!(p.paused_until(t0 + ms(10)), Some(t0 + ms(3000)));
        // A shorter retry_after does not shorten the pause.
        p.pause_all(Duration::from_secs(1), t0 + ms(10));
        assert_eq!(p.try_acquire(2, t0 + ms(2000)), Err(t0 + ms(3000)));
        // After the pause the bucket refills from empty: one token per 10 ms.
        assert!(p.try_acquire(2, t0 + ms(3000)).is_err());
        assert!(p.try_acquire(2, t0 + ms(3010)).is_ok());
        assert_eq!(p.paused_until(t0 + ms(3010)), None);
    }
}

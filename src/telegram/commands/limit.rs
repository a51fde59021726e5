//! The command limit: `command_limit` commands per sliding
//! `command_window` for each member of a chat ([`Member`]: chat and user,
//! so in a group one member's flood does not use up the others' budget).
//! Over the limit a member is refused politely — told once per window, not
//! once per message, so a flooding client cannot make the bot flood back.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the limit; `notify` is true for the first refusal in a window.
    Refuse {
        notify: bool,
    },
}

/// Who is limited: (chat id, user id).
pub type Member = (i64, i64);

#[derive(Debug, Default)]
struct ChatWindow {
    accepted: VecDeque<Instant>,
    refusal_told_at: Option<Instant>,
}

#[derive(Debug)]
pub struct CommandLimiter {
    limit: usize,
    window: Duration,
    chats: HashMap<Member, ChatWindow>,
}

impl CommandLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        CommandLimiter {
            limit: limit.max(1) as usize,
            window,
            chats: HashMap::new(),
        }
    }

    pub fn check(&mut self, chat: Member, now: Instant) -> Verdict {
        if self.chats.len() > 10_000 {
            let window = self.window;
            self.chats.retain(|_, w| {
                w.accepted
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
        }
        let w = self.chats.entry(chat).or_default();
        while w
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            w.accepted.pop_front();
        }
        if w.accepted.len() < self.limit {
            w.accepted.push_back(now);
            return Verdict::Allow;
        }
        let notify = w
            .refusal_told_at
            .is_none_or(|t| now.saturating_duration_since(t) >= self.window);
        if notify {
            w.refusal_told_at = Some(now);
        }
        Verdict::Refuse { notify }
    }

    /// When the oldest accepted command of the member `chat` leaves the window.
    pub fn retry_in(&self, chat: Member, now: Instant) -> Duration {
        self.chats
            .get(&chat)
            .and_then(|w| w.accepted.front())
            .map_or(Duration::ZERO, |t| {
                self.window
                    .saturating_sub(now.saturating_duration_since(*t))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_with_one_refusal_notice_per_window() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut l = CommandLimiter::new(3, s(60));
        for i in 0..3 {
            assert_eq!(l.check((1, 1), t0 + s(i)), Verdict::Allow);
        }
        assert_eq!(
            l.check((1, 1), t0 + s(10)),
            Verdict::Refuse { notify: true }
        );
        assert_eq!(
            l.check((1, 1), t0 + s(11)),
            Verdict::Refuse { notify: false }
        );
        assert_eq!(l.retry_in((1, 1), t0 + s(11)), s(49));
        assert_eq!(
            l.check((2, 2), t0 + s(11)),
            Verdict::Allow,
            "other chats unaffected"
        );
        // The first command leaves the window at 60 s: one slot frees up.
        assert_eq!(l.check((1, 1), t0 + s(60)), Verdict::Allow);
        assert_eq!(
            l.check((1, 1), t0 + s(60)),
            Verdict::Refuse { notify: false }
        );
        // The commands of 1 s and 2 s have left the window by 70 s.
        assert_eq!(l.check((1, 1), t0 + s(70)), Verdict::Allow);
        assert_eq!(l.check((1, 1), t0 + s(70)), Verdict::Allow);
        // A new window since the last notice (10 s): told again.
        assert_eq!(
            l.check((1, 1), t0 + s(70)),
            Verdict::Refuse { notify: true }
        );
    }

    /// In a group, one member over the limit leaves the others' budget
    /// (an administrator's command) untouched.
    #[test]
    fn a_group_member_over_the_limit_does_not_use_up_the_others() {
        let t0 = Instant::now();
        let mut l = CommandLimiter::new(2, Duration::from_secs(60));
        let (group, flooder, owner) = (-100, 7, 8);
        assert_eq!(l.check((group, flooder), t0), Verdict::Allow);
        assert_eq!(l.check((group, flooder), t0), Verdict::Allow);
        assert_eq!(
            l.check((group, flooder), t0),
            Verdict::Refuse { notify: true }
        );
        assert_eq!(l.check((group, owner), t0), Verdict::Allow);
        assert_eq!(l.check((group, owner), t0), Verdict::Allow);
    }
}

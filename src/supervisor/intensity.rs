//! Restart intensity: at most `max_restarts` restarts within `window`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// OTP's MaxR/MaxT. One restart more than `max_restarts` inside the sliding
/// `window` means restarting is not helping: the supervisor gives up.
#[derive(Debug, Clone)]
pub struct Intensity {
    max_restarts: u32,
    window: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub fn new(max_restarts: u32, window: Duration) -> Self {
        Intensity {
            max_restarts,
            window,
            restarts: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; false when the limit is exceeded.
    pub fn record(&mut self, now: Instant) -> bool {
        self.restarts.push_back(now);
        self.forget_old(now);
        self.restarts.len() as u32 <= self.max_restarts
    }

    /// Restarts inside the window ending at `now`.
    pub fn recent(&mut self, now: Instant) -> u32 {
        self.forget_old(now);
        self.restarts.len() as u32
    }

    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some(&t) = self.restarts.front() {
            if now.saturating_duration_since(t) > self.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_restarts_in_the_window_then_refuses() {
        let mut i = Intensity::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(i.record(t0));
        assert!(i.record(t0 + Duration::from_secs(1)));
        assert!(!i.record(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn old_restarts_leave_the_window() {
        let mut i = Intensity::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(i.record(t0));
        assert!(i.record(t0 + Duration::from_secs(11)));
        assert_eq!(i.recent(t0 + Duration::from_secs(11)), 1);
    }
}

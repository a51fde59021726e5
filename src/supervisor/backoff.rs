//! Exponential backoff between restarts of one child.

use std::time::{Duration, Instant};

/// Doubles the delay after every crash, from `min` up to `max`, and starts
/// again from `min` once the child has run quietly for `quiet`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    quiet: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, quiet: Duration) -> Self {
        Backoff {
            min,
            max,
            quiet,
            next: min,
        }
    }

    /// The delay before restarting a child that was started at `started`
    /// (or never came up) and crashed at `now`.
    pub fn on_crash(&mut self, started: Option<Instant>, now: Instant) -> Duration {
        if started.is_some_and(|s| now.saturating_duration_since(s) >= self.quiet) {
            self.next = self.min;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max_and_resets_after_quiet() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500), Duration::from_secs(60));
        let t0 = Instant::now();
        let delays: Vec<_> = (0..5).map(|_| b.on_crash(Some(t0), t0)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(b.on_crash(Some(t0), later), ms(100));
    }
}

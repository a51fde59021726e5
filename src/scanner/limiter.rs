//! The one request limiter of the process: at most N requests in *every*
//! one-second window.
//!
//! Etherscan counts calls per second across all of a key's (and account's)
//! clients, and answers too many with NOTOK over HTTP 200. A token bucket
//! with a burst of N lets 2N calls through in a sliding second (a full
//! bucket at the end of one second, refilled at the start of the next), so
//! it is not enough. Instead we remember the send times of the last N
//! requests and let the next one go only when the oldest of them is more
//! than a window (plus a small margin for network jitter: Etherscan sees
//! arrival times, not our send times) in the past.
//!
//! Every request goes through [`Limiter::acquire`], retries included, for
//! every chain and every call kind.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The pure bookkeeping, driven by explicit instants (so it can be tested
/// with a manual clock).
#[derive(Debug)]
pub struct SlidingWindow {
    max: usize,
    span: Duration,
    sent: VecDeque<Instant>,
}

impl SlidingWindow {
    /// `max` requests per `window`, each window widened by `margin`.
    pub fn new(max: u32, window: Duration, margin: Duration) -> Self {
        let max = max.max(1) as usize;
        SlidingWindow {
            max,
            span: window + margin,
            sent: VecDeque::with_capacity(max),
        }
    }

    /// Either records a send at `now` and returns `None`, or returns the
    /// instant before which nothing may be sent.
    pub fn try_send(&mut self, now: Instant) -> Option<Instant> {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.span)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.max {
            self.sent.push_back(now);
            return None;
        }
        self.sent.front().map(|&oldest| oldest + self.span)
    }
}

/// The async face of [`SlidingWindow`] for the actor's single thread.
#[derive(Debug)]
pub struct Limiter {
    window: RefCell<SlidingWindow>,
}

impl Limiter {
    /// `per_second` requests per second with a 50 ms safety margin.
    pub fn per_second(per_second: u32) -> Self {
        Limiter {
            window: RefCell::new(SlidingWindow::new(
                per_second,
                Duration::from_secs(1),
                Duration::from_millis(50),
            )),
        }
    }

    /// Waits until a request may be sent and records it as sent. The
    /// borrow is never held across an await, so concurrent callers on the
    /// same thread are safe (each re-checks after waking).
    pub async fn acquire(&self) {
        loop {
            let wait = self.window.borrow_mut().try_send(Instant::now());
            match wait {
                None => return,
                Some(until) => tokio::time::sleep_until(until).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives the window like `acquire` does, with a manual clock, and
    /// returns the send times of `n` requests wanted all at once at t0.
    fn schedule(w: &mut SlidingWindow, t0: Instant, n: usize) -> Vec<Instant> {
        let mut now = t0;
        let mut out = Vec::new();
        while out.len() < n {
            match w.try_send(now) {
                None => out.push(now),
                Some(until) => {
                    assert!(
                        until > now,
                        "the limiter must never ask to wait for the past"
                    );
                    now = until;
                }
            }
        }
        out
    }

    fn max_in_any_window(times: &[Instant], window: Duration) -> usize {
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    #[test]
    fn a_burst_of_n_then_waits_for_the_oldest() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(3, ms(1000), ms(50));
        assert_eq!(w.try_send(t0), None);
        assert_eq!(w.try_send(t0 + ms(10)), None);
        assert_eq!(w.try_send(t0 + ms(20)), None);
        assert_eq!(w.try_send(t0 + ms(30)), Some(t0 + ms(1050)));
        assert_eq!(w.try_send(t0 + ms(1049)), Some(t0 + ms(1050)));
        assert_eq!(w.try_send(t0 + ms(1050)), None);
        // The next slot is one window after the *second* request.
        assert_eq!(w.try_send(t0 + ms(1051)), Some(t0 + ms(1060)));
    }

    #[test]
    fn no_one_second_window_ever_holds_more_than_n() {
        // A token bucket of burst 3 would allow 6 in the second around a
        // refill; the sliding window never allows more than 3.
        for n in [1u32, 3, 5, 20] {
            let t0 = Instant::now();
            let mut w = SlidingWindow::new(n, ms(1000), ms(50));
            let times = schedule(&mut w, t0, 10 * n as usize);
            assert_eq!(max_in_any_window(&times, ms(1000)), n as usize, "rate {n}");
            // And it is not slower than it must be: 10n requests in < 10.5 s.
            let span = times[times.len() - 1].duration_since(times[0]);
            assert!(span < ms(9 * 1050 + 1), "rate {n}: {span:?}");
        }
    }

    #[test]
    fn idle_time_refills_the_window() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(2, ms(1000), ms(0));
        assert_eq!(w.try_send(t0), None);
        assert_eq!(w.try_send(t0), None);
        assert!(w.try_send(t0 + ms(999)).is_some());
        assert_eq!(w.try_send(t0 + ms(5000)), None);
        assert_eq!(w.try_send(t0 + ms(5000)), None);
        assert!(w.try_send(t0 + ms(5000)).is_some());
    }

    #[actix_rt::test]
    async fn acquire_spaces_requests_in_real_time() {
        let limiter = Limiter::per_second(4);
        let start = std::time::Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        // 4 at once, the 5th and 6th after about 1.05 s.
        let took = start.elapsed();
        assert!(took >= ms(1040) && took < ms(1600), "{took:?}");
    }
}

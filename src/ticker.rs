//! The ticker: asks every scanner (etherscan, and tron when configured) for
//! a poll every `poll_interval`.
//!
//! Never two polls of one scanner in flight: a tick that comes while that
//! scanner's previous poll is still running is dropped for it, not queued;
//! the other scanners are asked as usual (they never wait for each other). Each tick is scheduled one interval
//! after the previous one fired (not on a fixed grid), so after a stall the
//! ticker does not fire back to back to "catch up" — unlike `run_interval`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};

use crate::supervisor::{ChildGuard, Control, obey};

/// What one poll does; returns when the poll has finished (or failed).
pub type PollFn = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>>>> + Send + Sync>;

/// Stop asking for polls until [`Resume`].
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Pause;

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Resume;

/// Whether the ticker is paused.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct IsPaused;

pub struct TickerActor {
    interval: Duration,
    /// One poll per scanner, each with its own "in flight" flag: the
    /// scanners never wait for each other.
    polls: Vec<(PollFn, bool)>,
    paused: Arc<std::sync::atomic::AtomicBool>,
    _guard: ChildGuard,
}

impl TickerActor {
    /// `polls`: one per scanner. `paused` is shared with the app so that a
    /// pause survives a restart of the ticker itself.
    pub fn new(
        interval: Duration,
        polls: Vec<PollFn>,
        paused: Arc<std::sync::atomic::AtomicBool>,
        guard: ChildGuard,
    ) -> Self {
        TickerActor {
            interval,
            polls: polls.into_iter().map(|p| (p, false)).collect(),
            paused,
            _guard: guard,
        }
    }

    fn is_paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.interval, Self::tick);
        if self.is_paused() {
            return;
        }
        for i in 0..self.polls.len() {
            let (poll, in_flight) = &mut self.polls[i];
            if *in_flight {
                tracing::debug!(
                    actor = "ticker",
                    scanner = i,
                    "previous poll still running; tick dropped"
                );
                continue;
            }
            *in_flight = true;
            let poll = poll();
            ctx.spawn(poll.into_actor(self).map(move |result, act, _| {
                act.polls[i].1 = false;
                if let Err(e) = result {
                    tracing::warn!(actor = "ticker", error = %e, "poll failed");
                }
            }));
        }
    }
}

impl Actor for TickerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The first poll right away: a restart should not wait a full interval.
        ctx.run_later(Duration::ZERO, Self::tick);
    }
}

impl Handler<Pause> for TickerActor {
    type Result = ();
    fn handle(&mut self, _: Pause, _: &mut Context<Self>) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(actor = "ticker", "polling paused");
    }
}

impl Handler<Resume> for TickerActor {
    type Result = ();
    fn handle(&mut self, _: Resume, _: &mut Context<Self>) {
        self.paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(actor = "ticker", "polling resumed");
    }
}

impl Handler<IsPaused> for TickerActor {
    type Result = bool;
    fn handle(&mut self, _: IsPaused, _: &mut Context<Self>) -> bool {
        self.is_paused()
    }
}

impl Handler<Control> for TickerActor {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        obey(msg, ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::supervisor::{ChildRef, ChildSpec, Policy, Supervisor};

    #[derive(Default)]
    struct Probe {
        started: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    fn start(probe: Arc<Probe>, interval: Duration, poll_takes: Duration) -> ChildRef<TickerActor> {
        let poll: PollFn = Arc::new(move || {
            let p = probe.clone();
            // Counted when the ticker asks, not when the future first runs.
            p.started.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let now = p.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                p.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(poll_takes).await;
                p.in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        let ticker = ChildRef::new("ticker", Duration::from_secs(5));
        let paused = Arc::new(AtomicBool::new(false));
        let spec = ChildSpec::actor("ticker", ticker.clone(), move |g| {
            TickerActor::new(interval, vec![poll.clone()], paused.clone(), g)
        });
        let policy = Policy {
            max_restarts: 1,
            restart_window: Duration::from_secs(60),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
            fault_injection: false,
            shutdown_order: None,
        };
        std::mem::forget(Supervisor::start(vec![spec], policy));
        ticker
    }

    async fn until(what: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !what() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("condition reached within 10 s");
    }

    #[actix_rt::test]
    async fn a_slow_poll_is_never_overlapped_by_the_next_tick() {
        let probe = Arc::new(Probe::default());
        // Ticks every 10 ms, polls take 60 ms: most ticks find a poll running.
        let _t = start(
            probe.clone(),
            Duration::from_millis(10),
            Duration::from_millis(60),
        );
        until(|| probe.started.load(Ordering::SeqCst) >= 5).await;
        assert_eq!(probe.max_in_flight.load(Ordering::SeqCst), 1);
    }

    #[actix_rt::test]
    async fn pause_stops_polls_and_resume_restarts_them() {
        let probe = Arc::new(Probe::default());
        let ticker = start(probe.clone(), Duration::from_millis(10), Duration::ZERO);
        until(|| probe.started.load(Ordering::SeqCst) >= 2).await;
        ticker.call(Pause).await.unwrap();
        assert!(ticker.call(IsPaused).await.unwrap());
        let at_pause = probe.started.load(Ordering::SeqCst);
        // Twenty intervals while paused: no poll starts.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(probe.started.load(Ordering::SeqCst), at_pause);
        ticker.call(Resume).await.unwrap();
        until(|| probe.started.load(Ordering::SeqCst) > at_pause).await;
    }
}

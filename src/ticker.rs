//! The ticker: asks for a poll every `poll_interval`.
//!
//! Never two polls in flight: a tick that comes while the previous poll is
//! still running is dropped, not queued. Each tick is scheduled one interval
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
    poll: PollFn,
    in_flight: bool,
    paused: Arc<std::sync::atomic::AtomicBool>,
    _guard: ChildGuard,
}

impl TickerActor {
    /// `paused` is shared with the app so that a pause survives a restart
    /// of the ticker itself.
    pub fn new(
        interval: Duration,
        poll: PollFn,
        paused: Arc<std::sync::atomic::AtomicBool>,
        guard: ChildGuard,
    ) -> Self {
        TickerActor {
            interval,
            poll,
            in_flight: false,
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
        if self.in_flight {
            tracing::debug!(
                actor = "ticker",
                "previous poll still running; tick dropped"
            );
            return;
        }
        self.in_flight = true;
        let poll = (self.poll)();
        ctx.spawn(poll.into_actor(self).map(|result, act, _| {
            act.in_flight = false;
            if let Err(e) = result {
                tracing::warn!(actor = "ticker", error = %e, "poll failed");
            }
        }));
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

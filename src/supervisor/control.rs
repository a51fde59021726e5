//! The one message every supervised child understands.

use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Message};

/// Sent by the supervisor to a child.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub enum Control {
    /// Stop gracefully. Actors whose work must finish first (an in-flight
    /// poll) handle their work atomically, so this waits behind it.
    Stop,
    /// Fault injection: panic inside this handler. Only sent when the
    /// supervisor's policy allows fault injection.
    Panic,
}

/// The standard handling of [`Control`]: stop the context, or panic.
pub fn obey<C: ActorContext>(msg: Control, ctx: &mut C) {
    match msg {
        Control::Stop => ctx.stop(),
        Control::Panic => panic!("fault injection: panic requested through the supervisor"),
    }
}

/// For a child that finishes in-flight work before stopping: stops it
/// half a second before the supervisor's `shutdown_timeout` would abandon
/// it, whatever is still running.
pub fn stop_before_abandoned<A: Actor<Context = Context<A>>>(
    ctx: &mut Context<A>,
    shutdown_timeout: Duration,
) {
    let grace = shutdown_timeout.saturating_sub(Duration::from_millis(500));
    ctx.run_later(grace, |_, ctx| ctx.stop());
}

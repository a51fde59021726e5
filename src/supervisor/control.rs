//! The one message every supervised child understands.

use actix::{ActorContext, Message};

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

//! An OTP-style supervisor for actix actors.
//!
//! actix's own `Supervisor` restarts an actor only when it stops itself; a
//! panic in a handler silently kills the actor's task, and a panicking
//! SyncArbiter worker is never replaced. This module closes those gaps with
//! Erlang/OTP's vocabulary and nothing else: it knows nothing of Etherscan,
//! Telegram or SQLite and could be lifted into another project.
//!
//! * A [`ChildSpec`] names a child, says how to build a fresh one (an async
//!   actor on its own Arbiter, or a pool on a fresh SyncArbiter), its
//!   [`Restart`] type (permanent / transient / temporary) and its shutdown
//!   timeout.
//! * Every child holds a [`ChildGuard`]. When the child goes down for any
//!   reason — it stopped itself, a handler panicked, a sync worker panicked —
//!   the guard's `Drop` reports "child down" to the [`Supervisor`]. Nobody has
//!   to remember to call anything.
//! * Strategy one_for_one: only the dead child is rebuilt, after an
//!   exponential [`backoff`](Backoff) per child. More than `max_restarts`
//!   restarts within `restart_window` (the restart *intensity*) makes the
//!   supervisor stop every child in order and report failure.
//! * Callers reach a child through a [`ChildRef`], which survives restarts:
//!   a message sent while the child is down waits for its successor or gets
//!   a clear [`CallError`], never a silent drop.
//! * Shutdown stops children one at a time in the configured order (reverse
//!   start order unless told otherwise), each within its shutdown timeout.

mod actor;
mod backoff;
mod child_ref;
mod control;
mod event;
mod guard;
mod intensity;
mod spec;
mod status;

pub use actor::{Exit, Policy, Supervisor, SupervisorError, SupervisorHandle};
pub use actor::{GetStatus, PanicChild, RestartChild, Shutdown};
pub use backoff::Backoff;
pub use child_ref::{CallError, ChildRef};
pub use control::{Control, obey, stop_before_abandoned};
pub use event::{Event, EventKind};
pub use guard::{ChildDown, ChildGuard, DownCause, install_panic_hook};
pub use intensity::Intensity;
pub use spec::{ChildSpec, Restart};
pub use status::{ChildState, ChildStatus, TreeStatus};

#[cfg(test)]
mod tests;

//! Lifecycle events, broadcast to whoever listens (the bot tells admins;
//! tests assert order). Every event is also a tracing event with a field
//! `actor`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Started,
    /// Went down unexpectedly; a restart may follow.
    Crashed {
        reason: String,
    },
    Restarted {
        restarts: u32,
        reason: String,
        backoff: std::time::Duration,
    },
    Stopped,
    /// Restarts within the window are close to the limit.
    IntensityWarning {
        recent: u32,
        max: u32,
    },
    /// Restart intensity exceeded: the supervisor is shutting everything down.
    GaveUp {
        recent: u32,
        max: u32,
    },
    /// A child did not stop within its shutdown timeout and was abandoned.
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub actor: &'static str,
    pub kind: EventKind,
}

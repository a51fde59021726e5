//! What the supervisor reports about each child.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildState {
    Running,
    /// Down; a restart is scheduled after the backoff.
    Restarting,
    /// Asked to stop; waiting for it.
    Stopping,
    Stopped,
}

impl ChildState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChildState::Running => "running",
            ChildState::Restarting => "restarting",
            ChildState::Stopping => "stopping",
            ChildState::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChildStatus {
    pub name: &'static str,
    pub state: ChildState,
    /// Restarts since the supervisor started.
    pub restarts: u32,
    pub last_failure: Option<String>,
    /// Time since the current incarnation started (when running).
    pub uptime: Option<Duration>,
}

/// A snapshot of the whole tree.
#[derive(Debug, Clone)]
pub struct TreeStatus {
    pub children: Vec<ChildStatus>,
    /// Restarts within the current intensity window, and the limit.
    pub recent_restarts: u32,
    pub max_restarts: u32,
}

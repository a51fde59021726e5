//! The supervisor actor: starts children in order, restarts them one for
//! one within the restart intensity, and stops them in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, SpawnHandle};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use super::spec::Running;
use super::status::TreeStatus;
use super::{
    Backoff, ChildDown, ChildGuard, ChildSpec, ChildState, ChildStatus, DownCause, Event,
    EventKind, Intensity, Restart,
};

/// Restart and shutdown policy for the whole tree.
#[derive(Debug, Clone)]
pub struct Policy {
    pub max_restarts: u32,
    pub restart_window: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Whether [`PanicChild`] is allowed.
    pub fault_injection: bool,
    /// Names in stop order; children not named stop afterwards in reverse
    /// start order. `None`: reverse start order (OTP's default).
    pub shutdown_order: Option<Vec<&'static str>>,
}

/// How the supervisor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Asked to shut down; every child stopped in time.
    Normal,
    /// More than `max_restarts` restarts within `restart_window`.
    IntensityExceeded,
    /// A child did not stop within its shutdown timeout and was abandoned.
    ShutdownTimedOut,
}

impl Exit {
    /// The process exit code (documented in the README).
    pub fn code(self) -> i32 {
        match self {
            Exit::Normal => 0,
            Exit::IntensityExceeded => 3,
            Exit::ShutdownTimedOut => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    #[error("there is no actor named {0:?}")]
    UnknownChild(String),
    #[error("fault injection is disabled (supervisor.fault_injection = false)")]
    FaultInjectionDisabled,
    #[error("actor {0} is not running")]
    NotRunning(&'static str),
    #[error("the supervisor is shutting down")]
    ShuttingDown,
}

/// Begin the ordered shutdown.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// A snapshot of every child.
#[derive(Debug, Message)]
#[rtype(result = "TreeStatus")]
pub struct GetStatus;

/// Restart one child now: stop it gracefully, then start a fresh one.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct RestartChild(pub String);

/// Fault injection: make one child panic inside a handler.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub struct PanicChild(pub String);

struct Child {
    spec: ChildSpec,
    state: ChildState,
    generation: u64,
    running: Option<Running>,
    started_at: Option<Instant>,
    restarts: u32,
    last_failure: Option<String>,
    backoff: Backoff,
    pending_restart: Option<SpawnHandle>,
    stop_timer: Option<SpawnHandle>,
    restart_after_stop: bool,
    /// The current incarnation's stop token (a child of the supervisor's).
    stop: CancellationToken,
}

impl Child {
    /// Asks the current incarnation to stop: its stop token, then its stop
    /// function ([`Control::Stop`](super::Control::Stop) for an actor).
    fn ask_stop(&mut self) {
        self.stop.cancel();
        if let Some(running) = self.running.as_mut() {
            (running.stop)();
        }
    }

    /// Releases the current incarnation: make sure it is stopped, then free
    /// what it owned.
    fn release(&mut self) {
        self.stop.cancel();
        if let Some(mut running) = self.running.take() {
            (running.stop)();
            (running.cleanup)();
        }
    }
}

/// The root of the supervision tree.
pub struct Supervisor {
    children: Vec<Child>,
    policy: Policy,
    intensity: Intensity,
    events: broadcast::Sender<Event>,
    shutting_down: Option<(VecDeque<usize>, Exit)>,
    exit_tx: Option<oneshot::Sender<Exit>>,
    /// The one shutdown token of the tree: each incarnation of a child gets
    /// a child token of it (see [`ChildGuard::stop_token`]); cancelled when
    /// the supervisor ends.
    shutdown: CancellationToken,
}

/// What the caller of [`Supervisor::start`] keeps.
pub struct SupervisorHandle {
    pub addr: actix::Addr<Supervisor>,
    /// Resolves once every child has stopped.
    pub exit: oneshot::Receiver<Exit>,
    events: broadcast::Sender<Event>,
}

impl SupervisorHandle {
    /// Lifecycle events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

impl Supervisor {
    /// Starts the supervisor on the current Arbiter; it starts the children
    /// in the given order. Subscribe to events before yielding to the runtime
    /// to see every child start.
    pub fn start(children: Vec<ChildSpec>, policy: Policy) -> SupervisorHandle {
        super::install_panic_hook();
        let (exit_tx, exit) = oneshot::channel();
        let (events, _) = broadcast::channel(1024);
        let quiet = policy.restart_window;
        let children = children
            .into_iter()
            .map(|spec| Child {
                spec,
                state: ChildState::Stopped,
                generation: 0,
                running: None,
                started_at: None,
                restarts: 0,
                last_failure: None,
                backoff: Backoff::new(policy.backoff_min, policy.backoff_max, quiet),
                pending_restart: None,
                stop_timer: None,
                restart_after_stop: false,
                stop: CancellationToken::new(),
            })
            .collect();
        let supervisor = Supervisor {
            children,
            intensity: Intensity::new(policy.max_restarts, policy.restart_window),
            policy,
            events: events.clone(),
            shutting_down: None,
            exit_tx: Some(exit_tx),
            shutdown: CancellationToken::new(),
        };
        SupervisorHandle {
            addr: supervisor.start(),
            exit,
            events,
        }
    }

    fn index(&self, name: &str) -> Result<usize, SupervisorError> {
        self.children
            .iter()
            .position(|c| c.spec.name == name)
            .ok_or_else(|| SupervisorError::UnknownChild(name.chars().take(32).collect()))
    }

    fn emit(&self, actor: &'static str, kind: EventKind) {
        match &kind {
            EventKind::Started => tracing::info!(actor, "actor started"),
            EventKind::Crashed { reason } => tracing::error!(actor, reason, "actor crashed"),
            EventKind::Restarted {
                restarts,
                reason,
                backoff,
            } => tracing::warn!(
                actor,
                restarts,
                reason,
                backoff_ms = backoff.as_millis() as u64,
                "actor restarted"
            ),
            EventKind::Stopped => tracing::info!(actor, "actor stopped"),
            EventKind::IntensityWarning { recent, max } => {
                tracing::warn!(actor, recent, max, "restart intensity close to its limit")
            }
            EventKind::GaveUp { recent, max } => tracing::error!(
                actor,
                recent,
                max,
                "restart intensity exceeded; stopping every actor"
            ),
            EventKind::Abandoned => tracing::error!(
                actor,
                "actor did not stop within its shutdown timeout; abandoned"
            ),
        }
        let _ = self.events.send(Event { actor, kind });
    }

    fn start_child(&mut self, i: usize, ctx: &mut Context<Self>) {
        let child = &mut self.children[i];
        child.generation += 1;
        child.stop = self.shutdown.child_token();
        let guard = ChildGuard::new(
            child.spec.name,
            child.generation,
            ctx.address().recipient(),
            child.stop.clone(),
        );
        child.running = Some((child.spec.start)(guard));
        child.state = ChildState::Running;
        child.started_at = Some(Instant::now());
    }

    fn on_crash(&mut self, i: usize, cause: DownCause, ctx: &mut Context<Self>) {
        let name = self.children[i].spec.name;
        self.children[i].release();
        let restart = match (self.children[i].spec.restart, &cause) {
            (Restart::Permanent, _) => true,
            (Restart::Transient, DownCause::Normal) => false,
            (Restart::Transient, _) => true,
            (Restart::Temporary, _) => false,
        };
        if cause != DownCause::Normal {
            self.children[i].last_failure = Some(cause.to_string());
            self.emit(
                name,
                EventKind::Crashed {
                    reason: cause.to_string(),
                },
            );
        }
        if !restart {
            self.children[i].state = ChildState::Stopped;
            self.children[i].started_at = None;
            self.emit(name, EventKind::Stopped);
            return;
        }
        let now = Instant::now();
        let within_limit = self.intensity.record(now);
        let (recent, max) = (self.intensity.recent(now), self.intensity.max_restarts());
        if !within_limit {
            self.children[i].state = ChildState::Stopped;
            self.children[i].started_at = None;
            self.emit(name, EventKind::GaveUp { recent, max });
            self.emit(name, EventKind::Stopped);
            self.begin_shutdown(Exit::IntensityExceeded, ctx);
            return;
        }
        if recent + 1 >= max {
            self.emit(name, EventKind::IntensityWarning { recent, max });
        }
        let child = &mut self.children[i];
        let backoff = child.backoff.on_crash(child.started_at, now);
        child.state = ChildState::Restarting;
        child.started_at = None;
        child.restarts += 1;
        let reason = cause.to_string();
        child.pending_restart = Some(ctx.run_later(backoff, move |act, ctx| {
            let child = &mut act.children[i];
            child.pending_restart = None;
            if child.state != ChildState::Restarting {
                return;
            }
            act.start_child(i, ctx);
            let restarts = act.children[i].restarts;
            act.emit(
                name,
                EventKind::Restarted {
                    restarts,
                    reason,
                    backoff,
                },
            );
        }));
    }

    fn begin_shutdown(&mut self, exit: Exit, ctx: &mut Context<Self>) {
        if let Some((_, current)) = &mut self.shutting_down {
            if *current == Exit::Normal {
                *current = exit;
            }
            return;
        }
        let mut order: Vec<usize> = Vec::new();
        for name in self.policy.shutdown_order.iter().flatten() {
            if let Ok(i) = self.index(name) {
                order.push(i);
            }
        }
        for i in (0..self.children.len()).rev() {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        self.shutting_down = Some((order.into(), exit));
        self.stop_next(ctx);
    }

    fn stop_next(&mut self, ctx: &mut Context<Self>) {
        loop {
            let next = match &mut self.shutting_down {
                Some((queue, _)) => queue.pop_front(),
                None => return,
            };
            let Some(i) = next else { break };
            let child = &mut self.children[i];
            if let Some(h) = child.pending_restart.take() {
                ctx.cancel_future(h);
            }
            match child.state {
                ChildState::Running => {
                    self.ask_to_stop(i, ctx);
                    return;
                }
                ChildState::Stopping => return,
                ChildState::Restarting => {
                    child.state = ChildState::Stopped;
                    let name = child.spec.name;
                    self.emit(name, EventKind::Stopped);
                }
                ChildState::Stopped => {}
            }
        }
        let exit = self.shutting_down.as_ref().map_or(Exit::Normal, |s| s.1);
        if let Some(tx) = self.exit_tx.take() {
            let _ = tx.send(exit);
        }
        ctx.stop();
    }

    fn ask_to_stop(&mut self, i: usize, ctx: &mut Context<Self>) {
        let child = &mut self.children[i];
        child.state = ChildState::Stopping;
        child.ask_stop();
        let generation = child.generation;
        let timeout = child.spec.shutdown_timeout;
        child.stop_timer = Some(ctx.run_later(timeout, move |act, ctx| {
            let child = &mut act.children[i];
            if child.state != ChildState::Stopping || child.generation != generation {
                return;
            }
            child.stop_timer = None;
            child.release();
            child.state = ChildState::Stopped;
            child.started_at = None;
            let (name, restart) = (child.spec.name, child.restart_after_stop);
            child.restart_after_stop = false;
            act.emit(name, EventKind::Abandoned);
            if act.shutting_down.is_some() {
                if let Some((_, exit)) = &mut act.shutting_down {
                    *exit = Exit::ShutdownTimedOut;
                }
                act.stop_next(ctx);
            } else if restart {
                act.restart_requested(i, ctx);
            }
        }));
    }

    fn restart_requested(&mut self, i: usize, ctx: &mut Context<Self>) {
        self.children[i].restarts += 1;
        let restarts = self.children[i].restarts;
        self.start_child(i, ctx);
        self.emit(
            self.children[i].spec.name,
            EventKind::Restarted {
                restarts,
                reason: "restart requested".into(),
                backoff: Duration::ZERO,
            },
        );
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.children.len() {
            self.start_child(i, ctx);
            self.emit(self.children[i].spec.name, EventKind::Started);
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.shutdown.cancel();
    }
}

impl Handler<ChildDown> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ChildDown, ctx: &mut Context<Self>) {
        let Ok(i) = self.index(msg.name) else { return };
        if self.children[i].generation != msg.generation {
            return; // an earlier incarnation draining
        }
        match self.children[i].state {
            ChildState::Running => self.on_crash(i, msg.cause, ctx),
            ChildState::Stopping => {
                let child = &mut self.children[i];
                if let Some(h) = child.stop_timer.take() {
                    ctx.cancel_future(h);
                }
                child.release();
                child.state = ChildState::Stopped;
                child.started_at = None;
                let restart = std::mem::take(&mut child.restart_after_stop);
                let name = child.spec.name;
                self.emit(name, EventKind::Stopped);
                if self.shutting_down.is_some() {
                    self.stop_next(ctx);
                } else if restart {
                    self.restart_requested(i, ctx);
                }
            }
            ChildState::Restarting | ChildState::Stopped => {}
        }
    }
}

impl Handler<Shutdown> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.begin_shutdown(Exit::Normal, ctx);
    }
}

impl Handler<GetStatus> for Supervisor {
    type Result = actix::MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let now = Instant::now();
        let children = self
            .children
            .iter()
            .map(|c| ChildStatus {
                name: c.spec.name,
                state: c.state,
                restarts: c.restarts,
                last_failure: c.last_failure.clone(),
                uptime: c.started_at.map(|s| now.saturating_duration_since(s)),
            })
            .collect();
        actix::MessageResult(TreeStatus {
            children,
            recent_restarts: self.intensity.recent(now),
            max_restarts: self.intensity.max_restarts(),
        })
    }
}

impl Handler<RestartChild> for Supervisor {
    type Result = Result<(), SupervisorError>;

    fn handle(&mut self, msg: RestartChild, ctx: &mut Context<Self>) -> Self::Result {
        if self.shutting_down.is_some() {
            return Err(SupervisorError::ShuttingDown);
        }
        let i = self.index(&msg.0)?;
        match self.children[i].state {
            ChildState::Running => {
                self.children[i].restart_after_stop = true;
                self.ask_to_stop(i, ctx);
                Ok(())
            }
            ChildState::Stopped => {
                self.restart_requested(i, ctx);
                Ok(())
            }
            // Already on its way back.
            ChildState::Restarting | ChildState::Stopping => Ok(()),
        }
    }
}

impl Handler<PanicChild> for Supervisor {
    type Result = Result<(), SupervisorError>;

    fn handle(&mut self, msg: PanicChild, _: &mut Context<Self>) -> Self::Result {
        let i = self.index(&msg.0)?;
        if !self.policy.fault_injection {
            return Err(SupervisorError::FaultInjectionDisabled);
        }
        let child = &mut self.children[i];
        match (child.state, child.running.as_mut()) {
            (ChildState::Running, Some(running)) => {
                (running.panic)();
                Ok(())
            }
            _ => Err(SupervisorError::NotRunning(child.spec.name)),
        }
    }
}

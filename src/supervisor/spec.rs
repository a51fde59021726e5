//! Child specifications: what to start, how to restart it, how to stop it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Arbiter, Context, Handler, SyncArbiter, SyncContext};

use super::{ChildGuard, ChildRef, Control};

/// OTP's restart types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Always restarted.
    Permanent,
    /// Restarted only after an abnormal exit (anything but
    /// [`ChildGuard::exit_normally`]).
    Transient,
    /// Never restarted.
    Temporary,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        }
    }
}

/// A running incarnation of a child, as the supervisor handles it.
pub(crate) struct Running {
    /// Ask the child to stop gracefully (the supervisor cancels the
    /// incarnation's stop token first).
    pub stop: Box<dyn FnMut()>,
    /// Make the child panic inside a handler (fault injection).
    pub panic: Box<dyn FnMut()>,
    /// Release what the incarnation owned once it is down (its Arbiter).
    pub cleanup: Box<dyn FnOnce()>,
}

type StartFn = Box<dyn FnMut(ChildGuard) -> Running>;

/// How to build, restart and stop one child.
pub struct ChildSpec {
    pub name: &'static str,
    pub restart: Restart,
    pub shutdown_timeout: Duration,
    pub(crate) start: StartFn,
}

impl ChildSpec {
    /// An async actor, each incarnation on a fresh Arbiter (its own thread
    /// and runtime), so that a panic or a stuck runtime takes nothing else
    /// with it and whatever the actor built there dies with it.
    pub fn actor<A, F>(name: &'static str, slot: ChildRef<A>, factory: F) -> ChildSpec
    where
        A: Actor<Context = Context<A>> + Handler<Control>,
        F: Fn(ChildGuard) -> A + Send + Sync + 'static,
    {
        let factory = Arc::new(factory);
        let start = move |guard: ChildGuard| {
            let arbiter = Arbiter::new();
            let f = factory.clone();
            let addr = A::start_in_arbiter(&arbiter.handle(), move |_| f(guard));
            slot.publish(addr.clone());
            let (stop_addr, slot) = (addr.clone(), slot.clone());
            Running {
                stop: Box::new(move || stop_addr.do_send(Control::Stop)),
                panic: Box::new(move || addr.do_send(Control::Panic)),
                cleanup: Box::new(move || {
                    slot.clear();
                    arbiter.stop();
                }),
            }
        };
        ChildSpec::new(name, Box::new(start))
    }

    /// A pool of `workers` sync actors on a fresh SyncArbiter. A worker that
    /// panics takes its thread with it and SyncArbiter never replaces it, so
    /// the supervisor replaces the whole pool; the old pool drains its queue
    /// and exits once its address is dropped.
    pub fn sync_pool<A, F>(
        name: &'static str,
        workers: usize,
        slot: ChildRef<A>,
        factory: F,
    ) -> ChildSpec
    where
        A: Actor<Context = SyncContext<A>> + Handler<Control>,
        F: Fn(ChildGuard) -> A + Send + Sync + 'static,
    {
        let factory = Arc::new(factory);
        let start = move |guard: ChildGuard| {
            let f = factory.clone();
            let addr: Addr<A> = SyncArbiter::start(workers, move || f(guard.clone()));
            slot.publish(addr.clone());
            // The pool lives exactly as long as someone holds its address:
            // stopping it means letting go of every copy we have.
            let held = Rc::new(RefCell::new(Some(addr)));
            let panic_held = held.clone();
            let (stop_slot, cleanup_slot) = (slot.clone(), slot.clone());
            Running {
                stop: Box::new(move || {
                    stop_slot.clear();
                    held.borrow_mut().take();
                }),
                panic: Box::new(move || {
                    if let Some(a) = panic_held.borrow().as_ref() {
                        a.do_send(Control::Panic)
                    }
                }),
                cleanup: Box::new(move || cleanup_slot.clear()),
            }
        };
        ChildSpec::new(name, Box::new(start))
    }

    fn new(name: &'static str, start: StartFn) -> ChildSpec {
        ChildSpec {
            name,
            restart: Restart::Permanent,
            shutdown_timeout: Duration::from_secs(10),
            start,
        }
    }

    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

//! The drop guard that tells the supervisor a child is down.
//!
//! A child holds a [`ChildGuard`] as a field. Whatever ends the child —
//! `ctx.stop()`, a panic caught by tokio at the task boundary, a panic that
//! unwinds a SyncArbiter worker thread — drops the guard, and `Drop` sends
//! [`ChildDown`] to the supervisor. A pool's workers share one guard: the
//! first worker that panics reports at once (its thread is about to die and
//! will never be replaced), and the last worker to go reports the exit.
//!
//! The guard also carries the incarnation's stop token
//! ([`ChildGuard::stop_token`]): a child of the supervisor's one shutdown
//! token, cancelled when the supervisor asks this incarnation to stop. A
//! child's long-running loops wait on it instead of a stop signal of their
//! own.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use actix::{Message, Recipient};
use tokio_util::sync::CancellationToken;

/// Why a child went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownCause {
    /// The child finished its work and said so ([`ChildGuard::exit_normally`]).
    Normal,
    /// The child stopped without saying it was done: a self-stop on an
    /// unrecoverable error, or a stop the supervisor asked for.
    Stopped,
    /// A handler panicked; the panic message.
    Panicked(String),
}

impl std::fmt::Display for DownCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownCause::Normal => f.write_str("exited normally"),
            DownCause::Stopped => f.write_str("stopped"),
            DownCause::Panicked(m) => write!(f, "panicked: {m}"),
        }
    }
}

/// "Child `name`, generation `generation`, is down."
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ChildDown {
    pub name: &'static str,
    pub generation: u64,
    pub cause: DownCause,
}

struct Inner {
    name: &'static str,
    generation: u64,
    report: Recipient<ChildDown>,
    normal: AtomicBool,
    panic_reported: AtomicBool,
    stop: CancellationToken,
}

impl Drop for Inner {
    // The last holder is gone: the whole child has stopped. (When a worker's
    // panic was reported already, this is the rest of its pool draining.)
    fn drop(&mut self) {
        let cause = if self.panic_reported.load(Ordering::SeqCst) {
            DownCause::Stopped
        } else if let Some(msg) = take_recent_panic() {
            DownCause::Panicked(msg)
        } else if self.normal.load(Ordering::SeqCst) {
            DownCause::Normal
        } else {
            DownCause::Stopped
        };
        self.report.do_send(ChildDown {
            name: self.name,
            generation: self.generation,
            cause,
        });
    }
}

/// Held by every child (every worker of a pool) for as long as it lives.
#[derive(Clone)]
pub struct ChildGuard {
    inner: Arc<Inner>,
}

impl ChildGuard {
    pub(crate) fn new(
        name: &'static str,
        generation: u64,
        report: Recipient<ChildDown>,
        stop: CancellationToken,
    ) -> Self {
        ChildGuard {
            inner: Arc::new(Inner {
                name,
                generation,
                report,
                normal: AtomicBool::new(false),
                panic_reported: AtomicBool::new(false),
                stop,
            }),
        }
    }

    /// Marks the coming stop as a normal exit (a transient child is then
    /// not restarted).
    pub fn exit_normally(&self) {
        self.inner.normal.store(true, Ordering::SeqCst);
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// This incarnation's stop token: cancelled when the supervisor asks
    /// it to stop (a restart or the ordered shutdown; [`Control::Stop`] is
    /// sent right after) or releases it after a crash, and when the
    /// supervisor itself ends. Every loop of the child shares it.
    ///
    /// [`Control::Stop`]: super::Control::Stop
    pub fn stop_token(&self) -> CancellationToken {
        self.inner.stop.clone()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // A sync worker unwinding: its thread dies now and is never replaced,
        // so report without waiting for its siblings.
        if std::thread::panicking() && !self.inner.panic_reported.swap(true, Ordering::SeqCst) {
            let msg = take_recent_panic().unwrap_or_else(|| "unknown panic".into());
            self.inner.report.do_send(ChildDown {
                name: self.inner.name,
                generation: self.inner.generation,
                cause: DownCause::Panicked(msg),
            });
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<(String, Instant)>> = const { RefCell::new(None) };
}

/// A panic message recorded on this thread within the last second.
fn take_recent_panic() -> Option<String> {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .filter(|(_, at)| at.elapsed() < Duration::from_secs(1))
        .map(|(m, _)| m)
}

/// Wraps the process panic hook so that a child's guard can say *why* it
/// went down. The previous hook still runs (and prints the panic).
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".into());
            let msg: String = msg.chars().take(200).collect();
            // The previous hook first: printing a backtrace (RUST_BACKTRACE)
            // can take longer than the guard's freshness window, and the
            // guard reads the message only after this hook returns.
            previous(info);
            LAST_PANIC.with(|p| *p.borrow_mut() = Some((msg, Instant::now())));
        }));
    });
}

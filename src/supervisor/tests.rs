//! Supervision with small test actors: what the supervisor promises,
//! observed through its events, its status and the children's answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix::{Actor, ActorContext, Context, Handler, Message, SyncContext};
use tokio::sync::broadcast;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

#[derive(Message)]
#[rtype(result = "u32")]
struct Ping;

#[derive(Message)]
#[rtype(result = "()")]
struct Crash;

#[derive(Message)]
#[rtype(result = "()")]
struct SelfStop {
    normal: bool,
}

/// An async child that knows its incarnation number.
struct Worker {
    incarnation: u32,
    ignore_stop: bool,
    guard: ChildGuard,
}

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Handler<Ping> for Worker {
    type Result = u32;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u32 {
        self.incarnation
    }
}

impl Handler<Crash> for Worker {
    type Result = ();
    fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("test crash");
    }
}

impl Handler<SelfStop> for Worker {
    type Result = ();
    fn handle(&mut self, msg: SelfStop, ctx: &mut Context<Self>) {
        if msg.normal {
            self.guard.exit_normally();
        }
        ctx.stop();
    }
}

impl Handler<Control> for Worker {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        if self.ignore_stop && matches!(msg, Control::Stop) {
            return;
        }
        obey(msg, ctx)
    }
}

/// A sync pool worker that reports its thread.
struct PoolWorker {
    _guard: ChildGuard,
}

impl Actor for PoolWorker {
    type Context = SyncContext<Self>;
}

#[derive(Message)]
#[rtype(result = "std::thread::ThreadId")]
struct WhichThread(Duration);

impl Handler<WhichThread> for PoolWorker {
    type Result = actix::MessageResult<WhichThread>;
    fn handle(&mut self, msg: WhichThread, _: &mut SyncContext<Self>) -> Self::Result {
        std::thread::sleep(msg.0);
        actix::MessageResult(std::thread::current().id())
    }
}

impl Handler<Crash> for PoolWorker {
    type Result = ();
    fn handle(&mut self, _: Crash, _: &mut SyncContext<Self>) {
        panic!("test crash in a sync worker");
    }
}

impl Handler<Control> for PoolWorker {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut SyncContext<Self>) {
        obey(msg, ctx)
    }
}

fn policy(max_restarts: u32) -> Policy {
    Policy {
        max_restarts,
        restart_window: Duration::from_secs(60),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        fault_injection: true,
        shutdown_order: None,
    }
}

fn worker_spec(name: &'static str, slot: &ChildRef<Worker>, ignore_stop: bool) -> ChildSpec {
    let count = Arc::new(AtomicU32::new(0));
    ChildSpec::actor(name, slot.clone(), move |guard| Worker {
        incarnation: count.fetch_add(1, Ordering::SeqCst) + 1,
        ignore_stop,
        guard,
    })
    .shutdown_timeout(Duration::from_millis(500))
}

/// Waits for the first event matching `pred`; panics with what it saw.
async fn expect_event(rx: &mut broadcast::Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(e) => seen.push(e),
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no matching event; saw {seen:?}"))
}

fn is(actor: &'static str, kind: fn(&EventKind) -> bool) -> impl Fn(&Event) -> bool {
    move |e| e.actor == actor && kind(&e.kind)
}

#[actix_rt::test]
async fn a_panicking_async_child_is_restarted_with_backoff() {
    let a = ChildRef::new("a", WAIT);
    let sup = Supervisor::start(vec![worker_spec("a", &a, false)], policy(5));
    let mut events = sup.subscribe();
    assert_eq!(a.call(Ping).await.unwrap(), 1);

    assert_eq!(a.call(Crash).await, Err(CallError::Lost { actor: "a" }));
    let crashed = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Crashed { .. })),
    )
    .await;
    assert_eq!(
        crashed.kind,
        EventKind::Crashed {
            reason: "panicked: test crash".into()
        }
    );
    let restarted = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Restarted { .. })),
    )
    .await;
    assert!(matches!(
        restarted.kind,
        EventKind::Restarted { restarts: 1, backoff, .. } if backoff == Duration::from_millis(10)
    ));
    // A call made now reaches the new incarnation, not the dead one.
    assert_eq!(a.call(Ping).await.unwrap(), 2);

    // A second crash backs off twice as long.
    let _ = a.call(Crash).await;
    let restarted = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Restarted { .. })),
    )
    .await;
    assert!(matches!(
        restarted.kind,
        EventKind::Restarted { restarts: 2, backoff, .. } if backoff == Duration::from_millis(20)
    ));
    let status = sup.addr.send(GetStatus).await.unwrap();
    let child = &status.children[0];
    assert_eq!((child.state, child.restarts), (ChildState::Running, 2));
    assert_eq!(child.last_failure.as_deref(), Some("panicked: test crash"));
    assert_eq!(status.recent_restarts, 2);
}

#[actix_rt::test]
async fn a_self_stopped_child_is_restarted() {
    let a = ChildRef::new("a", WAIT);
    let sup = Supervisor::start(vec![worker_spec("a", &a, false)], policy(5));
    let mut events = sup.subscribe();
    a.call(SelfStop { normal: false }).await.unwrap();
    let crashed = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Crashed { .. })),
    )
    .await;
    assert_eq!(
        crashed.kind,
        EventKind::Crashed {
            reason: "stopped".into()
        }
    );
    assert_eq!(a.call(Ping).await.unwrap(), 2);
}

#[actix_rt::test]
async fn a_panicking_sync_worker_is_replaced_and_the_pool_is_whole_again() {
    let pool: ChildRef<PoolWorker> = ChildRef::new("pool", WAIT);
    let spec = ChildSpec::sync_pool("pool", 2, pool.clone(), |guard| PoolWorker {
        _guard: guard,
    });
    let sup = Supervisor::start(vec![spec], policy(5));
    let mut events = sup.subscribe();

    let _ = pool.call(Crash).await;
    let crashed = expect_event(
        &mut events,
        is("pool", |k| matches!(k, EventKind::Crashed { .. })),
    )
    .await;
    assert_eq!(
        crashed.kind,
        EventKind::Crashed {
            reason: "panicked: test crash in a sync worker".into()
        }
    );
    expect_event(
        &mut events,
        is("pool", |k| matches!(k, EventKind::Restarted { .. })),
    )
    .await;

    // Two slow requests at once are served by two different threads: both
    // workers are there. (With one worker left, one thread would serve both.)
    let slow = Duration::from_millis(300);
    let (t1, t2) = tokio::join!(pool.call(WhichThread(slow)), pool.call(WhichThread(slow)));
    assert_ne!(t1.unwrap(), t2.unwrap());
}

#[actix_rt::test]
async fn a_temporary_child_is_not_restarted() {
    let a = ChildRef::new("a", Duration::from_millis(300));
    let spec = worker_spec("a", &a, false).restart(Restart::Temporary);
    let sup = Supervisor::start(vec![spec], policy(5));
    let mut events = sup.subscribe();
    let _ = a.call(Crash).await;
    expect_event(&mut events, is("a", |k| *k == EventKind::Stopped)).await;
    assert!(matches!(
        a.call(Ping).await,
        Err(CallError::Unavailable { .. })
    ));
    let status = sup.addr.send(GetStatus).await.unwrap();
    assert_eq!(status.children[0].state, ChildState::Stopped);
    assert_eq!(status.children[0].restarts, 0);
}

#[actix_rt::test]
async fn a_transient_child_is_restarted_only_after_an_abnormal_exit() {
    let a = ChildRef::new("a", WAIT);
    let spec = worker_spec("a", &a, false).restart(Restart::Transient);
    let sup = Supervisor::start(vec![spec], policy(5));
    let mut events = sup.subscribe();
    let _ = a.call(Crash).await;
    expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Restarted { .. })),
    )
    .await;
    assert_eq!(a.call(Ping).await.unwrap(), 2);
    a.call(SelfStop { normal: true }).await.unwrap();
    expect_event(&mut events, is("a", |k| *k == EventKind::Stopped)).await;
    let status = sup.addr.send(GetStatus).await.unwrap();
    assert_eq!(status.children[0].state, ChildState::Stopped);
}

#[actix_rt::test]
async fn exceeding_the_intensity_stops_everything_in_order_and_reports_failure() {
    let (a, b, c) = (
        ChildRef::new("a", WAIT),
        ChildRef::new("b", WAIT),
        ChildRef::new("c", WAIT),
    );
    let specs = vec![
        worker_spec("a", &a, false),
        worker_spec("b", &b, false),
        worker_spec("c", &c, false),
    ];
    let sup = Supervisor::start(specs, policy(2));
    let mut events = sup.subscribe();
    for _ in 0..2 {
        let _ = b.call(Crash).await;
        expect_event(
            &mut events,
            is("b", |k| matches!(k, EventKind::Restarted { .. })),
        )
        .await;
    }
    let _ = b.call(Crash).await;
    expect_event(
        &mut events,
        is("b", |k| {
            matches!(k, EventKind::GaveUp { recent: 3, max: 2 })
        }),
    )
    .await;
    let mut stopped = Vec::new();
    while stopped.len() < 3 {
        let e = expect_event(&mut events, |e| e.kind == EventKind::Stopped).await;
        stopped.push(e.actor);
    }
    // b was already down; the others stop in reverse start order.
    assert_eq!(stopped, ["b", "c", "a"]);
    assert_eq!(sup.exit.await.unwrap(), Exit::IntensityExceeded);
    assert_eq!(Exit::IntensityExceeded.code(), 3);
}

#[actix_rt::test]
async fn shutdown_follows_the_configured_order() {
    let refs: Vec<ChildRef<Worker>> = ["db", "etherscan", "telegram", "ticker"]
        .into_iter()
        .map(|n| ChildRef::new(n, WAIT))
        .collect();
    let specs = refs
        .iter()
        .map(|r| worker_spec(r.name(), r, false))
        .collect();
    let mut p = policy(5);
    p.shutdown_order = Some(vec!["ticker", "etherscan", "telegram", "db"]);
    let sup = Supervisor::start(specs, p);
    let mut events = sup.subscribe();
    for r in &refs {
        r.call(Ping).await.unwrap();
    }
    sup.addr.send(Shutdown).await.unwrap();
    let mut stopped = Vec::new();
    while stopped.len() < 4 {
        stopped.push(
            expect_event(&mut events, |e| e.kind == EventKind::Stopped)
                .await
                .actor,
        );
    }
    assert_eq!(stopped, ["ticker", "etherscan", "telegram", "db"]);
    assert_eq!(sup.exit.await.unwrap(), Exit::Normal);
}

#[actix_rt::test]
async fn a_child_that_does_not_stop_in_time_is_abandoned_and_the_exit_says_so() {
    let (a, b) = (ChildRef::new("a", WAIT), ChildRef::new("stuck", WAIT));
    let specs = vec![worker_spec("a", &a, false), worker_spec("stuck", &b, true)];
    let sup = Supervisor::start(specs, policy(5));
    let mut events = sup.subscribe();
    b.call(Ping).await.unwrap();
    sup.addr.send(Shutdown).await.unwrap();
    expect_event(&mut events, is("stuck", |k| *k == EventKind::Abandoned)).await;
    expect_event(&mut events, is("a", |k| *k == EventKind::Stopped)).await;
    assert_eq!(sup.exit.await.unwrap(), Exit::ShutdownTimedOut);
}

#[actix_rt::test]
async fn restart_on_request_and_fault_injection_policy() {
    let a = ChildRef::new("a", WAIT);
    let mut p = policy(5);
    p.fault_injection = false;
    let sup = Supervisor::start(vec![worker_spec("a", &a, false)], p);
    let mut events = sup.subscribe();
    assert_eq!(a.call(Ping).await.unwrap(), 1);
    assert_eq!(
        sup.addr.send(PanicChild("a".into())).await.unwrap(),
        Err(SupervisorError::FaultInjectionDisabled)
    );
    assert_eq!(
        sup.addr.send(RestartChild("nope".into())).await.unwrap(),
        Err(SupervisorError::UnknownChild("nope".into()))
    );
    sup.addr
        .send(RestartChild("a".into()))
        .await
        .unwrap()
        .unwrap();
    let e = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Restarted { .. })),
    )
    .await;
    assert!(
        matches!(e.kind, EventKind::Restarted { restarts: 1, ref reason, .. } if reason == "restart requested")
    );
    assert_eq!(a.call(Ping).await.unwrap(), 2);
    // A requested restart is not a failure: the intensity window is untouched.
    assert_eq!(sup.addr.send(GetStatus).await.unwrap().recent_restarts, 0);
}

#[actix_rt::test]
async fn fault_injection_panics_inside_a_handler_when_allowed() {
    let a = ChildRef::new("a", WAIT);
    let sup = Supervisor::start(vec![worker_spec("a", &a, false)], policy(5));
    let mut events = sup.subscribe();
    a.call(Ping).await.unwrap();
    sup.addr
        .send(PanicChild("a".into()))
        .await
        .unwrap()
        .unwrap();
    let e = expect_event(
        &mut events,
        is("a", |k| matches!(k, EventKind::Crashed { .. })),
    )
    .await;
    assert!(
        matches!(e.kind, EventKind::Crashed { ref reason } if reason.contains("fault injection"))
    );
    assert_eq!(a.call(Ping).await.unwrap(), 2);
}

/// A child that ignores `Control::Stop`: it stops only when its stop token
/// is cancelled.
struct TokenWorker {
    incarnation: u32,
    stop: tokio_util::sync::CancellationToken,
    _guard: ChildGuard,
}

impl Actor for TokenWorker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        use actix::{ActorFutureExt, AsyncContext, WrapFuture};
        let stop = self.stop.clone();
        ctx.spawn(
            async move { stop.cancelled().await }
                .into_actor(self)
                .map(|(), _, ctx| ctx.stop()),
        );
    }
}

impl Handler<Ping> for TokenWorker {
    type Result = u32;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u32 {
        self.incarnation
    }
}

impl Handler<Control> for TokenWorker {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        if matches!(msg, Control::Panic) {
            obey(msg, ctx)
        }
    }
}

#[actix_rt::test]
async fn each_incarnation_stops_through_its_own_stop_token() {
    let a = ChildRef::new("a", WAIT);
    let count = Arc::new(AtomicU32::new(0));
    let spec = ChildSpec::actor("a", a.clone(), move |guard| TokenWorker {
        incarnation: count.fetch_add(1, Ordering::SeqCst) + 1,
        stop: guard.stop_token(),
        _guard: guard,
    })
    .shutdown_timeout(Duration::from_secs(5));
    let sup = Supervisor::start(vec![spec], policy(5));
    let mut events = sup.subscribe();
    assert_eq!(a.call(Ping).await.unwrap(), 1);
    sup.addr
        .send(RestartChild("a".into()))
        .await
        .unwrap()
        .unwrap();
    // Stopped by its token, not abandoned after the shutdown timeout.
    let e = expect_event(
        &mut events,
        is("a", |k| {
            matches!(k, EventKind::Stopped | EventKind::Abandoned)
        }),
    )
    .await;
    assert!(matches!(e.kind, EventKind::Stopped), "{e:?}");
    // The next incarnation has a token of its own, not cancelled.
    assert_eq!(a.call(Ping).await.unwrap(), 2);
    sup.addr.do_send(Shutdown);
    assert_eq!(sup.exit.await.unwrap(), Exit::Normal);
}

//! The operator's HTTP endpoint (`[http] listen`): `GET /healthz` and
//! `GET /metrics` (HEAD too; other methods 405), served by actix-web.
//!
//! [`HttpActor`] is a child of the supervisor like any other: it runs the
//! server on its own Arbiter, is restarted when it dies, and is the first
//! to stop on shutdown (nobody should scrape a daemon that is going away).
//! The listening socket is bound once, before the tree starts
//! ([`bind`]), and kept by the application: every incarnation serves
//! a clone of it, so a restart never loses the port and a port already in
//! use is a start-up error, not a restart loop.
//!
//! Connections are bounded ([`MAX_CONNECTIONS`], [`REQUEST_WITHIN`],
//! [`KEEP_ALIVE`]): however many a client opens and leaves idle, the
//! endpoint holds at most a few descriptors, so it cannot starve polling,
//! commands or the outbox.
//!
//! The handlers read shared state only ([`HttpState`], exactly what they
//! use): the supervisor's snapshot, the scanners' per-chain health, the
//! provider pauses, the counters and instruments, and one read-only
//! database query per scrape.

pub mod exposition;
pub mod health;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use actix::{
    Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler, WrapFuture,
};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::config::Config;
use crate::db::DbRef;
use crate::db::exposition::GetExposition;
use crate::instruments::Instruments;
use crate::metrics::{Counters, Health, Pauses};
use crate::supervisor::{ChildGuard, Control, GetStatus, Supervisor, TreeStatus, obey};
use crate::webhook::Webhooks;

/// The child's name in the supervision tree.
pub const CHILD: &str = "http";

/// How long a handler waits for the supervisor or the database.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The most connections served at once. Past it, new connections wait in
/// the kernel's accept queue (no descriptor of ours) until one closes: the
/// endpoint can never take the descriptors the database, the providers and
/// Telegram need. A scraper and a few health probes need a handful.
pub const MAX_CONNECTIONS: usize = 16;

/// A connection must send its request head within this time, and an idle
/// keep-alive connection is closed after [`KEEP_ALIVE`]: idle connections
/// cannot hold the slots for long.
pub const REQUEST_WITHIN: Duration = Duration::from_secs(2);
/// See [`REQUEST_WITHIN`].
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Binds `[http] listen`. Called once at start-up, before the tree starts.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// What the handlers read. `Send + Sync`: actix-web runs them on its own
/// worker thread.
#[derive(Clone)]
pub struct HttpState {
    /// Read: `monitor` (the poll interval) and the chains.
    pub config: Arc<Config>,
    /// Each chain's head, cursor and last poll.
    pub health: Arc<Health>,
    /// The paused providers (`usdt_monitor_provider_paused`).
    pub pauses: Arc<Pauses>,
    /// Rejected logs (`usdt_monitor_logs_rejected`).
    pub counters: Arc<Counters>,
    pub instruments: Arc<Instruments>,
    pub db: DbRef,
    pub supervisor: Arc<OnceLock<Addr<Supervisor>>>,
    /// When the daemon started (a chain never polled counts from here).
    pub started: SystemTime,
    /// The configured webhook sinks (their backlogs are exported by host).
    pub webhooks: Arc<Webhooks>,
}

impl HttpState {
    async fn tree(&self) -> Option<TreeStatus> {
        let addr = self.supervisor.get()?;
        tokio::time::timeout(ANSWER_WITHIN, addr.send(GetStatus))
            .await
            .ok()?
            .ok()
    }
}

async fn healthz(state: web::Data<HttpState>) -> HttpResponse {
    let tree = state.tree().await;
    let chains = state.config.chains();
    let report = health::evaluate(&health::Inputs {
        tree: tree.as_ref(),
        chains: &chains,
        health: &state.health.chains(),
        poll_interval: state.config.monitor.poll_interval,
        started: state.started,
        now: SystemTime::now(),
    });
    let mut response = if report.is_ok() {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(report)
}

async fn metrics(state: web::Data<HttpState>) -> HttpResponse {
    let tree = state.tree().await;
    let db = match tokio::time::timeout(ANSWER_WITHIN, state.db.exec(GetExposition)).await {
        Ok(Ok(db)) => Some(db),
        Ok(Err(e)) => {
            tracing::warn!(actor = CHILD, error = %e, "metrics: database totals unavailable");
            None
        }
        Err(_) => {
            tracing::warn!(
                actor = CHILD,
                "metrics: the database did not answer in time"
            );
            None
        }
    };
    let scrape = exposition::Scrape {
        instruments: &state.instruments,
        counters: &state.counters,
        pauses: state.pauses.pauses(),
        chains: state.health.chains(),
        tree,
        db,
        sinks: &state.webhooks.sinks,
    };
    match exposition::render(&scrape) {
        Ok(text) => HttpResponse::Ok()
            .content_type(exposition::CONTENT_TYPE)
            .body(text),
        Err(_) => HttpResponse::InternalServerError().body("cannot encode the metrics"),
    }
}

/// The HTTP server as a supervised child.
pub struct HttpActor {
    listener: Arc<TcpListener>,
    state: HttpState,
    server: Option<ServerHandle>,
    stopping: bool,
    _guard: ChildGuard,
}

impl HttpActor {
    pub fn new(listener: Arc<TcpListener>, state: HttpState, guard: ChildGuard) -> Self {
        HttpActor {
            listener,
            state,
            server: None,
            stopping: false,
            _guard: guard,
        }
    }

    fn serve(&mut self) -> std::io::Result<actix_web::dev::Server> {
        let listener = self.listener.try_clone()?;
        let data = web::Data::new(self.state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .service(
                    read_only("/healthz")
                        .route(web::head().to(healthz))
                        .route(web::get().to(healthz)),
                )
                .service(
                    read_only("/metrics")
                        .route(web::head().to(metrics))
                        .route(web::get().to(metrics)),
                )
        })
        .workers(1)
        .max_connections(MAX_CONNECTIONS)
        .client_request_timeout(REQUEST_WITHIN)
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(KEEP_ALIVE)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        Ok(server)
    }
}

/// A resource answering GET and HEAD (load balancers probe with HEAD);
/// any other method gets 405 Method Not Allowed with `Allow: GET, HEAD`.
fn read_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        actix_web::HttpResponse::MethodNotAllowed()
            .insert_header((actix_web::http::header::ALLOW, "GET, HEAD"))
            .finish()
    }))
}

impl Actor for HttpActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let server = match self.serve() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(actor = CHILD, error = %e, "cannot serve the HTTP endpoint");
                ctx.stop();
                return;
            }
        };
        let addr = self.listener.local_addr().ok();
        tracing::info!(actor = CHILD, listen = ?addr, "serving /healthz and /metrics");
        self.server = Some(server.handle());
        // The server lives in this actor's context: if the actor dies, the
        // server future is dropped, which stops its acceptor and worker.
        ctx.spawn(server.into_actor(self).map(|result, act, ctx| {
            if !act.stopping {
                tracing::error!(actor = CHILD, ?result, "the HTTP server ended unexpectedly");
            }
            ctx.stop();
        }));
    }
}

impl Handler<Control> for HttpActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        match (msg, self.server.take()) {
            (Control::Stop, Some(server)) => {
                self.stopping = true;
                // Sent at once; the server future above ends when it is done
                // (in-flight requests get up to a second) and stops us.
                drop(server.stop(true));
            }
            _ => obey(msg, ctx),
        }
    }
}

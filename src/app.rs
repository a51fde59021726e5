//! The daemon's supervision tree: which actors exist, how they find each
//! other, and the run loop shared by `usdt-monitor run` and the demo.

use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use actix::Addr;
use tokio::sync::Notify;

use crate::config::{Config, Secrets};
use crate::db::spam::SpamPolicy;
use crate::db::{DbActor, DbError, DbRef, DbSettings};
use crate::domain::Contracts;
use crate::etherscan::{EtherscanActor, Poll};
use crate::http::{HttpActor, HttpState};
use crate::metrics::Metrics;
use crate::supervisor::{
    ChildRef, ChildSpec, EventKind, Exit, Policy, Restart, Shutdown, Supervisor, SupervisorHandle,
};
use crate::telegram::TelegramActor;
use crate::ticker::{PollFn, TickerActor};
use crate::tron::TronActor;
use crate::webhook::{Sink, WebhookActor, Webhooks};

/// The children, in start order; `webhook` only when `[[webhook]]` sinks
/// are configured, `http` only when `[http] listen` is set (it starts
/// last). Shutdown order is different (see [`SHUTDOWN_ORDER`]).
pub const CHILDREN: &[&str] = &[
    "db",
    "etherscan",
    "tron",
    "telegram",
    "ticker",
    "webhook",
    "http",
];

/// Stop the HTTP endpoint first (a daemon going away is not scraped as
/// healthy), then the ticker (no new polls), then the scanner (its
/// in-flight poll finishes and is persisted), then the webhook sink (a POST
/// on the wire finishes and is marked), then the bot (in-flight sends
/// finish; the rest stays queued in the outbox), and the database last,
/// because everyone before it may still be writing. The supervisor skips
/// names of children that are not configured.
pub const SHUTDOWN_ORDER: [&str; 7] = [
    "http",
    "ticker",
    "etherscan",
    "tron",
    "webhook",
    "telegram",
    "db",
];

/// What every actor may reach. Cheap to clone; everything inside survives
/// the restart of any single actor.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub secrets: Secrets,
    pub metrics: Arc<Metrics>,
    pub db: DbRef,
    pub etherscan: ChildRef<EtherscanActor>,
    /// The Tron scanner (a child only when `monitor.chains` includes `tron`).
    pub tron: ChildRef<TronActor>,
    pub telegram: ChildRef<TelegramActor>,
    pub ticker: ChildRef<TickerActor>,
    /// Set right after the supervisor starts, before any child runs.
    pub supervisor: Arc<OnceLock<Addr<Supervisor>>>,
    /// Woken when the scanner has queued notifications.
    pub outbox_ready: Arc<Notify>,
    /// Whether polling is paused (`/pause`); kept outside the ticker so
    /// that a pause survives the ticker's restart.
    pub paused: Arc<AtomicBool>,
    /// The address-poisoning checks applied when transfers are recorded.
    pub spam: Arc<SpamPolicy>,
    /// `[[webhook]]` sinks with their signing keys (empty unless set with
    /// [`Shared::with_webhooks`]).
    pub webhooks: Arc<Webhooks>,
    pub webhook: ChildRef<WebhookActor>,
    /// The bot's username from `getMe` at start-up (without the `@`), for
    /// routing `/cmd@username` in groups. Empty until known.
    pub bot_username: Arc<OnceLock<String>>,
    /// The socket of `[http] listen`, bound once by [`start`].
    pub http_listener: Arc<OnceLock<Arc<TcpListener>>>,
    /// When this `Shared` was made: the daemon's start.
    pub started: SystemTime,
    /// The active token contracts (registry and `[[monitor.contracts]]`):
    /// every lookup of a token's symbol and decimals by contract goes here.
    pub contracts: Arc<Contracts>,
}

impl Shared {
    /// Fails only on spam settings that `Config::parse` would have refused
    /// (for configurations built in code).
    pub fn new(config: Config, secrets: Secrets) -> Result<Shared, StartError> {
        let wait = call_wait(&config);
        let spam = SpamPolicy::from_config(&config.spam)
            .map_err(|e| StartError::Config(format!("[spam]: {e}")))?;
        let contracts = Arc::new(config.contracts());
        if secrets.etherscan_key.is_none() && !config.evm_chains().is_empty() {
            return Err(StartError::Config(
                crate::config::missing_etherscan_key(&config).to_string(),
            ));
        }
        Ok(Shared {
            contracts,
            config: Arc::new(config),
            secrets,
            metrics: Arc::new(Metrics::default()),
            db: ChildRef::new("db", wait),
            etherscan: ChildRef::new("etherscan", wait),
            tron: ChildRef::new("tron", wait),
            telegram: ChildRef::new("telegram", wait),
            ticker: ChildRef::new("ticker", wait),
            supervisor: Arc::new(OnceLock::new()),
            outbox_ready: Arc::new(Notify::new()),
            paused: Arc::new(AtomicBool::new(false)),
            spam: Arc::new(spam),
            webhooks: Arc::new(Webhooks::default()),
            webhook: ChildRef::new("webhook", wait),
            bot_username: Arc::new(OnceLock::new()),
            http_listener: Arc::new(OnceLock::new()),
            started: SystemTime::now(),
        })
    }

    /// Adds the webhook sinks (built by [`crate::webhook::sinks_from_env`]):
    /// the poll write queues deliveries for them and the `webhook` child
    /// posts them.
    pub fn with_webhooks(mut self, sinks: Vec<Sink>) -> Shared {
        self.webhooks = Arc::new(Webhooks::new(sinks));
        self
    }

    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            path: self.config.database.path.clone(),
            busy_timeout: self.config.database.busy_timeout,
            max_size: self.config.database.max_size.map(|s| s.0),
        }
    }
}

/// The child specifications, in start order.
pub fn child_specs(shared: &Shared) -> Vec<ChildSpec> {
    let timeout = shared.config.supervisor.shutdown_timeout;
    let settings = shared.db_settings();
    let metrics = shared.metrics.clone();
    let db = ChildSpec::sync_pool(
        "db",
        shared.config.database.workers,
        shared.db.clone(),
        move |guard| DbActor::new(settings.clone(), guard).alerting(metrics.clone()),
    );
    // Each scanner exists only when `monitor.chains` has a chain it serves.
    let etherscan = (!shared.config.evm_chains().is_empty()).then(|| {
        let s = shared.clone();
        ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
            EtherscanActor::new(s.clone(), guard)
        })
    });
    let s = shared.clone();
    let telegram = ChildSpec::actor("telegram", shared.telegram.clone(), move |guard| {
        TelegramActor::new(s.clone(), guard)
    });
    let tron = shared.config.scans_tron().then(|| {
        let s = shared.clone();
        ChildSpec::actor("tron", shared.tron.clone(), move |guard| {
            TronActor::new(s.clone(), guard)
        })
    });
    let mut polls = Vec::new();
    if etherscan.is_some() {
        polls.push(poll_fn(
            shared.etherscan.clone(),
            shared.metrics.clone(),
            || Poll,
        ));
    }
    if tron.is_some() {
        polls.push(poll_fn(shared.tron.clone(), shared.metrics.clone(), || {
            crate::tron::Poll
        }));
    }
    let (interval, paused) = (shared.config.monitor.poll_interval, shared.paused.clone());
    let ticker = ChildSpec::actor("ticker", shared.ticker.clone(), move |guard| {
        TickerActor::new(interval, polls.clone(), paused.clone(), guard)
    });
    let http = shared.http_listener.get().map(|listener| {
        let (listener, state) = (listener.clone(), http_state(shared));
        ChildSpec::actor(
            crate::http::CHILD,
            ChildRef::new(crate::http::CHILD, call_wait(&shared.config)),
            move |guard| HttpActor::new(listener.clone(), state.clone(), guard),
        )
    });
    let webhook = (!shared.webhooks.is_empty()).then(|| {
        let s = shared.clone();
        ChildSpec::actor("webhook", shared.webhook.clone(), move |guard| {
            WebhookActor::new(s.clone(), guard)
        })
    });
    [db].into_iter()
        .chain(etherscan)
        .chain(tron)
        .chain([telegram, ticker])
        .chain(webhook)
        .chain(http)
        .map(|spec| spec.restart(Restart::Permanent).shutdown_timeout(timeout))
        .collect()
}

/// How long a call to a child that is down waits for its successor:
/// longer than the longest backoff, so a restart in progress is waited for
/// rather than reported as an error.
/// The ticker's poll of one scanner (`M`: its `Poll` message): `Ok` when the
/// poll fully succeeded (the scanner logs the details); a successful poll's
/// duration is observed.
fn poll_fn<A, M, E>(scanner: ChildRef<A>, metrics: Arc<Metrics>, ask: fn() -> M) -> PollFn
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: actix::Message<Result = Result<crate::scanner::PollSummary<E>, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    Arc::new(move || {
        let (scanner, metrics) = (scanner.clone(), metrics.clone());
        Box::pin(async move {
            let began = Instant::now();
            let answer = scanner.call(ask()).await;
            if let Ok(Ok(_)) = &answer {
                (metrics.instruments)
                    .poll_duration
                    .observe(began.elapsed().as_secs_f64());
            }
            let summary = answer
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let mut errors = summary.errors();
            match errors.next() {
                None => Ok(()),
                Some(first) => Err(format!("{} error(s), first: {first}", 1 + errors.count())),
            }
        })
    })
}

fn call_wait(config: &Config) -> Duration {
    config.supervisor.backoff_max + Duration::from_secs(5)
}

fn http_state(shared: &Shared) -> HttpState {
    HttpState {
        config: shared.config.clone(),
        metrics: shared.metrics.clone(),
        db: shared.db.clone(),
        supervisor: shared.supervisor.clone(),
        started: shared.started,
        webhooks: shared.webhooks.clone(),
    }
}

pub fn policy(config: &Config) -> Policy {
    let s = &config.supervisor;
    Policy {
        max_restarts: s.max_restarts,
        restart_window: s.restart_window,
        backoff_min: s.backoff_min,
        backoff_max: s.backoff_max,
        fault_injection: s.fault_injection,
        shutdown_order: Some(SHUTDOWN_ORDER.to_vec()),
    }
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("cannot listen on {addr} (http.listen): {source}")]
    Http {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Prepares the database and starts the supervision tree. Must be called
/// inside an actix `System`.
pub fn start(shared: &Shared) -> Result<SupervisorHandle, StartError> {
    // TLS for both HTTP clients: rustls selects no crypto provider itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    crate::db::connection::prepare(&shared.db_settings())?;
    if let Some(addr) = shared.config.http.listen_addr()
        && shared.http_listener.get().is_none()
    {
        let listener =
            crate::http::bind(addr).map_err(|source| StartError::Http { addr, source })?;
        let _ = shared.http_listener.set(Arc::new(listener));
    }
    let handle = Supervisor::start(child_specs(shared), policy(&shared.config));
    let _ = shared.supervisor.set(handle.addr.clone());
    forward_alerts(shared, handle.subscribe());
    let database = &shared.config.database;
    actix::spawn(crate::db::prune::prune_every(
        shared.db.clone(),
        crate::db::prune::Retention::from_config(database),
        database.prune_interval,
    ));
    Ok(handle)
}

/// Runs the daemon until `shutdown` resolves (then stops it in order) or
/// the supervisor gives up. Must be called inside an actix `System`.
pub async fn run_until(
    shared: Shared,
    shutdown: impl Future<Output = ()>,
) -> Result<Exit, StartError> {
    let mut handle = start(&shared)?;
    tokio::select! {
        exit = &mut handle.exit => return Ok(exit.unwrap_or(Exit::Normal)),
        () = shutdown => tracing::info!("shutting down"),
    }
    handle.addr.do_send(Shutdown);
    Ok(handle.exit.await.unwrap_or(Exit::Normal))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn termination_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C will stop the daemon");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Turns supervisor events that need a human into admin alerts, and
/// counts restarts for the metrics.
fn forward_alerts(
    shared: &Shared,
    mut events: tokio::sync::broadcast::Receiver<crate::supervisor::Event>,
) {
    let metrics = shared.metrics.clone();
    actix::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event.kind {
                EventKind::Restarted { reason, .. } => {
                    (metrics.instruments).actor_restart(event.actor, &reason)
                }
                EventKind::IntensityWarning { recent, max } => metrics.raise(
                    "supervisor:intensity",
                    format!(
                        "Restart intensity near its limit: {recent} restarts of {max} allowed in the window (last: {}).",
                        event.actor
                    ),
                ),
                EventKind::GaveUp { recent, max } => metrics.raise(
                    "supervisor:gave-up",
                    format!("{recent} restarts (limit {max}) in the window: stopping every actor; the process will exit."),
                ),
                _ => {}
            }
        }
    });
}

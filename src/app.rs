//! The daemon's supervision tree: which actors exist, how they find each
//! other, and the run loop shared by `usdt-monitor run` and the demo.

use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use actix::Addr;
use tokio::sync::Notify;

use crate::config::{Config, Secret, Secrets};
use crate::db::spam::SpamPolicy;
use crate::db::{DbActor, DbError, DbRef, DbSettings};
use crate::domain::Contracts;
use crate::etherscan::{EtherscanActor, Poll};
use crate::http::{HttpActor, HttpState};
use crate::instruments::Instruments;
use crate::metrics::{Alerts, Counters, Health, Pauses, ProviderHandles};
use crate::scanner::handles::ScannerHandles;
use crate::scanner::record::Recorder;
use crate::supervisor::{
    ChildRef, ChildSpec, EventKind, Exit, Policy, Restart, Shutdown, Supervisor, SupervisorHandle,
};
use crate::telegram::TelegramActor;
use crate::ticker::{PollFn, TickerActor};
use crate::tron::TronActor;
use crate::webhook::{Sink, WebhookActor, Webhooks};

pub use crate::children::{CHILDREN, SHUTDOWN_ORDER};

/// Everything the tree shares, held by the application (and by tests and
/// the demo, which look inside). No child receives it: each is handed its
/// own dependencies, built from it ([`Shared::etherscan_deps`] and its
/// siblings). Cheap to clone; everything inside survives the restart of any
/// single actor.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub secrets: Secrets,
    /// Each chain's health and today's calls (`/status`, `/healthz`, `/metrics`).
    pub health: Arc<Health>,
    /// Paused providers; lifting a pause resolves its alert in `alerts`.
    pub pauses: Arc<Pauses>,
    /// The admin-alert bus.
    pub alerts: Arc<Alerts>,
    /// Counts for `/stats`.
    pub counters: Arc<Counters>,
    /// The Prometheus instruments.
    pub instruments: Arc<Instruments>,
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
        if secrets.etherscan_key.is_none() && !config.etherscan_only_chains().is_empty() {
            return Err(StartError::Config(
                crate::config::missing_etherscan_key(&config).to_string(),
            ));
        }
        let alerts = Arc::new(Alerts::default());
        Ok(Shared {
            contracts,
            config: Arc::new(config),
            secrets,
            health: Arc::default(),
            pauses: Arc::new(Pauses::new(alerts.clone())),
            alerts,
            counters: Arc::default(),
            instruments: Arc::default(),
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

    /// What every provider client reports to (the scanners' clients, and
    /// `preflight`'s).
    pub fn provider_handles(&self) -> ProviderHandles {
        self.scanner_handles().provider()
    }

    /// What every scanner child is handed besides its config and key.
    fn scanner_handles(&self) -> ScannerHandles {
        ScannerHandles {
            db: self.db.clone(),
            record: self.recorder(),
            health: self.health.clone(),
            pauses: self.pauses.clone(),
            alerts: self.alerts.clone(),
            counters: self.counters.clone(),
            instruments: self.instruments.clone(),
        }
    }

    /// The poll write's dependencies, shared by both scanners.
    fn recorder(&self) -> Recorder {
        Recorder {
            db: self.db.clone(),
            spam: self.spam.clone(),
            webhooks: self.webhooks.filters.clone(),
            instruments: self.instruments.clone(),
            outbox_ready: self.outbox_ready.clone(),
        }
    }

    /// The `etherscan` child's dependencies.
    pub fn etherscan_deps(&self) -> crate::etherscan::Deps {
        crate::etherscan::Deps {
            config: self.config.clone(),
            // `Shared::new` requires the key when there is an EVM chain,
            // and this child exists only then.
            key: (self.secrets.etherscan_key.clone()).unwrap_or_else(|| Secret::new(String::new())),
            scanner: self.scanner_handles(),
        }
    }

    /// The `tron` child's dependencies.
    pub fn tron_deps(&self) -> crate::tron::Deps {
        crate::tron::Deps {
            config: self.config.clone(),
            key: self.secrets.tron_key.clone(),
            scanner: self.scanner_handles(),
        }
    }

    /// The `telegram` child's dependencies.
    pub fn telegram_deps(&self) -> crate::telegram::Deps {
        crate::telegram::Deps {
            config: self.config.clone(),
            token: self.secrets.telegram_token.clone(),
            db: self.db.clone(),
            outbox_ready: self.outbox_ready.clone(),
            alerts: self.alerts.clone(),
            counters: self.counters.clone(),
            instruments: self.instruments.clone(),
            health: self.health.clone(),
            pauses: self.pauses.clone(),
            webhooks: self.webhooks.clone(),
            paused: self.paused.clone(),
            ticker: self.ticker.clone(),
            supervisor: self.supervisor.clone(),
            bot_username: self.bot_username.clone(),
            contracts: self.contracts.clone(),
        }
    }

    /// The `webhook` child's dependencies.
    pub fn webhook_deps(&self) -> crate::webhook::Deps {
        crate::webhook::Deps {
            db: self.db.clone(),
            webhooks: self.webhooks.clone(),
            shutdown_timeout: self.config.supervisor.shutdown_timeout,
        }
    }

    /// What the `http` child's handlers read.
    pub fn http_state(&self) -> HttpState {
        HttpState {
            config: self.config.clone(),
            health: self.health.clone(),
            pauses: self.pauses.clone(),
            counters: self.counters.clone(),
            instruments: self.instruments.clone(),
            db: self.db.clone(),
            supervisor: self.supervisor.clone(),
            started: self.started,
            webhooks: self.webhooks.clone(),
        }
    }
}

/// The child specifications, in start order.
pub fn child_specs(shared: &Shared) -> Vec<ChildSpec> {
    let timeout = shared.config.supervisor.shutdown_timeout;
    let settings = shared.db_settings();
    let alerts = shared.alerts.clone();
    let db = ChildSpec::sync_pool(
        "db",
        shared.config.database.workers,
        shared.db.clone(),
        move |guard| DbActor::new(settings.clone(), guard).alerting(alerts.clone()),
    );
    // Each scanner exists only when `monitor.chains` has a chain it serves.
    let etherscan = (!shared.config.evm_chains().is_empty()).then(|| {
        let deps = shared.etherscan_deps();
        ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
            EtherscanActor::new(deps.clone(), guard)
        })
    });
    let deps = shared.telegram_deps();
    let telegram = ChildSpec::actor("telegram", shared.telegram.clone(), move |guard| {
        TelegramActor::new(deps.clone(), guard)
    });
    let tron = shared.config.scans_tron().then(|| {
        let deps = shared.tron_deps();
        ChildSpec::actor("tron", shared.tron.clone(), move |guard| {
            TronActor::new(deps.clone(), guard)
        })
    });
    let mut polls = Vec::new();
    if etherscan.is_some() {
        polls.push(poll_fn(
            shared.etherscan.clone(),
            shared.instruments.clone(),
            || Poll,
        ));
    }
    if tron.is_some() {
        polls.push(poll_fn(
            shared.tron.clone(),
            shared.instruments.clone(),
            || crate::tron::Poll,
        ));
    }
    let (interval, paused) = (shared.config.monitor.poll_interval, shared.paused.clone());
    let ticker = ChildSpec::actor("ticker", shared.ticker.clone(), move |guard| {
        TickerActor::new(interval, polls.clone(), paused.clone(), guard)
    });
    let http = shared.http_listener.get().map(|listener| {
        let (listener, state) = (listener.clone(), shared.http_state());
        ChildSpec::actor(
            crate::http::CHILD,
            ChildRef::new(crate::http::CHILD, call_wait(&shared.config)),
            move |guard| HttpActor::new(listener.clone(), state.clone(), guard),
        )
    });
    let webhook = (!shared.webhooks.is_empty()).then(|| {
        let deps = shared.webhook_deps();
        ChildSpec::actor("webhook", shared.webhook.clone(), move |guard| {
            WebhookActor::new(deps.clone(), guard)
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
fn poll_fn<A, M, E>(scanner: ChildRef<A>, instruments: Arc<Instruments>, ask: fn() -> M) -> PollFn
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: actix::Message<Result = Result<crate::scanner::PollSummary<E>, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    Arc::new(move || {
        let (scanner, instruments) = (scanner.clone(), instruments.clone());
        Box::pin(async move {
            let began = Instant::now();
            let answer = scanner.call(ask()).await;
            if let Ok(Ok(_)) = &answer {
                instruments
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
    store_access_policy(shared)?;
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

/// Tells the database the access policy it applies to notifications
/// (`telegram.registration = "allowlist"`: who is listed), before any
/// child runs, so that no notification reaches a chat the gate refuses.
fn store_access_policy(shared: &Shared) -> Result<(), DbError> {
    let t = &shared.config.telegram;
    let allowlist = (t.registration == crate::config::Registration::Allowlist)
        .then(|| t.allowed.iter().chain(&t.admins).copied().collect());
    crate::db::connection::with_transaction(&shared.db_settings(), true, |tx| {
        crate::db::DbRequest::run(crate::db::access::StorePolicy { allowlist }, tx)
    })
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
    let (instruments, alerts) = (shared.instruments.clone(), shared.alerts.clone());
    actix::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event.kind {
                EventKind::Restarted { reason, .. } => {
                    instruments.actor_restart(event.actor, &reason)
                }
                EventKind::IntensityWarning { recent, max } => alerts.raise(
                    "supervisor:intensity",
                    format!(
                        "Restart intensity near its limit: {recent} restarts of {max} allowed in the window (last: {}).",
                        event.actor
                    ),
                ),
                EventKind::GaveUp { recent, max } => alerts.raise(
                    "supervisor:gave-up",
                    format!("{recent} restarts (limit {max}) in the window: stopping every actor; the process will exit."),
                ),
                _ => {}
            }
        }
    });
}

//! The daemon's supervision tree: which actors exist, how they find each
//! other, and the run loop shared by `usdt-monitor run` and the demo.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::Addr;
use tokio::sync::Notify;

use crate::config::{Config, Secrets};
use crate::db::spam::SpamPolicy;
use crate::db::{DbActor, DbError, DbRef, DbSettings};
use crate::domain::Contracts;
use crate::etherscan::{EtherscanActor, Poll};
use crate::metrics::Metrics;
use crate::supervisor::{
    ChildRef, ChildSpec, EventKind, Exit, Policy, Restart, Shutdown, Supervisor, SupervisorHandle,
};
use crate::telegram::TelegramActor;
use crate::ticker::{PollFn, TickerActor};

/// The children, in start order. Shutdown order is different (see
/// [`SHUTDOWN_ORDER`]).
pub const CHILDREN: [&str; 4] = ["db", "etherscan", "telegram", "ticker"];

/// Stop the ticker first (no new polls), then the scanner (its in-flight
/// poll finishes and is persisted), then the bot (in-flight sends finish;
/// the rest stays queued in the outbox), and the database last, because
/// everyone before it may still be writing.
pub const SHUTDOWN_ORDER: [&str; 4] = ["ticker", "etherscan", "telegram", "db"];

/// What every actor may reach. Cheap to clone; everything inside survives
/// the restart of any single actor.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub secrets: Secrets,
    pub metrics: Arc<Metrics>,
    pub db: DbRef,
    pub etherscan: ChildRef<EtherscanActor>,
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
    /// The active token contracts (registry and `[[monitor.contracts]]`):
    /// every lookup of a token's symbol and decimals by contract goes here.
    pub contracts: Arc<Contracts>,
}

impl Shared {
    /// Fails only on spam settings that `Config::parse` would have refused
    /// (for configurations built in code).
    pub fn new(config: Config, secrets: Secrets) -> Result<Shared, StartError> {
        // A call to a child that is down waits at most this long for its
        // successor: longer than the longest backoff, so a restart in
        // progress is waited for rather than reported as an error.
        let wait = config.supervisor.backoff_max + Duration::from_secs(5);
        let spam = SpamPolicy::from_config(&config.spam)
            .map_err(|e| StartError::Config(format!("[spam]: {e}")))?;
        let contracts = Arc::new(config.contracts());
        Ok(Shared {
            contracts,
            config: Arc::new(config),
            secrets,
            metrics: Arc::new(Metrics::default()),
            db: ChildRef::new("db", wait),
            etherscan: ChildRef::new("etherscan", wait),
            telegram: ChildRef::new("telegram", wait),
            ticker: ChildRef::new("ticker", wait),
            supervisor: Arc::new(OnceLock::new()),
            outbox_ready: Arc::new(Notify::new()),
            paused: Arc::new(AtomicBool::new(false)),
            spam: Arc::new(spam),
        })
    }

    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            path: self.config.database.path.clone(),
            busy_timeout: self.config.database.busy_timeout,
        }
    }
}

/// The child specifications, in start order.
pub fn child_specs(shared: &Shared) -> Vec<ChildSpec> {
    let timeout = shared.config.supervisor.shutdown_timeout;
    let settings = shared.db_settings();
    let db = ChildSpec::sync_pool(
        "db",
        shared.config.database.workers,
        shared.db.clone(),
        move |guard| DbActor::new(settings.clone(), guard),
    );
    let s = shared.clone();
    let etherscan = ChildSpec::actor("etherscan", shared.etherscan.clone(), move |guard| {
        EtherscanActor::new(s.clone(), guard)
    });
    let s = shared.clone();
    let telegram = ChildSpec::actor("telegram", shared.telegram.clone(), move |guard| {
        TelegramActor::new(s.clone(), guard)
    });
    let scanner = shared.etherscan.clone();
    let poll: PollFn = Arc::new(move || {
        let scanner = scanner.clone();
        Box::pin(async move {
            // The scanner logs the details; the ticker only needs to know
            // whether the poll fully succeeded.
            let summary = scanner
                .call(Poll)
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            match summary.errors().next() {
                None => Ok(()),
                Some(first) => Err(format!(
                    "{} error(s), first: {first}",
                    summary.errors().count()
                )),
            }
        })
    });
    let (interval, paused) = (shared.config.monitor.poll_interval, shared.paused.clone());
    let ticker = ChildSpec::actor("ticker", shared.ticker.clone(), move |guard| {
        TickerActor::new(interval, poll.clone(), paused.clone(), guard)
    });
    [db, etherscan, telegram, ticker]
        .into_iter()
        .map(|spec| spec.restart(Restart::Permanent).shutdown_timeout(timeout))
        .collect()
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
}

/// Prepares the database and starts the supervision tree. Must be called
/// inside an actix `System`.
pub fn start(shared: &Shared) -> Result<SupervisorHandle, StartError> {
    // TLS for both HTTP clients: rustls selects no crypto provider itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    crate::db::connection::prepare(&shared.db_settings())?;
    let handle = Supervisor::start(child_specs(shared), policy(&shared.config));
    let _ = shared.supervisor.set(handle.addr.clone());
    forward_alerts(shared, handle.subscribe());
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

/// Turns supervisor events that need a human into admin alerts.
fn forward_alerts(
    shared: &Shared,
    mut events: tokio::sync::broadcast::Receiver<crate::supervisor::Event>,
) {
    let metrics = shared.metrics.clone();
    actix::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event.kind {
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

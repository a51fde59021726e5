//! The database actor: SQLite behind a pool of sync workers.
//!
//! The prior bot leaked a SQLite connection per query to the garbage
//! collector until the process ran out of descriptors. Here every message
//! opens one connection, does its work in one transaction, and closes the
//! connection explicitly ([`connection::close`]) — so the number of open
//! descriptors does not depend on how many messages were handled. The cost
//! (tens of microseconds per open) is paid once per *message*, and messages
//! are coarse: one message records a whole poll's result.
//!
//! A request is any type implementing [`DbRequest`]; wrap it in [`Db`] and
//! send it through the supervisor's [`ChildRef`], or call [`DbRef::exec`].

pub mod access;
pub mod anchor;
pub mod budget;
pub mod chats;
pub mod connection;
pub mod cursors;
pub mod exposition;
pub mod history;
pub mod meta;
pub mod outbox;
pub mod poll_result;
pub mod prune;
pub mod schema;
pub mod settings;
pub mod spam;
pub mod stats;
pub mod subscriptions;
pub mod volume;
pub mod webhooks;

use std::path::PathBuf;
use std::time::Duration;

use actix::{Actor, Handler, Message, SyncContext};
use rusqlite::Transaction;

use crate::metrics::Alerts;
use crate::supervisor::{CallError, ChildGuard, ChildRef, Control, obey};

/// What went wrong with a database request.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the database directory or file {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// `database.path` is a symbolic link: the daemon would change the
    /// mode of (and write) whatever it points to.
    #[error(
        "the database {path} is a symbolic link; refusing to follow it (point database.path at the real file)"
    )]
    Symlink { path: PathBuf },
    /// The file exists but this process may not write it (its mode, its
    /// owner, a read-only mount).
    #[error("the database {path} is not writable: {source}")]
    ReadOnly {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a SQLite database, or SQLite's own check found it
    /// damaged (garbage bytes, a truncated copy).
    #[error(
        "the database {path} is damaged ({detail}); restore it from a backup, or move it away to start with an empty one"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(
        "the database was created by a newer version (schema {found}, this build knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Unavailable(#[from] CallError),
}

/// One unit of work, run inside one transaction on a fresh connection.
pub trait DbRequest: Send + 'static {
    type Output: Send + 'static;
    /// Read-only requests say so and run in a deferred transaction, so that
    /// they do not queue behind writers.
    const WRITES: bool = true;
    /// Bulk growth (recording a poll's transfers): held to
    /// `database.max_size` exactly, while every other write may use a small
    /// reserve above it (see [`connection::RESERVE_PAGES`]), so that
    /// delivery marks, commands and the admin alert still work when the
    /// database is full. Its success ends a "database full" alert.
    const GROWS: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError>;
}

/// The message that carries a [`DbRequest`] to the pool.
pub struct Db<R>(pub R);

impl<R: DbRequest> Message for Db<R> {
    type Result = Result<R::Output, DbError>;
}

/// Where the database lives and how to open it.
#[derive(Debug, Clone)]
pub struct DbSettings {
    pub path: PathBuf,
    pub busy_timeout: Duration,
    /// The most bytes the database may hold (`database.max_size`), enforced
    /// with `PRAGMA max_page_count`; `None`: as much as the disk holds.
    pub max_size: Option<u64>,
}

impl DbError {
    /// The database or the disk is full (`SQLITE_FULL`): the write was
    /// rolled back and can succeed once space returns.
    pub fn is_full(&self) -> bool {
        let e = match self {
            DbError::Sqlite(e) | DbError::Open { source: e, .. } => e,
            _ => return false,
        };
        e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
    }
}

/// The key of the admin alert raised while the database is full.
pub const FULL_ALERT: &str = "database:full";

/// One worker of the database pool.
pub struct DbActor {
    settings: DbSettings,
    /// Where a full database is reported; `None` in tools and tests.
    alerts: Option<std::sync::Arc<Alerts>>,
    /// Shared by the workers; see [`anchor`] for why it exists.
    _anchor: Option<std::sync::Arc<anchor::Anchor>>,
    _guard: ChildGuard,
}

impl DbActor {
    pub fn new(settings: DbSettings, guard: ChildGuard) -> Self {
        let anchor = match anchor::Anchor::shared(&settings) {
            Ok(a) => Some(a),
            Err(e) => {
                // Correct without it, only slower.
                tracing::warn!(actor = "db", error = %e, "cannot open the anchor connection");
                None
            }
        };
        DbActor {
            settings,
            alerts: None,
            _anchor: anchor,
            _guard: guard,
        }
    }

    /// Reports a full database to the admins through `alerts` (once per
    /// incident; it ends when a growing write succeeds again).
    pub fn alerting(mut self, alerts: std::sync::Arc<Alerts>) -> Self {
        self.alerts = Some(alerts);
        self
    }

    fn watch_full<T>(&self, grows: bool, result: &Result<T, DbError>) {
        let Some(alerts) = &self.alerts else { return };
        match result {
            Err(e) if e.is_full() => alerts.raise(
                FULL_ALERT,
                format!(
                    "The database {} is full ({e}). New transfers are not recorded: every poll \
                     scans the same blocks again, so nothing is lost. Free disk space or raise \
                     database.max_size and restart.",
                    self.settings.path.display()
                ),
            ),
            Ok(_) if grows => alerts.resolve(FULL_ALERT),
            _ => {}
        }
    }
}

impl Actor for DbActor {
    type Context = SyncContext<Self>;
}

impl<R: DbRequest> Handler<Db<R>> for DbActor {
    type Result = Result<R::Output, DbError>;

    fn handle(&mut self, Db(request): Db<R>, _: &mut SyncContext<Self>) -> Self::Result {
        let limit = connection::Limit::for_request::<R>();
        let result = connection::with_limited_transaction(&self.settings, R::WRITES, limit, |tx| {
            request.run(tx)
        });
        self.watch_full(R::GROWS, &result);
        result
    }
}

impl Handler<Control> for DbActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut SyncContext<Self>) {
        obey(msg, ctx)
    }
}

/// The database as other actors see it.
pub type DbRef = ChildRef<DbActor>;

impl DbRef {
    /// Runs `request` on the pool, folding "the pool is down" into [`DbError`].
    pub async fn exec<R: DbRequest>(&self, request: R) -> Result<R::Output, DbError> {
        self.call(Db(request)).await?
    }
}

/// Seconds since the Unix epoch, for `created_at` columns.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod settings_tests;
#[cfg(test)]
mod spam_tests;
#[cfg(test)]
mod tests;

//! Opening and — explicitly — closing connections.

use std::path::Path;

use std::sync::Mutex;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction};

use super::{DbError, DbRequest, DbSettings};

/// Opens a connection with the settings every connection needs, each of
/// which lasts only as long as the connection: foreign keys on, a busy
/// timeout instead of instant "database is locked", and `synchronous=NORMAL`
/// (with WAL: a commit survives a crash of the process, and the last
/// commits before a power loss may be rolled back, never corrupted).
///
/// WAL mode (readers never block the writer) is not set here: it is stored
/// in the database file, [`prepare`] sets it once per process, and the
/// pool's anchor connection ([`super::anchor`]) keeps it from being changed
/// while the daemon runs (leaving WAL needs the only connection). Setting it
/// on every open was a statement per message that changed nothing.
pub fn open(settings: &DbSettings) -> Result<Connection, DbError> {
    open_limited(settings, Limit::WithReserve)
}

/// Pages every write but bulk growth may use above `database.max_size`:
/// enough for delivery marks, commands and the admin alert saying that the
/// database is full (1 MiB at SQLite's default 4 KiB page).
pub const RESERVE_PAGES: u64 = 256;

/// How `database.max_size` applies to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Exactly `max_size`: for bulk growth ([`DbRequest::GROWS`]).
    Exact,
    /// `max_size` plus [`RESERVE_PAGES`]: for everything else.
    WithReserve,
}

impl Limit {
    pub fn for_request<R: DbRequest>() -> Limit {
        if R::GROWS {
            Limit::Exact
        } else {
            Limit::WithReserve
        }
    }
}

/// Like [`open`], with `database.max_size` applied as `limit` says.
pub fn open_limited(settings: &DbSettings, limit: Limit) -> Result<Connection, DbError> {
    configure_sqlite();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let conn =
        Connection::open_with_flags(&settings.path, flags).map_err(|source| DbError::Open {
            path: settings.path.clone(),
            source,
        })?;
    let configured = (|| {
        conn.busy_timeout(settings.busy_timeout)?;
        // Through the C API: no statement to parse.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)?;
        // Also the connection's first statement, so it reads the schema.
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        if let Some(bytes) = settings.max_size {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let mut pages = bytes / page.max(512) as u64;
            if limit == Limit::WithReserve {
                pages += RESERVE_PAGES;
            }
            let pages = i64::try_from(pages).unwrap_or(i64::MAX);
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        }
        Ok(())
    })();
    match configured {
        Ok(()) => Ok(conn),
        Err(source) => {
            close(conn);
            Err(DbError::Open {
                path: settings.path.clone(),
                source,
            })
        }
    }
}

/// Closes a connection explicitly. `Connection::close` hands the connection
/// back on failure (a statement still open, say): retry once, then report.
/// Nothing here relies on `Drop`, which would swallow the error.
pub fn close(conn: Connection) {
    match conn.close() {
        Ok(()) => {}
        Err((conn, first)) => match conn.close() {
            Ok(()) => {
                tracing::warn!(error = %first, "database connection closed on the second try")
            }
            Err((conn, second)) => {
                tracing::error!(first = %first, second = %second, "database connection did not close; dropping it");
                drop(conn);
            }
        },
    }
}

static WRITER: Mutex<()> = Mutex::new(());

/// Turns off SQLite's memory statistics, once, before its first use. They
/// put every allocation behind one process-wide mutex; with a connection
/// (and a schema parse) per message, two workers spent most of their time
/// contending for it (measured: two threads slower than one).
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config must run before SQLite initialises; this
        // runs before the first connection opens, and nothing else in the
        // process uses SQLite. If it ran too late it returns SQLITE_MISUSE
        // and changes nothing, which is harmless.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics stay on");
        }
    });
}

/// Opens a connection, runs `work` in one transaction (committed when it
/// returns `Ok`, rolled back otherwise) and closes the connection.
pub fn with_transaction<T>(
    settings: &DbSettings,
    writes: bool,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    with_limited_transaction(settings, writes, Limit::WithReserve, work)
}

/// [`with_transaction`] with `database.max_size` applied as `limit` says.
pub fn with_limited_transaction<T>(
    settings: &DbSettings,
    writes: bool,
    limit: Limit,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let mut conn = open_limited(settings, limit)?;
    // One writer at a time, queued here: two workers racing for SQLite's
    // write lock would otherwise meet in its busy handler, which polls with
    // millisecond sleeps. Readers never wait for this.
    let writer = writes.then(|| WRITER.lock().unwrap_or_else(|e| e.into_inner()));
    let result = (|| {
        // A writer takes the lock up front (IMMEDIATE), so it waits on the
        // busy timeout instead of failing midway on a lock upgrade.
        let behavior = if writes {
            rusqlite::TransactionBehavior::Immediate
        } else {
            rusqlite::TransactionBehavior::Deferred
        };
        let tx = conn.transaction_with_behavior(behavior)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    })();
    drop(writer);
    close(conn);
    result
}

/// Creates the database directory and file if missing (the file mode 0600:
/// it holds who watches which wallet), checks that the file is a sound
/// SQLite database (`PRAGMA quick_check`: it reads every page once, so
/// start-up takes longer on a large database) and brings the schema up to
/// date. Every error names the file: a read-only file is
/// [`DbError::ReadOnly`], garbage or a truncated copy [`DbError::Damaged`].
pub fn prepare(settings: &DbSettings) -> Result<(), DbError> {
    create_private_file(&settings.path)?;
    let result = set_wal(settings).and_then(|()| {
        with_transaction(settings, true, |tx| {
            let verdict: String = tx.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
            if verdict != "ok" {
                return Err(DbError::Corrupt(verdict));
            }
            super::schema::migrate(tx)
        })
    });
    result.map_err(|e| name_the_file(&settings.path, e))
}

/// `PRAGMA journal_mode=WAL`, stored in the file: a database from before WAL
/// (or restored from a copy in another mode) is converted here, once.
fn set_wal(settings: &DbSettings) -> Result<(), DbError> {
    let conn = open(settings)?;
    let mode = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0));
    close(conn);
    let mode = mode?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Correct without it (SQLite falls back, e.g. on a file system
        // without shared memory), only readers then wait for writers.
        tracing::warn!(path = %settings.path.display(), mode, "the database is not in WAL mode");
    }
    Ok(())
}

/// Start-up errors say which file they are about, and a damaged file says
/// so rather than "database error".
fn name_the_file(path: &Path, e: DbError) -> DbError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    let path = path.to_owned();
    match e {
        DbError::Corrupt(detail) => DbError::Damaged { path, detail },
        DbError::Sqlite(source) | DbError::Open { source, .. } => {
            match source.sqlite_error_code() {
                Some(NotADatabase | DatabaseCorrupt) => DbError::Damaged {
                    path,
                    detail: source.to_string(),
                },
                _ => DbError::Open { path, source },
            }
        }
        other => other,
    }
}

/// Creates the file (mode 0600) or makes an existing one 0600, never
/// through a symlink: `O_NOFOLLOW` on the open, `fchmod` on the open file.
fn create_private_file(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let exists = path.symlink_metadata().is_ok();
    let opened = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let not_writable = |source| DbError::ReadOnly {
        path: path.to_owned(),
        source,
    };
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(DbError::Symlink {
                path: path.to_owned(),
            });
        }
        Err(e) if exists => return Err(not_writable(e)),
        Err(e) => {
            return Err(DbError::CreateDir {
                path: path.to_owned(),
                source: e,
            });
        }
    };
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(not_writable)?;
    Ok(())
}

/// `PRAGMA wal_checkpoint(TRUNCATE)` on a fresh connection, queued with the
/// writers. Returns whether it completed (`false`: a reader was in the way).
pub fn checkpoint(settings: &DbSettings) -> Result<bool, DbError> {
    let conn = open(settings)?;
    let writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    drop(writer);
    close(conn);
    Ok(busy? == 0)
}

//! Opening and — explicitly — closing connections.

use std::path::Path;

use std::sync::Mutex;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction};

use super::{DbError, DbSettings};

/// Opens a connection with the pragmas every connection needs: WAL (readers
/// never block the writer), foreign keys on, a busy timeout instead of
/// instant "database is locked", and `synchronous=NORMAL` (durable at every
/// checkpoint; safe with WAL).
pub fn open(settings: &DbSettings) -> Result<Connection, DbError> {
    configure_sqlite();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(&settings.path, flags).map_err(|source| DbError::Open {
            path: settings.path.clone(),
            source,
        })?;
    let configured = (|| {
        conn.busy_timeout(settings.busy_timeout)?;
        // Through the C API: no statement to parse.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
    })();
    match configured {
        Ok(()) => Ok(conn),
        Err(e) => {
            close(conn);
            Err(e.into())
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
    let mut conn = open(settings)?;
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
/// it holds who watches which wallet) and brings the schema up to date.
pub fn prepare(settings: &DbSettings) -> Result<(), DbError> {
    create_private_file(&settings.path)?;
    with_transaction(settings, true, super::schema::migrate)
}

fn create_private_file(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir_err = |source| DbError::CreateDir {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(dir_err)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(dir_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(dir_err)?;
    Ok(())
}

//! Opening and — explicitly — closing connections.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction};

use super::{DbError, DbSettings};

/// Opens a connection with the pragmas every connection needs: WAL (readers
/// never block the writer), foreign keys on, a busy timeout instead of
/// instant "database is locked", and `synchronous=NORMAL` (durable at every
/// checkpoint; safe with WAL).
pub fn open(settings: &DbSettings) -> Result<Connection, DbError> {
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
        // Closing the last connection would checkpoint the WAL and delete
        // it — on every message, since every message closes its connection.
        // Leave checkpoints to SQLite's automatic ones during commits.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
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

/// Opens a connection, runs `work` in one transaction (committed when it
/// returns `Ok`, rolled back otherwise) and closes the connection.
pub fn with_transaction<T>(
    settings: &DbSettings,
    writes: bool,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let mut conn = open(settings)?;
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

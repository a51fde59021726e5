//! `usdt-monitor backup`: a consistent copy of the live database, taken
//! with SQLite's online backup API while the daemon runs, then verified.
//!
//! The copy is made in one backup step, which holds a read transaction on
//! the source: in WAL mode that never blocks the daemon's writers, and the
//! copy is the database as of one instant. It is written to
//! `<OUT>.partial` (a new file: an existing one, or a symlink there, is
//! refused and left alone, never deleted or written through), checked with `PRAGMA integrity_check`, and only then
//! linked to `OUT` (never replacing anything there), so a file at `OUT` is always a complete, verified copy.
//! An existing `OUT` is never overwritten. The copy is created with mode
//! 0600: it holds chat ids and watched addresses.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// Why the backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no database at {0} (database.path): nothing to back up")]
    Missing(PathBuf),
    #[error("{0} already exists: a backup never overwrites a file, choose another name")]
    Exists(PathBuf),
    /// `<OUT>.partial` is there: another backup is running, or one was
    /// interrupted. It is not ours to delete.
    #[error(
        "{0} already exists: another backup to the same name is running or was interrupted; remove it (after checking) and try again"
    )]
    PartialExists(PathBuf),
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying {from} to {to} failed: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the copy {path} failed PRAGMA integrity_check: {problems}")]
    Integrity { path: PathBuf, problems: String },
    #[error("cannot move the verified copy to {path}: {source}")]
    Rename {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// The schema version (`PRAGMA user_version`) of the copy.
    pub schema_version: i64,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Copies the database at `db` to `out` (see the module docs).
/// `busy_timeout` bounds each wait for a lock held by the daemon.
pub fn backup(db: &Path, out: &Path, busy_timeout: Duration) -> Result<BackupReport, BackupError> {
    if !db.is_file() {
        return Err(BackupError::Missing(db.to_owned()));
    }
    if out.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(out.to_owned()));
    }
    let partial = with_suffix(out, ".partial");
    if partial.symlink_metadata().is_ok() {
        return Err(BackupError::PartialExists(partial));
    }
    // From here on the partial file is ours (created here, never through a
    // link), and removed on failure.
    create_private(&partial)?;
    let result = copy_and_verify(db, &partial, busy_timeout);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // A hard link, not a rename: it fails if anything (a file, a dangling
    // symlink) appeared at `out` meanwhile, where a rename would replace it.
    let linked = std::fs::hard_link(&partial, out);
    let _ = std::fs::remove_file(&partial);
    match linked {
        Ok(()) => Ok(report),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::Exists(out.to_owned()))
        }
        Err(source) => Err(BackupError::Rename {
            path: out.to_owned(),
            source,
        }),
    }
}

fn copy_and_verify(
    db: &Path,
    partial: &Path,
    busy_timeout: Duration,
) -> Result<BackupReport, BackupError> {
    let open_err = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Open { path, source }
    };
    // Read-write (WAL readers need the shared-memory file) but never create.
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err(db))?;
    src.busy_timeout(busy_timeout).map_err(open_err(db))?;
    let mut dst = Connection::open_with_flags(
        partial,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )
    .map_err(open_err(partial))?;
    let copy_err = |source| BackupError::Copy {
        from: db.to_owned(),
        to: partial.to_owned(),
        source,
    };
    {
        use rusqlite::backup::{Backup, StepResult};
        let b = Backup::new(&src, &mut dst).map_err(copy_err)?;
        let deadline = Instant::now() + busy_timeout;
        // -1: every page in one step, i.e. one read transaction on the
        // source (a step interrupted by a lock is simply tried again).
        loop {
            match b.step(-1).map_err(copy_err)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    return Err(copy_err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some(format!("the database stayed locked for {busy_timeout:?}")),
                    )));
                }
            }
        }
    }
    let _ = src.close();
    let problems: Vec<String> = {
        let mut stmt = dst
            .prepare("PRAGMA integrity_check")
            .map_err(open_err(partial))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(open_err(partial))?;
        rows.collect::<Result<_, _>>().map_err(open_err(partial))?
    };
    if problems != ["ok"] {
        return Err(BackupError::Integrity {
            path: partial.to_owned(),
            problems: problems.join("; "),
        });
    }
    let schema_version: i64 = dst
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err(partial))?;
    dst.close().map_err(|(_, e)| open_err(partial)(e))?;
    let bytes = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        bytes,
        schema_version,
    })
}

/// A new empty file readable by its owner only (SQLite accepts it as an
/// empty database). `create_new` (`O_EXCL`) fails on anything already
/// there, a symlink included: nothing is written through a link.
fn create_private(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => BackupError::PartialExists(path.to_owned()),
            _ => BackupError::Create {
                path: path.to_owned(),
                source,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database holding one row `x` in table `t`, in a fresh directory;
    /// returns (the directory, the database, the backup's destination).
    fn a_database(x: i64) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("monitor.db");
        Connection::open(&db)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES ({x});"
            ))
            .unwrap();
        let out = dir.path().join("backup.db");
        (dir, db, out)
    }

    /// A symlink at OUT (even one pointing nowhere) is something a rename
    /// would silently replace: the backup refuses it like an existing file.
    #[test]
    fn a_dangling_symlink_at_the_destination_is_not_replaced() {
        let (dir, db, out) = a_database(1);
        std::os::unix::fs::symlink(dir.path().join("elsewhere/target.db"), &out).unwrap();
        let err = backup(&db, &out, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, BackupError::Exists(_)), "{err}");
        assert!(out.symlink_metadata().unwrap().file_type().is_symlink());
        assert!(!with_suffix(&out, ".partial").exists());
    }

    #[test]
    fn a_backup_lands_at_the_destination_without_a_partial_left() {
        let (_dir, db, out) = a_database(7);
        backup(&db, &out, Duration::from_secs(5)).unwrap();
        let x: i64 = Connection::open(&out)
            .unwrap()
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(x, 7);
        assert!(!with_suffix(&out, ".partial").exists());
    }

    /// An existing `<OUT>.partial` (another backup's, or a symlink to
    /// someone's file) used to be deleted silently; now it is refused and
    /// left as it was.
    #[test]
    fn an_existing_partial_is_refused_and_left_alone() {
        let (dir, db, out) = a_database(1);
        let partial = with_suffix(&out, ".partial");
        std::fs::write(&partial, "another backup in progress").unwrap();
        let err = backup(&db, &out, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, BackupError::PartialExists(_)), "{err}");
        assert!(err.to_string().contains("backup.db.partial"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&partial).unwrap(),
            "another backup in progress"
        );
        assert!(out.symlink_metadata().is_err());

        std::fs::remove_file(&partial).unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, &partial).unwrap();
        let err = backup(&db, &out, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, BackupError::PartialExists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(partial.symlink_metadata().unwrap().file_type().is_symlink());
    }
}

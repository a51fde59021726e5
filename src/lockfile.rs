//! One instance per database: `run` holds an exclusive lock on a file next
//! to the database (`<database.path>.lock`) for its whole life.
//!
//! The lock is the kernel's (`File::try_lock`, `flock` on Linux): it is
//! released when the process ends however it ends, so a `kill -9` never
//! leaves a stale lock, and a leftover lock file without a holder means
//! nothing. The holder writes its pid into the file, so that the instance
//! that is refused can say who holds it. The lock file is never opened
//! through a symbolic link (the pid would truncate the link's target): a
//! link there is [`LockError::Symlink`]. `demo` and the tests use their own
//! databases and never meet this lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another usdt-monitor (pid {pid}) is running on this database: {path} is locked; stop it first, or give this instance its own database.path"
    )]
    Held { path: PathBuf, pid: String },
    #[error("cannot create the database directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The lock file cannot be created or written: the database's
    /// directory (or the file) is read-only for this user or mount.
    #[error("the database directory is not writable: cannot create the lock file {path}: {source}")]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The lock file is a symbolic link: following it would truncate and
    /// overwrite whatever it points to.
    #[error(
        "the lock file {path} is a symbolic link; refusing to follow it (remove the link: the lock file is created as a regular file)"
    )]
    Symlink { path: PathBuf },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    path: PathBuf,
    _file: File,
}

impl InstanceLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<db>.lock`: the database's file name with `.lock` appended.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock for the database at `db`, creating its directory if
/// needed, and writes this process's pid into the lock file. Never waits:
/// a lock held by another process is an error naming the file and its pid.
pub fn acquire(db: &Path) -> Result<InstanceLock, LockError> {
    let path = lock_path(db);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| LockError::Dir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let io = |source: std::io::Error| {
        use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
        let path = path.clone();
        if source.raw_os_error() == Some(libc::ELOOP) {
            return LockError::Symlink { path };
        }
        match source.kind() {
            PermissionDenied | ReadOnlyFilesystem => LockError::NotWritable { path, source },
            _ => LockError::Io { path, source },
        }
    };
    let mut file = open(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = text.trim();
            let pid = if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                pid.to_string()
            } else {
                "unknown".to_string()
            };
            return Err(LockError::Held { path, pid });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_data()
    };
    write(&mut file).map_err(io)?;
    Ok(InstanceLock { path, _file: file })
}

/// Opens (or creates, mode 0600) the lock file, never through a symlink
/// (`O_NOFOLLOW`: a link there fails with `ELOOP`).
fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/monitor.db");
        let first = acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("data/monitor.db.lock"));
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        // flock locks belong to the open file description: a second open in
        // this process conflicts like another process would.
        let err = acquire(&db).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("monitor.db.lock"), "{msg}");
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
        drop(first);
        acquire(&db).expect("free again once the holder is gone");
    }

    /// A symlink at `<db>.lock` used to be followed: its target was
    /// truncated and replaced by the pid. Now it is refused, the target intact.
    #[test]
    fn a_symlinked_lock_file_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("monitor.db");
        let victim = dir.path().join("precious.txt");
        std::fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, lock_path(&db)).unwrap();
        let err = acquire(&db).unwrap_err();
        assert!(matches!(err, LockError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}

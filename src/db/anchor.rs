//! The anchor: one idle connection that keeps the WAL index alive.
//!
//! SQLite does real work when the *first* connection to a WAL database
//! opens (it rebuilds the shared WAL index from the log) and when the
//! *last* one closes (it checkpoints the log into the database and deletes
//! it). With a connection per message, every message would be both first
//! and last: measured here, about 10–20 ms per message instead of about
//! 50 µs. So the pool keeps one connection open that never runs a query.
//!
//! It is a fixed cost — three descriptors (the database, its log and the
//! shared index), the same at the first message and the millionth — and it
//! is closed explicitly, like every other connection, when the last worker
//! that shares it is gone.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use rusqlite::Connection;

use super::{DbError, DbSettings, connection};

pub struct Anchor {
    conn: Mutex<Option<Connection>>,
}

/// The live anchors by database path, so that a restarted pool shares its
/// predecessor's anchor instead of opening a second one.
static ANCHORS: Mutex<Vec<(PathBuf, Weak<Anchor>)>> = Mutex::new(Vec::new());

impl Anchor {
    /// The anchor of `settings.path`, opened if none is alive.
    pub fn shared(settings: &DbSettings) -> Result<Arc<Anchor>, DbError> {
        let mut anchors = ANCHORS.lock().unwrap_or_else(|e| e.into_inner());
        anchors.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(anchor) = anchors
            .iter()
            .find(|(path, _)| *path == settings.path)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Ok(anchor);
        }
        let conn = connection::open(settings)?;
        // SQLite opens the file and maps the WAL index at a connection's
        // first read; an anchor that never read would hold nothing.
        if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
            connection::close(conn);
            return Err(e.into());
        }
        let anchor = Arc::new(Anchor {
            conn: Mutex::new(Some(conn)),
        });
        anchors.push((settings.path.clone(), Arc::downgrade(&anchor)));
        Ok(anchor)
    }
}

impl Drop for Anchor {
    fn drop(&mut self) {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(conn) = conn {
            connection::close(conn);
        }
    }
}

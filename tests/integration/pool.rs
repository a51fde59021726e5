//! A DbActor pool under its own supervisor, on a fresh SQLite file: what
//! the database tests start from.

use std::time::Duration;

use usdt_monitor::db::{DbActor, DbRef, DbSettings, connection};
use usdt_monitor::supervisor::{ChildSpec, Policy, Supervisor, SupervisorHandle};

pub fn start(dir: &tempfile::TempDir, workers: usize) -> (DbRef, SupervisorHandle) {
    let settings = DbSettings {
        path: dir.path().join("db/test.db"),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    connection::prepare(&settings).unwrap();
    let db = DbRef::new("db", Duration::from_secs(10));
    let spec = ChildSpec::sync_pool("db", workers, db.clone(), move |guard| {
        DbActor::new(settings.clone(), guard)
    });
    let policy = Policy {
        max_restarts: 5,
        restart_window: Duration::from_secs(60),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        fault_injection: true,
        shutdown_order: None,
    };
    (db, Supervisor::start(vec![spec], policy))
}

//! The DbActor pool under its supervisor, on a real SQLite file.

use std::time::Duration;

use usdt_monitor::db::meta::{GetMeta, SetMeta};
use usdt_monitor::db::{DbActor, DbRef, DbSettings, connection};
use usdt_monitor::supervisor::{
    ChildSpec, EventKind, GetStatus, PanicChild, Policy, Supervisor, SupervisorHandle,
};

pub fn start(dir: &tempfile::TempDir, workers: usize) -> (DbRef, SupervisorHandle) {
    let settings = DbSettings {
        path: dir.path().join("db/test.db"),
        busy_timeout: Duration::from_secs(5),
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

#[actix_rt::test]
async fn a_worker_panic_is_restarted_and_the_database_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sup) = start(&dir, 2);
    let mut events = sup.subscribe();
    db.exec(SetMeta("k", "before".into())).await.unwrap();

    sup.addr
        .send(PanicChild("db".into()))
        .await
        .unwrap()
        .unwrap();
    let restarted = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(e) = events.recv().await {
                if matches!(e.kind, EventKind::Restarted { .. }) {
                    return e;
                }
            }
        }
    })
    .await
    .expect("the pool was restarted");
    assert_eq!(restarted.actor, "db");

    // Data written before the crash is there; new writes work.
    assert_eq!(
        db.exec(GetMeta("k")).await.unwrap().as_deref(),
        Some("before")
    );
    db.exec(SetMeta("k", "after".into())).await.unwrap();
    assert_eq!(
        db.exec(GetMeta("k")).await.unwrap().as_deref(),
        Some("after")
    );
    let status = sup.addr.send(GetStatus).await.unwrap();
    assert_eq!(status.children[0].restarts, 1);
    assert!(
        status.children[0]
            .last_failure
            .as_deref()
            .unwrap()
            .contains("fault injection")
    );
}

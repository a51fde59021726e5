//! The DbActor pool under its supervisor, on a real SQLite file.

use std::time::Duration;

use crate::pool::start;
use usdt_monitor::db::meta::{GetMeta, SetMeta};
use usdt_monitor::supervisor::{EventKind, GetStatus, PanicChild};

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
            if let Ok(e) = events.recv().await
                && matches!(e.kind, EventKind::Restarted { .. })
            {
                return e;
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

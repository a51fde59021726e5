//! Descriptor discipline: the DbActor opens and closes one connection per
//! message, so 100 000 messages leave the process with the descriptors it
//! had. The count runs alone in a child process of the test binary
//! (`crate::alone`), so that no other test's descriptors come and go while
//! it counts.

use crate::pool::start;
use futures_util::stream::{self, StreamExt};
use usdt_monitor::db::meta::{GetMeta, SetMeta};
use usdt_monitor::metrics::open_descriptors;

#[actix_rt::test]
async fn descriptors_stay_flat_over_100_000_messages() {
    if !crate::alone::in_own_process("db_descriptors::descriptors_stay_flat_over_100_000_messages")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, _sup) = start(&dir, 2);
    db.exec(SetMeta("warm-up", "1".into())).await.unwrap();
    let before = open_descriptors().unwrap();

    let done = stream::iter(0..100_000u32)
        .map(|i| {
            let db = db.clone();
            async move {
                if i % 2 == 0 {
                    db.exec(SetMeta("counter", i.to_string())).await.map(|_| ())
                } else {
                    db.exec(GetMeta("counter")).await.map(|_| ())
                }
            }
        })
        .buffer_unordered(32)
        .filter(|r| std::future::ready(r.is_ok()))
        .count()
        .await;
    assert_eq!(done, 100_000, "every message was handled");

    let after = open_descriptors().unwrap();
    assert!(
        after.abs_diff(before) <= 2,
        "open descriptors went from {before} to {after} over 100 000 messages"
    );
}

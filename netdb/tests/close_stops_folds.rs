//! Goal: `NetDb::close` stops the fold of every model (tasks, memories and custom): each
//! reports `Closed`, refuses appends, ends its change streams; closing again is fine, and a
//! closed database can still be snapshotted.

mod common;

use common::{all_models, wait_all, write_all, KvState, KV};
use cortex::{CortexError, FoldStatus};
use futures::StreamExt;
use netdb::NetDb;
use redex::Redex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_stops_every_fold_and_is_idempotent() {
    let redex = Redex::new();
    let db = NetDb::open(&redex, all_models()).unwrap();
    let last = write_all(&db, 0..50);
    wait_all(&db, last).await;

    let kv = db.custom::<KvState>(KV).unwrap();
    let mut kv_changes = kv.changes(|s: &KvState| s.writes);
    assert_eq!(kv_changes.next().await, Some(50));
    let mut tasks_watch = db.tasks().watch().stream();
    assert!(tasks_watch.next().await.is_some());

    db.close().await.unwrap();
    db.close().await.unwrap();

    assert_eq!(db.tasks().progress().status, FoldStatus::Closed);
    assert_eq!(db.memories().progress().status, FoldStatus::Closed);
    assert_eq!(kv.progress().status, FoldStatus::Closed);

    assert!(matches!(db.tasks().create(999, "late", 1), Err(CortexError::Closed { .. })));
    assert!(matches!(db.memories().pin(1, 1), Err(CortexError::Closed { .. })));
    assert!(matches!(kv.append(common::KV_PUT, 1, b""), Err(CortexError::Closed { .. })));

    // Streams end once their fold is closed.
    while tasks_watch.next().await.is_some() {}
    while kv_changes.next().await.is_some() {}

    // Waiting on a seq nobody will fold returns instead of hanging.
    assert!(db.tasks().wait_for_seq(last.0 + 10).await.is_err());

    // The states stay readable, and snapshot like any others.
    let bundle = db.snapshot().unwrap();
    assert_eq!(bundle.model(KV).unwrap().last_seq, Some(last.2));
}

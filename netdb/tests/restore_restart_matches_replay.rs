//! Goal: on a persistent database whose logs rolled into frozen segments, restoring from a
//! snapshot, writing more and restarting again gives every model the same state as a fresh
//! replay of its whole log, and each restart from a snapshot folds only the events after it.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

mod common;

use std::path::Path;

use common::{all_models_persistent, states, wait_all, write_all, KvState, KV};
use netdb::{NetDb, NetDbSnapshot};
use redex::Redex;

fn redex(dir: &Path) -> Redex {
    Redex::with_persistent_dir(dir).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_write_restart_equals_fresh_replay() {
    let dir = tempfile::tempdir().unwrap();

    // First life: write, snapshot, write a tail, close.
    let first_bundle = {
        let db = NetDb::open(&redex(dir.path()), all_models_persistent()).unwrap();
        let last = write_all(&db, 0..400);
        wait_all(&db, last).await;
        let bundle = db.snapshot().unwrap().encode();
        let last = write_all(&db, 400..600);
        wait_all(&db, last).await;
        db.close().await.unwrap();
        bundle
    };

    // Second life: restore, fold the tail, write more, snapshot again, close.
    let (second_bundle, last) = {
        let bundle = NetDbSnapshot::decode(&first_bundle).unwrap();
        let db = NetDb::open_from_snapshot(&redex(dir.path()), &bundle, all_models_persistent())
            .unwrap();
        let kv = db.custom::<KvState>(KV).unwrap();
        kv.wait_for_seq(599).await.unwrap();
        // `writes` counts applied events: 400 came with the snapshot, the tail added 200; had
        // the restore folded the log from its start, it would read 1000.
        assert_eq!(kv.state().read().writes, 600, "only the tail after the snapshot is folded");
        let last = write_all(&db, 600..900);
        wait_all(&db, last).await;
        let bundle = db.snapshot().unwrap().encode();
        let last = write_all(&db, 900..1000);
        wait_all(&db, last).await;
        db.close().await.unwrap();
        (bundle, last)
    };

    // A fresh replay of every log from its first event.
    let replayed = {
        let db = NetDb::open(&redex(dir.path()), all_models_persistent()).unwrap();
        wait_all(&db, last).await;
        let s = states(&db);
        db.close().await.unwrap();
        s
    };
    assert_eq!(replayed.2.writes, 1000, "the kv model folded every write once");

    // Third life, from the second snapshot: the same states as the replay.
    let bundle = NetDbSnapshot::decode(&second_bundle).unwrap();
    let db =
        NetDb::open_from_snapshot(&redex(dir.path()), &bundle, all_models_persistent()).unwrap();
    wait_all(&db, last).await;
    assert_eq!(states(&db), replayed);
    // And from the first snapshot: still the same (a longer tail).
    db.close().await.unwrap();
    drop(db); // releases the directory lock
    let bundle = NetDbSnapshot::decode(&first_bundle).unwrap();
    let db =
        NetDb::open_from_snapshot(&redex(dir.path()), &bundle, all_models_persistent()).unwrap();
    wait_all(&db, last).await;
    assert_eq!(states(&db), replayed);
    assert_eq!(db.custom::<KvState>(KV).unwrap().state().read().writes, 1000);
    db.close().await.unwrap();
}

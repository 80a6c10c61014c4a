//! Goal: a whole-database snapshot, encoded and decoded, restores every model to a state
//! identical to the one snapshotted, each resuming after its own last seq, and the restored
//! database folds new writes like the original.

mod common;

use common::{all_models, states, wait_all, write_all, KvState, KV};
use netdb::{ModelKind, NetDb, NetDbSnapshot};
use redex::Redex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_gives_identical_state_for_every_model() {
    let redex = Redex::new();
    let db = NetDb::open(&redex, all_models()).unwrap();
    let last = write_all(&db, 0..500);
    wait_all(&db, last).await;
    let before = states(&db);

    let bundle = db.snapshot().unwrap();
    let names: Vec<(&str, ModelKind)> =
        bundle.models().iter().map(|m| (m.name.as_str(), m.kind)).collect();
    assert_eq!(
        names,
        [
            ("cortex/memories", ModelKind::Memories),
            ("cortex/tasks", ModelKind::Tasks),
            (KV, ModelKind::Custom)
        ]
    );
    assert_eq!(bundle.model("cortex/tasks").unwrap().last_seq, Some(last.0));
    assert_eq!(bundle.model("cortex/memories").unwrap().last_seq, Some(last.1));
    assert_eq!(bundle.model(KV).unwrap().last_seq, Some(last.2));

    let bytes = bundle.encode();
    let decoded = NetDbSnapshot::decode(&bytes).unwrap();
    assert_eq!(decoded, bundle);
    assert_eq!(decoded.encode(), bytes, "encoding is deterministic");

    // Restore beside the original, while its heap-only logs are open (a heap-only log that
    // is closed is gone, and a restore onto it would be refused as ahead of its log).
    let restored = NetDb::open_from_snapshot(&redex, &decoded, all_models()).unwrap();
    // Nothing after the snapshot: each restored fold starts exactly after its last seq.
    assert_eq!(restored.tasks().progress().next_seq, last.0 + 1);
    assert_eq!(restored.memories().progress().next_seq, last.1 + 1);
    assert_eq!(restored.custom::<KvState>(KV).unwrap().progress().next_seq, last.2 + 1);
    assert_eq!(states(&restored), before);

    // Restored indexes answer like the original's.
    {
        let t = restored.tasks().state().read();
        for status in cortex::tasks::TaskStatus::ALL {
            let f = cortex::tasks::TasksFilter { status: Some(status), ..Default::default() };
            assert_eq!(t.find_many(&f), before.0.find_many(&f));
        }
        let m = restored.memories().state().read();
        for tag in ["even", "odd", "all", "retagged"] {
            let f =
                cortex::memories::MemoriesFilter { tag: Some(tag.into()), ..Default::default() };
            assert_eq!(m.find_many(&f), before.1.find_many(&f));
        }
    }

    // Writes through the original reach the restored database's folds too (same logs).
    let last = write_all(&db, 500..600);
    wait_all(&db, last).await;
    wait_all(&restored, last).await;
    assert_eq!(states(&restored), states(&db));

    db.close().await.unwrap();
    restored.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_database_round_trips() {
    let redex = Redex::new();
    let db = NetDb::open(&redex, all_models()).unwrap();
    let bundle = db.snapshot().unwrap();
    assert!(bundle.models().iter().all(|m| m.last_seq.is_none()));
    let decoded = NetDbSnapshot::decode(&bundle.encode()).unwrap();
    let restored = NetDb::open_from_snapshot(&redex, &decoded, all_models()).unwrap();
    assert!(restored.tasks().state().read().is_empty());
    assert!(restored.custom::<KvState>(KV).unwrap().state().read().entries.is_empty());
    db.close().await.unwrap();
    restored.close().await.unwrap();

    // A database with no models at all is a valid, empty bundle.
    let none = NetDb::open(&redex, netdb::NetDbConfig::default()).unwrap();
    let bundle = none.snapshot().unwrap();
    assert!(bundle.models().is_empty());
    assert_eq!(NetDbSnapshot::decode(&bundle.encode()).unwrap(), bundle);
}

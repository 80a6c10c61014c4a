//! Goal: a NetDb built with tasks, memories and a custom model serves CRUD through each model,
//! `find_many` (and the other filter-struct queries) return what the writes imply, and the
//! accessors report models that are not enabled, or asked for with the wrong state type.

mod common;

use common::{kv_delete, kv_put, KvFold, KvState, KV};
use cortex::memories::MemoriesFilter;
use cortex::tasks::{TaskStatus, TasksFilter};
use cortex::OrderBy;
use netdb::{NetDb, NetDbError};
use redex::Redex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_through_every_model() {
    let redex = Redex::new();
    let db = NetDb::builder(&redex)
        .origin(42)
        .with_tasks()
        .with_memories()
        .with_custom(KV, KvFold)
        .build()
        .unwrap();
    assert_eq!(db.model_names(), ["cortex/tasks", "cortex/memories", KV]);
    assert_eq!(db.origin_hash(), 42);

    // Tasks: create, rename, complete, reopen, delete.
    let tasks = db.tasks();
    for id in 1..=6 {
        tasks.create(id, &format!("task {id}"), 100 + id).unwrap();
    }
    tasks.rename(2, "second task", 200).unwrap();
    tasks.complete(1, 201).unwrap();
    tasks.complete(3, 202).unwrap();
    tasks.complete(4, 203).unwrap();
    tasks.reopen(4, 204).unwrap();
    let seq = tasks.delete(6, 205).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    {
        let state = tasks.state().read();
        assert_eq!(state.find_unique(2).unwrap().title, "second task");
        assert!(state.find_unique(6).is_none());
        let done = TasksFilter { status: Some(TaskStatus::Completed), ..Default::default() };
        let ids: Vec<u64> = state.find_many(&done).iter().map(|t| t.id).collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(state.count_where(&done), 2);
        let pending_newest_first = TasksFilter {
            status: Some(TaskStatus::Pending),
            order_by: Some(OrderBy::CreatedDesc),
            limit: Some(2),
            ..Default::default()
        };
        let ids: Vec<u64> = state.find_many(&pending_newest_first).iter().map(|t| t.id).collect();
        assert_eq!(ids, [5, 4]);
        let fluent: Vec<u64> = state
            .query()
            .where_status(TaskStatus::Pending)
            .order_by(OrderBy::CreatedDesc)
            .limit(2)
            .collect()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(fluent, ids);
        let titled = TasksFilter { title_contains: Some("second".into()), ..Default::default() };
        assert!(state.exists_where(&titled));
    }

    // Memories: store, retag, pin, unpin, delete.
    let memories = db.memories();
    memories.store(1, "postcard is compact", &["format", "rust"], "notes", 10).unwrap();
    memories.store(2, "fsync every 100", &["durability"], "notes", 11).unwrap();
    memories.store(3, "bundles are checksummed", &["format"], "review", 12).unwrap();
    memories.store(4, "to be deleted", &["format"], "notes", 13).unwrap();
    memories.retag(2, &["durability", "format"], 14).unwrap();
    memories.pin(3, 15).unwrap();
    memories.pin(1, 16).unwrap();
    memories.unpin(1, 17).unwrap();
    let seq = memories.delete(4, 18).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    {
        let state = memories.state().read();
        let format = MemoriesFilter { tag: Some("format".into()), ..Default::default() };
        let ids: Vec<u64> = state.find_many(&format).iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let pinned = MemoriesFilter { pinned: Some(true), ..Default::default() };
        let ids: Vec<u64> = state.find_many(&pinned).iter().map(|m| m.id).collect();
        assert_eq!(ids, [3]);
        let from_notes = MemoriesFilter { source: Some("notes".into()), ..Default::default() };
        assert_eq!(state.count_where(&from_notes), 2);
        assert!(state.find_unique(4).is_none());
        assert_eq!(state.query().where_tag("format").count(), 3);
    }

    // The custom model: put, overwrite, delete.
    let kv = db.custom::<KvState>(KV).unwrap();
    kv_put(kv, 1, "one", 1);
    kv_put(kv, 2, "two", 2);
    kv_put(kv, 1, "uno", 3);
    let seq = kv_delete(kv, 2, 4);
    kv.wait_for_seq(seq).await.unwrap();
    {
        let state = kv.state().read();
        assert_eq!(state.entries.len(), 1);
        assert_eq!(state.entries[&1], "uno");
        assert_eq!(state.writes, 4);
    }

    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accessors_report_what_is_not_there() {
    let redex = Redex::new();
    let db = NetDb::builder(&redex).with_custom(KV, KvFold).build().unwrap();
    assert!(db.try_tasks().is_none());
    assert!(db.try_memories().is_none());
    assert!(matches!(
        db.custom::<KvState>("nope"),
        Err(NetDbError::ModelNotEnabled { name }) if name == "nope"
    ));
    assert!(matches!(
        db.custom::<u64>(KV),
        Err(NetDbError::ModelTypeMismatch { name, .. }) if name == KV
    ));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.tasks();
    }));
    assert!(panicked.is_err(), "tasks() panics when the model is not enabled");
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_refuses_bad_model_names() {
    let redex = Redex::new();
    let err = NetDb::builder(&redex).with_custom("../escape", KvFold).build().unwrap_err();
    assert!(matches!(err, NetDbError::InvalidModelName { ref name, .. } if name == "../escape"));
    let err =
        NetDb::builder(&redex).with_custom(KV, KvFold).with_custom(KV, KvFold).build().unwrap_err();
    assert!(matches!(err, NetDbError::DuplicateModel { ref name } if name == KV));
    // A custom model may not take a built-in model's channel.
    let err = NetDb::builder(&redex)
        .with_tasks()
        .with_custom("cortex/tasks", KvFold)
        .build()
        .unwrap_err();
    assert!(matches!(err, NetDbError::DuplicateModel { .. }));
    // Enabling a built-in model twice is the same as once.
    let db = NetDb::builder(&redex).with_tasks().with_tasks().build().unwrap();
    assert_eq!(db.model_names(), ["cortex/tasks"]);
    db.close().await.unwrap();
}

//! Goal: `wait_for_seq` folding inline (on the waiter's thread) and the fold task never apply an
//! event twice or skip one, whoever gets there first, with several waiters and writers racing
//! the task; and an index-backed result handed out earlier keeps the row version it saw while
//! every index serves the new one.

use std::sync::Arc;

use cortex::memories::{MemoriesAdapter, MemoriesFilter};
use cortex::tasks::{TaskStatus, TasksAdapter, TasksFilter};
use cortex::{CortexAdapter, CortexConfig, OrderBy};
use redex::{ChannelName, Redex};

#[path = "common/audit.rs"]
mod audit;
use audit::Audit;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_fold_and_task_apply_each_event_once() {
    let redex = Redex::new();
    let name = ChannelName::new("inline/audit").unwrap();
    let config = CortexConfig::default().with_fold_batch_events(8);
    let adapter = Arc::new(CortexAdapter::open(&redex, &name, 7, Audit, config).unwrap());
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let adapter = Arc::clone(&adapter);
        writers.push(tokio::spawn(async move {
            for i in 0..500u64 {
                let seq = adapter.append(1, i, b"").unwrap();
                // Wait after some appends only, so gaps of several events (and gaps larger
                // than the batch) are folded inline as well as by the task.
                if (i + w) % 3 == 0 || i % 40 == 0 {
                    adapter.wait_for_seq(seq).await.unwrap();
                    assert!(adapter.state().read().seqs.contains(&seq));
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let last = adapter.file().next_seq() - 1;
    adapter.wait_for_seq(last).await.unwrap();
    {
        let state = adapter.state().read();
        assert_eq!(state.sum, 2000);
        assert_eq!(state.seqs, (0..2000).collect::<Vec<_>>());
    }
    adapter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_after_write_sees_every_own_write() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    for id in 1..=300u64 {
        let seq = tasks.create(id, "t", id).unwrap();
        tasks.wait_for_seq(seq).await.unwrap();
        assert_eq!(tasks.state().read().len() as u64, id);
        if id % 2 == 0 {
            let seq = tasks.complete(id, id + 1).unwrap();
            tasks.wait_for_seq(seq).await.unwrap();
            let state = tasks.state().read();
            assert_eq!(state.find_unique(id).unwrap().status, TaskStatus::Completed);
        }
    }
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn earlier_results_keep_their_version_and_indexes_serve_the_new_one() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    tasks.create(1, "first", 10).unwrap();
    let seq = tasks.create(2, "second", 20).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let pending = TasksFilter { status: Some(TaskStatus::Pending), ..Default::default() };
    let before = tasks.state().read().find_many(&pending);
    tasks.rename(1, "renamed", 30).unwrap();
    let seq = tasks.complete(2, 40).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    assert_eq!(before[0].title, "first");
    assert_eq!(before[1].status, TaskStatus::Pending);
    {
        let state = tasks.state().read();
        let ids = |v: Vec<cortex::tasks::Task>| {
            v.iter().map(|t| (t.id, t.title.to_string(), t.status)).collect::<Vec<_>>()
        };
        let renamed = (1, "renamed".to_string(), TaskStatus::Pending);
        let done = (2, "second".to_string(), TaskStatus::Completed);
        assert_eq!(ids(state.find_many(&pending)), vec![renamed.clone()]);
        let completed = TasksFilter { status: Some(TaskStatus::Completed), ..Default::default() };
        assert_eq!(ids(state.find_many(&completed)), vec![done.clone()]);
        let by_created = TasksFilter { order_by: Some(OrderBy::CreatedDesc), ..Default::default() };
        assert_eq!(ids(state.find_many(&by_created)), vec![done.clone(), renamed.clone()]);
        assert_eq!(ids(state.iter().cloned().collect()), vec![renamed.clone(), done]);
        assert_eq!(state.find_unique(1).unwrap().title, "renamed");
    }
    tasks.close().await.unwrap();

    let memories = MemoriesAdapter::open(&redex, 1).unwrap();
    memories.store(1, "c", &["a", "b"], "s", 10).unwrap();
    let seq = memories.store(2, "d", &["a"], "s", 11).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    let tag_a = MemoriesFilter { tag: Some("a".into()), ..Default::default() };
    let before = memories.state().read().find_many(&tag_a);
    memories.retag(1, &["b", "c"], 20).unwrap();
    let seq = memories.pin(2, 21).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    assert_eq!(before[0].tags, ["a", "b"]);
    assert!(!before[1].pinned);
    {
        let state = memories.state().read();
        let tag = |t: &str| MemoriesFilter { tag: Some(t.into()), ..Default::default() };
        let ids = |f: &MemoriesFilter| state.find_many(f).iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(&tag("a")), [2]);
        assert_eq!(ids(&tag("b")), [1]);
        assert_eq!(ids(&tag("c")), [1]);
        let pinned = MemoriesFilter { pinned: Some(true), ..Default::default() };
        assert_eq!(ids(&pinned), [2]);
        assert!(state.find_many(&tag("a"))[0].pinned);
        assert_eq!(state.find_many(&tag("c"))[0].tags, ["b", "c"]);
        assert_eq!(state.count_where(&tag("a")), 1);
    }
    memories.close().await.unwrap();
}

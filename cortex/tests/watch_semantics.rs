//! Goal: watch streams emit the current result at once, emit again only when the filtered
//! result changes, give a slow consumer the latest result instead of a backlog, cost nothing
//! once dropped, and end after the adapter closes.

use cortex::memories::MemoriesAdapter;
use cortex::tasks::{Task, TaskStatus, TasksAdapter};
use cortex::OrderBy;
use futures::{FutureExt, StreamExt};
use redex::Redex;

fn ids(rows: &[Task]) -> Vec<u64> {
    rows.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn initial_emission_is_the_current_result() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    tasks.create(2, "b", 1).unwrap();
    let seq = tasks.create(1, "a", 2).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let mut stream = tasks.watch().stream();
    // Default order is id ascending.
    let first = stream.next().now_or_never().flatten().unwrap();
    assert_eq!(ids(&first), vec![1, 2]);
    // An explicit order is honoured.
    let mut by_created = tasks.watch().order_by(OrderBy::CreatedAsc).stream();
    assert_eq!(ids(&by_created.next().await.unwrap()), vec![2, 1]);
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn unchanged_results_are_not_emitted_again() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    let seq = tasks.create(1, "a", 1).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let mut done = tasks.watch().where_status(TaskStatus::Completed).stream();
    assert!(done.next().await.unwrap().is_empty());

    // Changes outside the filter wake the stream but emit nothing.
    let seq = tasks.rename(1, "renamed", 2).unwrap();
    tasks.create(2, "b", 3).unwrap();
    tasks.wait_for_seq(seq + 1).await.unwrap();
    assert!(done.next().now_or_never().is_none(), "no emission for an unchanged result");

    let seq = tasks.complete(2, 4).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let now_done = done.next().await.unwrap();
    assert_eq!(ids(&now_done), vec![2]);
    assert_eq!(now_done[0].status, TaskStatus::Completed);
    assert!(done.next().now_or_never().is_none());
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn lagging_consumer_gets_latest_not_backlog() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    let mut all = tasks.watch().stream();
    assert!(all.next().await.unwrap().is_empty());
    let mut last = 0;
    for id in 0..500 {
        last = tasks.create(id, "t", id).unwrap();
        if id % 50 == 0 {
            // Let the fold run (and signal) many times while the consumer does not poll.
            tasks.wait_for_seq(last).await.unwrap();
        }
    }
    tasks.wait_for_seq(last).await.unwrap();
    let latest = all.next().await.unwrap();
    assert_eq!(latest.len(), 500, "the one pending emission is the final state");
    assert!(all.next().now_or_never().is_none(), "no backlog of intermediate results");
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn dropping_a_stream_releases_it() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    let base = tasks.adapter().active_watchers();
    let a = tasks.watch().stream();
    let b = tasks.watch().where_status(TaskStatus::Pending).stream();
    assert_eq!(tasks.adapter().active_watchers(), base + 2);
    drop(a);
    assert_eq!(tasks.adapter().active_watchers(), base + 1);
    drop(b);
    assert_eq!(tasks.adapter().active_watchers(), base);
    // Writes go on with no watcher left.
    let seq = tasks.create(1, "a", 1).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn stream_ends_after_close_with_final_state() {
    let redex = Redex::new();
    let memories = MemoriesAdapter::open(&redex, 1).unwrap();
    let mut tagged = memories.watch().where_tag("x").stream();
    assert!(tagged.next().await.unwrap().is_empty());
    let seq = memories.store(1, "c", &["x"], "s", 1).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    memories.close().await.unwrap();
    let last = tagged.next().await.unwrap();
    assert_eq!(last.len(), 1);
    assert!(tagged.next().await.is_none());
}

#[tokio::test]
async fn memories_watch_filters_like_queries() {
    let redex = Redex::new();
    let memories = MemoriesAdapter::open(&redex, 1).unwrap();
    let mut pinned_work = memories.watch().where_tag("work").where_pinned(true).stream();
    assert!(pinned_work.next().await.unwrap().is_empty());
    memories.store(1, "a", &["work"], "s", 1).unwrap();
    memories.store(2, "b", &["home"], "s", 2).unwrap();
    memories.pin(2, 3).unwrap();
    let seq = memories.pin(1, 4).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    let got = pinned_work.next().await.unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1]);
    let seq = memories.retag(1, &["home"], 5).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    assert!(pinned_work.next().await.unwrap().is_empty());
    memories.close().await.unwrap();
}

#[tokio::test]
async fn memories_watch_filters_on_update_time() {
    let redex = Redex::new();
    let memories = MemoriesAdapter::open(&redex, 1).unwrap();
    let mut recent = memories.watch().updated_after(10).updated_before(20).stream();
    assert!(recent.next().await.unwrap().is_empty());
    memories.store(1, "a", &["x"], "s", 5).unwrap();
    memories.store(2, "b", &["x"], "s", 12).unwrap();
    let seq = memories.pin(1, 15).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    let got = recent.next().await.unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2]);
    let seq = memories.unpin(2, 25).unwrap();
    memories.wait_for_seq(seq).await.unwrap();
    let got = recent.next().await.unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1]);
    memories.close().await.unwrap();
}

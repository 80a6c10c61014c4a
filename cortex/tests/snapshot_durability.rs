//! Goal: a snapshot never describes events a machine crash could still lose. Taking one makes
//! every event it covers durable (an fsync of a persistent log whose policy had not synced
//! them yet), so an old snapshot restored after a crash is either behind the log or refused as
//! ahead of it, never matched against a log whose lost seqs were reused by other events.
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use cortex::tasks::TasksAdapter;
use cortex::CortexConfig;
use redex::{ChannelName, FsyncPolicy, Redex, RedexFileConfig};

fn fsyncs(tasks: &TasksAdapter) -> u64 {
    tasks.adapter().file().stats().fsyncs.count
}

#[tokio::test(flavor = "current_thread")]
async fn a_snapshot_syncs_the_events_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let file =
        RedexFileConfig::default().with_persistent(true).with_fsync_policy(FsyncPolicy::Never);
    let config = CortexConfig::default().with_file_config(file);
    let name = ChannelName::new("tasks").unwrap();
    let tasks = TasksAdapter::open_with(&redex, &name, 1, config).unwrap();
    for id in 0..10 {
        tasks.create(id, "t", id).unwrap();
    }
    tasks.wait_for_seq(9).await.unwrap();
    let before = fsyncs(&tasks);

    let (_, last_seq) = tasks.snapshot().unwrap();
    assert_eq!(last_seq, Some(9));
    assert!(fsyncs(&tasks) > before, "the snapshot's events were fsynced before it returned");

    tasks.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_heap_only_snapshot_needs_no_fsync() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    tasks.create(1, "t", 1).unwrap();
    tasks.wait_for_seq(0).await.unwrap();
    tasks.snapshot().unwrap();
    assert_eq!(fsyncs(&tasks), 0);
    tasks.close().await.unwrap();
    // After close the snapshot still answers (the log was synced by close).
    assert_eq!(tasks.snapshot().unwrap().1, Some(0));
}

//! Goal: restarting on a persistent log whose history rolled into frozen segments yields the
//! same state with and without a snapshot, the same state as a heap-only log of the same events,
//! and a snapshot restore folds only the events after the snapshot.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use std::path::Path;

use cortex::memories::{MemoriesAdapter, MemoriesState};
use cortex::tasks::{TasksAdapter, TasksState};
use cortex::{CortexAdapter, CortexConfig, FoldError, FoldEvent, RedexFold, SnapshotState};
use redex::{ChannelName, Redex, RedexFileConfig};
use serde::{Deserialize, Serialize};

const EVENTS: u64 = 1500;

fn persistent() -> CortexConfig {
    CortexConfig::default().with_file_config(
        RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096),
    )
}

fn tasks_name() -> ChannelName {
    ChannelName::new("restart/tasks").unwrap()
}

/// A deterministic workload touching every task event kind. Returns the last seq.
fn write_tasks(tasks: &TasksAdapter, range: std::ops::Range<u64>) -> u64 {
    let mut last = 0;
    for i in range {
        let id = i % 400;
        last = match i % 7 {
            0..=2 => tasks.create(id, &format!("task {i} with a longer title"), i),
            3 => tasks.complete(id, i),
            4 => tasks.rename(id, &format!("renamed {i}"), i),
            5 => tasks.reopen(id / 2, i),
            _ => tasks.delete(id / 3, i),
        }
        .unwrap();
    }
    last
}

fn segment_logs(dir: &Path) -> usize {
    fn walk(p: &Path, n: &mut usize) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, n);
            } else if path.extension().is_some_and(|x| x == "log") {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_restart_with_and_without_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (snap, snap_seq, final_state) = {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let tasks = TasksAdapter::open_with(&redex, &tasks_name(), 3, persistent()).unwrap();
        let mid = write_tasks(&tasks, 0..EVENTS / 2);
        tasks.wait_for_seq(mid).await.unwrap();
        let (snap, snap_seq) = tasks.snapshot().unwrap();
        assert_eq!(snap_seq, Some(mid));
        let last = write_tasks(&tasks, EVENTS / 2..EVENTS);
        tasks.wait_for_seq(last).await.unwrap();
        let state = tasks.state().read().clone();
        tasks.close().await.unwrap();
        (snap, snap_seq, state)
    };
    assert!(segment_logs(dir.path()) > 3, "history rolled into several segments");

    // The same events in a heap-only log fold to the same state.
    let heap = Redex::new();
    let tasks = TasksAdapter::open(&heap, 3).unwrap();
    let last = write_tasks(&tasks, 0..EVENTS);
    tasks.wait_for_seq(last).await.unwrap();
    assert_eq!(*tasks.state().read(), final_state);
    tasks.close().await.unwrap();

    // Restart without a snapshot: the whole log, frozen segments included, is folded again.
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let tasks = TasksAdapter::open_with(&redex, &tasks_name(), 3, persistent()).unwrap();
        tasks.wait_for_seq(EVENTS - 1).await.unwrap();
        assert_eq!(*tasks.state().read(), final_state);
        tasks.close().await.unwrap();
    }
    // Restart from the snapshot: only the second half is folded, to the same state, and the
    // indexes rebuilt from the snapshot answer queries like the ones the fold maintained.
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let tasks = TasksAdapter::open_from_snapshot_with(
            &redex,
            &tasks_name(),
            3,
            persistent(),
            &snap,
            snap_seq,
        )
        .unwrap();
        tasks.wait_for_seq(EVENTS - 1).await.unwrap();
        {
            let state = tasks.state().read();
            assert_eq!(*state, final_state);
            for status in cortex::tasks::TaskStatus::ALL {
                let f = cortex::tasks::TasksFilter { status: Some(status), ..Default::default() };
                assert_eq!(state.find_many(&f), final_state.find_many(&f));
                assert_eq!(state.count_where(&f), final_state.count_where(&f));
            }
        }
        tasks.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_restart_with_and_without_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let name = ChannelName::new("restart/memories").unwrap();
    let tags = [["a", "b"], ["b", "c"], ["c", "a"]];
    let write = |m: &MemoriesAdapter, range: std::ops::Range<u64>| {
        let mut last = 0;
        for i in range {
            let id = i % 300;
            let t = &tags[(i % 3) as usize];
            last = match i % 5 {
                0 | 1 => m.store(id, &format!("memory {i}"), t, "src", i),
                2 => m.retag(id, &t[..1], i),
                3 => m.pin(id, i),
                _ => m.delete(id / 2, i),
            }
            .unwrap();
        }
        last
    };
    let (snap, snap_seq, final_state): (Vec<u8>, Option<u64>, MemoriesState) = {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let m = MemoriesAdapter::open_with(&redex, &name, 4, persistent()).unwrap();
        let mid = write(&m, 0..EVENTS / 2);
        m.wait_for_seq(mid).await.unwrap();
        let (snap, seq) = m.snapshot().unwrap();
        let last = write(&m, EVENTS / 2..EVENTS);
        m.wait_for_seq(last).await.unwrap();
        let state = m.state().read().clone();
        m.close().await.unwrap();
        (snap, seq, state)
    };
    for from_snapshot in [false, true] {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let m = if from_snapshot {
            MemoriesAdapter::open_from_snapshot_with(
                &redex,
                &name,
                4,
                persistent(),
                &snap,
                snap_seq,
            )
        } else {
            MemoriesAdapter::open_with(&redex, &name, 4, persistent())
        }
        .unwrap();
        m.wait_for_seq(EVENTS - 1).await.unwrap();
        {
            let state = m.state().read();
            assert_eq!(*state, final_state, "from_snapshot = {from_snapshot}");
            let mut tags: Vec<_> = state.tag_counts().collect();
            let mut want: Vec<_> = final_state.tag_counts().collect();
            tags.sort_unstable();
            want.sort_unstable();
            assert_eq!(tags, want);
        }
        m.close().await.unwrap();
    }
}

/// Counts how many events it applied, so a test can see that a restore skips old events.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Applied {
    events: u64,
    sum: u64,
}

impl SnapshotState for Applied {
    const MODEL: &'static str = "test.applied";
    const MODEL_VERSION: u32 = 1;
}

struct CountFold;

impl RedexFold<Applied> for CountFold {
    fn apply(&self, state: &mut Applied, event: &FoldEvent) -> Result<(), FoldError> {
        state.events += 1;
        state.sum += event.meta.seq_or_ts;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_restore_does_not_refold_earlier_events() {
    let dir = tempfile::tempdir().unwrap();
    let name = ChannelName::new("restart/count").unwrap();
    let (snap, seq) = {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let a = CortexAdapter::open(&redex, &name, 1, CountFold, persistent()).unwrap();
        let mut last = 0;
        for i in 0..1000 {
            last = a.append(1, i, &[0u8; 16]).unwrap();
        }
        a.wait_for_seq(last).await.unwrap();
        let snap = a.snapshot().unwrap();
        for i in 1000..1200 {
            a.append(1, i, &[0u8; 16]).unwrap();
        }
        a.close().await.unwrap();
        snap
    };
    assert_eq!(seq, Some(999));
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let a =
        CortexAdapter::open_from_snapshot(&redex, &name, 1, CountFold, persistent(), &snap, seq)
            .unwrap();
    a.wait_for_seq(1199).await.unwrap();
    // Each event was applied exactly once across the two processes.
    assert_eq!(*a.state().read(), Applied { events: 1200, sum: (0..1200).sum() });
    a.close().await.unwrap();
}

#[tokio::test]
async fn empty_log_snapshot_has_no_seq() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    let (bytes, seq) = tasks.snapshot().unwrap();
    assert_eq!(seq, None);
    tasks.close().await.unwrap();
    let restored = TasksAdapter::open_from_snapshot(&redex, 1, &bytes, None).unwrap();
    assert_eq!(*restored.state().read(), TasksState::new());
    restored.close().await.unwrap();
}

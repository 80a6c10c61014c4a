//! Goal: restoring a state whose `last_seq` the log does not hold is refused
//! (`CortexError::SnapshotAheadOfLog`), as NetDB refuses such a bundle. The fold would resume at
//! `last_seq + 1` while the log hands the seqs below it to new events: each of them would be
//! skipped, while `wait_for_seq` on its seq answered `Ok` at once. The typical case is a
//! heap-only log (gone with the process, or closed) restored from a snapshot, or a persistent
//! log replaced or cut back behind the snapshot.
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use cortex::tasks::TasksAdapter;
use cortex::{CortexAdapter, CortexConfig, CortexError, FoldError, FoldEvent, RedexFold};
use redex::{ChannelName, Redex};

struct Count;

impl RedexFold<u64> for Count {
    fn apply(&self, state: &mut u64, _event: &FoldEvent) -> Result<(), FoldError> {
        *state += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_snapshot_ahead_of_its_log_is_refused() {
    let first = Redex::new();
    let tasks = TasksAdapter::open(&first, 1).unwrap();
    for id in 0..10 {
        tasks.create(id, "t", id).unwrap();
    }
    tasks.wait_for_seq(9).await.unwrap();
    let (bytes, last_seq) = tasks.snapshot().unwrap();
    assert_eq!(last_seq, Some(9));
    tasks.close().await.unwrap();

    // The heap-only log died with its Redex; the new one is empty.
    let second = Redex::new();
    match TasksAdapter::open_from_snapshot(&second, 1, &bytes, last_seq) {
        Err(CortexError::SnapshotAheadOfLog { channel, last_seq: 9, next_seq: 0 }) => {
            assert_eq!(channel, "cortex/tasks");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(restored) => {
            // What the refusal prevents: a write acknowledged by wait_for_seq, never folded.
            let seq = restored.create(100, "new", 100).unwrap();
            restored.wait_for_seq(seq).await.unwrap();
            let found = restored.state().read().find_unique(100).is_some();
            panic!("restored ahead of the log; the next write folded: {found}");
        }
    }

    // The same for a state handed over directly, at the log's next seq exactly.
    let name = ChannelName::new("counts").unwrap();
    let file = second.open_file(&name, CortexConfig::default().file_config().clone()).unwrap();
    file.append(b"not folded, only counted").unwrap();
    let ahead = CortexAdapter::open_with_state(
        &second,
        &name,
        1,
        Count,
        CortexConfig::default(),
        5,
        Some(1),
    );
    assert!(matches!(ahead, Err(CortexError::SnapshotAheadOfLog { last_seq: 1, next_seq: 1, .. })));
    // A state the log does hold restores as before.
    let held = CortexAdapter::open_with_state(
        &second,
        &name,
        1,
        Count,
        CortexConfig::default(),
        5,
        Some(0),
    )
    .unwrap();
    assert_eq!(held.progress().next_seq, 1);
    held.close().await.unwrap();
}

/// A refused restore leaves the manager as it found it: a log it opened only to refuse the
/// snapshot is closed again, so the caller's fallback (a fresh open, here with another fsync
/// policy) is not refused with "already open with a different configuration"; a log that was
/// open before (another handle's) stays open.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_restore_leaves_no_log_open() {
    let dir = tempfile::tempdir().unwrap();
    let name = ChannelName::new("cortex/tasks").unwrap();
    let config = |fsync| {
        let file = redex::RedexFileConfig::default().with_persistent(true).with_fsync_policy(fsync);
        CortexConfig::default().with_file_config(file)
    };
    let (bytes, last_seq) = {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let tasks =
            TasksAdapter::open_with(&redex, &name, 1, config(redex::FsyncPolicy::EveryN(4)))
                .unwrap();
        for id in 0..10 {
            tasks.create(id, "t", id).unwrap();
        }
        tasks.wait_for_seq(9).await.unwrap();
        let (bytes, _) = tasks.snapshot().unwrap();
        tasks.close().await.unwrap();
        (bytes, Some(100))
    };

    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let refused = TasksAdapter::open_from_snapshot_with(
        &redex,
        &name,
        1,
        config(redex::FsyncPolicy::EveryN(4)),
        &bytes,
        last_seq,
    );
    assert!(matches!(refused, Err(CortexError::SnapshotAheadOfLog { next_seq: 10, .. })));
    assert!(redex.stats().is_empty(), "the refused restore left its log open");
    let fallback = TasksAdapter::open_with(&redex, &name, 1, config(redex::FsyncPolicy::Never));
    let fallback = fallback.unwrap();
    fallback.wait_for_seq(9).await.unwrap();
    assert_eq!(fallback.state().read().len(), 10);

    // Refused while another handle has the log open: that handle's log stays open.
    let refused = TasksAdapter::open_from_snapshot_with(
        &redex,
        &name,
        1,
        config(redex::FsyncPolicy::Never),
        &bytes,
        last_seq,
    );
    assert!(matches!(refused, Err(CortexError::SnapshotAheadOfLog { .. })));
    let seq = fallback.create(10, "still open", 10).unwrap();
    fallback.wait_for_seq(seq).await.unwrap();
    fallback.close().await.unwrap();
}

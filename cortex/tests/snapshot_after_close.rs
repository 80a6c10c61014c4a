//! Goal: the fold's progress always counts exactly the events its state holds, even when the
//! adapter closes while events are being applied, so a snapshot taken after `close` claims
//! every event of its state and a restore from it applies none of them twice.
//!
//! The interleavings are made deterministic from inside the fold: one fold closes the adapter
//! itself, in the middle of an inline fold (`wait_for_seq` folding on its own thread), the
//! other blocks the fold task mid-chunk until `close` is known to be waiting for it.
#![allow(clippy::unwrap_used, reason = "tests fail on any error")]

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use cortex::{
    CortexAdapter, CortexConfig, FoldError, FoldEvent, FoldStatus, RedexFold, SnapshotState,
};
use redex::{ChannelName, Redex, RedexFileConfig};

/// Counts applied events: a replayed event shows as a count above the log's length.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Count {
    applied: u64,
}

impl SnapshotState for Count {
    const MODEL: &'static str = "test.count";
    const MODEL_VERSION: u32 = 1;
}

/// Run once, by the fold, as it reaches a given seq (before applying it).
type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// Counts events; runs its hook when it reaches `at`.
struct CountWithHook {
    at: u64,
    hook: Hook,
}

impl RedexFold<Count> for CountWithHook {
    fn apply(&self, state: &mut Count, event: &FoldEvent) -> Result<(), FoldError> {
        if event.seq == self.at {
            let hook = self.hook.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
        state.applied += 1;
        Ok(())
    }
}

fn counter(at: u64) -> (CountWithHook, Hook) {
    let hook: Hook = Arc::default();
    (CountWithHook { at, hook: Arc::clone(&hook) }, hook)
}

fn name() -> ChannelName {
    ChannelName::new("close/count").unwrap()
}

fn persistent() -> CortexConfig {
    CortexConfig::default().with_file_config(RedexFileConfig::default().with_persistent(true))
}

/// Restarts on `dir` from `(bytes, last_seq)` and returns the count once every event of the
/// log is folded (`events` of them).
async fn restored_count(
    dir: &std::path::Path,
    bytes: &[u8],
    last_seq: Option<u64>,
    events: u64,
) -> u64 {
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let (fold, _) = counter(u64::MAX);
    let adapter =
        CortexAdapter::open_from_snapshot(&redex, &name(), 7, fold, persistent(), bytes, last_seq)
            .unwrap();
    assert_eq!(adapter.file().next_seq(), events);
    adapter.wait_for_seq(events - 1).await.unwrap();
    let applied = adapter.state().read().applied;
    adapter.close().await.unwrap();
    applied
}

/// `close` lands in the middle of an inline fold: the waiter folds seqs 0..=3 on its own
/// thread, and the fold closes the adapter as it reaches seq 2 (the fold task, on a
/// current-thread runtime nobody drives until then, sees the stop before it reads anything).
/// Every event the waiter applies, before and after the close, must be in the progress.
#[test]
fn close_during_an_inline_fold_keeps_progress_and_state_together() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap());
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let (fold, hook) = counter(2);
    let adapter = {
        let _rt = rt.enter();
        Arc::new(CortexAdapter::open(&redex, &name(), 7, fold, persistent()).unwrap())
    };
    for i in 0..4 {
        assert_eq!(adapter.append(1, i, b"").unwrap(), i);
    }
    *hook.lock().unwrap() = Some(Box::new({
        let adapter = Arc::clone(&adapter);
        let rt = Arc::clone(&rt);
        move || rt.block_on(adapter.close()).unwrap()
    }));

    // Not on the runtime: the fold's close drives it with `block_on` from inside the fold.
    let waited = futures::executor::block_on(adapter.wait_for_seq(3));
    assert!(hook.lock().unwrap().is_none(), "the fold closed the adapter");
    assert_eq!(adapter.progress().status, FoldStatus::Closed);
    assert_eq!(adapter.state().read().applied, 4, "the waiter applied all four events");

    let (bytes, last_seq) = adapter.snapshot().unwrap();
    assert_eq!(last_seq, Some(3), "the snapshot claims every event its state holds");
    assert_eq!(adapter.progress().next_seq, 4);
    // The event waited for is in the state, so the wait succeeded, close or not.
    waited.unwrap();
    drop(adapter);
    drop(redex);

    let applied = rt.block_on(restored_count(dir.path(), &bytes, last_seq, 4));
    assert_eq!(applied, 4, "the restore applied no event twice");
}

/// `close` while the fold task is in the middle of a chunk: `close` waits for the chunk, which
/// is then fully in the progress, and the task stops before the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_during_a_task_chunk_keeps_progress_and_state_together() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let (fold, hook) = counter(2);
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    *hook.lock().unwrap() = Some(Box::new(move || {
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    }));
    let adapter = CortexAdapter::open(&redex, &name(), 7, fold, persistent()).unwrap();
    // One atomic batch, so the task reads it as one chunk.
    let batch: Vec<_> = (0..6).map(|i| cortex::EventMeta::encode(1, 0, 7, i, b"")).collect();
    adapter.append_encoded_batch(&batch).unwrap();
    tokio::time::timeout(Duration::from_secs(20), entered_rx).await.unwrap().unwrap();

    // The fold task is blocked in the fold at seq 2, holding the state's write lock.
    let mut close = Box::pin(adapter.close());
    assert!(futures::poll!(close.as_mut()).is_pending(), "close waits for the task");
    release_tx.send(()).unwrap();
    close.await.unwrap();

    assert_eq!(adapter.progress().status, FoldStatus::Closed);
    let applied = adapter.state().read().applied;
    let (bytes, last_seq) = adapter.snapshot().unwrap();
    assert_eq!(last_seq.map_or(0, |s| s + 1), applied, "the snapshot claims what its state holds");
    assert!(applied >= 3, "the chunk under way was finished: {applied}");
    drop(adapter);
    drop(redex);

    assert_eq!(restored_count(dir.path(), &bytes, last_seq, 6).await, 6);
}

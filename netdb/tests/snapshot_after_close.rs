//! Goal: a whole-database snapshot claims, for every model, exactly the events its state holds:
//! after the database closed in the middle of a custom model's inline fold (the restore then
//! applies none of them twice), and never for a custom state a panicking fold may have left
//! half-updated (refused, as a built-in model's is).
#![allow(clippy::unwrap_used, reason = "tests fail on any error")]

use std::path::Path;
use std::sync::{Arc, Mutex};

use cortex::{CortexError, FoldError, FoldEvent, FoldStatus, RedexFold};
use netdb::{NetDb, NetDbConfig, NetDbError, NetDbSnapshot};
use redex::Redex;
use serde::{Deserialize, Serialize};

const COUNT: &str = "test/count";
/// Dispatch byte the fold panics on, after changing the state.
const BOOM: u8 = 0xee;

/// Counts applied events: a replayed event shows as a count above the log's length.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Count {
    applied: u64,
}

/// Run once, by the fold, as it reaches a given seq (before applying it).
type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

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
        if event.meta.dispatch == BOOM {
            panic!("cannot take seq {}", event.seq);
        }
        Ok(())
    }
}

/// Another counting model, closed after [`COUNT`].
const OTHER: &str = "test/other";

/// Two custom models: [`COUNT`] (hook at `at`) first, so `NetDb::close` closes it first, then
/// [`OTHER`].
fn db_config(at: u64) -> (NetDbConfig, Hook) {
    let hook: Hook = Arc::default();
    let fold = CountWithHook { at, hook: Arc::clone(&hook) };
    let other = CountWithHook { at: u64::MAX, hook: Arc::default() };
    let config = NetDbConfig::default()
        .origin(7)
        .persistent(true)
        .with_custom(COUNT, fold)
        .with_custom(OTHER, other);
    (config, hook)
}

/// Restarts on `dir` from `bundle`; returns each model's count once all `events` of its log
/// are folded.
async fn restored_counts(dir: &Path, bundle: &NetDbSnapshot, events: u64) -> (u64, u64) {
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let db = NetDb::open_from_snapshot(&redex, bundle, db_config(u64::MAX).0).unwrap();
    let mut counts = [0; 2];
    for (name, count) in [COUNT, OTHER].into_iter().zip(&mut counts) {
        let model = db.custom::<Count>(name).unwrap();
        assert_eq!(model.file().next_seq(), events);
        model.wait_for_seq(events - 1).await.unwrap();
        *count = model.state().read().applied;
    }
    db.close().await.unwrap();
    (counts[0], counts[1])
}

/// The database closes from inside [`COUNT`]'s fold, while a waiter folds its seqs 0..=3
/// inline on its own thread. The fold tasks run on a current-thread runtime that only the close
/// drives, and `COUNT` is the first model closed, so its own task sees its stop before it
/// reads anything (polled earlier, it would block on the state lock the waiter holds, on this
/// very thread). Every event the waiter applied must be in the model's `last_seq`.
#[test]
fn close_during_an_inline_fold_keeps_each_model_snapshot_whole() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap());
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let (config, hook) = db_config(2);
    let db = {
        let _rt = rt.enter();
        Arc::new(NetDb::open(&redex, config).unwrap())
    };
    let count = db.custom::<Count>(COUNT).unwrap();
    let other = db.custom::<Count>(OTHER).unwrap();
    for i in 0..4 {
        assert_eq!(count.append(1, i, b"").unwrap(), i);
        other.append(1, i, b"").unwrap();
    }
    *hook.lock().unwrap() = Some(Box::new({
        let db = Arc::clone(&db);
        let rt = Arc::clone(&rt);
        move || rt.block_on(db.close()).unwrap()
    }));

    let waited = futures::executor::block_on(count.wait_for_seq(3));
    assert!(hook.lock().unwrap().is_none(), "the fold closed the database");
    assert_eq!(count.progress().status, FoldStatus::Closed);
    assert_eq!(other.progress().status, FoldStatus::Closed);
    assert_eq!(count.state().read().applied, 4);

    let bundle = db.snapshot().unwrap();
    assert_eq!(bundle.model(COUNT).unwrap().last_seq, Some(3), "claims what its state holds");
    // However far the other model's task got before its close, it claims just that.
    let other_applied = other.state().read().applied;
    let other_claims = bundle.model(OTHER).unwrap().last_seq.map_or(0, |s| s + 1);
    assert_eq!(other_claims, other_applied);
    // The event waited for is in the state, so the wait succeeded, close or not.
    waited.unwrap();
    let bundle = NetDbSnapshot::decode(&bundle.encode()).unwrap();
    drop(db);
    drop(redex);

    let restored = rt.block_on(restored_counts(dir.path(), &bundle, 4));
    assert_eq!(restored, (4, 4), "no event applied twice, none missed");
}

/// A custom fold that panicked may have left its state half-updated (here it did: the count
/// includes the event it panicked on), which no `last_seq` describes: the whole-database
/// snapshot is refused, as it is for a built-in model, instead of checkpointing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_state_left_by_a_panicking_fold_is_not_snapshotted() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let db = NetDb::open(&redex, db_config(u64::MAX).0).unwrap();
    let count = db.custom::<Count>(COUNT).unwrap();
    count.append(1, 0, b"").unwrap();
    let bad = count.append(BOOM, 0, b"").unwrap();
    let err = count.wait_for_seq(bad).await.unwrap_err();
    assert!(matches!(err, CortexError::FoldHalted { seq, .. } if seq == bad), "{err}");
    assert_eq!(count.state().read().applied, 2, "the panicking event is half in the state");
    assert_eq!(count.progress().applied_seq(), Some(bad - 1));

    let err = db.snapshot().expect_err("a poisoned custom state is not snapshotted");
    assert!(
        matches!(err, NetDbError::Cortex(CortexError::FoldHalted { seq, .. }) if seq == bad),
        "{err}"
    );
    db.close().await.unwrap();
    assert!(db.snapshot().is_err(), "nor after close");
}

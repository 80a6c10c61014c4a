//! Goal: a fold that panics halts the adapter like a fold that returns an error under `Stop`,
//! whatever the policy and whichever thread was folding (the fold task, or a `wait_for_seq`
//! folding inline): waiters get `FoldHalted` instead of hanging, appends are refused, change
//! streams end, a snapshot of the possibly half-updated state is refused, and `close` works.

use std::sync::Arc;
use std::time::Duration;

use cortex::{
    CortexAdapter, CortexConfig, CortexError, FoldError, FoldErrorPolicy, FoldEvent, FoldStatus,
    RedexFold, SnapshotState,
};
use futures::StreamExt;
use redex::{ChannelName, Redex};

/// Dispatch byte the fold panics on, after changing the state (as a buggy fold would).
const BOOM: u8 = 0xee;
const OK: u8 = 1;

/// Generous: the point is that nothing waits forever, not how fast it fails.
const LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Count {
    applied: u64,
}

impl SnapshotState for Count {
    const MODEL: &'static str = "test.count";
    const MODEL_VERSION: u32 = 1;
}

struct Fragile;

impl RedexFold<Count> for Fragile {
    fn apply(&self, state: &mut Count, event: &FoldEvent) -> Result<(), FoldError> {
        state.applied += 1;
        if event.meta.dispatch == BOOM {
            panic!("fragile fold cannot take seq {}", event.seq);
        }
        Ok(())
    }
}

fn open(redex: &Redex, policy: FoldErrorPolicy) -> CortexAdapter<Count> {
    let name = ChannelName::new("panic/count").expect("valid name");
    let config = CortexConfig::default().with_error_policy(policy);
    CortexAdapter::open(redex, &name, 7, Fragile, config).expect("open")
}

/// Checks that `adapter` halted at `bad` because the fold panicked, and answers like a halted
/// adapter from then on. `applied`: the count the state ended with.
async fn assert_halted_by_panic(adapter: &CortexAdapter<Count>, bad: u64, applied: u64) {
    let FoldStatus::Halted { seq, reason } = adapter.progress().status else {
        panic!("expected a halt, got {:?}", adapter.progress());
    };
    assert_eq!(seq, bad);
    assert!(reason.contains("panicked") && reason.contains(&format!("seq {bad}")), "{reason}");
    assert!(reason.contains("fragile fold cannot take"), "the panic message is kept: {reason}");
    assert_eq!(adapter.progress().next_seq, bad);

    let err = tokio::time::timeout(LIMIT, adapter.wait_for_seq(bad)).await.expect("no hang");
    assert!(matches!(&err, Err(CortexError::FoldHalted { seq, .. }) if *seq == bad), "{err:?}");
    let err = tokio::time::timeout(LIMIT, adapter.wait_for_seq(bad + 10)).await.expect("no hang");
    assert!(matches!(err, Err(CortexError::FoldHalted { .. })), "{err:?}");
    // Everything before the panicking event was applied and can still be waited for.
    adapter.wait_for_seq(bad - 1).await.expect("below the halt");

    let err = adapter.append(OK, 0, b"").expect_err("appends are refused");
    assert!(matches!(&err, CortexError::FoldHalted { seq, .. } if *seq == bad), "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    let batch = [cortex::EventMeta::encode(OK, 0, 7, 0, b"")];
    assert!(matches!(adapter.append_encoded_batch(&batch), Err(CortexError::FoldHalted { .. })));

    // The panic may have left the state half-updated (here it did: `applied` counts the
    // panicking event), so it must not be checkpointed as "everything below `bad`".
    assert_eq!(adapter.state().read().applied, applied);
    let err = adapter.snapshot().expect_err("a poisoned state is not snapshotted");
    assert!(matches!(err, CortexError::FoldHalted { .. }), "{err}");

    // A stream opened after the halt emits the final value and ends.
    let values = tokio::time::timeout(LIMIT, adapter.changes(|s| s.applied).collect::<Vec<_>>())
        .await
        .expect("stream ends");
    assert_eq!(values, vec![applied]);
}

#[tokio::test]
async fn panic_in_the_fold_task_halts_waiters_streams_and_appends() {
    let redex = Redex::new();
    let adapter = Arc::new(open(&redex, FoldErrorPolicy::Stop));
    let stream = adapter.changes(|s| s.applied);
    // A waiter parked before the events exist, so the fold task (not the waiter) folds them.
    let waiter = tokio::spawn({
        let adapter = Arc::clone(&adapter);
        async move { adapter.wait_for_seq(3).await }
    });
    tokio::task::yield_now().await;

    adapter.append(OK, 0, b"").unwrap();
    adapter.append(OK, 0, b"").unwrap();
    let bad = adapter.append(BOOM, 0, b"").unwrap();
    adapter.append(OK, 0, b"").unwrap();

    let waited = tokio::time::timeout(LIMIT, waiter).await.expect("the waiter must not hang");
    let err = waited.expect("the waiter must not panic").unwrap_err();
    assert!(matches!(&err, CortexError::FoldHalted { seq, .. } if *seq == bad), "{err}");
    // The stream opened before the panic ends too, its last value the state the fold left.
    let values = tokio::time::timeout(LIMIT, stream.collect::<Vec<_>>()).await.expect("ends");
    assert_eq!(values.last(), Some(&(bad + 1)));

    assert_halted_by_panic(&adapter, bad, bad + 1).await;
    adapter.close().await.unwrap();
    adapter.close().await.unwrap();
    // Closing keeps the first reason the fold stopped for, as after any halt.
    assert!(adapter.file().is_closed());
    assert!(matches!(adapter.progress().status, FoldStatus::Halted { .. }));
}

#[tokio::test]
async fn panic_while_a_waiter_folds_inline_halts_instead_of_unwinding_into_it() {
    let redex = Redex::new();
    let adapter = open(&redex, FoldErrorPolicy::Stop);
    adapter.append(OK, 0, b"").unwrap();
    let bad = adapter.append(BOOM, 0, b"").unwrap();
    // On this single-threaded runtime the fold task has not run yet: the waiter folds both
    // events itself, on its own thread, before its first await.
    let err = adapter.wait_for_seq(bad).await.unwrap_err();
    assert!(matches!(&err, CortexError::FoldHalted { seq, .. } if *seq == bad), "{err}");
    assert_halted_by_panic(&adapter, bad, bad + 1).await;
    // The fold task, which runs now, applies nothing more.
    tokio::task::yield_now().await;
    assert_eq!(adapter.state().read().applied, bad + 1);
    adapter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_halts_even_under_log_and_continue() {
    let redex = Redex::new();
    let adapter = open(&redex, FoldErrorPolicy::LogAndContinue);
    // An ordinary fold error is still skipped and counted...
    adapter.file().append(b"no envelope").unwrap();
    let ok = adapter.append(OK, 0, b"").unwrap();
    adapter.wait_for_seq(ok).await.unwrap();
    assert_eq!(adapter.fold_errors(), 1);
    // ...but a panic is not an event to skip: the state may be half-updated.
    let bad = adapter.append(BOOM, 0, b"").unwrap();
    adapter.append(OK, 0, b"").unwrap();
    let err = tokio::time::timeout(LIMIT, adapter.wait_for_seq(bad + 1)).await.expect("no hang");
    assert!(matches!(&err, Err(CortexError::FoldHalted { seq, .. }) if *seq == bad), "{err:?}");
    assert_eq!(adapter.fold_errors(), 1);
    // `applied` counted the panicking event but not the junk one, which failed before apply.
    assert_halted_by_panic(&adapter, bad, bad).await;
    adapter.close().await.unwrap();
}

//! Goal: `close()` is cancel-safe. A daemon bounds its shutdown with
//! `tokio::time::timeout(limit, adapter.close())`; when the timeout drops the close future
//! while it waits for the fold task, the adapter must still be closed: appends refused,
//! waits answered (not hung), change streams ended and the log closed, exactly as after a
//! close that completed. Before the fix the task stopped (it had been notified) but nothing
//! set the status, so the adapter claimed `Running`, took appends that nothing folded, and a
//! wait for one of them more than a batch away hung for good.
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use std::time::Duration;

use cortex::tasks::TasksAdapter;
use cortex::{CortexError, FoldStatus};
use futures::StreamExt;
use redex::Redex;

/// Polls `adapter.close()` once, which on a current-thread runtime stops at awaiting the fold
/// task (the task cannot run while this one is polled), then drops it, as a timeout would.
async fn cancel_close(tasks: &TasksAdapter) {
    let mut close = Box::pin(tasks.close());
    assert!(futures::poll!(&mut close).is_pending(), "close waits for the fold task");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_close_still_closes_the_adapter() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 7).unwrap();
    let seq = tasks.create(1, "one", 10).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let mut watch = tasks.watch().stream();
    assert_eq!(watch.next().await.map(|rows| rows.len()), Some(1));

    cancel_close(&tasks).await;
    // Let the fold task see its stop and end.
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }

    assert_eq!(tasks.progress().status, FoldStatus::Closed);
    assert!(tasks.adapter().file().is_closed(), "the log is closed too");
    assert!(matches!(tasks.create(2, "two", 20), Err(CortexError::Closed { .. })));
    // A guard against the hang this test is about; not a timing assertion.
    let far = tokio::time::timeout(Duration::from_secs(30), tasks.wait_for_seq(seq + 1000))
        .await
        .expect("wait_for_seq hung after a cancelled close");
    assert!(matches!(far, Err(CortexError::Closed { .. })), "{far:?}");
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while watch.next().await.is_some() {}
    });
    ended.await.expect("the change stream did not end after a cancelled close");

    // What was folded stays readable, and closing again is fine.
    assert_eq!(tasks.state().read().len(), 1);
    tasks.close().await.unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
}

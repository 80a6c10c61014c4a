//! Goal: a change stream that ended (its adapter closed, its fold halted) answers `None` to
//! every later poll and says it is terminated (`FusedStream`), as its docs promise, instead of
//! panicking. A daemon's event loop polls its streams again after they end: each turn of
//! `loop { tokio::select! { Some(rows) = watch.next() => .., _ = shutdown.recv() => break } }`
//! polls the stream anew. Before the fix the second poll after the end panicked inside
//! `futures::stream::unfold` ("Unfold must not be polled after it returned `Poll::Ready(None)`").
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use cortex::tasks::TasksAdapter;
use futures::stream::FusedStream;
use futures::StreamExt;
use redex::Redex;

#[tokio::test(flavor = "current_thread")]
async fn an_ended_stream_keeps_answering_none() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).unwrap();
    let seq = tasks.create(1, "one", 1).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    let mut watch = tasks.watch().stream();
    let (_, mut after) = tasks.snapshot_and_watch(tasks.watch());
    let mut derived = tasks.adapter().changes(|s| s.len());
    assert!(!watch.is_terminated());
    assert_eq!(watch.next().await.map(|rows| rows.len()), Some(1));
    tasks.close().await.unwrap();

    while watch.next().await.is_some() {}
    while after.next().await.is_some() {}
    while derived.next().await.is_some() {}
    for _ in 0..3 {
        assert!(watch.next().await.is_none());
        assert!(after.next().await.is_none());
        assert!(derived.next().await.is_none());
    }
    assert!(watch.is_terminated() && after.is_terminated() && derived.is_terminated());

    // The daemon's loop: every turn polls the stream again, ended or not.
    let mut watch = tasks.watch().stream();
    let (shutdown, mut stop) = tokio::sync::mpsc::channel::<()>(1);
    let mut turns = 0;
    loop {
        turns += 1;
        if turns == 4 {
            shutdown.send(()).await.unwrap();
        }
        tokio::select! {
            biased;
            _ = stop.recv() => break,
            rows = watch.next() => assert!(rows.is_none() || turns == 1),
        }
    }
    assert_eq!(turns, 4);
}

//! Goal: a model opened without a snapshot folds whatever its log retains, even when retention
//! moves the head before the fold's first read. Such an adapter starts at the head with an
//! empty state: events evicted before it applied anything are events it would never have seen
//! had it opened a moment later, not a gap in its state. Before the fix its first read met
//! `Evicted` and the fold halted under the default `Stop` policy: a daemon opening a model on a
//! full log with an event-count limit (`Retention::events`) and writing at once found the model
//! halted at startup. A fold that already applied events still halts when events it had not
//! seen are evicted (documented), and a restored state still does.
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use cortex::tasks::TasksAdapter;
use cortex::{CortexConfig, CortexError, FoldStatus};
use redex::{ChannelName, Redex, RedexFileConfig, Retention};

fn config() -> CortexConfig {
    let file = RedexFileConfig::default().with_retention(Retention::events(10));
    CortexConfig::default().with_file_config(file)
}

fn ids(tasks: &TasksAdapter) -> Vec<u64> {
    tasks.state().read().iter().map(|t| t.id).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_fresh_open_follows_a_moving_head() {
    let redex = Redex::new();
    let name = ChannelName::new("retained/tasks").unwrap();

    // On a current-thread runtime the fold task first runs at the first await: every write
    // below lands before its first read, and retention keeps only the last 10 (seqs 20..30).
    let first = TasksAdapter::open_with(&redex, &name, 1, config()).unwrap();
    for id in 0..30 {
        first.create(id, "t", id).unwrap();
    }
    first.wait_for_seq(29).await.unwrap();
    assert_eq!(ids(&first), (20..30).collect::<Vec<_>>());

    // Opened on the full log (head 20), then one write moves the head to 21 before the fold
    // reads seq 20.
    let second = TasksAdapter::open_with(&redex, &name, 1, config()).unwrap();
    let seq = second.create(100, "new", 100).unwrap();
    second.wait_for_seq(seq).await.unwrap();
    let mut want: Vec<u64> = (21..30).collect();
    want.push(100);
    assert_eq!(ids(&second), want);
    assert_eq!(second.progress().status, FoldStatus::Running);
    assert_eq!(second.adapter().fold_errors(), 0, "nothing was skipped");

    // A fold that has applied events still halts on events evicted before it saw them: here
    // its tail lags (a 4-event buffer) and the events it missed are gone when it rereads.
    let redex = Redex::new();
    let lagging = config().with_file_config(
        RedexFileConfig::default().with_retention(Retention::events(10)).with_tail_buffer_events(4),
    );
    let third = TasksAdapter::open_with(&redex, &name, 1, lagging).unwrap();
    let seq = third.create(0, "t", 0).unwrap();
    third.wait_for_seq(seq).await.unwrap();
    for id in 1..30 {
        third.create(id, "t", id).unwrap();
    }
    let halted = third.wait_for_seq(29).await;
    assert!(matches!(halted, Err(CortexError::FoldHalted { seq: 1, .. })), "{halted:?}");
}

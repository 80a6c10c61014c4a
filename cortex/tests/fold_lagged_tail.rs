//! Goal: a fold that falls behind the log's bounded live buffer resubscribes and catches up
//! with no gap, instead of failing.

use cortex::tasks::TasksAdapter;
use cortex::{CortexConfig, FoldStatus};
use redex::{ChannelName, Redex, RedexFileConfig};

#[tokio::test(flavor = "current_thread")]
async fn fold_survives_lagged_tail() {
    let redex = Redex::new();
    let config = CortexConfig::default()
        .with_file_config(RedexFileConfig::default().with_tail_buffer_events(8))
        .with_fold_batch_events(4);
    let name = ChannelName::new("lag/tasks").unwrap();
    let tasks = TasksAdapter::open_with(&redex, &name, 9, config).unwrap();
    // On a current-thread runtime the fold cannot run while this loop does not await, so the
    // live buffer of 8 overflows many times over.
    let mut last = 0;
    for id in 0..3000u64 {
        last = tasks.create(id, "t", id).unwrap();
        if id % 1000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    tasks.wait_for_seq(last).await.unwrap();
    {
        let state = tasks.state().read();
        assert_eq!(state.len(), 3000);
        assert!(state.iter().map(|t| t.id).eq(0..3000));
    }
    assert_eq!(tasks.progress().status, FoldStatus::Running);
    assert_eq!(tasks.adapter().fold_errors(), 0);
    tasks.close().await.unwrap();
}

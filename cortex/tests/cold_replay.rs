//! Goal: a CortEX model whose log has partly moved to the cold tier replays across it on
//! restart: the fold reads archived history (fetched from the store) and warm history and
//! reaches the same state as a heap-only log of the same events.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cortex::tasks::TasksAdapter;
use cortex::CortexConfig;
use redex::{ChannelName, ColdStore, LocalDirColdStore, Redex, RedexFileConfig, Retention, Tier};

const EVENTS: u64 = 3000;

fn write(tasks: &TasksAdapter) -> u64 {
    let mut last = 0;
    for i in 0..EVENTS {
        let id = i % 500;
        last = match i % 5 {
            0..=2 => tasks.create(id, &format!("task {i}, archived before long"), i),
            3 => tasks.complete(id, i),
            _ => tasks.rename(id, &format!("renamed {i}"), i),
        }
        .unwrap();
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_folds_cold_and_warm_history_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ColdStore> =
        Arc::new(LocalDirColdStore::new(dir.path().join("archive")).unwrap());
    let file_cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_cold_store(store)
        .with_warm_retention(Retention::events(300));
    let config = CortexConfig::default().with_file_config(file_cfg.clone());
    let name = ChannelName::new("cold/tasks").unwrap();
    let db = dir.path().join("db");

    let expected = {
        let heap = Redex::new();
        let tasks = TasksAdapter::open(&heap, 9).unwrap();
        let last = write(&tasks);
        tasks.wait_for_seq(last).await.unwrap();
        let state = tasks.state().read().clone();
        tasks.close().await.unwrap();
        state
    };

    let last = {
        let redex = Redex::with_persistent_dir(&db).unwrap();
        let tasks = TasksAdapter::open_with(&redex, &name, 9, config.clone()).unwrap();
        let last = write(&tasks);
        tasks.wait_for_seq(last).await.unwrap();
        // Let archival catch up, through the same file handle the model writes to.
        let file = redex.open_file(&name, file_cfg.clone()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            file.apply_retention().unwrap();
            let pending = file.stats().cold_tier.map_or(1, |c| c.pending_segments);
            if pending == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "archival did not settle");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let cold = file.segments().iter().filter(|s| s.tier == Tier::Cold).count();
        assert!(cold > 3, "history moved to the cold tier ({cold} segments)");
        assert_eq!(*tasks.state().read(), expected);
        tasks.close().await.unwrap();
        last
    };

    // Restart: the fold replays everything, most of it fetched from the archive.
    let redex = Redex::with_persistent_dir(&db).unwrap();
    let tasks = TasksAdapter::open_with(&redex, &name, 9, config).unwrap();
    tasks.wait_for_seq(last).await.unwrap();
    assert_eq!(*tasks.state().read(), expected);
    let file = redex.open_file(&name, file_cfg).unwrap();
    let fetched = file.stats().cold_tier.map_or(0, |c| c.fetched_bytes);
    assert!(fetched > 0, "the replay read the archive");
    tasks.close().await.unwrap();
}

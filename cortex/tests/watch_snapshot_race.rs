//! Goal: `snapshot_and_watch` taken while another task writes never loses an update: the
//! snapshot plus the stream's emissions always reach the final result, the stream never
//! repeats the snapshot, and consecutive emissions always differ.

use std::sync::Arc;
use std::time::Duration;

use cortex::tasks::{TaskStatus, TasksAdapter};
use futures::StreamExt;
use redex::Redex;

const ROUNDS: u64 = 12;
const WRITES: u64 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_watch_under_concurrent_writer() {
    for round in 0..ROUNDS {
        let redex = Redex::new();
        let tasks = Arc::new(TasksAdapter::open(&redex, round).unwrap());
        let writer = {
            let tasks = Arc::clone(&tasks);
            tokio::spawn(async move {
                let mut last = 0;
                for i in 0..WRITES {
                    last = if i % 4 == 3 {
                        tasks.complete(i - 1, i).unwrap()
                    } else {
                        tasks.create(i, "t", i).unwrap()
                    };
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                last
            })
        };
        // Take the snapshot somewhere in the middle of the writes (varies with the round).
        for _ in 0..round * 3 {
            tokio::task::yield_now().await;
        }
        let watcher = tasks.watch().where_status(TaskStatus::Pending);
        let (snapshot, mut stream) = tasks.snapshot_and_watch(watcher);

        let last = writer.await.unwrap();
        tasks.wait_for_seq(last).await.unwrap();
        let expected = tasks.state().read().query().where_status(TaskStatus::Pending).collect();

        let mut seen = snapshot;
        // A guard against a hang if an update were lost; not a timing assertion.
        let consume = async {
            while seen != expected {
                let next = stream.next().await.expect("stream ended before the final result");
                assert_ne!(next, seen, "an emission repeated the previous value");
                seen = next;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), consume)
            .await
            .expect("the final result never arrived: an update was lost");
        tasks.close().await.unwrap();
    }
}

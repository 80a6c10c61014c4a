//! Goal: a snapshot from another container version, another model or another schema version,
//! or bytes that are not a snapshot at all, are refused with an error that says which.

use cortex::memories::MemoriesAdapter;
use cortex::tasks::{TasksAdapter, TasksState};
use cortex::{CortexError, SnapshotState};
use redex::Redex;

async fn tasks_snapshot() -> (Vec<u8>, Option<u64>) {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 1).expect("open");
    let seq = tasks.create(1, "one", 1).expect("create");
    tasks.wait_for_seq(seq).await.expect("fold");
    let snap = tasks.snapshot().expect("snapshot");
    tasks.close().await.expect("close");
    snap
}

#[tokio::test]
async fn container_version_mismatch() {
    let (mut bytes, seq) = tasks_snapshot().await;
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = TasksAdapter::open_from_snapshot(&Redex::new(), 1, &bytes, seq).unwrap_err();
    assert!(
        matches!(err, CortexError::UnsupportedSnapshotVersion { found: 2, supported: 1 }),
        "{err}"
    );
}

#[tokio::test]
async fn model_schema_version_mismatch() {
    let (mut bytes, seq) = tasks_snapshot().await;
    bytes[12..16].copy_from_slice(&9u32.to_le_bytes());
    let err = TasksAdapter::open_from_snapshot(&Redex::new(), 1, &bytes, seq).unwrap_err();
    assert!(
        matches!(
            &err,
            CortexError::SnapshotModelMismatch { found_version: 9, expected_version, .. }
                if *expected_version == TasksState::MODEL_VERSION
        ),
        "{err}"
    );
}

#[tokio::test]
async fn other_model_is_refused() {
    let (bytes, seq) = tasks_snapshot().await;
    let err = MemoriesAdapter::open_from_snapshot(&Redex::new(), 1, &bytes, seq).unwrap_err();
    match err {
        CortexError::SnapshotModelMismatch { found_model, expected_model, .. } => {
            assert_eq!(found_model, "cortex.tasks");
            assert_eq!(expected_model, "cortex.memories");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn garbage_and_truncation_are_refused() {
    let redex = Redex::new();
    let err = TasksAdapter::open_from_snapshot(&redex, 1, b"hello world, not a snapshot", None)
        .unwrap_err();
    assert!(matches!(err, CortexError::NotASnapshot { .. }), "{err}");
    let err = TasksAdapter::open_from_snapshot(&redex, 1, b"", None).unwrap_err();
    assert!(matches!(err, CortexError::NotASnapshot { .. }), "{err}");

    let (bytes, seq) = tasks_snapshot().await;
    for cut in 0..bytes.len() {
        let err = TasksAdapter::open_from_snapshot(&redex, 1, &bytes[..cut], seq).unwrap_err();
        assert!(
            matches!(err, CortexError::NotASnapshot { .. } | CortexError::Codec { .. }),
            "cut at {cut}: {err}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let err = TasksAdapter::open_from_snapshot(&redex, 1, &longer, seq).unwrap_err();
    assert!(matches!(err, CortexError::Codec { .. }), "{err}");
}

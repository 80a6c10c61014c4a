//! Goal: the column-wise snapshot bodies (tasks and memories schema version 2) round-trip any
//! state exactly, rebuild indexes that answer queries like a full scan, refuse snapshots of the
//! previous row-wise version 1 with a clear error instead of misreading them, and never panic
//! on damaged bytes.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::sync::Arc;

use cortex::memories::{MemoriesFilter, MemoriesState, Memory};
use cortex::snapshot::{self, SnapshotState, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC};
use cortex::tasks::{Task, TaskStatus, TasksFilter, TasksState};
use cortex::{CortexError, OrderBy};
use proptest::prelude::*;
use serde::Serialize;

const ORDERS: [OrderBy; 4] =
    [OrderBy::IdAsc, OrderBy::IdDesc, OrderBy::CreatedAsc, OrderBy::UpdatedDesc];

/// Times near both ends of `u64`, so deltas wrap.
fn time() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..50, Just(u64::MAX), Just(u64::MAX - 3), Just(1u64 << 63), any::<u64>()]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z]{1,6}", "\\PC{0,12}"]
}

fn tasks() -> impl Strategy<Value = Vec<Task>> {
    prop::collection::btree_map(
        prop_oneof![0u64..40, any::<u64>()],
        (text(), any::<bool>(), time(), time()),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(id, (title, done, created_ns, updated_ns))| Task {
                id,
                title: title.into(),
                status: if done { TaskStatus::Completed } else { TaskStatus::Pending },
                created_ns,
                updated_ns,
            })
            .collect()
    })
}

fn memories() -> impl Strategy<Value = Vec<Memory>> {
    let tag = prop::sample::select(vec!["a", "b", "c", "src", "ünï"]);
    prop::collection::btree_map(
        prop_oneof![0u64..40, any::<u64>()],
        (text(), prop::collection::vec(tag, 0..4), text(), time(), time(), any::<bool>()),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(id, (content, tags, source, created_ns, updated_ns, pinned))| Memory {
                id,
                content: content.into(),
                tags: tags.into_iter().map(Into::into).collect(),
                source: source.into(),
                created_ns,
                updated_ns,
                pinned,
            })
            .collect()
    })
}

fn task_filters() -> Vec<TasksFilter> {
    let mut out = Vec::new();
    for order in ORDERS {
        for status in [None, Some(TaskStatus::Pending), Some(TaskStatus::Completed)] {
            out.push(TasksFilter { status, order_by: Some(order), ..Default::default() });
            out.push(TasksFilter {
                status,
                created_after_ns: Some(10),
                order_by: Some(order),
                limit: Some(5),
                ..Default::default()
            });
        }
    }
    out
}

fn memory_filters() -> Vec<MemoriesFilter> {
    let mut out = Vec::new();
    for order in ORDERS {
        for tag in [None, Some("a"), Some("src"), Some("ünï")] {
            for pinned in [None, Some(true)] {
                out.push(MemoriesFilter {
                    tag: tag.map(str::to_owned),
                    pinned,
                    order_by: Some(order),
                    ..Default::default()
                });
            }
        }
        out.push(MemoriesFilter {
            any_tags: Some(vec!["b".into(), "c".into()]),
            order_by: Some(order),
            ..Default::default()
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn tasks_round_trip_and_rebuild_indexes(rows in tasks()) {
        let state = TasksState::from_tasks(rows).unwrap();
        let bytes = snapshot::encode(&state).unwrap();
        let back: TasksState = snapshot::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &state);
        prop_assert_eq!(snapshot::encode(&back).unwrap(), bytes, "canonical encoding");
        for f in task_filters() {
            prop_assert_eq!(back.find_many(&f), back.find_many_scan(&f));
            prop_assert_eq!(back.find_many(&f), state.find_many(&f));
            let borrowed: Vec<Task> = back.find_many_ref(&f).into_iter().cloned().collect();
            prop_assert_eq!(borrowed, back.find_many(&f));
            prop_assert_eq!(back.count_where(&f), back.find_many_scan(&f).len());
        }
        let serde_bytes = postcard::to_allocvec(&state).unwrap();
        prop_assert_eq!(postcard::from_bytes::<TasksState>(&serde_bytes).unwrap(), state);
    }

    #[test]
    fn memories_round_trip_and_rebuild_indexes(rows in memories()) {
        let state = MemoriesState::from_memories(rows).unwrap();
        let bytes = snapshot::encode(&state).unwrap();
        let back: MemoriesState = snapshot::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &state);
        prop_assert_eq!(snapshot::encode(&back).unwrap(), bytes, "canonical encoding");
        let mut tags: Vec<(String, usize)> =
            back.tag_counts().map(|(t, n)| (t.to_owned(), n)).collect();
        let mut expected: Vec<(String, usize)> =
            state.tag_counts().map(|(t, n)| (t.to_owned(), n)).collect();
        tags.sort();
        expected.sort();
        prop_assert_eq!(tags, expected);
        for f in memory_filters() {
            prop_assert_eq!(back.find_many(&f), back.find_many_scan(&f));
            prop_assert_eq!(back.find_many(&f), state.find_many(&f));
            let borrowed: Vec<Arc<Memory>> =
                back.find_many_ref(&f).into_iter().cloned().collect();
            prop_assert_eq!(borrowed, back.find_many(&f));
            prop_assert_eq!(back.count_where(&f), back.find_many_scan(&f).len());
        }
        let serde_bytes = postcard::to_allocvec(&state).unwrap();
        prop_assert_eq!(postcard::from_bytes::<MemoriesState>(&serde_bytes).unwrap(), state);
    }

    #[test]
    fn damaged_bodies_are_refused_or_round_trip(
        rows in tasks(),
        mems in memories(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let tasks_bytes = snapshot::encode(&TasksState::from_tasks(rows).unwrap()).unwrap();
        let memories_bytes = snapshot::encode(&MemoriesState::from_memories(mems).unwrap()).unwrap();
        for bytes in [tasks_bytes, memories_bytes] {
            let mut damaged = bytes.clone();
            for (at, mask) in &flips {
                let i = at.index(damaged.len());
                damaged[i] ^= mask;
            }
            check_decodes_or_refuses(&damaged);
            for cut in (0..bytes.len()).step_by(3) {
                check_decodes_or_refuses(&bytes[..cut]);
            }
        }
    }
}

/// Decoding `bytes` as either model gives a clear error or a state that round-trips.
fn check_decodes_or_refuses(bytes: &[u8]) {
    match snapshot::decode::<TasksState>(bytes) {
        Ok(state) => {
            let again = snapshot::encode(&state).unwrap();
            assert_eq!(snapshot::decode::<TasksState>(&again).unwrap(), state);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match snapshot::decode::<MemoriesState>(bytes) {
        Ok(state) => {
            let again = snapshot::encode(&state).unwrap();
            assert_eq!(snapshot::decode::<MemoriesState>(&again).unwrap(), state);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A snapshot in the version 1 layout: the header with schema version 1, then postcard of the
/// rows in id order.
fn v1_snapshot<R: Serialize>(model: &str, rows: &[R]) -> Vec<u8> {
    let mut out = SNAPSHOT_MAGIC.to_vec();
    out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let out = postcard::to_extend(model, out).unwrap();
    postcard::to_extend(rows, out).unwrap()
}

#[test]
fn version_one_snapshots_are_refused_clearly() {
    let task = Task {
        id: 7,
        title: "old".into(),
        status: TaskStatus::Completed,
        created_ns: 1,
        updated_ns: 2,
    };
    let bytes = v1_snapshot(TasksState::MODEL, &[task]);
    let err = snapshot::decode::<TasksState>(&bytes).unwrap_err();
    assert!(
        matches!(
            &err,
            CortexError::SnapshotModelMismatch { found_version: 1, expected_version: 2, .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("v1") && err.to_string().contains("v2"), "{err}");

    let memory = Memory {
        id: 7,
        content: "old".into(),
        tags: vec!["a".into()],
        source: "s".into(),
        created_ns: 1,
        updated_ns: 2,
        pinned: true,
    };
    let bytes = v1_snapshot(MemoriesState::MODEL, &[memory]);
    let err = snapshot::decode::<MemoriesState>(&bytes).unwrap_err();
    assert!(
        matches!(
            &err,
            CortexError::SnapshotModelMismatch { found_version: 1, expected_version: 2, .. }
        ),
        "{err}"
    );
}

#[test]
fn lying_counts_allocate_nothing_and_fail() {
    // A tasks body claiming 2^40 rows in one-byte columns.
    let mut bytes = snapshot::encode(&TasksState::new()).unwrap();
    bytes.truncate(bytes.len() - 6);
    let mut body = Vec::new();
    for v in [1u64 << 40, 1, 1, 1, 1, 0] {
        let mut v = v;
        while v >= 0x80 {
            body.push((v as u8) | 0x80);
            v >>= 7;
        }
        body.push(v as u8);
    }
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&[0; 5]);
    let err = snapshot::decode::<TasksState>(&bytes).unwrap_err();
    assert!(matches!(err, CortexError::Codec { .. }), "{err}");
}

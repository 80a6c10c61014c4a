//! CortEX benchmarks. Each function says what it measures; the workloads mirror the reference
//! system's published ones (1/3 of tasks completed; memories tagged "alpha" or "beta"
//! alternately) so the figures can be set side by side.
//!
//! Run: `cargo bench -p cortex --bench cortex`
#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::hint::black_box;

use bytes::Bytes;
use cortex::memories::{MemoriesFilter, MemoriesState};
use cortex::tasks::events::{IdBody, TASK_COMPLETED, TASK_REOPENED};
use cortex::tasks::{Task, TaskStatus, TasksAdapter, TasksFilter, TasksFold, TasksState};
use cortex::{EventMeta, FoldEvent, RedexFold, EVENT_META_LEN};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redex::Redex;

#[path = "common/setup.rs"]
mod setup;
use setup::{populated_memories, populated_tasks, runtime};

/// The origin of every event the benches write.
const ORIGIN: u64 = 1;

/// Ingest: events per second through `TasksAdapter::create` (envelope + postcard encode +
/// heap-only RedEX append), without waiting for the fold; then with a `wait_for_seq` barrier
/// after every create (append plus the fold task applying it); then creates in batches of 64
/// through one atomic append.
fn ingest(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cortex_ingest");
    group.throughput(Throughput::Elements(1));
    group.bench_function("tasks_create", |b| {
        let _enter = rt.enter();
        let redex = Redex::new();
        let tasks = TasksAdapter::open(&redex, ORIGIN).unwrap();
        let mut id = 0u64;
        b.iter(|| {
            id += 1;
            tasks.create(id, "t", id).unwrap()
        });
    });
    group.bench_function("tasks_create_and_wait", |b| {
        let _enter = rt.enter();
        let redex = Redex::new();
        let tasks = TasksAdapter::open(&redex, ORIGIN).unwrap();
        let mut id = 0u64;
        b.iter(|| {
            id += 1;
            let seq = tasks.create(id, "t", id).unwrap();
            rt.block_on(tasks.wait_for_seq(seq)).unwrap();
        });
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("tasks_create_batch_64", |b| {
        let _enter = rt.enter();
        let redex = Redex::new();
        let tasks = TasksAdapter::open(&redex, ORIGIN).unwrap();
        let mut id = 0u64;
        b.iter(|| {
            let batch: Vec<(u64, &str, u64)> = (0..64)
                .map(|_| {
                    id += 1;
                    (id, "t", id)
                })
                .collect();
            tasks.create_batch(&batch).unwrap()
        });
    });
    group.finish();
}

/// Queries on 1K and 10K rows: `find_unique` (one lookup); `find_many` with a status filter
/// (a third of the rows match, read from the status index), owned and borrowed
/// (`find_many_ref`); `count_where` on status (the index's length); `find_many` with a tag
/// filter on memories (half the rows match, read from the tag index), owned and borrowed; and,
/// for comparison, the same status `find_many` by full scan.
fn queries(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cortex_query");
    for n in [1_000u64, 10_000] {
        let tasks = populated_tasks(&rt, n, ORIGIN);
        let state = tasks.state().read();
        let completed = TasksFilter { status: Some(TaskStatus::Completed), ..Default::default() };
        group.bench_with_input(BenchmarkId::new("tasks_find_unique", n), &n, |b, _| {
            b.iter(|| black_box(state.find_unique(black_box(1)).is_some()));
        });
        group.bench_with_input(BenchmarkId::new("tasks_find_many_status", n), &n, |b, _| {
            b.iter(|| state.find_many(black_box(&completed)));
        });
        group.bench_with_input(BenchmarkId::new("tasks_find_many_status_ref", n), &n, |b, _| {
            b.iter(|| state.find_many_ref(black_box(&completed)));
        });
        group.bench_with_input(BenchmarkId::new("tasks_find_many_status_scan", n), &n, |b, _| {
            b.iter(|| state.find_many_scan(black_box(&completed)));
        });
        group.bench_with_input(BenchmarkId::new("tasks_count_where_status", n), &n, |b, _| {
            b.iter(|| state.count_where(black_box(&completed)));
        });
        drop(state);

        let memories = populated_memories(&rt, n, ORIGIN);
        let state = memories.state().read();
        let alpha = MemoriesFilter { tag: Some("alpha".into()), ..Default::default() };
        group.bench_with_input(BenchmarkId::new("memories_find_many_tag", n), &n, |b, _| {
            b.iter(|| state.find_many(black_box(&alpha)));
        });
        group.bench_with_input(BenchmarkId::new("memories_find_many_tag_ref", n), &n, |b, _| {
            b.iter(|| state.find_many_ref(black_box(&alpha)));
        });
        group.bench_with_input(BenchmarkId::new("memories_count_where_tag", n), &n, |b, _| {
            b.iter(|| state.count_where(black_box(&alpha)));
        });
        drop(state);
        rt.block_on(async {
            tasks.close().await.unwrap();
            memories.close().await.unwrap();
        });
    }
    group.finish();
}

/// Snapshots of 1K rows: postcard encode of the state behind the versioned header, and decode
/// back into a state with its secondary indexes rebuilt.
fn snapshots(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cortex_snapshot");
    let n = 1_000u64;
    group.throughput(Throughput::Elements(n));
    let tasks = populated_tasks(&rt, n, ORIGIN);
    let (bytes, _) = tasks.snapshot().unwrap();
    group.bench_with_input(BenchmarkId::new("tasks_encode", n), &n, |b, _| {
        b.iter(|| tasks.snapshot().unwrap());
    });
    group.bench_with_input(BenchmarkId::new("tasks_decode", n), &n, |b, _| {
        b.iter(|| cortex::snapshot::decode::<TasksState>(black_box(&bytes)).unwrap());
    });
    let memories = populated_memories(&rt, n, ORIGIN);
    let (bytes, _) = memories.snapshot().unwrap();
    group.bench_with_input(BenchmarkId::new("memories_encode", n), &n, |b, _| {
        b.iter(|| memories.snapshot().unwrap());
    });
    group.bench_with_input(BenchmarkId::new("memories_decode", n), &n, |b, _| {
        b.iter(|| cortex::snapshot::decode::<MemoriesState>(black_box(&bytes)).unwrap());
    });
    group.finish();
}

/// The fold's state changes alone (no log, no lock): a state of 100 K pending tasks folds a
/// `complete` of every task then a `reopen` of every task (each moves a row between the status
/// indexes), in id order (`in_order`) or in a scattered order (`scattered`, a fixed
/// permutation). Each iteration leaves the state as it found it.
fn fold_status_changes(c: &mut Criterion) {
    const TASKS: u64 = 100_000;
    let tasks: Vec<Task> = (0..TASKS)
        .map(|id| Task {
            id,
            title: "a task".into(),
            created_ns: id,
            updated_ns: id,
            ..Task::default()
        })
        .collect();
    let mut state = TasksState::from_tasks(tasks).unwrap();
    let event = |dispatch: u8, id: u64, seq: u64| {
        let body = postcard::to_allocvec(&IdBody { id }).unwrap();
        let bytes = EventMeta::encode(dispatch, EventMeta::FLAG_TIMESTAMP, ORIGIN, seq, &body);
        let meta = EventMeta::decode(&bytes).unwrap();
        FoldEvent {
            seq,
            timestamp_ns: seq,
            meta,
            payload: Bytes::copy_from_slice(&bytes[EVENT_META_LEN..]),
        }
    };
    let mut group = c.benchmark_group("cortex_fold");
    group.throughput(Throughput::Elements(2 * TASKS));
    // 7 919 is prime, so `i * 7 919 mod TASKS` visits every id once, far from the last.
    type Order = fn(u64) -> u64;
    let orders: [(&str, Order); 2] = [("in_order", |i| i), ("scattered", |i| i * 7_919 % TASKS)];
    for (name, order) in orders {
        let events: Vec<FoldEvent> = [TASK_COMPLETED, TASK_REOPENED]
            .into_iter()
            .flat_map(|dispatch| (0..TASKS).map(move |i| (dispatch, i)))
            .enumerate()
            .map(|(seq, (dispatch, i))| event(dispatch, order(i), seq as u64))
            .collect();
        group.bench_function(BenchmarkId::new("tasks_status_churn", name), |b| {
            b.iter(|| {
                for e in &events {
                    TasksFold.apply(&mut state, e).unwrap();
                }
            });
        });
        assert_eq!(
            state.count_where(&TasksFilter {
                status: Some(TaskStatus::Pending),
                ..Default::default()
            }),
            TASKS as usize
        );
    }
    group.finish();
}

criterion_group!(benches, ingest, queries, snapshots, fold_status_changes);
criterion_main!(benches);

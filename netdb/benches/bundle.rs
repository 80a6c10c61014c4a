//! NetDB bundle benchmarks, on the reference system's workload (tasks: `task-{i}` titles, a
//! third completed; memories: `content-{i}`, tagged `alpha` or `beta` alternately, source
//! `src`), with 1 K and 100 K entries per model in one database of both models:
//!
//! - `encode` / `decode`: [`NetDbSnapshot::encode`] of a bundle already taken, and
//!   [`NetDbSnapshot::decode`] of its bytes (what the reference's `netdb_bundle_encode` and
//!   `netdb_bundle_decode` measure);
//! - `snapshot_encode`: [`NetDb::snapshot`] then `encode`, from live states to bytes;
//! - `decode_states`: `decode` then both states rebuilt from their snapshots (with their
//!   secondary indexes), from bytes to states: a restore minus spawning the folds.
//!
//! Bundle sizes are printed once per size. Run: `cargo bench -p netdb --bench bundle`
#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::hint::black_box;

use cortex::memories::MemoriesState;
use cortex::snapshot;
use cortex::tasks::TasksState;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use netdb::{NetDb, NetDbSnapshot};
use redex::Redex;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn populated(rt: &Runtime, n: u64) -> NetDb {
    let _enter = rt.enter();
    let db = NetDb::builder(&Redex::new()).origin(1).with_tasks().with_memories().build().unwrap();
    let (mut t, mut m) = (0, 0);
    for i in 0..n {
        let id = i + 1;
        t = db.tasks().create(id, &format!("task-{i}"), i).unwrap();
        if i % 3 == 0 {
            t = db.tasks().complete(id, i).unwrap();
        }
        let tag = if i % 2 == 0 { "alpha" } else { "beta" };
        m = db.memories().store(id, &format!("content-{i}"), &[tag], "src", i).unwrap();
    }
    rt.block_on(async {
        db.tasks().wait_for_seq(t).await.unwrap();
        db.memories().wait_for_seq(m).await.unwrap();
    });
    db
}

fn bundle(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("netdb_bundle");
    for n in [1_000u64, 100_000] {
        if n >= 100_000 {
            group.sample_size(20);
        }
        let db = populated(&rt, n);
        let bundle = db.snapshot().unwrap();
        let bytes = bundle.encode();
        println!(
            "netdb_bundle/{n}: {} bytes encoded ({} of model state, {:.1} bytes per entry)",
            bytes.len(),
            bundle.state_bytes(),
            bytes.len() as f64 / (2 * n) as f64
        );
        group.throughput(Throughput::Elements(2 * n));
        group.bench_with_input(BenchmarkId::new("encode", n), &n, |b, _| {
            b.iter(|| black_box(&bundle).encode());
        });
        group.bench_with_input(BenchmarkId::new("decode", n), &n, |b, _| {
            b.iter(|| NetDbSnapshot::decode(black_box(&bytes)).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("snapshot_encode", n), &n, |b, _| {
            b.iter(|| db.snapshot().unwrap().encode());
        });
        group.bench_with_input(BenchmarkId::new("decode_states", n), &n, |b, _| {
            b.iter(|| {
                let bundle = NetDbSnapshot::decode(black_box(&bytes)).unwrap();
                let tasks: TasksState =
                    snapshot::decode(&bundle.model("cortex/tasks").unwrap().state).unwrap();
                let memories: MemoriesState =
                    snapshot::decode(&bundle.model("cortex/memories").unwrap().state).unwrap();
                (tasks, memories)
            });
        });
        rt.block_on(db.close()).unwrap();
    }
    group.finish();
}

criterion_group!(benches, bundle);
criterion_main!(benches);

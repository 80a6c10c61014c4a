//! Restart time of a persistent NetDB (tasks model) with a snapshot versus a full replay.
//!
//! For each history size `n`, a log of `n` task events is written once to a temporary
//! directory: ids cycle over 100 K tasks, each round of 100 K events creating, completing,
//! renaming or reopening every task, so the state stays 100 K tasks whatever `n`. A bundle is
//! taken after the first `n - n/10` events. Each measured restart then opens the directory
//! (`Redex::with_persistent_dir`) and either
//!
//! - `full_replay`: opens the database and folds all `n` events, or
//! - `snapshot_tail`: decodes the bundle bytes, restores from them and folds the last `n/10`;
//!
//! in both cases until the last event is in the state, then closes. The page cache is warm
//! (the log was just written); a cold disk adds its read time to the replay only.
//!
//! After the two criterion groups of a size, [`PAIRS`] more restarts of each kind run
//! alternately, full then snapshot, and the median of the per-pair ratios is printed: drift in
//! the machine's load between the two groups cannot bias that figure.
//!
//! Sizes: `NETDB_RESTART_EVENTS` (comma separated; default `1000000,10000000`).
//! Run: `cargo bench -p netdb --bench restart`
#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::path::Path;
use std::time::{Duration, Instant};

use cortex::tasks::events::{
    IdBody, TitleBody, TASK_COMPLETED, TASK_CREATED, TASK_RENAMED, TASK_REOPENED,
};
use cortex::EventMeta;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use netdb::{NetDb, NetDbConfig, NetDbSnapshot};
use redex::{FsyncPolicy, Redex};
use tokio::runtime::Runtime;

const TASKS: u64 = 100_000;
const BATCH: u64 = 4096;
/// Alternated (full replay, snapshot) pairs per size for the paired ratio.
const PAIRS: usize = 9;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn config() -> NetDbConfig {
    NetDbConfig::default().origin(1).persistent(true).fsync_policy(FsyncPolicy::Never).with_tasks()
}

fn event(i: u64) -> Vec<u8> {
    let id = i % TASKS;
    let (dispatch, body) = match (i / TASKS) % 4 {
        0 => (TASK_CREATED, postcard::to_allocvec(&TitleBody { id, title: "a task" }).unwrap()),
        1 => (TASK_COMPLETED, postcard::to_allocvec(&IdBody { id }).unwrap()),
        2 => (TASK_RENAMED, postcard::to_allocvec(&TitleBody { id, title: "renamed" }).unwrap()),
        _ => (TASK_REOPENED, postcard::to_allocvec(&IdBody { id }).unwrap()),
    };
    EventMeta::encode(dispatch, EventMeta::FLAG_TIMESTAMP, 1, i, &body)
}

fn write(db: &NetDb, range: std::ops::Range<u64>) {
    let mut i = range.start;
    while i < range.end {
        let end = (i + BATCH).min(range.end);
        let batch: Vec<Vec<u8>> = (i..end).map(event).collect();
        db.tasks().adapter().append_encoded_batch(&batch).unwrap();
        i = end;
    }
}

/// Writes the log and returns the encoded bundle taken at `n - n/10`.
fn prepare(rt: &Runtime, dir: &Path, n: u64) -> Vec<u8> {
    let _enter = rt.enter();
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let db = NetDb::open(&redex, config()).unwrap();
    let at = n - n / 10;
    write(&db, 0..at);
    rt.block_on(db.tasks().wait_for_seq(at - 1)).unwrap();
    let bytes = db.snapshot().unwrap().encode();
    write(&db, at..n);
    rt.block_on(db.tasks().wait_for_seq(n - 1)).unwrap();
    rt.block_on(db.close()).unwrap();
    bytes
}

fn restart(rt: &Runtime, dir: &Path, n: u64, bundle: Option<&[u8]>) -> Duration {
    let _enter = rt.enter();
    let start = Instant::now();
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let db = match bundle {
        None => NetDb::open(&redex, config()).unwrap(),
        Some(bytes) => {
            let bundle = NetDbSnapshot::decode(bytes).unwrap();
            NetDb::open_from_snapshot(&redex, &bundle, config()).unwrap()
        }
    };
    rt.block_on(db.tasks().wait_for_seq(n - 1)).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(db.tasks().state().read().len() as u64, TASKS.min(n));
    rt.block_on(db.close()).unwrap();
    elapsed
}

fn sizes() -> Vec<u64> {
    std::env::var("NETDB_RESTART_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

fn restarts(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("netdb_restart");
    // One restart per sample: seconds each for the largest size.
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(1));
    for n in sizes() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let bundle = prepare(&rt, dir.path(), n);
        println!(
            "netdb_restart/{n}: log written in {:.1?}, bundle {} bytes at seq {}",
            started.elapsed(),
            bundle.len(),
            n - n / 10 - 1
        );
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("full_replay", n), &n, |b, &n| {
            b.iter_custom(|iters| (0..iters).map(|_| restart(&rt, dir.path(), n, None)).sum());
        });
        group.bench_with_input(BenchmarkId::new("snapshot_tail", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| restart(&rt, dir.path(), n, Some(&bundle))).sum()
            });
        });
        paired_ratio(&rt, dir.path(), n, &bundle);
    }
    group.finish();
}

/// Runs [`PAIRS`] alternated full and snapshot restarts and prints the median ratio.
fn paired_ratio(rt: &Runtime, dir: &Path, n: u64, bundle: &[u8]) {
    let mut ratios: Vec<f64> = (0..PAIRS)
        .map(|_| {
            let full = restart(rt, dir, n, None);
            let tail = restart(rt, dir, n, Some(bundle));
            full.as_secs_f64() / tail.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "netdb_restart/{n}: full replay / snapshot restart, median of {PAIRS} alternated pairs: \
         {:.2}x (sorted: {})",
        ratios[PAIRS / 2],
        shown.join(", ")
    );
}

criterion_group!(benches, restarts);
criterion_main!(benches);

//! The reference system: net-mesh's RedEX (crate `net-mesh` 0.46, features `redex` +
//! `redex-disk`), driven through the same workloads as `benches/redex.rs` so the two report side
//! by side under the same names (`net_mesh/<workload>` here, `redex/<workload>` there):
//!
//! - `heap_batch64_64B`: heap-only `append_batch` of 64 x 64 B;
//! - `disk_single_64B`: persistent (`FsyncPolicy::Never`) `append` of 64 B;
//! - `disk_batch64_64B` / `disk_batch64_1KiB`: persistent `append_batch` of 64 x 64 B / 1 KiB;
//! - `read_range_64B_whole` / `read_range_64B_chunked`: 100 000 events of 64 B read from a
//!   heap-only log in one `read_range`, or in calls of 1024;
//! - `disk_read_range_64B_whole` / `disk_read_range_64B_chunked`: the same reads from a
//!   persistent log that was closed and reopened after the prefill.
//!
//! Throughput is in events. Append workloads open a fresh log (and, when persistent, a fresh
//! temporary directory) every 128 MiB of payload; only the appends are timed. Workload shapes live
//! in `redex_benches::workload`.
//!
//! Behind the `peers` feature, which is never on by default and never built by CI:
//!
//! ```text
//! cargo bench -p redex-benches --features peers --bench peer_redex
//! ```

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use net::adapter::net::{ChannelName, FsyncPolicy, Redex, RedexFile, RedexFileConfig};
use redex_benches::workload::{
    self, Workload, READ_CHUNK_EVENTS, READ_EVENTS, SMALL_PAYLOAD_BYTES,
};

/// One open log plus everything that must outlive it. Closing happens in `Drop`, before the
/// manager and the temporary directory go, so rotation leaves nothing behind.
struct PeerLog {
    file: RedexFile,
    _redex: Redex,
    dir: Option<tempfile::TempDir>,
}

impl Drop for PeerLog {
    fn drop(&mut self) {
        // A failed close only matters to the data we are about to delete.
        let _ = self.file.close();
    }
}

fn channel(label: &str) -> ChannelName {
    ChannelName::new(&workload::unique_channel(label)).expect("valid channel name")
}

fn open_log(workload: Workload) -> PeerLog {
    let dir =
        workload.is_persistent().then(|| workload::temp_log_dir().expect("temporary directory"));
    open_in(dir, &channel(workload.name()))
}

/// Opens `name`: persistent (`FsyncPolicy::Never`) in `dir` when given, heap-only otherwise.
fn open_in(dir: Option<tempfile::TempDir>, name: &ChannelName) -> PeerLog {
    if let Some(dir) = dir {
        let redex = Redex::new().with_persistent_dir(dir.path());
        let config =
            RedexFileConfig::default().with_persistent(true).with_fsync_policy(FsyncPolicy::Never);
        let file = redex.open_file(name, config).expect("open persistent log");
        PeerLog { file, _redex: redex, dir: Some(dir) }
    } else {
        let redex = Redex::new();
        let file = redex.open_file(name, RedexFileConfig::default()).expect("open heap log");
        PeerLog { file, _redex: redex, dir: None }
    }
}

fn to_bytes(batch: Vec<Vec<u8>>) -> Vec<Bytes> {
    batch.into_iter().map(Bytes::from).collect()
}

fn bench_appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("net_mesh");
    for workload in [
        Workload::HeapSingleSmall,
        Workload::HeapBatchSmall,
        Workload::DiskSingleSmall,
        Workload::DiskBatchSmall,
        Workload::DiskBatchLarge,
    ] {
        group.throughput(Throughput::Elements(workload.events_per_iteration()));
        let ops_per_log = workload.ops_per_log();
        if workload.events_per_iteration() == 1 {
            let payload = workload::payload(SMALL_PAYLOAD_BYTES, 1);
            group.bench_function(workload.name(), |b| {
                b.iter_custom(|iters| {
                    workload::timed_rotating(
                        iters,
                        ops_per_log,
                        || open_log(workload),
                        |log| {
                            black_box(log.file.append(&payload).expect("append"));
                        },
                    )
                })
            });
        } else {
            let batch = to_bytes(workload::batch(
                workload.events_per_iteration() as usize,
                workload.payload_bytes(),
            ));
            group.bench_function(workload.name(), |b| {
                b.iter_custom(|iters| {
                    workload::timed_rotating(
                        iters,
                        ops_per_log,
                        || open_log(workload),
                        |log| {
                            black_box(log.file.append_batch(&batch).expect("append_batch"));
                        },
                    )
                })
            });
        }
    }
    group.finish();
}

/// A log holding [`READ_EVENTS`] events of [`SMALL_PAYLOAD_BYTES`]. A persistent one is closed
/// and reopened after the prefill, so reads see what a restarted process would see.
fn prefilled_log(workload: Workload) -> PeerLog {
    let name = channel(workload.name());
    let dir =
        workload.is_persistent().then(|| workload::temp_log_dir().expect("temporary directory"));
    let mut log = open_in(dir, &name);
    let batch = to_bytes(workload::batch(1024, SMALL_PAYLOAD_BYTES));
    let mut appended = 0;
    while appended < READ_EVENTS {
        let n = (READ_EVENTS - appended).min(batch.len() as u64) as usize;
        log.file.append_batch(batch.get(..n).expect("n <= batch length")).expect("prefill");
        appended += n as u64;
    }
    if workload.is_persistent() {
        let dir = log.dir.take();
        drop(log);
        log = open_in(dir, &name);
    }
    let read = log.file.read_range(0, READ_EVENTS);
    assert_eq!(read.len() as u64, READ_EVENTS, "prefill readable");
    log
}

fn bench_reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("net_mesh");
    group.throughput(Throughput::Elements(READ_EVENTS));
    // One iteration takes milliseconds; fewer samples keep each bench within its time budget.
    group.sample_size(30);
    for workload in [
        Workload::ReadWhole,
        Workload::ReadChunked,
        Workload::DiskReadWhole,
        Workload::DiskReadChunked,
    ] {
        let log = prefilled_log(workload);
        if workload.is_whole_read() {
            group.bench_function(workload.name(), |b| {
                b.iter(|| black_box(log.file.read_range(0, READ_EVENTS)))
            });
        } else {
            group.bench_function(workload.name(), |b| {
                b.iter(|| {
                    let mut start = 0;
                    while start < READ_EVENTS {
                        let end = (start + READ_CHUNK_EVENTS).min(READ_EVENTS);
                        black_box(log.file.read_range(start, end));
                        start = end;
                    }
                })
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = peer_redex;
    config = config();
    targets = bench_appends, bench_reads
}
criterion_main!(peer_redex);

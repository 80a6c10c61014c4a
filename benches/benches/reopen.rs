//! Reopen time versus history, and reads from frozen (mmap) segments.
//!
//! - `reopen/frozen_events/N`: time to take the directory lock and open a persistent log that
//!   holds `N` events of 64 B in frozen 4 MiB segments plus a 1 000-event active tail. Frozen
//!   segments are trusted from their footers, so this should stay flat as `N` grows; only the
//!   tail is replayed.
//! - `frozen_read/read_range_64B_chunked`: `read_range` in calls of 1024 over 1 M events that
//!   all live in frozen segments (each payload checked against its record's checksum).
//!
//! ```text
//! cargo bench -p redex-benches --bench reopen
//! ```

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};
use redex_benches::workload::{self, READ_CHUNK_EVENTS, SMALL_PAYLOAD_BYTES};

const SEGMENT_BYTES: u64 = 4 << 20;
const TAIL_EVENTS: u64 = 1_000;

fn config() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(SEGMENT_BYTES)
}

fn name() -> ChannelName {
    ChannelName::new("bench/reopen").expect("valid channel name")
}

/// Writes `frozen` events (rolled into frozen segments) then a tail of `TAIL_EVENTS` into a
/// fresh directory, and closes it.
fn build(dir: &Path, frozen: u64) {
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let file = redex.open_file(&name(), config()).expect("open");
    let batch = workload::batch(1024, SMALL_PAYLOAD_BYTES);
    let mut appended = 0;
    while appended < frozen {
        let n = (frozen - appended).min(batch.len() as u64) as usize;
        file.append_batch(batch.get(..n).expect("n <= batch length")).expect("append");
        appended += n as u64;
    }
    // Start a fresh active segment so the tail is all that reopen replays.
    let tail_config = config().with_segment_events_max(TAIL_EVENTS * 10);
    file.close().expect("close");
    drop((file, redex));
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let file = redex.open_file(&name(), tail_config).expect("open");
    for i in 0..TAIL_EVENTS {
        file.append(&i.to_le_bytes()).expect("append tail");
    }
    file.close().expect("close");
}

fn open(dir: &Path) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let file = redex.open_file(&name(), config()).expect("open");
    (redex, file)
}

fn bench_reopen(c: &mut Criterion) {
    let mut group = c.benchmark_group("reopen");
    group.sample_size(20);
    for frozen in [10_000u64, 1_000_000, 10_000_000] {
        let dir = workload::temp_log_dir().expect("temporary directory");
        build(dir.path(), frozen);
        group.bench_with_input(BenchmarkId::new("frozen_events", frozen), &frozen, |b, _| {
            b.iter(|| {
                let (redex, file) = open(dir.path());
                black_box(file.next_seq());
                drop((file, redex));
            })
        });
    }
    group.finish();
}

fn bench_frozen_reads(c: &mut Criterion) {
    const EVENTS: u64 = 1_000_000;
    let dir = workload::temp_log_dir().expect("temporary directory");
    build(dir.path(), EVENTS);
    let (_redex, file) = open(dir.path());
    let mut group = c.benchmark_group("frozen_read");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("read_range_64B_chunked", |b| {
        b.iter(|| {
            let mut start = 0;
            while start < EVENTS {
                let end = (start + READ_CHUNK_EVENTS).min(EVENTS);
                black_box(file.read_range(start, end).expect("read_range"));
                start = end;
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = reopen;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench_reopen, bench_frozen_reads
}
criterion_main!(reopen);

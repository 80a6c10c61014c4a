//! Reopen time versus history, and reads from frozen (mmap) segments.
//!
//! - `reopen/frozen_events/N`: time to take the directory lock and open a persistent log that
//!   holds `N` events of 64 B in frozen 4 MiB segments plus a 1 000-event active tail. Frozen
//!   segments are trusted from their footers, so this should stay flat as `N` grows; only the
//!   tail is replayed.
//! - `frozen_read/read_range_64B_chunked` and `read_range_1KiB_chunked`: `read_range` in calls
//!   of 1024 over 1 M events of 64 B (100 k of 1 KiB) that all live in frozen segments; every
//!   frame is checked against its CRC on the way. Throughput is in events and in bytes.
//!   `read_range_64B_chunked_100k` reads 100 k frozen events, the size of `peer_redex`'s
//!   `read_range_64B_chunked` (net-mesh's heap log), for a same-size comparison; it fits in the
//!   last-level cache, the 1 M case does not. `read_batch_*`: the same reads through
//!   `read_batch` (payloads lent from the mapping, no reference count per entry).
//! - `frozen_read/get_random_64B`: one `get` of a pseudo-random seq among 1 M frozen events
//!   (record lookup by arithmetic, payload checked against the record's checksum).
//!
//! ```text
//! cargo bench -p redex-benches --bench reopen
//! ```

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redex::{ChannelName, Redex, RedexFile, RedexFileConfig, Tier};
use redex_benches::workload::{self, LARGE_PAYLOAD_BYTES, READ_CHUNK_EVENTS, SMALL_PAYLOAD_BYTES};

const SEGMENT_BYTES: u64 = 4 << 20;
const TAIL_EVENTS: u64 = 1_000;

fn config() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(SEGMENT_BYTES)
}

fn name() -> ChannelName {
    ChannelName::new("bench/reopen").expect("valid channel name")
}

/// Writes `frozen` events of 64 B (rolled into frozen segments) then a tail of `TAIL_EVENTS`
/// into a fresh directory, and closes it.
fn build(dir: &Path, frozen: u64) {
    build_sized(dir, frozen, SMALL_PAYLOAD_BYTES);
}

fn build_sized(dir: &Path, frozen: u64, payload_bytes: usize) {
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let file = redex.open_file(&name(), config()).expect("open");
    let batch = workload::batch(64, payload_bytes);
    let mut appended = 0;
    while appended < frozen {
        let n = (frozen - appended).min(batch.len() as u64) as usize;
        file.append_batch(batch.get(..n).expect("n <= batch length")).expect("append");
        appended += n as u64;
    }
    file.close().expect("close");
    drop((file, redex));
    // Start a fresh active segment so the tail is all that reopen replays: a one-event limit
    // makes the first tail append roll the last, partly filled segment over (it freezes), and
    // a roomy one keeps the rest of the tail in the new segment.
    for (events_max, tail) in [(1, 0..1), (TAIL_EVENTS * 10, 1..TAIL_EVENTS)] {
        let redex = Redex::with_persistent_dir(dir).expect("manager");
        let file = redex.open_file(&name(), config().with_segment_events_max(events_max));
        let file = file.expect("open");
        for i in tail {
            file.append(&i.to_le_bytes()).expect("append tail");
        }
        file.close().expect("close");
    }
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
    let mut group = c.benchmark_group("frozen_read");
    group.sample_size(10);
    for (label, events, payload_bytes) in [
        ("read_range_64B_chunked", 1_000_000u64, SMALL_PAYLOAD_BYTES),
        ("read_range_64B_chunked_100k", workload::READ_EVENTS, SMALL_PAYLOAD_BYTES),
        ("read_range_1KiB_chunked", 100_000, LARGE_PAYLOAD_BYTES),
    ] {
        let dir = workload::temp_log_dir().expect("temporary directory");
        build_sized(dir.path(), events, payload_bytes);
        let (_redex, file) = open(dir.path());
        let read = file.segments().into_iter().filter(|s| s.first_seq < events);
        assert!(read.clone().all(|s| s.tier == Tier::Warm), "{:?}", read.collect::<Vec<_>>());
        group.throughput(Throughput::Elements(events));
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut start = 0;
                while start < events {
                    let end = (start + READ_CHUNK_EVENTS).min(events);
                    black_box(file.read_range(start, end).expect("read_range"));
                    start = end;
                }
            })
        });
        group.bench_function(label.replace("read_range", "read_batch"), |b| {
            b.iter(|| {
                let mut start = 0;
                while start < events {
                    let end = (start + READ_CHUNK_EVENTS).min(events);
                    black_box(file.read_batch(start, end).expect("read_batch"));
                    start = end;
                }
            })
        });
    }
    let dir = workload::temp_log_dir().expect("temporary directory");
    build(dir.path(), 1_000_000);
    let (_redex, file) = open(dir.path());
    group.throughput(Throughput::Elements(1));
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    group.bench_function("get_random_64B", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(file.get(x % 1_000_000).expect("get"))
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

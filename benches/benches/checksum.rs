//! CRC-32C, the checksum every frame, record and file of the engine carries: the engine's
//! implementation (`redex_tiers::crc32c`, backed by `crc-fast`) beside the `crc32c` crate it
//! replaced, on the sizes that matter: a single 64 B entry's frame (100 B), a batch of 64 such
//! entries (4 384 B, the frame a warm `read_range` checks) and 1 MiB (a cold object, `verify`).
//!
//! ```text
//! cargo bench -p redex-benches --bench checksum
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench_checksums(c: &mut Criterion) {
    let mut group = c.benchmark_group("crc32c");
    for size in [100usize, 4384, 1 << 20] {
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(redex_tiers::crc32c::crc32c(&data), crc32c::crc32c(&data));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("engine", size), &data, |b, data| {
            b.iter(|| redex_tiers::crc32c::crc32c(black_box(data)))
        });
        group.bench_with_input(BenchmarkId::new("crc32c_crate", size), &data, |b, data| {
            b.iter(|| crc32c::crc32c(black_box(data)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_checksums);
criterion_main!(benches);

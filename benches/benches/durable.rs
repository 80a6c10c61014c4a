//! Our engine's two append paths (issue 5), each on `AppendBackend::IoUring` and
//! `AppendBackend::Std` (reported as `durable/<workload>/<backend>`):
//!
//! - `append_durable_64B`: one thread calling `append_durable` with 64 B, i.e. the latency of a
//!   single durable append (write + fdatasync; on io_uring one linked submission). Read against
//!   the machine's `write` + `fdatasync` latency (the `limits` bench, `fsync_latency`).
//! - `append_batch64_64B`: `append_batch` of 64 x 64 B into a persistent log with
//!   `FsyncPolicy::Never` (nothing fsynced while timing): the cost of handing a batch to the
//!   kernel on each path.
//!
//! Throughput is in events. Every log is persistent, in a fresh temporary directory under
//! `$REDEX_BENCH_DIR` or the system one, and is replaced every 64 MiB of payload (batches) so
//! the page cache and the log stay bounded; only the appends are timed. A backend the kernel
//! refuses (io_uring under seccomp) is skipped with a line on stderr.
//!
//! ```text
//! cargo bench -p redex-benches --bench durable
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use redex::{AppendBackend, ChannelName, FsyncPolicy, Redex, RedexFile, RedexFileConfig};
use redex_benches::workload;

/// Payload size of every workload here.
const PAYLOAD_BYTES: usize = 64;
/// Payloads per `append_batch` call.
const BATCH_LEN: usize = 64;
/// Payload bytes a batch log takes before it is replaced.
const LOG_BYTES_MAX: u64 = 64 << 20;

/// One open log plus everything that must outlive it; closed in `Drop`, before the manager and
/// the temporary directory go.
struct BenchLog {
    file: RedexFile,
    _redex: Redex,
    _dir: tempfile::TempDir,
}

impl Drop for BenchLog {
    fn drop(&mut self) {
        // A failed close only matters to the data we are about to delete.
        let _ = self.file.close();
    }
}

fn backend_label(backend: AppendBackend) -> &'static str {
    match backend {
        AppendBackend::IoUring => "io_uring",
        AppendBackend::Std => "std",
        AppendBackend::Auto => "auto",
    }
}

/// A fresh persistent log with `FsyncPolicy::Never` on `backend`, or why it cannot be opened.
fn open(backend: AppendBackend, label: &str) -> Result<BenchLog, String> {
    let dir = workload::temp_log_dir().map_err(|e| format!("temporary directory: {e}"))?;
    let redex = Redex::with_persistent_dir(dir.path()).map_err(|e| e.to_string())?;
    let name = ChannelName::new(workload::unique_channel(label)).map_err(|e| e.to_string())?;
    let config = RedexFileConfig::default()
        .with_persistent(true)
        .with_fsync_policy(FsyncPolicy::Never)
        .with_append_backend(backend);
    let file = redex.open_file(&name, config).map_err(|e| e.to_string())?;
    Ok(BenchLog { file, _redex: redex, _dir: dir })
}

fn bench_backends(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable");
    let payload = workload::payload(PAYLOAD_BYTES, 1);
    let batch = workload::batch(BATCH_LEN, PAYLOAD_BYTES);
    for backend in [AppendBackend::IoUring, AppendBackend::Std] {
        let label = backend_label(backend);
        if let Err(e) = open(backend, "durable_probe") {
            eprintln!("durable/*/{label}: skipped, the {label} backend cannot open: {e}");
            continue;
        }

        group.throughput(Throughput::Elements(1));
        group.measurement_time(Duration::from_secs(5));
        group.bench_function(BenchmarkId::new("append_durable_64B", label), |b| {
            let log = open(backend, "append_durable").expect("open log");
            b.iter(|| black_box(log.file.append_durable(black_box(&payload)).expect("append")));
        });

        group.throughput(Throughput::Elements(BATCH_LEN as u64));
        group.measurement_time(Duration::from_secs(3));
        let batches_per_log = LOG_BYTES_MAX / (BATCH_LEN * PAYLOAD_BYTES) as u64;
        group.bench_function(BenchmarkId::new("append_batch64_64B", label), |b| {
            let mut log = open(backend, "append_batch").expect("open log");
            let mut in_log = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    if in_log == batches_per_log {
                        log = open(backend, "append_batch").expect("open log");
                        in_log = 0;
                    }
                    let start = std::time::Instant::now();
                    black_box(log.file.append_batch(black_box(&batch)).expect("append"));
                    timed += start.elapsed();
                    in_log += 1;
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1));
    targets = bench_backends
}
criterion_main!(benches);

//! This machine's own limits, the ceilings engine figures are read against.
//!
//! - [`memcpy_bandwidth`]: how fast one core copies a buffer far larger than the caches. No
//!   append path that copies each payload once can beat it.
//! - [`sequential_write_bandwidth`]: how fast one thread writes a large file in 1 MiB chunks,
//!   either into the page cache only or including a final `fdatasync`, i.e. through to the device.
//! - [`fsync_latency`]: the cost of making one small append durable (`write` + `fdatasync`), the
//!   floor of any durable single-append latency.
//! - [`fsync_samples`]: the same, raw samples, either way ([`DurableWrite`]): the two system
//!   calls, or one io_uring submission (the floor of an io_uring durable append).
//!
//! Each measurement repeats its work several times, reports the median, and keeps itself to a
//! few seconds (see the `*_BUDGET` constants). [`measure_all`] runs them all.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Buffer size copied per repetition by [`memcpy_bandwidth`] (64 MiB).
pub const MEMCPY_BUFFER_BYTES: usize = 64 * 1024 * 1024;

/// File size written per repetition by [`sequential_write_bandwidth`] (256 MiB).
pub const WRITE_FILE_BYTES: usize = 256 * 1024 * 1024;

/// Size of each `write` call in [`sequential_write_bandwidth`] (1 MiB).
pub const WRITE_CHUNK_BYTES: usize = 1024 * 1024;

/// Payload size of each durable append in [`fsync_latency`].
pub const FSYNC_WRITE_BYTES: usize = 64;

/// Most repetitions any bandwidth measurement makes.
pub const REPETITIONS_MAX: usize = 9;

/// Fewest repetitions a bandwidth measurement makes, whatever its budget.
pub const REPETITIONS_MIN: usize = 3;

/// Time budget of [`memcpy_bandwidth`]: no repetition starts after it has passed.
pub const MEMCPY_BUDGET: Duration = Duration::from_secs(2);

/// Time budget of one [`sequential_write_bandwidth`] call.
pub const WRITE_BUDGET: Duration = Duration::from_secs(4);

/// Time budget of [`fsync_latency`].
pub const FSYNC_BUDGET: Duration = Duration::from_secs(3);

/// Most samples [`fsync_latency`] takes.
pub const FSYNC_SAMPLES_MAX: usize = 2000;

/// Untimed `write` + `fdatasync` rounds before [`fsync_latency`] starts sampling.
pub const FSYNC_WARMUP_ROUNDS: usize = 10;

/// A bandwidth measurement: bytes per second over several repetitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Median over the repetitions, in bytes per second.
    pub median_bytes_per_s: f64,
    /// Slowest repetition, in bytes per second.
    pub min_bytes_per_s: f64,
    /// Fastest repetition, in bytes per second.
    pub max_bytes_per_s: f64,
    /// Bytes moved by each repetition.
    pub bytes_per_repetition: u64,
    /// Number of repetitions measured.
    pub repetitions: usize,
}

impl Bandwidth {
    /// Summarises per-repetition durations, each moving `bytes_per_repetition` bytes.
    ///
    /// Returns an error when `durations` is empty, since no median exists.
    pub fn from_durations(bytes_per_repetition: u64, durations: &[Duration]) -> io::Result<Self> {
        let mut rates: Vec<f64> = durations
            .iter()
            .map(|d| bytes_per_repetition as f64 / d.as_secs_f64().max(1e-9))
            .collect();
        rates.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max), Some(median)) =
            (rates.first(), rates.last(), median_sorted(&rates))
        else {
            return Err(io::Error::other("bandwidth measurement took no samples"));
        };
        Ok(Self {
            median_bytes_per_s: median,
            min_bytes_per_s: min,
            max_bytes_per_s: max,
            bytes_per_repetition,
            repetitions: rates.len(),
        })
    }

    /// The median in GiB per second, for display.
    pub fn median_gib_per_s(&self) -> f64 {
        self.median_bytes_per_s / (1024.0 * 1024.0 * 1024.0)
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        write!(
            f,
            "median {:.0} MiB/s (min {:.0}, max {:.0}; {} x {} MiB)",
            self.median_bytes_per_s / MIB,
            self.min_bytes_per_s / MIB,
            self.max_bytes_per_s / MIB,
            self.repetitions,
            self.bytes_per_repetition / (1024 * 1024),
        )
    }
}

/// A latency measurement over many samples, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Median (p50), in microseconds.
    pub median_us: f64,
    /// 99th percentile (nearest rank), in microseconds.
    pub p99_us: f64,
    /// Fastest sample, in microseconds.
    pub min_us: f64,
    /// Slowest sample, in microseconds.
    pub max_us: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Latency {
    /// Summarises a set of samples. Returns an error when `samples` is empty.
    pub fn from_samples(samples: &[Duration]) -> io::Result<Self> {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max), Some(median), Some(p99)) =
            (us.first(), us.last(), median_sorted(&us), percentile_sorted(&us, 0.99))
        else {
            return Err(io::Error::other("latency measurement took no samples"));
        };
        Ok(Self { median_us: median, p99_us: p99, min_us: min, max_us: max, samples: us.len() })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "median {:.1} us, p99 {:.1} us (min {:.1}, max {:.1}; {} samples)",
            self.median_us, self.p99_us, self.min_us, self.max_us, self.samples,
        )
    }
}

/// Every limit measured by [`measure_all`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineLimits {
    /// Result of [`memcpy_bandwidth`].
    pub memcpy: Bandwidth,
    /// Result of [`sequential_write_bandwidth`] without `fdatasync` (page cache).
    pub write_buffered: Bandwidth,
    /// Result of [`sequential_write_bandwidth`] with a final `fdatasync` (device).
    pub write_durable: Bandwidth,
    /// Result of [`fsync_latency`].
    pub fsync: Latency,
}

impl fmt::Display for MachineLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memcpy bandwidth:                   {}", self.memcpy)?;
        writeln!(f, "sequential write, no fdatasync:     {}", self.write_buffered)?;
        writeln!(f, "sequential write, final fdatasync:  {}", self.write_durable)?;
        write!(f, "write {FSYNC_WRITE_BYTES} B + fdatasync latency:   {}", self.fsync)
    }
}

/// Measures all limits, writing temporary files in `dir` (which should be on the disk the logs
/// will use). Takes roughly 10 to 15 seconds.
pub fn measure_all(dir: &Path) -> io::Result<MachineLimits> {
    Ok(MachineLimits {
        memcpy: memcpy_bandwidth()?,
        write_buffered: sequential_write_bandwidth(dir, false)?,
        write_durable: sequential_write_bandwidth(dir, true)?,
        fsync: fsync_latency(dir)?,
    })
}

/// Memory copy bandwidth of one thread: copies a [`MEMCPY_BUFFER_BYTES`] buffer into another
/// with `copy_from_slice` (which lowers to `memcpy`) and reports bytes copied per second.
///
/// Both buffers are touched before timing, so page faults are not counted. Repeats at least
/// [`REPETITIONS_MIN`] and at most [`REPETITIONS_MAX`] times within [`MEMCPY_BUDGET`].
pub fn memcpy_bandwidth() -> io::Result<Bandwidth> {
    memcpy_bandwidth_with(MEMCPY_BUFFER_BYTES, MEMCPY_BUDGET)
}

/// [`memcpy_bandwidth`] with an explicit buffer size and time budget (for quick runs and tests).
pub fn memcpy_bandwidth_with(buffer_bytes: usize, budget: Duration) -> io::Result<Bandwidth> {
    let src = crate::workload::payload(buffer_bytes, 0x5EED);
    let mut dst = vec![0u8; buffer_bytes];
    // One untimed copy warms the caches and TLB the same way every timed copy will find them.
    dst.copy_from_slice(&src);
    black_box(&mut dst);
    let durations = repeat_within(budget, || {
        let start = Instant::now();
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
        Ok(start.elapsed())
    })?;
    Bandwidth::from_durations(buffer_bytes as u64, &durations)
}

/// Sequential write bandwidth of one thread into a fresh temporary file in `dir`.
///
/// Each repetition creates a file, writes [`WRITE_FILE_BYTES`] in [`WRITE_CHUNK_BYTES`] chunks
/// and, when `fdatasync` is true, calls `fdatasync` once at the end; the time includes that call.
/// Without `fdatasync` the figure is the page-cache write bandwidth; with it, the device's. The
/// file is removed after each repetition (discarding dirty pages that were never synced, so one
/// repetition's writeback does not slow the next). Repeats at least [`REPETITIONS_MIN`] and at
/// most [`REPETITIONS_MAX`] times within [`WRITE_BUDGET`].
pub fn sequential_write_bandwidth(dir: &Path, fdatasync: bool) -> io::Result<Bandwidth> {
    sequential_write_bandwidth_with(dir, fdatasync, WRITE_FILE_BYTES, WRITE_BUDGET)
}

/// [`sequential_write_bandwidth`] with an explicit file size and time budget.
pub fn sequential_write_bandwidth_with(
    dir: &Path,
    fdatasync: bool,
    file_bytes: usize,
    budget: Duration,
) -> io::Result<Bandwidth> {
    let chunk = crate::workload::payload(WRITE_CHUNK_BYTES.min(file_bytes.max(1)), 0xD15C);
    let durations = repeat_within(budget, || {
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut file: &File = tmp.as_file();
        let start = Instant::now();
        let mut written = 0;
        while written < file_bytes {
            let len = chunk.len().min(file_bytes - written);
            file.write_all(chunk.get(..len).unwrap_or_default())?;
            written += len;
        }
        if fdatasync {
            file.sync_data()?;
        }
        let elapsed = start.elapsed();
        tmp.close()?;
        Ok(elapsed)
    })?;
    Bandwidth::from_durations(file_bytes as u64, &durations)
}

/// Latency of one durable small append: `write` of [`FSYNC_WRITE_BYTES`] to the end of a
/// temporary file in `dir`, then `fdatasync`.
///
/// Because every write extends the file, each `fdatasync` also flushes the new file size, which
/// is the case an append-only log meets. After [`FSYNC_WARMUP_ROUNDS`] untimed rounds it takes up
/// to [`FSYNC_SAMPLES_MAX`] samples within [`FSYNC_BUDGET`] and reports median and p99.
pub fn fsync_latency(dir: &Path) -> io::Result<Latency> {
    fsync_latency_with(dir, FSYNC_SAMPLES_MAX, FSYNC_BUDGET)
}

/// [`fsync_latency`] with an explicit sample cap and time budget.
pub fn fsync_latency_with(dir: &Path, samples_max: usize, budget: Duration) -> io::Result<Latency> {
    Latency::from_samples(&fsync_samples(dir, DurableWrite::Pwrite, samples_max, budget)?)
}

/// How a durable-append probe writes and syncs its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableWrite {
    /// `write` then `fdatasync`, two system calls.
    Pwrite,
    /// One io_uring submission: the write linked to an `fdatasync`, as the engine's io_uring
    /// backend makes an append durable.
    IoUring,
}

/// Times durable appends of [`FSYNC_WRITE_BYTES`] to the end of a temporary file in `dir`,
/// made durable `via` the given path: after [`FSYNC_WARMUP_ROUNDS`] untimed rounds, up to
/// `samples_max` samples within `budget` (at least one). Fails where the kernel refuses
/// io_uring, for [`DurableWrite::IoUring`].
pub fn fsync_samples(
    dir: &Path,
    via: DurableWrite,
    samples_max: usize,
    budget: Duration,
) -> io::Result<Vec<Duration>> {
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let record = crate::workload::payload(FSYNC_WRITE_BYTES, 0xF5);
    let samples = match via {
        DurableWrite::Pwrite => {
            let mut file = OpenOptions::new().append(true).open(tmp.path())?;
            sample_rounds(samples_max, budget, || {
                file.write_all(&record)?;
                file.sync_data()
            })
        }
        #[cfg(target_os = "linux")]
        DurableWrite::IoUring => {
            let file = std::sync::Arc::new(OpenOptions::new().write(true).open(tmp.path())?);
            let ring = redex_tiers::uring::UringFile::new(file)?;
            let mut offset = 0u64;
            sample_rounds(samples_max, budget, || {
                ring.write_all_at(&record, offset, true)?;
                offset += record.len() as u64;
                Ok(())
            })
        }
        #[cfg(not(target_os = "linux"))]
        DurableWrite::IoUring => {
            Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring is Linux only"))
        }
    };
    tmp.close()?;
    samples
}

/// Times `round` after [`FSYNC_WARMUP_ROUNDS`] untimed runs: up to `samples_max` samples
/// within `budget`, at least one.
fn sample_rounds(
    samples_max: usize,
    budget: Duration,
    mut round: impl FnMut() -> io::Result<()>,
) -> io::Result<Vec<Duration>> {
    for _ in 0..FSYNC_WARMUP_ROUNDS {
        round()?;
    }
    let deadline = Instant::now() + budget;
    let mut samples = Vec::with_capacity(samples_max);
    while samples.len() < samples_max.max(1) && (samples.is_empty() || Instant::now() < deadline) {
        let start = Instant::now();
        round()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

/// Runs `rep` at least [`REPETITIONS_MIN`] and at most [`REPETITIONS_MAX`] times, starting no
/// repetition beyond the minimum once `budget` has passed, and returns each repetition's time.
fn repeat_within(
    budget: Duration,
    mut rep: impl FnMut() -> io::Result<Duration>,
) -> io::Result<Vec<Duration>> {
    let deadline = Instant::now() + budget;
    let mut durations = Vec::with_capacity(REPETITIONS_MAX);
    while durations.len() < REPETITIONS_MAX
        && (durations.len() < REPETITIONS_MIN || Instant::now() < deadline)
    {
        durations.push(rep()?);
    }
    Ok(durations)
}

/// Median of an ascending slice; the mean of the middle pair for even lengths.
fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied()
    } else {
        Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0)
    }
}

/// Nearest-rank percentile `p` (0 < p <= 1) of an ascending slice.
fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentile() {
        assert_eq!(median_sorted(&[]), None);
        assert_eq!(median_sorted(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile_sorted(&hundred, 0.99), Some(99.0));
        assert_eq!(percentile_sorted(&hundred, 0.5), Some(50.0));
        assert_eq!(percentile_sorted(&[7.0], 0.99), Some(7.0));
    }

    #[test]
    fn empty_samples_are_an_error() {
        assert!(Bandwidth::from_durations(1, &[]).is_err());
        assert!(Latency::from_samples(&[]).is_err());
    }

    #[test]
    fn quick_measurements_run() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let copy = memcpy_bandwidth_with(1 << 20, Duration::ZERO)?;
        assert_eq!(copy.repetitions, REPETITIONS_MIN);
        assert!(copy.median_bytes_per_s > 0.0);
        let write = sequential_write_bandwidth_with(dir.path(), true, 3 << 20, Duration::ZERO)?;
        assert_eq!(write.bytes_per_repetition, 3 << 20);
        let fsync = fsync_latency_with(dir.path(), 5, Duration::from_secs(1))?;
        assert!(fsync.samples >= 1 && fsync.samples <= 5);
        assert!(fsync.p99_us >= fsync.median_us);
        match fsync_samples(dir.path(), DurableWrite::IoUring, 5, Duration::ZERO) {
            Ok(samples) => assert_eq!(samples.len(), 1, "no budget: one sample"),
            // Only where the kernel refuses io_uring altogether.
            #[cfg(target_os = "linux")]
            Err(e) => assert!(
                redex_tiers::uring::UringFile::new(std::sync::Arc::new(tempfile::tempfile()?))
                    .is_err(),
                "io_uring works here, yet the probe failed: {e}"
            ),
            #[cfg(not(target_os = "linux"))]
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::Unsupported),
        }
        // Every temporary file was removed.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        Ok(())
    }
}

//! The machine limits of this run and which one each figure is read against.
//!
//! | figure                                   | read against                                     |
//! |------------------------------------------|--------------------------------------------------|
//! | heap appends and all reads (payload B/s) | memcpy bandwidth                                 |
//! | persistent appends, fsync `never`        | sequential write bandwidth into the page cache   |
//! | persistent appends, fsyncing policy      | sequential write bandwidth including `fdatasync` |
//! | durable append (append + `sync()`) p50   | `write` + `fdatasync` latency p50                |
//!
//! A bandwidth ratio is ours / limit (1.0 = at the ceiling); a latency ratio is ours / floor
//! (1.0 = at the floor, higher is slower).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::options::Profile;
use super::Result;
use crate::limits;

/// The limits measured at the start of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// memcpy bandwidth, bytes/s (median).
    pub memcpy_bytes_per_s: f64,
    /// Sequential write into the page cache, bytes/s (median).
    pub write_buffered_bytes_per_s: f64,
    /// Sequential write including a final `fdatasync`, bytes/s (median).
    pub write_durable_bytes_per_s: f64,
    /// Size of each sequential write measurement, bytes.
    pub write_file_bytes: u64,
    /// `write` of 64 B + `fdatasync`, p50 in microseconds.
    pub fsync_p50_us: f64,
    /// The same, p99 in microseconds.
    pub fsync_p99_us: f64,
}

/// Measures the limits in `dir` (which should be where the logs go). A quick profile keeps it
/// to about 6 seconds; `write_file_bytes` sizes the write test.
pub fn measure(dir: &Path, profile: Profile, write_file_bytes: usize) -> Result<Limits> {
    let (memcpy_budget, write_budget, fsync_budget) = match profile {
        Profile::Quick => {
            (Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(1))
        }
        Profile::Full => (limits::MEMCPY_BUDGET, limits::WRITE_BUDGET, limits::FSYNC_BUDGET),
    };
    let memcpy = limits::memcpy_bandwidth_with(limits::MEMCPY_BUFFER_BYTES, memcpy_budget)?;
    let buffered =
        limits::sequential_write_bandwidth_with(dir, false, write_file_bytes, write_budget)?;
    let durable =
        limits::sequential_write_bandwidth_with(dir, true, write_file_bytes, write_budget)?;
    let fsync = limits::fsync_latency_with(dir, limits::FSYNC_SAMPLES_MAX, fsync_budget)?;
    Ok(Limits {
        memcpy_bytes_per_s: memcpy.median_bytes_per_s,
        write_buffered_bytes_per_s: buffered.median_bytes_per_s,
        write_durable_bytes_per_s: durable.median_bytes_per_s,
        write_file_bytes: write_file_bytes as u64,
        fsync_p50_us: fsync.median_us,
        fsync_p99_us: fsync.p99_us,
    })
}

/// Which limit a figure is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitUse {
    /// Payload bytes/s against memcpy.
    Memcpy,
    /// Payload bytes/s against sequential write into the page cache.
    WriteBuffered,
    /// Payload bytes/s against sequential write including `fdatasync`.
    WriteDurable,
    /// p50 latency against `write` + `fdatasync` p50.
    FsyncLatency,
    /// No machine limit applies.
    None,
}

impl LimitUse {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            LimitUse::Memcpy => "memcpy",
            LimitUse::WriteBuffered => "write",
            LimitUse::WriteDurable => "write+sync",
            LimitUse::FsyncLatency => "fsync",
            LimitUse::None => "",
        }
    }

    /// The ratio of a figure to this limit: payload bandwidth / limit bandwidth, or p50 latency
    /// / fsync p50. `None` when no limit applies or the figure is missing.
    pub fn ratio(
        self,
        limits: &Limits,
        payload_bytes_per_s: f64,
        p50_us: Option<f64>,
    ) -> Option<f64> {
        let of = |limit: f64| (limit > 0.0).then(|| payload_bytes_per_s / limit);
        match self {
            LimitUse::Memcpy => of(limits.memcpy_bytes_per_s),
            LimitUse::WriteBuffered => of(limits.write_buffered_bytes_per_s),
            LimitUse::WriteDurable => of(limits.write_durable_bytes_per_s),
            LimitUse::FsyncLatency => {
                p50_us.and_then(|p| (limits.fsync_p50_us > 0.0).then(|| p / limits.fsync_p50_us))
            }
            LimitUse::None => None,
        }
    }
}

//! Counters and the fsync latency histogram a file keeps, and the [`FileStats`] snapshot read
//! from them. Counters are relaxed atomics bumped once per append call: a few nanoseconds, no
//! lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::BackendKind;

/// Upper bounds of the fsync latency buckets, in microseconds (powers of two from 16 us to
/// about 8.4 s); one more bucket holds everything slower.
pub const FSYNC_BUCKET_BOUNDS_US: [u64; 20] = {
    let mut b = [0u64; 20];
    let mut i = 0;
    while i < 20 {
        b[i] = 16 << i;
        i += 1;
    }
    b
};

/// Append totals of one file, kept under its write lock, which every append holds anyway:
/// plain additions instead of three atomic read-modify-writes per append.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AppendCounters {
    pub(crate) calls: u64,
    pub(crate) events: u64,
    pub(crate) bytes: u64,
}

impl AppendCounters {
    pub(crate) fn record(&mut self, events: u64, bytes: u64) {
        self.calls += 1;
        self.events += events;
        self.bytes += bytes;
    }
}

/// Fsyncs of a file's logs and how long they took.
#[derive(Debug, Default)]
pub(crate) struct FsyncStats {
    count: AtomicU64,
    sum_ns: AtomicU64,
    buckets: [AtomicU64; FSYNC_BUCKET_BOUNDS_US.len() + 1],
}

impl FsyncStats {
    pub(crate) fn record(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        let us = ns / 1000;
        let slot = FSYNC_BUCKET_BOUNDS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(FSYNC_BUCKET_BOUNDS_US.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> FsyncHistogram {
        FsyncHistogram {
            count: self.count.load(Ordering::Relaxed),
            sum_ns: self.sum_ns.load(Ordering::Relaxed),
            buckets: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
        }
    }
}

/// Fsync latencies: a count, a sum and per-bucket counts (not cumulative) for the bounds in
/// [`FSYNC_BUCKET_BOUNDS_US`] plus a final overflow bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsyncHistogram {
    /// Fsyncs recorded.
    pub count: u64,
    /// Their total duration in nanoseconds.
    pub sum_ns: u64,
    /// Fsyncs per bucket.
    pub buckets: Vec<u64>,
}

/// Segments and payload bytes in one tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Segments in the tier.
    pub segments: u64,
    /// Entries in those segments.
    pub events: u64,
    /// Payload bytes in those segments.
    pub payload_bytes: u64,
}

/// A point-in-time view of one file, from [`crate::RedexFile::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStats {
    /// The channel.
    pub channel: String,
    /// The live append backend (`None` for heap-only files).
    pub backend: Option<BackendKind>,
    /// Seq the next append gets.
    pub next_seq: u64,
    /// Lowest retained seq.
    pub head_seq: u64,
    /// Payload bytes from the head to the end.
    pub retained_bytes: u64,
    /// Append calls (`append`, `append_batch` and their durable forms) since open.
    pub appends: u64,
    /// Entries appended since open.
    pub appended_events: u64,
    /// Payload bytes appended since open.
    pub appended_bytes: u64,
    /// Durable append calls since open.
    pub durable_appends: u64,
    /// Fsyncs of this file's logs since open (explicit, durable, policy and freeze) and their
    /// latencies.
    pub fsyncs: FsyncHistogram,
    /// The active segment and full segments still in memory.
    pub hot: TierStats,
    /// Frozen segments read through mmap.
    pub warm: TierStats,
    /// Warm segments open (mapped) now: at most
    /// [`crate::RedexFileConfig::with_open_segments_max`]. A closed segment a reader still
    /// holds stays mapped until the reader lets go, and is not counted.
    pub warm_open_segments: u64,
    /// Warm segments closed since open to stay within that bound.
    pub warm_segment_closes: u64,
    /// Warm segments mapped again since open after being closed (a high rate means the bound
    /// is smaller than the set of segments being read).
    pub warm_segment_reopens: u64,
    /// Segments archived to the cold store (known from the manifest, even without a store).
    pub cold: TierStats,
    /// Archival and cold reads, when a cold store is configured.
    pub cold_tier: Option<ColdStats>,
    /// Live tail subscribers.
    pub tail_subscribers: u64,
    /// Events the slowest tail subscriber has not yet received (bounded by the tail buffer).
    pub tail_lag_events: u64,
}

/// Archival and cold-read counters of a file with a cold store, since open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColdStats {
    /// Segments uploaded, verified and recorded as cold.
    pub archived_segments: u64,
    /// Payload bytes of those segments.
    pub archived_bytes: u64,
    /// Archive attempts that failed (store unreachable, upload or verification failed); each
    /// is retried with backoff while the segment stays warm.
    pub archive_failures: u64,
    /// Frozen segments outside the warm window still waiting to be archived (0 or 1: the
    /// next candidate is evaluated oldest first).
    pub pending_segments: u64,
    /// The last archive failure, cleared by the next success.
    pub last_error: Option<String>,
    /// Objects deleted because retention dropped their segment.
    pub objects_deleted: u64,
    /// Ranged fetches sent to the store by reads.
    pub fetches: u64,
    /// Bytes those fetches returned.
    pub fetched_bytes: u64,
    /// Cold reads answered from the fetch cache.
    pub cache_hits: u64,
    /// Cold reads that had to fetch.
    pub cache_misses: u64,
    /// Cache entries evicted to stay within its budget.
    pub cache_evictions: u64,
    /// Bytes the cache holds now.
    pub cache_bytes: u64,
}

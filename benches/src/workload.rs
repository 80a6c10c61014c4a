//! Workloads shared by the engine bench (`benches/redex.rs`) and the peer bench
//! (`benches/peer_redex.rs`).
//!
//! Both bench files take their payloads, batch shapes, event counts and bench names from here, so
//! a figure for our engine and a figure for the reference system always describe the same work.
//! The workloads are:
//!
//! | name                        | what one criterion iteration does                          |
//! |-----------------------------|------------------------------------------------------------|
//! | `heap_single_64B`           | heap-only `append` of one 64 B payload                      |
//! | `heap_batch64_64B`          | heap-only `append_batch` of 64 payloads of 64 B             |
//! | `disk_single_64B`           | persistent (`FsyncPolicy::Never`) `append` of one 64 B payload |
//! | `disk_batch64_64B`          | persistent `append_batch` of 64 payloads of 64 B            |
//! | `disk_batch64_1KiB`         | persistent `append_batch` of 64 payloads of 1 KiB           |
//! | `read_range_64B_whole`      | read 100 000 events of 64 B from a heap-only log in one `read_range` |
//! | `read_range_64B_chunked`    | the same read in `read_range` calls of 1024 events          |
//! | `disk_read_range_64B_whole` / `_chunked` | the same two reads from a persistent log    |
//!
//! Throughput is reported in events (`criterion::Throughput::Elements`).
//!
//! Append loops never reuse one log forever: [`timed_rotating`] opens a fresh log every
//! [`ops_per_log`] operations, so a long run neither hits a per-log size cap nor grows memory or
//! disk use without bound. Only the appends are timed; opening and closing logs is not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Number of payloads in one `append_batch` call.
pub const BATCH_LEN: usize = 64;

/// Payload size of the small-event workloads, in bytes.
pub const SMALL_PAYLOAD_BYTES: usize = 64;

/// Payload size of the large-event batch workload, in bytes (1 KiB).
pub const LARGE_PAYLOAD_BYTES: usize = 1024;

/// Number of events prefilled for the read workloads and read back per iteration.
pub const READ_EVENTS: u64 = 100_000;

/// Events requested per `read_range` call in the chunked read workload.
pub const READ_CHUNK_EVENTS: u64 = 1024;

/// Payload bytes one log absorbs before [`timed_rotating`] replaces it with a fresh one.
///
/// Large enough that opening a log is amortised over many appends and the log reaches steady
/// state (segments fill and freeze), small enough to bound memory and disk use per bench.
pub const LOG_PAYLOAD_BYTES_MAX: usize = 128 * 1024 * 1024;

/// Channel-name prefix of every log opened by the benches.
pub const CHANNEL_PREFIX: &str = "bench";

/// One of the benchmark workloads compared across systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Heap-only log, one `append` of [`SMALL_PAYLOAD_BYTES`].
    HeapSingleSmall,
    /// Heap-only log, `append_batch` of [`BATCH_LEN`] x [`SMALL_PAYLOAD_BYTES`].
    HeapBatchSmall,
    /// Persistent log (`FsyncPolicy::Never`), one `append` of [`SMALL_PAYLOAD_BYTES`].
    DiskSingleSmall,
    /// Persistent log (`FsyncPolicy::Never`), `append_batch` of [`BATCH_LEN`] x
    /// [`SMALL_PAYLOAD_BYTES`].
    DiskBatchSmall,
    /// Persistent log (`FsyncPolicy::Never`), `append_batch` of [`BATCH_LEN`] x
    /// [`LARGE_PAYLOAD_BYTES`].
    DiskBatchLarge,
    /// Read [`READ_EVENTS`] events of [`SMALL_PAYLOAD_BYTES`] from a heap-only log with one
    /// `read_range` call.
    ReadWhole,
    /// Read [`READ_EVENTS`] events of [`SMALL_PAYLOAD_BYTES`] from a heap-only log in
    /// `read_range` calls of [`READ_CHUNK_EVENTS`].
    ReadChunked,
    /// [`Workload::ReadWhole`] from a persistent log (`FsyncPolicy::Never`).
    DiskReadWhole,
    /// [`Workload::ReadChunked`] from a persistent log (`FsyncPolicy::Never`).
    DiskReadChunked,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 9] = [
        Workload::HeapSingleSmall,
        Workload::HeapBatchSmall,
        Workload::DiskSingleSmall,
        Workload::DiskBatchSmall,
        Workload::DiskBatchLarge,
        Workload::ReadWhole,
        Workload::ReadChunked,
        Workload::DiskReadWhole,
        Workload::DiskReadChunked,
    ];

    /// The bench name used by every system, so reports line up.
    pub fn name(self) -> &'static str {
        match self {
            Workload::HeapSingleSmall => "heap_single_64B",
            Workload::HeapBatchSmall => "heap_batch64_64B",
            Workload::DiskSingleSmall => "disk_single_64B",
            Workload::DiskBatchSmall => "disk_batch64_64B",
            Workload::DiskBatchLarge => "disk_batch64_1KiB",
            Workload::ReadWhole => "read_range_64B_whole",
            Workload::ReadChunked => "read_range_64B_chunked",
            Workload::DiskReadWhole => "disk_read_range_64B_whole",
            Workload::DiskReadChunked => "disk_read_range_64B_chunked",
        }
    }

    /// Payload size of each event, in bytes.
    pub fn payload_bytes(self) -> usize {
        match self {
            Workload::DiskBatchLarge => LARGE_PAYLOAD_BYTES,
            _ => SMALL_PAYLOAD_BYTES,
        }
    }

    /// Events handled by one criterion iteration (the `Throughput::Elements` figure).
    pub fn events_per_iteration(self) -> u64 {
        match self {
            Workload::HeapBatchSmall | Workload::DiskBatchSmall | Workload::DiskBatchLarge => {
                BATCH_LEN as u64
            }
            Workload::HeapSingleSmall | Workload::DiskSingleSmall => 1,
            Workload::ReadWhole
            | Workload::ReadChunked
            | Workload::DiskReadWhole
            | Workload::DiskReadChunked => READ_EVENTS,
        }
    }

    /// Whether the workload uses a persistent (disk-backed) log.
    pub fn is_persistent(self) -> bool {
        matches!(
            self,
            Workload::DiskSingleSmall
                | Workload::DiskBatchSmall
                | Workload::DiskBatchLarge
                | Workload::DiskReadWhole
                | Workload::DiskReadChunked
        )
    }

    /// Whether one iteration reads the whole prefilled range with a single `read_range` call
    /// (as opposed to chunks of [`READ_CHUNK_EVENTS`]); false for append workloads.
    pub fn is_whole_read(self) -> bool {
        matches!(self, Workload::ReadWhole | Workload::DiskReadWhole)
    }

    /// Number of append operations one log absorbs before it is replaced, for append workloads.
    pub fn ops_per_log(self) -> u64 {
        let events = self.events_per_iteration();
        ops_per_log(self.payload_bytes().saturating_mul(events as usize))
    }
}

/// Number of operations of `op_payload_bytes` each that one log absorbs before
/// [`timed_rotating`] opens a fresh one. Never zero.
pub fn ops_per_log(op_payload_bytes: usize) -> u64 {
    (LOG_PAYLOAD_BYTES_MAX / op_payload_bytes.max(1)).max(1) as u64
}

/// A deterministic, non-constant payload of `len` bytes.
///
/// The bytes come from a xorshift generator seeded with `seed`, so no layer can shortcut the work
/// by recognising a repeated byte, and two runs produce the same bytes.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    // A zero state would make xorshift emit zeros forever; the odd constant avoids it.
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (len - out.len()).min(8);
        out.extend_from_slice(state.to_le_bytes().get(..take).unwrap_or_default());
    }
    out
}

/// A batch of `count` distinct payloads of `len` bytes each.
pub fn batch(count: usize, len: usize) -> Vec<Vec<u8>> {
    (0..count as u64).map(|i| payload(len, i)).collect()
}

/// A channel name unique within this process: `bench/<label>/<n>`, with `label` lowercased
/// (the reference system accepts lowercase channel names only).
///
/// Each rotated log gets a fresh name, so no log ever recovers state left by an earlier one.
pub fn unique_channel(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{CHANNEL_PREFIX}/{}/{n}", label.to_ascii_lowercase())
}

/// A fresh temporary directory for one persistent log, removed when dropped.
///
/// It is created under `$REDEX_BENCH_DIR` when that is set (point it at the disk under test), and
/// under the system temporary directory otherwise.
pub fn temp_log_dir() -> std::io::Result<tempfile::TempDir> {
    match std::env::var_os("REDEX_BENCH_DIR") {
        Some(base) => tempfile::Builder::new().prefix("redex-bench-").tempdir_in(base),
        None => tempfile::Builder::new().prefix("redex-bench-").tempdir(),
    }
}

/// Times exactly `iters` calls of `op`, opening a fresh log with `open` every `ops_per_log`
/// calls, for use inside criterion's `iter_custom`.
///
/// Only the `op` calls are timed. `open` returns whatever must stay alive while the log is in use
/// (for example the manager, the file and its temporary directory); it is dropped, untimed, before
/// the next log is opened, so at most one log's data exists at a time.
pub fn timed_rotating<T>(
    iters: u64,
    ops_per_log: u64,
    mut open: impl FnMut() -> T,
    mut op: impl FnMut(&T),
) -> Duration {
    let ops_per_log = ops_per_log.max(1);
    let mut total = Duration::ZERO;
    let mut remaining = iters;
    while remaining > 0 {
        let log = open();
        let n = ops_per_log.min(remaining);
        let start = Instant::now();
        for _ in 0..n {
            op(&log);
        }
        total += start.elapsed();
        remaining -= n;
        drop(log);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_requested_length_and_is_deterministic() {
        for len in [0, 1, 7, 8, 9, 64, 1024] {
            assert_eq!(payload(len, 3).len(), len);
            assert_eq!(payload(len, 3), payload(len, 3));
        }
        assert_ne!(payload(64, 1), payload(64, 2));
    }

    #[test]
    fn batch_payloads_differ() {
        let b = batch(BATCH_LEN, SMALL_PAYLOAD_BYTES);
        assert_eq!(b.len(), BATCH_LEN);
        assert_ne!(b[0], b[1]);
    }

    #[test]
    fn timed_rotating_runs_exactly_iters_ops() {
        let mut opened = 0u64;
        let count = std::cell::Cell::new(0u64);
        let _ = timed_rotating(
            10,
            3,
            || {
                opened += 1;
            },
            |_| count.set(count.get() + 1),
        );
        assert_eq!(count.get(), 10);
        assert_eq!(opened, 4);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Workload::ALL.len());
    }
}

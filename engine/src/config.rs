//! Per-file configuration: persistence, fsync policy, retention and segment sizes.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{RedexError, Result};
pub use redex_tiers::cold::ColdStore;
pub use redex_tiers::{AppendBackend, BackendKind};

/// When the engine calls `fdatasync` on its own. Policy fsyncs run on a background thread, never
/// on the append path; [`crate::RedexFile::sync`] and [`crate::RedexFile::close`] always fsync.
/// The loss bound of each policy is in `docs/DURABILITY.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Only `sync()` and `close()` fsync. An acknowledged append still survives a process crash
    /// (it is in the kernel's page cache); a machine crash may lose what followed the last sync.
    #[default]
    Never,
    /// Ask for a background fsync after every `n` appends (`0` and `1` both mean every append).
    EveryN(u64),
    /// Fsync in the background every period, if anything was appended.
    Interval(Duration),
    /// Fsync every `period`, or as soon as `max_bytes` have been appended since the last fsync.
    IntervalOrBytes {
        /// Longest time between fsyncs while there are unsynced appends.
        period: Duration,
        /// Unsynced bytes that trigger an early fsync.
        max_bytes: u64,
    },
}

/// How much history a file keeps. Limits combine: an entry is evicted as soon as any limit
/// says so. Age is measured from each entry's persisted append timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Keep at most this many newest entries.
    pub max_events: Option<u64>,
    /// Keep at most this many bytes of newest payloads.
    pub max_bytes: Option<u64>,
    /// Keep entries appended within this duration.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Keeps everything (the default).
    pub fn unlimited() -> Self {
        Retention::default()
    }

    /// Keeps the newest `n` entries.
    pub fn events(n: u64) -> Self {
        Retention::default().with_max_events(n)
    }

    /// Keeps the newest `n` payload bytes.
    pub fn bytes(n: u64) -> Self {
        Retention::default().with_max_bytes(n)
    }

    /// Keeps entries younger than `age`.
    pub fn age(age: Duration) -> Self {
        Retention::default().with_max_age(age)
    }

    /// Adds an event-count limit.
    pub fn with_max_events(mut self, n: u64) -> Self {
        self.max_events = Some(n);
        self
    }

    /// Adds a payload-bytes limit.
    pub fn with_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// Adds an age limit.
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        self.max_events.is_some() || self.max_bytes.is_some() || self.max_age.is_some()
    }
}

/// Smallest accepted segment size.
pub const SEGMENT_BYTES_MIN: u64 = 4096;
/// Largest accepted segment size (offsets inside a segment are 32-bit).
pub const SEGMENT_BYTES_MAX: u64 = u32::MAX as u64;
/// Default bound on a file's open (mapped) warm segments; see
/// [`RedexFileConfig::with_open_segments_max`].
pub const OPEN_SEGMENTS_MAX_DEFAULT: usize = 1024;

/// Configuration of one [`crate::RedexFile`], built fluently from `default()`.
///
/// ```
/// use redex::{FsyncPolicy, RedexFileConfig, Retention};
/// let cfg = RedexFileConfig::default()
///     .with_persistent(true)
///     .with_fsync_policy(FsyncPolicy::EveryN(100))
///     .with_retention(Retention::events(1_000_000))
///     .with_segment_bytes_max(32 << 20);
/// assert!(cfg.persistent());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedexFileConfig {
    persistent: bool,
    fsync_policy: FsyncPolicy,
    retention: Retention,
    segment_bytes_max: u64,
    segment_events_max: u64,
    tail_buffer_events: usize,
    open_segments_max: usize,
    append_backend: AppendBackend,
    cold: ColdConfig,
}

/// Where and when a file's frozen segments go to the cold tier, and how it is read.
#[derive(Debug, Clone)]
pub struct ColdConfig {
    /// The archive; `None`: no cold tier.
    pub store: Option<Arc<dyn ColdStore>>,
    /// Frozen segments wholly outside these limits are archived, then deleted locally.
    pub warm_retention: Retention,
    /// Bytes of fetched index sections and log blocks cached in memory.
    pub cache_bytes: u64,
    /// Whether `get`, `read_range` and `tail` cross into archived history transparently
    /// (otherwise only [`crate::RedexFile::read_cold`] reads it).
    pub transparent_reads: bool,
}

impl Default for ColdConfig {
    fn default() -> Self {
        ColdConfig {
            store: None,
            warm_retention: Retention::unlimited(),
            cache_bytes: 64 << 20,
            transparent_reads: true,
        }
    }
}

impl PartialEq for ColdConfig {
    /// Stores compare by identity: two handles to the same store are the same configuration.
    fn eq(&self, other: &Self) -> bool {
        let same_store = match (&self.store, &other.store) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            _ => false,
        };
        same_store
            && self.warm_retention == other.warm_retention
            && self.cache_bytes == other.cache_bytes
            && self.transparent_reads == other.transparent_reads
    }
}

impl Eq for ColdConfig {}

impl Default for RedexFileConfig {
    fn default() -> Self {
        RedexFileConfig {
            persistent: false,
            fsync_policy: FsyncPolicy::Never,
            retention: Retention::unlimited(),
            segment_bytes_max: 64 << 20,
            segment_events_max: 1 << 24,
            tail_buffer_events: 4096,
            open_segments_max: OPEN_SEGMENTS_MAX_DEFAULT,
            append_backend: AppendBackend::Auto,
            cold: ColdConfig::default(),
        }
    }
}

impl RedexFileConfig {
    /// Keep the file on disk (needs a manager made by `Redex::with_persistent_dir`).
    pub fn with_persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Sets the fsync policy.
    pub fn with_fsync_policy(mut self, policy: FsyncPolicy) -> Self {
        self.fsync_policy = policy;
        self
    }

    /// Sets the retention limits.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Rolls the active segment over once its log reaches this many bytes (default 64 MiB).
    pub fn with_segment_bytes_max(mut self, bytes: u64) -> Self {
        self.segment_bytes_max = bytes;
        self
    }

    /// Rolls the active segment over once it holds this many entries (default 16 Mi).
    pub fn with_segment_events_max(mut self, events: u64) -> Self {
        self.segment_events_max = events;
        self
    }

    /// Events a tail subscriber may fall behind before it gets `Lagged` (default 4096).
    pub fn with_tail_buffer_events(mut self, events: usize) -> Self {
        self.tail_buffer_events = events;
        self
    }

    /// How many of a persistent file's frozen (warm) segments may be open at once (default
    /// [`OPEN_SEGMENTS_MAX_DEFAULT`], 1024; at least 1). A warm segment is mapped when first
    /// read; to open one more beyond the bound, the least recently used open one is closed
    /// (CLOCK order) and mapped again on its next read, so mappings and memory stay bounded
    /// however much history a long-running process reads. Payloads already handed out, and
    /// reads in progress, keep a closed segment's mapping alive until they are dropped.
    ///
    /// Each open segment costs two mappings against the kernel's per-process limit
    /// (`vm.max_map_count`, 65530 by default on Linux) and a few hundred heap bytes. The default
    /// (2048 mappings per file at most) lets about thirty files hold their whole bound at once,
    /// and with 64 MiB segments keeps 64 GiB of history open per file. Re-opening a closed
    /// segment took about 50 us on the development machine, against about 0.1 us for a `get`
    /// from an open one. Lower the bound for processes with many files or a tight mapping
    /// limit; raise it for random reads spread over more segments.
    pub fn with_open_segments_max(mut self, segments: usize) -> Self {
        self.open_segments_max = segments;
        self
    }

    /// The bound on open warm segments.
    pub fn open_segments_max(&self) -> usize {
        self.open_segments_max
    }

    /// The append path of a persistent file: io_uring, the portable `pwrite` path, or `Auto`
    /// (io_uring where the kernel allows it; the environment variable `REDEX_APPEND_BACKEND`
    /// set to `std` or `io_uring` overrides `Auto`). [`crate::RedexFile::backend`] reports the
    /// live one.
    pub fn with_append_backend(mut self, backend: AppendBackend) -> Self {
        self.append_backend = backend;
        self
    }

    /// The configured append backend.
    pub fn append_backend(&self) -> AppendBackend {
        self.append_backend
    }

    /// Whether the file is kept on disk.
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// The fsync policy.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.fsync_policy
    }

    /// The retention limits.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Segment size threshold in bytes.
    pub fn segment_bytes_max(&self) -> u64 {
        self.segment_bytes_max
    }

    /// Segment entry-count threshold.
    pub fn segment_events_max(&self) -> u64 {
        self.segment_events_max
    }

    /// Tail subscriber buffer, in events.
    pub fn tail_buffer_events(&self) -> usize {
        self.tail_buffer_events
    }

    /// Archives frozen segments to `store` once they leave the warm window
    /// ([`RedexFileConfig::with_warm_retention`]), and reads them back from it. Persistent
    /// files only.
    pub fn with_cold_store(mut self, store: Arc<dyn ColdStore>) -> Self {
        self.cold.store = Some(store);
        self
    }

    /// How much history stays local (hot and warm). Whole frozen segments outside these limits
    /// are uploaded to the cold store, verified, recorded, and only then deleted locally. The
    /// file's own [`Retention`] still bounds the whole log, cold part included.
    pub fn with_warm_retention(mut self, warm: Retention) -> Self {
        self.cold.warm_retention = warm;
        self
    }

    /// Bytes of fetched cold data (index sections, 1 MiB log blocks) kept in memory; default
    /// 64 MiB.
    pub fn with_cold_cache_bytes(mut self, bytes: u64) -> Self {
        self.cold.cache_bytes = bytes;
        self
    }

    /// Whether `get`, `read_range` and `tail` read archived history transparently (default
    /// `true`). When `false`, they return [`RedexError::ColdUnavailable`] for archived seqs and
    /// only [`crate::RedexFile::read_cold`] reads them.
    pub fn with_cold_reads(mut self, transparent: bool) -> Self {
        self.cold.transparent_reads = transparent;
        self
    }

    /// The cold-tier settings.
    pub fn cold(&self) -> &ColdConfig {
        &self.cold
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes_max) {
            return Err(RedexError::InvalidConfig(format!(
                "segment_bytes_max {} is outside {SEGMENT_BYTES_MIN}..={SEGMENT_BYTES_MAX}",
                self.segment_bytes_max
            )));
        }
        if self.segment_events_max == 0 || self.segment_events_max > u64::from(u32::MAX) {
            return Err(RedexError::InvalidConfig(format!(
                "segment_events_max {} is outside 1..=2^32-1",
                self.segment_events_max
            )));
        }
        if self.tail_buffer_events == 0 || self.tail_buffer_events > 1 << 24 {
            return Err(RedexError::InvalidConfig(format!(
                "tail_buffer_events {} is outside 1..=16Mi",
                self.tail_buffer_events
            )));
        }
        if self.open_segments_max == 0 {
            return Err(RedexError::InvalidConfig(
                "open_segments_max must be at least 1 (a read needs its segment open)".into(),
            ));
        }
        match self.fsync_policy {
            FsyncPolicy::Interval(d) | FsyncPolicy::IntervalOrBytes { period: d, .. }
                if d.is_zero() =>
            {
                return Err(RedexError::InvalidConfig("fsync interval must be non-zero".into()));
            }
            FsyncPolicy::IntervalOrBytes { max_bytes: 0, .. } => {
                return Err(RedexError::InvalidConfig("fsync max_bytes must be non-zero".into()));
            }
            _ => {}
        }
        if self.retention.max_events == Some(0) || self.cold.warm_retention.max_events == Some(0) {
            return Err(RedexError::InvalidConfig("retention max_events must be non-zero".into()));
        }
        if self.cold.store.is_some() && !self.persistent {
            return Err(RedexError::InvalidConfig(
                "a cold store archives frozen segments, which only persistent files have".into(),
            ));
        }
        if self.cold.warm_retention.is_limited() && self.cold.store.is_none() {
            return Err(RedexError::InvalidConfig(
                "warm retention says which segments to archive; it needs a cold store \
                 (with_cold_store)"
                    .into(),
            ));
        }
        Ok(())
    }
}

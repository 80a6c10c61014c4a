//! The one error type of the RedEX engine.

use std::io;
use std::path::PathBuf;

use redex_tiers::TierError;

/// Every failure the engine reports. Each variant names what failed and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedexError {
    /// A channel name broke the naming rules.
    #[error("invalid channel name {name:?}: {reason}")]
    InvalidChannelName {
        /// The rejected name.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Bytes on disk fail their format or checksum.
    #[error("corrupt {path}: at byte {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage inside `path`.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A file was written by a format version this build does not read.
    #[error(
        "{path}: {what} format version {found} is not supported (this build reads {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Which structure carried the version.
        what: &'static str,
        /// The version on disk.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// An operating-system call failed (disk full, permission denied, ...).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another writer holds the directory.
    #[error("{path} is locked by another writer (one writer per directory)")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The requested seq is below the retained head.
    #[error("seq {requested} was evicted by retention (retained head is {head})")]
    Evicted {
        /// The seq asked for.
        requested: u64,
        /// The lowest seq still readable.
        head: u64,
    },
    /// A tail subscriber fell behind its bounded buffer and was cut off.
    #[error("tail subscriber lagged: {skipped} events overflowed its buffer at seq {at_seq}")]
    Lagged {
        /// The first seq the subscriber did not receive.
        at_seq: u64,
        /// How many events overflowed.
        skipped: u64,
    },
    /// A range whose start is past its end.
    #[error("invalid range {start}..{end}")]
    InvalidRange {
        /// Requested start.
        start: u64,
        /// Requested end (exclusive).
        end: u64,
    },
    /// A batch too large for one segment (a frame's offsets are 32-bit).
    #[error("batch of {bytes} bytes is too large (limit {limit} bytes per batch)")]
    BatchTooLarge {
        /// Encoded size of the batch.
        bytes: u64,
        /// Largest accepted size.
        limit: u64,
    },
    /// An archived seq was read in a way the file's cold settings do not allow.
    #[error("seq {seq} of channel {channel} is in the cold archive: {reason}")]
    ColdUnavailable {
        /// The channel.
        channel: String,
        /// The archived seq that was asked for.
        seq: u64,
        /// Why it cannot be read this way (no store configured, or transparent reads off).
        reason: String,
    },
    /// The file was closed.
    #[error("channel {channel} is closed")]
    Closed {
        /// The channel.
        channel: String,
    },
    /// The file was opened read-only (`Redex::open_read_only`).
    #[error("channel {channel} is open read-only")]
    ReadOnly {
        /// The channel.
        channel: String,
    },
    /// A write failed and could not be rolled back; the file refuses appends until reopened.
    #[error("channel {channel} refuses appends after an unrecoverable write failure: {reason}")]
    Poisoned {
        /// The channel.
        channel: String,
        /// The failure.
        reason: String,
    },
    /// A typed payload failed to encode or decode.
    #[error("typed payload at seq {seq:?}: {reason}")]
    Codec {
        /// The entry, when decoding.
        seq: Option<u64>,
        /// The postcard error.
        reason: String,
    },
    /// A conditional append ([`crate::RedexFile::append_batch_at`], [`crate::OrderedAppender`])
    /// found the log elsewhere than expected; nothing was written.
    #[error(
        "channel {channel}: expected to append at seq {expected}, but the log's next seq is \
         {actual} (another writer appended, or the appender is stale)"
    )]
    SeqMismatch {
        /// The channel.
        channel: String,
        /// The seq the caller expected its first entry to get.
        expected: u64,
        /// The file's actual next seq.
        actual: u64,
    },
    /// A [`crate::RedexIndex`] stopped before reaching the seq waited for: its projection
    /// failed under [`crate::IndexErrorPolicy::Stop`], the history it needed was evicted, or
    /// a read of the log failed. Nothing at or after `seq` is in the index.
    #[error("index of channel {channel} stopped at seq {seq}: {reason}")]
    IndexStopped {
        /// The channel.
        channel: String,
        /// The first seq the index did not apply.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// Something that spawns a background task was called outside a tokio runtime.
    #[error("{what} must be called from within a tokio runtime")]
    NoRuntime {
        /// What was called.
        what: &'static str,
    },
}

impl RedexError {
    /// For a read that began at `start` and found a later seq evicted by the time it got
    /// there: the eviction reported at `start`, which the caller asked for (and which is below
    /// the head too).
    pub(crate) fn evicted_from(self, start: u64) -> Self {
        match self {
            RedexError::Evicted { requested, head } => {
                RedexError::Evicted { requested: requested.min(start), head }
            }
            other => other,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        RedexError::Io { op, path: path.into(), source }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        RedexError::Corrupt { path: path.into(), offset, reason: reason.into() }
    }
}

impl From<TierError> for RedexError {
    fn from(e: TierError) -> Self {
        match e {
            TierError::Corrupt { path, offset, reason } => {
                RedexError::Corrupt { path, offset, reason }
            }
            TierError::UnsupportedVersion { path, what, found, supported } => {
                RedexError::UnsupportedVersion { path, what, found, supported }
            }
            TierError::Io { op, path, source } => RedexError::Io { op, path, source },
            other => {
                RedexError::Corrupt { path: PathBuf::new(), offset: 0, reason: other.to_string() }
            }
        }
    }
}

/// Result alias for the engine.
pub type Result<T, E = RedexError> = std::result::Result<T, E>;

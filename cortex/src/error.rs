//! The one error type of CortEX.
//!
//! Everything an adapter, a model or a snapshot can fail with is a [`CortexError`]. Fold
//! implementations report their own failures with the small [`crate::FoldError`] value, which
//! the adapter turns into [`CortexError::FoldHalted`] under [`crate::FoldErrorPolicy::Stop`].

use redex::RedexError;

/// Every failure CortEX reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CortexError {
    /// The underlying log failed (I/O, closed file, invalid channel name, ...).
    #[error(transparent)]
    Redex(#[from] RedexError),
    /// The fold stopped at `seq` under [`crate::FoldErrorPolicy::Stop`], or panicked there
    /// (under either policy); the state holds every event below `seq` (after a panic, possibly
    /// part of the event at `seq` too) and nothing at or after it will be applied by this
    /// adapter.
    #[error("fold halted at seq {seq}: {reason}")]
    FoldHalted {
        /// The event the fold could not apply.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The adapter was closed.
    #[error("the adapter of channel {channel} is closed")]
    Closed {
        /// The channel the adapter folded.
        channel: String,
    },
    /// Bytes that should start with an [`crate::EventMeta`] envelope do not.
    #[error("invalid event envelope: {reason}")]
    InvalidEnvelope {
        /// What was wrong.
        reason: String,
    },
    /// A payload or snapshot body failed to encode or decode with postcard.
    #[error("{what}: {reason}")]
    Codec {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The postcard error.
        reason: String,
    },
    /// Bytes given as a snapshot do not start with the snapshot magic.
    #[error("not a CortEX snapshot: {reason}")]
    NotASnapshot {
        /// What was wrong.
        reason: String,
    },
    /// A snapshot written in a container format version this build does not read.
    #[error("snapshot format version {found} is not supported (this build reads {supported})")]
    UnsupportedSnapshotVersion {
        /// The version in the snapshot.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A snapshot of another model, or of another schema version of the same model.
    #[error("snapshot holds model {found_model:?} v{found_version}, expected {expected_model:?} v{expected_version}")]
    SnapshotModelMismatch {
        /// The model named in the snapshot.
        found_model: String,
        /// Its schema version.
        found_version: u32,
        /// The model being restored.
        expected_model: &'static str,
        /// The schema version this build of the model uses.
        expected_version: u32,
    },
    /// A restored state includes events its log does not have: its `last_seq` is at or past
    /// the log's `next_seq` (a heap-only log gone with its process or closed, a log replaced
    /// or cut back). Resuming would skip the next events appended, the seqs below `last_seq +
    /// 1` being handed to them.
    #[error("channel {channel}: the restored state includes seq {last_seq} but the log ends before seq {next_seq}")]
    SnapshotAheadOfLog {
        /// The channel of the log.
        channel: String,
        /// The last seq the state includes.
        last_seq: u64,
        /// The log's next seq.
        next_seq: u64,
    },
    /// `open` was called outside a tokio runtime, so the fold task has nowhere to run.
    #[error("CortexAdapter::open must be called from within a tokio runtime")]
    NoRuntime,
}

/// Result alias for CortEX.
pub type Result<T, E = CortexError> = std::result::Result<T, E>;

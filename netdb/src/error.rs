//! [`NetDbError`]: the one error type of NetDB.
//!
//! Errors of the layers below pass through unchanged ([`NetDbError::Cortex`],
//! [`NetDbError::Redex`]); everything else is about the composition itself: which models a
//! database has, and whether a snapshot bundle fits the database it is restored into.

use cortex::CortexError;
use redex::RedexError;

use crate::model_kind::ModelKind;

/// Every failure NetDB reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetDbError {
    /// A model failed: its fold halted, it was closed, its snapshot did not decode, ...
    #[error(transparent)]
    Cortex(#[from] CortexError),
    /// The log underneath failed.
    #[error(transparent)]
    Redex(#[from] RedexError),
    /// A model name is not a valid RedEX channel name (each model lives on the channel of
    /// its name).
    #[error("model name {name:?} is not a valid channel name: {source}")]
    InvalidModelName {
        /// The name given.
        name: String,
        /// Why the channel name was refused.
        source: RedexError,
    },
    /// Two models of one database were given the same name (or channel).
    #[error("model {name:?} is enabled twice")]
    DuplicateModel {
        /// The name given twice.
        name: String,
    },
    /// The database has no model of this name.
    #[error("this database has no model named {name:?}")]
    ModelNotEnabled {
        /// The name asked for.
        name: String,
    },
    /// The model exists but its state is not the type asked for.
    #[error("model {name:?} does not hold a state of type {requested}")]
    ModelTypeMismatch {
        /// The model.
        name: String,
        /// The state type asked for.
        requested: &'static str,
    },
    /// Bytes given as a bundle do not start like one (wrong magic or cut short).
    #[error("not a NetDB snapshot bundle: {reason}")]
    NotABundle {
        /// What was wrong.
        reason: String,
    },
    /// A bundle written in a format version this build does not read.
    #[error(
        "snapshot bundle format version {found} is not supported (this build reads {supported})"
    )]
    UnsupportedBundleVersion {
        /// The version in the bundle.
        found: u32,
        /// The version this build writes and reads.
        supported: u32,
    },
    /// The bundle's checksum does not match its body: the bytes were damaged.
    #[error("snapshot bundle is damaged: checksum {computed:#010x} does not match the stored {stored:#010x}")]
    BundleChecksum {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum of the body as read.
        computed: u32,
    },
    /// A bundle body or a custom model's state failed to encode or decode with postcard.
    #[error("{what}: {reason}")]
    Codec {
        /// What was being encoded or decoded.
        what: String,
        /// The postcard error.
        reason: String,
    },
    /// The bundle holds a model the database being opened does not enable.
    #[error("the snapshot bundle holds model {name:?}, which this database does not enable")]
    UnexpectedModel {
        /// The model in the bundle.
        name: String,
    },
    /// The database enables a model the bundle holds no snapshot of.
    #[error("model {name:?} is enabled but the snapshot bundle holds no snapshot of it")]
    MissingModel {
        /// The enabled model.
        name: String,
    },
    /// The bundle's model of this name is of another kind (for example a custom fold where
    /// the database has the tasks model).
    #[error("model {name:?} is {found} in the snapshot bundle but {expected} in this database")]
    ModelKindMismatch {
        /// The model.
        name: String,
        /// Its kind in the bundle.
        found: ModelKind,
        /// Its kind in the database.
        expected: ModelKind,
    },
    /// The bundle's model was written by another schema version of the model.
    #[error("model {name:?} has schema version {found} in the snapshot bundle, this build uses {expected}")]
    SchemaMismatch {
        /// The model.
        name: String,
        /// The schema version in the bundle.
        found: u32,
        /// The schema version this database uses.
        expected: u32,
    },
    /// A model's snapshot includes events its log does not have (the log was replaced, or is
    /// a heap-only log of another process). Resuming would skip the next appended events.
    #[error(
        "model {name:?}: snapshot includes seq {last_seq} but its log ends before seq {next_seq}"
    )]
    SnapshotAheadOfLog {
        /// The model.
        name: String,
        /// The last seq the snapshot includes.
        last_seq: u64,
        /// The log's next seq.
        next_seq: u64,
    },
}

/// Result alias for NetDB.
pub type Result<T, E = NetDbError> = std::result::Result<T, E>;

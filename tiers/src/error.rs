//! The error type of the tiers crate: every failure names the file and, for corruption, the byte
//! offset where it was found.

use std::io;
use std::path::PathBuf;

/// An error from reading or writing a segment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TierError {
    /// Bytes on disk do not match their format or checksum.
    #[error("corrupt {path}: at byte {offset}: {reason}")]
    Corrupt {
        /// The file holding the bad bytes.
        path: PathBuf,
        /// Byte offset of the bad structure inside `path`.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A file was written by a format version this build does not read.
    #[error(
        "{path}: {what} format version {found} is not supported (this build reads {supported})"
    )]
    UnsupportedVersion {
        /// The file with the unknown version.
        path: PathBuf,
        /// Which structure carried the version.
        what: &'static str,
        /// The version found on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// An operating-system I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`open`, `write`, `fsync`, ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl TierError {
    /// Builds an [`TierError::Io`] naming the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        TierError::Io { op, path: path.into(), source }
    }

    /// Builds a [`TierError::Corrupt`].
    pub fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        TierError::Corrupt { path: path.into(), offset, reason: reason.into() }
    }
}

/// Result alias for the tiers crate.
pub type Result<T, E = TierError> = std::result::Result<T, E>;

//! RedEX storage tiers: the byte formats and segment types under the `redex` engine.
//!
//! A tour, bottom up:
//! - [`frame`]: the batch frame, the unit written to a segment's log file on every append.
//! - [`log_file`]: the header of a log file.
//! - [`index_record`]: the 20-byte `bytemuck` record a frozen segment's index is made of.
//! - [`index_file`]: the index file written when a segment freezes (records, time column,
//!   frame table, footer).
//! - [`hot`]: the active segment, in memory, whose image is the log file's frames.
//! - [`frozen`]: a sealed segment, mapped read-only and read zero-copy.
//! - [`manifest`]: the append-only list of frozen segments that makes reopen cost flat.
//! - [`cold`]: the archive tier: the [`cold::ColdStore`] trait, its local-directory store,
//!   the archived-segment object format, the fetch cache and the cold segment reader.
//! - [`backend`]: the append path, io_uring or portable `pwrite`, chosen at open time.
//! - [`mmap`] and `uring`: the only modules with `unsafe` code.
//!
//! Byte-level specifications are in `docs/FORMAT.md`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod backend;
mod chunked;
pub mod cold;
pub mod crc32c;
pub mod error;
pub mod frame;
pub mod frozen;
pub mod hot;
pub mod index_file;
pub mod index_record;
mod le;
pub mod log_file;
pub mod manifest;
pub mod mmap;
mod pretouch;
#[cfg(target_os = "linux")]
pub mod uring;

pub use backend::{AppendBackend, BackendKind, LogWriter};
pub use error::{Result, TierError};
pub use frozen::{FrozenSegment, LogWindow, SegmentIndex};
pub use hot::{BatchTooLarge, HotSegment, ReplayReport};
pub use index_record::{IndexRecord, INDEX_RECORD_LEN, INLINE_MAX};

//! RedEX: an embedded, tiered, append-only event-log engine.
//!
//! A [`Redex`] manager opens named logs ([`RedexFile`]) by [`ChannelName`]. Each log is a dense
//! sequence of entries numbered from 0; appends return the entry's seq, reads and tails hand out
//! [`RedexEvent`]s whose payloads are zero-copy `Bytes`.
//!
//! A tour of the crate:
//! - [`manager`]: [`Redex`], the directory lock, `open_file`.
//! - [`mod@file`]: [`RedexFile`], appends, reads (`read_range_async` awaits cold fetches instead of
//!   blocking), `sync`, `close`, retention.
//! - [`tail`]: the backfill-then-live [`RedexFile::tail`] stream.
//! - [`typed`]: [`TypedRedexFile`], postcard-encoded values.
//! - [`index`]: [`RedexIndex`], an in-memory secondary index a task keeps up to date from a log.
//! - [`follow`]: [`follow_log`], the task loop that keeps a [`LogFollower`] (the index, CortEX's
//!   fold) up to date from a log: chunked history reads, then the tail.
//! - [`ordered`]: [`OrderedAppender`], appends that land at the seqs expected or not at all.
//! - [`config`]: [`RedexFileConfig`], [`FsyncPolicy`], [`Retention`], the cold-tier settings.
//! - [`stats`] and [`prometheus`]: [`FileStats`] and [`Redex::prometheus_text`].
//! - `storage` and `segments` (private): segment files on disk and the segment set in memory.
//! - `cold` (private) with `file/archive.rs` and `file/cold_reads.rs`: archiving frozen
//!   segments to a [`ColdStore`] and reading them back.
//! - `file/age_timer.rs` (private): the `redex-retention` thread that applies age limits on a
//!   clock, so a quiet file sheds old entries too.
//!
//! The formats live in the `redex-tiers` crate; `docs/ARCHITECTURE.md`, `docs/FORMAT.md` and
//! `docs/DURABILITY.md` describe the design, the bytes and the crash guarantees.
//!
//! ```
//! # fn main() -> Result<(), redex::RedexError> {
//! use redex::{ChannelName, Redex, RedexFileConfig, Retention};
//! let redex = Redex::new();
//! let cfg = RedexFileConfig::default().with_retention(Retention::events(2));
//! let log = redex.open_file(&ChannelName::new("app/events")?, cfg)?;
//! log.append_batch(&[b"a", b"b", b"c"])?;
//! assert_eq!(log.head_seq(), 1);
//! assert!(matches!(log.get(0), Err(redex::RedexError::Evicted { .. })));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod batch;
pub mod channel;
mod clock;
mod cold;
pub mod config;
mod durable;
pub mod error;
pub mod event;
pub mod file;
pub mod follow;
pub mod index;
pub mod manager;
mod manifest;
pub mod ordered;
pub mod prometheus;
mod retention;
mod segments;
pub mod stats;
mod storage;
mod syncer;
pub mod tail;
pub mod typed;

pub use batch::{EventBatch, EventRef};
pub use bytes::Bytes;
pub use channel::ChannelName;
pub use config::{
    AppendBackend, BackendKind, ColdConfig, ColdStore, FsyncPolicy, RedexFileConfig, Retention,
};
pub use error::{RedexError, Result};
pub use event::RedexEvent;
pub use file::{RedexFile, SegmentInfo, Tier, VerifyReport};
pub use follow::{follow_log, FollowStep, LogFollower};
pub use index::{
    IndexErrorPolicy, IndexOp, IndexOptions, IndexStart, IndexStats, IndexStatus, ProjectionError,
    RedexIndex,
};
pub use manager::Redex;
pub use ordered::OrderedAppender;
pub use redex_tiers::cold::{ColdKey, LocalDirColdStore, S3ColdStore, S3Config};
pub use stats::{ColdStats, FileStats, FsyncHistogram, TierStats};
pub use typed::TypedRedexFile;

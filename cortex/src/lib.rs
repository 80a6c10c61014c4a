//! CortEX: folds a RedEX log into queryable, watchable in-memory state.
//!
//! A RedEX file is the source of truth; CortEX keeps a materialized view of it. Each event an
//! adapter appends starts with a 24-byte [`EventMeta`] envelope; a fold task follows the file
//! (stored history in chunks, then the live tail, through [`redex::follow_log`]) and applies
//! every event, in seq order, to a state behind an `Arc<RwLock<_>>`. Queries read that
//! state; watches turn its changes into streams; snapshots checkpoint it so a restart folds
//! only what came after.
//!
//! A tour of the crate:
//! - [`meta`]: the [`EventMeta`] envelope (specified byte by byte in `docs/FORMAT.md`).
//! - [`fold`]: the [`RedexFold`] trait, [`FoldEvent`] and [`FoldError`].
//! - [`adapter`]: [`CortexAdapter`], the fold task, `append`, `wait_for_seq`, `close`.
//! - [`config`]: [`CortexConfig`], the log's configuration, the error policy and the fold's
//!   batch size.
//! - [`policy`]: [`FoldErrorPolicy`], stop or skip on a bad event.
//! - [`progress`]: [`Progress`] and [`FoldStatus`], how far the fold got and whether it runs.
//! - [`metrics`]: the folds' lag, errors and state in the Prometheus text format.
//! - [`changes`]: [`ChangeStream`], deduplicated latest-wins streams of derived values.
//! - [`snapshot`]: versioned postcard snapshots and [`SnapshotState`].
//! - [`order`]: [`OrderBy`], [`Cursor`] and [`Page`], shared by every model.
//! - [`tasks`] and [`memories`]: the two domain models, each with a typed adapter, a plain
//!   filter struct, a fluent query, secondary indexes and a watch builder.
//! - [`error`]: [`CortexError`], the one error type.
//!
//! Queries are planned over secondary indexes the fold maintains (task status, memory tags,
//! creation time, pinned memories), so a selective filter costs in proportion to its result,
//! not to the size of the state. Each model also offers a `find_many_scan` that ignores the
//! indexes; the test suite checks that both always agree.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
mod block_map;
mod builder;
pub mod changes;
mod columns;
pub mod config;
pub mod error;
pub mod fold;
mod fold_task;
mod id_hash;
pub mod memories;
pub mod meta;
pub mod metrics;
mod model_adapter;
pub mod order;
mod plan;
pub mod policy;
pub mod progress;
mod slab;
pub mod snapshot;
mod sources;
pub mod tasks;

pub use adapter::CortexAdapter;
pub use changes::ChangeStream;
pub use config::CortexConfig;
pub use error::{CortexError, Result};
pub use fold::{FoldError, FoldEvent, RedexFold};
pub use meta::{EventMeta, EVENT_META_LEN};
pub use order::{Cursor, OrderBy, Page, Row};
pub use policy::FoldErrorPolicy;
pub use progress::{FoldStatus, Progress};
pub use redex;
pub use smol_str::SmolStr;
pub use snapshot::SnapshotState;

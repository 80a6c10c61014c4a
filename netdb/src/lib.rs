//! NetDB: one handle over several CortEX models, with whole-database snapshot and restore.
//!
//! A RedEX log holds the events; a CortEX adapter folds one log into queryable state; NetDB
//! puts several adapters (the tasks model, the memories model, and any number of custom
//! folds) behind one [`NetDb`], so a service opens, snapshots, restores and closes its whole
//! database with one call each. NetDB adds no storage of its own: each model is still its own
//! log on its own channel, written and queried through its own adapter.
//!
//! A tour of the crate:
//! - [`builder`]: [`NetDbBuilder`], `NetDb::builder(&redex).with_tasks().build()`.
//! - [`config`]: [`NetDbConfig`], the models and their durability, without the manager.
//! - [`db`]: [`NetDb`], the accessors (`tasks()`, `memories()`, `custom::<S>(name)`),
//!   `snapshot()`, `open_from_snapshot()`, `close()`.
//! - [`custom`]: custom models, any [`cortex::RedexFold`] over a serde state.
//! - [`bundle`]: [`NetDbSnapshot`], the versioned, checksummed postcard bundle (specified byte
//!   by byte in `docs/FORMAT.md`), and [`model_snapshot`]: [`ModelSnapshot`], one model of it.
//! - [`model_kind`]: [`ModelKind`], which fold a snapshot belongs to.
//! - [`error`]: [`NetDbError`], the one error type.
//!
//! `docs/GUIDE.md` is the user guide to RedEX, CortEX and NetDB together, and
//! `examples/orders.rs` a complete service on NetDB.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), netdb::NetDbError> {
//! use cortex::tasks::TaskStatus;
//! use netdb::{NetDb, NetDbConfig, NetDbSnapshot};
//! use redex::{FsyncPolicy, Redex};
//!
//! let dir = tempfile::tempdir().map_err(|e| redex::RedexError::InvalidConfig(e.to_string()))?;
//! let config = || {
//!     NetDbConfig::default()
//!         .origin(7)
//!         .persistent(true)
//!         .fsync_policy(FsyncPolicy::EveryN(100))
//!         .with_tasks()
//!         .with_memories()
//! };
//! let bytes = {
//!     let db = NetDb::open(&Redex::with_persistent_dir(dir.path())?, config())?;
//!     db.tasks().create(1, "ship netdb", 10)?;
//!     let seq = db.memories().store(1, "bundles are postcard", &["netdb"], "notes", 11)?;
//!     db.memories().wait_for_seq(seq).await?;
//!     let bytes = db.snapshot()?.encode();
//!     db.close().await?;
//!     bytes
//! };
//!
//! // After a restart: restore every model and fold only what followed the snapshot.
//! let redex = Redex::with_persistent_dir(dir.path())?;
//! let db = NetDb::open_from_snapshot(&redex, &NetDbSnapshot::decode(&bytes)?, config())?;
//! let seq = db.tasks().complete(1, 12)?;
//! db.tasks().wait_for_seq(seq).await?;
//! assert_eq!(db.tasks().state().read().query().where_status(TaskStatus::Completed).count(), 1);
//! assert_eq!(db.memories().state().read().query().where_tag("netdb").count(), 1);
//! db.close().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builder;
pub mod bundle;
pub mod config;
pub mod custom;
pub mod db;
pub mod error;
pub mod model_kind;
pub mod model_snapshot;
mod open_ctx;
mod wire;

pub use builder::NetDbBuilder;
pub use bundle::{NetDbSnapshot, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC};
pub use config::NetDbConfig;
pub use custom::CustomState;
pub use db::NetDb;
pub use error::{NetDbError, Result};
pub use model_kind::ModelKind;
pub use model_snapshot::ModelSnapshot;

pub use cortex;
pub use redex;

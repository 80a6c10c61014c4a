//! Custom models: any [`RedexFold`] whose state serde can serialize, held behind a
//! type-erased handle so one database can mix states of many types.
//!
//! A custom model is a plain [`CortexAdapter<S>`]; NetDB adds only what the adapter cannot
//! know by itself: how to serialize `S` without a [`cortex::SnapshotState`] header (postcard
//! of the state as is, with the schema version kept in the bundle instead), and how to find
//! the adapter again by name and type ([`crate::NetDb::custom`]).

use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;

use cortex::{CortexAdapter, RedexFold};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{NetDbError, Result};
use crate::model_kind::ModelKind;
use crate::model_snapshot::ModelSnapshot;
use crate::open_ctx::OpenCtx;

/// What a custom model's state must be: serde both ways, a default (the empty state a fresh
/// log folds into), and shareable with the fold task.
pub trait CustomState: Serialize + DeserializeOwned + Default + Send + Sync + 'static {}

impl<S: Serialize + DeserializeOwned + Default + Send + Sync + 'static> CustomState for S {}

/// An open custom model, whatever its state type.
pub(crate) trait CustomModel: Send + Sync + Debug {
    /// Snapshots the state under its read lock.
    fn snapshot(&self, name: &str) -> Result<ModelSnapshot>;
    /// Closes the adapter.
    fn close(&self) -> BoxFuture<'_, Result<()>>;
    /// The concrete slot, for downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// An open custom model of state `S`.
pub(crate) struct CustomSlot<S> {
    pub(crate) adapter: CortexAdapter<S>,
    schema_version: u32,
}

impl<S> Debug for CustomSlot<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomSlot")
            .field("adapter", &self.adapter)
            .field("schema_version", &self.schema_version)
            .finish()
    }
}

impl<S: CustomState> CustomModel for CustomSlot<S> {
    fn snapshot(&self, name: &str) -> Result<ModelSnapshot> {
        // Under the state's read lock, so `last_seq` matches the state exactly; refused (as
        // the built-in models' snapshots are) if a panicking fold may have left it half-updated.
        let (bytes, last_seq) = self
            .adapter
            .snapshot_with(|state, last_seq| postcard::to_allocvec(state).map(|b| (b, last_seq)))?
            .map_err(|e| NetDbError::Codec {
                what: format!("state of custom model {name:?}"),
                reason: e.to_string(),
            })?;
        Ok(ModelSnapshot {
            name: name.to_owned(),
            kind: ModelKind::Custom,
            schema_version: self.schema_version,
            last_seq,
            state: bytes,
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { Ok(self.adapter.close().await?) })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A custom model not opened yet: its fold, waiting for the database to be built.
pub(crate) trait CustomOpener: Send {
    /// The schema version recorded in (and required of) snapshots.
    fn schema_version(&self) -> u32;
    /// Opens the model, from `snapshot` if given, else from the start of its log.
    fn open(
        self: Box<Self>,
        ctx: &OpenCtx<'_>,
        snapshot: Option<&ModelSnapshot>,
    ) -> Result<Box<dyn CustomModel>>;
}

/// The opener of a fold `F` over state `S`.
pub(crate) struct FoldOpener<S, F> {
    fold: F,
    schema_version: u32,
    _state: PhantomData<fn() -> S>,
}

impl<S, F> FoldOpener<S, F> {
    pub(crate) fn new(fold: F, schema_version: u32) -> Self {
        FoldOpener { fold, schema_version, _state: PhantomData }
    }
}

impl<S: CustomState, F: RedexFold<S>> CustomOpener for FoldOpener<S, F> {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }

    fn open(
        self: Box<Self>,
        ctx: &OpenCtx<'_>,
        snapshot: Option<&ModelSnapshot>,
    ) -> Result<Box<dyn CustomModel>> {
        let adapter = match snapshot {
            None => CortexAdapter::open(
                ctx.redex,
                ctx.name,
                ctx.origin_hash,
                self.fold,
                ctx.cortex_config.clone(),
            )?,
            Some(snap) => {
                let state = decode_state::<S>(ctx.name.as_str(), &snap.state)?;
                CortexAdapter::open_with_state(
                    ctx.redex,
                    ctx.name,
                    ctx.origin_hash,
                    self.fold,
                    ctx.cortex_config.clone(),
                    state,
                    snap.last_seq,
                )?
            }
        };
        Ok(Box::new(CustomSlot { adapter, schema_version: self.schema_version }))
    }
}

/// Decodes a custom state that must fill `bytes` exactly.
fn decode_state<S: CustomState>(name: &str, bytes: &[u8]) -> Result<S> {
    let codec = |reason: String| NetDbError::Codec {
        what: format!("state of custom model {name:?}"),
        reason,
    };
    match postcard::take_from_bytes::<S>(bytes) {
        Ok((state, [])) => Ok(state),
        Ok((_, rest)) => Err(codec(format!("{} trailing bytes after the state", rest.len()))),
        Err(e) => Err(codec(e.to_string())),
    }
}

//! [`NetDb`]: one handle over the models of a database, with whole-database snapshots.

use std::collections::HashMap;

use cortex::memories::{MemoriesAdapter, MemoriesState};
use cortex::tasks::{TasksAdapter, TasksState};
use cortex::{CortexAdapter, CortexConfig, SnapshotState};
use futures::future::{join_all, BoxFuture};
use redex::{ChannelName, Redex, RedexFile};

use crate::builder::NetDbBuilder;
use crate::bundle::NetDbSnapshot;
use crate::config::{NetDbConfig, ResolvedModel, SpecFold};
use crate::custom::{CustomModel, CustomSlot, CustomState};
use crate::error::{NetDbError, Result};
use crate::model_kind::ModelKind;
use crate::model_snapshot::ModelSnapshot;
use crate::open_ctx::OpenCtx;

/// A database: the tasks model, the memories model and any number of custom models, each a
/// CortEX adapter folding its own RedEX log, under one handle.
///
/// Writes go through each model's adapter (`db.tasks().create(..)`), reads through its state
/// (`db.tasks().state().read().find_many(..)`), reactions through its watch builder. What
/// NetDB adds is the composition: one builder, one [`NetDb::close`], and one
/// [`NetDb::snapshot`] / [`NetDb::open_from_snapshot`] pair for the whole database.
#[derive(Debug)]
pub struct NetDb {
    redex: Redex,
    origin_hash: u64,
    tasks: Option<(String, TasksAdapter)>,
    memories: Option<(String, MemoriesAdapter)>,
    custom: Vec<(String, Box<dyn CustomModel>)>,
    names: Vec<String>,
}

/// A model opened but not yet placed in the database.
enum Opened {
    Tasks(TasksAdapter),
    Memories(MemoriesAdapter),
    Custom(Box<dyn CustomModel>),
}

impl NetDb {
    /// A builder on `redex` (origin hash `0` until [`NetDbBuilder::origin`]).
    pub fn builder(redex: &Redex) -> NetDbBuilder {
        NetDbBuilder::new(redex, 0)
    }

    /// Opens every model of `config` on `redex`, each folding its log from its first
    /// retained event. Must run inside a tokio runtime.
    pub fn open(redex: &Redex, config: NetDbConfig) -> Result<Self> {
        let (origin_hash, cortex_config, models) = config.resolve()?;
        // Declared before `db`, so that on an error it closes the logs after `db` (and the
        // models opened so far) is dropped.
        let mut logs = OpenedLogs::new(redex, &cortex_config);
        let mut db = NetDb::empty(redex, origin_hash);
        for model in models {
            logs.open(&model.channel)?;
            let ctx =
                OpenCtx { redex, name: &model.channel, origin_hash, cortex_config: &cortex_config };
            let opened = open_model(model.fold, &ctx, None)?;
            db.place(model.channel, opened);
        }
        logs.keep();
        Ok(db)
    }

    /// Restores every model of `config` from `bundle` and folds each log from the seq after
    /// that model's own `last_seq`; events the snapshot includes are not read again. Must run
    /// inside a tokio runtime.
    ///
    /// The bundle must fit the configuration exactly, and is checked in full before any model
    /// is opened: a model in the bundle that `config` does not enable is
    /// [`NetDbError::UnexpectedModel`], an enabled model the bundle lacks is
    /// [`NetDbError::MissingModel`], a model of another kind or schema version is
    /// [`NetDbError::ModelKindMismatch`] or [`NetDbError::SchemaMismatch`], and a snapshot
    /// that includes events its log does not have is [`NetDbError::SnapshotAheadOfLog`].
    pub fn open_from_snapshot(
        redex: &Redex,
        bundle: &NetDbSnapshot,
        config: NetDbConfig,
    ) -> Result<Self> {
        let (origin_hash, cortex_config, models) = config.resolve()?;
        let by_name: HashMap<&str, &ResolvedModel> =
            models.iter().map(|m| (m.channel.as_str(), m)).collect();
        if let Some(extra) = bundle.models().iter().find(|s| !by_name.contains_key(s.name.as_str()))
        {
            return Err(NetDbError::UnexpectedModel { name: extra.name.clone() });
        }
        let mut snaps = Vec::with_capacity(models.len());
        for model in &models {
            let name = model.channel.as_str();
            let snap =
                bundle.model(name).ok_or(NetDbError::MissingModel { name: name.to_owned() })?;
            check_fits(model, snap)?;
            snaps.push(snap);
        }
        // Only now are logs opened; were any check or open below to fail, those this call
        // opened are closed again, so that a failed restore leaves the manager as it found it
        // (a log left open would refuse the next open of its channel with another
        // configuration, and keep a persistent log's descriptors and fsync thread).
        let mut logs = OpenedLogs::new(redex, &cortex_config);
        for (model, snap) in models.iter().zip(&snaps) {
            check_log_has(&logs.open(&model.channel)?, snap)?;
        }
        let mut db = NetDb::empty(redex, origin_hash);
        for (model, snap) in models.into_iter().zip(snaps) {
            let ctx =
                OpenCtx { redex, name: &model.channel, origin_hash, cortex_config: &cortex_config };
            let opened = open_model(model.fold, &ctx, Some(snap))?;
            db.place(model.channel, opened);
        }
        logs.keep();
        Ok(db)
    }

    fn empty(redex: &Redex, origin_hash: u64) -> Self {
        NetDb {
            redex: redex.clone(),
            origin_hash,
            tasks: None,
            memories: None,
            custom: Vec::new(),
            names: Vec::new(),
        }
    }

    fn place(&mut self, channel: ChannelName, opened: Opened) {
        let name = channel.as_str().to_owned();
        self.names.push(name.clone());
        match opened {
            Opened::Tasks(t) => self.tasks = Some((name, t)),
            Opened::Memories(m) => self.memories = Some((name, m)),
            Opened::Custom(c) => self.custom.push((name, c)),
        }
    }

    /// The tasks model.
    ///
    /// # Panics
    ///
    /// If the database was built without [`NetDbBuilder::with_tasks`]; see
    /// [`NetDb::try_tasks`].
    pub fn tasks(&self) -> &TasksAdapter {
        match self.try_tasks() {
            Some(t) => t,
            None => panic!("NetDb: the tasks model is not enabled (call with_tasks())"),
        }
    }

    /// The tasks model, if enabled.
    pub fn try_tasks(&self) -> Option<&TasksAdapter> {
        self.tasks.as_ref().map(|(_, t)| t)
    }

    /// The memories model.
    ///
    /// # Panics
    ///
    /// If the database was built without [`NetDbBuilder::with_memories`]; see
    /// [`NetDb::try_memories`].
    pub fn memories(&self) -> &MemoriesAdapter {
        match self.try_memories() {
            Some(m) => m,
            None => panic!("NetDb: the memories model is not enabled (call with_memories())"),
        }
    }

    /// The memories model, if enabled.
    pub fn try_memories(&self) -> Option<&MemoriesAdapter> {
        self.memories.as_ref().map(|(_, m)| m)
    }

    /// The custom model `name`, whose state is `S`. [`NetDbError::ModelNotEnabled`] if there
    /// is no custom model of that name, [`NetDbError::ModelTypeMismatch`] if its state is of
    /// another type.
    pub fn custom<S: CustomState>(&self, name: &str) -> Result<&CortexAdapter<S>> {
        let (_, model) = self
            .custom
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| NetDbError::ModelNotEnabled { name: name.to_owned() })?;
        model.as_any().downcast_ref::<CustomSlot<S>>().map(|slot| &slot.adapter).ok_or_else(|| {
            NetDbError::ModelTypeMismatch {
                name: name.to_owned(),
                requested: std::any::type_name::<S>(),
            }
        })
    }

    /// The names of every model, in the order they were enabled. Each is also the RedEX
    /// channel of the model's log.
    pub fn model_names(&self) -> &[String] {
        &self.names
    }

    /// The RedEX manager the models' logs live in.
    pub fn redex(&self) -> &Redex {
        &self.redex
    }

    /// The origin hash the models write into their events.
    pub fn origin_hash(&self) -> u64 {
        self.origin_hash
    }

    /// Snapshots every model, each under its own state lock (see [`NetDbSnapshot`] for what
    /// is and is not consistent across models), each with the seq of the last event its state
    /// holds. Works on a closed database too: the states stay readable. Refused with
    /// [`NetDbError::Cortex`]`(`[`cortex::CortexError::FoldHalted`]`)` if a model's fold
    /// panicked (its state may hold part of an event, which no seq describes).
    pub fn snapshot(&self) -> Result<NetDbSnapshot> {
        let mut models = Vec::with_capacity(self.names.len());
        if let Some((name, tasks)) = &self.tasks {
            let (state, last_seq) = tasks.snapshot()?;
            models.push(ModelSnapshot {
                name: name.clone(),
                kind: ModelKind::Tasks,
                schema_version: TasksState::MODEL_VERSION,
                last_seq,
                state,
            });
        }
        if let Some((name, memories)) = &self.memories {
            let (state, last_seq) = memories.snapshot()?;
            models.push(ModelSnapshot {
                name: name.clone(),
                kind: ModelKind::Memories,
                schema_version: MemoriesState::MODEL_VERSION,
                last_seq,
                state,
            });
        }
        for (name, model) in &self.custom {
            models.push(model.snapshot(name)?);
        }
        NetDbSnapshot::from_models(models)
    }

    /// Closes every model: stops each fold task (events not yet folded stay in the log for
    /// the next open), closes each log (which fsyncs a persistent one) and ends change
    /// streams. Tries every model and returns the first error (tasks, then memories, then the
    /// custom models in the order they were enabled). Closing twice is fine.
    ///
    /// Cancel-safe, like [`CortexAdapter::close`]: the models are closed together, so a close
    /// dropped before it completes (a timeout around it) has closed every one of them all the
    /// same, not only those it had reached.
    pub async fn close(&self) -> Result<()> {
        let mut closes: Vec<BoxFuture<'_, Result<()>>> = Vec::with_capacity(self.names.len());
        if let Some((_, tasks)) = &self.tasks {
            closes.push(Box::pin(async move { Ok(tasks.close().await?) }));
        }
        if let Some((_, memories)) = &self.memories {
            closes.push(Box::pin(async move { Ok(memories.close().await?) }));
        }
        for (_, model) in &self.custom {
            closes.push(model.close());
        }
        // `join_all` polls every close on its first poll, and each closes its model on its own
        // first poll (before it waits for its fold task).
        join_all(closes).await.into_iter().collect()
    }
}

/// Opens one model, from its snapshot if given.
fn open_model(
    fold: SpecFold,
    ctx: &OpenCtx<'_>,
    snapshot: Option<&ModelSnapshot>,
) -> Result<Opened> {
    let config = ctx.cortex_config.clone();
    Ok(match (fold, snapshot) {
        (SpecFold::Tasks, None) => {
            Opened::Tasks(TasksAdapter::open_with(ctx.redex, ctx.name, ctx.origin_hash, config)?)
        }
        (SpecFold::Tasks, Some(s)) => Opened::Tasks(TasksAdapter::open_from_snapshot_with(
            ctx.redex,
            ctx.name,
            ctx.origin_hash,
            config,
            &s.state,
            s.last_seq,
        )?),
        (SpecFold::Memories, None) => Opened::Memories(MemoriesAdapter::open_with(
            ctx.redex,
            ctx.name,
            ctx.origin_hash,
            config,
        )?),
        (SpecFold::Memories, Some(s)) => {
            Opened::Memories(MemoriesAdapter::open_from_snapshot_with(
                ctx.redex,
                ctx.name,
                ctx.origin_hash,
                config,
                &s.state,
                s.last_seq,
            )?)
        }
        (SpecFold::Custom(opener), snapshot) => Opened::Custom(opener.open(ctx, snapshot)?),
    })
}

/// Whether the bundle's snapshot was made by the same kind and schema of model.
fn check_fits(model: &ResolvedModel, snap: &ModelSnapshot) -> Result<()> {
    let name = model.channel.as_str();
    let expected_kind = model.fold.kind();
    if snap.kind != expected_kind {
        return Err(NetDbError::ModelKindMismatch {
            name: name.to_owned(),
            found: snap.kind,
            expected: expected_kind,
        });
    }
    let expected_schema = match &model.fold {
        SpecFold::Tasks => TasksState::MODEL_VERSION,
        SpecFold::Memories => MemoriesState::MODEL_VERSION,
        SpecFold::Custom(opener) => opener.schema_version(),
    };
    if snap.schema_version != expected_schema {
        return Err(NetDbError::SchemaMismatch {
            name: name.to_owned(),
            found: snap.schema_version,
            expected: expected_schema,
        });
    }
    Ok(())
}

/// Whether the model's log holds every event the snapshot includes. A snapshot ahead of its
/// log would make the fold wait for seqs the log hands to new events, skipping them.
fn check_log_has(file: &RedexFile, snap: &ModelSnapshot) -> Result<()> {
    let Some(last_seq) = snap.last_seq else { return Ok(()) };
    let next_seq = file.next_seq();
    if last_seq >= next_seq {
        return Err(NetDbError::SnapshotAheadOfLog {
            name: file.channel().as_str().to_owned(),
            last_seq,
            next_seq,
        });
    }
    Ok(())
}

/// The logs an open of a database opened itself (they were not open in the manager before
/// it): should the open fail, they are closed again when this is dropped, after the models
/// opened so far, so that the manager is left as it was found. Logs that were already open
/// (another handle's) are left alone.
struct OpenedLogs<'a> {
    redex: &'a Redex,
    config: &'a CortexConfig,
    ours: Vec<RedexFile>,
}

impl<'a> OpenedLogs<'a> {
    fn new(redex: &'a Redex, config: &'a CortexConfig) -> Self {
        OpenedLogs { redex, config, ours: Vec::new() }
    }

    /// Opens the log of `channel` (the handle its model's adapter will share).
    fn open(&mut self, channel: &ChannelName) -> Result<RedexFile> {
        let (file, opened_here) =
            self.redex.open_file_fresh(channel, self.config.file_config().clone())?;
        if opened_here {
            self.ours.push(file.clone());
        }
        Ok(file)
    }

    /// The open succeeded: the logs stay open, owned by its models.
    fn keep(mut self) {
        self.ours.clear();
    }
}

impl Drop for OpenedLogs<'_> {
    fn drop(&mut self) {
        for file in &self.ours {
            // Best effort: the open already failed with the error that matters.
            let _ = file.close();
        }
    }
}

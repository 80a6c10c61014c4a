//! [`NetDbConfig`]: which models a database has and how their logs are opened.
//!
//! The configuration is everything a [`crate::NetDbBuilder`] holds except the [`Redex`]
//! manager, so the same shape serves a fresh open ([`crate::NetDb::open`]) and a restore
//! ([`crate::NetDb::open_from_snapshot`]). It owns the custom folds, so it is used once; a
//! process that opens a database repeatedly builds its configuration with a function.
//!
//! [`Redex`]: redex::Redex

use std::collections::HashSet;

use cortex::memories::adapter::MEMORIES_CHANNEL;
use cortex::tasks::adapter::TASKS_CHANNEL;
use cortex::{CortexConfig, FoldErrorPolicy, RedexFold};
use redex::{ChannelName, FsyncPolicy, RedexFileConfig};

use crate::custom::{CustomOpener, CustomState, FoldOpener};
use crate::error::{NetDbError, Result};
use crate::model_kind::ModelKind;

/// How a database opens its models, built fluently from `default()`.
///
/// ```
/// use netdb::NetDbConfig;
/// use redex::FsyncPolicy;
/// let config = NetDbConfig::default()
///     .origin(0xabcd)
///     .persistent(true)
///     .fsync_policy(FsyncPolicy::EveryN(100))
///     .with_tasks()
///     .with_memories();
/// assert_eq!(config.model_names(), ["cortex/tasks", "cortex/memories"]);
/// ```
#[derive(Default)]
pub struct NetDbConfig {
    origin_hash: u64,
    file: RedexFileConfig,
    persistent: Option<bool>,
    fsync_policy: Option<FsyncPolicy>,
    error_policy: FoldErrorPolicy,
    models: Vec<ModelSpec>,
}

/// One model to open: its name (its channel) and its fold.
pub(crate) struct ModelSpec {
    pub(crate) name: String,
    pub(crate) fold: SpecFold,
}

/// The fold of a model to open.
pub(crate) enum SpecFold {
    Tasks,
    Memories,
    Custom(Box<dyn CustomOpener>),
}

impl SpecFold {
    pub(crate) fn kind(&self) -> ModelKind {
        match self {
            SpecFold::Tasks => ModelKind::Tasks,
            SpecFold::Memories => ModelKind::Memories,
            SpecFold::Custom(_) => ModelKind::Custom,
        }
    }
}

/// A model whose name checked out as a channel name.
pub(crate) struct ResolvedModel {
    pub(crate) channel: ChannelName,
    pub(crate) fold: SpecFold,
}

impl std::fmt::Debug for NetDbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDbConfig")
            .field("origin_hash", &self.origin_hash)
            .field("file", &self.resolved_file_config())
            .field("error_policy", &self.error_policy)
            .field("models", &self.model_names())
            .finish()
    }
}

impl NetDbConfig {
    /// The origin hash stamped into every event the database's models write (default `0`).
    pub fn origin(mut self, origin_hash: u64) -> Self {
        self.origin_hash = origin_hash;
        self
    }

    /// Keeps every model's log on disk (needs a `Redex::with_persistent_dir` manager).
    /// Overrides the flag of [`NetDbConfig::file_config`].
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = Some(persistent);
        self
    }

    /// The fsync policy of every model's log (see `docs/DURABILITY.md` for the loss bound of
    /// each). Overrides the policy of [`NetDbConfig::file_config`].
    pub fn fsync_policy(mut self, policy: FsyncPolicy) -> Self {
        self.fsync_policy = Some(policy);
        self
    }

    /// The base configuration of every model's log: retention, segment sizes, tail buffer.
    pub fn file_config(mut self, file: RedexFileConfig) -> Self {
        self.file = file;
        self
    }

    /// What every model's fold does with an event it cannot apply (default
    /// [`FoldErrorPolicy::Stop`]).
    pub fn error_policy(mut self, policy: FoldErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// Enables the tasks model, on channel `cortex/tasks`. Enabling it twice is the same as
    /// once.
    pub fn with_tasks(mut self) -> Self {
        if !self.models.iter().any(|m| matches!(m.fold, SpecFold::Tasks)) {
            self.models.push(ModelSpec { name: TASKS_CHANNEL.to_owned(), fold: SpecFold::Tasks });
        }
        self
    }

    /// Enables the memories model, on channel `cortex/memories`. Enabling it twice is the
    /// same as once.
    pub fn with_memories(mut self) -> Self {
        if !self.models.iter().any(|m| matches!(m.fold, SpecFold::Memories)) {
            self.models
                .push(ModelSpec { name: MEMORIES_CHANNEL.to_owned(), fold: SpecFold::Memories });
        }
        self
    }

    /// Adds a custom model called `name`, folded by `fold` on the channel of the same name.
    /// Its state is snapshotted with postcard; a snapshot restores only into a model of the
    /// same name and schema version (`0` here; see [`NetDbConfig::with_custom_versioned`]).
    pub fn with_custom<S, F>(self, name: impl Into<String>, fold: F) -> Self
    where
        S: CustomState,
        F: RedexFold<S>,
    {
        self.with_custom_versioned(name, fold, 0)
    }

    /// [`NetDbConfig::with_custom`] with a schema version: bump it whenever the serialized
    /// shape of `S` changes, so a bundle of the old shape is refused with
    /// [`NetDbError::SchemaMismatch`] instead of being misread.
    pub fn with_custom_versioned<S, F>(
        mut self,
        name: impl Into<String>,
        fold: F,
        schema_version: u32,
    ) -> Self
    where
        S: CustomState,
        F: RedexFold<S>,
    {
        let opener: Box<dyn CustomOpener> = Box::new(FoldOpener::<S, F>::new(fold, schema_version));
        self.models.push(ModelSpec { name: name.into(), fold: SpecFold::Custom(opener) });
        self
    }

    /// The origin hash.
    pub fn origin_hash(&self) -> u64 {
        self.origin_hash
    }

    /// The names of the enabled models, in the order they were enabled.
    pub fn model_names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    /// The configuration each model's log is opened with.
    pub fn resolved_file_config(&self) -> RedexFileConfig {
        let mut file = self.file.clone();
        if let Some(p) = self.persistent {
            file = file.with_persistent(p);
        }
        if let Some(p) = self.fsync_policy {
            file = file.with_fsync_policy(p);
        }
        file
    }

    /// The configuration each model's adapter is opened with.
    pub fn cortex_config(&self) -> CortexConfig {
        CortexConfig::default()
            .with_file_config(self.resolved_file_config())
            .with_error_policy(self.error_policy)
    }

    /// Checks every model name and refuses duplicates; hands back the models.
    pub(crate) fn resolve(self) -> Result<(u64, CortexConfig, Vec<ResolvedModel>)> {
        let cortex_config = self.cortex_config();
        let mut seen = HashSet::new();
        let mut models = Vec::with_capacity(self.models.len());
        for spec in self.models {
            let channel = ChannelName::new(spec.name.as_str()).map_err(|source| {
                NetDbError::InvalidModelName { name: spec.name.clone(), source }
            })?;
            if !seen.insert(channel.clone()) {
                return Err(NetDbError::DuplicateModel { name: spec.name });
            }
            models.push(ResolvedModel { channel, fold: spec.fold });
        }
        Ok((self.origin_hash, cortex_config, models))
    }
}

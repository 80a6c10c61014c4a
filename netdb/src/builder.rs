//! [`NetDbBuilder`]: a [`NetDbConfig`] together with the [`Redex`] manager it opens on.

use cortex::{FoldErrorPolicy, RedexFold};
use redex::{FsyncPolicy, Redex, RedexFileConfig};

use crate::bundle::NetDbSnapshot;
use crate::config::NetDbConfig;
use crate::custom::CustomState;
use crate::db::NetDb;
use crate::error::Result;

/// Builds a [`NetDb`]: choose the models and the durability, then [`NetDbBuilder::build`]
/// (fold every log from its start) or [`NetDbBuilder::build_from_snapshot`] (restore a bundle
/// and fold only what followed it). Both must run inside a tokio runtime, where the fold
/// tasks are spawned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), netdb::NetDbError> {
/// use netdb::NetDb;
/// let redex = redex::Redex::new();
/// let db = NetDb::builder(&redex).origin(0xabcdef01).with_tasks().with_memories().build()?;
/// let seq = db.tasks().create(1, "write the guide", 100)?;
/// db.tasks().wait_for_seq(seq).await?;
/// assert!(db.tasks().state().read().find_unique(1).is_some());
/// db.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NetDbBuilder {
    redex: Redex,
    config: NetDbConfig,
}

impl NetDbBuilder {
    /// A builder on `redex` whose models write `origin_hash` into their events.
    pub fn new(redex: &Redex, origin_hash: u64) -> Self {
        NetDbBuilder { redex: redex.clone(), config: NetDbConfig::default().origin(origin_hash) }
    }

    /// A builder on `redex` with `config` (for example one shared with
    /// [`NetDb::open_from_snapshot`]).
    pub fn with_config(redex: &Redex, config: NetDbConfig) -> Self {
        NetDbBuilder { redex: redex.clone(), config }
    }

    fn map(mut self, f: impl FnOnce(NetDbConfig) -> NetDbConfig) -> Self {
        self.config = f(self.config);
        self
    }

    /// See [`NetDbConfig::origin`].
    pub fn origin(self, origin_hash: u64) -> Self {
        self.map(|c| c.origin(origin_hash))
    }

    /// See [`NetDbConfig::persistent`].
    pub fn persistent(self, persistent: bool) -> Self {
        self.map(|c| c.persistent(persistent))
    }

    /// See [`NetDbConfig::fsync_policy`].
    pub fn fsync_policy(self, policy: FsyncPolicy) -> Self {
        self.map(|c| c.fsync_policy(policy))
    }

    /// See [`NetDbConfig::file_config`].
    pub fn file_config(self, file: RedexFileConfig) -> Self {
        self.map(|c| c.file_config(file))
    }

    /// See [`NetDbConfig::error_policy`].
    pub fn error_policy(self, policy: FoldErrorPolicy) -> Self {
        self.map(|c| c.error_policy(policy))
    }

    /// See [`NetDbConfig::with_tasks`].
    pub fn with_tasks(self) -> Self {
        self.map(NetDbConfig::with_tasks)
    }

    /// See [`NetDbConfig::with_memories`].
    pub fn with_memories(self) -> Self {
        self.map(NetDbConfig::with_memories)
    }

    /// See [`NetDbConfig::with_custom`].
    pub fn with_custom<S, F>(self, name: impl Into<String>, fold: F) -> Self
    where
        S: CustomState,
        F: RedexFold<S>,
    {
        self.map(|c| c.with_custom(name, fold))
    }

    /// See [`NetDbConfig::with_custom_versioned`].
    pub fn with_custom_versioned<S, F>(
        self,
        name: impl Into<String>,
        fold: F,
        schema_version: u32,
    ) -> Self
    where
        S: CustomState,
        F: RedexFold<S>,
    {
        self.map(|c| c.with_custom_versioned(name, fold, schema_version))
    }

    /// The configuration so far.
    pub fn config(&self) -> &NetDbConfig {
        &self.config
    }

    /// The configuration, without the manager.
    pub fn into_config(self) -> NetDbConfig {
        self.config
    }

    /// Opens every model and folds each log from its first retained event.
    pub fn build(self) -> Result<NetDb> {
        NetDb::open(&self.redex, self.config)
    }

    /// Restores every model from `bundle` and folds each log from the seq after the model's
    /// own `last_seq` (see [`NetDb::open_from_snapshot`]).
    pub fn build_from_snapshot(self, bundle: &NetDbSnapshot) -> Result<NetDb> {
        NetDb::open_from_snapshot(&self.redex, bundle, self.config)
    }
}

//! [`TasksAdapter`]: the typed write path of the tasks model over a [`CortexAdapter`].

use std::sync::Arc;

use parking_lot::RwLock;
use redex::{ChannelName, Redex};

use crate::adapter::CortexAdapter;
use crate::changes::ChangeStream;
use crate::config::CortexConfig;
use crate::error::Result;
use crate::meta::{encode_event, with_encoded_event};
use crate::progress::Progress;
use crate::tasks::events::{
    IdBody, TitleBody, TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_RENAMED, TASK_REOPENED,
};
use crate::tasks::fold::TasksFold;
use crate::tasks::state::TasksState;
use crate::tasks::types::{Task, TaskId};
use crate::tasks::watch::TasksWatcher;

/// Channel the tasks model uses unless told otherwise.
pub const TASKS_CHANNEL: &str = "cortex/tasks";

/// A tasks model: writes go through the methods below (each appends one event and returns its
/// seq), reads through [`TasksAdapter::state`], reactions through [`TasksAdapter::watch`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex::CortexError> {
/// use cortex::tasks::{TasksAdapter, TaskStatus};
/// let redex = redex::Redex::new();
/// let tasks = TasksAdapter::open(&redex, 0xabcdef01)?;
/// tasks.create(1, "write docs", 100)?;
/// let seq = tasks.complete(1, 200)?;
/// tasks.wait_for_seq(seq).await?;
/// let done = tasks.state().read().query().where_status(TaskStatus::Completed).count();
/// assert_eq!(done, 1);
/// tasks.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TasksAdapter {
    inner: CortexAdapter<TasksState>,
}

impl TasksAdapter {
    /// Opens the tasks model on channel [`TASKS_CHANNEL`] with the default configuration and
    /// folds its whole log.
    pub fn open(redex: &Redex, origin_hash: u64) -> Result<Self> {
        Self::open_with(
            redex,
            &ChannelName::new(TASKS_CHANNEL)?,
            origin_hash,
            CortexConfig::default(),
        )
    }

    /// Opens the tasks model on channel `name` with `config`.
    pub fn open_with(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        config: CortexConfig,
    ) -> Result<Self> {
        let inner = CortexAdapter::open(redex, name, origin_hash, TasksFold, config)?;
        Ok(TasksAdapter { inner })
    }

    /// Restores from a [`TasksAdapter::snapshot`] on channel [`TASKS_CHANNEL`] and folds
    /// only the events after `last_seq`.
    pub fn open_from_snapshot(
        redex: &Redex,
        origin_hash: u64,
        bytes: &[u8],
        last_seq: Option<u64>,
    ) -> Result<Self> {
        let name = ChannelName::new(TASKS_CHANNEL)?;
        Self::open_from_snapshot_with(
            redex,
            &name,
            origin_hash,
            CortexConfig::default(),
            bytes,
            last_seq,
        )
    }

    /// [`TasksAdapter::open_from_snapshot`] on channel `name` with `config`.
    pub fn open_from_snapshot_with(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        config: CortexConfig,
        bytes: &[u8],
        last_seq: Option<u64>,
    ) -> Result<Self> {
        let inner = CortexAdapter::open_from_snapshot(
            redex,
            name,
            origin_hash,
            TasksFold,
            config,
            bytes,
            last_seq,
        )?;
        Ok(TasksAdapter { inner })
    }

    /// Creates a pending task. A second create of the same id changes nothing.
    pub fn create(&self, id: TaskId, title: &str, now_ns: u64) -> Result<u64> {
        self.write(TASK_CREATED, now_ns, &TitleBody { id, title })
    }

    /// Renames a task.
    pub fn rename(&self, id: TaskId, title: &str, now_ns: u64) -> Result<u64> {
        self.write(TASK_RENAMED, now_ns, &TitleBody { id, title })
    }

    /// Marks a task completed.
    pub fn complete(&self, id: TaskId, now_ns: u64) -> Result<u64> {
        self.write(TASK_COMPLETED, now_ns, &IdBody { id })
    }

    /// Marks a task pending again.
    pub fn reopen(&self, id: TaskId, now_ns: u64) -> Result<u64> {
        self.write(TASK_REOPENED, now_ns, &IdBody { id })
    }

    /// Deletes a task.
    pub fn delete(&self, id: TaskId, now_ns: u64) -> Result<u64> {
        self.write(TASK_DELETED, now_ns, &IdBody { id })
    }

    fn write<B: serde::Serialize>(&self, dispatch: u8, now_ns: u64, body: &B) -> Result<u64> {
        with_encoded_event(dispatch, self.inner.origin_hash(), now_ns, body, |bytes| {
            self.inner.append_encoded(bytes)
        })
    }

    /// Creates many tasks in one atomic append; returns the first seq (`None` if empty).
    pub fn create_batch(&self, tasks: &[(TaskId, &str, u64)]) -> Result<Option<u64>> {
        let origin = self.inner.origin_hash();
        let events = tasks
            .iter()
            .map(|&(id, title, now)| {
                encode_event(TASK_CREATED, origin, now, &TitleBody { id, title })
            })
            .collect::<Result<Vec<_>>>()?;
        self.inner.append_encoded_batch(&events)
    }

    /// The folded state.
    pub fn state(&self) -> &Arc<RwLock<TasksState>> {
        self.inner.state()
    }

    /// The generic adapter underneath.
    pub fn adapter(&self) -> &CortexAdapter<TasksState> {
        &self.inner
    }

    /// Where the fold is.
    pub fn progress(&self) -> Progress {
        self.inner.progress()
    }

    /// Waits until the event at `seq` is folded (see [`CortexAdapter::wait_for_seq`]).
    pub async fn wait_for_seq(&self, seq: u64) -> Result<()> {
        self.inner.wait_for_seq(seq).await
    }

    /// A watch builder: chain filters, then `.stream()`.
    pub fn watch(&self) -> TasksWatcher<'_> {
        TasksWatcher::new(self)
    }

    /// The watcher's current result and a stream of its later changes, with no change lost
    /// between the two and the current result not repeated on the stream.
    pub fn snapshot_and_watch(
        &self,
        watcher: TasksWatcher<'_>,
    ) -> (Vec<Arc<Task>>, ChangeStream<Vec<Arc<Task>>>) {
        let filter = watcher.into_filter();
        self.inner.snapshot_and_changes(move |s: &TasksState| s.find_many(&filter))
    }

    /// Snapshot of the state and the seq of its last event.
    pub fn snapshot(&self) -> Result<(Vec<u8>, Option<u64>)> {
        self.inner.snapshot()
    }

    /// Stops the fold and closes the file (see [`CortexAdapter::close`]).
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

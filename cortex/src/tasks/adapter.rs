//! [`TasksAdapter`]: the typed write path of the tasks model over a [`CortexAdapter`].

use crate::adapter::CortexAdapter;
use crate::error::Result;
use crate::meta::encode_event;
use crate::model_adapter;
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
    model_adapter::adapter_start!("tasks", TasksAdapter, TASKS_CHANNEL, TasksFold);

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

    model_adapter::adapter_end!(TasksState, TasksWatcher, Task);
}

//! [`TasksState`]: the tasks, and the secondary indexes the fold keeps beside them.
//!
//! Rows live in a hash map keyed by id (so `find_unique` is one lookup) as `Arc<Task>`, so a
//! query result shares rows with the state instead of copying them; a change to a row that no
//! result still holds is made in place (`Arc::make_mut`). Beside the rows, the fold maintains:
//!
//! - `ids`: every id, ordered, for id-ordered results and cursors;
//! - `by_status`: the ids of each status, so a status filter reads exactly its rows and a
//!   status count is a length;
//! - `by_created`: `(created_ns, id)` pairs, for created-time ranges and orders.
//!
//! The indexes are derived data: snapshots store only the rows and rebuild them on restore.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::id_hash::IdMap;
use crate::snapshot::SnapshotState;
use crate::tasks::types::{Task, TaskId, TaskStatus};

/// Every task, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::tasks::query`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(try_from = "Vec<Task>")]
pub struct TasksState {
    pub(crate) rows: IdMap<Arc<Task>>,
    pub(crate) ids: BTreeSet<TaskId>,
    pub(crate) by_status: [BTreeSet<TaskId>; 2],
    pub(crate) by_created: BTreeSet<(u64, TaskId)>,
}

impl PartialEq for TasksState {
    /// Two states are equal when they hold the same tasks (indexes are derived).
    fn eq(&self, other: &Self) -> bool {
        self.rows.len() == other.rows.len()
            && self.rows.iter().all(|(id, t)| other.rows.get(id).is_some_and(|o| o == t))
    }
}

impl Eq for TasksState {}

impl TasksState {
    /// An empty state.
    pub fn new() -> Self {
        TasksState::default()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The task `id`.
    pub fn get(&self, id: TaskId) -> Option<&Arc<Task>> {
        self.rows.get(&id)
    }

    /// Every task in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Task>> + '_ {
        self.ids.iter().filter_map(|id| self.rows.get(id))
    }

    /// Inserts a new pending task; an existing id is left as it is.
    pub(crate) fn create(&mut self, id: TaskId, title: &str, now_ns: u64) {
        if self.rows.contains_key(&id) {
            return;
        }
        let task = Task {
            id,
            title: title.to_owned(),
            status: TaskStatus::Pending,
            created_ns: now_ns,
            updated_ns: now_ns,
        };
        self.rows.insert(id, Arc::new(task));
        self.ids.insert(id);
        self.by_status[TaskStatus::Pending.index()].insert(id);
        self.by_created.insert((now_ns, id));
    }

    pub(crate) fn rename(&mut self, id: TaskId, title: &str, now_ns: u64) {
        if let Some(row) = self.rows.get_mut(&id) {
            let task = Arc::make_mut(row);
            title.clone_into(&mut task.title);
            task.updated_ns = now_ns;
        }
    }

    pub(crate) fn set_status(&mut self, id: TaskId, status: TaskStatus, now_ns: u64) {
        if let Some(row) = self.rows.get_mut(&id) {
            let task = Arc::make_mut(row);
            let old = task.status;
            task.status = status;
            task.updated_ns = now_ns;
            if old != status {
                self.by_status[old.index()].remove(&id);
                self.by_status[status.index()].insert(id);
            }
        }
    }

    pub(crate) fn delete(&mut self, id: TaskId) {
        if let Some(task) = self.rows.remove(&id) {
            self.ids.remove(&id);
            self.by_status[task.status.index()].remove(&id);
            self.by_created.remove(&(task.created_ns, id));
        }
    }

    /// Builds a state, indexes included, from rows in any order. Duplicate ids are refused.
    pub fn from_tasks(tasks: Vec<Task>) -> Result<Self, String> {
        let mut rows = IdMap::with_capacity_and_hasher(tasks.len(), Default::default());
        let mut status_ids: [Vec<TaskId>; 2] = [Vec::new(), Vec::new()];
        let mut created = Vec::with_capacity(tasks.len());
        for task in tasks {
            let id = task.id;
            status_ids[task.status.index()].push(id);
            created.push((task.created_ns, id));
            if rows.insert(id, Arc::new(task)).is_some() {
                return Err(format!("task id {id} appears twice"));
            }
        }
        // Collecting sorts first and then builds each tree in bulk: much cheaper than
        // inserting one key at a time, and nearly free for the already sorted snapshot order.
        let ids = rows.keys().copied().collect();
        let [pending, completed] = status_ids;
        Ok(TasksState {
            rows,
            ids,
            by_status: [pending.into_iter().collect(), completed.into_iter().collect()],
            by_created: created.into_iter().collect(),
        })
    }
}

impl TryFrom<Vec<Task>> for TasksState {
    type Error = String;

    fn try_from(tasks: Vec<Task>) -> Result<Self, String> {
        TasksState::from_tasks(tasks)
    }
}

impl Serialize for TasksState {
    /// Serializes the tasks alone, in id order; the indexes are rebuilt on restore.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for task in self.iter() {
            seq.serialize_element(&**task)?;
        }
        seq.end()
    }
}

impl SnapshotState for TasksState {
    const MODEL: &'static str = "cortex.tasks";
    const MODEL_VERSION: u32 = 1;
}

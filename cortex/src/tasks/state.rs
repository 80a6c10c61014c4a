//! [`TasksState`]: the tasks, and the secondary indexes the fold keeps beside them.
//!
//! Rows live in a hash map keyed by id (so `find_unique` is one lookup) as `Arc<Task>`, so a
//! query result shares rows with the state instead of copying them. Beside the rows, the fold
//! maintains indexes that hold the same `Arc`s (not ids), so a query walks an index and clones
//! what it finds, with no lookup per row:
//!
//! - `ids`: every row in id order, for id-ordered results and cursors;
//! - `by_status`: the rows of each status in id order, so a status filter reads exactly its
//!   rows and a status count is a length;
//! - `by_created`: rows by `(created_ns, id)`, for created-time ranges and orders.
//!
//! A change to a row builds a new `Arc` and puts it in every place that held the old one (a
//! result handed out earlier keeps the old version). The indexes are derived data: snapshots
//! store only the rows and rebuild them on restore.

use std::sync::Arc;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::id_hash::IdMap;
use crate::snapshot::SnapshotState;
use crate::sources::{RowsByCreated, RowsById};
use crate::tasks::types::{Task, TaskId, TaskStatus};

/// Every task, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::tasks::query`].
#[derive(Debug, Default, Clone)]
pub struct TasksState {
    pub(crate) rows: IdMap<Arc<Task>>,
    pub(crate) ids: RowsById<Task>,
    pub(crate) by_status: [RowsById<Task>; 2],
    pub(crate) by_created: RowsByCreated<Task>,
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
        self.ids.values()
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
        let task = Arc::new(task);
        self.rows.insert(id, Arc::clone(&task));
        self.ids.insert(id, Arc::clone(&task));
        self.by_status[TaskStatus::Pending.index()].insert(id, Arc::clone(&task));
        self.by_created.insert((now_ns, id), task);
    }

    pub(crate) fn rename(&mut self, id: TaskId, title: &str, now_ns: u64) {
        self.update(id, |task| {
            title.clone_into(&mut task.title);
            task.updated_ns = now_ns;
        });
    }

    pub(crate) fn set_status(&mut self, id: TaskId, status: TaskStatus, now_ns: u64) {
        self.update(id, |task| {
            task.status = status;
            task.updated_ns = now_ns;
        });
    }

    /// Applies `change` to a copy of the row `id` (if it exists) and puts the new row in the
    /// map and in every index, moving it between status indexes if its status changed. The id
    /// and the creation time never change, so the id and created keys stay where they are.
    fn update(&mut self, id: TaskId, change: impl FnOnce(&mut Task)) {
        let Some(row) = self.rows.get_mut(&id) else { return };
        let old_status = row.status;
        let mut task = Task::clone(row);
        change(&mut task);
        let task = Arc::new(task);
        *row = Arc::clone(&task);
        let created = (task.created_ns, id);
        if let Some(slot) = self.ids.get_mut(&id) {
            *slot = Arc::clone(&task);
        }
        if let Some(slot) = self.by_created.get_mut(&created) {
            *slot = Arc::clone(&task);
        }
        if task.status == old_status {
            if let Some(slot) = self.by_status[old_status.index()].get_mut(&id) {
                *slot = task;
            }
        } else {
            self.by_status[old_status.index()].remove(&id);
            self.by_status[task.status.index()].insert(id, task);
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
        Self::from_rows(tasks.into_iter().map(Arc::new).collect())
    }

    /// Builds a state from shared rows in any order (what snapshot decoding produces).
    pub(crate) fn from_rows(mut rows_in: Vec<Arc<Task>>) -> Result<Self, String> {
        // Snapshots list rows in id order; anything else is sorted first. Sorted input lets
        // every index be built in bulk (`BTreeMap` from a sorted iterator builds its nodes
        // left to right, without searching).
        if !rows_in.is_sorted_by_key(|t| t.id) {
            rows_in.sort_unstable_by_key(|t| t.id);
        }
        if let Some(w) = rows_in.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(format!("task id {} appears twice", w[0].id));
        }
        let mut rows = IdMap::with_capacity_and_hasher(rows_in.len(), Default::default());
        let mut status_rows: [Vec<(TaskId, Arc<Task>)>; 2] = [Vec::new(), Vec::new()];
        let mut created = Vec::with_capacity(rows_in.len());
        let mut ids = Vec::with_capacity(rows_in.len());
        for task in rows_in {
            let id = task.id;
            status_rows[task.status.index()].push((id, Arc::clone(&task)));
            created.push(((task.created_ns, id), Arc::clone(&task)));
            rows.insert(id, Arc::clone(&task));
            ids.push((id, task));
        }
        created.sort_unstable_by_key(|(key, _)| *key);
        let [pending, completed] = status_rows;
        Ok(TasksState {
            rows,
            ids: RowsById::from_iter(ids),
            by_status: [RowsById::from_iter(pending), RowsById::from_iter(completed)],
            by_created: RowsByCreated::from_iter(created),
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

impl<'de> Deserialize<'de> for TasksState {
    /// Reads the rows (as [`Serialize`] wrote them) straight into shared rows and builds the
    /// indexes in bulk.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowsVisitor;
        impl<'de> Visitor<'de> for RowsVisitor {
            type Value = Vec<Arc<Task>>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of tasks")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Trust a length prefix only up to 1 MiB of row handles, like serde does.
                let cap = seq.size_hint().unwrap_or(0).min(PREALLOC_ROWS_MAX);
                let mut rows = Vec::with_capacity(cap);
                while let Some(row) = seq.next_element::<Task>()? {
                    rows.push(Arc::new(row));
                }
                Ok(rows)
            }
        }
        let rows = deserializer.deserialize_seq(RowsVisitor)?;
        TasksState::from_rows(rows).map_err(serde::de::Error::custom)
    }
}

/// Most row handles preallocated on the strength of a snapshot's length prefix.
const PREALLOC_ROWS_MAX: usize = (1 << 20) / std::mem::size_of::<Arc<Task>>();

impl SnapshotState for TasksState {
    const MODEL: &'static str = "cortex.tasks";
    const MODEL_VERSION: u32 = 1;
}

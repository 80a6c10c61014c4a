//! The row type of the tasks model.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::order::Row;
use crate::slab::Vacant;

/// Identifier of a task, chosen by the writer.
pub type TaskId = u64;

/// Whether a task is still to do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum TaskStatus {
    /// Not done yet (every task starts here).
    #[default]
    Pending,
    /// Done.
    Completed,
}

impl TaskStatus {
    /// Every status, in index order.
    pub const ALL: [TaskStatus; 2] = [TaskStatus::Pending, TaskStatus::Completed];

    pub(crate) fn index(self) -> usize {
        match self {
            TaskStatus::Pending => 0,
            TaskStatus::Completed => 1,
        }
    }
}

/// One task. Owned query results hand out copies (small: the title is inline up to 23 bytes,
/// and shared, not copied, beyond).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Its title (held inline up to 23 bytes; dereferences to `str`).
    pub title: SmolStr,
    /// Pending or completed.
    pub status: TaskStatus,
    /// The writer's time when it was created (Unix nanoseconds).
    pub created_ns: u64,
    /// The writer's time of its last change.
    pub updated_ns: u64,
}

impl Row for Task {
    fn id(&self) -> u64 {
        self.id
    }

    fn created_ns(&self) -> u64 {
        self.created_ns
    }

    fn updated_ns(&self) -> u64 {
        self.updated_ns
    }
}

/// A free slot of the tasks slab holds an empty task (no allocation: its title is inline).
impl Vacant for Task {
    fn vacant() -> Self {
        Task::default()
    }
}

//! [`TasksFilter`]: a plain struct describing a task query, field for field the same as the
//! fluent [`crate::tasks::TasksQuery`] chain (which builds one of these).

use crate::order::{Cursor, OrderBy};
use crate::plan::{self, QueryFilter};
use crate::tasks::types::{Task, TaskId, TaskStatus};

/// Which tasks a query returns, in what order, and how many. Every set field must match
/// (fields combine with AND); time bounds are strict. An empty `id_in` matches nothing.
///
/// ```
/// use cortex::tasks::{TasksFilter, TaskStatus};
/// use cortex::OrderBy;
/// let f = TasksFilter {
///     status: Some(TaskStatus::Pending),
///     order_by: Some(OrderBy::CreatedDesc),
///     limit: Some(20),
///     ..TasksFilter::default()
/// };
/// assert_eq!(f.order(), OrderBy::CreatedDesc);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TasksFilter {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks whose id is in this list.
    pub id_in: Option<Vec<TaskId>>,
    /// Only tasks whose title contains this substring (case-sensitive).
    pub title_contains: Option<String>,
    /// Only tasks created strictly after this time.
    pub created_after_ns: Option<u64>,
    /// Only tasks created strictly before this time.
    pub created_before_ns: Option<u64>,
    /// Only tasks changed strictly after this time.
    pub updated_after_ns: Option<u64>,
    /// Only tasks changed strictly before this time.
    pub updated_before_ns: Option<u64>,
    /// Result order (default [`OrderBy::IdAsc`]); ignored when `after` is set.
    pub order_by: Option<OrderBy>,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// Only rows strictly after this cursor, in the cursor's order.
    pub after: Option<Cursor>,
}

impl TasksFilter {
    /// The order results come in: the cursor's, else `order_by`, else id ascending.
    #[inline]
    pub fn order(&self) -> OrderBy {
        self.after.map(|c| c.order()).or(self.order_by).unwrap_or_default()
    }

    /// Whether `task` passes every predicate (not the cursor or the limit).
    pub fn matches(&self, task: &Task) -> bool {
        self.id_in.as_ref().is_none_or(|ids| ids.contains(&task.id))
            && self.matches_except_ids(task)
    }

    /// Whether the only predicate is the status (what `by_status` answers by itself), and
    /// there is no cursor.
    #[inline]
    pub(crate) fn is_status_only(&self) -> bool {
        self.is_status_only_after() && self.after.is_none()
    }

    /// Like [`TasksFilter::is_status_only`] but allowing a cursor (which sources apply
    /// themselves or which execution checks separately).
    #[inline]
    pub(crate) fn is_status_only_after(&self) -> bool {
        self.id_in.is_none()
            && self.title_contains.is_none()
            && self.created_after_ns.is_none()
            && self.created_before_ns.is_none()
            && self.updated_after_ns.is_none()
            && self.updated_before_ns.is_none()
    }
}

impl QueryFilter<Task> for TasksFilter {
    plan::query_filter_fields!(Task);

    #[inline]
    fn matches_except_ids(&self, task: &Task) -> bool {
        self.status.is_none_or(|s| task.status == s)
            && self.title_contains.as_deref().is_none_or(|s| task.title.contains(s))
            && self.created_after_ns.is_none_or(|t| task.created_ns > t)
            && self.created_before_ns.is_none_or(|t| task.created_ns < t)
            && self.updated_after_ns.is_none_or(|t| task.updated_ns > t)
            && self.updated_before_ns.is_none_or(|t| task.updated_ns < t)
    }
}

/// The predicates of [`crate::tasks::TasksQuery`] and [`crate::tasks::TasksWatcher`]: one
/// method per field of the [`TasksFilter`] they build.
macro_rules! tasks_setters {
    () => {
        /// Only tasks with `status`.
        pub fn where_status(mut self, status: $crate::tasks::TaskStatus) -> Self {
            self.filter.status = Some(status);
            self
        }

        $crate::builder::where_id_in!("tasks", $crate::tasks::TaskId);

        /// Only tasks whose title contains `needle`.
        pub fn title_contains(mut self, needle: impl Into<String>) -> Self {
            self.filter.title_contains = Some(needle.into());
            self
        }

        $crate::builder::created_bounds!("tasks", "created");
        $crate::builder::updated_bounds!("tasks");
    };
}

pub(crate) use tasks_setters;

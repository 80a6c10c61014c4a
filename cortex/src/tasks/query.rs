//! Queries over [`TasksState`]: Prisma-style methods taking a [`TasksFilter`], and the fluent
//! [`TasksQuery`] that builds the same filter step by step.
//!
//! The planner reads candidates from the narrowest index the filter allows, in this order of
//! preference: an explicit id list, the status index, the created-time index (when the filter
//! bounds creation time or orders by it), and otherwise the ordered id set. The
//! crate's private `plan` module turns candidates into results.

use crate::builder;
use crate::order::{OrderBy, Page};
use crate::plan::{self, Model, Plan};
use crate::sources;
use crate::tasks::filter::{tasks_setters, TasksFilter};
use crate::tasks::state::TasksState;
use crate::tasks::types::{Task, TaskId};

impl TasksState {
    /// The task `id`: one hash lookup.
    #[inline]
    pub fn find_unique(&self, id: TaskId) -> Option<&Task> {
        self.get(id)
    }

    /// The tasks matching `filter`, in its order, after its cursor, up to its limit, each a
    /// copy of its row (a title longer than 23 bytes is shared, not copied); see
    /// [`TasksState::find_many_ref`] for the same result borrowed.
    pub fn find_many(&self, filter: &TasksFilter) -> Vec<Task> {
        plan::find_many(self, filter)
    }

    /// [`TasksState::find_many`] borrowed from the state: the same rows in the same order,
    /// nothing copied, valid while the state's read lock is held. The cheapest way to read a
    /// result in place (render it, aggregate it, pick a few rows to keep with `clone`).
    pub fn find_many_ref(&self, filter: &TasksFilter) -> Vec<&Task> {
        plan::find_many_ref(self, filter)
    }

    /// [`TasksState::find_many`] computed by scanning every row, without any index. Slower;
    /// it is the reference the index-backed planner is tested against.
    pub fn find_many_scan(&self, filter: &TasksFilter) -> Vec<Task> {
        plan::find_many_scan(self, filter)
    }

    /// How many tasks `find_many` would return. A status-only filter is answered from the
    /// status index's length, without visiting a row.
    pub fn count_where(&self, filter: &TasksFilter) -> usize {
        plan::count_where(self, filter)
    }

    /// Whether any task matches.
    pub fn exists_where(&self, filter: &TasksFilter) -> bool {
        plan::exists_where(self, filter)
    }

    /// A fluent query over this state.
    pub fn query(&self) -> TasksQuery<'_> {
        TasksQuery { state: self, filter: TasksFilter::default() }
    }

    /// One page of `filter`'s result: up to `filter.limit` rows (all if unset) and a cursor to
    /// the next page if more rows match.
    pub fn find_page(&self, filter: &TasksFilter) -> Page<Task> {
        plan::find_page(self, filter)
    }
}

impl Model for TasksState {
    type Row = Task;
    type Filter = TasksFilter;
    const CLONE_IN_WALK: bool = false;

    plan::model_fields!(Task);

    /// A filter on the status alone, in an id order: the status set is the whole answer,
    /// walked directly.
    #[inline]
    fn index_rows<'a, R>(
        &'a self,
        filter: &TasksFilter,
        each: impl FnMut(&'a Task) -> R,
    ) -> Option<Vec<R>> {
        let status = filter.status.filter(|_| filter.is_status_only_after())?;
        let set = &self.by_status[status.index()];
        let limit = filter.limit.unwrap_or(usize::MAX);
        sources::id_set_rows(set, &self.slab, filter.order(), filter.after, limit, each)
    }

    /// A filter on the status alone (or on nothing), without a cursor: the length of its
    /// status set (or of the state).
    #[inline]
    fn index_count(&self, filter: &TasksFilter) -> Option<usize> {
        filter.is_status_only().then(|| match filter.status {
            Some(s) => self.by_status[s.index()].len(),
            None => self.rows.len(),
        })
    }

    /// In this order of preference: the status index, the created-time index (when the filter
    /// bounds creation time or orders by it), and otherwise the ordered id set. Read from its
    /// status index, a filter on the status alone needs no predicate.
    fn plan_indexes(&self, f: &TasksFilter) -> (Plan<'_, '_, Task>, bool) {
        let order = f.order();
        if let Some(status) = f.status {
            let plan = sources::id_set(&self.by_status[status.index()], &self.slab, order, f.after);
            return (plan, !f.is_status_only_after());
        }
        let plan = if f.created_after_ns.is_some()
            || f.created_before_ns.is_some()
            || matches!(order, OrderBy::CreatedAsc | OrderBy::CreatedDesc)
        {
            sources::created(
                &self.by_created,
                &self.slab,
                f.created_after_ns,
                f.created_before_ns,
                order,
                f.after,
            )
        } else {
            self.all_by_id(order, f.after)
        };
        (plan, true)
    }
}

/// A fluent query: chain `where_*`, `order_by`, `after`, `limit`, then `collect`, `count`,
/// `first`, `exists` or `page`. It builds a [`TasksFilter`] and runs the same planner as
/// [`TasksState::find_many`].
///
/// ```
/// use cortex::tasks::{TasksState, TaskStatus};
/// use cortex::OrderBy;
/// let state = TasksState::new();
/// let newest_pending = state
///     .query()
///     .where_status(TaskStatus::Pending)
///     .order_by(OrderBy::CreatedDesc)
///     .limit(20)
///     .collect();
/// assert!(newest_pending.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct TasksQuery<'a> {
    state: &'a TasksState,
    filter: TasksFilter,
}

impl<'a> TasksQuery<'a> {
    tasks_setters!();
    builder::query_methods!("tasks", "task", TasksState, TasksFilter, Task);
}

//! Queries over [`TasksState`]: Prisma-style methods taking a [`TasksFilter`], and the fluent
//! [`TasksQuery`] that builds the same filter step by step.
//!
//! The planner reads candidates from the narrowest index the filter allows, in this order of
//! preference: an explicit id list, the status index, the created-time index (when the filter
//! bounds creation time or orders by it), and otherwise the ordered id set. The
//! crate's private `plan` module turns candidates into results.

use std::sync::Arc;

use crate::builder;
use crate::order::{Cursor, OrderBy, Page};
use crate::plan::{self, Plan};
use crate::sources::{self, Source};
use crate::tasks::filter::{tasks_setters, TasksFilter};
use crate::tasks::state::TasksState;
use crate::tasks::types::{Task, TaskId};

impl TasksState {
    /// The task `id`: one hash lookup.
    #[inline]
    pub fn find_unique(&self, id: TaskId) -> Option<&Arc<Task>> {
        self.get(id)
    }

    /// The tasks matching `filter`, in its order, after its cursor, up to its limit. Each row
    /// is shared with the state (one reference-count increment per row, no copy); see
    /// [`TasksState::find_many_ref`] for the same result borrowed.
    pub fn find_many(&self, filter: &TasksFilter) -> Vec<Arc<Task>> {
        if let Some(rows) = self.status_only(filter, Arc::clone) {
            return rows;
        }
        plan::share(self.find_many_ref(filter))
    }

    /// [`TasksState::find_many`] borrowed from the state: the same rows in the same order,
    /// with no reference count touched, valid while the state's read lock is held. The
    /// cheapest way to read a result in place (render it, aggregate it, pick a few rows to
    /// keep with `Arc::clone`).
    pub fn find_many_ref(&self, filter: &TasksFilter) -> Vec<&Arc<Task>> {
        if let Some(rows) = self.status_only(filter, |row| row) {
            return rows;
        }
        let ids = sorted_ids(filter);
        let (plan, check) = self.plan(filter, ids.as_deref());
        plan::collect_refs(plan, filter.shape(), check, pred(filter, ids.as_deref()))
    }

    /// `each` of the rows of a filter on the status alone, in an id order: the status set is
    /// the whole answer, walked directly. `None` for any other filter.
    fn status_only<'a, R>(
        &'a self,
        filter: &TasksFilter,
        each: impl FnMut(&'a Arc<Task>) -> R,
    ) -> Option<Vec<R>> {
        let status = filter.status.filter(|_| filter.is_status_only_after())?;
        let set = &self.by_status[status.index()];
        let limit = filter.limit.unwrap_or(usize::MAX);
        sources::id_set_rows(set, &self.slab, filter.order(), filter.after, limit, each)
    }

    /// [`TasksState::find_many`] computed by scanning every row, without any index. Slower;
    /// it is the reference the index-backed planner is tested against.
    pub fn find_many_scan(&self, filter: &TasksFilter) -> Vec<Arc<Task>> {
        let scan = Plan {
            rows: Box::new(self.slab.rows()),
            in_order: false,
            after_applied: false,
            len_hint: self.rows.len(),
        };
        plan::share(plan::collect_refs(scan, filter.shape(), true, |t| filter.matches(t)))
    }

    /// How many tasks `find_many` would return. A status-only filter is answered from the
    /// status index's length, without visiting a row.
    pub fn count_where(&self, filter: &TasksFilter) -> usize {
        let limit = filter.limit.unwrap_or(usize::MAX);
        if filter.is_status_only() {
            let n = match filter.status {
                Some(s) => self.by_status[s.index()].len(),
                None => self.rows.len(),
            };
            return n.min(limit);
        }
        let ids = sorted_ids(filter);
        let (plan, check) = self.plan(filter, ids.as_deref());
        plan::count(plan, filter.shape(), check, pred(filter, ids.as_deref()))
    }

    /// Whether any task matches.
    pub fn exists_where(&self, filter: &TasksFilter) -> bool {
        let ids = sorted_ids(filter);
        let (plan, check) = self.plan(filter, ids.as_deref());
        plan::exists(plan, filter.shape(), check, pred(filter, ids.as_deref()))
    }

    /// A fluent query over this state.
    pub fn query(&self) -> TasksQuery<'_> {
        TasksQuery { state: self, filter: TasksFilter::default() }
    }

    /// One page of `filter`'s result: up to `filter.limit` rows (all if unset) and a cursor to
    /// the next page if more rows match.
    pub fn find_page(&self, filter: &TasksFilter) -> Page<Arc<Task>> {
        let Some(limit) = filter.limit else {
            return Page { items: self.find_many(filter), next: None };
        };
        let mut probe = filter.clone();
        probe.limit = Some(limit.saturating_add(1));
        let mut items = self.find_many(&probe);
        let mut next = None;
        if items.len() > limit {
            items.truncate(limit);
            next = items.last().map(|t| Cursor::of(filter.order(), &**t));
        }
        Page { items, next }
    }

    /// The candidate rows for `f`, and whether they still need the filter's predicate (a
    /// status-only filter read from its status index needs none).
    fn plan<'a, 'p>(
        &'a self,
        f: &TasksFilter,
        ids: Option<&'p [TaskId]>,
    ) -> (Plan<'a, 'p, Task>, bool)
    where
        'a: 'p,
    {
        let order = f.order();
        if let Some(ids) = ids {
            let in_order = matches!(order, OrderBy::IdAsc | OrderBy::IdDesc);
            let rows: sources::Rows<'a, 'p, Task> = if order == OrderBy::IdDesc {
                Box::new(ids.iter().rev().filter_map(|id| self.get(*id)))
            } else {
                Box::new(ids.iter().filter_map(|id| self.get(*id)))
            };
            let plan = Source { rows, in_order, after_applied: false, len_hint: ids.len() };
            return (plan, true);
        }
        if let Some(status) = f.status {
            let plan = sources::id_set(&self.by_status[status.index()], &self.slab, order, f.after);
            let residual = !(f.is_status_only() || f.is_status_only_after());
            return (plan, residual);
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

/// `id_in` sorted and deduplicated, so it can be walked in order and searched in log time.
fn sorted_ids(f: &TasksFilter) -> Option<Vec<TaskId>> {
    f.id_in.as_ref().map(|ids| {
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        ids
    })
}

/// The filter's predicate, with `id_in` checked by binary search in its sorted copy.
fn pred<'a>(f: &'a TasksFilter, ids: Option<&'a [TaskId]>) -> impl Fn(&Task) -> bool + 'a {
    move |t| {
        ids.is_none_or(|ids| ids.binary_search(&t.id).is_ok())
            && f.status.is_none_or(|s| t.status == s)
            && f.title_contains.as_deref().is_none_or(|s| t.title.contains(s))
            && f.created_after_ns.is_none_or(|x| t.created_ns > x)
            && f.created_before_ns.is_none_or(|x| t.created_ns < x)
            && f.updated_after_ns.is_none_or(|x| t.updated_ns > x)
            && f.updated_before_ns.is_none_or(|x| t.updated_ns < x)
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

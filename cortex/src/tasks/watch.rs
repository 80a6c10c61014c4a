//! [`TasksWatcher`]: a filtered, deduplicated change stream of tasks.

use std::sync::Arc;

use crate::changes::ChangeStream;
use crate::order::OrderBy;
use crate::tasks::adapter::TasksAdapter;
use crate::tasks::filter::TasksFilter;
use crate::tasks::state::TasksState;
use crate::tasks::types::{Task, TaskId, TaskStatus};

/// Builds a watch over a [`TasksAdapter`]: the same filters as a query, then
/// [`TasksWatcher::stream`]. Results default to id order, so equal sets compare equal.
#[derive(Debug)]
pub struct TasksWatcher<'a> {
    adapter: &'a TasksAdapter,
    filter: TasksFilter,
}

impl<'a> TasksWatcher<'a> {
    pub(crate) fn new(adapter: &'a TasksAdapter) -> Self {
        TasksWatcher { adapter, filter: TasksFilter::default() }
    }

    /// Replaces the whole filter.
    pub fn filter(mut self, filter: TasksFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Only tasks with `status`.
    pub fn where_status(mut self, status: TaskStatus) -> Self {
        self.filter.status = Some(status);
        self
    }

    /// Only tasks whose id is in `ids`.
    pub fn where_id_in(mut self, ids: impl IntoIterator<Item = TaskId>) -> Self {
        self.filter.id_in = Some(ids.into_iter().collect());
        self
    }

    /// Only tasks whose title contains `needle`.
    pub fn title_contains(mut self, needle: impl Into<String>) -> Self {
        self.filter.title_contains = Some(needle.into());
        self
    }

    /// Only tasks created strictly after `ns`.
    pub fn created_after(mut self, ns: u64) -> Self {
        self.filter.created_after_ns = Some(ns);
        self
    }

    /// Only tasks created strictly before `ns`.
    pub fn created_before(mut self, ns: u64) -> Self {
        self.filter.created_before_ns = Some(ns);
        self
    }

    /// Only tasks changed strictly after `ns`.
    pub fn updated_after(mut self, ns: u64) -> Self {
        self.filter.updated_after_ns = Some(ns);
        self
    }

    /// Only tasks changed strictly before `ns`.
    pub fn updated_before(mut self, ns: u64) -> Self {
        self.filter.updated_before_ns = Some(ns);
        self
    }

    /// Result order (default id ascending).
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.filter.order_by = Some(order);
        self
    }

    /// At most `n` rows per emission.
    pub fn limit(mut self, n: usize) -> Self {
        self.filter.limit = Some(n);
        self
    }

    pub(crate) fn into_filter(self) -> TasksFilter {
        self.filter
    }

    /// Starts the stream: the current result first, then each changed result. Dropping the
    /// stream stops it; nothing keeps running behind it.
    pub fn stream(self) -> ChangeStream<Vec<Arc<Task>>> {
        let filter = self.filter;
        self.adapter.adapter().changes(move |s: &TasksState| s.find_many(&filter))
    }
}

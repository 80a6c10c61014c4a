//! [`TasksWatcher`]: a filtered, deduplicated change stream of tasks.

use crate::builder;
use crate::tasks::adapter::TasksAdapter;
use crate::tasks::filter::{tasks_setters, TasksFilter};
use crate::tasks::state::TasksState;
use crate::tasks::types::Task;

/// Builds a watch over a [`TasksAdapter`]: the same filters as a query, then
/// [`TasksWatcher::stream`]. Results default to id order, so equal sets compare equal.
#[derive(Debug)]
pub struct TasksWatcher<'a> {
    adapter: &'a TasksAdapter,
    filter: TasksFilter,
}

impl<'a> TasksWatcher<'a> {
    builder::watcher_start!(TasksAdapter, TasksFilter);
    tasks_setters!();
    builder::watcher_end!(TasksState, TasksFilter, Task);
}

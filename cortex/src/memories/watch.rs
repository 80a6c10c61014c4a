//! [`MemoriesWatcher`]: a filtered, deduplicated change stream of memories.

use crate::builder;
use crate::memories::adapter::MemoriesAdapter;
use crate::memories::filter::{memories_setters, MemoriesFilter};
use crate::memories::state::MemoriesState;
use crate::memories::types::Memory;

/// Builds a watch over a [`MemoriesAdapter`]: the same filters as a query, then
/// [`MemoriesWatcher::stream`]. Results default to id order, so equal sets compare equal.
#[derive(Debug)]
pub struct MemoriesWatcher<'a> {
    adapter: &'a MemoriesAdapter,
    filter: MemoriesFilter,
}

impl<'a> MemoriesWatcher<'a> {
    builder::watcher_start!(MemoriesAdapter, MemoriesFilter);
    memories_setters!();
    builder::watcher_end!(MemoriesState, MemoriesFilter, std::sync::Arc<Memory>);
}

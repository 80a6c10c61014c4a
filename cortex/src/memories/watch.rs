//! [`MemoriesWatcher`]: a filtered, deduplicated change stream of memories.

use std::sync::Arc;

use crate::changes::ChangeStream;
use crate::memories::adapter::MemoriesAdapter;
use crate::memories::filter::MemoriesFilter;
use crate::memories::state::MemoriesState;
use crate::memories::types::{Memory, MemoryId};
use crate::order::OrderBy;

/// Builds a watch over a [`MemoriesAdapter`]: the same filters as a query, then
/// [`MemoriesWatcher::stream`]. Results default to id order, so equal sets compare equal.
#[derive(Debug)]
pub struct MemoriesWatcher<'a> {
    adapter: &'a MemoriesAdapter,
    filter: MemoriesFilter,
}

impl<'a> MemoriesWatcher<'a> {
    pub(crate) fn new(adapter: &'a MemoriesAdapter) -> Self {
        MemoriesWatcher { adapter, filter: MemoriesFilter::default() }
    }

    /// Replaces the whole filter.
    pub fn filter(mut self, filter: MemoriesFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Only memories whose id is in `ids`.
    pub fn where_id_in(mut self, ids: impl IntoIterator<Item = MemoryId>) -> Self {
        self.filter.id_in = Some(ids.into_iter().collect());
        self
    }

    /// Only memories carrying `tag`.
    pub fn where_tag(mut self, tag: impl Into<String>) -> Self {
        self.filter.tag = Some(tag.into());
        self
    }

    /// Only memories carrying at least one of `tags`.
    pub fn where_any_tag<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.filter.any_tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Only memories carrying all of `tags`.
    pub fn where_all_tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.filter.all_tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Only memories from `source`.
    pub fn where_source(mut self, source: impl Into<String>) -> Self {
        self.filter.source = Some(source.into());
        self
    }

    /// Only memories whose content contains `needle`.
    pub fn content_contains(mut self, needle: impl Into<String>) -> Self {
        self.filter.content_contains = Some(needle.into());
        self
    }

    /// Only pinned (`true`) or unpinned (`false`) memories.
    pub fn where_pinned(mut self, pinned: bool) -> Self {
        self.filter.pinned = Some(pinned);
        self
    }

    /// Only memories stored strictly after `ns`.
    pub fn created_after(mut self, ns: u64) -> Self {
        self.filter.created_after_ns = Some(ns);
        self
    }

    /// Only memories stored strictly before `ns`.
    pub fn created_before(mut self, ns: u64) -> Self {
        self.filter.created_before_ns = Some(ns);
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

    pub(crate) fn into_filter(self) -> MemoriesFilter {
        self.filter
    }

    /// Starts the stream: the current result first, then each changed result. Dropping the
    /// stream stops it; nothing keeps running behind it.
    pub fn stream(self) -> ChangeStream<Vec<Arc<Memory>>> {
        let filter = self.filter;
        self.adapter.adapter().changes(move |s: &MemoriesState| s.find_many(&filter))
    }
}

//! [`MemoriesFilter`]: a plain struct describing a memory query, field for field the same as
//! the fluent [`crate::memories::MemoriesQuery`] chain (which builds one of these).

use std::sync::Arc;

use crate::memories::types::{Memory, MemoryId};
use crate::order::{Cursor, OrderBy};
use crate::plan::{self, QueryFilter};

/// Which memories a query returns, in what order, and how many. Every set field must match
/// (fields combine with AND); time bounds are strict. An empty `id_in` or `any_tags` matches
/// nothing; an empty `all_tags` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoriesFilter {
    /// Only memories whose id is in this list.
    pub id_in: Option<Vec<MemoryId>>,
    /// Only memories carrying this tag.
    pub tag: Option<String>,
    /// Only memories carrying at least one of these tags.
    pub any_tags: Option<Vec<String>>,
    /// Only memories carrying every one of these tags.
    pub all_tags: Option<Vec<String>>,
    /// Only memories from this source (exact match).
    pub source: Option<String>,
    /// Only memories whose content contains this substring (case-sensitive).
    pub content_contains: Option<String>,
    /// Only pinned (`true`) or unpinned (`false`) memories.
    pub pinned: Option<bool>,
    /// Only memories stored strictly after this time.
    pub created_after_ns: Option<u64>,
    /// Only memories stored strictly before this time.
    pub created_before_ns: Option<u64>,
    /// Only memories changed strictly after this time.
    pub updated_after_ns: Option<u64>,
    /// Only memories changed strictly before this time.
    pub updated_before_ns: Option<u64>,
    /// Result order (default [`OrderBy::IdAsc`]); ignored when `after` is set.
    pub order_by: Option<OrderBy>,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// Only rows strictly after this cursor, in the cursor's order.
    pub after: Option<Cursor>,
}

impl MemoriesFilter {
    /// The order results come in: the cursor's, else `order_by`, else id ascending.
    #[inline]
    pub fn order(&self) -> OrderBy {
        self.after.map(|c| c.order()).or(self.order_by).unwrap_or_default()
    }

    /// Whether `memory` passes every predicate (not the cursor or the limit).
    pub fn matches(&self, m: &Memory) -> bool {
        self.id_in.as_ref().is_none_or(|ids| ids.contains(&m.id)) && self.matches_except_ids_of(m)
    }

    /// Whether `m` passes every predicate but `id_in`.
    #[inline]
    fn matches_except_ids_of(&self, m: &Memory) -> bool {
        self.tag.as_deref().is_none_or(|t| m.has_tag(t))
            && self.any_tags.as_ref().is_none_or(|ts| ts.iter().any(|t| m.has_tag(t)))
            && self.all_tags.as_ref().is_none_or(|ts| ts.iter().all(|t| m.has_tag(t)))
            && self.source.as_deref().is_none_or(|s| m.source == s)
            && self.content_contains.as_deref().is_none_or(|s| m.content.contains(s))
            && self.pinned.is_none_or(|p| m.pinned == p)
            && self.created_after_ns.is_none_or(|t| m.created_ns > t)
            && self.created_before_ns.is_none_or(|t| m.created_ns < t)
            && self.updated_after_ns.is_none_or(|t| m.updated_ns > t)
            && self.updated_before_ns.is_none_or(|t| m.updated_ns < t)
    }

    /// Whether no predicate other than `tag` / `pinned` is set, not both of them, and no
    /// cursor: such a filter is answered by an index's length.
    #[inline]
    pub(crate) fn is_single_index(&self) -> bool {
        self.is_only_tag_or_pin()
            && self.after.is_none()
            && !(self.tag.is_some() && self.pinned.is_some())
    }

    /// Whether the only predicates are `tag` and `pinned` (a cursor allowed): a filter on one
    /// of them alone, read from its index, needs no further check.
    #[inline]
    pub(crate) fn is_only_tag_or_pin(&self) -> bool {
        self.id_in.is_none()
            && self.any_tags.is_none()
            && self.all_tags.is_none()
            && self.source.is_none()
            && self.content_contains.is_none()
            && self.created_after_ns.is_none()
            && self.created_before_ns.is_none()
            && self.updated_after_ns.is_none()
            && self.updated_before_ns.is_none()
    }
}

impl QueryFilter<Arc<Memory>> for MemoriesFilter {
    plan::query_filter_fields!(Arc<Memory>);

    #[inline]
    fn matches_except_ids(&self, m: &Arc<Memory>) -> bool {
        self.matches_except_ids_of(m)
    }
}

/// The predicates of [`crate::memories::MemoriesQuery`] and
/// [`crate::memories::MemoriesWatcher`], one method per field of the [`MemoriesFilter`] they
/// build; the query alone adds the `updated_*` bounds.
macro_rules! memories_setters {
    () => {
        $crate::builder::where_id_in!("memories", $crate::memories::MemoryId);

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
        pub fn where_all_tags<T: Into<String>>(
            mut self,
            tags: impl IntoIterator<Item = T>,
        ) -> Self {
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

        $crate::builder::created_bounds!("memories", "stored");
        $crate::builder::updated_bounds!("memories");
    };
}

pub(crate) use memories_setters;

//! Queries over [`MemoriesState`]: Prisma-style methods taking a [`MemoriesFilter`], and the
//! fluent [`MemoriesQuery`] that builds the same filter step by step.
//!
//! The planner reads candidates from the narrowest index the filter allows, in this order of
//! preference: an explicit id list, the tag index (one tag; for `all_tags` the rarest of them;
//! for `any_tags` the union of theirs), the pinned set, the created-time index (when the filter
//! bounds creation time or orders by it), and otherwise the ordered id set. The crate's
//! private `plan` module turns candidates into results.

use std::sync::Arc;

use crate::builder;
use crate::memories::filter::{memories_setters, MemoriesFilter};
use crate::memories::state::MemoriesState;
use crate::memories::types::{Memory, MemoryId};
use crate::order::{OrderBy, Page};
use crate::plan::{self, Model, Plan};
use crate::slab::Slot;
use crate::sources::{self, IdIndex, Rows, Source};

impl MemoriesState {
    /// The memory `id`: one hash lookup.
    #[inline]
    pub fn find_unique(&self, id: MemoryId) -> Option<&Arc<Memory>> {
        self.get(id)
    }

    /// The memories matching `filter`, in its order, after its cursor, up to its limit. Each
    /// row is shared with the state (one reference-count increment per row, no copy); see
    /// [`MemoriesState::find_many_ref`] for the same result borrowed.
    pub fn find_many(&self, filter: &MemoriesFilter) -> Vec<Arc<Memory>> {
        plan::find_many(self, filter)
    }

    /// [`MemoriesState::find_many`] borrowed from the state: the same rows in the same order,
    /// with no reference count touched, valid while the state's read lock is held.
    pub fn find_many_ref(&self, filter: &MemoriesFilter) -> Vec<&Arc<Memory>> {
        plan::find_many_ref(self, filter)
    }

    /// [`MemoriesState::find_many`] computed by scanning every row, without any index.
    /// Slower; it is the reference the index-backed planner is tested against.
    pub fn find_many_scan(&self, filter: &MemoriesFilter) -> Vec<Arc<Memory>> {
        plan::find_many_scan(self, filter)
    }

    /// How many memories `find_many` would return. A filter on one tag, or on the pin alone,
    /// is answered from its index's length without visiting a row.
    pub fn count_where(&self, filter: &MemoriesFilter) -> usize {
        plan::count_where(self, filter)
    }

    /// Whether any memory matches.
    pub fn exists_where(&self, filter: &MemoriesFilter) -> bool {
        plan::exists_where(self, filter)
    }

    /// A fluent query over this state.
    pub fn query(&self) -> MemoriesQuery<'_> {
        MemoriesQuery { state: self, filter: MemoriesFilter::default() }
    }

    /// One page of `filter`'s result: up to `filter.limit` rows (all if unset) and a cursor to
    /// the next page if more rows match.
    pub fn find_page(&self, filter: &MemoriesFilter) -> Page<Arc<Memory>> {
        plan::find_page(self, filter)
    }

    /// The index of the rarest of `tags` (empty if one of them is unused); `None` when `tags`
    /// is empty (it then restricts nothing).
    fn rarest_tag(&self, tags: &[String]) -> Option<&IdIndex> {
        let mut best: Option<&IdIndex> = None;
        for tag in tags {
            let set = self.by_tag.get(tag).unwrap_or(&EMPTY_ROWS);
            if best.is_none_or(|b| set.len() < b.len()) {
                best = Some(set);
            }
        }
        best
    }

    /// Rows carrying any of `tags`, by id, without duplicates.
    fn tag_union(&self, tags: &[String], order: OrderBy) -> Plan<'_, '_, Arc<Memory>> {
        let mut rows: Vec<(MemoryId, Slot)> =
            tags.iter().filter_map(|t| self.by_tag.get(t)).flat_map(IdIndex::iter).collect();
        rows.sort_unstable_by_key(|(id, _)| *id);
        rows.dedup_by_key(|(id, _)| *id);
        let len_hint = rows.len();
        let slab = &self.slab;
        let row = move |(_, slot): (MemoryId, Slot)| slab.get(slot);
        let (rows, in_order): (Rows<'_, '_, Arc<Memory>>, bool) = match order {
            OrderBy::IdAsc => (Box::new(rows.into_iter().filter_map(row)), true),
            OrderBy::IdDesc => (Box::new(rows.into_iter().rev().filter_map(row)), true),
            _ => (Box::new(rows.into_iter().filter_map(row)), false),
        };
        Source { rows, in_order, after_applied: false, len_hint }
    }
}

impl Model for MemoriesState {
    type Row = Arc<Memory>;
    type Filter = MemoriesFilter;
    const CLONE_IN_WALK: bool = true;

    plan::model_fields!(Arc<Memory>);

    /// A filter on one tag, or on the pin alone, in an id order: that index is the whole
    /// answer, walked directly.
    #[inline]
    fn index_rows<'a, R>(
        &'a self,
        filter: &MemoriesFilter,
        each: impl FnMut(&'a Arc<Memory>) -> R,
    ) -> Option<Vec<R>> {
        if !filter.is_only_tag_or_pin() {
            return None;
        }
        let set = match (&filter.tag, filter.pinned) {
            (Some(tag), None) => self.by_tag.get(tag).unwrap_or(&EMPTY_ROWS),
            (None, Some(true)) => &self.pinned,
            _ => return None,
        };
        let limit = filter.limit.unwrap_or(usize::MAX);
        sources::id_set_rows(set, &self.slab, filter.order(), filter.after, limit, each)
    }

    /// A filter on one tag, or on the pin alone (or on nothing), without a cursor: the length
    /// of that index (or of the state).
    #[inline]
    fn index_count(&self, filter: &MemoriesFilter) -> Option<usize> {
        if !filter.is_single_index() {
            return None;
        }
        match (&filter.tag, filter.pinned) {
            (Some(tag), None) => Some(self.by_tag.get(tag).map_or(0, IdIndex::len)),
            (None, Some(true)) => Some(self.pinned.len()),
            (None, Some(false)) => Some(self.rows.len() - self.pinned.len()),
            (None, None) => Some(self.rows.len()),
            (Some(_), Some(_)) => None,
        }
    }

    /// In this order of preference: the tag index (one tag; for `all_tags` the rarest of them;
    /// for `any_tags` the union of theirs), the pinned set, the created-time index (when the
    /// filter bounds creation time or orders by it), and otherwise the ordered id set. Read
    /// from its index, a filter on one tag or on the pin alone needs no predicate.
    fn plan_indexes(&self, f: &MemoriesFilter) -> (Plan<'_, '_, Arc<Memory>>, bool) {
        let order = f.order();
        let mut check = true;
        let plan = if let Some(tag) = &f.tag {
            check = !(f.is_only_tag_or_pin() && f.pinned.is_none());
            let set = self.by_tag.get(tag).unwrap_or(&EMPTY_ROWS);
            sources::id_set(set, &self.slab, order, f.after)
        } else if let Some(set) = f.all_tags.as_ref().and_then(|ts| self.rarest_tag(ts)) {
            sources::id_set(set, &self.slab, order, f.after)
        } else if let Some(tags) = &f.any_tags {
            self.tag_union(tags, order)
        } else if f.pinned == Some(true) {
            check = !f.is_only_tag_or_pin();
            sources::id_set(&self.pinned, &self.slab, order, f.after)
        } else if f.created_after_ns.is_some()
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
            sources::id_set(&self.ids, &self.slab, order, f.after)
        };
        (plan, check)
    }
}

/// An empty index for a tag nobody uses.
static EMPTY_ROWS: IdIndex = IdIndex::new();

/// A fluent query: chain `where_*`, `order_by`, `after`, `limit`, then `collect`, `count`,
/// `first`, `exists` or `page`. It builds a [`MemoriesFilter`] and runs the same planner as
/// [`MemoriesState::find_many`].
///
/// ```
/// use cortex::memories::MemoriesState;
/// let state = MemoriesState::new();
/// let work = state.query().where_tag("work").where_pinned(true).limit(10).collect();
/// assert!(work.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct MemoriesQuery<'a> {
    state: &'a MemoriesState,
    filter: MemoriesFilter,
}

impl<'a> MemoriesQuery<'a> {
    memories_setters!();
    builder::query_methods!("memories", "memory", MemoriesState, MemoriesFilter, Arc<Memory>);
}

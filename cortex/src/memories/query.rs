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
use crate::order::{Cursor, OrderBy, Page};
use crate::plan::{self, Plan};
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
        if let Some(rows) = self.single_index(filter, Arc::clone) {
            return rows;
        }
        plan::share(self.find_many_ref(filter))
    }

    /// [`MemoriesState::find_many`] borrowed from the state: the same rows in the same order,
    /// with no reference count touched, valid while the state's read lock is held.
    pub fn find_many_ref(&self, filter: &MemoriesFilter) -> Vec<&Arc<Memory>> {
        if let Some(rows) = self.single_index(filter, |row| row) {
            return rows;
        }
        let ids = sorted_ids(filter);
        let (plan, check, pred) = self.plan(filter, ids.as_deref());
        plan::collect_refs(plan, filter.shape(), check, pred)
    }

    /// `each` of the rows of a filter on one tag, or on the pin alone, in an id order: that
    /// index is the whole answer, walked directly. `None` for any other filter.
    fn single_index<'a, R>(
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

    /// [`MemoriesState::find_many`] computed by scanning every row, without any index.
    /// Slower; it is the reference the index-backed planner is tested against.
    pub fn find_many_scan(&self, filter: &MemoriesFilter) -> Vec<Arc<Memory>> {
        let scan = Plan {
            rows: Box::new(self.slab.rows()),
            in_order: false,
            after_applied: false,
            len_hint: self.rows.len(),
        };
        plan::share(plan::collect_refs(scan, filter.shape(), true, |m| filter.matches(m)))
    }

    /// How many memories `find_many` would return. A filter on one tag, or on the pin alone,
    /// is answered from its index's length without visiting a row.
    pub fn count_where(&self, filter: &MemoriesFilter) -> usize {
        let limit = filter.limit.unwrap_or(usize::MAX);
        if filter.is_single_index() {
            let n = match (&filter.tag, filter.pinned) {
                (Some(tag), None) => self.by_tag.get(tag).map_or(0, IdIndex::len),
                (None, Some(true)) => self.pinned.len(),
                (None, Some(false)) => self.rows.len() - self.pinned.len(),
                (None, None) => self.rows.len(),
                (Some(_), Some(_)) => return self.count_planned(filter),
            };
            return n.min(limit);
        }
        self.count_planned(filter)
    }

    fn count_planned(&self, filter: &MemoriesFilter) -> usize {
        let ids = sorted_ids(filter);
        let (plan, check, pred) = self.plan(filter, ids.as_deref());
        plan::count(plan, filter.shape(), check, pred)
    }

    /// Whether any memory matches.
    pub fn exists_where(&self, filter: &MemoriesFilter) -> bool {
        let ids = sorted_ids(filter);
        let (plan, check, pred) = self.plan(filter, ids.as_deref());
        plan::exists(plan, filter.shape(), check, pred)
    }

    /// A fluent query over this state.
    pub fn query(&self) -> MemoriesQuery<'_> {
        MemoriesQuery { state: self, filter: MemoriesFilter::default() }
    }

    /// One page of `filter`'s result: up to `filter.limit` rows (all if unset) and a cursor to
    /// the next page if more rows match.
    pub fn find_page(&self, filter: &MemoriesFilter) -> Page<Arc<Memory>> {
        let Some(limit) = filter.limit else {
            return Page { items: self.find_many(filter), next: None };
        };
        let mut probe = filter.clone();
        probe.limit = Some(limit.saturating_add(1));
        let mut items = self.find_many(&probe);
        let mut next = None;
        if items.len() > limit {
            items.truncate(limit);
            next = items.last().map(|m| Cursor::of(filter.order(), &**m));
        }
        Page { items, next }
    }

    /// The candidate rows for `f`, whether they still need the predicate (a filter on one tag
    /// or on the pin alone, read from that index, needs none), and the predicate.
    fn plan<'a, 'p>(
        &'a self,
        f: &'p MemoriesFilter,
        ids: Option<&'p [MemoryId]>,
    ) -> (Plan<'a, 'p, Memory>, bool, impl Fn(&Memory) -> bool + 'p)
    where
        'a: 'p,
    {
        let order = f.order();
        let mut check = true;
        let plan = if let Some(ids) = ids {
            let in_order = matches!(order, OrderBy::IdAsc | OrderBy::IdDesc);
            let rows: Rows<'a, 'p, Memory> = if order == OrderBy::IdDesc {
                Box::new(ids.iter().rev().filter_map(|id| self.get(*id)))
            } else {
                Box::new(ids.iter().filter_map(|id| self.get(*id)))
            };
            Source { rows, in_order, after_applied: false, len_hint: ids.len() }
        } else if let Some(tag) = &f.tag {
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
        let pred = move |m: &Memory| {
            ids.is_none_or(|ids| ids.binary_search(&m.id).is_ok()) && f.matches_except_ids(m)
        };
        (plan, check, pred)
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
    fn tag_union(&self, tags: &[String], order: OrderBy) -> Plan<'_, '_, Memory> {
        let mut rows: Vec<(MemoryId, Slot)> = tags
            .iter()
            .filter_map(|t| self.by_tag.get(t))
            .flat_map(|set| set.iter().map(|(id, slot)| (*id, *slot)))
            .collect();
        rows.sort_unstable_by_key(|(id, _)| *id);
        rows.dedup_by_key(|(id, _)| *id);
        let len_hint = rows.len();
        let slab = &self.slab;
        let row = move |(_, slot): (MemoryId, Slot)| slab.get(slot);
        let (rows, in_order): (Rows<'_, '_, Memory>, bool) = match order {
            OrderBy::IdAsc => (Box::new(rows.into_iter().filter_map(row)), true),
            OrderBy::IdDesc => (Box::new(rows.into_iter().rev().filter_map(row)), true),
            _ => (Box::new(rows.into_iter().filter_map(row)), false),
        };
        Source { rows, in_order, after_applied: false, len_hint }
    }
}

/// An empty index for a tag nobody uses.
static EMPTY_ROWS: IdIndex = IdIndex::new();

fn sorted_ids(f: &MemoriesFilter) -> Option<Vec<MemoryId>> {
    f.id_in.as_ref().map(|ids| {
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        ids
    })
}

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
    builder::updated_bounds!("memories");
    builder::query_methods!("memories", "memory", MemoriesState, MemoriesFilter, Memory);
}

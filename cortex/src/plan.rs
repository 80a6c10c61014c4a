//! Query execution shared by the models: candidates from an index or a scan, then the
//! residual filter, the cursor, the order and the limit.
//!
//! A model's planner picks the narrowest source of candidate rows its filter allows (an id
//! list, a secondary index, a created-time range, or every row) and says whether that source
//! already yields rows in the requested order, starting after the cursor. If it does, execution
//! streams: filter, take `limit`, done, so the cost follows the size of the result. Otherwise
//! it filters, sorts and truncates. Either way every predicate of the filter is checked on
//! every candidate, so an index only ever narrows the work, never changes the answer.
//!
//! A model's state implements [`Model`] (its row and filter types, the filters one index
//! answers by itself, and how a filter plans against its indexes) and its filter struct
//! [`QueryFilter`]; the functions below ([`find_many`], [`count_where`], [`find_page`], ...)
//! are the query methods of every model, which each model's public methods call.

use crate::order::{Cursor, OrderBy, Page, Row};
use crate::slab::Slab;

/// Candidate rows for one query: a [`crate::sources::Source`].
pub(crate) use crate::sources::Source as Plan;

/// The parts of a filter that execution needs beyond the row predicate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) order: OrderBy,
    pub(crate) after: Option<Cursor>,
    pub(crate) limit: Option<usize>,
}

impl Shape {
    pub(crate) fn admits<T: Row>(&self, row: &T) -> bool {
        self.after.is_none_or(|c| c.admits(row))
    }
}

/// Runs `plan`: keeps the rows that pass `pred` (skipped when `check_pred` is false, because the
/// source already guarantees every predicate) and come after the cursor (skipped when the
/// source already seeked past it), in the shape's order, up to its limit. The rows are
/// borrowed from the state: no reference count is touched.
pub(crate) fn collect_refs<'a, T: Row>(
    plan: Plan<'a, '_, T>,
    shape: Shape,
    check_pred: bool,
    pred: impl Fn(&T) -> bool,
) -> Vec<&'a T> {
    let limit = shape.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Vec::new();
    }
    let check_after = shape.after.is_some() && !plan.after_applied;
    if plan.in_order && !check_pred && !check_after {
        // Every candidate is a result: one walk of the index, into a buffer sized once.
        let mut out = Vec::with_capacity(plan.len_hint.min(limit));
        out.extend(plan.rows.take(limit));
        return out;
    }
    let matching =
        plan.rows.filter(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(*r)));
    if plan.in_order {
        return matching.take(limit).collect();
    }
    let mut rows: Vec<&T> = matching.collect();
    if limit < rows.len() {
        let order = shape.order;
        rows.select_nth_unstable_by(limit, |a, b| order.compare(*a, *b));
        rows.truncate(limit);
    }
    rows.sort_unstable_by(|a, b| shape.order.compare(*a, *b));
    rows
}

/// Owned copies of borrowed rows (for a row held by value, a copy; for a shared one, a
/// reference-count increment).
pub(crate) fn owned<T: Clone>(rows: Vec<&T>) -> Vec<T> {
    rows.into_iter().cloned().collect()
}

/// How many rows [`collect_refs`] would return.
pub(crate) fn count<T: Row>(
    plan: Plan<'_, '_, T>,
    shape: Shape,
    check_pred: bool,
    pred: impl Fn(&T) -> bool,
) -> usize {
    let limit = shape.limit.unwrap_or(usize::MAX);
    let check_after = shape.after.is_some() && !plan.after_applied;
    plan.rows
        .filter(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(*r)))
        .take(limit)
        .count()
}

/// Whether [`collect_refs`] would return anything.
pub(crate) fn exists<T: Row>(
    mut plan: Plan<'_, '_, T>,
    shape: Shape,
    check_pred: bool,
    pred: impl Fn(&T) -> bool,
) -> bool {
    let check_after = shape.after.is_some() && !plan.after_applied;
    shape.limit != Some(0)
        && plan.rows.any(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(r)))
}

/// A model's filter struct, as execution sees it.
pub(crate) trait QueryFilter<T>: Clone {
    /// Its order, cursor and limit.
    fn shape(&self) -> Shape;
    /// Its `id_in` list, if set.
    fn id_in(&self) -> Option<&[u64]>;
    /// Sets its limit.
    fn set_limit(&mut self, limit: usize);
    /// Whether `row` passes every predicate.
    fn matches(&self, row: &T) -> bool;
    /// Whether `row` passes every predicate but `id_in`.
    fn matches_except_ids(&self, row: &T) -> bool;
}

/// The methods of [`QueryFilter`] that only read the fields every filter struct has (`order_by`
/// through its `order()`, `after`, `limit`, `id_in`), for a filter of `$row`s, inside its
/// `impl QueryFilter` block: `shape`, `id_in`, `set_limit`, and `matches` (its inherent
/// `matches`). The model writes `matches_except_ids`, its own predicates.
macro_rules! query_filter_fields {
    ($row:ty) => {
        #[inline]
        fn shape(&self) -> $crate::plan::Shape {
            $crate::plan::Shape { order: self.order(), after: self.after, limit: self.limit }
        }

        #[inline]
        fn id_in(&self) -> Option<&[u64]> {
            self.id_in.as_deref()
        }

        #[inline]
        fn set_limit(&mut self, limit: usize) {
            self.limit = Some(limit);
        }

        #[inline]
        fn matches(&self, row: &$row) -> bool {
            Self::matches(self, row)
        }
    };
}

pub(crate) use query_filter_fields;

/// A model's state, as execution sees it: its rows, and how a filter plans against its
/// indexes. The model's query methods (`find_many`, `count_where`, ...) are the functions
/// below, each written once for every model.
pub(crate) trait Model {
    /// The row type, as the state stores it and owned results hand it out (a row held by
    /// value, or an `Arc` of one).
    type Row: Row + Clone;
    /// The filter struct.
    type Filter: QueryFilter<Self::Row>;

    /// Whether an owned result is best taken in the index walk itself, as a clone of each row
    /// when reached (rows held as an `Arc`: a clone is a counter increment, and the result is
    /// a list of pointers). Rows held by value are copied faster in a second pass over the
    /// borrowed result (a tight loop over a list of references: 14.4 against 28.0 µs for 3 333
    /// tasks, measured with block indexes).
    const CLONE_IN_WALK: bool;

    /// The row `id`.
    fn row(&self, id: u64) -> Option<&Self::Row>;

    /// Every row, in slots.
    fn slab(&self) -> &Slab<Self::Row>;

    /// How many rows there are.
    fn row_count(&self) -> usize;

    /// `each` of the rows of a filter that one index answers by itself (in an id order, all
    /// its rows, no predicate left to check); `None` for any other filter.
    fn index_rows<'a, R>(
        &'a self,
        f: &Self::Filter,
        each: impl FnMut(&'a Self::Row) -> R,
    ) -> Option<Vec<R>>;

    /// How many rows match a filter that one index's length answers (before the limit);
    /// `None` for any other filter.
    fn index_count(&self, f: &Self::Filter) -> Option<usize>;

    /// The candidate rows for a filter without `id_in`, from the narrowest index it allows,
    /// and whether they still need the filter's predicate.
    fn plan_indexes(&self, f: &Self::Filter) -> (Plan<'_, '_, Self::Row>, bool);
}

/// The methods of [`Model`] that only read the fields every state has (`slab`, and `rows`, the
/// id map) through its `get`, for a state of `$row`s, inside its `impl Model` block: `row`,
/// `slab` and `row_count`. The model writes the rest, which knows its indexes.
macro_rules! model_fields {
    ($row:ty) => {
        #[inline]
        fn row(&self, id: u64) -> Option<&$row> {
            self.get(id)
        }

        #[inline]
        fn slab(&self) -> &$crate::slab::Slab<$row> {
            &self.slab
        }

        #[inline]
        fn row_count(&self) -> usize {
            self.rows.len()
        }
    };
}

pub(crate) use model_fields;

/// The rows matching `f`, owned.
#[inline]
pub(crate) fn find_many<M: Model>(m: &M, f: &M::Filter) -> Vec<M::Row> {
    if M::CLONE_IN_WALK {
        if let Some(rows) = m.index_rows(f, M::Row::clone) {
            return rows;
        }
    }
    owned(find_many_ref(m, f))
}

/// The rows matching `f`, borrowed from the state.
#[inline]
pub(crate) fn find_many_ref<'a, M: Model>(m: &'a M, f: &M::Filter) -> Vec<&'a M::Row> {
    if let Some(rows) = m.index_rows(f, |row| row) {
        return rows;
    }
    let ids = sorted_ids(f);
    let (plan, check) = plan(m, f, ids.as_deref());
    collect_refs(plan, f.shape(), check, pred(f, ids.as_deref()))
}

/// [`find_many`] by scanning every row, without any index: the reference the index-backed
/// planner is tested against.
pub(crate) fn find_many_scan<M: Model>(m: &M, f: &M::Filter) -> Vec<M::Row> {
    let scan = Plan {
        rows: Box::new(m.slab().rows()),
        in_order: false,
        after_applied: false,
        len_hint: m.row_count(),
    };
    owned(collect_refs(scan, f.shape(), true, |row| f.matches(row)))
}

/// How many rows [`find_many`] would return.
#[inline]
pub(crate) fn count_where<M: Model>(m: &M, f: &M::Filter) -> usize {
    if let Some(n) = m.index_count(f) {
        return n.min(f.shape().limit.unwrap_or(usize::MAX));
    }
    let ids = sorted_ids(f);
    let (plan, check) = plan(m, f, ids.as_deref());
    count(plan, f.shape(), check, pred(f, ids.as_deref()))
}

/// Whether [`find_many`] would return anything.
#[inline]
pub(crate) fn exists_where<M: Model>(m: &M, f: &M::Filter) -> bool {
    let ids = sorted_ids(f);
    let (plan, check) = plan(m, f, ids.as_deref());
    exists(plan, f.shape(), check, pred(f, ids.as_deref()))
}

/// One page of `f`'s result: up to its limit (all if unset), and a cursor to the next page
/// if more rows match.
pub(crate) fn find_page<M: Model>(m: &M, f: &M::Filter) -> Page<M::Row> {
    let shape = f.shape();
    let Some(limit) = shape.limit else {
        return Page { items: find_many(m, f), next: None };
    };
    let mut probe = f.clone();
    probe.set_limit(limit.saturating_add(1));
    let mut items = find_many(m, &probe);
    let mut next = None;
    if items.len() > limit {
        items.truncate(limit);
        next = items.last().map(|row| Cursor::of(shape.order, row));
    }
    Page { items, next }
}

/// The candidate rows for `f` and whether they still need its predicate: the rows of the id
/// list `ids` (sorted) if there is one, else those of the model's narrowest index.
#[inline]
fn plan<'a, 'p, M: Model>(
    m: &'a M,
    f: &M::Filter,
    ids: Option<&'p [u64]>,
) -> (Plan<'a, 'p, M::Row>, bool)
where
    'a: 'p,
{
    let Some(ids) = ids else { return m.plan_indexes(f) };
    let order = f.shape().order;
    let in_order = matches!(order, OrderBy::IdAsc | OrderBy::IdDesc);
    let rows: crate::sources::Rows<'a, 'p, M::Row> = if order == OrderBy::IdDesc {
        Box::new(ids.iter().rev().filter_map(|id| m.row(*id)))
    } else {
        Box::new(ids.iter().filter_map(|id| m.row(*id)))
    };
    (Plan { rows, in_order, after_applied: false, len_hint: ids.len() }, true)
}

/// `id_in` sorted and deduplicated, so it can be walked in order and searched in log time.
#[inline]
fn sorted_ids<T>(f: &impl QueryFilter<T>) -> Option<Vec<u64>> {
    f.id_in().map(|ids| {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids
    })
}

/// The filter's predicate, with `id_in` checked by binary search in its sorted copy `ids`.
#[inline]
fn pred<'p, T: Row>(
    f: &'p impl QueryFilter<T>,
    ids: Option<&'p [u64]>,
) -> impl Fn(&T) -> bool + 'p {
    move |row| {
        ids.is_none_or(|ids| ids.binary_search(&row.id()).is_ok()) && f.matches_except_ids(row)
    }
}

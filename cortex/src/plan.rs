//! Query execution shared by the models: candidates from an index or a scan, then the
//! residual filter, the cursor, the order and the limit.
//!
//! A model's planner picks the narrowest source of candidate rows its filter allows (an id
//! list, a secondary index, a created-time range, or every row) and says whether that source
//! already yields rows in the requested order, starting after the cursor. If it does, execution
//! streams: filter, take `limit`, done, so the cost follows the size of the result. Otherwise
//! it filters, sorts and truncates. Either way every predicate of the filter is checked on
//! every candidate, so an index only ever narrows the work, never changes the answer.

use std::sync::Arc;

use crate::order::{Cursor, OrderBy, Row};

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
) -> Vec<&'a Arc<T>> {
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
        plan.rows.filter(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(&***r)));
    if plan.in_order {
        return matching.take(limit).collect();
    }
    let mut rows: Vec<&Arc<T>> = matching.collect();
    if limit < rows.len() {
        let order = shape.order;
        rows.select_nth_unstable_by(limit, |a, b| order.compare(&***a, &***b));
        rows.truncate(limit);
    }
    rows.sort_unstable_by(|a, b| shape.order.compare(&***a, &***b));
    rows
}

/// Shares borrowed rows: one reference-count increment per row. The buffer of `rows` is reused
/// for the result (a reference and an `Arc` have the same size), so this allocates nothing.
pub(crate) fn share<T>(rows: Vec<&Arc<T>>) -> Vec<Arc<T>> {
    rows.into_iter().map(Arc::clone).collect()
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
        .filter(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(&***r)))
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
        && plan.rows.any(|r| (!check_pred || pred(r)) && (!check_after || shape.admits(&**r)))
}

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

/// Candidate rows for one query.
pub(crate) struct Plan<'a, T> {
    pub(crate) rows: Box<dyn Iterator<Item = &'a Arc<T>> + 'a>,
    /// The rows come in the query's order, starting after its cursor.
    pub(crate) in_order: bool,
}

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

pub(crate) fn collect<T: Row>(
    plan: Plan<'_, T>,
    shape: Shape,
    pred: impl Fn(&T) -> bool,
) -> Vec<Arc<T>> {
    let limit = shape.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Vec::new();
    }
    let matching = plan.rows.filter(|r| pred(r) && shape.admits(&***r));
    if plan.in_order {
        return matching.take(limit).cloned().collect();
    }
    let mut rows: Vec<&Arc<T>> = matching.collect();
    if limit < rows.len() {
        let order = shape.order;
        rows.select_nth_unstable_by(limit, |a, b| order.compare(&***a, &***b));
        rows.truncate(limit);
    }
    rows.sort_unstable_by(|a, b| shape.order.compare(&***a, &***b));
    rows.into_iter().cloned().collect()
}

pub(crate) fn count<T: Row>(plan: Plan<'_, T>, shape: Shape, pred: impl Fn(&T) -> bool) -> usize {
    let limit = shape.limit.unwrap_or(usize::MAX);
    plan.rows.filter(|r| pred(r) && shape.admits(&***r)).take(limit).count()
}

pub(crate) fn exists<T: Row>(
    mut plan: Plan<'_, T>,
    shape: Shape,
    pred: impl Fn(&T) -> bool,
) -> bool {
    shape.limit != Some(0) && plan.rows.any(|r| pred(r) && shape.admits(&**r))
}

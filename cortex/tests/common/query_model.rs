//! What the model tests (`tasks_model.rs`, `memories_model.rs`) share: the documented order,
//! cursor and limit semantics, written as plainly as possible and without the crate's planner,
//! the setters every model's fluent query has, and the walk through a result page by page.

use std::sync::Arc;

use cortex::tasks::{Task, TaskStatus};
use cortex::{Cursor, OrderBy, Page, Row};

/// Every order, for filter strategies to pick from.
pub const ORDERS: [OrderBy; 6] = [
    OrderBy::IdAsc,
    OrderBy::IdDesc,
    OrderBy::CreatedAsc,
    OrderBy::CreatedDesc,
    OrderBy::UpdatedAsc,
    OrderBy::UpdatedDesc,
];

/// A cursor in `order` at a row with this `(id, created_ns, updated_ns)`, which need not exist.
pub fn cursor_at(order: OrderBy, (id, created_ns, updated_ns): (u64, u64, u64)) -> Cursor {
    // A cursor is made of the row's id and times alone, whatever the row's type.
    let title = Default::default();
    Cursor::of(order, &Task { id, title, status: TaskStatus::Pending, created_ns, updated_ns })
}

/// Sets on the query `$q` (a `mut` binding) the fields of the filter `$f` that every model's
/// query sets alike: `id_in`, the time bounds, `order_by`, `after` and `limit`, each if set.
macro_rules! shared_setters {
    ($q:ident, $f:expr) => {
        if let Some(ids) = &$f.id_in {
            $q = $q.where_id_in(ids.iter().copied());
        }
        if let Some(x) = $f.created_after_ns {
            $q = $q.created_after(x);
        }
        if let Some(x) = $f.created_before_ns {
            $q = $q.created_before(x);
        }
        if let Some(x) = $f.updated_after_ns {
            $q = $q.updated_after(x);
        }
        if let Some(x) = $f.updated_before_ns {
            $q = $q.updated_before(x);
        }
        if let Some(o) = $f.order_by {
            $q = $q.order_by(o);
        }
        if let Some(c) = $f.after {
            $q = $q.after(c);
        }
        if let Some(n) = $f.limit {
            $q = $q.limit(n);
        }
    };
}

pub(crate) use shared_setters;

/// The model's matching `rows` (in any order) as a query returns them: in `order`, strictly
/// after the cursor `after`, at most `limit` of them.
pub fn ordered<T: Row>(
    mut rows: Vec<T>,
    order: OrderBy,
    after: Option<Cursor>,
    limit: Option<usize>,
) -> Vec<T> {
    let key = |r: &T| {
        let k = match order {
            OrderBy::IdAsc | OrderBy::IdDesc => r.id(),
            OrderBy::CreatedAsc | OrderBy::CreatedDesc => r.created_ns(),
            _ => r.updated_ns(),
        };
        (k, r.id())
    };
    let desc = matches!(order, OrderBy::IdDesc | OrderBy::CreatedDesc | OrderBy::UpdatedDesc);
    rows.retain(|r| {
        after.is_none_or(|c| if desc { key(r) < c.position() } else { key(r) > c.position() })
    });
    rows.sort_by_key(key);
    if desc {
        rows.reverse();
    }
    rows.truncate(limit.unwrap_or(usize::MAX));
    rows
}

/// Copies of shared rows (memories), to compare with the model's.
#[allow(dead_code)] // not every test binary reads shared rows
pub fn plain<T: Clone>(rows: Vec<Arc<T>>) -> Vec<T> {
    rows.into_iter().map(|r| (*r).clone()).collect()
}

/// Every row of a result read page by page: `page(after)` is the page after the cursor
/// `after`, the first one after `first` (at most 64 pages).
pub fn page_through<R>(
    first: Option<Cursor>,
    mut page: impl FnMut(Option<Cursor>) -> Page<R>,
) -> Vec<R> {
    let mut rows = Vec::new();
    let mut after = first;
    for _ in 0..64 {
        let page = page(after);
        rows.extend(page.items);
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    rows
}

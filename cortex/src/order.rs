//! Result order, cursors and pages, shared by every model.
//!
//! Every order is total: rows are compared by their key (id, created time or updated time)
//! and ties are broken by id, so a position in the order is a `(key, id)` pair. A [`Cursor`]
//! is exactly such a pair, not an offset: it stays valid while rows are inserted or removed
//! around it, so paging through a result while writes continue never repeats or skips a row
//! whose key did not change (a row whose updated time moves past the cursor shows up again in
//! an `Updated*` order, as it should).

use std::cmp::Ordering;

/// Something queries can order and page: every model's row type.
pub trait Row {
    /// Unique id.
    fn id(&self) -> u64;
    /// Creation time (Unix nanoseconds, as given by the writer).
    fn created_ns(&self) -> u64;
    /// Time of the last change (Unix nanoseconds, as given by the writer).
    fn updated_ns(&self) -> u64;
}

/// A shared row is a row.
impl<T: Row + ?Sized> Row for std::sync::Arc<T> {
    fn id(&self) -> u64 {
        (**self).id()
    }

    fn created_ns(&self) -> u64 {
        (**self).created_ns()
    }

    fn updated_ns(&self) -> u64 {
        (**self).updated_ns()
    }
}

/// Order of query and watch results. Ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderBy {
    /// Ascending id (the default, and the default of watches so equal sets compare equal).
    #[default]
    IdAsc,
    /// Descending id.
    IdDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Least recently changed first.
    UpdatedAsc,
    /// Most recently changed first.
    UpdatedDesc,
}

impl OrderBy {
    /// The `(key, id)` position of `row` in this order.
    pub fn position<R: Row + ?Sized>(self, row: &R) -> (u64, u64) {
        let key = match self {
            OrderBy::IdAsc | OrderBy::IdDesc => row.id(),
            OrderBy::CreatedAsc | OrderBy::CreatedDesc => row.created_ns(),
            OrderBy::UpdatedAsc | OrderBy::UpdatedDesc => row.updated_ns(),
        };
        (key, row.id())
    }

    /// Whether larger keys come first.
    pub fn is_descending(self) -> bool {
        matches!(self, OrderBy::IdDesc | OrderBy::CreatedDesc | OrderBy::UpdatedDesc)
    }

    /// Compares two rows in this order.
    pub fn compare<R: Row + ?Sized>(self, a: &R, b: &R) -> Ordering {
        let ord = self.position(a).cmp(&self.position(b));
        if self.is_descending() {
            ord.reverse()
        } else {
            ord
        }
    }
}

/// A position in a result order: pass it to `after(cursor)` to continue strictly after the
/// row it was taken from. It carries its order, and a query continued from it uses that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    order: OrderBy,
    key: u64,
    id: u64,
}

impl Cursor {
    /// The position of `row` in `order`.
    pub fn of<R: Row + ?Sized>(order: OrderBy, row: &R) -> Cursor {
        let (key, id) = order.position(row);
        Cursor { order, key, id }
    }

    /// The order this cursor belongs to.
    pub fn order(&self) -> OrderBy {
        self.order
    }

    /// The `(key, id)` position.
    pub fn position(&self) -> (u64, u64) {
        (self.key, self.id)
    }

    /// Whether `row` comes strictly after this position.
    pub fn admits<R: Row + ?Sized>(&self, row: &R) -> bool {
        let pos = self.order.position(row);
        if self.order.is_descending() {
            pos < (self.key, self.id)
        } else {
            pos > (self.key, self.id)
        }
    }
}

/// One page of a result: its rows, and where the next page starts if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows of this page, in the query's order.
    pub items: Vec<T>,
    /// Cursor after the last row, present only if at least one more row matched.
    pub next: Option<Cursor>,
}

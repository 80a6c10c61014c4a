//! Walking the secondary indexes: ordered id sets and the created-time index, seeked to a
//! cursor and clipped to time bounds, without ever asking `BTreeSet::range` for an inverted or
//! empty-exclusive range (which would panic).

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::sync::Arc;

use crate::order::{Cursor, OrderBy};

/// Rows in the iteration order of a source.
pub(crate) type Rows<'a, T> = Box<dyn Iterator<Item = &'a Arc<T>> + 'a>;

/// Candidate rows from one source, and what the source already guarantees about them.
pub(crate) struct Source<'a, T> {
    pub(crate) rows: Rows<'a, T>,
    /// The rows come in the query's order.
    pub(crate) in_order: bool,
    /// The rows start strictly after the query's cursor (the source seeked to it).
    pub(crate) after_applied: bool,
    /// At most this many rows.
    pub(crate) len_hint: usize,
}

/// An index of rows keyed by id: the index holds the rows themselves (shared `Arc`s), in id
/// order, so walking it reads them contiguously instead of looking each one up.
pub(crate) type RowsById<T> = BTreeMap<u64, Arc<T>>;

/// An index of rows keyed by `(created_ns, id)`.
pub(crate) type RowsByCreated<T> = BTreeMap<(u64, u64), Arc<T>>;

/// Walks an id-keyed index. In an id order it is already in order and seeks to the cursor.
pub(crate) fn id_set<T>(set: &RowsById<T>, order: OrderBy, after: Option<Cursor>) -> Source<'_, T> {
    let cursor = after.map(|c| c.position().1);
    let len_hint = set.len();
    match order {
        OrderBy::IdAsc => {
            let lo = cursor.map_or(Unbounded, Excluded);
            let rows: Rows<'_, T> = match lo {
                Unbounded => Box::new(set.values()),
                lo => Box::new(range(set, lo, Unbounded).map(|(_, r)| r)),
            };
            Source { rows, in_order: true, after_applied: true, len_hint }
        }
        OrderBy::IdDesc => {
            let hi = cursor.map_or(Unbounded, Excluded);
            let rows: Rows<'_, T> = match hi {
                Unbounded => Box::new(set.values().rev()),
                hi => Box::new(range(set, Unbounded, hi).rev().map(|(_, r)| r)),
            };
            Source { rows, in_order: true, after_applied: true, len_hint }
        }
        _ => {
            Source { rows: Box::new(set.values()), in_order: false, after_applied: false, len_hint }
        }
    }
}

/// Walks the `(created_ns, id)` index between the strict bounds `created_after_ns` and
/// `created_before_ns`. In a created order it is already in order and seeks to the cursor.
pub(crate) fn created<'a, T>(
    index: &'a RowsByCreated<T>,
    created_after_ns: Option<u64>,
    created_before_ns: Option<u64>,
    order: OrderBy,
    after: Option<Cursor>,
) -> Source<'a, T> {
    let mut lo = created_after_ns.map_or(Unbounded, |t| Excluded((t, u64::MAX)));
    let mut hi = created_before_ns.map_or(Unbounded, |t| Excluded((t, 0)));
    let cursor = after.map(|c| c.position());
    let len_hint = index.len();
    match order {
        OrderBy::CreatedAsc => {
            if let Some(pos) = cursor {
                lo = tighter_lower(lo, Excluded(pos));
            }
            let rows = Box::new(range(index, lo, hi).map(|(_, r)| r));
            Source { rows, in_order: true, after_applied: true, len_hint }
        }
        OrderBy::CreatedDesc => {
            if let Some(pos) = cursor {
                hi = tighter_upper(hi, Excluded(pos));
            }
            let rows = Box::new(range(index, lo, hi).rev().map(|(_, r)| r));
            Source { rows, in_order: true, after_applied: true, len_hint }
        }
        _ => {
            let rows = Box::new(range(index, lo, hi).map(|(_, r)| r));
            Source { rows, in_order: false, after_applied: false, len_hint }
        }
    }
}

/// `map.range((lo, hi))`, or nothing when the bounds admit nothing.
fn range<K: Ord + Copy, V>(
    map: &BTreeMap<K, V>,
    lo: Bound<K>,
    hi: Bound<K>,
) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
    let valid = match (lo, hi) {
        (Included(a), Included(b)) => a <= b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a < b,
        _ => true,
    };
    let bounds = if valid { Some((lo, hi)) } else { None };
    bounds.into_iter().flat_map(move |b| map.range(b))
}

fn tighter_lower<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x > y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

fn tighter_upper<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x < y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

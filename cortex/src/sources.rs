//! Walking the secondary indexes: ordered id sets and the created-time index, seeked to a
//! cursor and clipped to time bounds, without ever asking `BTreeSet::range` for an inverted or
//! empty-exclusive range (which would panic).

use std::collections::BTreeSet;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use crate::order::{Cursor, OrderBy};

/// Ids in the iteration order of a source, plus whether that order is the query's.
pub(crate) type Ids<'a> = (Box<dyn Iterator<Item = u64> + 'a>, bool);

/// An empty id set for sources that name a missing index key.
pub(crate) static EMPTY_IDS: BTreeSet<u64> = BTreeSet::new();

/// Walks an id set. In an id order it is already in order and seeks to the cursor.
pub(crate) fn id_set(set: &BTreeSet<u64>, order: OrderBy, after: Option<Cursor>) -> Ids<'_> {
    let cursor = after.map(|c| c.position().1);
    match order {
        OrderBy::IdAsc => {
            let lo = cursor.map_or(Unbounded, Excluded);
            (Box::new(range(set, lo, Unbounded)), true)
        }
        OrderBy::IdDesc => {
            let hi = cursor.map_or(Unbounded, Excluded);
            (Box::new(range(set, Unbounded, hi).rev()), true)
        }
        _ => (Box::new(set.iter().copied()), false),
    }
}

/// Walks the `(created_ns, id)` index between the strict bounds `created_after_ns` and
/// `created_before_ns`. In a created order it is already in order and seeks to the cursor.
pub(crate) fn created<'a>(
    index: &'a BTreeSet<(u64, u64)>,
    created_after_ns: Option<u64>,
    created_before_ns: Option<u64>,
    order: OrderBy,
    after: Option<Cursor>,
) -> Ids<'a> {
    let mut lo = created_after_ns.map_or(Unbounded, |t| Excluded((t, u64::MAX)));
    let mut hi = created_before_ns.map_or(Unbounded, |t| Excluded((t, 0)));
    let cursor = after.map(|c| c.position());
    match order {
        OrderBy::CreatedAsc => {
            if let Some(pos) = cursor {
                lo = tighter_lower(lo, Excluded(pos));
            }
            (Box::new(range(index, lo, hi).map(|(_, id)| id)), true)
        }
        OrderBy::CreatedDesc => {
            if let Some(pos) = cursor {
                hi = tighter_upper(hi, Excluded(pos));
            }
            (Box::new(range(index, lo, hi).rev().map(|(_, id)| id)), true)
        }
        _ => (Box::new(range(index, lo, hi).map(|(_, id)| id)), false),
    }
}

/// `set.range((lo, hi))`, or nothing when the bounds admit nothing.
fn range<K: Ord + Copy>(
    set: &BTreeSet<K>,
    lo: Bound<K>,
    hi: Bound<K>,
) -> impl DoubleEndedIterator<Item = K> + '_ {
    let valid = match (lo, hi) {
        (Included(a), Included(b)) => a <= b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a < b,
        _ => true,
    };
    let bounds = if valid { Some((lo, hi)) } else { None };
    bounds.into_iter().flat_map(move |b| set.range(b)).copied()
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

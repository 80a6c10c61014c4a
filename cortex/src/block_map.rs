//! An ordered map of small `Copy` keys and values, held as a list of sorted blocks of at most
//! `MAX` entries each (the layout of Python's `sortedcontainers`), for the secondary indexes.
//!
//! Against a `BTreeMap` (the indexes' first form): a walk is a loop over slices instead of a
//! node-by-node navigation (which `perf` put at most of an index-backed query), finding a key
//! is two binary searches over contiguous memory, and a bulk build from sorted entries copies
//! them into blocks without allocating a node per few entries. An insert or a remove moves at
//! most one block's entries (up to 2 KiB); a split or a merge, once every `MAX / 2` or more
//! changes to a block, also shifts the headers after it (32 bytes a block). That last cost grows
//! with the map, about `n / MAX^2` headers a change on average: at a million entries about 2 KiB
//! of contiguous copy per change, where the fold's status changes measured within 10 % of the
//! `BTreeMap` either way (slower in id order, faster scattered: its cost at that size is cache
//! misses); at ten million, an estimated 20 KiB a change, still one sequential copy.
//!
//! Invariants (checked by [`BlockMap::check`] in the tests): every block is non-empty and
//! strictly ascending, each block's entry in `maxes` is its last key, blocks are in key order,
//! no block holds more than `MAX` entries, and when there are several blocks none holds fewer
//! than `MAX / 8`.

use std::fmt;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

/// The block size of the indexes: 128 entries of 16 bytes, 2 KiB. Chosen on the fold's status
/// changes (`cargo bench -p cortex --bench cortex -- cortex_fold`: each change removes an entry
/// from one index and inserts it in another), against 64 and 512 in alternated runs: 512 made
/// each change move up to 8 KiB (a removal from the front of a block moves the rest of it) and
/// was the slowest; 64 was slower on changes in id order and no faster on index walks.
pub(crate) const DEFAULT_MAX: usize = 128;

/// An ordered map from `K` to `V` (see the module's documentation).
#[derive(Clone)]
pub(crate) struct BlockMap<K, V, const MAX: usize = DEFAULT_MAX> {
    /// The last (largest) key of each block, apart from the blocks so that finding a block
    /// searches one small contiguous array.
    maxes: Vec<K>,
    blocks: Vec<Vec<(K, V)>>,
    len: usize,
}

/// A place between entries: before entry `index` of block `block`, or `(blocks.len(), 0)` for
/// the end. Always canonical: `index` is below the block's length.
type Position = (usize, usize);

impl<K: Ord + Copy, V: Copy, const MAX: usize> BlockMap<K, V, MAX> {
    const MIN: usize = MAX / 8;

    /// An empty map (allocates nothing).
    pub(crate) const fn new() -> Self {
        BlockMap { maxes: Vec::new(), blocks: Vec::new(), len: 0 }
    }

    /// A map of `entries`, which must be in strictly ascending key order (checked in debug
    /// builds). Blocks are filled half full, so later inserts have room before they split.
    pub(crate) fn from_sorted(entries: Vec<(K, V)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        let len = entries.len();
        let fill = (MAX / 2).max(1);
        let mut blocks: Vec<Vec<(K, V)>> = if len == 0 {
            Vec::new()
        } else if len <= fill {
            // One block: the vector itself, without a copy, but without the spare capacity a
            // builder may have reserved for many more entries (it would live as long as the
            // block).
            let mut entries = entries;
            entries.shrink_to_fit();
            vec![entries]
        } else {
            entries.chunks(fill).map(<[(K, V)]>::to_vec).collect()
        };
        // A short last block joins the one before (at most `fill + MIN - 1 <= MAX` entries).
        if blocks.len() > 1 && blocks.last().is_some_and(|b| b.len() < Self::MIN) {
            if let Some(last) = blocks.pop() {
                if let Some(prev) = blocks.last_mut() {
                    prev.extend_from_slice(&last);
                }
            }
        }
        let maxes = blocks.iter().map(|b| b[b.len() - 1].0).collect();
        BlockMap { maxes, blocks, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first block whose largest key is not below `key` (`blocks.len()` if none). Keys
    /// often come in order (ids grow with time; a fold changes the oldest rows first), so the
    /// first and the last block are tried before a search.
    fn block_at_or_after(&self, key: &K) -> usize {
        match (self.maxes.first(), self.maxes.last()) {
            (Some(first), _) if key <= first => 0,
            (_, Some(last)) if key > last => self.maxes.len(),
            _ => self.maxes.partition_point(|max| max < key),
        }
    }

    /// Sets `key` to `value`; the value it had, if any.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if self.blocks.is_empty() {
            self.blocks.push(vec![(key, value)]);
            self.maxes.push(key);
            self.len = 1;
            return None;
        }
        // Past every key: the last block takes it.
        let b = self.block_at_or_after(&key).min(self.blocks.len() - 1);
        let block = &mut self.blocks[b];
        match position_in(block, &key) {
            Ok(i) => Some(std::mem::replace(&mut block[i].1, value)),
            Err(i) => {
                block.insert(i, (key, value));
                if key > self.maxes[b] {
                    self.maxes[b] = key;
                }
                self.len += 1;
                if block.len() > MAX {
                    self.split(b);
                }
                None
            }
        }
    }

    /// Removes `key`; the value it had, if any.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let b = self.block_at_or_after(key);
        let block = self.blocks.get_mut(b)?;
        let i = position_in(block, key).ok()?;
        let (_, value) = block.remove(i);
        self.len -= 1;
        match block.last() {
            None => {
                self.blocks.remove(b);
                self.maxes.remove(b);
            }
            Some(&(last, _)) => {
                self.maxes[b] = last;
                if block.len() < Self::MIN && self.blocks.len() > 1 {
                    self.merge(b);
                }
            }
        }
        Some(value)
    }

    /// Splits block `b` into two halves.
    fn split(&mut self, b: usize) {
        let block = &mut self.blocks[b];
        let right = block.split_off(block.len() / 2);
        let left_max = block[block.len() - 1].0;
        self.blocks.insert(b + 1, right);
        self.maxes.insert(b, left_max);
    }

    /// Joins the short block `b` with a neighbour (splitting the result if it is too long).
    fn merge(&mut self, b: usize) {
        let left = if b + 1 < self.blocks.len() { b } else { b - 1 };
        let right = self.blocks.remove(left + 1);
        self.maxes.remove(left);
        self.blocks[left].extend_from_slice(&right);
        if self.blocks[left].len() > MAX {
            self.split(left);
        }
    }

    /// The first entry at or after the lower bound `lo`.
    fn lower(&self, lo: Bound<K>) -> Position {
        let (key, excluded) = match lo {
            Unbounded => return (0, 0),
            Included(k) => (k, false),
            Excluded(k) => (k, true),
        };
        let admitted = |k: &K| if excluded { *k > key } else { *k >= key };
        let b = self.maxes.partition_point(|max| !admitted(max));
        match self.blocks.get(b) {
            None => (self.blocks.len(), 0),
            Some(block) => (b, block.partition_point(|(k, _)| !admitted(k))),
        }
    }

    /// The first entry past the upper bound `hi`.
    fn upper(&self, hi: Bound<K>) -> Position {
        match hi {
            Unbounded => (self.blocks.len(), 0),
            Included(k) => self.lower(Excluded(k)),
            Excluded(k) => self.lower(Included(k)),
        }
    }

    /// The entries from `start` up to (not including) `end`, as one slice per block.
    fn slices(&self, start: Position, end: Position) -> impl DoubleEndedIterator<Item = &[(K, V)]> {
        let blocks = if start < end {
            let past = if end.1 == 0 { end.0 } else { end.0 + 1 };
            start.0..past
        } else {
            0..0
        };
        let first = blocks.start;
        self.blocks[blocks].iter().enumerate().map(move |(j, block)| {
            let j = first + j;
            let lo = if j == start.0 { start.1 } else { 0 };
            let hi = if j == end.0 { end.1 } else { block.len() };
            &block[lo..hi]
        })
    }

    /// Every entry, in key order, as one slice per block (for loops that want the slices).
    pub(crate) fn blocks(&self) -> impl DoubleEndedIterator<Item = &[(K, V)]> {
        self.blocks.iter().map(Vec::as_slice)
    }

    /// Every entry in key order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (K, V)> + '_ {
        self.blocks().flat_map(|s| s.iter().copied())
    }

    /// Every value in key order.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = V> + '_ {
        self.blocks().flat_map(|s| s.iter().map(|&(_, v)| v))
    }

    /// The entries between `lo` and `hi` in key order; nothing (never a panic) when the bounds
    /// admit nothing, inverted ones included.
    pub(crate) fn range(
        &self,
        lo: Bound<K>,
        hi: Bound<K>,
    ) -> impl DoubleEndedIterator<Item = (K, V)> + '_ {
        self.slices(self.lower(lo), self.upper(hi)).flat_map(|s| s.iter().copied())
    }

    /// Panics unless the invariants in the module's documentation hold (for tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        assert_eq!(self.maxes.len(), self.blocks.len(), "one max per block");
        let mut count = 0;
        for (i, block) in self.blocks.iter().enumerate() {
            assert!(!block.is_empty(), "block {i} is empty");
            assert!(block.len() <= MAX, "block {i} holds {}", block.len());
            if self.blocks.len() > 1 {
                assert!(block.len() >= Self::MIN, "block {i} holds too few entries");
            }
            assert!(block.windows(2).all(|w| w[0].0 < w[1].0), "block {i} unsorted");
            assert!(self.maxes[i] == block[block.len() - 1].0, "block {i} max");
            count += block.len();
        }
        assert!(
            self.blocks.windows(2).all(|w| w[0][w[0].len() - 1].0 < w[1][0].0),
            "blocks overlap"
        );
        assert_eq!(count, self.len, "len");
    }
}

/// Where `key` is in the sorted `block` (`Ok`), or where it would go (`Err`); the ends are
/// tried before a binary search, as in [`BlockMap::block_at_or_after`].
fn position_in<K: Ord, V>(block: &[(K, V)], key: &K) -> Result<usize, usize> {
    match (block.first(), block.last()) {
        (Some((first, _)), _) if key <= first => {
            if key == first {
                Ok(0)
            } else {
                Err(0)
            }
        }
        (_, Some((last, _))) if key > last => Err(block.len()),
        _ => block.binary_search_by(|(k, _)| k.cmp(key)),
    }
}

impl<K: Ord + Copy, V: Copy, const MAX: usize> Default for BlockMap<K, V, MAX> {
    fn default() -> Self {
        BlockMap::new()
    }
}

/// Equal when they hold the same entries, however those fall into blocks.
impl<K: Ord + Copy, V: Copy + PartialEq, const MAX: usize> PartialEq for BlockMap<K, V, MAX> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K, V, const MAX: usize> fmt::Debug for BlockMap<K, V, MAX>
where
    K: Ord + Copy + fmt::Debug,
    V: Copy + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// Small blocks, so that a few hundred operations split and merge them.
    type Small = BlockMap<u16, u32, 8>;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Range(Bound<u16>, Bound<u16>),
    }

    fn bound() -> impl Strategy<Value = Bound<u16>> {
        prop_oneof![Just(Unbounded), (0u16..300).prop_map(Included), (0u16..300).prop_map(Excluded),]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..300, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => (0u16..300).prop_map(Op::Remove),
            1 => (bound(), bound()).prop_map(|(lo, hi)| Op::Range(lo, hi)),
        ]
    }

    /// `ops` on a map of `initial` and on a `BTreeMap` alike, every answer and the invariants
    /// checked after each step; then the whole map read every way; then a drain in a scattered
    /// order, so that blocks everywhere fall under `MIN` and merge.
    fn model_run<const M: usize>(
        initial: BTreeMap<u16, u32>,
        ops: Vec<Op>,
    ) -> Result<(), TestCaseError> {
        let mut model = initial.clone();
        let mut map = BlockMap::<u16, u32, M>::from_sorted(initial.into_iter().collect());
        map.check();
        for op in ops {
            match op {
                Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                Op::Range(lo, hi) => {
                    let want = model_range_of(&model, lo, hi);
                    prop_assert_eq!(map.range(lo, hi).collect::<Vec<_>>(), want.clone());
                    prop_assert!(map.range(lo, hi).rev().eq(want.into_iter().rev()));
                }
            }
            map.check();
            prop_assert_eq!(map.len(), model.len());
        }
        let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        prop_assert_eq!(map.iter().collect::<Vec<_>>(), want.clone());
        prop_assert!(map.iter().rev().eq(want.iter().rev().copied()));
        prop_assert!(map.values().eq(want.iter().map(|&(_, v)| v)));
        prop_assert_eq!(map.blocks().flatten().copied().collect::<Vec<_>>(), want.clone());
        // Equality ignores how entries fall into blocks.
        prop_assert_eq!(&map, &BlockMap::from_sorted(want));
        let mut keys: Vec<u16> = model.keys().copied().collect();
        keys.sort_by_key(|k| (u32::from(*k) * 7_919) % 301);
        for k in keys {
            prop_assert_eq!(map.remove(&k), model.remove(&k));
            map.check();
            prop_assert!(map.iter().rev().eq(model.iter().rev().map(|(k, v)| (*k, *v))));
        }
        prop_assert!(map.is_empty());
        Ok(())
    }

    proptest! {
        /// At `MAX = 8` a block is only removed once empty (its `MIN` is 1); 16 and 24 merge,
        /// with merges that overflow and split again.
        #[test]
        fn block_map_matches_a_btree_map(
            initial in proptest::collection::btree_map(0u16..300, any::<u32>(), 0..160),
            ops in proptest::collection::vec(op(), 0..500),
        ) {
            model_run::<8>(initial.clone(), ops.clone())?;
            model_run::<16>(initial.clone(), ops.clone())?;
            model_run::<24>(initial, ops)?;
        }
    }

    #[test]
    fn a_small_bulk_build_keeps_no_spare_capacity() {
        let mut entries = Vec::with_capacity(100_000);
        entries.extend((0..10u64).map(|k| (k, 0u32)));
        let map: BlockMap<u64, u32> = BlockMap::from_sorted(entries);
        map.check();
        assert!(map.blocks.iter().all(|b| b.capacity() < 64), "a reserved builder's capacity kept");
    }

    #[test]
    fn bulk_builds_fill_blocks_half_and_join_a_short_tail() {
        for n in 0..60u16 {
            let map = Small::from_sorted((0..n).map(|k| (k, u32::from(k))).collect());
            map.check();
            assert_eq!(map.len(), usize::from(n));
            assert!(map.iter().map(|(k, _)| k).eq(0..n));
        }
    }

    #[test]
    fn the_default_size_holds_ascending_and_descending_churn() {
        let mut map: BlockMap<u64, u32> = BlockMap::new();
        let mut model = BTreeMap::new();
        // Appends (ids in order), then removals from the front (a status change of the oldest
        // rows), then inserts from the back: every split and merge path at the shipped size.
        for k in 0..5_000u64 {
            assert_eq!(map.insert(k * 2, k as u32), model.insert(k * 2, k as u32));
        }
        for k in 0..4_000u64 {
            assert_eq!(map.remove(&(k * 2)), model.remove(&(k * 2)));
        }
        for k in (0..5_000u64).rev() {
            assert_eq!(map.insert(k * 2 + 1, 7), model.insert(k * 2 + 1, 7));
        }
        map.check();
        assert!(map.iter().eq(model.iter().map(|(k, v)| (*k, *v))));
        assert_eq!(
            map.range(Excluded(100), Included(9_000)).count(),
            model.range(101..=9_000).count()
        );
    }

    /// The model's answer for bounds `BTreeMap::range` accepts, nothing for the others.
    fn model_range_of<K: Ord + Copy>(
        model: &BTreeMap<K, u32>,
        lo: Bound<K>,
        hi: Bound<K>,
    ) -> Vec<(K, u32)> {
        let valid = match (lo, hi) {
            (Included(a), Included(b)) => a <= b,
            (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a < b,
            _ => true,
        };
        if valid {
            model.range((lo, hi)).map(|(k, v)| (*k, *v)).collect()
        } else {
            Vec::new()
        }
    }

    /// `map.range(lo, hi)` forwards and backwards against the model.
    fn assert_range<K: Ord + Copy + fmt::Debug, const M: usize>(
        map: &BlockMap<K, u32, M>,
        model: &BTreeMap<K, u32>,
        lo: Bound<K>,
        hi: Bound<K>,
    ) {
        let want = model_range_of(model, lo, hi);
        let got: Vec<_> = map.range(lo, hi).collect();
        assert_eq!(got, want, "range {lo:?}..{hi:?}");
        let back: Vec<_> = map.range(lo, hi).rev().collect();
        assert!(back.iter().eq(want.iter().rev()), "reversed range {lo:?}..{hi:?}");
    }

    fn bounds_at<K: Copy>(keys: &[K]) -> Vec<Bound<K>> {
        let mut out = vec![Unbounded];
        for &k in keys {
            out.push(Included(k));
            out.push(Excluded(k));
        }
        out
    }

    /// Bulk builds at the shipped size around multiples of the fill (64) and of a block (128),
    /// with the short-tail join (a tail under 16 entries), walked whole and in both directions.
    #[test]
    fn bulk_builds_at_the_default_size_around_block_multiples() {
        let mut sizes = vec![0usize, 1, 2, 15, 16, 17];
        for m in 1..=17usize {
            for d in [-1isize, 0, 1, 15, 16] {
                sizes.push((m as isize * 64 + d) as usize);
            }
        }
        for n in sizes {
            let entries: Vec<(u64, u32)> = (0..n as u64).map(|k| (k * 2 + 1, k as u32)).collect();
            let model: BTreeMap<u64, u32> = entries.iter().copied().collect();
            let map: BlockMap<u64, u32> = BlockMap::from_sorted(entries);
            map.check();
            assert_eq!(map.len(), n);
            assert!(map.iter().eq(model.iter().map(|(k, v)| (*k, *v))));
            assert!(map.iter().rev().eq(model.iter().rev().map(|(k, v)| (*k, *v))));
            // Bounds on, between and beside the keys at every block edge.
            let mut keys = vec![0, 1, 2, u64::MAX];
            for edge in (0..n as u64).step_by(64).chain([n as u64]) {
                for k in (edge * 2).saturating_sub(2)..=edge * 2 + 2 {
                    keys.push(k);
                }
            }
            let bounds = bounds_at(&keys);
            for &lo in &bounds {
                for &hi in [Unbounded, Included(n as u64 * 2), Excluded(65), Included(129)].iter() {
                    assert_range(&map, &model, lo, hi);
                    assert_range(&map, &model, hi, lo);
                }
            }
        }
    }

    /// Keys at both ends of `u64` and of the created index's `(created_ns, id)`, with the
    /// bounds the sources build (`Excluded((t, u64::MAX))`, `Excluded((t, 0))`).
    #[test]
    fn ranges_at_the_key_extremes_across_blocks() {
        let mut model = BTreeMap::new();
        let mut map: BlockMap<(u64, u64), u32> = BlockMap::new();
        let times = [0u64, 1, 5, u64::MAX - 1, u64::MAX];
        let mut v = 0;
        for &t in &times {
            for id in (0..150u64).chain([u64::MAX - 1, u64::MAX]) {
                v += 1;
                assert_eq!(map.insert((t, id), v), model.insert((t, id), v));
            }
        }
        map.check();
        let mut keys = Vec::new();
        for &t in times.iter().chain(&[2, 6]) {
            for id in [0, 1, 63, 64, 65, 127, 128, 129, 149, 150, u64::MAX - 1, u64::MAX] {
                keys.push((t, id));
            }
        }
        let bounds = bounds_at(&keys);
        for &lo in &bounds {
            for &hi in &bounds {
                assert_range(&map, &model, lo, hi);
            }
        }
        // `created_after(t)` and `created_before(t)` as `sources::created` builds them.
        for &t in times.iter().chain(&[2, 6]) {
            let after: Vec<_> = map.range(Excluded((t, u64::MAX)), Unbounded).collect();
            assert!(after.iter().all(|((c, _), _)| *c > t));
            assert_eq!(after.len(), model.keys().filter(|(c, _)| *c > t).count());
            let before: Vec<_> = map.range(Unbounded, Excluded((t, 0))).collect();
            assert!(before.iter().all(|((c, _), _)| *c < t));
            assert_eq!(before.len(), model.keys().filter(|(c, _)| *c < t).count());
        }
        // The u64 id index at its extremes.
        let ids: BlockMap<u64, u32> =
            BlockMap::from_sorted((0..200u64).map(|k| (k, 0)).chain([(u64::MAX, 1)]).collect());
        assert_eq!(ids.range(Excluded(u64::MAX), Unbounded).count(), 0);
        assert_eq!(ids.range(Unbounded, Excluded(0)).count(), 0);
        assert_eq!(ids.range(Excluded(199), Unbounded).collect::<Vec<_>>(), [(u64::MAX, 1)]);
        assert_eq!(ids.range(Unbounded, Excluded(u64::MAX)).next_back(), Some((199, 0)));
    }

    /// An empty map and a one-entry map (the static empty index, a new tag's index) answer
    /// every range with nothing or that entry, without a panic.
    #[test]
    fn empty_and_single_entry_maps() {
        static EMPTY: BlockMap<u64, u32> = BlockMap::new();
        let keys = [0, 1, 7, u64::MAX];
        for &lo in &bounds_at(&keys) {
            for &hi in &bounds_at(&keys) {
                assert_eq!(EMPTY.range(lo, hi).count(), 0);
                assert_eq!(EMPTY.range(lo, hi).rev().count(), 0);
            }
        }
        assert_eq!(EMPTY.blocks().count(), 0);
        let model = BTreeMap::from([(7u64, 9u32)]);
        let mut one: BlockMap<u64, u32> = BlockMap::from_sorted(vec![(7, 9)]);
        for &lo in &bounds_at(&keys) {
            for &hi in &bounds_at(&keys) {
                assert_range(&one, &model, lo, hi);
            }
        }
        assert_eq!(one.remove(&8), None);
        assert_eq!(one.remove(&7), Some(9));
        one.check();
        assert!(one.is_empty());
        assert_eq!(one.range(Unbounded, Unbounded).count(), 0);
        assert_eq!(one.insert(3, 4), None);
        one.check();
    }

    /// Removals from the last block, whose only neighbour is on its left, merge it into that
    /// neighbour; removals from the first block merge its right neighbour into it.
    #[test]
    fn merges_with_the_left_neighbour_and_the_right_one() {
        for from_back in [true, false] {
            let mut map: BlockMap<u64, u32> =
                BlockMap::from_sorted((0..80u64).map(|k| (k, k as u32)).collect());
            assert_eq!(map.blocks().count(), 2);
            let mut model: BTreeMap<u64, u32> = map.iter().collect();
            let keys: Vec<u64> =
                if from_back { (0..80).rev().collect() } else { (0..80).collect() };
            for k in keys {
                assert_eq!(map.remove(&k), model.remove(&k));
                map.check();
                assert!(map.iter().eq(model.iter().map(|(k, v)| (*k, *v))));
                assert!(map.iter().rev().eq(model.iter().rev().map(|(k, v)| (*k, *v))));
            }
            assert!(map.is_empty());
            assert_eq!(map.blocks().count(), 0);
        }
    }

    /// Alternate inserts and removals at a full block's edge split it once, not every time.
    #[test]
    fn churn_at_a_block_edge_does_not_split_and_merge_each_time() {
        let mut map: BlockMap<u64, u32> = BlockMap::new();
        for k in 0..128u64 {
            map.insert(k * 2, 0);
        }
        assert_eq!(map.blocks().count(), 1, "one full block");
        let mut seen = std::collections::BTreeSet::new();
        for round in 0..1_000u64 {
            let k = 2 * (round % 3) * 64 + 1;
            map.insert(k, 1);
            seen.insert(map.blocks().count());
            map.remove(&k);
            seen.insert(map.blocks().count());
            map.check();
        }
        assert!(seen.len() <= 2, "block counts {seen:?}");
        // Draining the front of a long map keeps blocks within bounds throughout.
        let mut long: BlockMap<u64, u32> =
            BlockMap::from_sorted((0..5_000u64).map(|k| (k, 0)).collect());
        for k in 0..5_000u64 {
            assert_eq!(long.remove(&k), Some(0));
            if k % 97 == 0 {
                long.check();
            }
            assert_eq!(long.iter().next().map(|(k, _)| k), (k + 1 < 5_000).then_some(k + 1));
        }
        long.check();
    }
}

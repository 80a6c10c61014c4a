//! [`Slab`]: where a model's rows live, each in a numbered slot.
//!
//! A state keeps every row once, here: by value (tasks, whose rows are small and cheap to copy
//! into a result) or as an `Arc` (memories, whose tag lists a result shares instead of
//! copying). Everything else (the id map and the secondary indexes) refers to a row by its
//! slot, a `u32`: an index entry is a plain number, so building an index copies no row and
//! touches no reference count, and a change to a row is one store into its slot, whatever
//! indexes point at it. Freed slots are reused.

/// A slot number.
pub(crate) type Slot = u32;

/// Rows in numbered slots, with a list of free slots.
///
/// The slab also knows whether its rows sit in ascending order of their key (the row id,
/// given at insert): true for a state built from a snapshot, and for one whose rows were
/// created in id order and never reused a freed slot. A caller that needs every row in id
/// order (a snapshot) then walks the slots, sequentially in memory, instead of an index.
#[derive(Debug, Clone)]
pub(crate) struct Slab<T> {
    /// The rows; a free slot holds its type's [`Vacant`] value, never handed out.
    slots: Vec<T>,
    /// A bit per slot, set when the slot holds a row. Kept apart from the rows so that an index
    /// walk checks a slot without loading its row (a borrowed result does not touch rows).
    occupied: Vec<u64>,
    free: Vec<Slot>,
    in_key_order: bool,
    last_key: Option<u64>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            occupied: Vec::new(),
            free: Vec::new(),
            in_key_order: true,
            last_key: None,
        }
    }
}

impl<T> Slab<T> {
    /// Slots for `rows`, given in strictly ascending key order, the last key `last_key`:
    /// `rows[i]` goes to slot `i`.
    pub(crate) fn from_rows(rows: Vec<T>, last_key: Option<u64>) -> Self {
        debug_assert!(u32::try_from(rows.len()).is_ok());
        let mut occupied = vec![u64::MAX; rows.len().div_ceil(64)];
        let tail = rows.len() % 64;
        if let (Some(last), true) = (occupied.last_mut(), tail > 0) {
            *last = (1u64 << tail) - 1;
        }
        Slab { slots: rows, occupied, free: Vec::new(), in_key_order: true, last_key }
    }

    /// Puts `row`, whose key is `key`, in a free slot and returns the slot.
    pub(crate) fn insert(&mut self, row: T, key: u64) -> Slot {
        if let Some(slot) = self.free.pop() {
            if let Some(place) = self.slots.get_mut(slot as usize) {
                *place = row;
                self.set_occupied(slot, true);
                self.in_key_order = false;
                return slot;
            }
        }
        if self.last_key.is_some_and(|last| key <= last) {
            self.in_key_order = false;
        }
        self.last_key = Some(key);
        // More than 2^32 live rows would need some 300 GB of rows; refuse loudly rather than
        // alias a slot.
        let slot = Slot::try_from(self.slots.len()).expect("fewer than 2^32 rows in one state");
        self.slots.push(row);
        if self.occupied.len() * 64 < self.slots.len() {
            self.occupied.push(0);
        }
        self.set_occupied(slot, true);
        slot
    }

    /// Every row in ascending key order, by walking the slots, when they are in that order.
    pub(crate) fn rows_in_key_order(&self) -> Option<impl Iterator<Item = &T> + '_> {
        self.in_key_order.then(|| self.rows())
    }

    /// Whether `slot` holds a row.
    #[inline]
    fn is_occupied(&self, slot: Slot) -> bool {
        let i = slot as usize;
        self.occupied.get(i / 64).is_some_and(|word| word >> (i % 64) & 1 == 1)
    }

    fn set_occupied(&mut self, slot: Slot, on: bool) {
        let i = slot as usize;
        if let Some(word) = self.occupied.get_mut(i / 64) {
            let bit = 1u64 << (i % 64);
            if on {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    /// The row in `slot`.
    #[inline]
    pub(crate) fn get(&self, slot: Slot) -> Option<&T> {
        if self.is_occupied(slot) {
            self.slots.get(slot as usize)
        } else {
            None
        }
    }

    /// The row in `slot`, to replace or change in place.
    #[inline]
    pub(crate) fn get_mut(&mut self, slot: Slot) -> Option<&mut T> {
        if self.is_occupied(slot) {
            self.slots.get_mut(slot as usize)
        } else {
            None
        }
    }

    /// Every row, in slot order (no particular order for the caller).
    pub(crate) fn rows(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.slots.len()).filter_map(|i| self.get(i as Slot))
    }
}

/// What a free slot holds in place of a row: a value that costs nothing to make and owns
/// nothing (a freed slot must not keep memory alive, nor allocate some).
pub(crate) trait Vacant {
    /// The placeholder.
    fn vacant() -> Self;
}

impl<T: Vacant> Slab<T> {
    /// Takes the row out of `slot` (leaving the vacant value in its place) and frees the slot.
    pub(crate) fn remove(&mut self, slot: Slot) -> Option<T> {
        if !self.is_occupied(slot) {
            return None;
        }
        let row = std::mem::replace(self.slots.get_mut(slot as usize)?, T::vacant());
        self.set_occupied(slot, false);
        self.free.push(slot);
        Some(row)
    }
}

/// Sorts `rows` by `key` (nothing to do when they already are), into the strictly ascending
/// order [`Slab::from_rows`] takes unless a key appears twice: then that key is the error.
pub(crate) fn sort_by_unique_key<T>(rows: &mut [T], key: impl Fn(&T) -> u64) -> Result<(), u64> {
    if !rows.is_sorted_by_key(&key) {
        rows.sort_unstable_by_key(|row| key(row));
    }
    match rows.windows(2).find(|w| key(&w[0]) == key(&w[1])) {
        Some(w) => Err(key(&w[0])),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    impl Vacant for &str {
        fn vacant() -> Self {
            ""
        }
    }

    impl Vacant for u64 {
        fn vacant() -> Self {
            0
        }
    }

    /// Built in bulk from any number of rows (whole and partial bitmap words), a slab holds
    /// exactly those rows, and nothing beyond them.
    #[test]
    fn bulk_slabs_hold_exactly_their_rows() {
        for n in [0usize, 1, 63, 64, 65, 128, 130] {
            let slab = Slab::from_rows((0..n as u64).collect(), n.checked_sub(1).map(|k| k as u64));
            assert_eq!(slab.rows().copied().collect::<Vec<_>>(), (0..n as u64).collect::<Vec<_>>());
            for slot in 0..n as Slot + 70 {
                assert_eq!(slab.get(slot).copied(), (slot < n as Slot).then_some(u64::from(slot)));
            }
        }
    }

    proptest! {
        /// Inserts and removals in any order agree with a map of slot to row: `get`,
        /// `get_mut`, `remove` and `rows` see exactly the live rows, and slots are reused.
        #[test]
        fn slab_matches_a_map_of_slots(
            ops in proptest::collection::vec((any::<bool>(), 0u32..80), 0..300)
        ) {
            let mut slab = Slab::default();
            let mut model: BTreeMap<Slot, u64> = BTreeMap::new();
            for (i, (insert, pick)) in ops.into_iter().enumerate() {
                let value = i as u64 + 1;
                if insert {
                    let slot = slab.insert(value, value);
                    let fresh = model.insert(slot, value).is_none();
                    prop_assert!(fresh, "slot {} handed out twice", slot);
                } else {
                    prop_assert_eq!(slab.remove(pick), model.remove(&pick));
                }
                if let Some(row) = slab.get_mut(pick) {
                    *row += 1000;
                    *model.get_mut(&pick).expect("live in the model") += 1000;
                }
                prop_assert_eq!(slab.get(pick).copied(), model.get(&pick).copied());
                let mut live: Vec<u64> = slab.rows().copied().collect();
                live.sort_unstable();
                let mut want: Vec<u64> = model.values().copied().collect();
                want.sort_unstable();
                prop_assert_eq!(live, want);
            }
        }
    }

    #[test]
    fn slots_are_reused_after_removal() {
        let mut slab = Slab::default();
        let a = slab.insert("a", 1);
        let b = slab.insert("b", 2);
        assert!(slab.rows_in_key_order().is_some());
        assert_eq!((a, b), (0, 1));
        assert_eq!(slab.remove(a), Some("a"));
        assert!(slab.get(a).is_none());
        assert!(slab.remove(a).is_none(), "a free slot is freed once");
        assert!(slab.rows_in_key_order().is_some(), "a removal keeps the order");
        let c = slab.insert("c", 3);
        assert_eq!(c, a);
        assert!(slab.rows_in_key_order().is_none(), "a reused slot breaks the order");
        assert_eq!(slab.rows().copied().collect::<Vec<_>>(), ["c", "b"]);
        if let Some(row) = slab.get_mut(b) {
            *row = "B";
        }
        assert_eq!(slab.get(b).copied(), Some("B"));
        assert!(slab.get(99).is_none());

        let mut slab = Slab::default();
        slab.insert("x", 5);
        slab.insert("y", 4);
        assert!(slab.rows_in_key_order().is_none(), "a smaller key breaks the order");
    }
}

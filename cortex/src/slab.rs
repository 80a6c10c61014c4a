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
    slots: Vec<Option<T>>,
    free: Vec<Slot>,
    in_key_order: bool,
    last_key: Option<u64>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), in_key_order: true, last_key: None }
    }
}

impl<T> Slab<T> {
    /// Slots for `rows`, given in strictly ascending key order, the last key `last_key`:
    /// `rows[i]` goes to slot `i`.
    pub(crate) fn from_rows(rows: Vec<T>, last_key: Option<u64>) -> Self {
        debug_assert!(u32::try_from(rows.len()).is_ok());
        Slab {
            slots: rows.into_iter().map(Some).collect(),
            free: Vec::new(),
            in_key_order: true,
            last_key,
        }
    }

    /// Puts `row`, whose key is `key`, in a free slot and returns the slot.
    pub(crate) fn insert(&mut self, row: T, key: u64) -> Slot {
        if let Some(slot) = self.free.pop() {
            if let Some(place) = self.slots.get_mut(slot as usize) {
                *place = Some(row);
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
        self.slots.push(Some(row));
        slot
    }

    /// Every row in ascending key order, by walking the slots, when they are in that order.
    pub(crate) fn rows_in_key_order(&self) -> Option<impl Iterator<Item = &T> + '_> {
        self.in_key_order.then(|| self.rows())
    }

    /// The row in `slot`.
    #[inline]
    pub(crate) fn get(&self, slot: Slot) -> Option<&T> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// The row in `slot`, to replace or change in place.
    #[inline]
    pub(crate) fn get_mut(&mut self, slot: Slot) -> Option<&mut T> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// Takes the row out of `slot` and frees the slot.
    pub(crate) fn remove(&mut self, slot: Slot) -> Option<T> {
        let row = self.slots.get_mut(slot as usize).and_then(Option::take);
        if row.is_some() {
            self.free.push(slot);
        }
        row
    }

    /// Every row, in slot order (no particular order for the caller).
    pub(crate) fn rows(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().flatten()
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
    use super::*;

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

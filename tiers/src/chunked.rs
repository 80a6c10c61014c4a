//! An append-only vector kept in fixed-size chunks.
//!
//! A `Vec` that doubles copies everything it holds and touches twice its size in fresh pages
//! each time it grows: for the index of a hot segment holding a million entries that is a
//! multi-millisecond stall inside one append. Here pushing never moves an earlier element;
//! only the first chunk grows by doubling (so a small log stays small), and every later chunk is
//! allocated at its full, bounded size.

/// Elements per chunk once the first chunk is full.
const CHUNK_LEN: usize = 4096;

use crate::pretouch;

/// An append-only sequence with `Vec`-like indexing and iteration, stored in chunks of
/// [`CHUNK_LEN`] elements.
#[derive(Debug, Clone)]
pub struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec { chunks: Vec::new(), len: 0 }
    }
}

impl<T> ChunkedVec<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `value`; never moves an element already stored.
    #[inline]
    pub fn push(&mut self, value: T)
    where
        T: Send + 'static,
    {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK_LEN => last.push(value),
            _ => self.push_to_new_chunk(value),
        }
        self.len += 1;
    }

    #[cold]
    #[inline(never)]
    fn push_to_new_chunk(&mut self, value: T)
    where
        T: Send + 'static,
    {
        let mut chunk = match self.chunks.is_empty() {
            true => Vec::with_capacity(4),
            // Full-size chunks come with their pages already faulted in (see `pretouch`).
            false => pretouch::vec(CHUNK_LEN),
        };
        chunk.push(value);
        self.chunks.push(chunk);
    }

    /// The element at `index`, if there is one.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK_LEN)?.get(index % CHUNK_LEN)
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flatten()
    }

    /// Bytes allocated for elements (capacity, not length), in constant time: every chunk but
    /// the last is full.
    pub fn heap_bytes(&self) -> usize {
        let last = self.chunks.last().map_or(0, Vec::capacity);
        (self.chunks.len().saturating_sub(1) * CHUNK_LEN + last) * std::mem::size_of::<T>()
    }
}

impl<T> std::ops::Index<usize> for ChunkedVec<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        match self.get(index) {
            Some(v) => v,
            None => panic!("index {index} out of bounds of a ChunkedVec of {}", self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Same length, same elements by index and by iteration as a `Vec` model, across many
        /// chunk boundaries.
        #[test]
        fn behaves_like_a_vec(n in 0usize..3 * CHUNK_LEN + 7, probes in proptest::collection::vec(any::<usize>(), 0..50)) {
            let mut v = ChunkedVec::default();
            let mut model = Vec::new();
            for i in 0..n {
                v.push(i as u64 * 3);
                model.push(i as u64 * 3);
                prop_assert_eq!(v.len(), model.len());
            }
            prop_assert_eq!(v.is_empty(), model.is_empty());
            prop_assert!(v.iter().eq(model.iter()));
            for p in probes {
                let i = p % (n + 2);
                prop_assert_eq!(v.get(i), model.get(i));
            }
        }
    }

    #[test]
    fn pushing_never_moves_stored_elements() {
        let mut v = ChunkedVec::default();
        for i in 0..CHUNK_LEN as u32 + 1 {
            v.push(i);
        }
        // The first chunk may move while it fills; once full, nothing stored moves again.
        let last_of_first: *const u32 = &v[CHUNK_LEN - 1];
        let first_of_second: *const u32 = &v[CHUNK_LEN];
        for i in 0..10 * CHUNK_LEN as u32 {
            v.push(i);
        }
        assert!(std::ptr::eq(last_of_first, &v[CHUNK_LEN - 1]));
        assert!(std::ptr::eq(first_of_second, &v[CHUNK_LEN]));
        assert_eq!(v.heap_bytes(), 12 * CHUNK_LEN * 4);
    }
}

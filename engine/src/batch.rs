//! A batch of entries read together ([`RedexFile::read_batch`](crate::RedexFile::read_batch)).
//!
//! [`RedexFile::read_range`](crate::RedexFile::read_range) hands out one [`RedexEvent`] per
//! entry, each payload a `Bytes` of its own: a reference count taken when it is read and
//! dropped when it is dropped, two atomic operations per entry that cost more than the rest of
//! a warm read of a small entry. A batch keeps one reference per buffer the entries lie in (a
//! warm segment's whole mapped log, a hot frame) and per entry only where it lies, and lends
//! the payloads out as `&[u8]`. Nothing is copied either way; an entry can still be taken out
//! as an owned [`RedexEvent`] sharing the same memory.

use std::ops::Range;

use bytes::Bytes;

use crate::event::RedexEvent;

/// Entries read together: their seqs, timestamps and payloads, the payloads borrowed from the
/// buffers the batch keeps alive (mappings of warm segments, hot frames, fetched cold data).
#[derive(Clone, Default)]
pub struct EventBatch {
    entries: Vec<Entry>,
    buffers: Vec<Bytes>,
}

/// Where one entry's payload lies: `buffers[buffer][start..start + len]`.
#[derive(Clone, Copy)]
struct Entry {
    seq: u64,
    timestamp_ns: u64,
    start: usize,
    len: u32,
    buffer: u32,
}

/// One entry of an [`EventBatch`], its payload borrowed from the batch. Entries compare and
/// print by seq, timestamp and payload only: the buffer the payload lies in (a whole warm
/// segment's log, say) is where it was read from, not part of the entry.
#[derive(Clone, Copy)]
pub struct EventRef<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Append time in nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The payload bytes.
    pub payload: &'a [u8],
    buffer: &'a Bytes,
}

impl PartialEq for EventRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.seq, self.timestamp_ns, self.payload)
            == (other.seq, other.timestamp_ns, other.payload)
    }
}

impl Eq for EventRef<'_> {}

impl std::fmt::Debug for EventRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRef")
            .field("seq", &self.seq)
            .field("timestamp_ns", &self.timestamp_ns)
            .field("payload", &self.payload)
            .finish()
    }
}

impl EventRef<'_> {
    /// The entry as an owned [`RedexEvent`]; its payload shares the batch's memory (one
    /// reference count taken, nothing copied).
    pub fn to_event(&self) -> RedexEvent {
        RedexEvent {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            payload: self.buffer.slice_ref(self.payload),
        }
    }
}

impl EventBatch {
    /// Makes room for `entries` more entries.
    pub(crate) fn reserve(&mut self, entries: usize) {
        self.entries.reserve(entries);
    }

    /// Adds the entry whose payload is `buffer[range]`, keeping `buffer` unless it is the one
    /// the previous entry lies in (entries of one segment or frame share one reference).
    pub(crate) fn push_slice(&mut self, seq: u64, buffer: &Bytes, range: Range<usize>, ts: u64) {
        let same = self
            .buffers
            .last()
            .is_some_and(|last| last.as_ptr() == buffer.as_ptr() && last.len() == buffer.len());
        if !same {
            self.buffers.push(buffer.clone());
        }
        // Payloads are at most `u32::MAX` bytes (frame lengths are `u32`), and a batch holds
        // fewer buffers than entries.
        let len = u32::try_from(range.len()).expect("payload length fits a frame's u32");
        let index = u32::try_from(self.buffers.len() - 1).expect("fewer than 2^32 buffers");
        self.entries.push(Entry { seq, timestamp_ns: ts, start: range.start, len, buffer: index });
    }

    /// Adds an entry read as an owned event (fetched from the cold tier).
    pub(crate) fn push_event(&mut self, event: RedexEvent) {
        let len = event.payload.len();
        self.push_slice(event.seq, &event.payload, 0..len, event.timestamp_ns);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the batch holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `i`-th entry (in seq order), if there is one.
    pub fn get(&self, i: usize) -> Option<EventRef<'_>> {
        self.entries.get(i).map(|e| self.entry(e))
    }

    /// The entries in seq order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { batch: self, entries: self.entries.iter() }
    }

    /// The entries as owned events (one reference count each, nothing copied).
    pub fn to_events(&self) -> Vec<RedexEvent> {
        self.iter().map(|e| e.to_event()).collect()
    }

    fn entry(&self, e: &Entry) -> EventRef<'_> {
        let buffer = &self.buffers[e.buffer as usize];
        EventRef {
            seq: e.seq,
            timestamp_ns: e.timestamp_ns,
            payload: &buffer[e.start..e.start + e.len as usize],
            buffer,
        }
    }
}

/// The entries of an [`EventBatch`] in seq order ([`EventBatch::iter`]).
#[derive(Clone)]
pub struct Iter<'a> {
    batch: &'a EventBatch,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = EventRef<'a>;

    fn next(&mut self) -> Option<EventRef<'a>> {
        self.entries.next().map(|e| self.batch.entry(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| self.batch.entry(e))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").field("remaining", &self.entries.len()).finish()
    }
}

impl<'a> IntoIterator for &'a EventBatch {
    type Item = EventRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for EventBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBatch")
            .field("entries", &self.entries.len())
            .field("first_seq", &self.entries.first().map(|e| e.seq))
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_one_buffer_share_one_reference() {
        let log = Bytes::from_static(b"aaabbbbcc");
        let other = Bytes::from(vec![7u8; 4]);
        let mut batch = EventBatch::default();
        batch.push_slice(10, &log, 0..3, 1);
        batch.push_slice(11, &log, 3..7, 2);
        batch.push_slice(12, &other, 1..3, 3);
        batch.push_event(RedexEvent { seq: 13, timestamp_ns: 4, payload: log.slice(7..9) });
        batch.push_slice(14, &log, 7..7, 5);
        assert_eq!(batch.buffers.len(), 4, "log, other, the event's slice, log again");
        let seen: Vec<(u64, u64, &[u8])> =
            batch.iter().map(|e| (e.seq, e.timestamp_ns, e.payload)).collect();
        let want: Vec<(u64, u64, &[u8])> =
            vec![(10, 1, b"aaa"), (11, 2, b"bbbb"), (12, 3, &[7, 7]), (13, 4, b"cc"), (14, 5, b"")];
        assert_eq!(seen, want);
        let owned = batch.to_events();
        assert_eq!(owned[1], RedexEvent { seq: 11, timestamp_ns: 2, payload: log.slice(3..7) });
        // Owned payloads point into the batch's buffers, not at copies.
        assert_eq!(owned[1].payload.as_ptr(), log[3..].as_ptr());
        assert_eq!(batch.len(), 5);
        assert!(batch.get(5).is_none());
        assert_eq!((&batch).into_iter().next_back().map(|e| e.seq), Some(14));
    }
}

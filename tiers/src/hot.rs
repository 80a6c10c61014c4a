//! The hot segment: the active tail of a log, indexed in memory.
//!
//! Each append is one frame, and each entry is a `(frame, offset, len)` triple into the
//! frame's bytes, so reads hand out `Bytes` slices without copying. What the frame bytes are
//! depends on the file:
//! - heap-only: just the batch's payloads, packed into a shared arena ([`HotSegment::append`]);
//!   no header, lengths or checksum, since they never reach a disk;
//! - persistent: the caller encodes a frame into scratch space ([`HotSegment::encode_frame`]),
//!   writes it to the log, and registers the written bytes as seen through a mapping of the
//!   log ([`HotSegment::push_written`]). The page cache is then the only copy of the payload.
//!
//! Recovery indexes a log's frames in place ([`HotSegment::replay`]).

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::chunked::ChunkedVec;
use crate::frame::{self, FrameError, FRAME_HEADER_LEN};
use crate::index_file::FrameEntry;
use crate::index_record::IndexRecord;
use crate::pretouch;

/// First arena allocation of a heap-only segment; each later one doubles, up to
/// [`ARENA_CHUNK_BYTES_MAX`], so small logs stay small and large ones call malloc rarely.
/// (Transparent huge pages were tried for the arena and dropped: with THP `defrag=madvise` a
/// fault may compact memory synchronously, and appends stalled for milliseconds; see
/// docs/BENCHMARKS.md, "Heap appends and the hot index".)
const ARENA_CHUNK_BYTES_MIN: usize = 64 * 1024;
/// Largest arena allocation. A background thread faults the next ones in ahead of need
/// ([`pretouch`]); smaller ones fault their pages in as frames fill them.
const ARENA_CHUNK_BYTES_MAX: usize = 1 << 20;
/// Frames with more payload bytes than this get an allocation of their own. It is at most the
/// smallest chunk, so any other frame fits in a fresh chunk, and a chunk strands at most this
/// much unused at its end.
const ARENA_FRAME_BYTES_MAX: usize = ARENA_CHUNK_BYTES_MIN;

#[derive(Debug, Clone)]
struct HotFrame {
    /// A persistent log's whole frame; a heap-only log's payloads. Where a frame starts in the
    /// log file is the sum of the lengths before it, computed when a segment is frozen rather
    /// than stored per frame.
    bytes: Bytes,
    timestamp_ns: u64,
}

#[derive(Debug, Clone, Copy)]
struct HotEntry {
    frame: u32,
    /// Payload offset inside the frame.
    offset: u32,
    len: u32,
}

/// An in-memory index over a run of consecutive seqs starting at `base_seq`.
pub struct HotSegment {
    base_seq: u64,
    frames: ChunkedVec<HotFrame>,
    entries: ChunkedVec<HotEntry>,
    arena: BytesMut,
    /// Size of the last arena allocation.
    arena_chunk_bytes: usize,
    header_len: u64,
    log_len: u64,
    payload_bytes: u64,
}

impl std::fmt::Debug for HotSegment {
    // A summary: the frames hold payload bytes, which must not end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotSegment")
            .field("base_seq", &self.base_seq)
            .field("entries", &self.entries.len())
            .field("frames", &self.frames.len())
            .field("log_len", &self.log_len)
            .field("payload_bytes", &self.payload_bytes)
            .finish()
    }
}

/// What a replay of a log file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Bytes of the file that hold valid frames (header included); the rest must be trimmed.
    pub valid_len: u64,
    /// Bytes after `valid_len` that were not a valid continuation (damage or a torn write).
    pub dropped_bytes: u64,
    /// Zero bytes after `valid_len`: space preallocated for appends, not damage.
    pub zero_tail_bytes: u64,
    /// Why replay stopped before the end of the file, if it did.
    pub stop_reason: Option<String>,
}

/// A batch too large to encode as one frame (its body would pass `u32` offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTooLarge;

impl HotSegment {
    /// An empty segment whose log file (real or notional) starts with `header_len` bytes.
    pub fn new(base_seq: u64, header_len: u64) -> Self {
        HotSegment {
            base_seq,
            frames: ChunkedVec::default(),
            entries: ChunkedVec::default(),
            arena: BytesMut::new(),
            arena_chunk_bytes: 0,
            header_len,
            log_len: header_len,
            payload_bytes: 0,
        }
    }

    /// Seq of the first entry.
    pub fn base_seq(&self) -> u64 {
        self.base_seq
    }

    /// Seq the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.base_seq + self.entries.len() as u64
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the segment has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of the segment's log file, header included.
    pub fn log_len(&self) -> u64 {
        self.log_len
    }

    /// Sum of payload lengths.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Heap bytes of the in-memory index (entries and frame descriptors, not payloads).
    pub fn index_bytes(&self) -> usize {
        self.entries.heap_bytes() + self.frames.heap_bytes()
    }

    /// Heap-only append: packs the batch's payloads into the arena as one frame. `log_len`
    /// still grows by the size the frame would have in a log file, so segments roll over at the
    /// same points whether or not the log is persistent. `payloads` must not be empty.
    pub fn append<P: AsRef<[u8]>>(
        &mut self,
        payloads: &[P],
        timestamp_ns: u64,
    ) -> Result<(), BatchTooLarge> {
        let frame_len = frame::encoded_len(payloads).ok_or(BatchTooLarge)?;
        let body_len = frame_len - FRAME_HEADER_LEN - payloads.len() * frame::LEN_FIELD;
        let bytes = if body_len > ARENA_FRAME_BYTES_MAX {
            // Packed into the arena, a large frame would strand the rest of a chunk.
            let mut own = BytesMut::with_capacity(body_len);
            payloads.iter().for_each(|p| own.extend_from_slice(p.as_ref()));
            own.freeze()
        } else {
            if self.arena.capacity() - self.arena.len() < body_len {
                self.arena_chunk_bytes = (self.arena_chunk_bytes * 2)
                    .clamp(ARENA_CHUNK_BYTES_MIN, ARENA_CHUNK_BYTES_MAX);
                self.arena = match self.arena_chunk_bytes {
                    // Full-size chunks come with their pages already faulted in (`pretouch`).
                    ARENA_CHUNK_BYTES_MAX => pretouch::bytes(ARENA_CHUNK_BYTES_MAX),
                    bytes => BytesMut::with_capacity(bytes),
                };
            }
            payloads.iter().for_each(|p| self.arena.extend_from_slice(p.as_ref()));
            self.arena.split().freeze()
        };
        let lens = payloads.iter().map(|p| p.as_ref().len());
        self.push_frame(bytes, 0, frame_len as u64, timestamp_ns, lens);
        Ok(())
    }

    /// Persistent append, step one: encodes the batch as one checksummed frame into `scratch`
    /// (cleared first), to be written at file offset [`HotSegment::log_len`].
    pub fn encode_frame<P: AsRef<[u8]>>(
        &self,
        scratch: &mut Vec<u8>,
        payloads: &[P],
        timestamp_ns: u64,
    ) -> Result<(), BatchTooLarge> {
        let frame_len = frame::encoded_len(payloads).ok_or(BatchTooLarge)?;
        scratch.clear();
        scratch.reserve(frame_len);
        let body_len = (frame_len - FRAME_HEADER_LEN) as u32;
        frame::encode(scratch, self.next_seq(), timestamp_ns, payloads, body_len);
        Ok(())
    }

    /// Persistent append, step two: registers a frame now stored in `bytes` (as written at
    /// offset [`HotSegment::log_len`]), whose payloads have the lengths `lens`.
    pub fn push_written(
        &mut self,
        bytes: Bytes,
        timestamp_ns: u64,
        lens: impl ExactSizeIterator<Item = usize>,
    ) {
        let payloads_at = FRAME_HEADER_LEN + lens.len() * frame::LEN_FIELD;
        let frame_len = bytes.len() as u64;
        self.push_frame(bytes, payloads_at, frame_len, timestamp_ns, lens);
    }

    /// Indexes one frame whose payloads start at `payloads_at` inside `bytes` and which takes
    /// `frame_len` bytes of the log file.
    fn push_frame(
        &mut self,
        bytes: Bytes,
        payloads_at: usize,
        frame_len: u64,
        timestamp_ns: u64,
        lens: impl Iterator<Item = usize>,
    ) {
        let frame_idx = self.frames.len() as u32;
        let mut at = payloads_at;
        for len in lens {
            self.entries.push(HotEntry { frame: frame_idx, offset: at as u32, len: len as u32 });
            at += len;
            self.payload_bytes += len as u64;
        }
        self.frames.push(HotFrame { bytes, timestamp_ns });
        self.log_len += frame_len;
    }

    fn entry(&self, seq: u64) -> Option<(&HotEntry, &HotFrame)> {
        let idx = usize::try_from(seq.checked_sub(self.base_seq)?).ok()?;
        let e = self.entries.get(idx)?;
        let f = self.frames.get(e.frame as usize)?;
        Some((e, f))
    }

    /// The payload and timestamp of `seq`, if this segment holds it.
    pub fn get(&self, seq: u64) -> Option<(Bytes, u64)> {
        let (buf, range, ts) = self.get_slice(seq)?;
        Some((buf.slice(range), ts))
    }

    /// The payload of `seq` as `buffer[range]` (the buffer is its frame's, shared by every
    /// entry of the frame), and its timestamp.
    pub fn get_slice(&self, seq: u64) -> Option<(&Bytes, Range<usize>, u64)> {
        let (e, f) = self.entry(seq)?;
        let start = e.offset as usize;
        Some((&f.bytes, start..start + e.len as usize, f.timestamp_ns))
    }

    /// Payload length of `seq`.
    pub fn payload_len(&self, seq: u64) -> Option<u64> {
        self.entry(seq).map(|(e, _)| u64::from(e.len))
    }

    /// Append timestamp of `seq`.
    pub fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        self.entry(seq).map(|(_, f)| f.timestamp_ns)
    }

    /// The index records and timestamps of every entry, as a frozen segment stores them
    /// (persistent segments: record offsets are positions in the log file).
    pub fn index_records(&self) -> impl Iterator<Item = (IndexRecord, u64)> + '_ {
        let mut frames = self.frames.iter().zip(self.frame_offsets());
        let mut current: Option<(u32, &HotFrame, u64)> = None;
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            // Entries come in frame order and every frame holds at least one.
            if current.is_none_or(|(idx, _, _)| idx != e.frame) {
                let (f, at) = frames.next()?;
                current = Some((e.frame, f, at));
            }
            let (_, f, frame_at) = current?;
            let start = e.offset as usize;
            let payload = f.bytes.get(start..start + e.len as usize)?;
            let file_offset = frame_at + u64::from(e.offset);
            let rec = IndexRecord::new(
                self.base_seq + i as u64,
                file_offset as u32,
                payload,
                f.timestamp_ns,
            );
            Some((rec, f.timestamp_ns))
        })
    }

    /// Where each frame starts in the segment's log file, in order.
    fn frame_offsets(&self) -> impl Iterator<Item = u64> + '_ {
        self.frames.iter().scan(self.header_len, |at, f| {
            let start = *at;
            *at += f.bytes.len() as u64;
            Some(start)
        })
    }

    /// The index records of every entry, in seq order.
    pub fn records(&self) -> impl Iterator<Item = IndexRecord> + '_ {
        self.index_records().map(|(rec, _)| rec)
    }

    /// The append timestamp of every entry, in seq order.
    pub fn timestamps(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().map(move |e| self.frames[e.frame as usize].timestamp_ns)
    }

    /// Number of frames.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// The frame table a frozen segment stores: where each frame starts in the log and which
    /// entry it starts with (persistent segments).
    pub fn frame_table(&self) -> impl Iterator<Item = FrameEntry> + '_ {
        let mut offsets = self.frame_offsets();
        let mut last_frame = None;
        self.entries.iter().enumerate().filter_map(move |(slot, e)| {
            if last_frame == Some(e.frame) {
                return None;
            }
            last_frame = Some(e.frame);
            let at = offsets.next()?;
            Some(FrameEntry { first_slot: slot as u32, file_offset: at as u32 })
        })
    }

    /// Indexes the frames of a log file in place (`frames` are the file's bytes after its
    /// `header_len`-byte header). Replay stops at the first frame that is torn, corrupt or out
    /// of sequence; the report says how many bytes follow the valid prefix.
    pub fn replay(base_seq: u64, header_len: u64, frames: Bytes) -> (Self, ReplayReport) {
        let mut seg = HotSegment::new(base_seq, header_len);
        let mut at = 0usize;
        let mut stop_reason = None;
        while at < frames.len() {
            let view = match frame::parse(&frames[at..]) {
                Ok(v) => v,
                Err(e) => {
                    stop_reason = Some(describe(e, header_len + at as u64));
                    break;
                }
            };
            if view.first_seq != seg.next_seq() {
                stop_reason = Some(format!(
                    "frame at byte {} has seq {} where {} was expected",
                    header_len + at as u64,
                    view.first_seq,
                    seg.next_seq()
                ));
                break;
            }
            let lens: Vec<usize> = view.payloads().map(|(_, len)| len).collect();
            seg.push_written(
                frames.slice(at..at + view.frame_len),
                view.timestamp_ns,
                lens.into_iter(),
            );
            at += view.frame_len;
        }
        // Zeros after the last frame are preallocated space, not damage.
        let rest = &frames[at..];
        let zero_tail = rest.iter().all(|&b| b == 0);
        let report = ReplayReport {
            valid_len: seg.log_len,
            dropped_bytes: if zero_tail { 0 } else { rest.len() as u64 },
            zero_tail_bytes: if zero_tail { rest.len() as u64 } else { 0 },
            stop_reason: if zero_tail { None } else { stop_reason },
        };
        (seg, report)
    }
}

fn describe(e: FrameError, offset: u64) -> String {
    format!("{e} at byte {offset}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Frames encoded for a log, written and replayed, give the same entries and the same
        /// index records; the heap arena path agrees on every payload.
        #[test]
        fn replay_matches_appends(batches in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 1..5), 0..10)
        ) {
            let mut seg = HotSegment::new(100, 32);
            let mut heap = HotSegment::new(100, 0);
            let mut file = Vec::new();
            let mut scratch = Vec::new();
            let mut model = Vec::new();
            for (i, b) in batches.iter().enumerate() {
                seg.encode_frame(&mut scratch, b, i as u64).map_err(|_| TestCaseError::fail("too large"))?;
                file.extend_from_slice(&scratch);
                seg.push_written(Bytes::copy_from_slice(&scratch), i as u64, b.iter().map(Vec::len));
                heap.append(b, i as u64).map_err(|_| TestCaseError::fail("too large"))?;
                model.extend(b.iter().cloned().map(|p| (p, i as u64)));
            }
            // Frozen-segment metadata points into the file: each frame-table entry at a frame
            // starting with its first seq, each record at its payload.
            let frames_at: Vec<_> = seg.frame_table().collect();
            prop_assert_eq!(frames_at.len(), batches.len());
            for fe in &frames_at {
                let view = frame::parse(&file[fe.file_offset as usize - 32..])
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(view.first_seq, 100 + u64::from(fe.first_slot));
            }
            for ((rec, _), (p, _)) in seg.index_records().zip(&model) {
                if let Ok(crate::index_record::PayloadRef::InLog { offset, len }) = rec.payload_ref() {
                    let at = offset as usize - 32;
                    prop_assert_eq!(&file[at..at + len as usize], &p[..]);
                }
            }
            let (back, report) = HotSegment::replay(100, 32, Bytes::from(file));
            prop_assert_eq!(report.dropped_bytes, 0);
            prop_assert_eq!(back.len(), model.len());
            prop_assert_eq!(back.log_len(), seg.log_len());
            for (i, (p, ts)) in model.iter().enumerate() {
                let want = Some((Bytes::from(p.clone()), *ts));
                prop_assert_eq!(back.get(100 + i as u64), want.clone());
                prop_assert_eq!(heap.get(100 + i as u64), want);
            }
            let a: Vec<_> = seg.index_records().collect();
            let b: Vec<_> = back.index_records().collect();
            prop_assert_eq!(a, b);
        }
    }
}

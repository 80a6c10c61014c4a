//! The ordered set of a file's segments: frozen ones (oldest first) and the active one.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use parking_lot::Mutex;
use redex_tiers::cold::ColdSegmentRef;
use redex_tiers::manifest::SegmentMeta;
use redex_tiers::{FrozenSegment, HotSegment};

use crate::error::{RedexError, Result};
use crate::storage::{self, ActiveLog};

/// A frozen segment of a persistent file, known from its manifest record and mapped on first
/// use: an unread segment costs only this struct, so neither reopen time nor memory grows with
/// the amount of frozen history. At most a bound ([`OpenSegments`]) of a file's segments stay
/// mapped; the least recently used one is closed to open another, and mapped again when next
/// read.
#[derive(Debug)]
pub(crate) struct WarmSegment {
    meta: SegmentMeta,
    dir: Arc<Path>,
    /// The mapping while open. Readers take an `Arc` of it (one per segment a read visits), so
    /// closing only drops the file's own reference: a reader still holding the segment, or a
    /// payload sliced out of it, keeps the mapping alive until it lets go.
    opened: ArcSwapOption<FrozenSegment>,
    /// Read since the clock hand last passed (the CLOCK algorithm's second chance).
    referenced: AtomicBool,
    /// Closed at least once: its next opening counts as a re-open.
    was_closed: AtomicBool,
    /// The file's bound on open segments.
    open: Arc<OpenSegments>,
}

impl WarmSegment {
    /// A segment to be opened when first read.
    pub(crate) fn lazy(meta: SegmentMeta, dir: Arc<Path>, open: Arc<OpenSegments>) -> Arc<Self> {
        Arc::new(WarmSegment {
            meta,
            dir,
            opened: ArcSwapOption::empty(),
            referenced: AtomicBool::new(false),
            was_closed: AtomicBool::new(false),
            open,
        })
    }

    /// A segment already open (just frozen): it counts as one of the open ones.
    pub(crate) fn opened(
        meta: SegmentMeta,
        dir: Arc<Path>,
        open: Arc<OpenSegments>,
        seg: FrozenSegment,
    ) -> Arc<Self> {
        let warm = WarmSegment::lazy(meta, dir, Arc::clone(&open));
        open.admit(&warm, Arc::new(seg));
        warm
    }

    pub(crate) fn meta(&self) -> &SegmentMeta {
        &self.meta
    }

    /// The mapped segment, opening it now if needed (its footer must agree with the manifest),
    /// which may close the least recently used open segment of the file. No lock is taken
    /// while the segment is open; opening takes the file's small ring lock once.
    pub(crate) fn segment(self: &Arc<Self>) -> Result<Arc<FrozenSegment>> {
        if let Some(seg) = self.opened.load_full() {
            // Read before writing: a segment read by many threads stays in their caches.
            if !self.referenced.load(Ordering::Relaxed) {
                self.referenced.store(true, Ordering::Relaxed);
            }
            return Ok(seg);
        }
        let log = storage::log_path(&self.dir, self.meta.first_seq);
        let idx = storage::idx_path(&self.dir, self.meta.first_seq);
        let seg = FrozenSegment::open(&log, &idx)?;
        if !self.meta.matches(seg.footer()) {
            return Err(RedexError::corrupt(
                idx,
                0,
                format!("footer {:?} disagrees with the manifest's {:?}", seg.footer(), self.meta),
            ));
        }
        Ok(self.open.admit(self, Arc::new(seg)))
    }
}

/// The bound on how many of a file's warm segments are open (mapped) at once, and the CLOCK
/// ring that picks which one to close: open segments sit in the ring in the order they were
/// opened; to open one more beyond the bound, the hand takes the oldest, and gives a segment
/// read since the hand last passed a second chance (clears its bit and moves it to the back)
/// instead of closing it. Each bit cleared was set by a read, so opening costs O(1) amortized,
/// never a walk over the file's segments. The ring holds weak references: a segment dropped by
/// retention or archival is gone from it (and its mapping released) at once, and its entry is
/// discarded when the hand reaches it.
#[derive(Debug)]
pub(crate) struct OpenSegments {
    max: usize,
    ring: Mutex<VecDeque<Weak<WarmSegment>>>,
    closes: AtomicU64,
    reopens: AtomicU64,
}

/// What [`OpenSegments`] reports for the file's stats.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenStats {
    pub(crate) open: u64,
    pub(crate) closes: u64,
    pub(crate) reopens: u64,
}

impl OpenSegments {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(OpenSegments {
            max: max.max(1),
            ring: Mutex::new(VecDeque::new()),
            closes: AtomicU64::new(0),
            reopens: AtomicU64::new(0),
        })
    }

    /// Installs `mapped` as `seg`'s mapping, unless another reader opened it meanwhile (then
    /// theirs is returned and `mapped` dropped), closing the least recently used open segments
    /// first so that at most `max` are open.
    fn admit(&self, seg: &Arc<WarmSegment>, mapped: Arc<FrozenSegment>) -> Arc<FrozenSegment> {
        // Segments closed here, and strong references taken from the ring, are dropped after
        // the lock is released: unmapping is a system call, not work for the lock holder.
        let mut release: Vec<Arc<WarmSegment>> = Vec::new();
        let mut closed: Vec<Arc<FrozenSegment>> = Vec::new();
        let installed = {
            let mut ring = self.ring.lock();
            if let Some(current) = seg.opened.load_full() {
                current
            } else {
                // Each segment gets at most one second chance per pass; past that (readers
                // setting bits as fast as the hand clears them) the oldest is closed anyway.
                let mut chances = ring.len();
                while ring.len() >= self.max {
                    let Some(entry) = ring.pop_front() else { break };
                    let Some(other) = entry.upgrade() else { continue };
                    if chances > 0 && other.referenced.swap(false, Ordering::Relaxed) {
                        chances -= 1;
                        ring.push_back(entry);
                    } else if let Some(map) = other.opened.swap(None) {
                        other.was_closed.store(true, Ordering::Relaxed);
                        self.closes.fetch_add(1, Ordering::Relaxed);
                        closed.push(map);
                    }
                    release.push(other);
                }
                if seg.was_closed.load(Ordering::Relaxed) {
                    self.reopens.fetch_add(1, Ordering::Relaxed);
                }
                seg.referenced.store(false, Ordering::Relaxed);
                seg.opened.store(Some(Arc::clone(&mapped)));
                ring.push_back(Arc::downgrade(seg));
                mapped
            }
        };
        drop((closed, release));
        installed
    }

    /// Open segments, and closes and re-opens so far.
    pub(crate) fn stats(&self) -> OpenStats {
        // The ring holds only open segments (and entries of dropped ones, skipped here).
        let open = self.ring.lock().iter().filter(|w| w.strong_count() > 0).count() as u64;
        OpenStats {
            open,
            closes: self.closes.load(Ordering::Relaxed),
            reopens: self.reopens.load(Ordering::Relaxed),
        }
    }
}

/// A segment that no longer takes appends.
#[derive(Debug)]
pub(crate) enum Frozen {
    /// A full segment still indexed in memory: a heap-only file's (no log, kept until retention
    /// drops it), or a persistent file's whose freeze is running in the background (read through
    /// its log's mapping meanwhile).
    Hot { seg: Arc<HotSegment>, log: Option<Arc<ActiveLog>> },
    /// A persistent file's frozen segment.
    Warm(Arc<WarmSegment>),
    /// A segment archived to the cold store; only its manifest record is local. Cold segments
    /// are always the oldest ones (archival takes the oldest warm segment), so they form a
    /// prefix of the frozen list, and reads of them run outside the file's lock.
    Cold(Arc<ColdSegmentRef>),
}

impl Frozen {
    pub(crate) fn base_seq(&self) -> u64 {
        match self {
            Frozen::Hot { seg, .. } => seg.base_seq(),
            Frozen::Warm(w) => w.meta.first_seq,
            Frozen::Cold(c) => c.meta.first_seq,
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        match self {
            Frozen::Hot { seg, .. } => seg.next_seq(),
            Frozen::Warm(w) => w.meta.next_seq(),
            Frozen::Cold(c) => c.meta.next_seq(),
        }
    }

    pub(crate) fn payload_bytes(&self) -> u64 {
        match self {
            Frozen::Hot { seg, .. } => seg.payload_bytes(),
            Frozen::Warm(w) => w.meta.payload_bytes,
            Frozen::Cold(c) => c.meta.payload_bytes,
        }
    }

    /// The manifest record of a frozen segment on disk (warm or cold).
    pub(crate) fn meta(&self) -> Option<&SegmentMeta> {
        match self {
            Frozen::Hot { .. } => None,
            Frozen::Warm(w) => Some(&w.meta),
            Frozen::Cold(c) => Some(&c.meta),
        }
    }

    /// Timestamp of the segment's last entry.
    fn max_ts_ns(&self) -> Option<u64> {
        match self {
            Frozen::Hot { seg, .. } => {
                seg.next_seq().checked_sub(1).and_then(|s| seg.timestamp_ns(s))
            }
            Frozen::Warm(w) => Some(w.meta.max_ts_ns),
            Frozen::Cold(c) => Some(c.meta.max_ts_ns),
        }
    }

    fn get(&self, seq: u64) -> Result<Option<(Bytes, u64)>> {
        match self {
            Frozen::Hot { seg, .. } => Ok(seg.get(seq)),
            Frozen::Warm(w) => Ok(w.segment()?.get(seq)?),
            Frozen::Cold(_) => Err(cold_under_lock(seq)),
        }
    }

    /// `None` for cold segments: their entries are only reached by fetching.
    fn payload_len(&self, seq: u64) -> Option<u64> {
        match self {
            Frozen::Hot { seg, .. } => seg.payload_len(seq),
            Frozen::Warm(w) => w.segment().ok()?.payload_len(seq),
            Frozen::Cold(_) => None,
        }
    }

    fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        match self {
            Frozen::Hot { seg, .. } => seg.timestamp_ns(seq),
            Frozen::Warm(w) => w.segment().ok()?.timestamp_ns(seq),
            Frozen::Cold(_) => None,
        }
    }
}

/// Cold segments are read by the file outside its lock; reaching one through the segment set
/// is a routing bug, reported rather than a panic.
fn cold_under_lock(seq: u64) -> RedexError {
    RedexError::InvalidConfig(format!("internal: seq {seq} is cold and must be fetched"))
}

/// What a whole frozen segment holds, for evicting it without reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentSummary {
    pub(crate) next_seq: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) max_ts_ns: Option<u64>,
    /// Archived: retention can only move past it whole.
    pub(crate) cold: bool,
}

/// Frozen segments plus the active one, covering a contiguous seq range.
#[derive(Debug)]
pub(crate) struct SegmentSet {
    pub(crate) frozen: VecDeque<Frozen>,
    pub(crate) active: HotSegment,
}

impl SegmentSet {
    /// Lowest seq still held by some segment.
    pub(crate) fn first_seq(&self) -> u64 {
        self.frozen.front().map_or(self.active.base_seq(), Frozen::base_seq)
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.active.next_seq()
    }

    /// Index into `frozen` of the segment holding `seq`, or `None` for the active segment.
    fn frozen_slot(&self, seq: u64) -> Option<usize> {
        if seq >= self.active.base_seq() {
            return None;
        }
        let slot = self.frozen.partition_point(|s| s.next_seq() <= seq);
        (slot < self.frozen.len()).then_some(slot)
    }

    /// Whether `seg` (a warm or cold segment a caller took out of the lock) is still in the
    /// set, in the same tier: not archived or dropped by retention since.
    pub(crate) fn holds(&self, seg: &Frozen) -> bool {
        self.frozen_slot(seg.base_seq()).is_some_and(|slot| match (&self.frozen[slot], seg) {
            (Frozen::Warm(a), Frozen::Warm(b)) => Arc::ptr_eq(a, b),
            (Frozen::Cold(a), Frozen::Cold(b)) => Arc::ptr_eq(a, b),
            _ => false,
        })
    }

    /// The summary of the frozen segment starting exactly at `seq`, if there is one.
    pub(crate) fn frozen_starting_at(&self, seq: u64) -> Option<SegmentSummary> {
        let seg = &self.frozen[self.frozen_slot(seq)?];
        (seg.base_seq() == seq).then(|| SegmentSummary {
            next_seq: seg.next_seq(),
            payload_bytes: seg.payload_bytes(),
            max_ts_ns: seg.max_ts_ns(),
            cold: matches!(seg, Frozen::Cold(_)),
        })
    }

    /// How many of the oldest frozen segments are cold.
    pub(crate) fn cold_count(&self) -> usize {
        self.frozen.partition_point(|s| matches!(s, Frozen::Cold(_)))
    }

    /// The first seq not held by a cold segment.
    pub(crate) fn cold_end(&self) -> u64 {
        match self.cold_count() {
            0 => self.first_seq(),
            n => self.frozen[n - 1].next_seq(),
        }
    }

    /// The cold segments holding any of `start..end`, oldest first (found by binary search, so
    /// a read costs the same however much history is cold).
    pub(crate) fn cold_segments(&self, start: u64, end: u64) -> Vec<Arc<ColdSegmentRef>> {
        let cold = self.cold_count();
        let first = self.frozen.partition_point(|s| s.next_seq() <= start).min(cold);
        self.frozen
            .range(first..cold)
            .take_while(|s| s.base_seq() < end)
            .filter_map(|s| match s {
                Frozen::Cold(c) => Some(Arc::clone(c)),
                _ => None,
            })
            .collect()
    }

    /// Payload and timestamp of `seq` (the caller has checked it is retained and below
    /// `next_seq`).
    pub(crate) fn get(&self, seq: u64) -> Result<Option<(Bytes, u64)>> {
        match self.frozen_slot(seq) {
            None => Ok(self.active.get(seq)),
            Some(slot) => self.frozen[slot].get(seq),
        }
    }

    pub(crate) fn payload_len(&self, seq: u64) -> Option<u64> {
        match self.frozen_slot(seq) {
            None => self.active.payload_len(seq),
            Some(slot) => self.frozen[slot].payload_len(seq),
        }
    }

    pub(crate) fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        match self.frozen_slot(seq) {
            None => self.active.timestamp_ns(seq),
            Some(slot) => self.frozen[slot].timestamp_ns(seq),
        }
    }

    /// Calls `f(seq, payload, timestamp)` for every seq in `start..end`, walking segment by
    /// segment.
    pub(crate) fn for_each(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, Bytes, u64),
    ) -> Result<()> {
        self.for_each_slice(start, end, |seq, buf, range, ts| f(seq, buf.slice(range), ts))
    }

    /// Calls `f(seq, buffer, range, timestamp)` for every seq in `start..end`, the payload
    /// being `buffer[range]`: a warm segment's mapped log, a hot frame's bytes.
    pub(crate) fn for_each_slice(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, &Bytes, Range<usize>, u64),
    ) -> Result<()> {
        let mut seq = start;
        if let Some(first) = self.frozen_slot(seq) {
            for seg in self.frozen.range(first..) {
                if seq >= end {
                    break;
                }
                let seg_end = end.min(seg.next_seq());
                match seg {
                    Frozen::Cold(_) => return Err(cold_under_lock(seq)),
                    Frozen::Warm(w) => w.segment()?.for_each_slice(seq, seg_end, &mut f)?,
                    Frozen::Hot { seg, .. } => {
                        for s in seq..seg_end {
                            if let Some((buf, range, ts)) = seg.get_slice(s) {
                                f(s, buf, range, ts);
                            }
                        }
                    }
                }
                seq = seg_end;
            }
        }
        while seq < end {
            if let Some((buf, range, ts)) = self.active.get_slice(seq) {
                f(seq, buf, range, ts);
            }
            seq += 1;
        }
        Ok(())
    }
}

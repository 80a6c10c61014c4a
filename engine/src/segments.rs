//! The ordered set of a file's segments: frozen ones (oldest first) and the active one.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use redex_tiers::cold::ColdSegmentRef;
use redex_tiers::manifest::SegmentMeta;
use redex_tiers::{FrozenSegment, HotSegment};

use crate::error::{RedexError, Result};
use crate::storage::{self, ActiveLog};

/// A frozen segment of a persistent file, known from its manifest record and mapped on first
/// use: an unread segment costs only this struct, so neither reopen time nor memory grows with
/// the amount of frozen history.
#[derive(Debug)]
pub(crate) struct WarmSegment {
    meta: SegmentMeta,
    dir: Arc<Path>,
    opened: OnceLock<FrozenSegment>,
}

impl WarmSegment {
    /// A segment to be opened when first read.
    pub(crate) fn lazy(meta: SegmentMeta, dir: Arc<Path>) -> Self {
        WarmSegment { meta, dir, opened: OnceLock::new() }
    }

    /// A segment already open.
    pub(crate) fn opened(meta: SegmentMeta, dir: Arc<Path>, seg: FrozenSegment) -> Self {
        let opened = OnceLock::new();
        let _ = opened.set(seg);
        WarmSegment { meta, dir, opened }
    }

    pub(crate) fn meta(&self) -> &SegmentMeta {
        &self.meta
    }

    /// The mapped segment, opening it now if needed. Its footer must agree with the manifest.
    pub(crate) fn segment(&self) -> Result<&FrozenSegment> {
        if let Some(seg) = self.opened.get() {
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
        Ok(self.opened.get_or_init(|| seg))
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

    /// Calls `f` for every seq in `start..end`, walking segment by segment.
    pub(crate) fn for_each(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, Bytes, u64),
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
                    Frozen::Warm(w) => w.segment()?.for_each(seq, seg_end, &mut f)?,
                    Frozen::Hot { seg, .. } => {
                        for s in seq..seg_end {
                            if let Some((payload, ts)) = seg.get(s) {
                                f(s, payload, ts);
                            }
                        }
                    }
                }
                seq = seg_end;
            }
        }
        while seq < end {
            if let Some((payload, ts)) = self.active.get(seq) {
                f(seq, payload, ts);
            }
            seq += 1;
        }
        Ok(())
    }
}

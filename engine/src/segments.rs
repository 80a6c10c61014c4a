//! The ordered set of a file's segments: frozen ones (oldest first) and the active one.

use std::collections::VecDeque;

use std::sync::Arc;

use bytes::Bytes;
use redex_tiers::{FrozenSegment, HotSegment};

use crate::error::Result;
use crate::storage::ActiveLog;

/// A segment that no longer takes appends.
#[derive(Debug)]
pub(crate) enum Frozen {
    /// A full segment still indexed in memory: a heap-only file's (no log, kept until retention
    /// drops it), or a persistent file's whose freeze is running in the background (read through
    /// its log's mapping meanwhile).
    Hot { seg: Arc<HotSegment>, log: Option<Arc<ActiveLog>> },
    /// A persistent file's sealed segment, mapped read-only.
    Mapped(FrozenSegment),
}

impl Frozen {
    pub(crate) fn base_seq(&self) -> u64 {
        match self {
            Frozen::Hot { seg: s, .. } => s.base_seq(),
            Frozen::Mapped(s) => s.base_seq(),
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        match self {
            Frozen::Hot { seg: s, .. } => s.next_seq(),
            Frozen::Mapped(s) => s.next_seq(),
        }
    }

    pub(crate) fn payload_bytes(&self) -> u64 {
        match self {
            Frozen::Hot { seg: s, .. } => s.payload_bytes(),
            Frozen::Mapped(s) => s.footer().payload_bytes,
        }
    }

    fn get(&self, seq: u64) -> Result<Option<(Bytes, u64)>> {
        match self {
            Frozen::Hot { seg: s, .. } => Ok(s.get(seq)),
            Frozen::Mapped(s) => Ok(s.get(seq)?),
        }
    }

    fn payload_len(&self, seq: u64) -> Option<u64> {
        match self {
            Frozen::Hot { seg: s, .. } => s.payload_len(seq),
            Frozen::Mapped(s) => s.payload_len(seq),
        }
    }

    fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        match self {
            Frozen::Hot { seg: s, .. } => s.timestamp_ns(seq),
            Frozen::Mapped(s) => s.timestamp_ns(seq),
        }
    }
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
                while seq < end && seq < seg.next_seq() {
                    if let Some((payload, ts)) = seg.get(seq)? {
                        f(seq, payload, ts);
                    }
                    seq += 1;
                }
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

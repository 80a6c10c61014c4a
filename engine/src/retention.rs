//! Where the retained head goes under a [`Retention`] policy, and which frozen segment leaves
//! the warm window for the cold tier.

use std::sync::Arc;

use crate::config::Retention;
use crate::segments::{Frozen, SegmentSet, SegmentSummary, WarmSegment};

/// The retained head and the payload bytes from it to the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) retained_bytes: u64,
}

/// A [`Retention`] resolved against a log's end and the clock.
struct Limits {
    /// Seqs below this are out by count.
    events_target: Option<u64>,
    max_bytes: Option<u64>,
    /// Entries older than this are out by age.
    age_cutoff: Option<u64>,
}

impl Limits {
    fn new(retention: &Retention, next_seq: u64, now_ns: u64) -> Self {
        Limits {
            events_target: retention.max_events.map(|max| next_seq.saturating_sub(max)),
            max_bytes: retention.max_bytes,
            age_cutoff: retention.max_age.map(|age| {
                now_ns.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX))
            }),
        }
    }

    /// Whether a whole segment is out, given `bytes` retained from its start to the end of
    /// the log: every entry is below the count target; or even without all of its bytes the
    /// log is still over the byte limit; or its newest entry is too old.
    fn evicts_whole(&self, seg: &SegmentSummary, bytes: u64) -> bool {
        self.events_target.is_some_and(|t| seg.next_seq <= t)
            || self
                .max_bytes
                .is_some_and(|max| bytes.checked_sub(seg.payload_bytes).is_some_and(|r| r > max))
            || self.age_cutoff.zip(seg.max_ts_ns).is_some_and(|(cut, ts)| ts < cut)
    }
}

/// Advances `head` as far as any limit of `retention` requires. Whole frozen segments are
/// skipped from their summaries (count, bytes, newest timestamp) without being read; inside a
/// segment the head moves entry by entry, except inside a cold segment, which is only ever
/// evicted whole (so its entries may outlive a limit by up to one segment). Each entry is
/// visited at most once over the life of a file, so the cost is amortised O(1) per append.
/// The segment starting at `uploading` (being archived) counts as cold already.
pub(crate) fn advance(
    set: &SegmentSet,
    mut head: Head,
    retention: &Retention,
    now_ns: u64,
    uploading: Option<u64>,
) -> Head {
    let next = set.next_seq();
    let limits = Limits::new(retention, next, now_ns);
    while head.seq < next {
        if let Some(seg) = set.frozen_starting_at(head.seq) {
            if limits.evicts_whole(&seg, head.retained_bytes) {
                head.seq = seg.next_seq;
                head.retained_bytes = head.retained_bytes.saturating_sub(seg.payload_bytes);
                continue;
            }
            if seg.cold || uploading == Some(head.seq) {
                break;
            }
        }
        let over_bytes = limits.max_bytes.is_some_and(|max| head.retained_bytes > max);
        let too_old = || {
            limits
                .age_cutoff
                .is_some_and(|cut| set.timestamp_ns(head.seq).is_some_and(|ts| ts < cut))
        };
        if !(limits.events_target.is_some_and(|t| head.seq < t) || over_bytes || too_old()) {
            break;
        }
        let len = set.payload_len(head.seq).unwrap_or(0);
        head.retained_bytes = head.retained_bytes.saturating_sub(len);
        head.seq += 1;
    }
    head
}

/// The segment to archive next under the warm window `warm`: the oldest segment that is not
/// cold yet, if it is frozen on disk, wholly retained (the head is not inside it: a segment
/// retention is already eating stays local until it is dropped) and wholly outside the window.
/// Archiving oldest first keeps the cold segments a prefix of the log.
pub(crate) fn archive_candidate(
    set: &SegmentSet,
    head: Head,
    warm: &Retention,
    now_ns: u64,
) -> Option<Arc<WarmSegment>> {
    if !warm.is_limited() {
        return None;
    }
    let slot = set.cold_count();
    let Frozen::Warm(seg) = set.frozen.get(slot)? else { return None };
    let summary = set.frozen_starting_at(seg.meta().first_seq)?;
    if seg.meta().first_seq < head.seq {
        return None;
    }
    let local_bytes = set.frozen.range(slot..).map(Frozen::payload_bytes).sum::<u64>()
        + set.active.payload_bytes();
    let limits = Limits::new(warm, set.next_seq(), now_ns);
    limits.evicts_whole(&summary, local_bytes).then(|| Arc::clone(seg))
}

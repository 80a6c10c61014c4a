//! Where the retained head goes under a [`Retention`] policy.

use crate::config::Retention;
use crate::segments::SegmentSet;

/// The retained head and the payload bytes from it to the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) retained_bytes: u64,
}

/// Advances `head` as far as any limit of `retention` requires. Whole frozen segments are
/// skipped from their summaries (count, bytes, newest timestamp) without being read; inside a
/// segment the head moves entry by entry. Each entry is visited at most once over the life of a
/// file, so the cost is amortised O(1) per append.
pub(crate) fn advance(
    set: &SegmentSet,
    mut head: Head,
    retention: &Retention,
    now_ns: u64,
) -> Head {
    let next = set.next_seq();
    let events_target =
        retention.max_events.map_or(head.seq, |max| head.seq.max(next.saturating_sub(max)));
    let age_cutoff = retention
        .max_age
        .map(|age| now_ns.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX)));
    while head.seq < next {
        if let Some(seg) = set.frozen_starting_at(head.seq) {
            // Evicting the whole segment is exactly what the entry-by-entry rules below would
            // do when: every entry is below the count target; or even without all of its bytes
            // the log is still over the byte limit; or its newest entry is too old.
            let whole = seg.next_seq <= events_target
                || retention.max_bytes.is_some_and(|max| {
                    head.retained_bytes
                        .checked_sub(seg.payload_bytes)
                        .is_some_and(|rest| rest > max)
                })
                || age_cutoff.zip(seg.max_ts_ns).is_some_and(|(cut, ts)| ts < cut);
            if whole {
                head.seq = seg.next_seq;
                head.retained_bytes = head.retained_bytes.saturating_sub(seg.payload_bytes);
                continue;
            }
        }
        let over_bytes = retention.max_bytes.is_some_and(|max| head.retained_bytes > max);
        let too_old =
            || age_cutoff.is_some_and(|cut| set.timestamp_ns(head.seq).is_some_and(|ts| ts < cut));
        if !(head.seq < events_target || over_bytes || too_old()) {
            break;
        }
        let len = set.payload_len(head.seq).unwrap_or(0);
        head.retained_bytes = head.retained_bytes.saturating_sub(len);
        head.seq += 1;
    }
    head
}

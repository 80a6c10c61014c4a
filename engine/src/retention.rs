//! Where the retained head goes under a [`Retention`] policy.

use crate::config::Retention;
use crate::segments::SegmentSet;

/// The retained head and the payload bytes from it to the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) retained_bytes: u64,
}

/// Advances `head` as far as any limit of `retention` requires. Each entry is visited at most
/// once over the life of a file, so the cost is amortised O(1) per append.
pub(crate) fn advance(
    set: &SegmentSet,
    mut head: Head,
    retention: &Retention,
    now_ns: u64,
) -> Head {
    let next = set.next_seq();
    let mut target = head.seq;
    if let Some(max) = retention.max_events {
        target = target.max(next.saturating_sub(max));
    }
    let age_cutoff = retention
        .max_age
        .map(|age| now_ns.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX)));
    loop {
        let over_bytes = retention.max_bytes.is_some_and(|max| head.retained_bytes > max);
        let too_old =
            || age_cutoff.is_some_and(|cut| set.timestamp_ns(head.seq).is_some_and(|ts| ts < cut));
        if head.seq >= next || !(head.seq < target || over_bytes || too_old()) {
            break;
        }
        let len = set.payload_len(head.seq).unwrap_or(0);
        head.retained_bytes = head.retained_bytes.saturating_sub(len);
        head.seq += 1;
    }
    head
}

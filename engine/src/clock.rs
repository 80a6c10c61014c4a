//! Wall-clock time for entry timestamps.
//!
//! Every append reads this clock, so it calls `clock_gettime(CLOCK_REALTIME)` through rustix
//! (the vDSO directly on Linux) and converts with integer arithmetic: std's `SystemTime::now`
//! plus `duration_since` cost about a tenth of a heap-only append on top of the clock read.

use rustix::time::{clock_gettime, ClockId};

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ns() -> u64 {
    let now = clock_gettime(ClockId::Realtime);
    match (u64::try_from(now.tv_sec), u64::try_from(now.tv_nsec)) {
        (Ok(secs), Ok(nanos)) => secs.saturating_mul(1_000_000_000).saturating_add(nanos),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn agrees_with_the_system_clock() {
        let std_ns = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let before = std_ns(SystemTime::now());
        let ours = u128::from(super::now_ns());
        let after = std_ns(SystemTime::now());
        assert!(before <= ours && ours <= after, "{before} <= {ours} <= {after}");
    }
}

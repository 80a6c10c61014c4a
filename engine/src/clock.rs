//! Wall-clock time for entry timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs().saturating_mul(1_000_000_000).saturating_add(d.subsec_nanos().into())
    })
}

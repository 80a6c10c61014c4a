//! The entry type readers receive.

use bytes::Bytes;

/// One entry of a log, as returned by reads and tails. Cloning is cheap: the payload is a
/// reference-counted slice of the segment that holds it (heap or mmap), not a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedexEvent {
    /// Sequence number, dense from 0.
    pub seq: u64,
    /// Append time in nanoseconds since the Unix epoch (non-decreasing within a file).
    pub timestamp_ns: u64,
    /// The payload bytes.
    pub payload: Bytes,
}

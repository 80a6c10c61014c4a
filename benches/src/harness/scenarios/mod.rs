//! The scenarios, one file each; [`crate::harness::scenario::registry`] lists them in run order.
//!
//! Shared helpers for building logs with a known content, and for timing reads, live here.

pub mod append;
pub mod backends;
pub mod cortex;
pub mod durable;
pub mod netdb;
pub mod read;
pub mod reopen;
pub mod retention;
pub mod soak;
pub mod tiers;

use std::time::Instant;

use indicatif::ProgressBar;
use redex::Bytes;

use super::measure::Recorder;
use super::system::Log;
use super::Result;
use crate::workload;

/// Payloads per `append_batch` call when filling a log untimed (batpak refuses batches of more
/// than 256 by default).
pub const PREFILL_BATCH_LEN: usize = 256;

/// `count` distinct payloads of `len` bytes, as [`Bytes`] every system accepts.
pub fn batch_bytes(count: usize, len: usize) -> Vec<Bytes> {
    workload::batch(count, len).into_iter().map(Bytes::from).collect()
}

/// Appends `events` payloads of `payload_len` bytes to `log` in batches of
/// [`PREFILL_BATCH_LEN`], untimed, advancing `bar`.
pub fn prefill(
    log: &mut dyn Log,
    events: u64,
    payload_len: usize,
    bar: &ProgressBar,
) -> Result<()> {
    let batch = batch_bytes(PREFILL_BATCH_LEN, payload_len);
    let mut done = 0u64;
    while done < events {
        let n = (events - done).min(PREFILL_BATCH_LEN as u64) as usize;
        log.append_batch(batch.get(..n).ok_or("prefill batch shorter than asked")?)?;
        done += n as u64;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    Ok(())
}

/// A channel name for a log of `scenario`'s `case` (lowercase, as every system accepts).
pub fn channel(scenario: &str, case: &str) -> String {
    format!("bench/{}/{}", scenario, case.to_ascii_lowercase())
}

/// Runs `scan`, a read of a whole log that reports each of its calls (events, payload bytes),
/// and records each call into `recorder` with the time since the previous report (so the
/// clock read and bookkeeping are not charged to the next call). Returns the events read.
pub fn record_scan(
    recorder: &mut Recorder,
    scan: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<()>,
) -> Result<u64> {
    let mut last = Instant::now();
    let mut seen = 0u64;
    scan(&mut |events, bytes| {
        let now = Instant::now();
        recorder.record(now - last, events, bytes);
        seen += events;
        last = Instant::now();
    })?;
    Ok(seen)
}

//! `redex dump DIR CHANNEL`: prints a channel's entries, filtered by seq range and append time.

use std::path::Path;

use redex::RedexFile;

use crate::error::{CliError, CliResult};
use crate::open::ReadOnlyDir;
use crate::output::{Format, Out};

/// Entries read per `read_range` call, so a dump of any size runs in bounded memory.
pub const READ_CHUNK_EVENTS: u64 = 1024;

/// What to print.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    /// First seq (default: the retained head).
    pub from: Option<u64>,
    /// Stop before this seq (exclusive; default: the next seq).
    pub to: Option<u64>,
    /// Only entries appended at or after this time (Unix ns).
    pub since_ns: Option<u64>,
    /// Output format.
    pub format: Format,
}

/// Runs `dump`.
pub fn run(dir: &Path, channel: &str, sel: Selection, out: &mut Out) -> CliResult {
    let d = ReadOnlyDir::open(dir)?;
    let name = d.channel(channel)?;
    let file = d.file(&name)?;
    let start = sel.from.unwrap_or_else(|| file.head_seq());
    if let Some(end) = sel.to.filter(|&end| end < start) {
        return Err(CliError::Message(format!("--from {start} is past --to {end}")));
    }
    let end = sel.to.unwrap_or_else(|| file.next_seq()).max(start);
    print_range(&file, start, end, sel.since_ns, sel.format, out)?;
    out.flush()
}

/// Prints entries `start..end` (clamped to the next seq) appended at or after `since_ns`, in
/// chunks; returns the seq after the last one read.
pub fn print_range(
    file: &RedexFile,
    start: u64,
    end: u64,
    since_ns: Option<u64>,
    format: Format,
    out: &mut Out,
) -> CliResult<u64> {
    let end = end.min(file.next_seq());
    let mut seq = match since_ns {
        // Timestamps never decrease, so skip whole segments that end before `since`.
        Some(since) => file
            .segments()
            .iter()
            .find(|s| s.max_ts_ns.is_some_and(|ts| ts >= since))
            .map_or(end, |s| s.first_seq.max(start)),
        None => start,
    };
    while seq < end {
        let chunk_end = end.min(seq.saturating_add(READ_CHUNK_EVENTS));
        let events = file.read_range(seq, chunk_end).map_err(|e| {
            CliError::redex(format!("read channel {} seqs {seq}..{chunk_end}", file.channel()), e)
        })?;
        for e in events.iter().filter(|e| since_ns.is_none_or(|s| e.timestamp_ns >= s)) {
            out.event(e, format)?;
        }
        if events.is_empty() {
            break;
        }
        seq = chunk_end;
    }
    Ok(seq.max(start))
}

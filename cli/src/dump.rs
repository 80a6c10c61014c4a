//! `redex dump DIR CHANNEL`: prints a channel's entries, filtered by seq range and append time.
//! Entries of archived segments are read from the cold store (`--cold-dir`, `--cold-s3`).

use std::path::Path;

use redex::RedexFile;

use redex::RedexEvent;

use crate::cold::Cold;
use crate::error::{is_corruption, CliError, CliResult};
use crate::open::ReadOnlyDir;
use crate::output::{Format, Out};
use crate::verify::check_unfrozen_logs;

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
    /// On damaged data, report each damaged entry on stderr and go on with the next one
    /// instead of stopping (salvage mode); the exit status is still 3.
    pub skip_damaged: bool,
}

/// Runs `dump`.
pub fn run(
    dir: &Path,
    channel: &str,
    sel: Selection,
    cold: Option<&Cold>,
    out: &mut Out,
) -> CliResult {
    let d = ReadOnlyDir::open(dir, cold)?;
    let name = d.channel(channel)?;
    let file = d.file(&name)?;
    let start = sel.from.unwrap_or_else(|| file.head_seq());
    if let Some(end) = sel.to.filter(|&end| end < start) {
        return Err(CliError::Message(format!("--from {start} is past --to {end}")));
    }
    let end = sel.to.unwrap_or_else(|| file.next_seq()).max(start);
    let mut damaged = 0u64;
    let skip = sel.skip_damaged.then_some(&mut damaged);
    let mut at = start;
    print_range(&file, &mut at, end, sel.since_ns, sel.format, skip, out)?;
    out.flush()?;
    // A dump to the end must not end quietly short of entries that are whole on disk but past
    // bad bytes in an unfrozen log (the read-only open stops there, and a writer's reopen
    // would delete them).
    if end >= file.next_seq() {
        damaged += past_the_end(&d, &file);
    }
    match damaged {
        0 => Ok(()),
        problems => Err(CliError::ProblemsFound { problems, damaged: true }),
    }
}

/// Reports on stderr intact entries after the channel's readable end (see
/// [`check_unfrozen_logs`]); returns how many problems there were.
pub fn past_the_end(d: &ReadOnlyDir, file: &RedexFile) -> u64 {
    let found = check_unfrozen_logs(d, file.channel(), file);
    for p in &found.problems {
        eprintln!(
            "redex: problem: channel {}: the readable entries end at seq {}: {p}",
            file.channel(),
            file.next_seq()
        );
    }
    found.problems.len() as u64
}

/// Prints entries `*at..end` (clamped to the next seq) appended at or after `since_ns`, in
/// chunks, moving `*at` past each chunk once it is printed, so when a read fails partway `*at`
/// is where the entries not printed yet start. With `skip_damaged`, a chunk that fails with
/// damaged data is read again entry by entry, each damaged entry reported on stderr and counted
/// there, instead of ending the command.
pub fn print_range(
    file: &RedexFile,
    at: &mut u64,
    end: u64,
    since_ns: Option<u64>,
    format: Format,
    mut skip_damaged: Option<&mut u64>,
    out: &mut Out,
) -> CliResult {
    let start = *at;
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
        let context = || format!("read channel {} seqs {seq}..{chunk_end}", file.channel());
        let events = match (file.read_range(seq, chunk_end), skip_damaged.as_deref_mut()) {
            (Ok(events), _) => events,
            (Err(e), Some(count)) if is_corruption(&e) => salvage(file, seq, chunk_end, count)?,
            (Err(e), _) => return Err(CliError::redex(context(), e)),
        };
        for e in events.iter().filter(|e| since_ns.is_none_or(|s| e.timestamp_ns >= s)) {
            out.event(e, format)?;
        }
        if events.is_empty() {
            break;
        }
        seq = chunk_end;
        *at = seq;
    }
    Ok(())
}

/// Reads `start..end` entry by entry, skipping (and reporting on stderr) damaged entries.
fn salvage(
    file: &RedexFile,
    start: u64,
    end: u64,
    damaged: &mut u64,
) -> CliResult<Vec<RedexEvent>> {
    let mut events = Vec::new();
    for seq in start..end {
        match file.get(seq) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => break,
            Err(e) if is_corruption(&e) => {
                *damaged += 1;
                eprintln!(
                    "redex: skipped damaged entry: channel {} seq {seq}: {e}",
                    file.channel()
                );
            }
            Err(e) => {
                return Err(CliError::redex(
                    format!("read channel {} seq {seq}", file.channel()),
                    e,
                ))
            }
        }
    }
    Ok(events)
}

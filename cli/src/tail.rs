//! `redex tail DIR CHANNEL [--follow]`: the last entries of a channel, then, with `--follow`,
//! new ones as they are appended. Entries of archived segments are read from the cold store
//! (`--cold-dir`, `--cold-s3`).
//!
//! Another process's appends cannot reach this one's tail stream, so following polls: every
//! interval it looks at the channel's directory (its modification time, and the size and
//! modification time of each log) and, when that changed, reopens the channel read-only and
//! prints the entries past the last one printed. Entries that retention deleted in between are
//! reported as skipped on stderr.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::cold::Cold;
use crate::dump::{past_the_end, print_range};
use crate::error::{CliError, CliResult};
use crate::open::ReadOnlyDir;
use crate::output::{Format, Out};

/// How `tail` runs.
#[derive(Debug, Clone, Copy)]
pub struct TailOptions {
    /// Entries printed before following.
    pub lines: u64,
    /// Keep printing new entries.
    pub follow: bool,
    /// Time between polls while following.
    pub poll_interval: Duration,
    /// Stop following after this many polls (tests); `None` runs until interrupted.
    pub max_polls: Option<u64>,
    /// Output format.
    pub format: Format,
}

/// Runs `tail`.
pub fn run(
    dir: &Path,
    channel: &str,
    opts: TailOptions,
    cold: Option<&Cold>,
    out: &mut Out,
) -> CliResult {
    let d = ReadOnlyDir::open(dir, cold)?;
    let name = d.channel(channel)?;
    let seg_dir = name.segment_dir(dir);
    let mut seen = Fingerprint::of(&seg_dir).filter(Fingerprint::settled);
    let file = d.file(&name)?;
    let next = file.next_seq();
    let start = next.saturating_sub(opts.lines).max(file.head_seq());
    let mut pos = start;
    print_range(&file, &mut pos, next, None, opts.format, None, out)?;
    out.flush()?;
    // The last entries printed must not silently be the last readable ones while intact
    // entries follow bad bytes (reported on stderr; while following, once).
    let problems = past_the_end(&d, &file);
    drop((file, d));
    if !opts.follow {
        return match problems {
            0 => Ok(()),
            problems => Err(CliError::ProblemsFound { problems, damaged: true }),
        };
    }
    let mut polls = 0u64;
    let mut last_error = String::new();
    while opts.max_polls.is_none_or(|m| polls < m) {
        std::thread::sleep(opts.poll_interval);
        polls += 1;
        // Taken before reopening, so a change made while reopening shows at the next poll.
        let now = Fingerprint::of(&seg_dir);
        if now.is_some() && now == seen {
            continue;
        }
        // `pos` moves past whatever a poll printed, even one that fails partway, so the next
        // poll never prints an entry twice.
        match poll(dir, channel, &mut pos, opts.format, cold, out) {
            Ok(()) => {
                // A fingerprint with a recent modification time may not show a write made in
                // the same clock tick after it was taken: reopen at every poll until it settles.
                seen = now.filter(Fingerprint::settled);
                last_error.clear();
            }
            Err(CliError::BrokenPipe) => return Err(CliError::BrokenPipe),
            // A writer mid-rollover or mid-retention can make one reopen fail; say so once
            // and try again at the next poll.
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    eprintln!("redex: tail: {text} (retrying)");
                    last_error = text;
                }
            }
        }
    }
    Ok(())
}

/// Reopens the channel and prints what follows `*pos`, moving it past what was printed.
fn poll(
    dir: &Path,
    channel: &str,
    pos: &mut u64,
    format: Format,
    cold: Option<&Cold>,
    out: &mut Out,
) -> CliResult {
    let d = ReadOnlyDir::open(dir, cold)?;
    let file = d.file(&d.channel(channel)?)?;
    let (head, next) = (file.head_seq(), file.next_seq());
    if head > *pos {
        eprintln!("redex: tail: seqs {pos}..{head} were deleted by retention before printing");
        *pos = head;
    }
    if next < *pos {
        eprintln!("redex: tail: the log now ends at seq {next}, before {pos}; was it recreated?");
        *pos = next;
        return Ok(());
    }
    let result = print_range(&file, pos, next, None, format, None, out);
    out.flush()?;
    result
}

/// How long after its last modification a fingerprint is trusted to show every later write:
/// file times come from a coarse clock (a tick of a few ms), so a write in the same tick as
/// the fingerprint leaves them unchanged.
const SETTLE: Duration = Duration::from_secs(1);

/// What changes whenever a writer appends, rolls over or deletes a segment: the directory's
/// modification time and each log's size and modification time. (Sizes alone are not enough:
/// a writer with an fsync policy preallocates its log with zeros, so appends overwrite them
/// without changing its size, and the directory does not change either.)
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    dir_mtime: SystemTime,
    /// Name, size and modification time of each `.log`, sorted by name.
    logs: Vec<(OsString, u64, SystemTime)>,
    /// When this fingerprint was taken (not compared).
    taken: Taken,
}

impl Fingerprint {
    /// `None` when the directory cannot be read (then every poll reopens).
    fn of(dir: &Path) -> Option<Self> {
        let taken = Taken(SystemTime::now());
        let dir_mtime = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
        let mut logs = Vec::new();
        for entry in std::fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".log") {
                let meta = entry.metadata().ok()?;
                logs.push((name, meta.len(), meta.modified().ok()?));
            }
        }
        logs.sort();
        Some(Fingerprint { dir_mtime, logs, taken })
    }

    /// Whether every modification time it holds is at least [`SETTLE`] older than the
    /// fingerprint, so an unchanged fingerprint later means nothing was written.
    fn settled(&self) -> bool {
        let newest = self.logs.iter().map(|l| l.2).chain([self.dir_mtime]).max();
        newest.is_some_and(|t| t + SETTLE <= self.taken.0)
    }
}

/// The time a fingerprint was taken; equal to any other, so it never makes two fingerprints
/// differ.
#[derive(Debug)]
struct Taken(SystemTime);

impl PartialEq for Taken {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Taken {}

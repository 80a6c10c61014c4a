//! `redex tail DIR CHANNEL [--follow]`: the last entries of a channel, then, with `--follow`,
//! new ones as they are appended. Entries of archived segments are read from the cold store
//! (`--cold-dir`, `--cold-s3`).
//!
//! Another process's appends cannot reach this one's tail stream, so following polls: every
//! interval it looks at the channel's directory (modification time and the sizes of its logs)
//! and, when that changed, reopens the channel read-only and prints the entries past the last
//! one printed. Entries that retention deleted in between are reported as skipped on stderr.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use redex::ChannelName;

use crate::cold::Cold;
use crate::dump::print_range;
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
    let seg_dir = segment_dir(dir, &name);
    let mut seen = Fingerprint::of(&seg_dir);
    let file = d.file(&name)?;
    let next = file.next_seq();
    let start = next.saturating_sub(opts.lines).max(file.head_seq());
    let mut pos = print_range(&file, start, next, None, opts.format, None, out)?;
    out.flush()?;
    drop((file, d));
    if !opts.follow {
        return Ok(());
    }
    let mut polls = 0u64;
    let mut last_error = String::new();
    while opts.max_polls.is_none_or(|m| polls < m) {
        std::thread::sleep(opts.poll_interval);
        polls += 1;
        // Taken before reopening, so a change made while reopening shows at the next poll.
        let now = Fingerprint::of(&seg_dir);
        if now == seen && now.is_some() {
            continue;
        }
        match poll(dir, channel, pos, opts.format, cold, out) {
            Ok(next) => {
                pos = next;
                seen = now;
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

/// Reopens the channel and prints what follows `pos`; returns the new position.
fn poll(
    dir: &Path,
    channel: &str,
    pos: u64,
    format: Format,
    cold: Option<&Cold>,
    out: &mut Out,
) -> CliResult<u64> {
    let d = ReadOnlyDir::open(dir, cold)?;
    let file = d.file(&d.channel(channel)?)?;
    let (head, next) = (file.head_seq(), file.next_seq());
    let mut from = pos;
    if head > from {
        eprintln!("redex: tail: seqs {from}..{head} were deleted by retention before printing");
        from = head;
    }
    if next < from {
        eprintln!("redex: tail: the log now ends at seq {next}, before {from}; was it recreated?");
        return Ok(next);
    }
    let end = print_range(&file, from, next, None, format, None, out)?;
    out.flush()?;
    Ok(end)
}

/// The channel's segment directory, `<dir>/channels/<part>/.../.redex` (docs/FORMAT.md).
fn segment_dir(dir: &Path, channel: &ChannelName) -> PathBuf {
    let mut path = dir.join("channels");
    path.extend(channel.as_str().split('/'));
    path.join(".redex")
}

/// What changes whenever a writer appends, rolls over or deletes a segment: the directory's
/// modification time and the total size of its logs.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    dir_mtime: SystemTime,
    log_bytes: u64,
}

impl Fingerprint {
    /// `None` when the directory cannot be read (then every poll reopens).
    fn of(dir: &Path) -> Option<Self> {
        let dir_mtime = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
        let mut log_bytes = 0u64;
        for entry in std::fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            if entry.file_name().to_string_lossy().ends_with(".log") {
                log_bytes = log_bytes.wrapping_add(entry.metadata().ok()?.len());
            }
        }
        Some(Fingerprint { dir_mtime, log_bytes })
    }
}

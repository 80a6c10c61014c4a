//! `redex verify DIR [CHANNEL]`: checks every checksum of every frozen segment (index body,
//! records, frames, payloads and timestamps, header, footer and manifest record), with a
//! progress bar on a terminal, and prints each problem with its file and byte offset.
//!
//! Segments archived to a cold store are fetched whole from it and checked the same way when
//! the command line names the store (`--cold-dir`, `--cold-s3`; a problem then names the
//! object); each channel's line says how many of its checked segments were archived. Without a
//! store they are not checked, and each channel's line and the final line say how many were
//! left out, so "ok" never covers them silently.
//!
//! The unfrozen logs, which the writer's next open replays and trims, are checked for what
//! follows their valid frames: zeros (preallocated) and frames appended since are fine, a torn
//! write is a note, and intact entries after bad bytes (further on in that log, or in a later
//! log) are damage, since that open would delete them.
//!
//! A segment directory whose path is not a valid channel name (a part with a space or non-UTF-8
//! bytes, or one refused since it was created) cannot be opened, so it is not checked: each one
//! is reported as a problem, never silently left out of "ok".

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use redex::{ChannelName, RedexFile, Tier};
use redex_tiers::frame;
use redex_tiers::log_file::LOG_HEADER_LEN;

use crate::cold::Cold;
use crate::error::{is_corruption, CliError, CliResult};
use crate::open::ReadOnlyDir;
use crate::output::Out;

/// Runs `verify`. Returns [`CliError::ProblemsFound`] if anything was damaged or could not be
/// opened, after printing every problem.
pub fn run(dir: &Path, channel: Option<&str>, cold: Option<&Cold>, out: &mut Out) -> CliResult {
    let d = ReadOnlyDir::open(dir, cold)?;
    let selected = d.select(channel)?;
    let mut problems = 0u64;
    let mut damaged = false;
    let mut unchecked = 0u64;
    let mut archived = 0u64;
    if channel.is_none() {
        for (path, reason) in unopenable_segment_dirs(&dir.join("channels")) {
            problems += 1;
            out.line(format!(
                "problem: {}: not a valid channel name ({reason}), so its segments were not \
                 checked",
                path.display()
            ))?;
        }
    }
    // Open every channel first so the progress bar knows the total.
    let mut files: Vec<(ChannelName, RedexFile)> = Vec::new();
    for name in &selected {
        match d.file(name) {
            Ok(f) => files.push((name.clone(), f)),
            Err(e) => {
                problems += 1;
                if let CliError::Redex { source, .. } = &e {
                    damaged |= is_corruption(source);
                }
                out.line(format!("problem: {e}"))?;
            }
        }
    }
    // verify_each goes through every warm and cold segment (skipping cold ones without a
    // store).
    let total: u64 = files
        .iter()
        .map(|(_, f)| f.segments().iter().filter(|s| s.tier != Tier::Hot).count() as u64)
        .sum();
    let bar = progress_bar(total);
    let mut done_before = 0u64;
    for (name, file) in &files {
        bar.set_message(name.to_string());
        let mut seen = 0;
        let report = file.verify_each(|done, _| {
            seen = done;
            bar.set_position(done_before + done);
        });
        done_before += seen;
        // Lines go through the bar so they do not tear it.
        let mut lines = Vec::new();
        for p in &report.problems {
            problems += 1;
            damaged |= is_corruption(p);
            lines.push(format!("problem: channel {name}: {p}"));
        }
        let unfrozen = check_unfrozen_logs(&d, name, file);
        let status = match report.problems.is_empty() && unfrozen.problems.is_empty() {
            true => "ok",
            false => "DAMAGED",
        };
        for p in &unfrozen.problems {
            problems += 1;
            damaged = true;
            lines.push(format!("problem: channel {name}: {p}"));
        }
        lines.extend(unfrozen.notes.iter().map(|n| format!("note: channel {name}: {n}")));
        unchecked += report.cold_segments_skipped;
        archived += report.cold_segments;
        let from_store = match report.cold_segments {
            0 => String::new(),
            n => format!(" ({n} archived, fetched from the cold store)"),
        };
        lines.push(format!(
            "channel {name}: {status}: {} frozen segments{from_store}, {} entries, {} payload \
             bytes checked; {} damaged{}",
            report.frozen_segments,
            report.entries,
            report.payload_bytes,
            report.problems.len() + unfrozen.problems.len(),
            not_checked(report.cold_segments_skipped)
        ));
        bar.suspend(|| lines.into_iter().try_for_each(|l| out.line(l)))?;
    }
    bar.finish_and_clear();
    match problems {
        0 => {
            let channels = selected.len();
            let from_store = match (archived, cold) {
                (0, _) | (_, None) => String::new(),
                (n, Some(cold)) => {
                    format!("; {n} archived segments checked in {}", cold.description)
                }
            };
            out.line(format!(
                "verify {}: ok ({channels} channels){from_store}{}",
                d.dir,
                not_checked(unchecked)
            ))?;
            Ok(())
        }
        n => {
            let kind = if damaged { "damaged data" } else { "errors" };
            out.line(format!("verify {}: FAILED: {n} problem(s) ({kind})", d.dir))?;
            out.flush()?;
            Err(CliError::ProblemsFound { problems: n, damaged })
        }
    }
}

/// The `.redex` directories under `channels` whose path from it is not a valid channel name,
/// with why. (The engine lists only valid names.)
fn unopenable_segment_dirs(channels: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![channels.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if entry.file_name() != ".redex" {
                stack.push(path);
                continue;
            }
            let Ok(relative) = dir.strip_prefix(channels) else { continue };
            let reason = match relative.to_str() {
                None => "not UTF-8".to_string(),
                Some(name) => match ChannelName::new(name) {
                    Ok(_) => continue,
                    Err(redex::RedexError::InvalidChannelName { reason, .. }) => reason.into(),
                    Err(e) => e.to_string(),
                },
            };
            found.push((path, reason));
        }
    }
    found.sort();
    found
}

/// What a count of archived segments left out adds to a summary line.
fn not_checked(archived: u64) -> String {
    match archived {
        0 => String::new(),
        n => format!(
            "; {n} archived segments not checked (no cold store given: --cold-dir or --cold-s3)"
        ),
    }
}

/// A bar on stderr when it is a terminal; hidden otherwise (logs, pipes, tests).
fn progress_bar(total: u64) -> ProgressBar {
    let target = match std::io::stderr().is_terminal() {
        true => ProgressDrawTarget::stderr(),
        false => ProgressDrawTarget::hidden(),
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} verify [{bar:40}] {pos}/{len} segments {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// What [`check_unfrozen_logs`] found: problems (damaged data, exit 3) and notes.
#[derive(Debug, Default)]
pub struct Unfrozen {
    /// Intact entries the writer's reopen would delete, one line each (damaged data).
    pub problems: Vec<String>,
    /// Torn writes it would trim.
    pub notes: Vec<String>,
}

/// The note for a log shorter than its header.
fn torn_at_creation(path: &Path, len: usize) -> String {
    format!(
        "{}: {len} bytes, shorter than its {LOG_HEADER_LEN}-byte header: a log torn while being \
         created, which the writer deletes when it reopens",
        path.display()
    )
}

/// Looks at what follows the valid frames of each unfrozen (hot) log, which the writer's next
/// open cuts off, and at logs the read-only open left out because an earlier log stops early
/// (the writer's next open deletes them).
///
/// Bytes past the valid frames are fine when they are zeros (space a writer with an fsync
/// policy preallocates) or frames that continue the log (appends made after this check opened
/// it). Anything else is a torn write, reported as a note, unless intact frames with later
/// seqs follow it or later logs exist: then entries that are whole on disk would be deleted,
/// and that is reported as damage, with the seqs at stake.
pub fn check_unfrozen_logs(d: &ReadOnlyDir, name: &ChannelName, file: &RedexFile) -> Unfrozen {
    let mut found = Unfrozen::default();
    let segments = file.segments();
    // Where the chain of logs the open replayed ends: cleanly at a seq (a later log must start
    // there), or at bad bytes (no later log is part of the channel).
    let mut chain = Chain::Clean { end: file.next_seq(), last: None };
    for s in segments.iter().filter(|s| s.tier == Tier::Hot) {
        let Some(path) = &s.log_path else { continue };
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Some(rest) = usize::try_from(s.log_bytes).ok().and_then(|at| bytes.get(at..)) else {
            found.notes.push(match bytes.len() < LOG_HEADER_LEN {
                true => torn_at_creation(path, bytes.len()),
                false => format!(
                    "{}: {} bytes, shorter than the {} bytes read when it was opened",
                    path.display(),
                    bytes.len(),
                    s.log_bytes
                ),
            });
            continue;
        };
        chain = classify(path, rest, s.log_bytes, s.next_seq, &mut found);
    }
    // Logs the open left out: named at or past the channel's end, and no segment's log. One
    // that starts where a cleanly ending chain ends is a rollover made after the open.
    let dir = d.redex.dir().map(|base| name.segment_dir(base)).unwrap_or_default();
    let known: Vec<&PathBuf> = segments.iter().filter_map(|s| s.log_path.as_ref()).collect();
    for (seq, path) in log_files(&dir) {
        if seq < file.next_seq() || known.contains(&&path) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        if bytes.len() < LOG_HEADER_LEN {
            // The open set it aside: it cannot hold an entry.
            found.notes.push(torn_at_creation(&path, bytes.len()));
            continue;
        }
        let frames = bytes.get(LOG_HEADER_LEN..).unwrap_or_default();
        let why = match &chain {
            Chain::Clean { end, .. } if *end == seq => {
                chain = classify(&path, frames, LOG_HEADER_LEN as u64, seq, &mut found);
                continue;
            }
            Chain::Clean { end, last } => match last {
                Some(last) => format!("{} ends at seq {end}", last.display()),
                None => format!("the channel ends at seq {end}"),
            },
            Chain::Broken { path, at } => format!("{} stops at byte {at}", path.display()),
        };
        let scan = scan_tail(frames, seq);
        let held = match scan.end_seq - seq {
            0 => String::new(),
            n => format!(" holding {} (seqs {seq}..{})", entries(n), scan.end_seq),
        };
        found.problems.push(format!(
            "{}: a log of {} bytes{held} that is not part of the channel, because {why}: the \
             writer's reopen would delete it; copy the channel directory aside first",
            path.display(),
            bytes.len(),
        ));
    }
    found
}

/// Where a chain of logs ends.
#[derive(Debug)]
enum Chain {
    /// At the end of valid frames followed by nothing or zeros: the next log starts at `end`.
    Clean { end: u64, last: Option<PathBuf> },
    /// At bad bytes at byte `at` of `path`.
    Broken { path: PathBuf, at: u64 },
}

/// Classifies `rest`, the bytes of the log `path` from byte `offset` on, where the frames
/// continue at `seq`: a clean end, a torn write (a note), or damage followed by intact frames
/// (a problem).
fn classify(path: &Path, rest: &[u8], offset: u64, seq: u64, found: &mut Unfrozen) -> Chain {
    let scan = scan_tail(rest, seq);
    let Some(bad) = scan.bad else {
        return Chain::Clean { end: scan.end_seq, last: Some(path.to_path_buf()) };
    };
    let at = offset + bad.offset;
    match scan.intact {
        Some(intact) => found.problems.push(format!(
            "corrupt {}: at byte {at}: {}, and valid frames follow: {} (seqs {}..{}, from byte \
             {}) would be deleted when the writer reopens this log, which cuts it at byte {at}; \
             copy the channel directory aside first",
            path.display(),
            bad.reason,
            entries(intact.end_seq - intact.first_seq),
            intact.first_seq,
            intact.end_seq,
            offset + intact.offset,
        )),
        None => found.notes.push(format!(
            "{}: {} bytes after the last valid frame (at byte {at}: {}): a torn write that the \
             writer trims when it reopens",
            path.display(),
            bad.garbage_bytes,
            bad.reason,
        )),
    }
    Chain::Broken { path: path.to_path_buf(), at }
}

fn entries(n: u64) -> String {
    match n {
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    }
}

/// The segment logs in `dir` (`<20-digit seq>.log`), by seq.
fn log_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut logs: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_name()?.to_str()?.strip_suffix(".log")?;
            let seq = (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
                .then(|| stem.parse().ok())??;
            Some((seq, path))
        })
        .collect();
    logs.sort();
    logs
}

/// What follows the valid frames of a log: [`scan_tail`]'s answer.
#[derive(Debug)]
struct TailScan {
    /// The seq after the last entry of the frames that continue the log.
    end_seq: u64,
    /// Where the frames stop being valid, if anything but zeros follows.
    bad: Option<BadTail>,
    /// Valid frames after the bad bytes, with seqs past `end_seq`.
    intact: Option<Intact>,
}

#[derive(Debug)]
struct BadTail {
    /// Offset in the scanned bytes.
    offset: u64,
    /// Why the bytes there are not a frame continuing the log.
    reason: String,
    /// Bytes from there to the last non-zero byte.
    garbage_bytes: u64,
}

#[derive(Debug)]
struct Intact {
    /// Offset in the scanned bytes of the first valid frame after the bad bytes.
    offset: u64,
    first_seq: u64,
    /// The seq after the last entry of the valid frames from there on.
    end_seq: u64,
}

/// Walks the frames in `buf` (bytes of a log past its valid prefix) that continue the log at
/// `seq`, then classifies what follows: nothing or zeros (fine), or bad bytes, perhaps followed
/// by intact frames with later seqs.
fn scan_tail(buf: &[u8], seq: u64) -> TailScan {
    let (valid, end_seq, reason) = walk(buf, seq);
    let rest = &buf[valid..];
    let Some(last) = rest.iter().rposition(|&b| b != 0) else {
        return TailScan { end_seq, bad: None, intact: None };
    };
    let bad = BadTail {
        offset: valid as u64,
        reason: reason.unwrap_or_else(|| "not a frame".to_string()),
        garbage_bytes: last as u64 + 1,
    };
    let intact = (1..rest.len().saturating_sub(frame::FRAME_HEADER_LEN - 1)).find_map(|at| {
        let tail = &rest[at..];
        if !tail.starts_with(&frame::FRAME_MAGIC) {
            return None;
        }
        let first = frame::parse(tail).ok().filter(|v| v.first_seq >= end_seq)?.first_seq;
        let (_, end, _) = walk(tail, first);
        Some(Intact { offset: (valid + at) as u64, first_seq: first, end_seq: end })
    });
    TailScan { end_seq, bad: Some(bad), intact }
}

/// The frames at the start of `buf` that are valid and continue at `seq`: their length, the seq
/// after them, and why the next bytes are not one (`None` at the end of `buf`).
fn walk(buf: &[u8], mut seq: u64) -> (usize, u64, Option<String>) {
    let mut at = 0;
    while at < buf.len() {
        match frame::parse(&buf[at..]) {
            Ok(v) if v.first_seq == seq => {
                seq += u64::from(v.count);
                at += v.frame_len;
            }
            Ok(v) => {
                return (
                    at,
                    seq,
                    Some(format!("a frame with seq {} where {seq} was expected", v.first_seq)),
                )
            }
            Err(e) => return (at, seq, Some(e.to_string())),
        }
    }
    (at, seq, None)
}

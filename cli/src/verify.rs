//! `redex verify DIR [CHANNEL]`: checks every checksum of every frozen segment (index body,
//! records, frames, payloads and timestamps, header, footer and manifest record), with a
//! progress bar on a terminal, and prints each problem with its file and byte offset.
//!
//! Segments archived to a cold store are fetched whole from it and checked the same way when
//! the command line names the store (`--cold-dir`, `--cold-s3`; a problem then names the
//! object); each channel's line says how many of its checked segments were archived. Without a
//! store they are not checked, and each channel's line and the final line say how many were
//! left out, so "ok" never covers them silently.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use redex::{ChannelName, RedexFile, Tier};

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
        for s in file.segments().iter().filter(|s| s.tier == Tier::Hot) {
            let Some(path) = &s.log_path else { continue };
            let on_disk = std::fs::metadata(path).map(|m| m.len()).unwrap_or(s.log_bytes);
            if on_disk > s.log_bytes {
                lines.push(format!(
                    "note: channel {name}: {}: {} bytes after the last valid frame (at byte {}): \
                     a torn write that the writer trims when it reopens, or appends made after \
                     this check opened the log",
                    path.display(),
                    on_disk - s.log_bytes,
                    s.log_bytes
                ));
            }
        }
        let status = if report.problems.is_empty() { "ok" } else { "DAMAGED" };
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
            report.problems.len(),
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

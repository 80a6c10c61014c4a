//! `redex inspect DIR [CHANNEL]`: the channels of a directory and, per channel, its segments
//! per tier with seq ranges, time ranges and sizes, the retained head and the next seq; with a
//! cold store, which one.

use std::fmt::Write as _;
use std::path::Path;

use redex::{SegmentInfo, Tier};
use redex_tiers::cold::object::OBJECT_VERSION;
use redex_tiers::index_file::INDEX_VERSION;
use redex_tiers::log_file::LOG_VERSION;
use redex_tiers::manifest::{MANIFEST_VERSION, MANIFEST_VERSION_MIN};

use crate::cold::Cold;
use crate::error::CliResult;
use crate::open::ReadOnlyDir;
use crate::output::Out;
use crate::time::format_rfc3339;

/// Runs `inspect`.
pub fn run(dir: &Path, channel: Option<&str>, cold: Option<&Cold>, out: &mut Out) -> CliResult {
    let d = ReadOnlyDir::open(dir, cold)?;
    let all = d.channels()?;
    let selected = d.select(channel)?;
    let names: Vec<&str> = all.iter().map(|c| c.as_str()).collect();
    out.line(format!("directory  {}", d.dir))?;
    out.line(format!(
        "formats    log v{LOG_VERSION}, index v{INDEX_VERSION}, manifest \
         v{MANIFEST_VERSION_MIN}-{MANIFEST_VERSION}, cold object v{OBJECT_VERSION} (the versions \
         this build reads)"
    ))?;
    if let Some(cold) = cold {
        out.line(format!("cold store {}", cold.description))?;
    }
    out.line(format!("channels   {}: {}", all.len(), names.join(", ")))?;
    for name in &selected {
        let file = d.file(name)?;
        let segments = file.segments();
        out.line(String::new())?;
        out.line(format!("channel {name}"))?;
        if let Some(dir) = d.redex.dir().map(|base| name.segment_dir(base)) {
            out.line(format!("  path        {}", dir.display()))?;
        }
        let (head, next) = (file.head_seq(), file.next_seq());
        out.line(format!(
            "  entries     {} retained: head seq {head}, next seq {next}",
            next.saturating_sub(head)
        ))?;
        let count = |t: Tier| segments.iter().filter(|s| s.tier == t).count();
        let log_bytes: u64 = segments.iter().map(|s| s.log_bytes).sum();
        out.line(format!(
            "  size        {} payload bytes, {log_bytes} log bytes, in {} segments \
             ({} cold, {} warm, {} hot)",
            file.retained_bytes(),
            segments.len(),
            count(Tier::Cold),
            count(Tier::Warm),
            count(Tier::Hot)
        ))?;
        let first_ts = segments.iter().find_map(|s| s.min_ts_ns);
        let last_ts = segments.iter().rev().find_map(|s| s.max_ts_ns);
        out.line(format!("  time        {} .. {}", ts(first_ts), ts(last_ts)))?;
        out.line("  segments".to_string())?;
        for line in segment_table(&segments) {
            out.line(format!("    {line}"))?;
        }
    }
    Ok(())
}

fn ts(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), format_rfc3339)
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Hot => "hot",
        Tier::Warm => "warm",
        Tier::Cold => "cold",
    }
}

/// One row per segment, columns aligned.
fn segment_table(segments: &[SegmentInfo]) -> Vec<String> {
    let header = [
        "tier",
        "first_seq",
        "next_seq",
        "entries",
        "log_bytes",
        "payload_bytes",
        "first_ts",
        "last_ts",
        "file",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in segments {
        let file = s
            .log_path
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "-".to_string(), |f| f.to_string_lossy().into_owned());
        rows.push(vec![
            tier_name(s.tier).to_string(),
            s.first_seq.to_string(),
            s.next_seq.to_string(),
            (s.next_seq - s.first_seq).to_string(),
            s.log_bytes.to_string(),
            s.payload_bytes.to_string(),
            ts(s.min_ts_ns),
            ts(s.max_ts_ns),
            file,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, String::len)).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (c, (cell, w)) in r.iter().zip(&widths).enumerate() {
                // Text columns left-aligned, numbers right-aligned.
                let _ = match c {
                    0 | 6 | 7 | 8 => write!(line, "{cell:<w$}  "),
                    _ => write!(line, "{cell:>w$}  "),
                };
            }
            line.trim_end().to_string()
        })
        .collect()
}

//! [`Redex::prometheus_text`]: every open file's stats in the Prometheus text exposition
//! format (version 0.0.4), one series per channel.
//!
//! | metric | type | meaning |
//! |--------|------|---------|
//! | `redex_appends_total` | counter | append calls |
//! | `redex_appended_events_total` | counter | entries appended |
//! | `redex_appended_bytes_total` | counter | payload bytes appended |
//! | `redex_durable_appends_total` | counter | durable append calls |
//! | `redex_fsync_duration_seconds` | histogram | fsyncs of the channel's logs |
//! | `redex_next_seq` | gauge | seq the next append gets |
//! | `redex_head_seq` | gauge | lowest retained seq |
//! | `redex_retained_bytes` | gauge | payload bytes retained |
//! | `redex_segments` | gauge | segments, by `tier` (`hot`, `warm`, `cold`) |
//! | `redex_segment_events` | gauge | entries, by `tier` |
//! | `redex_segment_payload_bytes` | gauge | payload bytes, by `tier` |
//! | `redex_warm_open_segments` | gauge | warm segments mapped now (bounded by `open_segments_max`) |
//! | `redex_warm_segment_closes_total` | counter | warm segments closed to stay within that bound |
//! | `redex_warm_segment_reopens_total` | counter | closed warm segments mapped again by a read |
//! | `redex_tail_subscribers` | gauge | live tail streams |
//! | `redex_tail_lag_events` | gauge | events the slowest tail has not received |
//! | `redex_backend_info` | gauge | 1, labelled with the live append `backend` |
//! | `redex_cold_archived_segments_total` | counter | segments archived to the cold store |
//! | `redex_cold_archive_failures_total` | counter | failed archive attempts (retried) |
//! | `redex_cold_pending_segments` | gauge | segments waiting to be archived |
//! | `redex_cold_fetches_total` | counter | ranged fetches from the cold store |
//! | `redex_cold_fetched_bytes_total` | counter | bytes fetched from the cold store |
//! | `redex_cold_cache_hits_total` | counter | cold reads served by the fetch cache |
//! | `redex_cold_cache_misses_total` | counter | cold reads that fetched |
//! | `redex_cold_cache_bytes` | gauge | bytes held by the fetch cache |
//!
//! The `redex_cold_*` series exist for channels with a cold store.

use std::fmt::Write;

use crate::manager::Redex;
use crate::stats::{FileStats, FSYNC_BUCKET_BOUNDS_US};

impl Redex {
    /// The stats of every open file in the Prometheus text exposition format.
    ///
    /// ```
    /// # fn main() -> Result<(), redex::RedexError> {
    /// let redex = redex::Redex::new();
    /// let log = redex.open_file(&redex::ChannelName::new("m")?, Default::default())?;
    /// log.append(b"x")?;
    /// assert!(redex.prometheus_text().contains("redex_appends_total{channel=\"m\"} 1"));
    /// # Ok(()) }
    /// ```
    pub fn prometheus_text(&self) -> String {
        render(&self.stats())
    }
}

/// A per-file series: name, help text, kind, and how to read it from the stats (`None`: the
/// file has no such series, as the `redex_cold_*` ones without a cold store).
type FileMetric = (&'static str, &'static str, &'static str, fn(&FileStats) -> Option<u64>);
/// A per-tier series.
type TierMetric = (&'static str, &'static str, fn(&crate::TierStats) -> u64);

const COUNTER: &str = "counter";
const GAUGE: &str = "gauge";

/// A cold-tier counter of `f`, if it has a cold store.
fn cold(f: &FileStats, get: fn(&crate::ColdStats) -> u64) -> Option<u64> {
    f.cold_tier.as_ref().map(get)
}

/// Renders `files` in the text exposition format.
pub fn render(files: &[FileStats]) -> String {
    let mut out = String::new();
    let per_file: [FileMetric; 20] = [
        ("redex_appends_total", "Append calls.", COUNTER, |f| Some(f.appends)),
        ("redex_appended_events_total", "Entries appended.", COUNTER, |f| Some(f.appended_events)),
        ("redex_appended_bytes_total", "Payload bytes appended.", COUNTER, |f| {
            Some(f.appended_bytes)
        }),
        ("redex_durable_appends_total", "Durable append calls.", COUNTER, |f| {
            Some(f.durable_appends)
        }),
        ("redex_next_seq", "Seq the next append gets.", GAUGE, |f| Some(f.next_seq)),
        ("redex_head_seq", "Lowest retained seq.", GAUGE, |f| Some(f.head_seq)),
        ("redex_retained_bytes", "Payload bytes retained.", GAUGE, |f| Some(f.retained_bytes)),
        ("redex_warm_open_segments", "Warm segments mapped now.", GAUGE, |f| {
            Some(f.warm_open_segments)
        }),
        ("redex_warm_segment_closes_total", "Warm segments closed by the bound.", COUNTER, |f| {
            Some(f.warm_segment_closes)
        }),
        ("redex_warm_segment_reopens_total", "Closed warm segments mapped again.", COUNTER, |f| {
            Some(f.warm_segment_reopens)
        }),
        ("redex_tail_subscribers", "Live tail streams.", GAUGE, |f| Some(f.tail_subscribers)),
        ("redex_tail_lag_events", "Events the slowest tail has not received.", GAUGE, |f| {
            Some(f.tail_lag_events)
        }),
        ("redex_cold_archived_segments_total", "Segments archived.", COUNTER, |f| {
            cold(f, |c| c.archived_segments)
        }),
        ("redex_cold_archive_failures_total", "Failed archive attempts.", COUNTER, |f| {
            cold(f, |c| c.archive_failures)
        }),
        ("redex_cold_pending_segments", "Segments waiting to be archived.", GAUGE, |f| {
            cold(f, |c| c.pending_segments)
        }),
        ("redex_cold_fetches_total", "Ranged fetches from the cold store.", COUNTER, |f| {
            cold(f, |c| c.fetches)
        }),
        ("redex_cold_fetched_bytes_total", "Bytes fetched from the cold store.", COUNTER, |f| {
            cold(f, |c| c.fetched_bytes)
        }),
        ("redex_cold_cache_hits_total", "Cold reads served by the cache.", COUNTER, |f| {
            cold(f, |c| c.cache_hits)
        }),
        ("redex_cold_cache_misses_total", "Cold reads that fetched.", COUNTER, |f| {
            cold(f, |c| c.cache_misses)
        }),
        ("redex_cold_cache_bytes", "Bytes held by the fetch cache.", GAUGE, |f| {
            cold(f, |c| c.cache_bytes)
        }),
    ];
    for (name, help, kind, value) in per_file {
        header(&mut out, name, help, kind);
        for f in files {
            if let Some(v) = value(f) {
                let _ = writeln!(out, "{name}{{channel=\"{}\"}} {v}", escape(&f.channel));
            }
        }
    }
    let tiers: [TierMetric; 3] = [
        ("redex_segments", "Segments per tier.", |t| t.segments),
        ("redex_segment_events", "Entries per tier.", |t| t.events),
        ("redex_segment_payload_bytes", "Payload bytes per tier.", |t| t.payload_bytes),
    ];
    for (name, help, value) in tiers {
        header(&mut out, name, help, GAUGE);
        for f in files {
            let ch = escape(&f.channel);
            for (tier, stats) in [("hot", &f.hot), ("warm", &f.warm), ("cold", &f.cold)] {
                let _ =
                    writeln!(out, "{name}{{channel=\"{ch}\",tier=\"{tier}\"}} {}", value(stats));
            }
        }
    }
    header(&mut out, "redex_backend_info", "The live append backend.", "gauge");
    for f in files {
        let backend = f.backend.map_or_else(|| "heap".to_string(), |b| b.to_string());
        let _ = writeln!(
            out,
            "redex_backend_info{{channel=\"{}\",backend=\"{backend}\"}} 1",
            escape(&f.channel)
        );
    }
    let name = "redex_fsync_duration_seconds";
    header(&mut out, name, "Fsyncs of the channel's logs.", "histogram");
    for f in files {
        let ch = escape(&f.channel);
        let mut cumulative = 0;
        for (i, bound_us) in FSYNC_BUCKET_BOUNDS_US.iter().enumerate() {
            cumulative += f.fsyncs.buckets.get(i).copied().unwrap_or(0);
            let le = *bound_us as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{channel=\"{ch}\",le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{channel=\"{ch}\",le=\"+Inf\"}} {}", f.fsyncs.count);
        let _ = writeln!(out, "{name}_sum{{channel=\"{ch}\"}} {}", f.fsyncs.sum_ns as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{{channel=\"{ch}\"}} {}", f.fsyncs.count);
    }
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value (channel names are already restricted to safe characters; this keeps
/// the output valid whatever they become).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

//! `tiers`: a log whose history has rolled into frozen (warm, mmap) segments: how fast it
//! reopens, how fast its warm history reads, and how much anonymous memory it holds.
//!
//! Each system fills a persistent log with `--events` payloads of `--payload` bytes in 4 MiB
//! segments (untimed), closes it, then reopens it (`tiers_reopen_*`, one sample per open) and
//! reads it all back in calls of 1024 (`tiers_warm_read_*`, read against memcpy), then again
//! lent out by reference where the system can (`tiers_warm_read_batch_*`: our `read_batch`,
//! no owned event per entry; a system that cannot gives no such row). The
//! `rss_anon_bytes_per_event` extra is the growth of `RssAnon` from before the fill to after the
//! reopen and a full read, over the events. This is the scale scenario too: with
//! `--events 1000000000 --payload 8 --full` it is the billion-event run of docs/BENCHMARKS.md
//! (the disk must hold about 40 bytes per event). Systems without a warm tier say so.

use std::time::Instant;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::Recorder;
use crate::harness::options::size_label;
use crate::harness::rss::rss_anon_bytes;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::Result;

use super::{channel, prefill, record_scan};

/// Segment size of the scenario's logs, small enough that history rolls into frozen segments.
pub const SEGMENT_BYTES: u64 = 4 << 20;
/// Reopens timed per case.
const REOPENS: u32 = 3;

/// The tiers scenario.
#[derive(Debug, Clone, Copy)]
pub struct Tiers;

impl Scenario for Tiers {
    fn name(&self) -> &'static str {
        "tiers"
    }

    fn summary(&self) -> &'static str {
        "reopen time, warm read throughput and RssAnon of a log rolled into frozen segments"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let payload = o.small_payload();
        let events = o.events;
        let mut spec = LogSpec::disk(o.fsync);
        spec.segment_bytes = Some(SEGMENT_BYTES);
        let p = size_label(payload);
        let reopen_case = format!("tiers_reopen_{events}ev_{p}");
        let read_case = format!("tiers_warm_read_{p}_chunked1024");
        let batch_case = format!("tiers_warm_read_batch_{p}_chunked1024");
        let mut needs = spec_needs(&spec);
        needs.extend([
            Capability::AppendBatch,
            Capability::Reopen,
            Capability::ReadChunked,
            Capability::FrozenSegments,
        ]);
        let cases = [reopen_case.clone(), read_case.clone(), batch_case.clone()];
        ctx.each_system(&cases, &needs, |system, stage| {
            let name = channel("tiers", "log");
            let rss_before = rss_anon_bytes();
            let mut log = system.open(&spec, &name, Some(stage.dir))?;
            prefill(log.as_mut(), events, payload, &stage.bar(events, "fill"))?;
            log.close()?;
            let mut reopen = Recorder::new("open")?;
            for _ in 0..REOPENS {
                let start = Instant::now();
                let log = system.open(&spec, &name, Some(stage.dir))?;
                reopen.record(start.elapsed(), events, events * payload as u64);
                if log.retained_events() != events {
                    return Err(
                        format!("reopened log holds {} events", log.retained_events()).into()
                    );
                }
                log.close()?;
            }
            log = system.open(&spec, &name, Some(stage.dir))?;
            let mut read = Recorder::new("read_range(1024)")?;
            let seen = record_scan(&mut read, |on_chunk| log.scan(Some(1024), on_chunk))?;
            let rss_after = rss_anon_bytes();
            if seen != events {
                return Err(format!("warm read returned {seen} of {events} events").into());
            }
            let batch_row = match system.supports(Capability::ReadBorrowed) {
                Ok(()) => {
                    let mut lent = Recorder::new("read_batch(1024)")?;
                    let seen =
                        record_scan(&mut lent, |on_chunk| log.scan_borrowed(1024, on_chunk))?;
                    if seen != events {
                        return Err(format!(
                            "borrowed warm read returned {seen} of {events} events"
                        )
                        .into());
                    }
                    Some(CaseResult::new(batch_case.clone(), lent.finish(), LimitUse::Memcpy))
                }
                Err(_) => None,
            };
            log.close()?;
            let mut reopen_m = reopen.finish();
            if let Some(lat) = reopen_m.latency {
                let secs = (lat.p50_us / 1e6).max(1e-9);
                reopen_m.events_per_s = events as f64 / secs;
                reopen_m.payload_bytes_per_s = (events * payload as u64) as f64 / secs;
            }
            let mut read_row = CaseResult::new(read_case.clone(), read.finish(), LimitUse::Memcpy);
            if let (Some(b), Some(a)) = (rss_before, rss_after) {
                read_row = read_row.with_extra(
                    "rss_anon_bytes_per_event",
                    a.saturating_sub(b) as f64 / events.max(1) as f64,
                );
            }
            let mut rows = vec![
                CaseResult::new(reopen_case.clone(), reopen_m, LimitUse::None)
                    .with_note(format!("{REOPENS} reopens; events/s = events / p50 open time")),
                read_row,
            ];
            rows.extend(batch_row);
            Ok(rows)
        })
    }
}

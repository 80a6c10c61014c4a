//! `read`: read throughput of a filled log, whole and in chunks, heap-only and persistent.
//!
//! Each system gets a log of `--events` payloads of `--payload` bytes (default 64 B), appended
//! untimed in batches; a persistent one is closed and reopened first, so reads see what a
//! restarted process sees. Then it is read back from its head to its end, in one call
//! (`*_whole`) and in calls of 1024 events (`*_chunked1024`), repeatedly until half the time
//! budget is spent (at least once, at most [`SCANS_MAX`] times). The latency sample is one call.
//! Payload bytes/s are read against memcpy.
//!
//! `rss_anon_bytes_per_event` (on the `*_whole` rows) is the growth of `RssAnon` from before the
//! log was opened to after it was filled (and reopened), over its events: the memory a retained
//! event costs.

use std::time::{Duration, Instant};

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::Recorder;
use crate::harness::options::size_label;
use crate::harness::rss::rss_anon_bytes;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, Log, LogSpec};
use crate::harness::Result;

use super::{channel, prefill, record_scan};

/// Most full scans per case.
pub const SCANS_MAX: u32 = 50;

/// Events per call in the chunked cases.
pub const CHUNK_EVENTS: u64 = crate::workload::READ_CHUNK_EVENTS;

/// The read scenario.
#[derive(Debug, Clone, Copy)]
pub struct Read;

/// Scans `log` repeatedly (whole or in chunks) within `time_max`, timing each read call.
fn scan_repeatedly(log: &mut dyn Log, chunk: Option<u64>, time_max: Duration) -> Result<Recorder> {
    let mut recorder =
        Recorder::new(if chunk.is_some() { "read_range(1024)" } else { "read_range(all)" })?;
    let deadline = Instant::now() + time_max;
    for _ in 0..SCANS_MAX {
        record_scan(&mut recorder, |on_chunk| log.scan(chunk, on_chunk))?;
        if Instant::now() >= deadline {
            break;
        }
    }
    Ok(recorder)
}

impl Scenario for Read {
    fn name(&self) -> &'static str {
        "read"
    }

    fn summary(&self) -> &'static str {
        "read_range throughput of a filled log, whole and in chunks of 1024, heap and persistent"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let payload = o.small_payload();
        let events = o.events;
        let time_max = o.run_budget / 2;
        for (tier, spec) in [("heap", LogSpec::heap()), ("disk", LogSpec::disk(o.fsync))] {
            let p = size_label(payload);
            let whole = format!("{tier}_read_{p}_whole");
            let chunked = format!("{tier}_read_{p}_chunked{CHUNK_EVENTS}");
            let mut needs = spec_needs(&spec);
            needs.extend([Capability::AppendBatch, Capability::ReadWhole, Capability::ReadChunked]);
            if spec.persistent {
                needs.push(Capability::Reopen);
            }
            let cases = [whole.clone(), chunked.clone()];
            ctx.each_system(&cases, &needs, |system, stage| {
                let dir = spec.persistent.then_some(stage.dir);
                let name = channel("read", tier);
                let rss_before = rss_anon_bytes();
                let mut log = system.open(&spec, &name, dir)?;
                prefill(
                    log.as_mut(),
                    events,
                    payload,
                    &stage.bar(events, &format!("{tier} fill")),
                )?;
                if spec.persistent {
                    log.close()?;
                    log = system.open(&spec, &name, dir)?;
                }
                let rss_after = rss_anon_bytes();
                let retained = log.retained_events();
                if retained != events {
                    return Err(
                        format!("log holds {retained} events, {events} were appended").into()
                    );
                }
                let mut out = Vec::new();
                for (case, chunk) in [(&whole, None), (&chunked, Some(CHUNK_EVENTS))] {
                    let m = scan_repeatedly(log.as_mut(), chunk, time_max)?.finish();
                    if !m.events.is_multiple_of(events) {
                        return Err(format!(
                            "{case}: read {} events, not a multiple of {events}",
                            m.events
                        )
                        .into());
                    }
                    let mut r = CaseResult::new(case.clone(), m, LimitUse::Memcpy);
                    if chunk.is_none() {
                        if let (Some(before), Some(after)) = (rss_before, rss_after) {
                            let per_event =
                                after.saturating_sub(before) as f64 / events.max(1) as f64;
                            r = r.with_extra("rss_anon_bytes_per_event", per_event);
                        }
                    }
                    out.push(r);
                }
                log.close()?;
                Ok(out)
            })?;
        }
        Ok(())
    }
}

//! `reopen`: how long a persistent log of `--events` events takes to open again.
//!
//! Each system fills a log with `--events` payloads of `--payload` bytes (default 64 B), closes
//! it, then opens and closes it again `reopen_repetitions` times. One latency sample is one
//! open (the system's open call, until it returns a usable log); throughput is the events
//! recovered per second of the median open. `rss_anon_bytes_per_event` is the growth of
//! `RssAnon` across the first reopen, over the log's events.

use std::time::Instant;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::Recorder;
use crate::harness::rss::rss_anon_bytes;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::Result;

use super::{channel, prefill};

/// The reopen scenario.
#[derive(Debug, Clone, Copy)]
pub struct Reopen;

impl Scenario for Reopen {
    fn name(&self) -> &'static str {
        "reopen"
    }

    fn summary(&self) -> &'static str {
        "time to reopen a persistent log holding --events events"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let events = o.events;
        let payload = o.small_payload();
        let repetitions = o.reopen_repetitions.max(1);
        let spec = LogSpec::disk(o.fsync);
        let case = format!("reopen_{events}ev");
        let mut needs = spec_needs(&spec);
        needs.extend([Capability::AppendBatch, Capability::Reopen]);
        ctx.each_system(std::slice::from_ref(&case), &needs, |system, stage| {
            let name = channel("reopen", "log");
            let mut log = system.open(&spec, &name, Some(stage.dir))?;
            prefill(log.as_mut(), events, payload, &stage.bar(events, "fill"))?;
            log.close()?;
            let mut recorder = Recorder::new("open")?;
            let mut rss_per_event = None;
            for rep in 0..repetitions {
                let before = rss_anon_bytes();
                let start = Instant::now();
                let log = system.open(&spec, &name, Some(stage.dir))?;
                let took = start.elapsed();
                let after = rss_anon_bytes();
                let retained = log.retained_events();
                if retained != events {
                    return Err(
                        format!("reopened log holds {retained} events, not {events}").into()
                    );
                }
                log.close()?;
                recorder.record(took, events, events * payload as u64);
                if rep == 0 {
                    if let (Some(b), Some(a)) = (before, after) {
                        rss_per_event = Some(a.saturating_sub(b) as f64 / events.max(1) as f64);
                    }
                }
            }
            let mut m = recorder.finish();
            // Throughput of the median open, not the mean, so one slow cold open does not rule.
            if let Some(lat) = m.latency {
                let secs = (lat.p50_us / 1e6).max(1e-9);
                m.events_per_s = events as f64 / secs;
                m.payload_bytes_per_s = (events * payload as u64) as f64 / secs;
            }
            let mut r = CaseResult::new(case.clone(), m, LimitUse::None)
                .with_note(format!("{repetitions} reopens; events/s = events / p50 open time"));
            if let Some(v) = rss_per_event {
                r = r.with_extra("rss_anon_bytes_per_event", v);
            }
            Ok(vec![r])
        })
    }
}

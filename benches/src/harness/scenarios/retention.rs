//! `retention`: appending past a count limit, so the log evicts as it goes.
//!
//! Each system appends `--events` payloads of `--payload` bytes (default 64 B) in batches of
//! `--batch` to a log keeping only its newest `--events / 8` (at least 1000) events, in 1 MiB
//! segments, heap-only and persistent. Throughput is read against memcpy (heap) or sequential
//! write (persistent). The extras report what is retained at the end and `RssAnon` per
//! retained event, which must stay bounded however many events went through.

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::timed_loop;
use crate::harness::options::size_label;
use crate::harness::rss::rss_anon_bytes;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::Result;

use super::append::write_limit;
use super::{batch_bytes, channel};

/// Segment size of the retention logs, small so that eviction happens often.
pub const SEGMENT_BYTES: u64 = 1 << 20;

/// Fewest events a retention log keeps.
pub const RETAINED_MIN: u64 = 1000;

/// The retention scenario.
#[derive(Debug, Clone, Copy)]
pub struct RetentionScenario;

impl Scenario for RetentionScenario {
    fn name(&self) -> &'static str {
        "retention"
    }

    fn summary(&self) -> &'static str {
        "append throughput past a count-retention limit, and what stays retained"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let payload = o.small_payload();
        let b = o.batch_len.max(1);
        let keep = (o.events / 8).max(RETAINED_MIN);
        let budget = ctx.budget();
        for (tier, base) in [("heap", LogSpec::heap()), ("disk", LogSpec::disk(o.fsync))] {
            let spec = base.with_retention(keep, SEGMENT_BYTES);
            let case = format!("{tier}_keep{keep}_batch{b}_{}", size_label(payload));
            let mut needs = spec_needs(&spec);
            needs.push(Capability::AppendBatch);
            let limit = if spec.persistent { write_limit(&spec) } else { LimitUse::Memcpy };
            ctx.each_system(std::slice::from_ref(&case), &needs, |system, stage| {
                let dir = spec.persistent.then_some(stage.dir);
                let rss_before = rss_anon_bytes();
                let mut log = system.open(&spec, &channel("retention", tier), dir)?;
                let bar = stage.bar(budget.events_max, &case);
                let batch = batch_bytes(b, payload);
                let bytes = (b * payload) as u64;
                let m = timed_loop("append_batch", budget, &bar, |_| {
                    log.append_batch(&batch)?;
                    Ok((b as u64, bytes))
                })?;
                bar.finish_and_clear();
                let retained = log.retained_events();
                let rss_after = rss_anon_bytes();
                log.close()?;
                let mut r = CaseResult::new(case.clone(), m, limit)
                    .with_extra("retained_events", retained as f64)
                    .with_extra("retention_limit_events", keep as f64);
                if let (Some(before), Some(after)) = (rss_before, rss_after) {
                    let per = after.saturating_sub(before) as f64 / retained.max(1) as f64;
                    r = r.with_extra("rss_anon_bytes_per_retained_event", per);
                }
                if m.events > keep && retained >= m.events {
                    r = r.with_note(format!("nothing was evicted: {retained} retained"));
                }
                Ok(vec![r])
            })?;
        }
        Ok(())
    }
}

//! `append`: append throughput and per-call latency.
//!
//! Cases (`B` = `--batch`, `P` = `--payload`, default 64 B and 1 KiB for batches):
//!
//! - `heap_single_{P}`: heap-only single `append` (the CortEX ingest path); read against memcpy.
//! - `heap_batch{B}_{P}`: heap-only `append_batch` of B payloads; read against memcpy.
//! - `disk_single_{P}`: persistent single `append`; read against sequential write.
//! - `disk_batch{B}_{P}`: persistent `append_batch` of B payloads; read against sequential write.
//!
//! Each (case, system) appends to a fresh log until `--events` or the time budget is reached;
//! only the append calls are timed, and the latency sample is one call (one batch).

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::timed_loop;
use crate::harness::options::size_label;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::Result;
use crate::workload;

use super::{batch_bytes, channel};

/// The append scenario.
#[derive(Debug, Clone, Copy)]
pub struct Append;

/// The limit persistent appends under `spec` are read against.
pub fn write_limit(spec: &LogSpec) -> LimitUse {
    if spec.fsync.fsyncs() {
        LimitUse::WriteDurable
    } else {
        LimitUse::WriteBuffered
    }
}

enum Shape {
    Single(usize),
    Batch(usize, usize),
}

impl Scenario for Append {
    fn name(&self) -> &'static str {
        "append"
    }

    fn summary(&self) -> &'static str {
        "append and append_batch throughput and per-call latency, heap and persistent"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let b = o.batch_len.max(1);
        let mut cases = vec![
            (
                format!("heap_single_{}", size_label(o.small_payload())),
                LogSpec::heap(),
                Shape::Single(o.small_payload()),
            ),
            (
                format!("heap_batch{b}_{}", size_label(o.small_payload())),
                LogSpec::heap(),
                Shape::Batch(b, o.small_payload()),
            ),
        ];
        cases.push((
            format!("disk_single_{}", size_label(o.small_payload())),
            LogSpec::disk(o.fsync),
            Shape::Single(o.small_payload()),
        ));
        for p in o.batch_payloads() {
            cases.push((
                format!("disk_batch{b}_{}", size_label(p)),
                LogSpec::disk(o.fsync),
                Shape::Batch(b, p),
            ));
        }
        for (case, spec, shape) in cases {
            let mut needs = spec_needs(&spec);
            needs.push(match shape {
                Shape::Single(_) => Capability::Append,
                Shape::Batch(..) => Capability::AppendBatch,
            });
            let limit = if spec.persistent { write_limit(&spec) } else { LimitUse::Memcpy };
            let budget = ctx.budget();
            ctx.each_system(std::slice::from_ref(&case), &needs, |system, stage| {
                let dir = spec.persistent.then_some(stage.dir);
                let mut log = system.open(&spec, &channel("append", &case), dir)?;
                let bar = stage.bar(budget.events_max, &case);
                let measurement = match shape {
                    Shape::Single(len) => {
                        let payload = workload::payload(len, 1);
                        timed_loop("append", budget, &bar, |_| {
                            log.append(&payload)?;
                            Ok((1, len as u64))
                        })?
                    }
                    Shape::Batch(count, len) => {
                        let batch = batch_bytes(count, len);
                        let bytes = (count * len) as u64;
                        timed_loop("append_batch", budget, &bar, |_| {
                            log.append_batch(&batch)?;
                            Ok((count as u64, bytes))
                        })?
                    }
                };
                bar.finish_and_clear();
                let appended = log.next_seq();
                log.close()?;
                if appended < measurement.events {
                    return Err(format!(
                        "log holds {appended} events after {} appends",
                        measurement.events
                    )
                    .into());
                }
                Ok(vec![CaseResult::new(case.clone(), measurement, limit)])
            })?;
        }
        Ok(())
    }
}

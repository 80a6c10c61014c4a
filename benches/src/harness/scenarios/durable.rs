//! `durable`: the latency and rate of making appends durable.
//!
//! Cases (P = `--payload`, default 64 B; B = `--batch`):
//!
//! - `durable_single_{P}` / `durable_batch{B}_{P}`: `append` (or `append_batch`) followed by
//!   `sync()`, one latency sample per pair, on every system.
//! - `durable_append_{N}t_{P}` for N = 1, 4, 16 appender threads on one log: our engine's
//!   `append_durable` (returns once the payload is fsynced; concurrent callers share fsyncs,
//!   group commit). The peers have no durable append, so each of their threads runs the closest
//!   equivalent, `append` then `sync()`, on one shared handle (the note and the `op` column say
//!   which). Throughput is all threads' events over the wall time; latency is per call.
//!
//! The log's own fsync policy is `never`, so every fsync is asked for. The p50 is read against
//! the machine's `write` + `fdatasync` p50: 1.0 means at the floor.

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::{concurrent_loop, timed_loop};
use crate::harness::options::{size_label, FsyncArg};
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::Result;
use crate::workload;

use super::{batch_bytes, channel};

/// The durable scenario.
#[derive(Debug, Clone, Copy)]
pub struct Durable;

impl Scenario for Durable {
    fn name(&self) -> &'static str {
        "durable"
    }

    fn summary(&self) -> &'static str {
        "latency of append + sync() (and append_batch + sync()) on a persistent log"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let payload = o.small_payload();
        let b = o.batch_len.max(1);
        let spec = LogSpec::disk(FsyncArg::Never);
        let budget = ctx.budget();
        for count in [1usize, b] {
            let case = if count == 1 {
                format!("durable_single_{}", size_label(payload))
            } else {
                format!("durable_batch{count}_{}", size_label(payload))
            };
            let mut needs = spec_needs(&spec);
            needs.extend([
                Capability::Sync,
                if count == 1 { Capability::Append } else { Capability::AppendBatch },
            ]);
            ctx.each_system(std::slice::from_ref(&case), &needs, |system, stage| {
                let mut log = system.open(&spec, &channel("durable", &case), Some(stage.dir))?;
                let bar = stage.bar(budget.events_max, &case);
                let single = workload::payload(payload, 1);
                let batch = batch_bytes(count, payload);
                let bytes = (count * payload) as u64;
                let op = if count == 1 { "append+sync" } else { "append_batch+sync" };
                let m = timed_loop(op, budget, &bar, |_| {
                    if count == 1 {
                        log.append(&single)?;
                    } else {
                        log.append_batch(&batch)?;
                    }
                    log.sync()?;
                    Ok((count as u64, bytes))
                })?;
                bar.finish_and_clear();
                log.close()?;
                Ok(vec![CaseResult::new(case.clone(), m, LimitUse::FsyncLatency)])
            })?;
        }
        for threads in APPENDER_THREADS {
            let case = format!("durable_append_{threads}t_{}", size_label(payload));
            let mut needs = spec_needs(&spec);
            needs.push(Capability::SharedAppend);
            ctx.each_system(std::slice::from_ref(&case), &needs, |system, stage| {
                let log = system.open(&spec, &channel("durable", &case), Some(stage.dir))?;
                let shared = log.shared()?;
                let op = shared.durable_op();
                let bar = stage.bar(budget.events_max, &case);
                let payloads: Vec<Vec<u8>> =
                    (0..threads).map(|t| workload::payload(payload, t as u64 + 1)).collect();
                let outcome = concurrent_loop(op, threads, budget, &bar, |t| {
                    shared.append_durable(payloads.get(t).ok_or("no payload for thread")?)?;
                    Ok((1, payload as u64))
                });
                bar.finish_and_clear();
                drop(shared);
                let closed = log.close();
                let m = outcome?;
                closed?;
                let note = format!("{threads} thread(s) x {op}");
                Ok(vec![CaseResult::new(case.clone(), m, LimitUse::FsyncLatency).with_note(note)])
            })?;
        }
        Ok(())
    }
}

/// Concurrent durable appenders of the `durable_append_*` cases.
pub const APPENDER_THREADS: [usize; 3] = [1, 4, 16];

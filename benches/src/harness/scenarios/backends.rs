//! `backends`: our engine's two append paths side by side, io_uring against the portable
//! `pwrite` + `fdatasync` path, on the same workload in the same run.
//!
//! Cases `batch{B}_{P}_{mode}`, each run once per backend (rows `redex:std` and
//! `redex:io_uring`, the first of the two alternating from case to case): `append_batch` of B
//! payloads of P bytes per call, either plain (`never`: the log's fsync policy is `never`,
//! nothing is fsynced while timing) or `durable` (`append_batch_durable`: each call returns once
//! its batch is fsynced; on io_uring the write and a linked `fdatasync` go in one submission).
//! B = 1 is a one-payload batch.
//!
//! | profile   | B               | P                    | per (case, backend)             |
//! |-----------|-----------------|----------------------|---------------------------------|
//! | `--quick` | 1, 64           | 64 B, 1 KiB          | at most 0.5 s and 64 MiB        |
//! | `--full`  | 1, 16, 64, 256  | 64 B, 1 KiB, 16 KiB  | at most 3 s and 512 MiB         |
//!
//! `--payload` narrows P to one size, `--events` caps each run, and `--backend io_uring|std`
//! runs one backend only (`auto` and `both` run both). Plain cases are read against the
//! machine's sequential write bandwidth into the page cache, durable ones against the same
//! with `fdatasync` (one-payload durable cases against the `write` + `fdatasync` p50). Extras:
//! `p50/fsync`, a durable case's p50 over the machine's `write` + `fdatasync` p50, and
//! `io_uring/std`, io_uring's events/s over the portable path's in the same case (> 1: io_uring
//! faster), on the case's second row.
//!
//! When both backends run, the machine's own ratio comes first: raw `write` + `fdatasync` of
//! 64 B against the same through one io_uring submission, alternated [`MACHINE_PAIRS`] times,
//! as the rows of `machine_uring_vs_pwrite_64B` (extra `machine io_uring/std`, pwrite p50 over
//! io_uring p50; below 1 the kernel's io_uring path is slower than the two system calls here,
//! which bounds what any io_uring backend can reach). Each log is closed (fsynced) untimed
//! after its run, so no run's dirty pages are written back during the next. Peers have no
//! selectable append path: one `n/a` row each.

use std::path::Path;
use std::time::Duration;

use redex::AppendBackend;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::{timed_loop, Budget, Measurement, Recorder};
use crate::harness::options::{size_label, BackendArg, FsyncArg, Profile};
use crate::harness::result::Status;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::{spec_needs, Capability, LogSpec};
use crate::harness::systems::ours::backend_name;
use crate::harness::Result;
use crate::limits::{self, DurableWrite};

use super::{batch_bytes, channel};

/// The backends scenario.
#[derive(Debug, Clone, Copy)]
pub struct Backends;

/// Batch sizes of the full matrix.
pub const FULL_BATCHES: [usize; 4] = [1, 16, 64, 256];
/// Payload sizes of the full matrix.
pub const FULL_PAYLOADS: [usize; 3] = [64, 1024, 16 * 1024];
/// Batch sizes of the quick subset.
pub const QUICK_BATCHES: [usize; 2] = [1, 64];
/// Payload sizes of the quick subset.
pub const QUICK_PAYLOADS: [usize; 2] = [64, 1024];

/// Whether a case fsyncs each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Never,
    Durable,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Never => "never",
            Mode::Durable => "durable",
        }
    }
}

/// The backends `--backend` asks this scenario to compare, portable path first.
fn backends(arg: BackendArg) -> Vec<AppendBackend> {
    match arg {
        BackendArg::IoUring => vec![AppendBackend::IoUring],
        BackendArg::Std => vec![AppendBackend::Std],
        BackendArg::Auto | BackendArg::Both => vec![AppendBackend::Std, AppendBackend::IoUring],
    }
}

impl Scenario for Backends {
    fn name(&self) -> &'static str {
        "backends"
    }

    fn summary(&self) -> &'static str {
        "io_uring vs portable append path: batch sizes x payloads, plain and durable"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let o = ctx.options;
        let (batches, payloads, time_cap, bytes_cap): (&[usize], Vec<usize>, _, u64) =
            match o.profile {
                Profile::Quick => {
                    (&QUICK_BATCHES, QUICK_PAYLOADS.to_vec(), Duration::from_millis(500), 64 << 20)
                }
                Profile::Full => {
                    (&FULL_BATCHES, FULL_PAYLOADS.to_vec(), Duration::from_secs(3), 512 << 20)
                }
            };
        let payloads = o.payload_bytes.map_or(payloads, |p| vec![p]);
        let which = backends(o.backend);
        let fsync_p50 = ctx.limits.fsync_p50_us;

        if which.contains(&AppendBackend::IoUring) && which.contains(&AppendBackend::Std) {
            let time = match o.profile {
                Profile::Quick => Duration::from_millis(300),
                Profile::Full => Duration::from_secs(1),
            };
            match machine_uring_vs_pwrite(ctx.base_dir(), time) {
                Ok(rows) => rows.into_iter().for_each(|r| ctx.push_probe(r)),
                Err(e) => ctx.push_missing(
                    MACHINE_CASE,
                    "machine",
                    Status::Unsupported,
                    format!("io_uring probe: {e}"),
                ),
            }
        }

        // Peers have no append backend to choose: one row each says so.
        ctx.each_system(
            &["(every case)".to_string()],
            &[Capability::AppendBackend(AppendBackend::Auto)],
            |_, _| Ok(Vec::new()),
        )?;

        let mut case_index = 0usize;
        for mode in [Mode::Never, Mode::Durable] {
            for &payload in &payloads {
                for &count in batches {
                    let case = format!("batch{count}_{}_{}", size_label(payload), mode.label());
                    let events_max = o.events.min((bytes_cap / payload.max(1) as u64).max(1));
                    let budget = Budget { events_max, time_max: o.run_budget.min(time_cap) };
                    let limit = match (mode, count) {
                        (Mode::Never, _) => LimitUse::WriteBuffered,
                        (Mode::Durable, 1) => LimitUse::FsyncLatency,
                        (Mode::Durable, _) => LimitUse::WriteDurable,
                    };
                    // Which backend runs first alternates from case to case: the first run of
                    // a case starts on a fresh file and a page cache full of the previous
                    // case's pages, and that must not always fall on the same backend.
                    let mut order = which.clone();
                    if case_index % 2 == 1 {
                        order.reverse();
                    }
                    case_index += 1;
                    let mut first: Option<(AppendBackend, f64)> = None;
                    for &backend in &order {
                        let label = format!("redex:{}", backend_name(backend));
                        let spec = LogSpec::disk(FsyncArg::Never).with_backend(backend);
                        let mut needs = spec_needs(&spec);
                        needs.extend([Capability::AppendBatch, Capability::Sync]);
                        let mut failure: Option<String> = None;
                        let mut rate = None;
                        ctx.each_capable_system(
                            std::slice::from_ref(&case),
                            &needs,
                            |system, stage| {
                                let chan = channel(
                                    "backends",
                                    &format!("{case}_{}", backend_name(backend)),
                                );
                                let mut log = match system.open(&spec, &chan, Some(stage.dir)) {
                                    Ok(log) => log,
                                    Err(e) => {
                                        failure = Some(format!("cannot open on {label}: {e}"));
                                        return Ok(Vec::new());
                                    }
                                };
                                let bar = stage.bar(budget.events_max, &format!("{case} {label}"));
                                let batch = batch_bytes(count, payload);
                                let bytes = (count * payload) as u64;
                                let outcome = match mode {
                                    Mode::Never => timed_loop("append_batch", budget, &bar, |_| {
                                        log.append_batch(&batch)?;
                                        Ok((count as u64, bytes))
                                    }),
                                    Mode::Durable => {
                                        let op = log.durable_batch_op();
                                        timed_loop(op, budget, &bar, |_| {
                                            log.append_batch_durable(&batch)?;
                                            Ok((count as u64, bytes))
                                        })
                                    }
                                };
                                bar.finish_and_clear();
                                let closed = log.close();
                                let m = match (outcome, closed) {
                                    (Ok(m), Ok(())) => m,
                                    (Err(e), _) | (_, Err(e)) => {
                                        failure = Some(e.to_string());
                                        return Ok(Vec::new());
                                    }
                                };
                                rate = Some(m.events_per_s);
                                let mut r = CaseResult::new(case.clone(), m, limit)
                                    .with_system(label.clone());
                                if let (Mode::Durable, Some(l)) = (mode, m.latency) {
                                    if fsync_p50 > 0.0 {
                                        r = r.with_extra("p50/fsync", l.p50_us / fsync_p50);
                                    }
                                }
                                if let Some(ratio) =
                                    uring_over_std(first, (backend, m.events_per_s))
                                {
                                    r = r.with_extra("io_uring/std", ratio);
                                }
                                Ok(vec![r])
                            },
                        )?;
                        if let Some(note) = failure {
                            let status = if note.starts_with("cannot open") {
                                Status::Unsupported
                            } else {
                                Status::Failed
                            };
                            ctx.push_missing(&case, &label, status, note);
                        }
                        if first.is_none() {
                            first = rate.map(|rate| (backend, rate));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// io_uring's events/s over the portable path's, given the case's first run (if it gave a
/// figure) and the current one, whichever backend ran first; `None` unless they differ.
fn uring_over_std(first: Option<(AppendBackend, f64)>, now: (AppendBackend, f64)) -> Option<f64> {
    let (uring, std) = match (first?, now) {
        ((AppendBackend::Std, std), (AppendBackend::IoUring, uring))
        | ((AppendBackend::IoUring, uring), (AppendBackend::Std, std)) => (uring, std),
        _ => return None,
    };
    (std > 0.0).then(|| uring / std)
}

/// Name of the machine's own io_uring-against-pwrite row.
const MACHINE_CASE: &str = "machine_uring_vs_pwrite_64B";

/// Alternated (pwrite, io_uring) probe pairs behind the `machine_uring_vs_pwrite_64B` rows.
pub const MACHINE_PAIRS: usize = 3;

/// The machine's own durable-append floor both ways, alternated [`MACHINE_PAIRS`] times for
/// `time` each: a row per way (`machine:pwrite`, `machine:io_uring`), the second with the
/// extra `machine io_uring/std` (pwrite p50 over io_uring p50).
fn machine_uring_vs_pwrite(dir: &Path, time: Duration) -> Result<Vec<CaseResult>> {
    let mut pwrite = Recorder::new("write+fdatasync")?;
    let mut uring = Recorder::new("write+fdatasync")?;
    let bytes = limits::FSYNC_WRITE_BYTES as u64;
    for _ in 0..MACHINE_PAIRS {
        for (via, recorder) in
            [(DurableWrite::Pwrite, &mut pwrite), (DurableWrite::IoUring, &mut uring)]
        {
            for took in limits::fsync_samples(dir, via, limits::FSYNC_SAMPLES_MAX, time)? {
                recorder.record(took, 1, bytes);
            }
        }
    }
    let (pwrite, uring) = (pwrite.finish(), uring.finish());
    let p50 = |m: &Measurement| m.latency.map_or(0.0, |l| l.p50_us);
    let note = format!("raw probes, {MACHINE_PAIRS} alternated rounds each");
    let mut uring_row = CaseResult::new(MACHINE_CASE.to_string(), uring, LimitUse::FsyncLatency)
        .with_system("machine:io_uring")
        .with_note(note.clone());
    if p50(&uring) > 0.0 {
        uring_row = uring_row.with_extra("machine io_uring/std", p50(&pwrite) / p50(&uring));
    }
    Ok(vec![
        CaseResult::new(MACHINE_CASE.to_string(), pwrite, LimitUse::FsyncLatency)
            .with_system("machine:pwrite")
            .with_note(note),
        uring_row,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_and_auto_compare_both_paths_portable_first() {
        for arg in [BackendArg::Auto, BackendArg::Both] {
            assert_eq!(backends(arg), vec![AppendBackend::Std, AppendBackend::IoUring]);
        }
        assert_eq!(backends(BackendArg::IoUring), vec![AppendBackend::IoUring]);
    }

    #[test]
    fn the_ratio_is_io_uring_over_std_whichever_ran_first() {
        use AppendBackend::{IoUring, Std};
        assert_eq!(uring_over_std(Some((Std, 100.0)), (IoUring, 50.0)), Some(0.5));
        assert_eq!(uring_over_std(Some((IoUring, 50.0)), (Std, 100.0)), Some(0.5));
        assert_eq!(uring_over_std(None, (IoUring, 50.0)), None, "the first run failed");
        assert_eq!(uring_over_std(Some((Std, 100.0)), (Std, 50.0)), None);
        assert_eq!(uring_over_std(Some((IoUring, 50.0)), (Std, 0.0)), None);
    }

    #[test]
    fn quick_matrix_is_a_subset_of_the_full_one() {
        assert!(QUICK_BATCHES.iter().all(|b| FULL_BATCHES.contains(b)));
        assert!(QUICK_PAYLOADS.iter().all(|p| FULL_PAYLOADS.contains(p)));
    }
}

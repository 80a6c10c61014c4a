//! `soak`: a daemon's life in one process, long enough to see whether embedding the engine for
//! months leaks. Our engine only; not in the default suite (`--scenario soak`, for
//! `--duration-secs` seconds after a warm-up; 20 s by default).
//!
//! [`Daemon`] is the daemon: one persistent [`Redex`](redex::Redex) in the run's directory, with
//!
//! - `soak/events`: retention by count, 32 KiB segments, archived to a local-directory cold
//!   store once outside a warm window (by count), a 1 MiB fetch cache, 4 warm segments mapped
//!   at most;
//! - `soak/metrics`: retention by bytes, 16 KiB segments, a background fsync every 256 appends;
//! - `soak/audit`: retention by age, 16 KiB segments, archived once outside a warm window by age
//!   (so the engine's age timer moves both), a background fsync every 100 ms and now and then a
//!   durable append;
//! - `soak/tasks`: a CortEX tasks model (ids recycled, so its state stays bounded) over a log
//!   with count retention and its own warm window and cold store, snapshotted periodically;
//! - `soak/session/<n>`: short-lived channels, each opened under a new name, written, read
//!   back and closed, the way a daemon keeps one log per session or per day; the directory of
//!   a session two sessions old is deleted.
//!
//! Each cycle appends to every log, writes tasks, reads a few entries from a hot, a warm and
//! a cold segment of `events` and `audit` (the segments differ from cycle to cycle), renders
//! the Prometheus text of the files and of the fold, and now and then starts a tail subscriber
//! (one reading a fixed number of entries then leaving, one following until dropped, one that
//! never polls and so lags, or a watch stream on the tasks model) and drops those whose time is
//! up. Periodically one log in turn is closed and reopened: a plain log, the tasks model
//! (closed, then restored from its last snapshot and caught up), or a new session; and once in
//! a while the whole manager restarts (everything closed, the `Redex` dropped and opened again).
//!
//! The scenario samples, every `--sample-secs` (default: about 30 samples over the run),
//! `RssAnon`, open file descriptors (`/proc/self/fd`), memory mappings (lines of
//! `/proc/self/maps`), threads, and the disk use of the run's directory (allocated blocks,
//! cold store included); prints them as a table as it goes, and at the end a verdict per
//! figure comparing the mean of the first third of the samples with that of the last third,
//! extrapolated to growth per hour. A figure is called growing when the last third's mean
//! exceeds the first's by more than a fixed slack (see [`Slack`]). The row in the report
//! holds the cycle latencies, the growths per hour as extras and the verdict as its note.
//! `RssAnon` includes what glibc's allocator keeps in its per-thread arenas after it was
//! freed, which creeps up while threads come and go; run with `MALLOC_ARENA_MAX=1` to keep
//! most of that out (docs/BENCHMARKS.md, "Soak", has both and a heaptrack of the live heap).
//!
//! `benches/tests/resource_stability.rs` runs the same [`Daemon`] for a fixed number of cycles
//! and asserts that descriptors, mappings and threads come back to their post-warm-up values.

mod daemon;
mod report;
mod resources;

pub use daemon::{Counters, Daemon, DaemonConfig};
pub use report::{header, line, trends, verdict, Sample, Slack, Trend, SLACK};
pub use resources::{disk_bytes, mappings, open_fds, resources, threads, Resources};

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::Recorder;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::Capability;
use crate::harness::Result;

/// Shortest and longest warm-up of the scenario.
const WARM_UP_MIN: Duration = Duration::from_secs(5);
const WARM_UP_MAX: Duration = Duration::from_secs(120);
/// Samples aimed for when `--sample-secs` is not given.
const SAMPLES_TARGET: u32 = 30;

/// The soak scenario.
#[derive(Debug, Clone, Copy)]
pub struct Soak;

/// Runs `daemon` until `deadline`, one cycle at a time, recording each cycle's latency.
fn run_until(daemon: &mut Daemon, deadline: Instant, recorder: &mut Recorder) -> Result<()> {
    while Instant::now() < deadline {
        let before = daemon.counters();
        let start = Instant::now();
        daemon.cycle()?;
        let after = daemon.counters();
        recorder.record(start.elapsed(), after.events - before.events, after.bytes - before.bytes);
    }
    Ok(())
}

impl Scenario for Soak {
    fn name(&self) -> &'static str {
        "soak"
    }

    fn summary(&self) -> &'static str {
        "a daemon's life for --duration-secs: RssAnon, fds, mappings, threads, disk over time"
    }

    fn in_default_suite(&self) -> bool {
        false
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let duration = ctx.options.soak_duration;
        let every = ctx.options.soak_sample.unwrap_or_else(|| {
            (duration / SAMPLES_TARGET).clamp(Duration::from_secs(1), Duration::from_secs(60))
        });
        let case = format!("soak_{}s", duration.as_secs());
        let mut done = false;
        let needs = [Capability::CortexModels];
        ctx.each_capable_system(std::slice::from_ref(&case), &needs, |system, stage| {
            // Our engine once (not once per backend with `--backend both`), no peer.
            if !system.name().starts_with("redex") || done {
                return Ok(Vec::new());
            }
            done = true;
            let bar = stage.bar(duration.as_secs(), "seconds");
            let print = |s: &str| bar.suspend(|| println!("{s}"));
            let mut row = soak(stage.dir, duration, every, &print, &|t| bar.set_position(t))?;
            bar.finish_and_clear();
            row.case.clone_from(&case);
            Ok(vec![row])
        })
    }
}

/// The scenario's run in `dir`: warm-up, `duration` of cycles sampled every `every`, verdict.
/// Lines of the table go to `print`, seconds done to `progress`.
fn soak(
    dir: &Path,
    duration: Duration,
    every: Duration,
    print: &dyn Fn(&str),
    progress: &dyn Fn(u64),
) -> Result<CaseResult> {
    let mut daemon = Daemon::open(dir, DaemonConfig::soak())?;
    let started = Instant::now();
    while !(daemon.warmed_up() && started.elapsed() >= WARM_UP_MIN)
        && started.elapsed() < WARM_UP_MAX
    {
        daemon.cycle()?;
    }
    let warm_up = started.elapsed();
    print(&format!(
        "soak: warm-up {:.1} s ({} cycles); then {} s, a sample every {} s, in {}",
        warm_up.as_secs_f64(),
        daemon.counters().cycles,
        duration.as_secs(),
        every.as_secs_f64(),
        dir.display()
    ));
    print(&header());
    let mut recorder = Recorder::new("cycle")?;
    let begin = Instant::now();
    let mut samples = Vec::new();
    let take = |daemon: &Daemon, samples: &mut Vec<Sample>| -> Result<()> {
        let resources = resources(dir).ok_or("no /proc on this system")?;
        let s = Sample {
            t_s: begin.elapsed().as_secs_f64(),
            counters: daemon.counters(),
            resources,
            segments: daemon.segments(),
        };
        print(&line(&s));
        samples.push(s);
        Ok(())
    };
    take(&daemon, &mut samples)?;
    let end = begin + duration;
    let mut next = begin + every;
    while Instant::now() < end {
        run_until(&mut daemon, next.min(end), &mut recorder)?;
        progress(begin.elapsed().as_secs());
        take(&daemon, &mut samples)?;
        // After a stall, the next sample is an interval from now, not one per interval missed.
        next = (next + every).max(Instant::now() + every / 2);
    }
    let c = daemon.counters();
    let (tail_events, lagged) = daemon.tail_figures();
    let slowest = daemon.slowest_cycle();
    daemon.close()?;
    print(&format!(
        "soak: {} cycles, {} entries appended; reads hot/warm/cold {}/{}/{} ({} raced retention)",
        c.cycles, c.events, c.reads_hot, c.reads_warm, c.reads_cold, c.reads_evicted
    ));
    print(&format!(
        "soak: {} tail subscribers and watches ({} entries delivered, {} lagged); {} reopens \
         ({} restarts, {} sessions); {} snapshots",
        c.tails, tail_events, lagged, c.reopens, c.restarts, c.sessions, c.snapshots
    ));
    print(&format!("soak: slowest {slowest}"));
    let trends = trends(&samples, &SLACK);
    let verdict_text = verdict(&trends);
    print(&verdict_text);
    print(
        "soak: RssAnon counts what the allocator keeps as well as what is live (glibc: up to 8 \
         arenas per core, filled by the threads that come and go); MALLOC_ARENA_MAX=1 in the \
         environment keeps most of that out",
    );
    let mut row = CaseResult::new("soak", recorder.finish(), LimitUse::None);
    for t in &trends {
        let key = match t.name {
            "RssAnon" => "rss_anon_growth_bytes_per_hour",
            "fds" => "fds_growth_per_hour",
            "maps" => "maps_growth_per_hour",
            "threads" => "threads_growth_per_hour",
            _ => "disk_growth_bytes_per_hour",
        };
        row = row.with_extra(key, t.per_hour);
    }
    let last_line = verdict_text.lines().last().unwrap_or("").to_string();
    Ok(row.with_note(format!("{last_line}; warm-up {:.0} s", warm_up.as_secs_f64())))
}

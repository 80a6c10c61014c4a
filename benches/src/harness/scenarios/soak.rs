//! `soak`: a daemon's life in one process, long enough to see whether embedding the engine for
//! months leaks. Our engine only; not in the default suite (`--scenario soak`, for
//! `--duration-secs` seconds after a warm-up; 20 s by default).
//!
//! [`Daemon`] is the daemon: one persistent [`Redex`] in the run's directory, with
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

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cortex::tasks::{TaskStatus, TasksAdapter};
use cortex::CortexConfig;
use futures::{Stream, StreamExt};
use redex::{
    ChannelName, FsyncPolicy, LocalDirColdStore, Redex, RedexError, RedexEvent, RedexFile,
    RedexFileConfig, Retention, Tier,
};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::Recorder;
use crate::harness::rss::rss_anon_bytes;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::Capability;
use crate::harness::Result;

/// Origin hash the tasks model stamps into its events.
const ORIGIN: u64 = 0x50A4_50A4;
/// Distinct task ids the model cycles through.
const TASK_IDS: u64 = 512;
/// Shortest and longest warm-up of the scenario.
const WARM_UP_MIN: Duration = Duration::from_secs(5);
const WARM_UP_MAX: Duration = Duration::from_secs(120);
/// Samples aimed for when `--sample-secs` is not given.
const SAMPLES_TARGET: u32 = 30;

/// The soak scenario.
#[derive(Debug, Clone, Copy)]
pub struct Soak;

/// How hard the daemon works and how often each event of its life comes round.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Entries appended to `soak/events` per cycle; the other logs scale from it.
    pub events_per_cycle: usize,
    /// Cycles between two reopens (each reopens the next in turn: `events`, `metrics`,
    /// `audit`, the tasks model, a new session).
    pub reopen_every: u64,
    /// Every this many reopens, the reopen is a restart of the whole manager instead; zero
    /// for never (a test restarts it with [`Daemon::restart`] when it chooses).
    pub restart_every: u64,
    /// Cycles between two snapshots of the tasks model.
    pub snapshot_every: u64,
    /// Cycles between two new tail subscribers.
    pub tail_every: u64,
    /// Cycles a tail subscriber lives at most.
    pub tail_lifetime: u64,
    /// Age limit of `soak/audit` (its warm window is half of it).
    pub audit_age: Duration,
    /// Shortest time a cycle takes (the daemon's pace); zero runs flat out.
    pub cycle_min: Duration,
}

impl DaemonConfig {
    /// The scenario's daemon: at most 25 cycles a second, so up to about 25 000 entries a
    /// second over the logs, a reopen every second, a restart every minute, a snapshot every
    /// two seconds.
    pub fn soak() -> Self {
        DaemonConfig {
            events_per_cycle: 192,
            reopen_every: 25,
            restart_every: 60,
            snapshot_every: 50,
            tail_every: 5,
            tail_lifetime: 60,
            audit_age: Duration::from_secs(4),
            cycle_min: Duration::from_millis(40),
        }
    }

    /// A smaller daemon that runs flat out, for tests: a reopen every 6 cycles, no restart.
    pub fn test() -> Self {
        DaemonConfig {
            events_per_cycle: 32,
            reopen_every: 6,
            restart_every: 0,
            snapshot_every: 15,
            tail_every: 2,
            tail_lifetime: 8,
            audit_age: Duration::from_millis(800),
            cycle_min: Duration::ZERO,
        }
    }

    /// Cycles in one full turn of the reopens (every log and a session once).
    pub fn round_cycles(&self) -> u64 {
        self.reopen_every * REOPEN_KINDS
    }
}

/// Reopen kinds in one turn: three plain logs, the tasks model, a session.
const REOPEN_KINDS: u64 = 5;

/// What the daemon has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Cycles run.
    pub cycles: u64,
    /// Entries appended, over every log and the tasks model.
    pub events: u64,
    /// Payload bytes appended.
    pub bytes: u64,
    /// Reads of a few entries from a hot, a warm and a cold segment.
    pub reads_hot: u64,
    /// See `reads_hot`.
    pub reads_warm: u64,
    /// See `reads_hot`.
    pub reads_cold: u64,
    /// Reads that found their range evicted meanwhile (retention raced the read).
    pub reads_evicted: u64,
    /// Tail subscribers and watch streams started.
    pub tails: u64,
    /// Closes and reopens of a log or the tasks model, sessions and restarts included.
    pub reopens: u64,
    /// Restarts of the whole manager.
    pub restarts: u64,
    /// Sessions opened, written and closed.
    pub sessions: u64,
    /// Snapshots of the tasks model.
    pub snapshots: u64,
}

/// One of the daemon's plain logs.
struct Log {
    name: ChannelName,
    config: RedexFileConfig,
    file: RedexFile,
}

/// A tail subscriber or watch stream and the cycle it is dropped at.
enum Subscriber {
    /// A task consuming a stream; aborted at `until` unless it ended by itself.
    Task { handle: JoinHandle<()>, until: u64 },
    /// A tail never polled: it lags, then is dropped at `until`.
    Stalled { _stream: Pin<Box<dyn Stream<Item = redex::Result<RedexEvent>> + Send>>, until: u64 },
}

impl Subscriber {
    fn until(&self) -> u64 {
        match self {
            Subscriber::Task { until, .. } | Subscriber::Stalled { until, .. } => *until,
        }
    }
}

/// Each step of a cycle and how long it took.
type StepTimes = Vec<(&'static str, Duration)>;

/// Times the steps of a cycle.
struct Steps(StepTimes, Instant);

impl Steps {
    fn new() -> Self {
        Steps(Vec::new(), Instant::now())
    }

    fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.0.push((step, now - self.1));
        self.1 = now;
    }
}

/// Events delivered to tail subscribers, and subscribers cut off as lagging.
#[derive(Debug, Default)]
struct TailCounters {
    events: AtomicU64,
    lagged: AtomicU64,
}

/// The long-lived process embedding the engine (see the module docs).
pub struct Daemon {
    dir: PathBuf,
    config: DaemonConfig,
    rt: Runtime,
    store: Arc<LocalDirColdStore>,
    redex: Option<Redex>,
    logs: Vec<Log>,
    tasks: Option<TasksAdapter>,
    tasks_name: ChannelName,
    tasks_config: CortexConfig,
    snapshot: Option<(Vec<u8>, Option<u64>)>,
    last_task_seq: Option<u64>,
    task_ops: u64,
    /// Reopens so far that were not restarts: picks the next kind.
    turn: u64,
    subscribers: VecDeque<Subscriber>,
    tail_counters: Arc<TailCounters>,
    /// Closed sessions whose directories are still on disk, oldest first.
    sessions: VecDeque<ChannelName>,
    counters: Counters,
    payloads: Payloads,
    /// The slowest cycle so far: how long, which, and its steps.
    slowest: Option<(Duration, u64, StepTimes)>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("dir", &self.dir)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Payloads reused cycle after cycle.
struct Payloads {
    event: Vec<u8>,
    metric: Vec<u8>,
    audit: Vec<u8>,
    events_batch: Vec<Vec<u8>>,
    metrics_batch: Vec<Vec<u8>>,
}

impl Payloads {
    fn new(k: usize) -> Self {
        let fill = |len: usize, salt: u8| -> Vec<u8> {
            (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect()
        };
        Payloads {
            event: fill(100, 1),
            metric: fill(48, 2),
            audit: fill(160, 3),
            events_batch: (0..k).map(|i| fill(100, i as u8)).collect(),
            metrics_batch: (0..(k / 2).max(1)).map(|i| fill(48, i as u8)).collect(),
        }
    }
}

fn name(s: &str) -> Result<ChannelName> {
    Ok(ChannelName::new(s)?)
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl Daemon {
    /// Starts the daemon in `dir` (created if missing; the cold store is `dir/cold`, the
    /// manager's directory `dir/redex`).
    pub fn open(dir: &Path, config: DaemonConfig) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("soak-rt")
            .enable_all()
            .build()?;
        let store = Arc::new(LocalDirColdStore::new(dir.join("cold"))?);
        let segment = |bytes: u64| {
            RedexFileConfig::default()
                .with_persistent(true)
                .with_segment_bytes_max(bytes)
                .with_open_segments_max(4)
                .with_tail_buffer_events(1024)
        };
        let k = config.events_per_cycle.max(4) as u64;
        let events = segment(32 << 10)
            .with_retention(Retention::events(k * 3 * 60))
            .with_cold_store(store.clone())
            .with_warm_retention(Retention::events(k * 3 * 15))
            .with_cold_cache_bytes(1 << 20);
        let metrics = segment(16 << 10)
            .with_retention(Retention::bytes(256 << 10))
            .with_fsync_policy(FsyncPolicy::EveryN(256));
        let audit = segment(16 << 10)
            .with_retention(Retention::age(config.audit_age))
            .with_fsync_policy(FsyncPolicy::Interval(Duration::from_millis(100)))
            .with_cold_store(store.clone())
            .with_warm_retention(Retention::age(config.audit_age / 2))
            .with_cold_cache_bytes(1 << 20);
        let tasks_file = segment(16 << 10)
            .with_retention(Retention::events(k * 100))
            .with_cold_store(store.clone())
            .with_warm_retention(Retention::events(k * 20))
            .with_cold_cache_bytes(1 << 20);
        let logs = [("soak/events", events), ("soak/metrics", metrics), ("soak/audit", audit)];
        let mut daemon = Daemon {
            dir: dir.to_path_buf(),
            rt,
            store,
            redex: None,
            logs: Vec::new(),
            tasks: None,
            tasks_name: name("soak/tasks")?,
            tasks_config: CortexConfig::default().with_file_config(tasks_file),
            snapshot: None,
            last_task_seq: None,
            task_ops: 0,
            turn: 0,
            subscribers: VecDeque::new(),
            tail_counters: Arc::default(),
            sessions: VecDeque::new(),
            counters: Counters::default(),
            slowest: None,
            payloads: Payloads::new(config.events_per_cycle.max(4)),
            config,
        };
        let redex = Redex::with_persistent_dir(daemon.redex_dir())?;
        for (channel, config) in logs {
            let name = name(channel)?;
            let file = redex.open_file(&name, config.clone())?;
            daemon.logs.push(Log { name, config, file });
        }
        daemon.redex = Some(redex);
        daemon.open_tasks()?;
        Ok(daemon)
    }

    /// The manager's directory.
    pub fn redex_dir(&self) -> PathBuf {
        self.dir.join("redex")
    }

    /// What the daemon has done so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The slowest cycle so far, as a line: its time, its number and how long each step took.
    pub fn slowest_cycle(&self) -> String {
        let Some((took, c, steps)) = &self.slowest else { return "no cycle yet".into() };
        let steps: Vec<String> =
            steps.iter().map(|(s, d)| format!("{s} {:.1} ms", d.as_secs_f64() * 1e3)).collect();
        format!("cycle {c}, {:.1} ms: {}", took.as_secs_f64() * 1e3, steps.join(", "))
    }

    /// Entries delivered to tail subscribers, and subscribers cut off as lagging.
    pub fn tail_figures(&self) -> (u64, u64) {
        let t = &self.tail_counters;
        (t.events.load(Ordering::Relaxed), t.lagged.load(Ordering::Relaxed))
    }

    fn redex(&self) -> Result<&Redex> {
        self.redex.as_ref().ok_or_else(|| "the daemon's manager is not open".into())
    }

    fn tasks(&self) -> Result<&TasksAdapter> {
        self.tasks.as_ref().ok_or_else(|| "the tasks model is not open".into())
    }

    /// Opens the tasks model: from the last snapshot when there is one, folding the rest.
    fn open_tasks(&mut self) -> Result<()> {
        let redex = self.redex()?.clone();
        let _enter = self.rt.enter();
        let cfg = self.tasks_config.clone();
        let tasks = match &self.snapshot {
            Some((bytes, last)) => TasksAdapter::open_from_snapshot_with(
                &redex,
                &self.tasks_name,
                ORIGIN,
                cfg,
                bytes,
                *last,
            )?,
            None => TasksAdapter::open_with(&redex, &self.tasks_name, ORIGIN, cfg)?,
        };
        if let Some(last) = self.last_task_seq {
            self.rt.block_on(tasks.wait_for_seq(last))?;
        }
        let rows = tasks.state().read().len() as u64;
        if rows > TASK_IDS {
            return Err(format!("the tasks model holds {rows} rows of {TASK_IDS} ids").into());
        }
        self.tasks = Some(tasks);
        Ok(())
    }

    fn log(&self, i: usize) -> Result<&RedexFile> {
        self.logs.get(i).map(|l| &l.file).ok_or_else(|| format!("no log {i}").into())
    }

    /// One cycle of the daemon's life (see the module docs).
    pub fn cycle(&mut self) -> Result<()> {
        let started = Instant::now();
        self.counters.cycles += 1;
        let c = self.counters.cycles;
        let mut steps = Steps::new();
        self.append(&mut steps)?;
        self.write_tasks()?;
        steps.mark("tasks");
        self.read_tiers(c)?;
        steps.mark("reads");
        self.expire_subscribers(c);
        if c.is_multiple_of(self.config.tail_every) {
            self.start_subscriber(c)?;
        }
        steps.mark("subscribers");
        if c.is_multiple_of(self.config.snapshot_every) {
            self.snapshot()?;
            steps.mark("snapshot");
        }
        if c.is_multiple_of(self.config.reopen_every) {
            let what = self.reopen_next()?;
            steps.mark(what);
        }
        self.render_metrics()?;
        steps.mark("metrics");
        let took = started.elapsed();
        if self.slowest.as_ref().is_none_or(|(t, _, _)| took > *t) {
            self.slowest = Some((took, c, steps.0));
        }
        if let Some(rest) = self.config.cycle_min.checked_sub(took) {
            std::thread::sleep(rest);
        }
        Ok(())
    }

    fn append(&mut self, steps: &mut Steps) -> Result<()> {
        let p = &self.payloads;
        let k = self.config.events_per_cycle.max(4);
        let (events, metrics, audit) = (self.log(0)?, self.log(1)?, self.log(2)?);
        let mut n = 0u64;
        let mut bytes = 0u64;
        for _ in 0..k {
            events.append(&p.event)?;
        }
        for _ in 0..2 {
            events.append_batch(&p.events_batch)?;
        }
        n += 3 * k as u64;
        bytes += (3 * k * p.event.len()) as u64;
        steps.mark("append events");
        for _ in 0..4 {
            metrics.append_batch(&p.metrics_batch)?;
        }
        n += 4 * p.metrics_batch.len() as u64;
        bytes += (4 * p.metrics_batch.len() * p.metric.len()) as u64;
        steps.mark("append metrics");
        for i in 0..k / 4 {
            if i == 0 && self.counters.cycles.is_multiple_of(8) {
                audit.append_durable(&p.audit)?;
            } else {
                audit.append(&p.audit)?;
            }
        }
        n += (k / 4) as u64;
        bytes += (k / 4 * p.audit.len()) as u64;
        steps.mark("append audit");
        self.counters.events += n;
        self.counters.bytes += bytes;
        Ok(())
    }

    fn write_tasks(&mut self) -> Result<()> {
        let k = self.config.events_per_cycle.max(4) / 4;
        let now = now_ns();
        let mut last = None;
        let first_op = self.task_ops;
        self.task_ops += k as u64;
        let tasks = self.tasks()?;
        for i in first_op..first_op + k as u64 {
            let id = i % TASK_IDS + 1;
            let seq = match (i / TASK_IDS) % 5 {
                0 => tasks.create(id, "a task of the soak", now)?,
                1 => tasks.rename(id, "a renamed task of the soak", now)?,
                2 => tasks.complete(id, now)?,
                3 => tasks.reopen(id, now)?,
                _ => tasks.delete(id, now)?,
            };
            last = Some(seq);
        }
        self.counters.events += k as u64;
        if last.is_some() {
            self.last_task_seq = last;
        }
        Ok(())
    }

    /// Reads a few entries from one segment of each tier of `events` and `audit`, a different
    /// one each cycle, and the newest entry.
    fn read_tiers(&mut self, c: u64) -> Result<()> {
        for i in [0, 2] {
            let file = self.log(i)?.clone();
            let segments = file.segments();
            for tier in [Tier::Hot, Tier::Warm, Tier::Cold] {
                let of_tier: Vec<_> = segments.iter().filter(|s| s.tier == tier).collect();
                if of_tier.is_empty() {
                    continue;
                }
                let seg = of_tier[(c as usize) % of_tier.len()];
                let start = seg.first_seq.max(file.head_seq());
                let end = (start + 16).min(seg.next_seq);
                if start >= end {
                    continue;
                }
                let read = if tier == Tier::Cold && c.is_multiple_of(2) {
                    self.rt.block_on(file.read_cold(start, end))
                } else {
                    file.read_range(start, end)
                };
                match read {
                    Ok(events) if events.len() as u64 == end - start => match tier {
                        Tier::Hot => self.counters.reads_hot += 1,
                        Tier::Warm => self.counters.reads_warm += 1,
                        Tier::Cold => self.counters.reads_cold += 1,
                    },
                    Ok(events) => {
                        return Err(format!(
                            "{}: read {start}..{end} ({tier:?}) returned {} entries",
                            file.channel(),
                            events.len()
                        )
                        .into())
                    }
                    // Retention (or archival then retention) moved past the range meanwhile.
                    Err(RedexError::Evicted { .. }) => self.counters.reads_evicted += 1,
                    Err(e) => return Err(format!("{}: {tier:?} read: {e}", file.channel()).into()),
                }
            }
            if let Some(last) = file.next_seq().checked_sub(1) {
                if file.get(last)?.is_none() {
                    return Err(format!("{}: newest entry {last} missing", file.channel()).into());
                }
            }
        }
        Ok(())
    }

    fn start_subscriber(&mut self, c: u64) -> Result<()> {
        let until = c + self.config.tail_lifetime;
        let kind = self.counters.tails % 4;
        self.counters.tails += 1;
        let k = self.config.events_per_cycle.max(4) as u64;
        let counters = Arc::clone(&self.tail_counters);
        let subscriber = match kind {
            // Reads a fixed number of entries (backfill, then live), then leaves.
            0 | 1 => {
                let file = self.log(kind as usize)?.clone();
                let from = file.next_seq().saturating_sub(k).max(file.head_seq());
                let limit = if kind == 0 { 2 * k } else { u64::MAX };
                let handle = self.rt.spawn(async move {
                    let mut stream = Box::pin(file.tail(from));
                    let mut seen = 0u64;
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(_) => {
                                counters.events.fetch_add(1, Ordering::Relaxed);
                                seen += 1;
                                if seen >= limit {
                                    break;
                                }
                            }
                            Err(RedexError::Lagged { .. }) => {
                                counters.lagged.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                });
                Subscriber::Task { handle, until }
            }
            // Subscribes and never polls: falls behind its buffer, then is dropped.
            2 => {
                let file = self.log(0)?;
                Subscriber::Stalled { _stream: Box::pin(file.tail(file.next_seq())), until }
            }
            // A watch on the tasks model, followed until dropped.
            _ => {
                let _enter = self.rt.enter();
                let stream = self.tasks()?.watch().where_status(TaskStatus::Completed).stream();
                let handle = self.rt.spawn(async move {
                    let mut stream = Box::pin(stream);
                    while stream.next().await.is_some() {
                        counters.events.fetch_add(1, Ordering::Relaxed);
                    }
                });
                Subscriber::Task { handle, until }
            }
        };
        self.subscribers.push_back(subscriber);
        Ok(())
    }

    /// Drops the subscribers whose time is up (all of them with `all`), waiting for aborted
    /// tasks to be gone.
    fn drop_subscribers(&mut self, all: bool, c: u64) {
        let mut kept = VecDeque::new();
        for s in self.subscribers.drain(..) {
            let finished = matches!(&s, Subscriber::Task { handle, .. } if handle.is_finished());
            if !all && !finished && s.until() > c {
                kept.push_back(s);
                continue;
            }
            if let Subscriber::Task { handle, .. } = s {
                handle.abort();
                // Cancelled or done: either way the task and its stream are gone after this.
                let _ = self.rt.block_on(handle);
            }
        }
        self.subscribers = kept;
    }

    fn expire_subscribers(&mut self, c: u64) {
        self.drop_subscribers(false, c);
    }

    fn snapshot(&mut self) -> Result<()> {
        let (bytes, last) = self.tasks()?.snapshot()?;
        // Kept on disk like a daemon would, replaced atomically.
        let path = self.dir.join("tasks.snapshot");
        let tmp = self.dir.join("tasks.snapshot.tmp");
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)?;
        self.snapshot = Some((bytes, last));
        self.counters.snapshots += 1;
        Ok(())
    }

    /// Closes and reopens the next thing in turn, or restarts the manager; says which.
    fn reopen_next(&mut self) -> Result<&'static str> {
        self.counters.reopens += 1;
        let every = self.config.restart_every;
        if every > 0 && self.counters.reopens.is_multiple_of(every) {
            self.restart()?;
            return Ok("restart");
        }
        let turn = self.turn % REOPEN_KINDS;
        self.turn += 1;
        Ok(match turn {
            0..=2 => {
                let i = turn as usize;
                let redex = self.redex()?.clone();
                let log = self.logs.get_mut(i).ok_or("no such log")?;
                log.file.close()?;
                log.file = redex.open_file(&log.name, log.config.clone())?;
                ["reopen events", "reopen metrics", "reopen audit"][i]
            }
            3 => {
                self.close_tasks()?;
                self.open_tasks()?;
                "reopen tasks"
            }
            _ => {
                self.session()?;
                "session"
            }
        })
    }

    fn close_tasks(&mut self) -> Result<()> {
        if let Some(tasks) = self.tasks.take() {
            self.rt.block_on(tasks.close())?;
        }
        Ok(())
    }

    /// A session: a channel under a new name, written, read back and closed; the directory of
    /// the session before the previous one is deleted.
    fn session(&mut self) -> Result<()> {
        let n = self.counters.sessions;
        self.counters.sessions += 1;
        let channel = name(&format!("soak/session/{n}"))?;
        let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(8 << 10);
        let file = self.redex()?.open_file(&channel, cfg)?;
        let p = &self.payloads;
        for _ in 0..8 {
            file.append_batch(&p.metrics_batch)?;
        }
        let expected = 8 * p.metrics_batch.len() as u64;
        let read = file.read_range(0, expected)?;
        if read.len() as u64 != expected {
            return Err(format!("session {n} read back {} of {expected}", read.len()).into());
        }
        drop(read);
        file.close()?;
        self.counters.events += expected;
        self.sessions.push_back(channel);
        while self.sessions.len() > 2 {
            if let Some(old) = self.sessions.pop_front() {
                let path = self.redex_dir().join("channels").join(old.as_str());
                std::fs::remove_dir_all(&path)?;
            }
        }
        Ok(())
    }

    /// Closes everything, drops the manager, and opens it all again, as a daemon restarting
    /// in place would (the tasks model from its last snapshot).
    pub fn restart(&mut self) -> Result<()> {
        self.counters.restarts += 1;
        // Tail streams hold their file (and so the directory lock) until dropped.
        self.drop_subscribers(true, self.counters.cycles);
        self.close_tasks()?;
        // A closed file still holds the directory lock until its last handle is dropped.
        let mut closed = Vec::new();
        for log in self.logs.drain(..) {
            log.file.close()?;
            closed.push((log.name, log.config));
        }
        if let Some(redex) = self.redex.take() {
            redex.close()?;
        }
        let redex = Redex::with_persistent_dir(self.redex_dir())?;
        for (name, config) in closed {
            let file = redex.open_file(&name, config.clone())?;
            self.logs.push(Log { name, config, file });
        }
        self.redex = Some(redex);
        self.open_tasks()
    }

    /// The daemon's metrics endpoint: the files' and the fold's Prometheus text.
    fn render_metrics(&self) -> Result<()> {
        let mut text = self.redex()?.prometheus_text();
        let fold = self.tasks()?.adapter().fold_metrics("tasks");
        text.push_str(&cortex::metrics::render(&[fold]));
        if !text.contains("redex_appends_total") {
            return Err("the Prometheus text lost its counters".into());
        }
        Ok(())
    }

    /// Brings the daemon to a quiet point: every subscriber gone, the fold caught up, every
    /// freeze installed and, as far as it goes within `patience`, nothing waiting for archival.
    /// What is left running at a quiet point is what a leak would add to.
    pub fn settle(&mut self, patience: Duration) -> Result<()> {
        self.drop_subscribers(true, self.counters.cycles);
        if let Some(last) = self.last_task_seq {
            self.rt.block_on(self.tasks()?.wait_for_seq(last))?;
        }
        let deadline = Instant::now() + patience;
        loop {
            let mut quiet = true;
            let files = self
                .logs
                .iter()
                .map(|l| l.file.clone())
                .chain(self.tasks.as_ref().map(|t| t.adapter().file().clone()));
            for file in files {
                // Installs a finished freeze and starts archiving what left the warm window
                // (a quiet file has no append to do either).
                file.apply_retention()?;
                let stats = file.stats();
                let archiving = stats.cold_tier.as_ref().is_some_and(|c| c.pending_segments > 0);
                quiet &= stats.hot.segments == 1 && !archiving;
            }
            if quiet || Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether every part of the daemon's life has come round at least once: a full turn of
    /// reopens, the heads of the retained logs (the tasks log's too) moved, and some history
    /// archived.
    pub fn warmed_up(&self) -> bool {
        let tasks_moved = self.tasks.as_ref().is_some_and(|t| t.adapter().file().head_seq() > 0);
        let moved = tasks_moved && self.logs.iter().all(|l| l.file.head_seq() > 0);
        let archived = self
            .logs
            .first()
            .is_some_and(|l| l.file.stats().cold_tier.is_some_and(|c| c.archived_segments > 0));
        self.counters.reopens >= REOPEN_KINDS && moved && archived
    }

    /// Segments per tier over the daemon's logs and the tasks log: (hot, warm, cold).
    pub fn segments(&self) -> (u64, u64, u64) {
        let files = self
            .logs
            .iter()
            .map(|l| l.file.clone())
            .chain(self.tasks.as_ref().map(|t| t.adapter().file().clone()));
        files.fold((0, 0, 0), |(h, w, c), f| {
            let s = f.stats();
            (h + s.hot.segments, w + s.warm.segments, c + s.cold.segments)
        })
    }

    /// Closes everything.
    pub fn close(mut self) -> Result<()> {
        self.drop_subscribers(true, self.counters.cycles);
        self.close_tasks()?;
        for log in &self.logs {
            log.file.close()?;
        }
        if let Some(redex) = self.redex.take() {
            redex.close()?;
        }
        let _ = &self.store;
        Ok(())
    }
}

/// What the process holds, as the kernel reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resources {
    /// `RssAnon` in bytes (heap and other private memory).
    pub rss_anon_bytes: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Memory mappings (lines of `/proc/self/maps`).
    pub maps: u64,
    /// Threads.
    pub threads: u64,
    /// Disk blocks allocated under the directory sampled, in bytes.
    pub disk_bytes: u64,
}

/// Open file descriptors of this process, or `None` without `/proc`.
pub fn open_fds() -> Option<u64> {
    // The directory being read is itself one descriptor.
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count().saturating_sub(1) as u64)
}

/// Memory mappings of this process, or `None` without `/proc`.
pub fn mappings() -> Option<u64> {
    Some(std::fs::read_to_string("/proc/self/maps").ok()?.lines().count() as u64)
}

/// Threads of this process, or `None` without `/proc`.
pub fn threads() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:"))?.trim().parse().ok()
}

/// Bytes of disk allocated to the files under `dir` (as `du` counts them); files that vanish
/// while it walks are skipped.
pub fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

/// The process's resources now, and the disk use under `dir`; `None` without `/proc`.
pub fn resources(dir: &Path) -> Option<Resources> {
    Some(Resources {
        rss_anon_bytes: rss_anon_bytes()?,
        fds: open_fds()?,
        maps: mappings()?,
        threads: threads()?,
        disk_bytes: disk_bytes(dir),
    })
}

/// One row of the soak's table.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since the measured part began (after the warm-up).
    pub t_s: f64,
    /// The daemon's counters then.
    pub counters: Counters,
    /// The process's resources then.
    pub resources: Resources,
    /// Segments per tier then: (hot, warm, cold).
    pub segments: (u64, u64, u64),
}

/// How much a figure's last-third mean may exceed its first-third mean before the verdict
/// calls it growing. Short of a leak, figures wander: allocator arenas, the fetch caches
/// filling, a segment more or less on disk at the moment of a sample, the cold runtime's
/// blocking threads (kept 10 s after use).
#[derive(Debug, Clone, Copy)]
pub struct Slack {
    /// `RssAnon`: the larger of this and 5 %.
    pub rss_anon_bytes: u64,
    /// Descriptors.
    pub fds: u64,
    /// Mappings.
    pub maps: u64,
    /// Threads.
    pub threads: u64,
    /// Disk: the larger of this and 10 %.
    pub disk_bytes: u64,
}

/// The slack the scenario's verdict allows.
pub const SLACK: Slack =
    Slack { rss_anon_bytes: 4 << 20, fds: 4, maps: 24, threads: 4, disk_bytes: 2 << 20 };

/// One figure's trend over the run.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Its name.
    pub name: &'static str,
    /// First sample.
    pub start: f64,
    /// Last sample.
    pub end: f64,
    /// Mean over the first third of the samples.
    pub first_mean: f64,
    /// Mean over the last third.
    pub last_mean: f64,
    /// Largest value.
    pub max: f64,
    /// Growth from the first third's mean to the last's, per hour.
    pub per_hour: f64,
    /// Whether the growth is more than the slack.
    pub growing: bool,
}

/// A figure of [`Resources`]: its name, how to read it, its absolute and relative slack.
type Figure = (&'static str, fn(&Resources) -> u64, f64, f64);

/// The trends of every figure over `samples`, with `slack`.
pub fn trends(samples: &[Sample], slack: &Slack) -> Vec<Trend> {
    let third = (samples.len() / 3).max(1);
    let first = &samples[..third.min(samples.len())];
    let last = &samples[samples.len().saturating_sub(third)..];
    let mean = |s: &[Sample], f: &dyn Fn(&Sample) -> f64| {
        s.iter().map(f).sum::<f64>() / s.len().max(1) as f64
    };
    let dt_h = (mean(last, &|s| s.t_s) - mean(first, &|s| s.t_s)) / 3600.0;
    let figures: [Figure; 5] = [
        ("RssAnon", |r| r.rss_anon_bytes, slack.rss_anon_bytes as f64, 0.05),
        ("fds", |r| r.fds, slack.fds as f64, 0.0),
        ("maps", |r| r.maps, slack.maps as f64, 0.0),
        ("threads", |r| r.threads, slack.threads as f64, 0.0),
        ("disk", |r| r.disk_bytes, slack.disk_bytes as f64, 0.10),
    ];
    figures
        .into_iter()
        .map(|(name, get, abs, rel)| {
            let value = |s: &Sample| get(&s.resources) as f64;
            let first_mean = mean(first, &value);
            let last_mean = mean(last, &value);
            let allowed = abs.max(first_mean * rel);
            Trend {
                name,
                start: samples.first().map_or(0.0, value),
                end: samples.last().map_or(0.0, value),
                first_mean,
                last_mean,
                max: samples.iter().map(value).fold(0.0, f64::max),
                per_hour: if dt_h > 0.0 { (last_mean - first_mean) / dt_h } else { 0.0 },
                growing: last_mean - first_mean > allowed,
            }
        })
        .collect()
}

fn kib(bytes: u64) -> u64 {
    bytes / 1024
}

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:>7} {:>8} {:>11} {:>9} {:>5} {:>6} {:>7} {:>9} {:>13} {:>8} {:>7}",
        "t_s",
        "cycles",
        "events",
        "rss_KiB",
        "fds",
        "maps",
        "threads",
        "disk_KiB",
        "segs_h/w/c",
        "reopens",
        "tails"
    )
}

/// One line of the table.
pub fn line(s: &Sample) -> String {
    let (h, w, c) = s.segments;
    let r = &s.resources;
    format!(
        "{:>7.1} {:>8} {:>11} {:>9} {:>5} {:>6} {:>7} {:>9} {:>13} {:>8} {:>7}",
        s.t_s,
        s.counters.cycles,
        s.counters.events,
        kib(r.rss_anon_bytes),
        r.fds,
        r.maps,
        r.threads,
        kib(r.disk_bytes),
        format!("{h}/{w}/{c}"),
        s.counters.reopens,
        s.counters.tails
    )
}

/// The verdict, one line per figure and a last line saying stable or growing.
pub fn verdict(trends: &[Trend]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>14} {:>14} {:>16} {:>16} {:>14} {:>16}  verdict",
        "figure", "start", "end", "first-third mean", "last-third mean", "max", "growth/hour"
    );
    for t in trends {
        let bytes = matches!(t.name, "RssAnon" | "disk");
        let show = |v: f64| {
            if bytes {
                format!("{:.1} MiB", v / f64::from(1 << 20))
            } else {
                format!("{v:.1}")
            }
        };
        let _ = writeln!(
            out,
            "{:<8} {:>14} {:>14} {:>16} {:>16} {:>14} {:>16}  {}",
            t.name,
            show(t.start),
            show(t.end),
            show(t.first_mean),
            show(t.last_mean),
            show(t.max),
            show(t.per_hour),
            if t.growing { "GROWING" } else { "stable" }
        );
    }
    let growing: Vec<&str> = trends.iter().filter(|t| t.growing).map(|t| t.name).collect();
    if growing.is_empty() {
        out.push_str("verdict: stable (no last-third mean above its first-third mean + slack)\n");
    } else {
        let _ = writeln!(out, "verdict: GROWING: {}", growing.join(", "));
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, fds: u64, rss_mib: u64) -> Sample {
        Sample {
            t_s,
            counters: Counters::default(),
            resources: Resources {
                rss_anon_bytes: rss_mib << 20,
                fds,
                maps: 100,
                threads: 10,
                disk_bytes: 10 << 20,
            },
            segments: (1, 2, 3),
        }
    }

    #[test]
    fn flat_figures_are_stable_and_a_leak_is_growing() {
        // Wandering within the slack: stable.
        let flat: Vec<Sample> =
            (0..30u32).map(|i| sample(f64::from(i) * 60.0, 30 + u64::from(i % 3), 50)).collect();
        let t = trends(&flat, &SLACK);
        assert!(t.iter().all(|t| !t.growing), "{t:?}");
        assert!(verdict(&t).ends_with(
            "verdict: stable (no last-third mean above its first-third mean + slack)\n"
        ));
        // One descriptor a minute: 60 an hour.
        let leak: Vec<Sample> =
            (0..30u32).map(|i| sample(f64::from(i) * 60.0, 30 + u64::from(i), 50)).collect();
        let t = trends(&leak, &SLACK);
        let fds = t.iter().find(|t| t.name == "fds").expect("fds");
        assert!(fds.growing && (fds.per_hour - 60.0).abs() < 1e-6, "{fds:?}");
        assert!(t.iter().filter(|t| t.name != "fds").all(|t| !t.growing));
        assert!(verdict(&t).contains("verdict: GROWING: fds"));
        assert_eq!((fds.start, fds.end, fds.max), (30.0, 59.0, 59.0));
        assert_eq!(line(&leak[0]).split_whitespace().count(), header().split_whitespace().count());
    }
}

//! The soak's daemon: the logs, the tasks model and the life [`Daemon::cycle`] gives them.

use std::collections::VecDeque;
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

use crate::harness::Result;

/// Origin hash the tasks model stamps into its events.
const ORIGIN: u64 = 0x50A4_50A4;
/// Distinct task ids the model cycles through.
const TASK_IDS: u64 = 512;

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

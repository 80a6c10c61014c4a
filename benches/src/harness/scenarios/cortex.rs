//! `cortex`: the CortEX layer over each system's log: ingest and fold throughput, query
//! latency, and snapshot encode / decode, on the reference's own workload shapes (a third of
//! the tasks completed; memories tagged `alpha` or `beta` alternately).
//!
//! Sizes follow `--events` (quick profile: 200 000): ingest `--events` creates without waiting
//! for the fold (`tasks_ingest_create`, the fold's catch-up time after the last one in the
//! notes), a tenth of that with a read-after-write wait after each (`..._create_wait`), a fold
//! replay of a log of `--events` task events by a freshly opened adapter (`tasks_fold_replay_*`,
//! one sample per replay); queries on states of `--events / 20` rows (10 000, at most 100 000):
//! `find_unique` and `count_where` timed 1 000 calls per sample, `find_many` one call per
//! sample; snapshots of `--events / 200` rows (1 000, at most 10 000), encoded and decoded
//! (the decoded state is dropped inside the timing). A query case's events are the rows it
//! returns (lookups for `find_unique` and `count_where`), so events/s compare equal work.
//!
//! The `_ref` cases are our `find_many_ref` (rows borrowed from the state under its read
//! lock, no reference count touched); the reference has no borrowed form, so its `_ref` rows
//! run its `find_many` (owned copies of every row), which is what a caller of it pays.
//!
//! Systems: our `cortex` over our RedEX; with `--features peers`, net-mesh 0.46's CortEX
//! (`TasksAdapter` / `MemoriesAdapter`) over its RedEX. Batpak has no fold layer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::{Measurement, Recorder};
use crate::harness::options::Options;
use crate::harness::scenario::{CaseResult, Context, Scenario};
use crate::harness::system::Capability;
use crate::harness::Result;

/// Origin hash the models stamp into their events.
pub const ORIGIN: u64 = 0xABCD_EF01;
/// Replays timed per system.
const REPLAYS: u32 = 3;
/// `find_unique` / `count_where` calls per timed sample (one call is a few nanoseconds, far
/// below the cost of reading the clock).
const BATCH_CALLS: u64 = 1_000;

/// The cortex scenario.
#[derive(Debug, Clone, Copy)]
pub struct CortexScenario;

/// How big each part of the scenario is, from the run's options.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Creates timed without waiting.
    pub ingest: u64,
    /// Creates timed with a wait after each.
    pub ingest_wait: u64,
    /// Events in the replayed log.
    pub replay: u64,
    /// Distinct tasks in the replayed log.
    pub replay_tasks: u64,
    /// Rows in the queried states.
    pub query_rows: u64,
    /// Rows in the snapshotted states.
    pub snapshot_rows: u64,
    /// Time budget of one ingest case.
    pub ingest_time: Duration,
    /// Time budget of one query or snapshot case.
    pub op_time: Duration,
}

impl Sizes {
    /// The sizes for `o`.
    pub fn new(o: &Options) -> Self {
        let events = o.events.max(10);
        Sizes {
            ingest: events,
            ingest_wait: (events / 10).max(1),
            replay: events,
            replay_tasks: (events / 10).max(1),
            query_rows: (events / 20).clamp(10, 100_000),
            snapshot_rows: (events / 200).clamp(10, 10_000),
            ingest_time: o.run_budget,
            op_time: o.run_budget / 5,
        }
    }
}

/// Case names, in the order each system's results come back.
#[derive(Debug, Clone)]
pub struct Cases {
    ingest: String,
    ingest_wait: String,
    replay: String,
    find_unique: String,
    find_many_status: String,
    find_many_status_ref: String,
    count_where_status: String,
    find_many_tag: String,
    find_many_tag_ref: String,
    count_where_tag: String,
    tasks_encode: String,
    tasks_decode: String,
    memories_encode: String,
    memories_decode: String,
}

impl Cases {
    fn new(s: &Sizes) -> Self {
        let (q, n) = (s.query_rows, s.snapshot_rows);
        Cases {
            ingest: "tasks_ingest_create".into(),
            ingest_wait: "tasks_ingest_create_wait".into(),
            replay: format!("tasks_fold_replay_{}ev", s.replay),
            find_unique: format!("tasks_find_unique_{q}"),
            find_many_status: format!("tasks_find_many_status_{q}"),
            find_many_status_ref: format!("tasks_find_many_status_ref_{q}"),
            count_where_status: format!("tasks_count_where_status_{q}"),
            find_many_tag: format!("memories_find_many_tag_{q}"),
            find_many_tag_ref: format!("memories_find_many_tag_ref_{q}"),
            count_where_tag: format!("memories_count_where_tag_{q}"),
            tasks_encode: format!("tasks_snapshot_encode_{n}"),
            tasks_decode: format!("tasks_snapshot_decode_{n}"),
            memories_encode: format!("memories_snapshot_encode_{n}"),
            memories_decode: format!("memories_snapshot_decode_{n}"),
        }
    }

    fn all(&self) -> Vec<String> {
        [
            &self.ingest,
            &self.ingest_wait,
            &self.replay,
            &self.find_unique,
            &self.find_many_status,
            &self.find_many_status_ref,
            &self.count_where_status,
            &self.find_many_tag,
            &self.find_many_tag_ref,
            &self.count_where_tag,
            &self.tasks_encode,
            &self.tasks_decode,
            &self.memories_encode,
            &self.memories_decode,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

impl Scenario for CortexScenario {
    fn name(&self) -> &'static str {
        "cortex"
    }

    fn summary(&self) -> &'static str {
        "CortEX tasks and memories models: ingest, fold replay, query latency, snapshot encode and decode"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let sizes = Sizes::new(ctx.options);
        let cases = Cases::new(&sizes);
        ctx.each_system(&cases.all(), &[Capability::CortexModels], |system, _stage| {
            let rt = runtime()?;
            match system.name() {
                name if name.starts_with("redex") => ours::run(&rt, &sizes, &cases),
                #[cfg(feature = "peers")]
                "net-mesh" => peer::run(&rt, &sizes, &cases),
                other => Err(format!("no CortEX runner for system {other}").into()),
            }
        })
    }
}

/// The runtime the models' fold tasks run on: two workers, like the criterion benches.
pub fn runtime() -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// Times `sample` (given its index; returning the events and payload bytes it handled) until
/// `samples_max` samples or `time_max` of wall time, one latency sample per call.
pub fn sample_loop(
    op: &'static str,
    samples_max: u64,
    time_max: Duration,
    mut sample: impl FnMut(u64) -> Result<(u64, u64)>,
) -> Result<Measurement> {
    let mut recorder = Recorder::new(op)?;
    let deadline = Instant::now() + time_max;
    while recorder.ops() < samples_max {
        let start = Instant::now();
        let (events, bytes) = sample(recorder.ops())?;
        let end = Instant::now();
        recorder.record(end - start, events, bytes);
        if end >= deadline {
            break;
        }
    }
    Ok(recorder.finish())
}

/// Throughput of the median sample (`events` per p50), not of the mean, for cases whose
/// samples are whole runs (replays, restarts).
pub fn per_median(mut m: Measurement, events: u64) -> Measurement {
    if let Some(lat) = m.latency {
        let secs = (lat.p50_us / 1e6).max(1e-9);
        m.events_per_s = events as f64 / secs;
        m.payload_bytes_per_s = 0.0;
    }
    m
}

/// A result read against no machine limit.
fn row(case: &str, m: Measurement) -> CaseResult {
    CaseResult::new(case, m, LimitUse::None)
}

/// The event of index `i` in a replayed log over `tasks` ids: each round of `tasks` events
/// creates (first round), completes, then renames every task, and again.
pub fn replay_event(i: u64, tasks: u64) -> (u8, u64) {
    let kind = u8::try_from((i / tasks) % 3).unwrap_or(0);
    (kind, i % tasks + 1)
}

/// Our CortEX.
mod ours {
    use super::*;

    use cortex::memories::{MemoriesAdapter, MemoriesFilter, MemoriesState};
    use cortex::tasks::{TaskStatus, TasksAdapter, TasksFilter, TasksState};
    use redex::Redex;

    fn tasks(redex: &Redex) -> Result<TasksAdapter> {
        Ok(TasksAdapter::open(redex, ORIGIN)?)
    }

    /// A tasks model of `n` rows, a third of them completed; returns the last seq.
    fn populated_tasks(rt: &Runtime, n: u64) -> Result<TasksAdapter> {
        let tasks = tasks(&Redex::new())?;
        let mut last = 0;
        for i in 0..n {
            last = tasks.create(i + 1, &format!("task-{i}"), i)?;
            if i % 3 == 0 {
                last = tasks.complete(i + 1, i)?;
            }
        }
        rt.block_on(tasks.wait_for_seq(last))?;
        Ok(tasks)
    }

    fn populated_memories(rt: &Runtime, n: u64) -> Result<MemoriesAdapter> {
        let memories = MemoriesAdapter::open(&Redex::new(), ORIGIN)?;
        let mut last = 0;
        for i in 0..n {
            let tag = if i % 2 == 0 { "alpha" } else { "beta" };
            last = memories.store(i + 1, &format!("content-{i}"), &[tag], "src", i)?;
        }
        rt.block_on(memories.wait_for_seq(last))?;
        Ok(memories)
    }

    pub fn run(rt: &Runtime, s: &Sizes, c: &Cases) -> Result<Vec<CaseResult>> {
        let _enter = rt.enter();
        let mut out = Vec::new();

        let t = tasks(&Redex::new())?;
        let mut last = 0;
        let m = sample_loop("create", s.ingest, s.ingest_time, |i| {
            last = t.create(i + 1, "t", i)?;
            Ok((1, 0))
        })?;
        let caught_up = Instant::now();
        rt.block_on(t.wait_for_seq(last))?;
        let lag = caught_up.elapsed();
        out.push(row(&c.ingest, m).with_note(format!(
            "fold caught up {:.1} ms after the last create",
            lag.as_secs_f64() * 1e3
        )));
        rt.block_on(t.close())?;

        let t = tasks(&Redex::new())?;
        let m = sample_loop("create+wait_for_seq", s.ingest_wait, s.ingest_time, |i| {
            let seq = t.create(i + 1, "t", i)?;
            rt.block_on(t.wait_for_seq(seq))?;
            Ok((1, 0))
        })?;
        out.push(row(&c.ingest_wait, m));
        rt.block_on(t.close())?;

        // Replay: a writer fills the log; each replay opens a fresh adapter on the same
        // channel (the same live log) and folds it from the start.
        let redex = Redex::new();
        let writer = tasks(&redex)?;
        let mut last = 0;
        for i in 0..s.replay {
            let (kind, id) = replay_event(i, s.replay_tasks);
            last = match kind {
                0 => writer.create(id, "a task", i)?,
                1 => writer.complete(id, i)?,
                _ => writer.rename(id, "renamed", i)?,
            };
        }
        rt.block_on(writer.wait_for_seq(last))?;
        let mut replays = Recorder::new("open+fold")?;
        for _ in 0..REPLAYS {
            let start = Instant::now();
            let reader = tasks(&redex)?;
            rt.block_on(reader.wait_for_seq(last))?;
            replays.record(start.elapsed(), s.replay, 0);
            let rows = reader.state().read().len() as u64;
            if rows != s.replay_tasks.min(s.replay) {
                return Err(format!("replay folded {rows} tasks").into());
            }
        }
        out.push(
            row(&c.replay, per_median(replays.finish(), s.replay))
                .with_note(format!("{REPLAYS} replays; events/s = events / p50 replay")),
        );
        drop(writer);

        let tasks = populated_tasks(rt, s.query_rows)?;
        let state = tasks.state().read();
        let completed = TasksFilter { status: Some(TaskStatus::Completed), ..Default::default() };
        let n = s.query_rows;
        let m = sample_loop("find_unique x1000", u64::MAX, s.op_time, |i| {
            let mut found = 0;
            for k in 0..BATCH_CALLS {
                let id = black_box((i * BATCH_CALLS + k) % n + 1);
                found += u64::from(state.find_unique(id).is_some());
            }
            Ok((found, 0))
        })?;
        out.push(row(&c.find_unique, m));
        let m = sample_loop("find_many", u64::MAX, s.op_time, |_| {
            Ok((state.find_many(&completed).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_status, m));
        let m = sample_loop("find_many_ref", u64::MAX, s.op_time, |_| {
            Ok((state.find_many_ref(&completed).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_status_ref, m));
        let m = sample_loop("count_where x1000", u64::MAX, s.op_time, |_| {
            for _ in 0..BATCH_CALLS {
                black_box(state.count_where(black_box(&completed)));
            }
            Ok((BATCH_CALLS, 0))
        })?;
        out.push(row(&c.count_where_status, m));
        drop(state);

        let memories = populated_memories(rt, s.query_rows)?;
        let state = memories.state().read();
        let alpha = MemoriesFilter { tag: Some("alpha".into()), ..Default::default() };
        let m = sample_loop("find_many", u64::MAX, s.op_time, |_| {
            Ok((state.find_many(&alpha).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_tag, m));
        let m = sample_loop("find_many_ref", u64::MAX, s.op_time, |_| {
            Ok((state.find_many_ref(&alpha).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_tag_ref, m));
        let m = sample_loop("count_where x1000", u64::MAX, s.op_time, |_| {
            for _ in 0..BATCH_CALLS {
                black_box(state.count_where(black_box(&alpha)));
            }
            Ok((BATCH_CALLS, 0))
        })?;
        out.push(row(&c.count_where_tag, m));
        drop(state);
        rt.block_on(tasks.close())?;
        rt.block_on(memories.close())?;

        let rows = s.snapshot_rows;
        let tasks = populated_tasks(rt, rows)?;
        let (bytes, _) = tasks.snapshot()?;
        let m = sample_loop("snapshot()", u64::MAX, s.op_time, |_| {
            Ok((rows, tasks.snapshot()?.0.len() as u64))
        })?;
        out.push(row(&c.tasks_encode, m));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let state: TasksState = cortex::snapshot::decode(&bytes)?;
            Ok((state.len() as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.tasks_decode, m));
        let memories = populated_memories(rt, rows)?;
        let (bytes, _) = memories.snapshot()?;
        let m = sample_loop("snapshot()", u64::MAX, s.op_time, |_| {
            Ok((rows, memories.snapshot()?.0.len() as u64))
        })?;
        out.push(row(&c.memories_encode, m));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let state: MemoriesState = cortex::snapshot::decode(&bytes)?;
            Ok((state.len() as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.memories_decode, m));
        rt.block_on(tasks.close())?;
        rt.block_on(memories.close())?;
        Ok(out)
    }
}

/// net-mesh 0.46's CortEX.
#[cfg(feature = "peers")]
pub(crate) mod peer {
    use super::*;

    use net::adapter::net::cortex::memories::{MemoriesAdapter, MemoriesFilter, MemoriesState};
    use net::adapter::net::cortex::tasks::{TaskStatus, TasksAdapter, TasksFilter, TasksState};
    use net::adapter::net::redex::{Redex, RedexFileConfig};

    /// What the reference's `snapshot()` bytes hold: its adapter's app seq and the postcard
    /// of its state (what its `open_from_snapshot` unwraps before it opens the log).
    #[derive(serde::Deserialize)]
    pub(crate) struct SnapshotPayload {
        _app_seq: u64,
        pub(crate) inner: Vec<u8>,
    }

    pub(crate) fn err(what: &str, e: impl std::fmt::Debug) -> crate::harness::Error {
        format!("net-mesh {what}: {e:?}").into()
    }

    /// A file config whose tail buffer holds `n` events, as the reference's own benches size
    /// it, so its fold never lags behind a burst of appends.
    pub(crate) fn file_config(n: u64) -> RedexFileConfig {
        RedexFileConfig {
            tail_buffer_size: usize::try_from(n.saturating_mul(2)).unwrap_or(usize::MAX).max(1024),
            ..RedexFileConfig::default()
        }
    }

    fn tasks(rt: &Runtime, redex: &Redex, n: u64) -> Result<TasksAdapter> {
        rt.block_on(TasksAdapter::open_with_config(redex, ORIGIN, file_config(n)))
            .map_err(|e| err("open tasks", e))
    }

    fn wait_tasks(rt: &Runtime, t: &TasksAdapter, seq: u64) -> Result<()> {
        rt.block_on(t.wait_for_seq(seq)).map_err(|e| err("wait_for_seq", e))
    }

    fn populated_tasks(rt: &Runtime, n: u64) -> Result<TasksAdapter> {
        let tasks = tasks(rt, &Redex::new(), 2 * n)?;
        let mut last = 0;
        for i in 0..n {
            last = tasks.create(i + 1, format!("task-{i}"), i).map_err(|e| err("create", e))?;
            if i % 3 == 0 {
                last = tasks.complete(i + 1, i).map_err(|e| err("complete", e))?;
            }
        }
        wait_tasks(rt, &tasks, last)?;
        Ok(tasks)
    }

    fn populated_memories(rt: &Runtime, n: u64) -> Result<MemoriesAdapter> {
        let memories = rt
            .block_on(MemoriesAdapter::open_with_config(&Redex::new(), ORIGIN, file_config(n)))
            .map_err(|e| err("open memories", e))?;
        let mut last = 0;
        for i in 0..n {
            let tag = if i % 2 == 0 { "alpha" } else { "beta" };
            last = memories
                .store(i + 1, format!("content-{i}"), vec![tag.to_string()], "src", i)
                .map_err(|e| err("store", e))?;
        }
        rt.block_on(memories.wait_for_seq(last)).map_err(|e| err("wait_for_seq", e))?;
        Ok(memories)
    }

    pub fn run(rt: &Runtime, s: &Sizes, c: &Cases) -> Result<Vec<CaseResult>> {
        let _enter = rt.enter();
        let mut out = Vec::new();

        let t = tasks(rt, &Redex::new(), s.ingest)?;
        let mut last = 0;
        let m = sample_loop("create", s.ingest, s.ingest_time, |i| {
            last = t.create(i + 1, "t", i).map_err(|e| err("create", e))?;
            Ok((1, 0))
        })?;
        let caught_up = Instant::now();
        wait_tasks(rt, &t, last)?;
        let lag = caught_up.elapsed();
        out.push(row(&c.ingest, m).with_note(format!(
            "fold caught up {:.1} ms after the last create",
            lag.as_secs_f64() * 1e3
        )));
        t.close().map_err(|e| err("close", e))?;

        let t = tasks(rt, &Redex::new(), s.ingest_wait)?;
        let m = sample_loop("create+wait_for_seq", s.ingest_wait, s.ingest_time, |i| {
            let seq = t.create(i + 1, "t", i).map_err(|e| err("create", e))?;
            wait_tasks(rt, &t, seq)?;
            Ok((1, 0))
        })?;
        out.push(row(&c.ingest_wait, m));
        t.close().map_err(|e| err("close", e))?;

        let redex = Redex::new();
        let writer = tasks(rt, &redex, s.replay)?;
        let mut last = 0;
        for i in 0..s.replay {
            let (kind, id) = replay_event(i, s.replay_tasks);
            last = match kind {
                0 => writer.create(id, "a task", i),
                1 => writer.complete(id, i),
                _ => writer.rename(id, "renamed", i),
            }
            .map_err(|e| err("append", e))?;
        }
        wait_tasks(rt, &writer, last)?;
        let mut replays = Recorder::new("open+fold")?;
        for _ in 0..REPLAYS {
            let start = Instant::now();
            let reader = tasks(rt, &redex, s.replay)?;
            wait_tasks(rt, &reader, last)?;
            replays.record(start.elapsed(), s.replay, 0);
            let rows = reader.state().read().len() as u64;
            if rows != s.replay_tasks.min(s.replay) {
                return Err(format!("net-mesh replay folded {rows} tasks").into());
            }
        }
        out.push(
            row(&c.replay, per_median(replays.finish(), s.replay))
                .with_note(format!("{REPLAYS} replays; events/s = events / p50 replay")),
        );
        drop(writer);

        let tasks = populated_tasks(rt, s.query_rows)?;
        let state_arc = tasks.state();
        let state = state_arc.read();
        let completed = TasksFilter { status: Some(TaskStatus::Completed), ..Default::default() };
        let n = s.query_rows;
        let m = sample_loop("find_unique x1000", u64::MAX, s.op_time, |i| {
            let mut found = 0;
            for k in 0..BATCH_CALLS {
                let id = black_box((i * BATCH_CALLS + k) % n + 1);
                found += u64::from(state.find_unique(id).is_some());
            }
            Ok((found, 0))
        })?;
        out.push(row(&c.find_unique, m));
        let m = sample_loop("find_many", u64::MAX, s.op_time, |_| {
            Ok((state.find_many(&completed).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_status, m));
        out.push(
            row(&c.find_many_status_ref, m)
                .with_note("its find_many (owned copies): it has no borrowed form"),
        );
        let m = sample_loop("count_where x1000", u64::MAX, s.op_time, |_| {
            for _ in 0..BATCH_CALLS {
                black_box(state.count_where(black_box(&completed)));
            }
            Ok((BATCH_CALLS, 0))
        })?;
        out.push(row(&c.count_where_status, m));
        drop(state);

        let memories = populated_memories(rt, s.query_rows)?;
        let state_arc = memories.state();
        let state = state_arc.read();
        let alpha = MemoriesFilter { tag: Some("alpha".into()), ..Default::default() };
        let m = sample_loop("find_many", u64::MAX, s.op_time, |_| {
            Ok((state.find_many(&alpha).len() as u64, 0))
        })?;
        out.push(row(&c.find_many_tag, m));
        out.push(
            row(&c.find_many_tag_ref, m)
                .with_note("its find_many (owned copies): it has no borrowed form"),
        );
        let m = sample_loop("count_where x1000", u64::MAX, s.op_time, |_| {
            for _ in 0..BATCH_CALLS {
                black_box(state.count_where(black_box(&alpha)));
            }
            Ok((BATCH_CALLS, 0))
        })?;
        out.push(row(&c.count_where_tag, m));
        drop(state);
        tasks.close().map_err(|e| err("close", e))?;
        memories.close().map_err(|e| err("close", e))?;

        let rows = s.snapshot_rows;
        let tasks = populated_tasks(rt, rows)?;
        let (bytes, _) = tasks.snapshot().map_err(|e| err("snapshot", e))?;
        let m = sample_loop("snapshot()", u64::MAX, s.op_time, |_| {
            let (bytes, _) = tasks.snapshot().map_err(|e| err("snapshot", e))?;
            Ok((rows, bytes.len() as u64))
        })?;
        out.push(row(&c.tasks_encode, m));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let payload: SnapshotPayload =
                postcard::from_bytes(&bytes).map_err(|e| err("decode", e))?;
            let state: TasksState =
                postcard::from_bytes(&payload.inner).map_err(|e| err("decode", e))?;
            Ok((state.len() as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.tasks_decode, m));
        let memories = populated_memories(rt, rows)?;
        let (bytes, _) = memories.snapshot().map_err(|e| err("snapshot", e))?;
        let m = sample_loop("snapshot()", u64::MAX, s.op_time, |_| {
            let (bytes, _) = memories.snapshot().map_err(|e| err("snapshot", e))?;
            Ok((rows, bytes.len() as u64))
        })?;
        out.push(row(&c.memories_encode, m));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let payload: SnapshotPayload =
                postcard::from_bytes(&bytes).map_err(|e| err("decode", e))?;
            let state: MemoriesState =
                postcard::from_bytes(&payload.inner).map_err(|e| err("decode", e))?;
            Ok((state.len() as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.memories_decode, m));
        tasks.close().map_err(|e| err("close", e))?;
        memories.close().map_err(|e| err("close", e))?;
        Ok(out)
    }
}

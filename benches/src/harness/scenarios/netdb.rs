//! `netdb`: NetDB over each system: whole-database snapshot bundles (encode, decode, and
//! decode with both model states rebuilt) and the restart of a persistent database from a
//! bundle plus the log tail against a full replay of its log.
//!
//! Bundles hold a tasks and a memories model of `--events / 200` rows each (1 000 in the quick
//! profile, at most 10 000; the reference's workload shapes); a case's events are the rows of
//! both models per call, its bytes the bundle's. The restart cases write a persistent tasks log
//! of `--events` events over `--events / 10` task ids (create, complete, rename, in rounds) to
//! the system's directory, take a bundle after nine tenths of it, then time, three times each,
//! a restart that opens the database and folds the whole log (`netdb_restart_replay_*`) and one
//! that decodes the bundle, restores from it and folds the last tenth
//! (`netdb_restart_snapshot_tail_*`), both until the last event is in the state. Their events/s
//! are the log's events over the median restart, so they compare directly; the snapshot row's
//! `vs_replay` extra is how many times faster than the same system's replay it is. All replays
//! run before any restore (a restore of the reference publishes a checkpoint that a later plain
//! open would load instead of replaying).
//!
//! Systems: our `netdb`; with `--features peers`, net-mesh 0.46's NetDB.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use tokio::runtime::Runtime;

use crate::harness::ceiling::LimitUse;
use crate::harness::measure::{Measurement, Recorder};
use crate::harness::scenario::{CaseResult, Context, Scenario, Stage};
use crate::harness::system::Capability;
use crate::harness::Result;

use super::cortex::{per_median, replay_event, runtime, sample_loop, Sizes, ORIGIN};

/// Restarts timed per kind and system.
const RESTARTS: u32 = 3;

/// The netdb scenario.
#[derive(Debug, Clone, Copy)]
pub struct NetDbScenario;

/// Case names.
#[derive(Debug, Clone)]
pub struct Cases {
    encode: String,
    decode: String,
    decode_states: String,
    replay: String,
    snapshot_tail: String,
}

impl Cases {
    fn new(s: &Sizes) -> Self {
        let n = s.snapshot_rows;
        Cases {
            encode: format!("netdb_bundle_encode_{n}x2"),
            decode: format!("netdb_bundle_decode_{n}x2"),
            decode_states: format!("netdb_bundle_decode_states_{n}x2"),
            replay: format!("netdb_restart_replay_{}ev", s.replay),
            snapshot_tail: format!("netdb_restart_snapshot_tail_{}ev", s.replay),
        }
    }

    fn all(&self) -> Vec<String> {
        [&self.encode, &self.decode, &self.decode_states, &self.replay, &self.snapshot_tail]
            .into_iter()
            .cloned()
            .collect()
    }
}

impl Scenario for NetDbScenario {
    fn name(&self) -> &'static str {
        "netdb"
    }

    fn summary(&self) -> &'static str {
        "NetDB bundles (encode, decode, states) and restart from a bundle plus the log tail vs a full replay"
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<()> {
        let sizes = Sizes::new(ctx.options);
        let cases = Cases::new(&sizes);
        ctx.each_system(&cases.all(), &[Capability::CortexModels], |system, stage| {
            let rt = runtime()?;
            match system.name() {
                name if name.starts_with("redex") => ours::run(&rt, &sizes, &cases, stage),
                #[cfg(feature = "peers")]
                "net-mesh" => peer::run(&rt, &sizes, &cases, stage),
                other => Err(format!("no NetDB runner for system {other}").into()),
            }
        })
    }
}

fn row(case: &str, m: Measurement) -> CaseResult {
    CaseResult::new(case, m, LimitUse::None)
}

/// The restart rows from the two recorders: events/s of the median restart, and how many
/// times faster the snapshot restart is than the replay.
fn restart_rows(c: &Cases, events: u64, replay: &Recorder, tail: &Recorder) -> Vec<CaseResult> {
    let replay = per_median(replay.finish(), events);
    let tail = per_median(tail.finish(), events);
    let note = format!("{RESTARTS} restarts; events/s = log events / p50 restart");
    let mut tail_row = row(&c.snapshot_tail, tail).with_note(note.clone());
    if tail.events_per_s > 0.0 && replay.events_per_s > 0.0 {
        tail_row = tail_row.with_extra("vs_replay", tail.events_per_s / replay.events_per_s);
    }
    vec![row(&c.replay, replay).with_note(note), tail_row]
}

/// Our NetDB.
mod ours {
    use super::*;

    use cortex::memories::MemoriesState;
    use cortex::tasks::TasksState;
    use netdb::{NetDb, NetDbConfig, NetDbSnapshot};
    use redex::{FsyncPolicy, Redex};

    fn populated(rt: &Runtime, n: u64) -> Result<NetDb> {
        let db =
            NetDb::builder(&Redex::new()).origin(ORIGIN).with_tasks().with_memories().build()?;
        let (mut t, mut m) = (0, 0);
        for i in 0..n {
            t = db.tasks().create(i + 1, &format!("task-{i}"), i)?;
            if i % 3 == 0 {
                t = db.tasks().complete(i + 1, i)?;
            }
            let tag = if i % 2 == 0 { "alpha" } else { "beta" };
            m = db.memories().store(i + 1, &format!("content-{i}"), &[tag], "src", i)?;
        }
        rt.block_on(async {
            db.tasks().wait_for_seq(t).await?;
            db.memories().wait_for_seq(m).await
        })?;
        Ok(db)
    }

    fn persistent() -> NetDbConfig {
        NetDbConfig::default()
            .origin(ORIGIN)
            .persistent(true)
            .fsync_policy(FsyncPolicy::Never)
            .with_tasks()
    }

    fn restart(rt: &Runtime, dir: &Path, last: u64, bundle: Option<&[u8]>) -> Result<NetDb> {
        let redex = Redex::with_persistent_dir(dir)?;
        let db = match bundle {
            None => NetDb::open(&redex, persistent())?,
            Some(bytes) => {
                NetDb::open_from_snapshot(&redex, &NetDbSnapshot::decode(bytes)?, persistent())?
            }
        };
        rt.block_on(db.tasks().wait_for_seq(last))?;
        Ok(db)
    }

    pub fn run(rt: &Runtime, s: &Sizes, c: &Cases, stage: &Stage<'_>) -> Result<Vec<CaseResult>> {
        let _enter = rt.enter();
        let mut out = Vec::new();
        let rows = 2 * s.snapshot_rows;
        let db = populated(rt, s.snapshot_rows)?;
        let bundle = db.snapshot()?;
        let bytes = bundle.encode();
        let m = sample_loop("snapshot+encode", u64::MAX, s.op_time, |_| {
            Ok((rows, db.snapshot()?.encode().len() as u64))
        })?;
        out.push(row(&c.encode, m).with_extra("bundle_bytes", bytes.len() as f64));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let bundle = NetDbSnapshot::decode(&bytes)?;
            black_box(bundle);
            Ok((rows, bytes.len() as u64))
        })?;
        out.push(row(&c.decode, m));
        let m = sample_loop("decode+states", u64::MAX, s.op_time, |_| {
            let bundle = NetDbSnapshot::decode(&bytes)?;
            let state = |name: &str| {
                bundle.model(name).map(|m| m.state.as_slice()).ok_or("model missing from bundle")
            };
            let tasks: TasksState = cortex::snapshot::decode(state("cortex/tasks")?)?;
            let memories: MemoriesState = cortex::snapshot::decode(state("cortex/memories")?)?;
            Ok(((tasks.len() + memories.len()) as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.decode_states, m));
        rt.block_on(db.close())?;

        // Restart: write the log, bundle at nine tenths, finish it, then restart.
        let at = s.replay - s.replay / 10;
        let (bundle, last) = {
            let db = NetDb::open(&Redex::with_persistent_dir(stage.dir)?, persistent())?;
            let mut bundle = None;
            let mut last = 0;
            for i in 0..s.replay {
                let (kind, id) = replay_event(i, s.replay_tasks);
                last = match kind {
                    0 => db.tasks().create(id, "a task", i)?,
                    1 => db.tasks().complete(id, i)?,
                    _ => db.tasks().rename(id, "renamed", i)?,
                };
                if i + 1 == at {
                    rt.block_on(db.tasks().wait_for_seq(last))?;
                    bundle = Some(db.snapshot()?.encode());
                }
            }
            rt.block_on(db.tasks().wait_for_seq(last))?;
            rt.block_on(db.close())?;
            (bundle.ok_or("no bundle taken")?, last)
        };
        let mut replay = Recorder::new("open+replay")?;
        let mut tail = Recorder::new("decode+restore+tail")?;
        for (recorder, bundle) in [(&mut replay, None), (&mut tail, Some(bundle.as_slice()))] {
            for _ in 0..RESTARTS {
                let start = Instant::now();
                let db = restart(rt, stage.dir, last, bundle)?;
                recorder.record(start.elapsed(), s.replay, 0);
                let n = db.tasks().state().read().len() as u64;
                rt.block_on(db.close())?;
                if n != s.replay_tasks.min(s.replay) {
                    return Err(format!("restart folded {n} tasks").into());
                }
            }
        }
        out.extend(restart_rows(c, s.replay, &replay, &tail));
        Ok(out)
    }
}

/// net-mesh 0.46's NetDB.
#[cfg(feature = "peers")]
mod peer {
    use super::*;

    use net::adapter::net::cortex::memories::MemoriesState;
    use net::adapter::net::cortex::tasks::TasksState;
    use net::adapter::net::netdb::{NetDb, NetDbSnapshot};
    use net::adapter::net::redex::Redex;

    use super::super::cortex::peer::{err, SnapshotPayload};

    /// Writes between waits for the fold while filling (untimed): its NetDB opens files with
    /// the default tail buffer, and a fold that falls that far behind stops.
    const PACE: u64 = 256;

    fn populated(rt: &Runtime, n: u64) -> Result<NetDb> {
        let db = rt
            .block_on(
                NetDb::builder(Redex::new()).origin(ORIGIN).with_tasks().with_memories().build(),
            )
            .map_err(|e| err("build", e))?;
        let (mut t, mut m) = (0, 0);
        for i in 0..n {
            t = db.tasks().create(i + 1, format!("task-{i}"), i).map_err(|e| err("create", e))?;
            if i % 3 == 0 {
                t = db.tasks().complete(i + 1, i).map_err(|e| err("complete", e))?;
            }
            let tag = if i % 2 == 0 { "alpha" } else { "beta" };
            m = db
                .memories()
                .store(i + 1, format!("content-{i}"), vec![tag.to_string()], "src", i)
                .map_err(|e| err("store", e))?;
            if i % PACE == PACE - 1 {
                rt.block_on(db.tasks().wait_for_seq(t)).map_err(|e| err("wait", e))?;
                rt.block_on(db.memories().wait_for_seq(m)).map_err(|e| err("wait", e))?;
            }
        }
        rt.block_on(db.tasks().wait_for_seq(t)).map_err(|e| err("wait", e))?;
        rt.block_on(db.memories().wait_for_seq(m)).map_err(|e| err("wait", e))?;
        Ok(db)
    }

    fn state<S: serde::de::DeserializeOwned>(model: &Option<(Vec<u8>, Option<u64>)>) -> Result<S> {
        let (bytes, _) = model.as_ref().ok_or("model missing from bundle")?;
        let payload: SnapshotPayload = postcard::from_bytes(bytes).map_err(|e| err("decode", e))?;
        postcard::from_bytes(&payload.inner).map_err(|e| err("decode", e))
    }

    fn restart(rt: &Runtime, dir: &Path, last: u64, bundle: Option<&[u8]>) -> Result<NetDb> {
        let builder = NetDb::builder(Redex::new().with_persistent_dir(dir))
            .origin(ORIGIN)
            .persistent(true)
            .with_tasks();
        let db = match bundle {
            None => rt.block_on(builder.build()),
            Some(bytes) => {
                let bundle = NetDbSnapshot::decode(bytes).map_err(|e| err("decode", e))?;
                rt.block_on(builder.build_from_snapshot(&bundle))
            }
        }
        .map_err(|e| err("restart", e))?;
        rt.block_on(db.tasks().wait_for_seq(last)).map_err(|e| err("wait", e))?;
        Ok(db)
    }

    pub fn run(rt: &Runtime, s: &Sizes, c: &Cases, stage: &Stage<'_>) -> Result<Vec<CaseResult>> {
        let _enter = rt.enter();
        let mut out = Vec::new();
        let rows = 2 * s.snapshot_rows;
        let db = populated(rt, s.snapshot_rows)?;
        let bundle = db.snapshot().map_err(|e| err("snapshot", e))?;
        let bytes = bundle.encode().map_err(|e| err("encode", e))?;
        let m = sample_loop("snapshot+encode", u64::MAX, s.op_time, |_| {
            let bundle = db.snapshot().map_err(|e| err("snapshot", e))?;
            Ok((rows, bundle.encode().map_err(|e| err("encode", e))?.len() as u64))
        })?;
        out.push(row(&c.encode, m).with_extra("bundle_bytes", bytes.len() as f64));
        let m = sample_loop("decode", u64::MAX, s.op_time, |_| {
            let bundle = NetDbSnapshot::decode(&bytes).map_err(|e| err("decode", e))?;
            black_box(bundle);
            Ok((rows, bytes.len() as u64))
        })?;
        out.push(row(&c.decode, m));
        let m = sample_loop("decode+states", u64::MAX, s.op_time, |_| {
            let bundle = NetDbSnapshot::decode(&bytes).map_err(|e| err("decode", e))?;
            let tasks: TasksState = state(&bundle.tasks)?;
            let memories: MemoriesState = state(&bundle.memories)?;
            Ok(((tasks.len() + memories.len()) as u64, bytes.len() as u64))
        })?;
        out.push(row(&c.decode_states, m));
        db.close().map_err(|e| err("close", e))?;

        let at = s.replay - s.replay / 10;
        let (bundle, last) = {
            let db = rt
                .block_on(
                    NetDb::builder(Redex::new().with_persistent_dir(stage.dir))
                        .origin(ORIGIN)
                        .persistent(true)
                        .with_tasks()
                        .build(),
                )
                .map_err(|e| err("build", e))?;
            let mut bundle = None;
            let mut last = 0;
            for i in 0..s.replay {
                let (kind, id) = replay_event(i, s.replay_tasks);
                last = match kind {
                    0 => db.tasks().create(id, "a task", i),
                    1 => db.tasks().complete(id, i),
                    _ => db.tasks().rename(id, "renamed", i),
                }
                .map_err(|e| err("append", e))?;
                if i % PACE == PACE - 1 {
                    rt.block_on(db.tasks().wait_for_seq(last)).map_err(|e| err("wait", e))?;
                }
                if i + 1 == at {
                    rt.block_on(db.tasks().wait_for_seq(last)).map_err(|e| err("wait", e))?;
                    let snap = db.snapshot().map_err(|e| err("snapshot", e))?;
                    bundle = Some(snap.encode().map_err(|e| err("encode", e))?);
                }
            }
            rt.block_on(db.tasks().wait_for_seq(last)).map_err(|e| err("wait", e))?;
            db.close().map_err(|e| err("close", e))?;
            (bundle.ok_or("no bundle taken")?, last)
        };
        let mut replay = Recorder::new("open+replay")?;
        let mut tail = Recorder::new("decode+restore+tail")?;
        for (recorder, bundle) in [(&mut replay, None), (&mut tail, Some(bundle.as_slice()))] {
            for _ in 0..RESTARTS {
                let start = Instant::now();
                let db = restart(rt, stage.dir, last, bundle)?;
                recorder.record(start.elapsed(), s.replay, 0);
                let n = db.tasks().state().read().len() as u64;
                db.close().map_err(|e| err("close", e))?;
                if n != s.replay_tasks.min(s.replay) {
                    return Err(format!("net-mesh restart folded {n} tasks").into());
                }
            }
        }
        out.extend(restart_rows(c, s.replay, &replay, &tail));
        Ok(out)
    }
}

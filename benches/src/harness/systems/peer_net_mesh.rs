//! The reference system: net-mesh's RedEX (crate `net-mesh` 0.46, library `net`, features `redex`
//! and `redex-disk`).
//!
//! Its timed fsync policies spawn tokio tasks, so the system owns a one-worker runtime and opens
//! every log inside it. Retention is not applied on append: the harness calls its `sweep_retention`
//! whenever a tenth of the retention limit has been appended since the last sweep, the way a
//! user of it would keep the log bounded (within 10 %) without sweeping on every append, which
//! rewrites the disk segment each time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use net::adapter::net::{ChannelName, FsyncPolicy, Redex, RedexFile, RedexFileConfig};
use redex::Bytes;

use crate::harness::options::FsyncArg;
use crate::harness::system::{Capability, Log, LogSpec, LogSystem, SharedLog};
use crate::harness::Result;

/// net-mesh's RedEX, with the runtime its background fsync tasks need.
#[derive(Debug)]
pub struct NetMesh {
    runtime: tokio::runtime::Runtime,
}

impl NetMesh {
    /// Starts the runtime the peer's background tasks run on.
    pub fn new() -> Result<Self> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        Ok(NetMesh { runtime })
    }
}

struct NetMeshLog {
    file: RedexFile,
    _redex: Redex,
    /// Sweep once this many events were appended since the last sweep (`None`: no retention).
    sweep_every: Option<u64>,
    since_sweep: u64,
}

fn policy(fsync: FsyncArg) -> FsyncPolicy {
    match fsync {
        FsyncArg::Never => FsyncPolicy::Never,
        FsyncArg::EveryN(n) => FsyncPolicy::EveryN(n),
        FsyncArg::IntervalMs(ms) => FsyncPolicy::Interval(Duration::from_millis(ms)),
    }
}

impl LogSystem for NetMesh {
    fn name(&self) -> &'static str {
        "net-mesh"
    }

    fn supports(&self, capability: Capability) -> std::result::Result<(), String> {
        match capability {
            Capability::AppendBackend(_) => Err("no selectable append backend".into()),
            Capability::ReadBorrowed => Err("no borrowed read (reads return owned events)".into()),
            Capability::FrozenSegments => {
                Err("no warm tier (every event stays in the heap)".into())
            }
            _ => Ok(()),
        }
    }

    fn open(&self, spec: &LogSpec, channel: &str, dir: Option<&Path>) -> Result<Box<dyn Log>> {
        let _entered = self.runtime.enter();
        let redex = match (spec.persistent, dir) {
            (true, Some(dir)) => Redex::new().with_persistent_dir(dir),
            (true, None) => return Err("a persistent log needs a directory".into()),
            (false, _) => Redex::new(),
        };
        let mut config = RedexFileConfig::default()
            .with_persistent(spec.persistent)
            .with_fsync_policy(policy(spec.fsync));
        if let Some(events) = spec.retention_events {
            config = config.with_retention_max_events(events);
        }
        let name = ChannelName::new(channel).map_err(|e| format!("channel `{channel}`: {e:?}"))?;
        let file = redex.open_file(&name, config).map_err(|e| format!("open: {e:?}"))?;
        let sweep_every = spec.retention_events.map(|n| (n / 10).max(1));
        Ok(Box::new(NetMeshLog { file, _redex: redex, sweep_every, since_sweep: 0 }))
    }
}

impl NetMeshLog {
    /// Counts `n` appended events and sweeps retention when a sweep is due.
    fn appended(&mut self, n: u64) {
        let Some(every) = self.sweep_every else { return };
        self.since_sweep += n;
        if self.since_sweep >= every {
            self.file.sweep_retention();
            self.since_sweep = 0;
        }
    }
}

impl Log for NetMeshLog {
    fn append(&mut self, payload: &[u8]) -> Result<()> {
        self.file.append(payload).map_err(|e| format!("append: {e:?}"))?;
        self.appended(1);
        Ok(())
    }

    fn append_batch(&mut self, batch: &[Bytes]) -> Result<()> {
        self.file.append_batch(batch).map_err(|e| format!("append_batch: {e:?}"))?;
        self.appended(batch.len() as u64);
        Ok(())
    }

    fn scan(
        &mut self,
        chunk_events: Option<u64>,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let end = self.file.next_seq();
        let mut start = self.file.lowest_retained_seq().unwrap_or(end);
        let chunk = chunk_events.unwrap_or(u64::MAX).max(1);
        while start < end {
            let stop = start.saturating_add(chunk).min(end);
            let events = self.file.read_range(start, stop);
            let bytes = events.iter().map(|e| e.payload.len() as u64).sum();
            on_chunk(events.len() as u64, bytes);
            start = stop;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.file.sync().map_err(|e| format!("sync: {e:?}").into())
    }

    fn shared(&self) -> Result<Arc<dyn SharedLog>> {
        Ok(Arc::new(SharedFile(self.file.clone())))
    }

    fn retained_events(&self) -> u64 {
        self.file.len() as u64
    }

    fn next_seq(&self) -> u64 {
        self.file.next_seq()
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.file.close().map_err(|e| format!("close: {e:?}").into())
    }
}

/// The peer's file shared between appender threads. It has no durable append, so each call is
/// `append` then `sync()` (which fsyncs all of its files).
struct SharedFile(RedexFile);

impl SharedLog for SharedFile {
    fn durable_op(&self) -> &'static str {
        "append+sync"
    }

    fn append_durable(&self, payload: &[u8]) -> Result<()> {
        self.0.append(payload).map_err(|e| format!("append: {e:?}"))?;
        self.0.sync().map_err(|e| format!("sync: {e:?}").into())
    }
}

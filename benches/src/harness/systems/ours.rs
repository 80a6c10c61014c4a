//! Our engine, crate `redex`, on the append backend `--backend` chose (or the one a scenario
//! pins through [`LogSpec::backend`]).
//!
//! Durable appends use the engine's own `append_durable` / `append_batch_durable`, which
//! share fsyncs between concurrent appenders (group commit); the peers run append + sync.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redex::{
    AppendBackend, BackendKind, Bytes, ChannelName, FsyncPolicy, Redex, RedexFile, RedexFileConfig,
    Retention,
};

use crate::harness::options::FsyncArg;
use crate::harness::system::{Capability, Log, LogSpec, LogSystem, SharedLog};
use crate::harness::Result;

/// Our engine on one append backend.
#[derive(Debug)]
pub struct Ours {
    name: &'static str,
    backend: AppendBackend,
    /// The backend the last persistent log opened runs on.
    live: Mutex<Option<BackendKind>>,
}

impl Ours {
    /// Our engine named `name` in the tables, opening persistent logs on `backend` unless a
    /// scenario pins another.
    pub fn new(name: &'static str, backend: AppendBackend) -> Self {
        Ours { name, backend, live: Mutex::new(None) }
    }
}

/// A backend's name as the tables print it.
pub fn backend_name(backend: AppendBackend) -> &'static str {
    match backend {
        AppendBackend::Auto => "auto",
        AppendBackend::IoUring => "io_uring",
        AppendBackend::Std => "std",
    }
}

/// Calls `read` with each range of at most `chunk` seqs (at least one) that together cover
/// the retained entries of `file`, oldest first.
fn each_chunk(
    file: &RedexFile,
    chunk: u64,
    mut read: impl FnMut(u64, u64) -> Result<()>,
) -> Result<()> {
    let end = file.next_seq();
    let mut start = file.head_seq();
    while start < end {
        let stop = start.saturating_add(chunk.max(1)).min(end);
        read(start, stop)?;
        start = stop;
    }
    Ok(())
}

/// An open log of our engine, with the manager that owns its directory lock.
#[derive(Debug)]
struct OursLog {
    file: RedexFile,
    _redex: Redex,
}

fn policy(fsync: FsyncArg) -> FsyncPolicy {
    match fsync {
        FsyncArg::Never => FsyncPolicy::Never,
        FsyncArg::EveryN(n) => FsyncPolicy::EveryN(n),
        FsyncArg::IntervalMs(ms) => FsyncPolicy::Interval(Duration::from_millis(ms)),
    }
}

impl LogSystem for Ours {
    fn name(&self) -> &'static str {
        self.name
    }

    fn supports(&self, capability: Capability) -> std::result::Result<(), String> {
        match capability {
            Capability::AppendBackend(wanted)
                if wanted != AppendBackend::Auto
                    && self.backend != AppendBackend::Auto
                    && wanted != self.backend =>
            {
                Err(format!("runs the {} backend only", backend_name(self.backend)))
            }
            _ => Ok(()),
        }
    }

    fn take_live_backend(&self) -> Option<String> {
        let live = self.live.lock().ok()?.take();
        live.map(|b| b.to_string())
    }

    fn open(&self, spec: &LogSpec, channel: &str, dir: Option<&Path>) -> Result<Box<dyn Log>> {
        let redex = match (spec.persistent, dir) {
            (true, Some(dir)) => Redex::with_persistent_dir(dir)?,
            (true, None) => return Err("a persistent log needs a directory".into()),
            (false, _) => Redex::new(),
        };
        let mut config = RedexFileConfig::default()
            .with_persistent(spec.persistent)
            .with_fsync_policy(policy(spec.fsync))
            .with_append_backend(spec.backend.unwrap_or(self.backend));
        if let Some(events) = spec.retention_events {
            config = config.with_retention(Retention::events(events));
        }
        if let Some(bytes) = spec.segment_bytes {
            config = config.with_segment_bytes_max(bytes);
        }
        let file = redex.open_file(&ChannelName::new(channel)?, config)?;
        if let (Some(kind), Ok(mut live)) = (file.backend(), self.live.lock()) {
            *live = Some(kind);
        }
        Ok(Box::new(OursLog { file, _redex: redex }))
    }
}

impl Log for OursLog {
    fn append(&mut self, payload: &[u8]) -> Result<()> {
        self.file.append(payload)?;
        Ok(())
    }

    fn append_batch(&mut self, batch: &[Bytes]) -> Result<()> {
        self.file.append_batch(batch)?;
        Ok(())
    }

    fn scan(
        &mut self,
        chunk_events: Option<u64>,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        each_chunk(&self.file, chunk_events.unwrap_or(u64::MAX), |start, stop| {
            let events = self.file.read_range(start, stop)?;
            let bytes = events.iter().map(|e| e.payload.len() as u64).sum();
            on_chunk(events.len() as u64, bytes);
            Ok(())
        })
    }

    fn scan_borrowed(
        &mut self,
        chunk_events: u64,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        each_chunk(&self.file, chunk_events, |start, stop| {
            let batch = self.file.read_batch(start, stop)?;
            let bytes = batch.iter().map(|e| e.payload.len() as u64).sum();
            on_chunk(batch.len() as u64, bytes);
            Ok(())
        })
    }

    fn sync(&mut self) -> Result<()> {
        Ok(self.file.sync()?)
    }

    fn durable_batch_op(&self) -> &'static str {
        "append_batch_durable"
    }

    fn append_batch_durable(&mut self, batch: &[Bytes]) -> Result<()> {
        self.file.append_batch_durable(batch)?;
        Ok(())
    }

    fn shared(&self) -> Result<Arc<dyn SharedLog>> {
        Ok(Arc::new(SharedFile(self.file.clone())))
    }

    fn retained_events(&self) -> u64 {
        self.file.len()
    }

    fn next_seq(&self) -> u64 {
        self.file.next_seq()
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(self.file.close()?)
    }
}

/// Our file shared between appender threads (a `RedexFile` is a cheap handle to one file).
struct SharedFile(RedexFile);

impl SharedLog for SharedFile {
    fn durable_op(&self) -> &'static str {
        "append_durable"
    }

    fn append_durable(&self, payload: &[u8]) -> Result<()> {
        self.0.append_durable(payload)?;
        Ok(())
    }
}

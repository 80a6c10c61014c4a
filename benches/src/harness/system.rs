//! The interface every system under test implements, so one scenario drives our engine and its
//! peers through the same calls with the same payloads.
//!
//! A call through `dyn Log` costs the same few nanoseconds for every system, far below the cost
//! of any append or read it wraps, so the ratios between systems are not skewed by it.

use std::path::Path;
use std::sync::Arc;

use redex::{AppendBackend, Bytes};

use super::options::FsyncArg;
use super::Result;

/// How a scenario wants its log opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpec {
    /// Whether the log is on disk (in the directory passed to [`LogSystem::open`]).
    pub persistent: bool,
    /// Fsync policy of a persistent log.
    pub fsync: FsyncArg,
    /// Keep only the newest this many events, when set.
    pub retention_events: Option<u64>,
    /// Segment size, when the scenario needs small segments (retention evicts whole segments).
    pub segment_bytes: Option<u64>,
    /// Append backend pinned by the scenario (our engine only), overriding `--backend`.
    pub backend: Option<AppendBackend>,
}

impl LogSpec {
    /// A heap-only log.
    pub fn heap() -> Self {
        LogSpec {
            persistent: false,
            fsync: FsyncArg::Never,
            retention_events: None,
            segment_bytes: None,
            backend: None,
        }
    }

    /// A persistent log with the given fsync policy.
    pub fn disk(fsync: FsyncArg) -> Self {
        LogSpec { persistent: true, ..LogSpec::heap() }.with_fsync(fsync)
    }

    fn with_fsync(mut self, fsync: FsyncArg) -> Self {
        self.fsync = fsync;
        self
    }

    /// The same log on the append backend `backend`.
    pub fn with_backend(mut self, backend: AppendBackend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The same log keeping only its newest `events`, in segments of `segment_bytes`.
    pub fn with_retention(mut self, events: u64, segment_bytes: u64) -> Self {
        self.retention_events = Some(events);
        self.segment_bytes = Some(segment_bytes);
        self
    }
}

/// The operations a scenario may ask of a system. A system that cannot do one says so (and
/// why) through [`LogSystem::supports`], and the table shows the reason instead of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// A log that lives only in memory.
    HeapLog,
    /// Single `append` calls.
    Append,
    /// `append_batch` calls.
    AppendBatch,
    /// Reading the whole log back in one call.
    ReadWhole,
    /// Reading the log back in chunks.
    ReadChunked,
    /// Reading the log back in chunks lent out by reference (no owned event per entry; our
    /// `read_batch`).
    ReadBorrowed,
    /// Closing and reopening a persistent log.
    Reopen,
    /// `sync()` after an append, returning once it is durable.
    Sync,
    /// Keeping only the newest N events.
    RetentionEvents,
    /// The configured fsync policy, as given.
    FsyncPolicy(FsyncArg),
    /// Running on the given append backend; `AppendBackend::Auto` asks whether the system has
    /// selectable append backends at all.
    AppendBackend(AppendBackend),
    /// A handle ([`SharedLog`]) that several threads append through at once.
    SharedAppend,
    /// History rolls into frozen segments read from disk (a warm tier), not kept in the heap.
    FrozenSegments,
    /// A fold layer over the log: the CortEX tasks and memories models, their snapshots, and
    /// NetDB bundles of them.
    CortexModels,
}

/// A handle to an open log that appenders on several threads use at the same time.
pub trait SharedLog: Send + Sync {
    /// What one [`SharedLog::append_durable`] call runs, for the tables: `append_durable` for a
    /// system with a durable append, else `append+sync`.
    fn durable_op(&self) -> &'static str;

    /// Appends one payload and returns once it is durable (fsynced): the system's durable
    /// append, or its closest equivalent (append, then sync).
    fn append_durable(&self, payload: &[u8]) -> Result<()>;
}

/// One open log of some system.
pub trait Log {
    /// Appends one payload.
    fn append(&mut self, payload: &[u8]) -> Result<()>;

    /// Appends a batch of payloads in one call.
    fn append_batch(&mut self, batch: &[Bytes]) -> Result<()>;

    /// Reads every retained event, oldest first, in calls of at most `chunk_events` (one call
    /// when `None`). After each call it reports the events and payload bytes that call returned
    /// to `on_chunk`, so the caller can time each call.
    fn scan(&mut self, chunk_events: Option<u64>, on_chunk: &mut dyn FnMut(u64, u64))
        -> Result<()>;

    /// [`Log::scan`] with each chunk lent out by reference instead of as owned events, for a
    /// system with [`Capability::ReadBorrowed`]; the others answer an error.
    fn scan_borrowed(
        &mut self,
        chunk_events: u64,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let _ = (chunk_events, on_chunk);
        Err("no borrowed read".into())
    }

    /// Makes everything appended so far durable.
    fn sync(&mut self) -> Result<()>;

    /// What [`Log::append_batch_durable`] runs, for the tables.
    fn durable_batch_op(&self) -> &'static str {
        "append_batch+sync"
    }

    /// Appends a batch and returns once it is durable: by default `append_batch` then `sync`;
    /// a system with a durable append uses it.
    fn append_batch_durable(&mut self, batch: &[Bytes]) -> Result<()> {
        self.append_batch(batch)?;
        self.sync()
    }

    /// A handle appenders on other threads can use at the same time as this one.
    fn shared(&self) -> Result<Arc<dyn SharedLog>> {
        Err("no handle several threads can append through".into())
    }

    /// Events currently retained.
    fn retained_events(&self) -> u64;

    /// Seq the next append gets (total events ever appended).
    fn next_seq(&self) -> u64;

    /// Closes the log (fsyncing it when persistent).
    fn close(self: Box<Self>) -> Result<()>;
}

/// A system under test: our engine or a peer.
pub trait LogSystem {
    /// Short name used in tables and files (`redex`, `net-mesh`, `batpak`).
    fn name(&self) -> &'static str;

    /// `Ok` when the system can do `capability`, else the reason it cannot.
    fn supports(&self, capability: Capability) -> std::result::Result<(), String>;

    /// Opens (creating or recovering) the log `channel` per `spec`; `dir` is the directory of
    /// a persistent log and is `None` for a heap log.
    fn open(&self, spec: &LogSpec, channel: &str, dir: Option<&Path>) -> Result<Box<dyn Log>>;

    /// The append backend the last persistent log opened since the previous call runs on
    /// (`io_uring`, `std`), for systems that have a choice; recorded with each row.
    fn take_live_backend(&self) -> Option<String> {
        None
    }
}

/// Whether `system` can run something needing all of `needs`: the first missing capability's
/// reason otherwise.
pub fn check(system: &dyn LogSystem, needs: &[Capability]) -> std::result::Result<(), String> {
    needs.iter().try_for_each(|c| system.supports(*c))
}

/// The capabilities a log opened per `spec` needs before any operation.
pub fn spec_needs(spec: &LogSpec) -> Vec<Capability> {
    let mut needs = Vec::new();
    if !spec.persistent {
        needs.push(Capability::HeapLog);
    }
    if spec.persistent && spec.fsync.fsyncs() {
        needs.push(Capability::FsyncPolicy(spec.fsync));
    }
    if spec.retention_events.is_some() {
        needs.push(Capability::RetentionEvents);
    }
    if let Some(backend) = spec.backend {
        needs.push(Capability::AppendBackend(backend));
    }
    needs
}

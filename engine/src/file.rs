//! [`RedexFile`]: one named append-only log.
//!
//! A file is a `RwLock` around its `SegmentSet`: appends take the write lock, encode one frame
//! into the active segment's arena and write that frame to the active log with one `pwrite`;
//! reads take the read lock and clone `Bytes` slices out. Tail subscribers are fed from the
//! append path while the write lock is held, so the live stream and the stored log agree on
//! order.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use redex_tiers::frame;
use redex_tiers::log_file::LOG_HEADER_LEN;
use redex_tiers::manifest::SegmentMeta;
use redex_tiers::HotSegment;
use tokio::sync::broadcast;

use crate::batch::EventBatch;
use crate::channel::ChannelName;
use crate::clock::now_ns;
use crate::cold::ColdTier;
use crate::config::{BackendKind, RedexFileConfig, SEGMENT_BYTES_MAX};
use crate::durable::{DurabilityGate, DurablePosition};
use crate::error::{RedexError, Result};
use crate::event::RedexEvent;
use crate::manager::{DirLock, Registry};
use crate::retention::{self, Head};
use crate::segments::{Frozen, SegmentSet};
use crate::stats::{AppendCounters, FileStats, FsyncStats, TierStats};
use crate::storage::{ActiveLog, SegmentDir};
use crate::syncer::Syncer;
use freeze::FreezeJob;

mod age_timer;
mod archive;
mod cold_reads;
mod freeze;

/// Most entries one `read_range` preallocates for, so a huge range cannot allocate up front.
const READ_PREALLOC_MAX: u64 = 1 << 16;

/// A handle to one named log. Cheap to clone; all clones share the same log.
///
/// ```
/// # fn main() -> Result<(), redex::RedexError> {
/// use redex::{ChannelName, Redex, RedexFileConfig};
/// let redex = Redex::new();
/// let file = redex.open_file(&ChannelName::new("demo")?, RedexFileConfig::default())?;
/// assert_eq!(file.append(b"hello")?, 0);
/// assert_eq!(file.append_batch(&[b"a", b"b"])?, Some(1));
/// let events = file.read_range(0, 3)?;
/// assert_eq!(&events[2].payload[..], b"b");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedexFile {
    inner: Arc<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    channel: ChannelName,
    config: RedexFileConfig,
    state: RwLock<FileState>,
    storage: Option<SegmentDir>,
    /// Group commit of durable appends.
    durable: DurabilityGate,
    /// The cold tier, when a cold store is configured.
    cold: Option<Arc<ColdTier>>,
    /// Opened for inspection (`Redex::open_read_only`): no appends, nothing changed on disk.
    read_only: bool,
    /// Durable append calls, counted before the write lock is taken.
    durable_calls: std::sync::atomic::AtomicU64,
    fsyncs: Arc<FsyncStats>,
    /// Preallocate the active log ahead of appends: set by a fsync policy or the first durable
    /// append (an atomic, so durable appends need not take the write lock to set it).
    prefill: std::sync::atomic::AtomicBool,
    // Held so the directory stays locked while any file of it is open.
    _lock: Option<Arc<DirLock>>,
    /// The open files of the manager that opened this one, which `close` takes it out of.
    registry: Weak<Registry>,
}

#[derive(Debug)]
struct FileState {
    set: SegmentSet,
    /// The active segment's log; `None` for heap-only files, or after a rollover whose new log
    /// could not be created (the next append retries).
    log: Option<ActiveLog>,
    head: Head,
    last_ts: u64,
    syncer: Option<Syncer>,
    /// The background freeze of the previous active segment, if one is running.
    pending_freeze: Option<FreezeJob>,
    /// The file this state belongs to, for a finished freeze to have itself installed.
    owner: Weak<FileInner>,
    /// A failed background freeze, reported by the next `sync` or `close`.
    freeze_error: Option<RedexError>,
    /// A freeze finished since the warm window was last checked for segments to archive.
    archive_check_due: bool,
    /// Reused buffer a persistent append encodes its frame into.
    scratch: Vec<u8>,
    /// Bumped whenever a new active log starts; orders durable positions across logs.
    log_generation: u64,
    tail_tx: Option<broadcast::Sender<RedexEvent>>,
    closed: bool,
    poisoned: Option<String>,
    appends: AppendCounters,
}

/// What [`RedexFile::verify`] checked.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Damaged segments found by [`RedexFile::verify_each`], each naming its file and offset.
    pub problems: Vec<RedexError>,
    /// Frozen segments (warm and cold) whose index, payloads and timestamps were checked.
    pub frozen_segments: u64,
    /// How many of those were archived objects, fetched whole from the cold store.
    pub cold_segments: u64,
    /// Archived segments not checked because no cold store is configured.
    pub cold_segments_skipped: u64,
    /// Entries checked.
    pub entries: u64,
    /// Payload bytes checked.
    pub payload_bytes: u64,
}

/// The active segment rolls over once its in-memory index passes this, whatever its byte and
/// entry thresholds, so a log of tiny single appends cannot grow the heap without bound.
const HOT_INDEX_BYTES_MAX: usize = 8 << 20;

/// Where a segment lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// In memory: the active segment, or a full one whose freeze is running (or a heap-only
    /// file's).
    Hot,
    /// Frozen and read through mmap.
    Warm,
    /// Archived to the cold store; read by ranged fetches through the cache.
    Cold,
}

/// One segment, as [`RedexFile::segments`] describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Its tier.
    pub tier: Tier,
    /// First seq.
    pub first_seq: u64,
    /// One past the last seq.
    pub next_seq: u64,
    /// Timestamp of the first entry, if any.
    pub min_ts_ns: Option<u64>,
    /// Timestamp of the last entry, if any.
    pub max_ts_ns: Option<u64>,
    /// Bytes of its log (header and frames).
    pub log_bytes: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Its log file, for persistent files (`None` once archived).
    pub log_path: Option<std::path::PathBuf>,
}

/// Scratch space above this is released after the append that needed it.
const SCRATCH_KEEP_BYTES: usize = 1 << 20;

impl RedexFile {
    pub(crate) fn open(
        channel: ChannelName,
        config: RedexFileConfig,
        storage: Option<SegmentDir>,
        lock: Option<Arc<DirLock>>,
        read_only: bool,
        registry: Weak<Registry>,
    ) -> Result<Self> {
        config.validate()?;
        let (set, log) = match &storage {
            Some(dir) => {
                let rec = dir.recover(channel.as_str())?;
                (SegmentSet { frozen: rec.frozen.into(), active: rec.active }, rec.log)
            }
            None => (SegmentSet { frozen: VecDeque::new(), active: HotSegment::new(0, 0) }, None),
        };
        let retained_bytes =
            set.frozen.iter().map(Frozen::payload_bytes).sum::<u64>() + set.active.payload_bytes();
        let head = Head { seq: set.first_seq(), retained_bytes };
        let last_ts = set.next_seq().checked_sub(1).and_then(|s| set.timestamp_ns(s)).unwrap_or(0);
        let fsyncs = storage.as_ref().map(|d| Arc::clone(d.fsync_stats())).unwrap_or_default();
        let syncer = if read_only {
            None
        } else {
            log.as_ref().and_then(|l| Syncer::start(config.fsync_policy(), l, Arc::clone(&fsyncs)))
        };
        let mut state = FileState {
            set,
            log,
            head,
            last_ts,
            syncer,
            pending_freeze: None,
            owner: Weak::new(),
            freeze_error: None,
            archive_check_due: true,
            scratch: Vec::new(),
            log_generation: 0,
            tail_tx: None,
            closed: false,
            poisoned: None,
            appends: AppendCounters::default(),
        };
        let cold = ColdTier::new(channel.as_str(), config.cold());
        state.enforce_retention(&config, storage.as_ref(), cold.as_ref(), now_ns())?;
        if let (Some(tier), false) = (&cold, read_only) {
            tier.sweep_orphans(state.set.first_seq());
        }
        let prefill = config.fsync_policy() != crate::FsyncPolicy::Never;
        let inner = Arc::new_cyclic(|owner| {
            state.owner = owner.clone();
            FileInner {
                channel,
                config,
                state: RwLock::new(state),
                storage,
                durable: DurabilityGate::default(),
                cold,
                read_only,
                durable_calls: Default::default(),
                prefill: prefill.into(),
                fsyncs,
                _lock: lock,
                registry,
            }
        });
        let file = RedexFile { inner };
        file.maybe_archive(&mut file.inner.state.write());
        age_timer::register(&file);
        Ok(file)
    }

    /// The channel this file was opened as.
    pub fn channel(&self) -> &ChannelName {
        &self.inner.channel
    }

    /// The configuration this file was opened with.
    pub fn config(&self) -> &RedexFileConfig {
        &self.inner.config
    }

    /// Appends one entry and returns its seq. When this returns, the entry is in the kernel
    /// (persistent files) and survives a crash of the process.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        Ok(self.append_inner(&[payload], false, None)?.map_or(0, |(seq, _)| seq))
    }

    /// Appends a batch atomically (one frame, one write) and returns the seq of its first entry,
    /// or `None` for an empty batch. A batch that fails leaves no entry behind.
    pub fn append_batch<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<Option<u64>> {
        Ok(self.append_inner(payloads, false, None)?.map(|(first, _)| first))
    }

    /// [`RedexFile::append_batch`] on condition that the batch lands at `expected_seq`: the
    /// file's next seq is compared with it under the write lock, so no other append can come
    /// in between. If they differ, nothing is written and the call fails with
    /// [`RedexError::SeqMismatch`]. An empty batch writes nothing but is checked all the same
    /// (`Ok(None)` when the seq matches). [`crate::OrderedAppender`] is built on this.
    pub fn append_batch_at<P: AsRef<[u8]>>(
        &self,
        expected_seq: u64,
        payloads: &[P],
    ) -> Result<Option<u64>> {
        Ok(self.append_inner(payloads, false, Some(expected_seq))?.map(|(first, _)| first))
    }

    /// Appends one entry and returns its seq only once it is durable against a machine crash
    /// (fsynced). Concurrent durable appenders share fsyncs (group commit); a lone one writes
    /// and fsyncs in one submission on io_uring.
    pub fn append_durable(&self, payload: &[u8]) -> Result<u64> {
        // A batch of one always yields its seq; `None` is only for empty batches.
        Ok(self.append_batch_durable(&[payload])?.unwrap_or_default())
    }

    /// [`RedexFile::append_batch`], returning only once the batch is durable.
    pub fn append_batch_durable<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<Option<u64>> {
        self.append_durable_inner(payloads, None)
    }

    /// [`RedexFile::append_batch_at`], returning only once the batch is durable; on a
    /// [`RedexError::SeqMismatch`] nothing is written and nothing waits for an fsync.
    pub fn append_batch_at_durable<P: AsRef<[u8]>>(
        &self,
        expected_seq: u64,
        payloads: &[P],
    ) -> Result<Option<u64>> {
        self.append_durable_inner(payloads, Some(expected_seq))
    }

    fn append_durable_inner<P: AsRef<[u8]>>(
        &self,
        payloads: &[P],
        expected_seq: Option<u64>,
    ) -> Result<Option<u64>> {
        let durable = &self.inner.durable;
        let _in_progress = durable.enter();
        self.inner.durable_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Alone, write and fsync in one go; with company, write now and share an fsync.
        let alone = durable.appenders() == 1;
        self.inner.prefill.store(true, std::sync::atomic::Ordering::Relaxed);
        let Some((first, ticket)) = self.append_inner(payloads, alone, expected_seq)? else {
            return Ok(None);
        };
        if alone {
            // The frame was fsynced with its write, but a full segment whose freeze has not
            // fsynced its log yet is not durable: a machine crash could tear that log, and
            // recovery would then drop every later segment, this entry included.
            let freezing = self.inner.state.read().freezing_logs();
            self.fsync_logs(&freezing)?;
            durable.mark_durable(ticket);
        } else {
            durable.sync_through(
                ticket,
                || self.written_position(),
                || self.sync_reporting(false),
            )?;
        }
        Ok(Some(first))
    }

    /// Where the last written frame ends: (log generation, offset). Every append before a
    /// position is covered by an fsync that starts after it.
    fn written_position(&self) -> DurablePosition {
        let st = self.inner.state.read();
        DurablePosition { generation: st.log_generation, offset: st.set.active.log_len() }
    }

    /// The append path in use: `Some` for persistent files.
    pub fn backend(&self) -> Option<BackendKind> {
        self.inner.state.read().log.as_ref().map(ActiveLog::backend)
    }

    /// The append path: one frame, written (and, with `sync`, fsynced in the same call) at the
    /// end of the active log. Returns the first seq and where the frame ends. With `expected`,
    /// the append happens only if the file's next seq equals it (checked under the lock).
    fn append_inner<P: AsRef<[u8]>>(
        &self,
        payloads: &[P],
        sync: bool,
        expected: Option<u64>,
    ) -> Result<Option<(u64, DurablePosition)>> {
        let count = payloads.len() as u64;
        let frame_len = frame::encoded_len(payloads)
            .map(|l| l as u64)
            .filter(|&l| l + LOG_HEADER_LEN as u64 <= SEGMENT_BYTES_MAX)
            .ok_or_else(|| {
                batch_too_large(payloads.iter().map(|p| p.as_ref().len() as u64).sum())
            })?;
        // Read the clock before taking the lock: it is the costliest step of a small append
        // and needs no state (the stamp is raised to the previous one under the lock).
        let now = now_ns();
        let mut st = loop {
            let mut st = self.inner.state.write();
            self.check_writable(&st)?;
            if let Some(expected) = expected.filter(|&e| e != st.set.next_seq()) {
                return Err(RedexError::SeqMismatch {
                    channel: self.inner.channel.to_string(),
                    expected,
                    actual: st.set.next_seq(),
                });
            }
            if payloads.is_empty() {
                return Ok(None);
            }
            if sync {
                // A durable append must not succeed after an earlier fsync failed unseen: the
                // log could already have a hole before it.
                if let Some(e) = st.take_background_error() {
                    return Err(e);
                }
            }
            st.install_finished_freeze(self.inner.storage.as_ref());
            if !self.needs_rollover(&st, frame_len, count) {
                break st;
            }
            // A rollover waits for the previous freeze (at most one full segment waits in
            // memory); wait without the lock, so reads go on, then look again.
            match st.pending_freeze.as_ref().and_then(FreezeJob::running) {
                Some(freeze) => {
                    drop(st);
                    freeze.wait();
                }
                None => {
                    self.rollover(&mut st)?;
                    break st;
                }
            }
        };
        let cfg = &self.inner.config;
        let ts = now.max(st.last_ts);
        let first_seq = st.set.next_seq();
        let payload_bytes_before = st.set.active.payload_bytes();
        match &self.inner.storage {
            None => st.set.active.append(payloads, ts).map_err(|_| batch_too_large(frame_len))?,
            Some(dir) => {
                let prefill = self.inner.prefill.load(std::sync::atomic::Ordering::Relaxed);
                st.append_to_log(dir, payloads, ts, frame_len, sync, prefill)?
            }
        }
        st.last_ts = ts;
        let appended_bytes = st.set.active.payload_bytes() - payload_bytes_before;
        st.head.retained_bytes += appended_bytes;
        st.appends.record(count, appended_bytes);
        if let Some(s) = &st.syncer {
            s.note_append(count, frame_len);
        }
        if let Some(tx) = &st.tail_tx {
            // One lock per event sent, none counting receivers first. A failed send means
            // every subscriber is gone: the channel is dropped (the next `tail` opens another),
            // so appends without subscribers cost nothing here.
            let gone = (first_seq..first_seq + count).any(|seq| {
                st.set.active.get(seq).is_some_and(|(payload, _)| {
                    tx.send(RedexEvent { seq, timestamp_ns: ts, payload }).is_err()
                })
            });
            if gone {
                st.tail_tx = None;
            }
        }
        if cfg.retention().is_limited() {
            st.enforce_retention(cfg, self.inner.storage.as_ref(), self.inner.cold.as_ref(), ts)?;
        }
        if st.archive_check_due {
            self.maybe_archive(&mut st);
        }
        let ticket =
            DurablePosition { generation: st.log_generation, offset: st.set.active.log_len() };
        Ok(Some((first_seq, ticket)))
    }

    fn check_writable(&self, st: &FileState) -> Result<()> {
        if st.closed {
            return Err(self.closed_error());
        }
        if self.inner.read_only {
            return Err(RedexError::ReadOnly { channel: self.inner.channel.to_string() });
        }
        if let Some(reason) = &st.poisoned {
            return Err(RedexError::Poisoned {
                channel: self.inner.channel.to_string(),
                reason: reason.clone(),
            });
        }
        Ok(())
    }

    /// Whether a frame of `frame_len` bytes and `count` entries must go to a new segment.
    fn needs_rollover(&self, st: &FileState, frame_len: u64, count: u64) -> bool {
        let cfg = &self.inner.config;
        let active = &st.set.active;
        !active.is_empty()
            && (active.log_len() + frame_len > cfg.segment_bytes_max()
                || active.len() as u64 + count > cfg.segment_events_max()
                || active.index_bytes() > HOT_INDEX_BYTES_MAX)
    }

    fn closed_error(&self) -> RedexError {
        RedexError::Closed { channel: self.inner.channel.to_string() }
    }

    /// Starts a new active segment. A heap-only file keeps the full one in memory; a
    /// persistent file creates the next log (durably, so the order of segments survives a
    /// crash) and freezes the full one on a background thread, after the previous freeze (the
    /// append path waits for a running one outside the lock first, so this join is immediate).
    fn rollover(&self, st: &mut FileState) -> Result<()> {
        let next = st.set.next_seq();
        let Some(dir) = &self.inner.storage else {
            let full = std::mem::replace(&mut st.set.active, HotSegment::new(next, 0));
            st.set.frozen.push_back(Frozen::Hot { seg: Arc::new(full), log: None });
            return Ok(());
        };
        st.wait_for_freeze();
        let new_log = dir.create_log(next)?;
        let full =
            std::mem::replace(&mut st.set.active, HotSegment::new(next, LOG_HEADER_LEN as u64));
        let old_log = st.set_active_log(new_log).map(Arc::new);
        st.set.frozen.push_back(Frozen::Hot { seg: Arc::new(full), log: old_log });
        st.start_next_freeze(dir);
        Ok(())
    }

    /// Seq the next append will get (one past the last entry).
    pub fn next_seq(&self) -> u64 {
        self.inner.state.read().set.next_seq()
    }

    /// Lowest seq still readable (everything below was evicted by retention).
    pub fn head_seq(&self) -> u64 {
        self.inner.state.read().head.seq
    }

    /// Number of retained entries.
    pub fn len(&self) -> u64 {
        let st = self.inner.state.read();
        st.set.next_seq() - st.head.seq
    }

    /// Whether no entry is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Payload bytes of the retained entries.
    pub fn retained_bytes(&self) -> u64 {
        self.inner.state.read().head.retained_bytes
    }

    /// The entry at `seq`: `Ok(None)` if it was not appended yet, [`RedexError::Evicted`] if
    /// retention dropped it. An archived entry is fetched from the cold store (blocking this
    /// thread; async code may prefer [`RedexFile::read_cold`]).
    pub fn get(&self, seq: u64) -> Result<Option<RedexEvent>> {
        let st = self.inner.state.read();
        self.check_readable(&st, seq)?;
        if let Some((source, _)) = self.cold_part(&st, seq, seq.saturating_add(1))? {
            drop(st);
            return Self::get_cold(source, seq);
        }
        Ok(st.set.get(seq)?.map(|(payload, timestamp_ns)| RedexEvent {
            seq,
            timestamp_ns,
            payload,
        }))
    }

    /// Refuses reads of a closed file and of seqs below the retained head.
    fn check_readable(&self, st: &FileState, seq: u64) -> Result<()> {
        if st.closed {
            return Err(self.closed_error());
        }
        if seq < st.head.seq {
            return Err(RedexError::Evicted { requested: seq, head: st.head.seq });
        }
        Ok(())
    }

    /// Entries `start..end` in seq order; `end` is clamped to [`RedexFile::next_seq`] (at each
    /// step: when an archived part is fetched first, entries appended meanwhile can be
    /// included). A start below the retained head is [`RedexError::Evicted`]. Archived entries
    /// are fetched from the cold store outside the file's lock (blocking this thread), then
    /// the rest is read locally, so the result is the same bytes in the same order whatever
    /// tier holds them.
    pub fn read_range(&self, start: u64, end: u64) -> Result<Vec<RedexEvent>> {
        self.read_blocking(start, end)
    }

    /// [`RedexFile::read_range`] as an [`EventBatch`]: the same entries, the same tiers and
    /// errors, but payloads are lent out as `&[u8]` from buffers the batch keeps alive (one
    /// reference per warm segment or hot frame, not one per entry), which makes bulk reads of
    /// small entries markedly cheaper. Take an entry out with [`EventRef::to_event`].
    ///
    /// [`EventRef::to_event`]: crate::EventRef::to_event
    pub fn read_batch(&self, start: u64, end: u64) -> Result<EventBatch> {
        self.read_blocking(start, end)
    }

    /// Makes every entry appended so far durable against a machine crash: `fdatasync` of the
    /// active log and of any full segment whose background freeze has not finished (finished
    /// ones were fsynced when they froze). Reports a failed background fsync or freeze since the
    /// last call as an error.
    pub fn sync(&self) -> Result<()> {
        self.sync_reporting(true)
    }

    /// [`RedexFile::sync`]; with `freeze_errors` false, a failed background freeze is left for
    /// the next `sync` or `close` to report. A group of durable appends syncs that way: their
    /// entries are already written, and a freeze failure does not make them less durable (the
    /// segment's log stays among the unsynced ones fsynced here), so failing them would only
    /// make their retries write them twice. Fsync failures and a poisoned file are reported
    /// either way.
    fn sync_reporting(&self, freeze_errors: bool) -> Result<()> {
        let logs = {
            let mut st = self.inner.state.write();
            st.install_finished_freeze(self.inner.storage.as_ref());
            let background = match freeze_errors {
                true => st.take_background_error(),
                false => st.take_fsync_error(),
            };
            if let Some(err) = background {
                return Err(err);
            }
            if let Some(reason) = &st.poisoned {
                // A poisoned file can no longer promise anything is durable.
                return Err(RedexError::Poisoned {
                    channel: self.inner.channel.to_string(),
                    reason: reason.clone(),
                });
            }
            st.unsynced_logs()
        };
        self.fsync_logs(&logs)
    }

    /// Fsyncs `logs` (taken from the state, whose lock is not held); a failure poisons the file.
    fn fsync_logs(&self, logs: &[(Arc<File>, PathBuf)]) -> Result<()> {
        let synced = logs.iter().try_for_each(|l| fsync(l, &self.inner.fsyncs));
        if let Err(e) = &synced {
            self.inner.state.write().poison_after(e);
        }
        synced
    }

    /// Waits for a running freeze, fsyncs, stops the background fsync thread, ends tail
    /// streams and refuses further use. Closing twice is fine.
    ///
    /// The file also leaves its manager, which no longer holds it: its descriptors and
    /// mappings (active log, manifest, mapped segments) are released once the last handle to
    /// it (clones, tail streams, adapters) is dropped, even if the channel is never opened
    /// again.
    pub fn close(&self) -> Result<()> {
        // Before taking the lock: the archiver takes it to install a cold segment.
        if let Some(tier) = &self.inner.cold {
            tier.stop();
        }
        let closed = {
            let mut st = self.inner.state.write();
            if st.closed {
                return Ok(());
            }
            st.wait_for_freeze();
            st.closed = true;
            st.tail_tx = None;
            let background = st.take_background_error();
            st.syncer = None;
            st.unsynced_logs()
                .iter()
                .try_for_each(|l| fsync(l, &self.inner.fsyncs))
                .and(background.map_or(Ok(()), Err))
        };
        // After the state's lock: `Redex::open_file` takes the registry's lock, then a file's.
        self.leave_registry();
        closed
    }

    /// Takes this file out of its manager's open files, unless another file of the same
    /// channel has taken its place there.
    fn leave_registry(&self) {
        let Some(registry) = self.inner.registry.upgrade() else { return };
        let removed = {
            let mut files = registry.lock();
            match files.get(&self.inner.channel) {
                Some(f) if Arc::ptr_eq(&f.inner, &self.inner) => files.remove(&self.inner.channel),
                _ => None,
            }
        };
        // Dropped outside the registry's lock (a last handle's drop may wait for a freeze).
        drop(removed);
    }

    /// Checks every checksum of every frozen segment: each index against its footer, every
    /// payload and timestamp against its record; archived segments are fetched whole from the
    /// cold store and checked the same way (skipped, and counted, without a store). The first damage found is returned as
    /// [`RedexError::Corrupt`] naming the file and offset. Appends and reads continue meanwhile
    /// (the segments are checked outside the file's lock). The active segment's frames were
    /// checked when they were written or replayed.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = self.verify_each(|_, _| {});
        match report.problems.is_empty() {
            true => Ok(report),
            false => Err(report.problems.swap_remove(0)),
        }
    }

    /// Like [`RedexFile::verify`], but checks every frozen segment whatever it finds, collecting
    /// each damaged segment's error in [`VerifyReport::problems`], and calls
    /// `progress(segments_done, segments_total)` after each segment (for progress bars).
    pub fn verify_each(&self, mut progress: impl FnMut(u64, u64)) -> VerifyReport {
        let on_disk: Vec<Frozen> = {
            let st = self.inner.state.read();
            st.set
                .frozen
                .iter()
                .filter_map(|s| match s {
                    Frozen::Warm(w) => Some(Frozen::Warm(Arc::clone(w))),
                    Frozen::Cold(c) => Some(Frozen::Cold(Arc::clone(c))),
                    Frozen::Hot { .. } => None,
                })
                .collect()
        };
        let total = on_disk.len() as u64;
        let mut report = VerifyReport::default();
        for (done, seg) in on_disk.iter().enumerate() {
            let checked = match seg {
                Frozen::Warm(w) => w
                    .segment()
                    .and_then(|seg| seg.verify().map(|()| true).map_err(RedexError::from)),
                Frozen::Cold(c) => match &self.inner.cold {
                    Some(tier) => {
                        let (tier, c) = (Arc::clone(tier), Arc::clone(c));
                        crate::cold::block_on(async move { Ok(tier.reader.verify(&c).await?) })
                            .map(|()| true)
                    }
                    None => Ok(false),
                },
                Frozen::Hot { .. } => Ok(false),
            };
            // Archived or dropped by retention since the list was taken, and its files or
            // object deleted before they could be read: gone, not damaged.
            if checked.is_err() && !self.inner.state.read().set.holds(seg) {
                progress(done as u64 + 1, total);
                continue;
            }
            let (count, bytes) = seg.meta().map_or((0, 0), |m| (m.count, m.payload_bytes));
            match checked {
                Ok(true) => {
                    report.frozen_segments += 1;
                    report.cold_segments += u64::from(matches!(seg, Frozen::Cold(_)));
                    report.entries += count;
                    report.payload_bytes += bytes;
                }
                Ok(false) => report.cold_segments_skipped += 1,
                Err(e) => report.problems.push(e),
            }
            progress(done as u64 + 1, total);
        }
        report
    }

    /// Every segment of the file, oldest first, with its tier, seq range, time range and sizes.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let st = self.inner.state.read();
        let log_path = |base: u64| self.inner.storage.as_ref().map(|d| d.log_path(base));
        let hot_info = |seg: &HotSegment, path| SegmentInfo {
            tier: Tier::Hot,
            first_seq: seg.base_seq(),
            next_seq: seg.next_seq(),
            min_ts_ns: seg.timestamp_ns(seg.base_seq()),
            max_ts_ns: seg.next_seq().checked_sub(1).and_then(|s| seg.timestamp_ns(s)),
            log_bytes: seg.log_len(),
            payload_bytes: seg.payload_bytes(),
            log_path: path,
        };
        let disk_info = |m: &SegmentMeta, tier: Tier, log_path| SegmentInfo {
            tier,
            first_seq: m.first_seq,
            next_seq: m.next_seq(),
            min_ts_ns: Some(m.min_ts_ns),
            max_ts_ns: Some(m.max_ts_ns),
            log_bytes: m.log_len,
            payload_bytes: m.payload_bytes,
            log_path,
        };
        let mut out: Vec<SegmentInfo> = st
            .set
            .frozen
            .iter()
            .map(|s| match s {
                Frozen::Hot { seg, .. } => hot_info(seg, log_path(seg.base_seq())),
                Frozen::Warm(w) => disk_info(w.meta(), Tier::Warm, log_path(w.meta().first_seq)),
                Frozen::Cold(c) => disk_info(&c.meta, Tier::Cold, None),
            })
            .collect();
        // The active segment's log is the open one: a read-only view of a directory holding
        // none (an empty channel) names no file rather than one that does not exist.
        out.push(hot_info(&st.set.active, st.log.as_ref().map(|l| l.path.clone())));
        out
    }

    /// Counters and gauges of this file: appends, fsyncs and their latency, segments and bytes
    /// per tier, retained head, tail subscribers and their lag.
    pub fn stats(&self) -> FileStats {
        let st = self.inner.state.read();
        let mut hot = TierStats {
            segments: 1,
            events: st.set.active.len() as u64,
            payload_bytes: st.set.active.payload_bytes(),
        };
        let mut warm = TierStats::default();
        let mut cold = TierStats::default();
        for seg in &st.set.frozen {
            let tier = match seg {
                Frozen::Hot { .. } => &mut hot,
                Frozen::Warm(_) => &mut warm,
                Frozen::Cold(_) => &mut cold,
            };
            tier.segments += 1;
            tier.events += seg.next_seq() - seg.base_seq();
            tier.payload_bytes += seg.payload_bytes();
        }
        let open =
            self.inner.storage.as_ref().map(|d| d.open_segments().stats()).unwrap_or_default();
        FileStats {
            channel: self.inner.channel.to_string(),
            backend: st.log.as_ref().map(ActiveLog::backend),
            next_seq: st.set.next_seq(),
            head_seq: st.head.seq,
            retained_bytes: st.head.retained_bytes,
            appends: st.appends.calls,
            appended_events: st.appends.events,
            appended_bytes: st.appends.bytes,
            durable_appends: self.inner.durable_calls.load(std::sync::atomic::Ordering::Relaxed),
            fsyncs: self.inner.fsyncs.snapshot(),
            hot,
            warm,
            warm_open_segments: open.open,
            warm_segment_closes: open.closes,
            warm_segment_reopens: open.reopens,
            cold,
            cold_tier: self.inner.cold.as_ref().map(|t| t.stats(self.pending_archive(&st))),
            tail_subscribers: st.tail_tx.as_ref().map_or(0, |tx| tx.receiver_count() as u64),
            tail_lag_events: st.tail_tx.as_ref().map_or(0, |tx| tx.len() as u64),
        }
    }

    /// Whether [`RedexFile::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.state.read().closed
    }

    /// Whether a background freeze is running (started and not finished).
    pub(crate) fn freeze_running(&self) -> bool {
        self.inner.state.read().pending_freeze.as_ref().is_some_and(|j| !j.is_finished())
    }

    /// Applies the age limit of the retention policy now (count and byte limits are applied on
    /// every append; age also moves with the clock). A file with an age limit gets this called
    /// on a timer, every eighth of the limit (10 ms to 60 s), so a quiet file sheds old entries
    /// too; call it yourself to apply a limit at a moment of your choosing.
    pub fn apply_retention(&self) -> Result<()> {
        let mut st = self.inner.state.write();
        if st.closed {
            return Err(self.closed_error());
        }
        // A freeze that finished since the last append is installed first: a segment still
        // marked as freezing is never deleted, and a quiet file has no append to install it.
        st.install_finished_freeze(self.inner.storage.as_ref());
        let storage = self.inner.storage.as_ref();
        st.enforce_retention(&self.inner.config, storage, self.inner.cold.as_ref(), now_ns())?;
        st.archive_check_due = true;
        self.maybe_archive(&mut st);
        Ok(())
    }

    /// Background fsyncs completed by the fsync policy so far.
    pub fn policy_fsyncs(&self) -> u64 {
        self.inner.state.read().syncer.as_ref().map_or(0, Syncer::fsyncs)
    }

    /// Subscribes to live appends and returns the seq the first live event will have. Called
    /// with the write lock so no append falls between the subscription and the returned seq.
    pub(crate) fn subscribe(&self) -> Result<(broadcast::Receiver<RedexEvent>, u64, u64)> {
        let mut st = self.inner.state.write();
        if st.closed {
            return Err(self.closed_error());
        }
        let capacity = self.inner.config.tail_buffer_events();
        let tx = st.tail_tx.get_or_insert_with(|| broadcast::channel(capacity).0);
        let rx = tx.subscribe();
        Ok((rx, st.set.next_seq(), st.head.seq))
    }
}

fn fsync((file, path): &(Arc<File>, PathBuf), stats: &FsyncStats) -> Result<()> {
    let started = std::time::Instant::now();
    redex_tiers::backend::fdatasync(file).map_err(|e| RedexError::io("fsync", path, e))?;
    stats.record(started.elapsed());
    Ok(())
}

/// Whether `e` is a failed fsync. After one, the kernel may have dropped the dirty pages it
/// could not write and will not say so again: a later fsync can succeed although earlier
/// entries are gone, so the file must stop acknowledging anything.
fn is_fsync_failure(e: &RedexError) -> bool {
    match e {
        RedexError::Io { source, .. } => redex_tiers::backend::is_fsync_failure(source),
        _ => false,
    }
}

impl Drop for FileInner {
    fn drop(&mut self) {
        if let Some(job) = self.cold.as_ref().and_then(|t| t.job.lock().take()) {
            // Cancelled at its next await; it holds the directory lock until it has stopped.
            job.abort();
        }
        // Let a running freeze finish before the directory lock is released.
        self.state.get_mut().wait_for_freeze();
    }
}

fn batch_too_large(frame_len: u64) -> RedexError {
    RedexError::BatchTooLarge { bytes: frame_len, limit: SEGMENT_BYTES_MAX - LOG_HEADER_LEN as u64 }
}

/// The file handle and path of each of `logs`, to fsync without holding the state's lock.
fn handles<'a>(logs: impl Iterator<Item = &'a ActiveLog>) -> Vec<(Arc<File>, PathBuf)> {
    logs.map(|l| (Arc::clone(&l.file), l.path.clone())).collect()
}

impl FileState {
    /// Makes `log` the active log (and the fsync thread's target); returns the previous one.
    fn set_active_log(&mut self, log: ActiveLog) -> Option<ActiveLog> {
        self.adopt_log(&log);
        self.log.replace(log)
    }

    /// Points the fsync thread at a new active log and starts a new log generation.
    fn adopt_log(&mut self, log: &ActiveLog) {
        if let Some(s) = &self.syncer {
            s.set_log(log);
        }
        self.log_generation += 1;
    }

    /// The persistent half of an append: encode the frame, write it with one `pwrite` at the
    /// end of the active log, then index it as seen through the log's mapping. Nothing is
    /// indexed unless the write succeeded; a write that fails is cut back off the file.
    fn append_to_log<P: AsRef<[u8]>>(
        &mut self,
        dir: &SegmentDir,
        payloads: &[P],
        ts: u64,
        frame_len: u64,
        sync: bool,
        prefill: bool,
    ) -> Result<()> {
        let log = match self.log.take() {
            Some(log) => log,
            None => {
                // A rollover created the segment but could not create its log; retry now.
                let log = dir.create_log(self.set.active.base_seq())?;
                self.adopt_log(&log);
                log
            }
        };
        let log = self.log.insert(log);
        let offset = self.set.active.log_len();
        self.set
            .active
            .encode_frame(&mut self.scratch, payloads, ts)
            .map_err(|_| batch_too_large(frame_len))?;
        log.ensure_mapped(offset + frame_len)?;
        if prefill {
            log.prefill(offset, offset + frame_len);
        }
        if let Err(failure) = log.write_frame(&self.scratch, offset, sync) {
            return Err(match failure {
                Ok(err) => {
                    self.poison_after(&err);
                    err
                }
                Err(poison) => {
                    self.poisoned = Some(poison.to_string());
                    poison
                }
            });
        }
        let written = log.view(offset, self.scratch.len());
        self.set.active.push_written(written, ts, payloads.iter().map(|p| p.as_ref().len()));
        if self.scratch.capacity() > SCRATCH_KEEP_BYTES {
            self.scratch = Vec::new();
        }
        Ok(())
    }

    /// Installs the result of a background freeze that has finished, if any, and starts the
    /// next one if another full segment is waiting.
    fn install_finished_freeze(&mut self, storage: Option<&SegmentDir>) {
        if self.pending_freeze.as_ref().is_some_and(FreezeJob::is_finished) {
            let failures = self.freeze_error.is_some();
            self.wait_for_freeze();
            // After a failure, the retry waits for the next rollover rather than spinning.
            if let (Some(dir), false) = (storage, failures || self.freeze_error.is_some()) {
                self.start_next_freeze(dir);
            }
        }
    }

    /// Starts freezing the oldest full segment still hot, unless a freeze is running.
    fn start_next_freeze(&mut self, dir: &SegmentDir) {
        if self.pending_freeze.is_some() {
            return;
        }
        let waiting = self.set.frozen.iter().find_map(|s| match s {
            Frozen::Hot { seg, log: Some(log) } => Some((Arc::clone(seg), Arc::clone(log))),
            _ => None,
        });
        let Some((seg, log)) = waiting else { return };
        match FreezeJob::spawn(dir.clone(), seg, log, self.owner.clone()) {
            Ok(job) => self.pending_freeze = Some(job),
            Err(e) => tracing::error!(error = %e, "could not start a freeze thread; will retry"),
        }
    }

    /// Waits for the running background freeze and swaps its frozen segment in for the hot one.
    fn wait_for_freeze(&mut self) {
        let Some(job) = self.pending_freeze.take() else {
            return;
        };
        match job.join() {
            Ok(frozen) => {
                let base = frozen.meta().first_seq;
                if let Some(slot) = self.set.frozen.iter_mut().find(|s| s.base_seq() == base) {
                    *slot = Frozen::Warm(frozen);
                }
                self.archive_check_due = true;
            }
            Err(e) => {
                // The segment stays readable from memory; reopening freezes it again.
                tracing::error!(error = %e, "background freeze failed");
                self.poison_after(&e);
                self.freeze_error.get_or_insert(e);
            }
        }
    }

    fn take_background_error(&mut self) -> Option<RedexError> {
        self.freeze_error.take().or_else(|| self.take_fsync_error())
    }

    /// A failed fsync of the policy thread since the last call (it poisons the file).
    fn take_fsync_error(&mut self) -> Option<RedexError> {
        let err = self.syncer.as_ref().and_then(Syncer::take_error)?;
        let path = self.log.as_ref().map(|l| l.path.clone()).unwrap_or_default();
        let err = redex_tiers::backend::fsync_failed(std::io::Error::other(err));
        let err = RedexError::io("background fsync", path, err);
        self.poison_after(&err);
        Some(err)
    }

    /// Refuses further appends after a failed fsync (see [`is_fsync_failure`]); reads go on,
    /// and reopening recovers whatever reached the disk.
    fn poison_after(&mut self, e: &RedexError) {
        if is_fsync_failure(e) && self.poisoned.is_none() {
            tracing::error!(error = %e, "fsync failed; refusing further appends (reopen to recover)");
            self.poisoned = Some(format!(
                "{e}; entries not yet synced may have been lost, reopen to recover what is on disk"
            ));
        }
    }

    /// File handles whose data may not be durable yet: the active log and the logs of full
    /// segments not yet frozen.
    fn unsynced_logs(&self) -> Vec<(Arc<File>, PathBuf)> {
        handles(self.freezing().chain(self.log.as_ref()))
    }

    /// File handles of the logs of full segments whose freeze has not been installed (a freeze
    /// fsyncs its log, but until it is installed nothing says it has).
    fn freezing_logs(&self) -> Vec<(Arc<File>, PathBuf)> {
        handles(self.freezing())
    }

    /// The logs of full segments not frozen yet. They are the newest frozen entries (freezes go
    /// oldest first, one at a time, and a failed one is retried before any later segment), so
    /// they are found from the back: a durable append asks on every call, and the frozen list
    /// may hold hundreds of segments.
    fn freezing(&self) -> impl Iterator<Item = &ActiveLog> {
        self.set.frozen.iter().rev().map_while(|s| match s {
            Frozen::Hot { log: Some(log), .. } => Some(&**log),
            _ => None,
        })
    }

    /// Moves the retained head and deletes segments wholly below it.
    fn enforce_retention(
        &mut self,
        config: &RedexFileConfig,
        storage: Option<&SegmentDir>,
        cold: Option<&Arc<ColdTier>>,
        now_ns: u64,
    ) -> Result<()> {
        if !config.retention().is_limited() {
            return Ok(());
        }
        let uploading = cold.and_then(|tier| tier.uploading());
        self.head =
            retention::advance(&self.set, self.head, &config.retention(), now_ns, uploading);
        while let Some(front) = self.set.frozen.front() {
            if front.next_seq() > self.head.seq {
                break;
            }
            if matches!(front, Frozen::Hot { log: Some(_), .. }) {
                // Its freeze is still running; delete it once it has finished.
                break;
            }
            // A read-only directory: the head moves in memory, nothing is deleted.
            let deleter = storage.filter(|dir| !dir.is_read_only());
            if let (Some(meta), Some(dir)) = (front.meta(), deleter) {
                if let Err(e) = dir.remove(*meta) {
                    // The entries are already unreadable (below the head); the files stay
                    // until a later append retries.
                    tracing::warn!(error = %e, "retention could not delete a segment");
                    break;
                }
                if let (Frozen::Cold(_), Some(tier)) = (front, cold) {
                    tier.delete_object(meta.first_seq);
                }
            }
            self.set.frozen.pop_front();
        }
        Ok(())
    }
}

//! A persistent channel's directory: naming, creating, sealing, recovering and deleting
//! segment files.
//!
//! A segment is `<first seq, 20 digits>.log` (header + frames, the only file written on the
//! append path) and, once frozen, `<first seq>.idx` (records, time column, footer). Zero-padded
//! names make directory order log order. The write order and what reopen does after a crash at
//! each step are in `docs/DURABILITY.md`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redex_tiers::cold::{ColdKey, ColdSegmentRef};
use redex_tiers::hot::HotSegment;
use redex_tiers::log_file::{self, LOG_HEADER_LEN};
use redex_tiers::manifest::{LiveSegment, SegmentMeta};
use redex_tiers::{index_file, mmap, AppendBackend, BackendKind, FrozenSegment, LogWriter};

use crate::error::{RedexError, Result};
use crate::manifest::ManifestFile;
use crate::segments::{Frozen, OpenSegments, WarmSegment};
use crate::stats::FsyncStats;

const LOG_EXT: &str = "log";
const IDX_EXT: &str = "idx";
const TMP_SUFFIX: &str = ".tmp";
/// Views a read-only open takes of a live directory before it reports one that does not add up.
const READ_ONLY_ATTEMPTS: u32 = 5;

/// The open log file of the active segment, with a read-only mapping through which written
/// frames are read back (the page cache is the only copy of the payloads).
pub(crate) struct ActiveLog {
    pub(crate) file: Arc<File>,
    pub(crate) path: PathBuf,
    map: Bytes,
    writer: LogWriter,
    fsyncs: Arc<FsyncStats>,
    /// How far the file has been extended (with zeros) ahead of the frames.
    prefilled_to: u64,
    /// Preallocation failed once (disk full): this log appends without it.
    prefill_failed: bool,
}

/// How far ahead of the write position durable logs are extended with zeros. Appending inside
/// already-written blocks means an fdatasync flushes only data, not a new file size and block
/// allocation (on ext4, a journal commit: ~4 ms here instead of ~0.15 ms).
const PREFILL_BYTES: u64 = 1 << 20;
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl std::fmt::Debug for ActiveLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveLog")
            .field("path", &self.path)
            .field("mapped", &self.map.len())
            .finish()
    }
}

impl ActiveLog {
    fn new(
        file: File,
        path: PathBuf,
        map_len: u64,
        backend: AppendBackend,
        fsyncs: Arc<FsyncStats>,
    ) -> Result<Self> {
        let map = mmap::map_active(&file, &path, map_len as usize)?;
        let file = Arc::new(file);
        let writer = LogWriter::open(Arc::clone(&file), backend)
            .map_err(|e| RedexError::io("set up the append backend for", &path, e))?;
        let prefilled_to = file.metadata().map_err(|e| RedexError::io("stat", &path, e))?.len();
        Ok(ActiveLog { file, path, map, writer, fsyncs, prefilled_to, prefill_failed: false })
    }

    /// The write path in use.
    pub(crate) fn backend(&self) -> BackendKind {
        self.writer.kind()
    }

    /// Makes sure bytes up to `end` will be readable through the mapping, remapping larger if
    /// needed. Called before a write, so a failed remap never leaves a written frame unindexed.
    pub(crate) fn ensure_mapped(&mut self, end: u64) -> Result<()> {
        if end <= self.map.len() as u64 {
            return Ok(());
        }
        let len = end.max(self.map.len() as u64 * 2);
        self.map = mmap::map_active(&self.file, &self.path, len as usize)?;
        Ok(())
    }

    /// Extends the file with zeros so that bytes up to `end` fall in already-written space, in
    /// steps of [`PREFILL_BYTES`]. Used by files that fsync on the append path. Preallocation is
    /// only an optimisation: if it fails (disk full), the zeros are cut off again and this log
    /// appends without it, so the frame itself may still fit.
    /// `offset` is where the next frame goes: bytes below it are frames (written before
    /// preallocation was turned on, perhaps) and are never touched.
    pub(crate) fn prefill(&mut self, offset: u64, end: u64) {
        if end <= self.prefilled_to || self.prefill_failed {
            return;
        }
        let start = self.prefilled_to.max(offset);
        let target = end.next_multiple_of(PREFILL_BYTES) + PREFILL_BYTES;
        let mut at = start;
        while at < target {
            let n = (target - at).min(ZEROS.len() as u64) as usize;
            if let Err(e) = self.file.write_all_at(&ZEROS[..n], at) {
                tracing::debug!(path = %self.path.display(), error = %e, "preallocation failed; appending without it");
                let _ = self.file.set_len(start);
                self.prefill_failed = true;
                return;
            }
            at += n as u64;
        }
        self.prefilled_to = target;
    }

    /// Cuts preallocated zeros off the end, so a frozen log is exactly its frames.
    pub(crate) fn cut_to(&self, len: u64) -> Result<()> {
        if self.prefilled_to > len {
            self.file.set_len(len).map_err(|e| RedexError::io("truncate", &self.path, e))?;
        }
        Ok(())
    }

    /// The written bytes `offset..offset + len`, zero-copy.
    pub(crate) fn view(&self, offset: u64, len: usize) -> Bytes {
        self.map.slice(offset as usize..offset as usize + len)
    }

    /// Writes `frame` at `offset`. On failure the file is cut back to `offset`, so a failed
    /// append leaves no bytes behind; `Err(Ok(e))` means the cut worked, `Err(Err(e))` that it
    /// did not either (the caller must refuse further appends).
    /// With `sync`, the frame is also made durable (on io_uring, by an fdatasync linked to the
    /// write in the same submission).
    pub(crate) fn write_frame(
        &self,
        frame: &[u8],
        offset: u64,
        sync: bool,
    ) -> std::result::Result<(), std::result::Result<RedexError, RedexError>> {
        let started = sync.then(Instant::now);
        let written = self.writer.write_all_at(frame, offset, sync);
        if let (Some(t), Ok(())) = (started, &written) {
            self.fsyncs.record(t.elapsed());
        }
        match written {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = RedexError::io("write", &self.path, e);
                match self.file.set_len(offset) {
                    Ok(()) => Err(Ok(err)),
                    Err(cut) => Err(Err(RedexError::Poisoned {
                        channel: self.path.display().to_string(),
                        reason: format!("{err}; then truncate failed: {cut}"),
                    })),
                }
            }
        }
    }

    pub(crate) fn sync(&self) -> Result<()> {
        let started = Instant::now();
        self.writer.sync_data().map_err(|e| RedexError::io("fsync", &self.path, e))?;
        self.fsyncs.record(started.elapsed());
        Ok(())
    }
}

/// A channel's segment directory.
#[derive(Debug, Clone)]
pub(crate) struct SegmentDir {
    dir: Arc<Path>,
    /// Initial length of an active log's mapping (the configured segment size).
    map_len: u64,
    /// The append path new logs are written through.
    backend: AppendBackend,
    /// Opened for inspection: recovery changes nothing on disk.
    read_only: bool,
    /// Fsyncs of this channel's logs, for its stats.
    fsyncs: Arc<FsyncStats>,
    /// Shared by the append path (retention) and freeze threads.
    manifest: Arc<Mutex<ManifestFile>>,
    /// The bound on this channel's open warm segments, shared by all of them.
    open: Arc<OpenSegments>,
}

/// What reopening a channel found.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) frozen: Vec<Frozen>,
    pub(crate) active: HotSegment,
    /// `None` only when a read-only open finds no log at all.
    pub(crate) log: Option<ActiveLog>,
}

/// Path of the log of the segment starting at `base_seq`.
pub(crate) fn log_path(dir: &Path, base_seq: u64) -> PathBuf {
    dir.join(format!("{base_seq:020}.{LOG_EXT}"))
}

/// Path of the index of the segment starting at `base_seq`.
pub(crate) fn idx_path(dir: &Path, base_seq: u64) -> PathBuf {
    dir.join(format!("{base_seq:020}.{IDX_EXT}"))
}

fn segment_seq(path: &Path, ext: &str) -> Option<u64> {
    if path.extension()? != ext {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    (stem.len() == 20).then(|| stem.parse().ok()).flatten()
}

impl SegmentDir {
    /// Opens (creating if needed) the directory, fsyncing every directory it created.
    pub(crate) fn open(
        dir: PathBuf,
        base: &Path,
        segment_bytes_max: u64,
        open_segments_max: usize,
        backend: AppendBackend,
        read_only: bool,
    ) -> Result<Self> {
        let open = OpenSegments::new(open_segments_max);
        if read_only {
            if !dir.is_dir() {
                return Err(RedexError::io(
                    "open",
                    &dir,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such channel"),
                ));
            }
            let manifest = ManifestFile::open_read_only(&dir)?;
            return Ok(SegmentDir {
                dir: Arc::from(dir),
                map_len: segment_bytes_max,
                backend: AppendBackend::Std,
                read_only: true,
                fsyncs: Arc::default(),
                manifest: Arc::new(Mutex::new(manifest)),
                open,
            });
        }
        let existed = dir.is_dir();
        fs::create_dir_all(&dir).map_err(|e| RedexError::io("create directory", &dir, e))?;
        if !existed {
            let mut d = dir.as_path();
            while let Some(parent) = d.parent() {
                sync_dir(parent)?;
                if parent == base {
                    break;
                }
                d = parent;
            }
        }
        let manifest = ManifestFile::open(&dir)?;
        Ok(SegmentDir {
            dir: Arc::from(dir),
            map_len: segment_bytes_max,
            backend: effective_backend(backend),
            read_only: false,
            fsyncs: Arc::default(),
            manifest: Arc::new(Mutex::new(manifest)),
            open,
        })
    }

    /// Refuses a change to the directory when it was opened read-only. Recovery skips its
    /// repairs there itself; this makes every other change (retention's deletes, archival's
    /// manifest records, new logs, freezes) fail instead of depending on the manifest's and
    /// logs' descriptors being read-only.
    fn check_writable(&self) -> Result<()> {
        match self.read_only {
            true => Err(RedexError::ReadOnly { channel: self.dir.display().to_string() }),
            false => Ok(()),
        }
    }

    /// Opened for inspection: nothing in it may change.
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The bound on this channel's open warm segments.
    pub(crate) fn open_segments(&self) -> &Arc<OpenSegments> {
        &self.open
    }

    pub(crate) fn log_path(&self, base_seq: u64) -> PathBuf {
        log_path(&self.dir, base_seq)
    }

    /// The fsync statistics of this channel's logs.
    pub(crate) fn fsync_stats(&self) -> &Arc<FsyncStats> {
        &self.fsyncs
    }

    pub(crate) fn idx_path(&self, base_seq: u64) -> PathBuf {
        idx_path(&self.dir, base_seq)
    }

    /// Creates the log of a new active segment: header written, file and directory fsynced, so
    /// a crash never leaves a later segment whose predecessor is not durable.
    pub(crate) fn create_log(&self, base_seq: u64) -> Result<ActiveLog> {
        self.check_writable()?;
        let path = self.log_path(base_seq);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| RedexError::io("create", &path, e))?;
        let durable = file
            .write_all(&log_file::encode_header(base_seq))
            .map_err(|e| RedexError::io("write", &path, e))
            .and_then(|()| file.sync_all().map_err(|e| RedexError::io("fsync", &path, e)))
            .and_then(|()| sync_dir(&self.dir));
        if let Err(e) = durable {
            // Leave no headerless log behind (recovery would also discard it: it cannot hold
            // an entry, since no frame is written before the header is durable).
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        ActiveLog::new(file, path, self.map_len, self.backend, Arc::clone(&self.fsyncs))
    }

    /// Freezes a full segment: fsyncs its log, writes its index to a temporary file, fsyncs,
    /// renames it into place, fsyncs the directory, records it in the manifest, and maps both
    /// files (it counts as one of the open warm segments).
    pub(crate) fn seal(&self, hot: &HotSegment, log: &ActiveLog) -> Result<Arc<WarmSegment>> {
        self.check_writable()?;
        log.cut_to(hot.log_len())?;
        log.sync()?;
        let base = hot.base_seq();
        let idx_path = self.idx_path(base);
        let parts = index_file::IndexParts {
            first_seq: base,
            count: hot.len(),
            frames: hot.frame_count(),
            log_len: hot.log_len(),
            payload_bytes: hot.payload_bytes(),
        };
        write_durably(&idx_path, |w| {
            index_file::write(w, &parts, hot.records(), hot.timestamps(), hot.frame_table())
        })?;
        sync_dir(&self.dir)?;
        let seg = FrozenSegment::open(&log.path, &idx_path)?;
        self.register(seg)
    }

    /// Records a frozen segment in the manifest.
    fn register(&self, seg: FrozenSegment) -> Result<Arc<WarmSegment>> {
        let meta = SegmentMeta::from(seg.footer());
        if !self.read_only {
            self.manifest.lock().add(meta)?;
        }
        Ok(WarmSegment::opened(meta, Arc::clone(&self.dir), Arc::clone(&self.open), seg))
    }

    /// Drops a frozen segment: the manifest stops naming it (durably), then its files are
    /// deleted, log first. A crash in between leaves files the next open deletes. Refused on a
    /// read-only open (whose retention never calls it): the file deletes an archived segment's
    /// object only once this succeeded, so nothing is deleted there, files or objects.
    pub(crate) fn remove(&self, meta: SegmentMeta) -> Result<()> {
        self.check_writable()?;
        self.manifest.lock().drop_segment(meta)?;
        self.delete_files(meta.first_seq)
    }

    /// Records that a segment's archived object is verified (durably); its local files may
    /// then be deleted. `false`: the segment was dropped meanwhile, nothing recorded.
    pub(crate) fn mark_cold(&self, meta: SegmentMeta, index_len: u32) -> Result<bool> {
        self.check_writable()?;
        self.manifest.lock().mark_cold(meta, index_len)
    }

    /// Deletes a segment's local files, log first; missing ones are fine.
    pub(crate) fn delete_files(&self, first_seq: u64) -> Result<()> {
        self.check_writable()?;
        for path in [self.log_path(first_seq), self.idx_path(first_seq)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RedexError::io("remove", &path, e)),
            }
        }
        Ok(())
    }

    /// Reopens the channel. Frozen segments named by the manifest are trusted without opening
    /// them (they are mapped on first read), so this costs the same for any amount of frozen
    /// history; their files must exist. Logs after them are replayed: a complete unfrozen log
    /// before the last one (its freeze was interrupted) is frozen now; a damaged one (a machine
    /// crash before its freeze made it durable) becomes the end of the log and later logs, which
    /// lie beyond the gap, are deleted. The last log's torn tail is trimmed.
    pub(crate) fn recover(&self, channel: &str) -> Result<Recovered> {
        if !self.read_only {
            return self.recover_once(channel);
        }
        // A read-only view of a live directory reads the manifest and lists the files at two
        // moments; a writer freezing, dropping or archiving segments in between makes them
        // disagree (a segment named but already deleted, or named but listed before its index
        // was written). Such a view is taken again; a directory that is really damaged fails
        // every attempt and its last error is reported.
        let mut attempt = 0;
        loop {
            match self.recover_once(channel) {
                Err(e) if attempt + 1 < READ_ONLY_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "read-only view of a live directory retried");
                    std::thread::sleep(std::time::Duration::from_millis(1 << attempt));
                    attempt += 1;
                    *self.manifest.lock() = ManifestFile::open_read_only(&self.dir)?;
                }
                result => return result,
            }
        }
    }

    fn recover_once(&self, channel: &str) -> Result<Recovered> {
        let mut logs = Vec::new();
        let mut idxs = Vec::new();
        let listing = fs::read_dir(&self.dir).map_err(|e| RedexError::io("list", &*self.dir, e))?;
        for entry in listing {
            let path = entry.map_err(|e| RedexError::io("list", &*self.dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(TMP_SUFFIX) {
                // An index or manifest that was being written when the process died.
                if !self.read_only {
                    remove(&path)?;
                }
            } else if let Some(seq) = segment_seq(&path, LOG_EXT) {
                logs.push(seq);
            } else if let Some(seq) = segment_seq(&path, IDX_EXT) {
                idxs.push(seq);
            }
        }
        logs.sort_unstable();
        idxs.sort_unstable();
        // A log no longer than its header whose header does not decode was torn while being
        // created; it never held an entry. Drop it wherever it is, so it cannot stand between
        // two real segments.
        let mut torn_max = None;
        logs.retain(|&seq| {
            let path = self.log_path(seq);
            if !torn_at_creation(&path) {
                return true;
            }
            // Its name still says how far the log had reached when it was being created.
            torn_max = torn_max.max(Some(seq));
            tracing::warn!(path = %path.display(), "discarding a log torn while being created");
            if !self.read_only {
                let _ = fs::remove_file(&path);
            }
            false
        });
        let live = self.manifest.lock().live();
        for &seq in &idxs {
            let named = live.binary_search_by_key(&seq, |s| s.meta.first_seq).is_ok();
            if !named && logs.binary_search(&seq).is_err() && !self.read_only {
                // Retention deleted the log and died before deleting the index. (An index the
                // manifest still names is never deleted: its missing log is reported below.)
                remove(&self.idx_path(seq))?;
            }
        }

        let live_end = live.last().map(|s| s.meta.next_seq());
        let mut frozen = Vec::with_capacity(live.len());
        let mut expected = None;
        for LiveSegment { meta, cold_index_len } in live {
            let seq = meta.first_seq;
            if let Some(index_len) = cold_index_len {
                // Archived. Local files left by a crash between the manifest record and their
                // deletion are deleted now.
                if !self.read_only
                    && (logs.binary_search(&seq).is_ok() || idxs.binary_search(&seq).is_ok())
                {
                    tracing::info!(
                        first_seq = seq,
                        "deleting the local copy of an archived segment"
                    );
                    self.delete_files(seq)?;
                }
                logs.retain(|&s| s != seq);
                idxs.retain(|&s| s != seq);
                expected = Some(meta.next_seq());
                frozen.push(Frozen::Cold(Arc::new(ColdSegmentRef {
                    key: ColdKey::new(channel, seq),
                    meta,
                    index_len: u64::from(index_len),
                })));
                continue;
            }
            if logs.binary_search(&seq).is_err() {
                return Err(RedexError::corrupt(
                    self.log_path(seq),
                    0,
                    "frozen segment named by the manifest is missing",
                ));
            }
            if idxs.binary_search(&seq).is_err() {
                return Err(RedexError::corrupt(
                    self.idx_path(seq),
                    0,
                    "frozen segment named by the manifest is missing",
                ));
            }
            if expected.is_some_and(|e| e != seq) {
                check_continuity(&self.log_path(seq), seq, seq, expected)?;
            }
            expected = Some(meta.next_seq());
            let open = Arc::clone(&self.open);
            frozen.push(Frozen::Warm(WarmSegment::lazy(meta, Arc::clone(&self.dir), open)));
        }
        let mut rest = Vec::with_capacity(logs.len().saturating_sub(frozen.len()));
        for &seq in &logs {
            let named = frozen.binary_search_by_key(&seq, Frozen::base_seq).is_ok();
            if named {
                continue;
            }
            if live_end.is_some_and(|end| seq < end) {
                // Dropped by retention (the manifest says so) before its files were deleted.
                if self.read_only {
                    continue;
                }
                tracing::info!(path = %self.log_path(seq).display(), "deleting a segment retention had dropped");
                remove(&self.log_path(seq))?;
                if idxs.binary_search(&seq).is_ok() {
                    remove(&self.idx_path(seq))?;
                }
                continue;
            }
            rest.push(seq);
        }

        for (i, &seq) in rest.iter().enumerate() {
            if idxs.binary_search(&seq).is_ok() {
                // Frozen, but the process died before the manifest recorded it.
                let seg = FrozenSegment::open(&self.log_path(seq), &self.idx_path(seq))?;
                check_continuity(seg.log_path(), seq, seg.base_seq(), expected)?;
                expected = Some(seg.next_seq());
                frozen.push(Frozen::Warm(self.register(seg)?));
                continue;
            }
            let (hot, log, report) = self.replay_log(seq, expected)?;
            let later = &rest[i + 1..];
            if later.is_empty() {
                self.trim(&log, &report, hot.len())?;
                return Ok(Recovered { frozen, active: hot, log: Some(log) });
            }
            // Complete means every frame up to where its successor starts survived.
            let complete = report.dropped_bytes == 0 && later.first() == Some(&hot.next_seq());
            if complete && self.read_only {
                // Inspecting: index it in memory, as the writer would before freezing it.
                expected = Some(hot.next_seq());
                if !hot.is_empty() {
                    frozen.push(Frozen::Hot { seg: Arc::new(hot), log: None });
                }
                continue;
            }
            if complete {
                if hot.is_empty() {
                    remove(&log.path)?;
                } else {
                    tracing::warn!(path = %log.path.display(), entries = hot.len(), "freezing a segment whose freeze was interrupted");
                    frozen.push(Frozen::Warm(self.seal(&hot, &log)?));
                    expected = Some(hot.next_seq());
                }
                continue;
            }
            if let Some(sealed) = later.iter().find(|s| idxs.binary_search(s).is_ok()) {
                return Err(RedexError::corrupt(
                    &log.path,
                    report.valid_len,
                    format!(
                        "unfrozen segment is damaged ({}) but a later segment {sealed} is frozen",
                        report.stop_reason.as_deref().unwrap_or("")
                    ),
                ));
            }
            // Only well-formed logs are deleted as lying beyond the gap; anything else is not
            // a crash artefact and is reported.
            for &dropped in later {
                self.check_log_header(dropped)?;
            }
            tracing::warn!(
                path = %log.path.display(),
                later_segments = later.len(),
                "log ends inside an unfrozen segment (machine crash before it was synced); \
                 deleting the segments after the gap"
            );
            if !self.read_only {
                self.trim(&log, &report, hot.len())?;
                for &dropped in later {
                    remove(&self.log_path(dropped))?;
                }
                sync_dir(&self.dir)?;
            }
            return Ok(Recovered { frozen, active: hot, log: Some(log) });
        }
        // A log torn at creation is named where the segments before it end, so its name only
        // says where the log continues when nothing else does (no segment is left). Named
        // beyond the last segment, it is not a crash artefact (a rollover creates the next log
        // before freezing the full one, so that one would still be here unfrozen): starting
        // there would leave a gap of seqs that reads skip without a word.
        let next = expected.or(torn_max).unwrap_or(0);
        let active = HotSegment::new(next, LOG_HEADER_LEN as u64);
        if self.read_only {
            return Ok(Recovered { frozen, active, log: None });
        }
        let log = self.create_log(next)?;
        Ok(Recovered { frozen, active, log: Some(log) })
    }

    /// Checks that the log named for `seq` has a valid header starting at `seq`.
    fn check_log_header(&self, seq: u64) -> Result<()> {
        let path = self.log_path(seq);
        let file = File::open(&path).map_err(|e| RedexError::io("open", &path, e))?;
        let mut head = [0u8; LOG_HEADER_LEN];
        let got = file.read_at(&mut head, 0).map_err(|e| RedexError::io("read", &path, e))?;
        let base = log_file::decode_header(&path, &head[..got])?;
        check_continuity(&path, seq, base, None)
    }

    /// Maps and replays an unfrozen log.
    fn replay_log(
        &self,
        seq: u64,
        expected: Option<u64>,
    ) -> Result<(HotSegment, ActiveLog, redex_tiers::ReplayReport)> {
        let path = self.log_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(!self.read_only)
            .open(&path)
            .map_err(|e| RedexError::io("open", &path, e))?;
        let len = file.metadata().map_err(|e| RedexError::io("stat", &path, e))?.len();
        let mut head = [0u8; LOG_HEADER_LEN];
        let got = file.read_at(&mut head, 0).map_err(|e| RedexError::io("read", &path, e))?;
        let decoded = log_file::decode_header(&path, &head[..got]);
        let base = decoded?;
        check_continuity(&path, seq, base, expected)?;
        let log = ActiveLog::new(
            file,
            path,
            len.max(self.map_len),
            self.backend,
            Arc::clone(&self.fsyncs),
        )?;
        let frames = if self.read_only {
            // An inspector holds no lock: the writer may truncate this log while it is being
            // replayed (a freeze cuts the preallocated zeros, a recovering open a torn tail),
            // and touching a mapped page past the new end of the file raises SIGBUS. So a
            // read-only open replays a copy read with pread, which a truncation only shortens.
            read_from(&log.file, &log.path, LOG_HEADER_LEN as u64, len)?
        } else {
            log.view(LOG_HEADER_LEN as u64, len as usize - LOG_HEADER_LEN)
        };
        let (hot, report) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames);
        Ok((hot, log, report))
    }

    /// Cuts a replayed log back to its valid prefix.
    fn trim(&self, log: &ActiveLog, report: &redex_tiers::ReplayReport, kept: usize) -> Result<()> {
        if (report.dropped_bytes == 0 && report.zero_tail_bytes == 0) || self.read_only {
            return Ok(());
        }
        if report.dropped_bytes > 0 {
            tracing::warn!(
                path = %log.path.display(),
                kept_entries = kept,
                dropped_bytes = report.dropped_bytes,
                reason = report.stop_reason.as_deref().unwrap_or(""),
                "recovery trimmed the log's torn or corrupt tail"
            );
        }
        log.file.set_len(report.valid_len).map_err(|e| RedexError::io("truncate", &log.path, e))?;
        log.file.sync_all().map_err(|e| RedexError::io("fsync", &log.path, e))
    }
}

/// The bytes of `file` from `offset` up to `len` (or its end, if it was cut shorter since),
/// read into memory.
fn read_from(file: &File, path: &Path, offset: u64, len: u64) -> Result<Bytes> {
    let mut buf = vec![0u8; len.saturating_sub(offset) as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(RedexError::io("read", path, e)),
        }
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).map_err(|e| RedexError::io("remove", path, e))
}

/// Whether `path` is a log that was torn while being created: no longer than a header, and
/// not a readable header (a newer version is not torn: that is reported, not discarded).
fn torn_at_creation(path: &Path) -> bool {
    let short = fs::metadata(path).is_ok_and(|m| m.len() <= LOG_HEADER_LEN as u64);
    let Some(bytes) = short.then(|| fs::read(path).ok()).flatten() else { return false };
    !matches!(
        log_file::decode_header(path, &bytes),
        Ok(_) | Err(redex_tiers::TierError::UnsupportedVersion { .. })
    )
}

/// Environment variable that overrides [`AppendBackend::Auto`] (`std` or `io_uring`), so a
/// whole test suite or deployment can be pinned to one path without code changes.
pub const BACKEND_ENV: &str = "REDEX_APPEND_BACKEND";

fn effective_backend(configured: AppendBackend) -> AppendBackend {
    if configured != AppendBackend::Auto {
        return configured;
    }
    match std::env::var(BACKEND_ENV).as_deref() {
        Ok("std") => AppendBackend::Std,
        Ok("io_uring") => AppendBackend::IoUring,
        _ => AppendBackend::Auto,
    }
}

fn check_continuity(path: &Path, name_seq: u64, base: u64, expected: Option<u64>) -> Result<()> {
    if name_seq != base {
        return Err(RedexError::corrupt(
            path,
            0,
            format!("file name says seq {name_seq}, header says {base}"),
        ));
    }
    if let Some(exp) = expected.filter(|&e| e != base) {
        return Err(RedexError::corrupt(
            path,
            0,
            format!("segment starts at seq {base}, expected {exp} (missing segment?)"),
        ));
    }
    Ok(())
}

/// Writes what `fill` produces to `path` through a temporary file, fsynced and renamed into
/// place.
fn write_durably(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&File>) -> std::io::Result<()>,
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(|e| RedexError::io("create", &tmp, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &file);
    fill(&mut w).and_then(|()| w.flush()).map_err(|e| RedexError::io("write", &tmp, e))?;
    drop(w);
    file.sync_all().map_err(|e| RedexError::io("fsync", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RedexError::io("rename", path, e))
}

/// Fsyncs a directory so that entries created or renamed in it survive a machine crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RedexError::io("fsync directory", dir, e))
}

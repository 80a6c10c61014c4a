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

use bytes::Bytes;
use redex_tiers::hot::HotSegment;
use redex_tiers::log_file::{self, LOG_HEADER_LEN};
use redex_tiers::{index_file, FrozenSegment};

use crate::error::{RedexError, Result};

const LOG_EXT: &str = "log";
const IDX_EXT: &str = "idx";
const TMP_SUFFIX: &str = ".tmp";

/// The open log file of the active segment.
#[derive(Debug)]
pub(crate) struct ActiveLog {
    pub(crate) file: Arc<File>,
    pub(crate) path: PathBuf,
}

impl ActiveLog {
    /// Writes `frame` at `offset`. On failure the file is cut back to `offset`, so a failed
    /// append leaves no bytes behind; `Err(Ok(e))` means the cut worked, `Err(Err(e))` that it
    /// did not either (the caller must refuse further appends).
    pub(crate) fn write_frame(
        &self,
        frame: &[u8],
        offset: u64,
    ) -> std::result::Result<(), std::result::Result<RedexError, RedexError>> {
        match self.file.write_all_at(frame, offset) {
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
        self.file
            .sync_data()
            .map_err(|e| RedexError::io("fsync", &self.path, e))
    }
}

/// A channel's segment directory.
#[derive(Debug)]
pub(crate) struct SegmentDir {
    dir: PathBuf,
}

/// What reopening a channel found.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) frozen: Vec<FrozenSegment>,
    pub(crate) active: HotSegment,
    pub(crate) log: ActiveLog,
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
    pub(crate) fn open(dir: PathBuf, base: &Path) -> Result<Self> {
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
        Ok(SegmentDir { dir })
    }

    pub(crate) fn log_path(&self, base_seq: u64) -> PathBuf {
        self.dir.join(format!("{base_seq:020}.{LOG_EXT}"))
    }

    pub(crate) fn idx_path(&self, base_seq: u64) -> PathBuf {
        self.dir.join(format!("{base_seq:020}.{IDX_EXT}"))
    }

    /// Creates the log of a new active segment: header written, file and directory fsynced, so
    /// a crash never leaves a later segment whose predecessor is not durable.
    pub(crate) fn create_log(&self, base_seq: u64) -> Result<ActiveLog> {
        let path = self.log_path(base_seq);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| RedexError::io("create", &path, e))?;
        file.write_all(&log_file::encode_header(base_seq))
            .map_err(|e| RedexError::io("write", &path, e))?;
        file.sync_all()
            .map_err(|e| RedexError::io("fsync", &path, e))?;
        sync_dir(&self.dir)?;
        Ok(ActiveLog {
            file: Arc::new(file),
            path,
        })
    }

    /// Freezes the active segment: fsyncs its log, writes its index to a temporary file,
    /// fsyncs, renames it into place, fsyncs the directory, and maps both files.
    pub(crate) fn seal(&self, hot: &HotSegment, log: &ActiveLog) -> Result<FrozenSegment> {
        log.sync()?;
        let base = hot.base_seq();
        let idx_path = self.idx_path(base);
        let entries: Vec<_> = hot.index_records().collect();
        let bytes = index_file::encode(base, &entries, hot.log_len(), hot.payload_bytes());
        write_durably(&idx_path, &bytes)?;
        sync_dir(&self.dir)?;
        Ok(FrozenSegment::open(&log.path, &idx_path)?)
    }

    /// Deletes a frozen segment's files, log first: an index without its log is removed on the
    /// next open, while a log without its index would be replayed.
    pub(crate) fn remove(&self, seg: &FrozenSegment) -> Result<()> {
        for path in [seg.log_path(), seg.idx_path()] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RedexError::io("remove", path, e)),
            }
        }
        Ok(())
    }

    /// Reopens the channel: frozen segments are trusted from their index footers (no scan of
    /// their records); the last, unfrozen log is replayed and its torn tail trimmed.
    pub(crate) fn recover(&self) -> Result<Recovered> {
        let mut logs = Vec::new();
        let mut idxs = Vec::new();
        let listing = fs::read_dir(&self.dir).map_err(|e| RedexError::io("list", &self.dir, e))?;
        for entry in listing {
            let path = entry
                .map_err(|e| RedexError::io("list", &self.dir, e))?
                .path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(TMP_SUFFIX) {
                // An index that was being written when the process died; its log is intact.
                fs::remove_file(&path).map_err(|e| RedexError::io("remove", &path, e))?;
            } else if let Some(seq) = segment_seq(&path, LOG_EXT) {
                logs.push(seq);
            } else if let Some(seq) = segment_seq(&path, IDX_EXT) {
                idxs.push(seq);
            }
        }
        logs.sort_unstable();
        for seq in idxs.iter().filter(|s| logs.binary_search(s).is_err()) {
            // Retention deleted the log and died before deleting the index.
            let path = self.idx_path(*seq);
            fs::remove_file(&path).map_err(|e| RedexError::io("remove", &path, e))?;
        }

        let mut frozen: Vec<FrozenSegment> = Vec::new();
        let Some((&last, earlier)) = logs.split_last() else {
            let log = self.create_log(0)?;
            return Ok(Recovered {
                frozen,
                active: HotSegment::new(0, LOG_HEADER_LEN as u64, true),
                log,
            });
        };
        let mut expected = None;
        for &seq in earlier {
            let seg = if idxs.contains(&seq) {
                FrozenSegment::open(&self.log_path(seq), &self.idx_path(seq))?
            } else {
                self.reseal(seq)?
            };
            check_continuity(&seg.log_path().to_path_buf(), seq, seg.base_seq(), expected)?;
            expected = Some(seg.next_seq());
            frozen.push(seg);
        }
        if idxs.contains(&last) {
            // Died after freezing the last segment but before creating the next log.
            let seg = FrozenSegment::open(&self.log_path(last), &self.idx_path(last))?;
            check_continuity(
                &seg.log_path().to_path_buf(),
                last,
                seg.base_seq(),
                expected,
            )?;
            let next = seg.next_seq();
            frozen.push(seg);
            let log = self.create_log(next)?;
            return Ok(Recovered {
                frozen,
                active: HotSegment::new(next, LOG_HEADER_LEN as u64, true),
                log,
            });
        }
        let (active, log) = self.replay_active(last, expected)?;
        Ok(Recovered {
            frozen,
            active,
            log,
        })
    }

    /// Replays the active log, trimming whatever follows its longest valid prefix.
    fn replay_active(&self, seq: u64, expected: Option<u64>) -> Result<(HotSegment, ActiveLog)> {
        let path = self.log_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| RedexError::io("open", &path, e))?;
        let bytes = read_all(&file, &path)?;
        let torn_header = bytes.len() <= LOG_HEADER_LEN
            && !matches!(
                log_file::decode_header(&path, &bytes),
                Ok(_) | Err(redex_tiers::TierError::UnsupportedVersion { .. })
            );
        if torn_header {
            // Died while creating this log, before its header was durable. No frame is ever
            // written before the header is fsynced, so the segment held nothing.
            tracing::warn!(path = %path.display(), bytes = bytes.len(), "recreating a log whose header was torn");
            drop(file);
            let log = self.create_log(seq)?;
            check_continuity(&path, seq, seq, expected)?;
            return Ok((HotSegment::new(seq, LOG_HEADER_LEN as u64, true), log));
        }
        let base = log_file::decode_header(&path, &bytes)?;
        check_continuity(&path, seq, base, expected)?;
        let frames = Bytes::from(bytes).slice(LOG_HEADER_LEN..);
        let (hot, report) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames);
        if report.dropped_bytes > 0 {
            tracing::warn!(
                path = %path.display(),
                kept_entries = hot.len(),
                dropped_bytes = report.dropped_bytes,
                reason = report.stop_reason.as_deref().unwrap_or(""),
                "recovery trimmed the log's torn or corrupt tail"
            );
            file.set_len(report.valid_len)
                .map_err(|e| RedexError::io("truncate", &path, e))?;
            file.sync_all()
                .map_err(|e| RedexError::io("fsync", &path, e))?;
        }
        Ok((
            hot,
            ActiveLog {
                file: Arc::new(file),
                path,
            },
        ))
    }

    /// Rebuilds the missing index of a non-final segment. Such a log was fsynced before its
    /// successor was created, so any damage in it is corruption, not a torn write.
    fn reseal(&self, seq: u64) -> Result<FrozenSegment> {
        let path = self.log_path(seq);
        let file = File::open(&path).map_err(|e| RedexError::io("open", &path, e))?;
        let bytes = read_all(&file, &path)?;
        let base = log_file::decode_header(&path, &bytes)?;
        let frames = Bytes::from(bytes).slice(LOG_HEADER_LEN..);
        let (hot, report) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames);
        if report.dropped_bytes > 0 || hot.is_empty() {
            return Err(RedexError::corrupt(
                &path,
                report.valid_len,
                format!(
                    "frozen segment without index is damaged: {}",
                    report.stop_reason.as_deref().unwrap_or("no entries")
                ),
            ));
        }
        tracing::warn!(path = %path.display(), entries = hot.len(), "rebuilt a missing segment index");
        let log = ActiveLog {
            file: Arc::new(file),
            path,
        };
        self.seal(&hot, &log)
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

fn read_all(file: &File, path: &Path) -> Result<Vec<u8>> {
    let len = file
        .metadata()
        .map_err(|e| RedexError::io("stat", path, e))?
        .len();
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.read_exact_at(&mut buf, 0)
        .map_err(|e| RedexError::io("read", path, e))?;
    Ok(buf)
}

/// Writes `bytes` to `path` through a temporary file, fsynced and renamed into place.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp).map_err(|e| RedexError::io("create", &tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| RedexError::io("write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| RedexError::io("fsync", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RedexError::io("rename", path, e))
}

/// Fsyncs a directory so that entries created or renamed in it survive a machine crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RedexError::io("fsync directory", dir, e))
}

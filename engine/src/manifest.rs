//! A channel's manifest file (format in `redex_tiers::manifest`): opened on reopen, appended to
//! by freezes and retention, compacted when dropped records pile up.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use redex_tiers::manifest::{self, LiveSegment, Record, RecordKind, SegmentMeta, MANIFEST_VERSION};

use crate::error::{RedexError, Result};
use crate::storage::sync_dir;

/// File name of the manifest inside a channel's segment directory.
pub(crate) const MANIFEST_FILE_NAME: &str = "manifest";

/// Records appended beyond twice the live ones (plus this slack) trigger a compaction.
const COMPACTION_SLACK_RECORDS: usize = 64;

/// The open manifest and the live frozen segments it names.
#[derive(Debug)]
pub(crate) struct ManifestFile {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    len: u64,
    records: usize,
    /// Format version of the file's header (1 until the first cold record rewrites it).
    version: u32,
    live: BTreeMap<u64, LiveSegment>,
}

impl ManifestFile {
    /// Opens the manifest in `dir`, creating it (durably) if missing, and trims a torn final
    /// record.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE_NAME);
        if !path.exists() {
            return Self::create(dir, &path, &[]);
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| RedexError::io("open", &path, e))?;
        let bytes = fs::read(&path).map_err(|e| RedexError::io("read", &path, e))?;
        let replay = manifest::decode(&path, &bytes)?;
        if replay.valid_len < bytes.len() as u64 {
            tracing::warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() as u64 - replay.valid_len,
                "trimmed a torn manifest record"
            );
            file.set_len(replay.valid_len).map_err(|e| RedexError::io("truncate", &path, e))?;
            file.sync_all().map_err(|e| RedexError::io("fsync", &path, e))?;
        }
        let live: BTreeMap<u64, LiveSegment> = manifest::live_segments(&replay.records)
            .into_iter()
            .map(|s| (s.meta.first_seq, s))
            .collect();
        Ok(ManifestFile {
            dir: dir.to_path_buf(),
            path,
            file,
            len: replay.valid_len,
            records: replay.records.len(),
            version: replay.version,
            live,
        })
    }

    /// Reads the manifest in `dir` without changing anything (a missing one names nothing; a torn
    /// final record is ignored). Appends to it fail.
    pub(crate) fn open_read_only(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE_NAME);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                File::open(dir).map_err(|e| RedexError::io("open", dir, e))?
            }
            Err(e) => return Err(RedexError::io("open", &path, e)),
        };
        let live = match fs::read(&path) {
            Ok(bytes) => manifest::live_segments(&manifest::decode(&path, &bytes)?.records),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(RedexError::io("read", &path, e)),
        };
        Ok(ManifestFile {
            dir: dir.to_path_buf(),
            path,
            file,
            len: 0,
            records: live.len(),
            version: MANIFEST_VERSION,
            live: live.into_iter().map(|s| (s.meta.first_seq, s)).collect(),
        })
    }

    /// Writes a fresh manifest naming `live` through a temporary file and a rename.
    fn create(dir: &Path, path: &Path, live: &[LiveSegment]) -> Result<Self> {
        let mut bytes = manifest::encode_header().to_vec();
        let mut records = 0;
        for seg in live {
            let cold = seg.cold_index_len.map(|index_len| RecordKind::Cold { index_len });
            for kind in std::iter::once(RecordKind::Frozen).chain(cold) {
                bytes.extend_from_slice(&manifest::encode_record(&Record { kind, meta: seg.meta }));
                records += 1;
            }
        }
        let tmp = dir.join(format!("{MANIFEST_FILE_NAME}.tmp"));
        let mut f = File::create(&tmp).map_err(|e| RedexError::io("create", &tmp, e))?;
        f.write_all(&bytes).map_err(|e| RedexError::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| RedexError::io("fsync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| RedexError::io("rename", path, e))?;
        sync_dir(dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| RedexError::io("open", path, e))?;
        Ok(ManifestFile {
            dir: dir.to_path_buf(),
            path: path.to_path_buf(),
            file,
            len: bytes.len() as u64,
            records,
            version: MANIFEST_VERSION,
            live: live.iter().map(|s| (s.meta.first_seq, *s)).collect(),
        })
    }

    /// The live frozen segments (warm and cold), in seq order.
    pub(crate) fn live(&self) -> Vec<LiveSegment> {
        self.live.values().copied().collect()
    }

    /// Records that a segment froze. Durable when this returns.
    pub(crate) fn add(&mut self, meta: SegmentMeta) -> Result<()> {
        self.append(Record { kind: RecordKind::Frozen, meta })?;
        self.live.insert(meta.first_seq, LiveSegment { meta, cold_index_len: None });
        Ok(())
    }

    /// Records that a segment's archived object is verified, so its local files may go.
    /// Durable when this returns. Returns `false` (and records nothing) if the segment is no
    /// longer live: retention dropped it while it was being uploaded. A version-1 manifest is
    /// first rewritten as the current version, which an older build refuses rather than
    /// misreads.
    pub(crate) fn mark_cold(&mut self, meta: SegmentMeta, index_len: u32) -> Result<bool> {
        if !self.live.contains_key(&meta.first_seq) {
            return Ok(false);
        }
        if self.version < MANIFEST_VERSION {
            *self = Self::create(&self.dir, &self.path, &self.live())?;
        }
        self.append(Record { kind: RecordKind::Cold { index_len }, meta })?;
        if let Some(seg) = self.live.get_mut(&meta.first_seq) {
            seg.cold_index_len = Some(index_len);
        }
        Ok(true)
    }

    /// Records that a segment was dropped. Durable when this returns, so its files may go.
    pub(crate) fn drop_segment(&mut self, meta: SegmentMeta) -> Result<()> {
        if !self.live.contains_key(&meta.first_seq) {
            return Ok(());
        }
        // The segment leaves the live set only once the record is durable: if the append
        // fails, the next retention pass must try again rather than think it done.
        self.append(Record { kind: RecordKind::Dropped, meta })?;
        self.live.remove(&meta.first_seq);
        if self.records > 2 * self.live.len() + COMPACTION_SLACK_RECORDS {
            *self = Self::create(&self.dir, &self.path, &self.live())?;
        }
        Ok(())
    }

    fn append(&mut self, record: Record) -> Result<()> {
        let bytes = manifest::encode_record(&record);
        if let Err(e) = self.file.write_all_at(&bytes, self.len) {
            // Leave no partial record behind; a failed cut is trimmed on the next open.
            let _ = self.file.set_len(self.len);
            return Err(RedexError::io("write", &self.path, e));
        }
        self.file.sync_data().map_err(|e| RedexError::io("fsync", &self.path, e))?;
        self.len += bytes.len() as u64;
        self.records += 1;
        Ok(())
    }
}

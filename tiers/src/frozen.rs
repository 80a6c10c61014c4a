//! A frozen segment: a sealed log file plus its index file, both mapped read-only.
//!
//! Reads resolve a seq to its 20-byte record in place (arithmetic on the mapped index), check
//! the payload against the record's checksum and return a `Bytes` slice of the mapped log:
//! no copy, and the slice keeps the mapping alive.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Result, TierError};
use crate::frame;
use crate::index_file::{self, Footer, Layout, TIMESTAMP_LEN};
use crate::index_record::{record_checksum, IndexRecord, PayloadRef, INDEX_RECORD_LEN};
use crate::log_file;
use crate::mmap::map_frozen;

/// Frames up to this size are checked whole by sequential reads; larger ones entry by entry.
pub const FRAME_VERIFY_BYTES_MAX: usize = 256 * 1024;

/// The first index in `0..len` for which `pred` is false (`pred` must be true then false).
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A sealed, read-only, memory-mapped segment.
pub struct FrozenSegment {
    log_path: PathBuf,
    idx_path: PathBuf,
    log: Bytes,
    idx: Bytes,
    footer: Footer,
    layout: Layout,
}

impl std::fmt::Debug for FrozenSegment {
    // A summary: the mappings hold payload bytes, which must not end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrozenSegment")
            .field("log_path", &self.log_path)
            .field("footer", &self.footer)
            .finish()
    }
}

impl FrozenSegment {
    /// Maps `log_path` and `idx_path` and checks that they agree: both headers, the footer and
    /// the log length. Records are not scanned (that is [`FrozenSegment::verify`]), so opening
    /// costs the same for any segment size.
    pub fn open(log_path: &Path, idx_path: &Path) -> Result<Self> {
        let idx = map_frozen(idx_path)?;
        let (footer, layout) = index_file::decode(idx_path, &idx)?;
        let log = map_frozen(log_path)?;
        let log_first = log_file::decode_header(log_path, &log)?;
        if log_first != footer.first_seq {
            return Err(TierError::corrupt(
                log_path,
                0,
                format!("log starts at seq {log_first}, its index at {}", footer.first_seq),
            ));
        }
        if (log.len() as u64) < footer.log_len {
            return Err(TierError::corrupt(
                log_path,
                log.len() as u64,
                format!("log file is {} bytes, its index covers {}", log.len(), footer.log_len),
            ));
        }
        let log = log.slice(..footer.log_len as usize);
        Ok(FrozenSegment {
            log_path: log_path.to_path_buf(),
            idx_path: idx_path.to_path_buf(),
            log,
            idx,
            footer,
            layout,
        })
    }

    /// The footer summary.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// Seq of the first entry.
    pub fn base_seq(&self) -> u64 {
        self.footer.first_seq
    }

    /// One past the last seq.
    pub fn next_seq(&self) -> u64 {
        self.footer.first_seq + self.footer.count
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Path of the index file.
    pub fn idx_path(&self) -> &Path {
        &self.idx_path
    }

    fn slot(&self, seq: u64) -> Option<usize> {
        let i = seq.checked_sub(self.footer.first_seq)?;
        (i < self.footer.count).then_some(i as usize)
    }

    fn record(&self, slot: usize) -> Result<IndexRecord> {
        let at = self.layout.records_at() + slot * INDEX_RECORD_LEN;
        let raw = &self.idx[at..at + INDEX_RECORD_LEN];
        bytemuck::try_from_bytes::<IndexRecord>(raw)
            .copied()
            .map_err(|e| TierError::corrupt(&self.idx_path, at as u64, format!("record cast: {e}")))
    }

    /// All records in place, as a slice of the mapping.
    pub fn records(&self) -> Result<&[IndexRecord]> {
        let raw = &self.idx[self.layout.records_at()..self.layout.timestamps_at()];
        bytemuck::try_cast_slice(raw).map_err(|e| {
            TierError::corrupt(
                &self.idx_path,
                INDEX_RECORD_LEN as u64,
                format!("records cast: {e}"),
            )
        })
    }

    /// Append timestamp of `seq`.
    pub fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        let slot = self.slot(seq)?;
        let at = self.layout.timestamps_at() + slot * TIMESTAMP_LEN;
        let mut b = [0u8; TIMESTAMP_LEN];
        b.copy_from_slice(&self.idx[at..at + TIMESTAMP_LEN]);
        Some(u64::from_le_bytes(b))
    }

    /// Payload length of `seq`.
    pub fn payload_len(&self, seq: u64) -> Option<u64> {
        let slot = self.slot(seq)?;
        self.record(slot).ok().map(|r| u64::from(r.payload_len()))
    }

    /// The payload and timestamp of `seq`; `Ok(None)` if the segment does not hold it, an error
    /// naming the file and offset if the record or payload is damaged.
    pub fn get(&self, seq: u64) -> Result<Option<(Bytes, u64)>> {
        let Some(slot) = self.slot(seq) else { return Ok(None) };
        let rec = self.record(slot)?;
        let ts = self.timestamp_ns(seq).unwrap_or(0);
        self.entry(slot, &rec, ts).map(Some)
    }

    /// Calls `f(seq, payload, timestamp)` for every seq of `start..end` this segment holds, in
    /// order. Sequential reads go frame by frame through the log: each frame is checked once
    /// against its own CRC (which covers its lengths, its payloads and its timestamp), and its
    /// entries are sliced out of it. Frames above [`FRAME_VERIFY_BYTES_MAX`] are read entry by
    /// entry instead, each against its record's checksum, so a read never checks much more than
    /// it returns.
    pub fn for_each(&self, start: u64, end: u64, mut f: impl FnMut(u64, Bytes, u64)) -> Result<()> {
        let first = start.max(self.base_seq());
        let last = end.min(self.next_seq());
        if first >= last {
            return Ok(());
        }
        let (from, to) = ((first - self.base_seq()) as usize, (last - self.base_seq()) as usize);
        let frames = self.layout.frames;
        let frame_at = |i: usize| index_file::frame_entry(&self.idx, &self.layout, i);
        let mut fi =
            partition_point(frames, |i| frame_at(i).first_slot as usize <= from).saturating_sub(1);
        let mut slot = from;
        while slot < to && fi < frames {
            let fe = frame_at(fi);
            let frame_start = fe.file_offset as usize;
            let frame_end = if fi + 1 < frames {
                frame_at(fi + 1).file_offset as usize
            } else {
                self.footer.log_len as usize
            };
            let next_first = if fi + 1 < frames {
                frame_at(fi + 1).first_slot as usize
            } else {
                self.footer.count as usize
            };
            if frame_end.saturating_sub(frame_start) > FRAME_VERIFY_BYTES_MAX {
                let records = self.records()?;
                for s in slot..next_first.min(to) {
                    let ts = self.timestamp_ns(self.base_seq() + s as u64).unwrap_or(0);
                    let rec = records.get(s).copied().ok_or_else(|| self.bad_frame_table(fi))?;
                    let (payload, ts) = self.entry(s, &rec, ts)?;
                    f(self.base_seq() + s as u64, payload, ts);
                }
            } else {
                let bytes =
                    self.log.get(frame_start..frame_end).ok_or_else(|| self.bad_frame_table(fi))?;
                let view = frame::parse(bytes).map_err(|e| {
                    TierError::corrupt(&self.log_path, frame_start as u64, e.to_string())
                })?;
                let frame_first = fe.first_slot as usize;
                if view.first_seq != self.base_seq() + frame_first as u64
                    || view.frame_len != bytes.len()
                {
                    return Err(self.bad_frame_table(fi));
                }
                for (k, (off, len)) in view.payloads().enumerate() {
                    let s = frame_first + k;
                    if s >= slot && s < to {
                        let at = frame_start + off;
                        f(
                            self.base_seq() + s as u64,
                            self.log.slice(at..at + len),
                            view.timestamp_ns,
                        );
                    }
                }
            }
            slot = next_first.max(slot + 1);
            fi += 1;
        }
        Ok(())
    }

    fn bad_frame_table(&self, i: usize) -> TierError {
        let at = (self.layout.frames_at() + i * index_file::FRAME_ENTRY_LEN) as u64;
        TierError::corrupt(&self.idx_path, at, "frame table entry disagrees with the log")
    }

    /// Resolves the record in `slot` to its payload, checking seq, bounds and checksum.
    fn entry(&self, slot: usize, rec: &IndexRecord, ts: u64) -> Result<(Bytes, u64)> {
        let seq = self.base_seq() + slot as u64;
        let rec_at = (self.layout.records_at() + slot * INDEX_RECORD_LEN) as u64;
        if rec.seq() != seq {
            return Err(TierError::corrupt(
                &self.idx_path,
                rec_at,
                format!("record holds seq {} where {seq} was expected", rec.seq()),
            ));
        }
        let payload = match rec.payload_ref() {
            Ok(PayloadRef::Inline { bytes, len }) => Bytes::copy_from_slice(&bytes[..len]),
            Ok(PayloadRef::InLog { offset, len }) => {
                let start = offset as usize;
                let end = start + len as usize;
                if start < log_file::LOG_HEADER_LEN || end > self.log.len() {
                    return Err(TierError::corrupt(
                        &self.idx_path,
                        rec_at,
                        format!(
                            "payload {start}..{end} outside the log's {} bytes",
                            self.log.len()
                        ),
                    ));
                }
                self.log.slice(start..end)
            }
            Err(why) => return Err(TierError::corrupt(&self.idx_path, rec_at, why)),
        };
        if record_checksum(&payload, ts) != rec.checksum() {
            // Either the payload, its timestamp or the record itself is damaged: name the
            // record, and the payload's place in the log.
            let payload_at = match rec.payload_ref() {
                Ok(PayloadRef::InLog { offset, .. }) => {
                    format!(", payload at byte {offset} of {}", self.log_path.display())
                }
                _ => String::new(),
            };
            return Err(TierError::corrupt(
                &self.idx_path,
                rec_at,
                format!("seq {seq}: checksum of payload and timestamp does not match{payload_at}"),
            ));
        }
        Ok((payload, ts))
    }

    /// Checks every checksum: the index body against the footer, then every payload.
    pub fn verify(&self) -> Result<()> {
        index_file::verify_body(&self.idx_path, &self.idx, &self.footer, &self.layout)?;
        for seq in self.base_seq()..self.next_seq() {
            self.get(seq)?;
        }
        // And the frames sequential reads rely on, with the frame table that locates them.
        self.for_each(self.base_seq(), self.next_seq(), |_, _, _| {})?;
        Ok(())
    }
}

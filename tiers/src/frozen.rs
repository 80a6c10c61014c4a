//! A frozen segment: a sealed log file plus its index file, both mapped read-only.
//!
//! Reads resolve a seq to its 20-byte record in place (arithmetic on the mapped index), check
//! the payload against the record's checksum and return a `Bytes` slice of the mapped log:
//! no copy, and the slice keeps the mapping alive.

use std::ops::Range;
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

/// A frozen segment's decoded index: the index file's bytes (a mapping, or bytes fetched from
/// the cold tier) with its footer and layout. Its reads take the log bytes as a [`LogWindow`],
/// so the same checks serve mapped warm segments and partially fetched cold ones.
pub struct SegmentIndex {
    idx_path: PathBuf,
    idx: Bytes,
    footer: Footer,
    layout: Layout,
}

impl std::fmt::Debug for SegmentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentIndex")
            .field("idx_path", &self.idx_path)
            .field("footer", &self.footer)
            .finish()
    }
}

/// Bytes `start..start + bytes.len()` of a segment's log: the whole mapped log of a warm
/// segment, or the part of a cold one fetched for a read. `path` names the log in errors.
#[derive(Debug, Clone, Copy)]
pub struct LogWindow<'a> {
    /// The log (file path, or cold object name) for error messages.
    pub path: &'a Path,
    /// The bytes held.
    pub bytes: &'a Bytes,
    /// Log offset of `bytes[0]`.
    pub start: u64,
}

impl LogWindow<'_> {
    /// Where log bytes `range` sit in `bytes`, if the window holds all of them.
    fn local(&self, range: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
        let from = range.start.checked_sub(self.start as usize)?;
        let to = range.end.checked_sub(self.start as usize)?;
        (from <= to && to <= self.bytes.len()).then_some(from..to)
    }

    /// Log bytes `range` as a shared slice, if the window holds all of them.
    fn slice(&self, range: std::ops::Range<usize>) -> Option<Bytes> {
        self.local(range).map(|r| self.bytes.slice(r))
    }
}

impl SegmentIndex {
    /// Decodes `idx` (header and footer checked; the body is checked by
    /// [`SegmentIndex::verify_body`]). `idx_path` names it in errors.
    pub fn decode(idx_path: &Path, idx: Bytes) -> Result<Self> {
        let (footer, layout) = index_file::decode(idx_path, &idx)?;
        Ok(SegmentIndex { idx_path: idx_path.to_path_buf(), idx, footer, layout })
    }

    /// The footer summary.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The index file's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.idx
    }

    /// Seq of the first entry.
    pub fn base_seq(&self) -> u64 {
        self.footer.first_seq
    }

    /// One past the last seq.
    pub fn next_seq(&self) -> u64 {
        self.footer.first_seq + self.footer.count
    }

    /// Checks the index body's checksum against the footer.
    pub fn verify_body(&self) -> Result<()> {
        index_file::verify_body(&self.idx_path, &self.idx, &self.footer, &self.layout)
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

    /// All records in place, as a slice of the index bytes.
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

    /// The log bytes [`SegmentIndex::get`] needs for `seq`: its payload's range, or an empty
    /// range for an inline payload. `None` if the segment does not hold `seq`.
    pub fn payload_span(&self, seq: u64) -> Result<Option<Range<u64>>> {
        let Some(slot) = self.slot(seq) else { return Ok(None) };
        Ok(Some(match self.record(slot)?.payload_ref() {
            Ok(PayloadRef::InLog { offset, len }) => {
                u64::from(offset)..u64::from(offset) + u64::from(len)
            }
            _ => 0..0,
        }))
    }

    /// The log bytes [`SegmentIndex::for_each`] needs for `start..end`: the frames holding
    /// those entries. `None` if the segment holds none of them.
    pub fn frames_span(&self, start: u64, end: u64) -> Option<Range<u64>> {
        let first = self.slot(start.max(self.base_seq()))?;
        let last = self.slot(end.min(self.next_seq()).checked_sub(1)?)?;
        if first > last {
            return None;
        }
        let frames = self.layout.frames;
        let frame_of = |slot: usize| {
            partition_point(frames, |i| self.frame_at(i).first_slot as usize <= slot)
                .saturating_sub(1)
        };
        let from = u64::from(self.frame_at(frame_of(first)).file_offset);
        let after = frame_of(last) + 1;
        let to = if after < frames {
            u64::from(self.frame_at(after).file_offset)
        } else {
            self.footer.log_len
        };
        Some(from..to.max(from))
    }

    fn frame_at(&self, i: usize) -> index_file::FrameEntry {
        index_file::frame_entry(&self.idx, &self.layout, i)
    }

    /// The payload and timestamp of `seq`, read from `log`; `Ok(None)` if the segment does not
    /// hold it, an error naming the file and offset if the record or payload is damaged.
    pub fn get(&self, log: &LogWindow<'_>, seq: u64) -> Result<Option<(Bytes, u64)>> {
        let Some(slot) = self.slot(seq) else { return Ok(None) };
        let rec = self.record(slot)?;
        let ts = self.timestamp_ns(seq).unwrap_or(0);
        self.entry(log, slot, &rec, ts).map(Some)
    }

    /// Calls `f(seq, payload, timestamp)` for every seq of `start..end` this segment holds, in
    /// order: [`SegmentIndex::for_each_slice`] with each payload as its own shared slice.
    pub fn for_each(
        &self,
        log: &LogWindow<'_>,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, Bytes, u64),
    ) -> Result<()> {
        self.for_each_slice(log, start, end, |seq, buf, range, ts| f(seq, buf.slice(range), ts))
    }

    /// Calls `f(seq, buffer, range, timestamp)` for every seq of `start..end` this segment
    /// holds, in order, the payload being `buffer[range]` (most often the whole log window, so
    /// a caller keeping many payloads keeps one reference to it, not one per entry). Reads
    /// from `log` (which must hold [`SegmentIndex::frames_span`]). Sequential
    /// reads go frame by frame: each frame is checked once against its own CRC (which covers
    /// its lengths, its payloads and its timestamp), and its entries are sliced out of it.
    /// Frames above [`FRAME_VERIFY_BYTES_MAX`] are read entry by entry instead, each against
    /// its record's checksum, so a read never checks much more than it returns. A frame table
    /// that disagrees with the frames or skips entries is reported, never read around: the
    /// seqs handed out are always exactly `start..end` (within this segment), or an error.
    pub fn for_each_slice(
        &self,
        log: &LogWindow<'_>,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, &Bytes, Range<usize>, u64),
    ) -> Result<()> {
        let first = start.max(self.base_seq());
        let last = end.min(self.next_seq());
        if first >= last {
            return Ok(());
        }
        let (from, to) = ((first - self.base_seq()) as usize, (last - self.base_seq()) as usize);
        let frames = self.layout.frames;
        let mut fi = partition_point(frames, |i| self.frame_at(i).first_slot as usize <= from)
            .saturating_sub(1);
        let mut slot = from;
        while slot < to && fi < frames {
            let fe = self.frame_at(fi);
            let frame_start = fe.file_offset as usize;
            let (frame_end, next_first) = if fi + 1 < frames {
                let next = self.frame_at(fi + 1);
                (next.file_offset as usize, next.first_slot as usize)
            } else {
                (self.footer.log_len as usize, self.footer.count as usize)
            };
            // The frame must hold the next slot to hand out: a damaged (or forged) table that
            // skips entries would otherwise leave a silent gap in what is handed out.
            if fe.first_slot as usize > slot || next_first <= slot {
                return Err(self.bad_frame_table(fi));
            }
            if frame_end.saturating_sub(frame_start) > FRAME_VERIFY_BYTES_MAX {
                let records = self.records()?;
                for s in slot..next_first.min(to) {
                    let ts = self.timestamp_ns(self.base_seq() + s as u64).unwrap_or(0);
                    let rec = records.get(s).copied().ok_or_else(|| self.bad_frame_table(fi))?;
                    let (payload, ts) = self.entry(log, s, &rec, ts)?;
                    f(self.base_seq() + s as u64, &payload, 0..payload.len(), ts);
                }
            } else {
                if frame_end < frame_start || frame_end > self.footer.log_len as usize {
                    return Err(self.bad_frame_table(fi));
                }
                // Parsed in place; only the payloads handed out become shared slices.
                let at = log
                    .local(frame_start..frame_end)
                    .ok_or_else(|| not_in_window(log, frame_start..frame_end))?;
                let frame = &log.bytes[at.clone()];
                let view = frame::parse(frame)
                    .map_err(|e| TierError::corrupt(log.path, frame_start as u64, e.to_string()))?;
                let frame_first = fe.first_slot as usize;
                if view.first_seq != self.base_seq() + frame_first as u64
                    || view.frame_len != frame.len()
                    || frame_first + view.count as usize != next_first
                {
                    return Err(self.bad_frame_table(fi));
                }
                for (k, (off, len)) in view.payloads().enumerate() {
                    let s = frame_first + k;
                    if s >= slot && s < to {
                        let from = at.start + off;
                        f(
                            self.base_seq() + s as u64,
                            log.bytes,
                            from..from + len,
                            view.timestamp_ns,
                        );
                    }
                }
            }
            slot = next_first;
            fi += 1;
        }
        if slot < to {
            // The table ran out of frames before the footer's count.
            return Err(self.bad_frame_table(frames.saturating_sub(1)));
        }
        Ok(())
    }

    fn bad_frame_table(&self, i: usize) -> TierError {
        let at = (self.layout.frames_at() + i * index_file::FRAME_ENTRY_LEN) as u64;
        TierError::corrupt(&self.idx_path, at, "frame table entry disagrees with the log")
    }

    /// Resolves the record in `slot` to its payload, checking seq, bounds and checksum.
    fn entry(
        &self,
        log: &LogWindow<'_>,
        slot: usize,
        rec: &IndexRecord,
        ts: u64,
    ) -> Result<(Bytes, u64)> {
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
                let log_len = self.footer.log_len as usize;
                if start < log_file::LOG_HEADER_LEN || end > log_len {
                    return Err(TierError::corrupt(
                        &self.idx_path,
                        rec_at,
                        format!("payload {start}..{end} outside the log's {log_len} bytes"),
                    ));
                }
                log.slice(start..end).ok_or_else(|| not_in_window(log, start..end))?
            }
            Err(why) => return Err(TierError::corrupt(&self.idx_path, rec_at, why)),
        };
        if record_checksum(&payload, ts) != rec.checksum() {
            // Either the payload, its timestamp or the record itself is damaged: name the
            // record, and the payload's place in the log.
            let payload_at = match rec.payload_ref() {
                Ok(PayloadRef::InLog { offset, .. }) => {
                    format!(", payload at byte {offset} of {}", log.path.display())
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

    /// Checks every checksum of the segment whose whole log is `log`: the index body, every
    /// payload against its record, and every frame sequential reads rely on.
    pub fn verify(&self, log: &LogWindow<'_>) -> Result<()> {
        self.verify_body()?;
        for seq in self.base_seq()..self.next_seq() {
            self.get(log, seq)?;
        }
        self.for_each_slice(log, self.base_seq(), self.next_seq(), |_, _, _, _| {})
    }
}

/// A read asked for log bytes the window does not hold: a bug in the caller's span, reported
/// as an error rather than a panic.
fn not_in_window(log: &LogWindow<'_>, range: Range<usize>) -> TierError {
    TierError::corrupt(
        log.path,
        range.start as u64,
        format!(
            "log bytes {range:?} are outside the {} bytes read from offset {}",
            log.bytes.len(),
            log.start
        ),
    )
}

/// A sealed, read-only, memory-mapped segment.
pub struct FrozenSegment {
    log_path: PathBuf,
    index: SegmentIndex,
    log: Bytes,
}

impl std::fmt::Debug for FrozenSegment {
    // A summary: the mappings hold payload bytes, which must not end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrozenSegment")
            .field("log_path", &self.log_path)
            .field("footer", &self.index.footer)
            .finish()
    }
}

impl FrozenSegment {
    /// Maps `log_path` and `idx_path` and checks that they agree: both headers, the footer and
    /// the log length. Records are not scanned (that is [`FrozenSegment::verify`]), so opening
    /// costs the same for any segment size.
    pub fn open(log_path: &Path, idx_path: &Path) -> Result<Self> {
        let index = SegmentIndex::decode(idx_path, map_frozen(idx_path)?)?;
        let footer = index.footer;
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
        Ok(FrozenSegment { log_path: log_path.to_path_buf(), index, log })
    }

    fn window(&self) -> LogWindow<'_> {
        LogWindow { path: &self.log_path, bytes: &self.log, start: 0 }
    }

    /// The decoded index.
    pub fn index(&self) -> &SegmentIndex {
        &self.index
    }

    /// The mapped log, exactly the bytes the index covers.
    pub fn log_bytes(&self) -> &Bytes {
        &self.log
    }

    /// The footer summary.
    pub fn footer(&self) -> &Footer {
        &self.index.footer
    }

    /// Seq of the first entry.
    pub fn base_seq(&self) -> u64 {
        self.index.base_seq()
    }

    /// One past the last seq.
    pub fn next_seq(&self) -> u64 {
        self.index.next_seq()
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Path of the index file.
    pub fn idx_path(&self) -> &Path {
        &self.index.idx_path
    }

    /// All records in place, as a slice of the mapping.
    pub fn records(&self) -> Result<&[IndexRecord]> {
        self.index.records()
    }

    /// Append timestamp of `seq`.
    pub fn timestamp_ns(&self, seq: u64) -> Option<u64> {
        self.index.timestamp_ns(seq)
    }

    /// Payload length of `seq`.
    pub fn payload_len(&self, seq: u64) -> Option<u64> {
        self.index.payload_len(seq)
    }

    /// The payload and timestamp of `seq`; `Ok(None)` if the segment does not hold it, an error
    /// naming the file and offset if the record or payload is damaged.
    pub fn get(&self, seq: u64) -> Result<Option<(Bytes, u64)>> {
        self.index.get(&self.window(), seq)
    }

    /// Calls `f(seq, payload, timestamp)` for every seq of `start..end` this segment holds, in
    /// order, zero-copy (see [`SegmentIndex::for_each`] for the checks).
    pub fn for_each(&self, start: u64, end: u64, f: impl FnMut(u64, Bytes, u64)) -> Result<()> {
        self.index.for_each(&self.window(), start, end, f)
    }

    /// [`SegmentIndex::for_each_slice`] over this segment's mapped log.
    pub fn for_each_slice(
        &self,
        start: u64,
        end: u64,
        f: impl FnMut(u64, &Bytes, Range<usize>, u64),
    ) -> Result<()> {
        self.index.for_each_slice(&self.window(), start, end, f)
    }

    /// Checks every checksum: the index body against the footer, then every payload and frame.
    pub fn verify(&self) -> Result<()> {
        self.index.verify(&self.window())
    }
}

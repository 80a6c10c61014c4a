//! The index file of a frozen segment (`<first seq>.idx`), written once when the segment is
//! sealed and never modified.
//!
//! Layout: header, `count` index records, `count` timestamps, `frame_count` frame entries,
//! footer.
//!
//! Header:
//!
//! | bytes  | field        | meaning                                  |
//! |--------|--------------|------------------------------------------|
//! | 0..8   | `magic`      | `b"REDEXIDX"`                            |
//! | 8..12  | `version`    | u32 LE, [`INDEX_VERSION`]                |
//! | 12..16 | `header_len` | u32 LE, 40                               |
//! | 16..24 | `first_seq`  | u64 LE                                   |
//! | 24..28 | `count`      | u32 LE, number of entries (at least 1)   |
//! | 28..32 | `frames`     | u32 LE, number of frames (at least 1)    |
//! | 32..36 | `reserved`   | zero                                     |
//! | 36..40 | `crc`        | u32 LE, crc32c of bytes 0..36            |
//!
//! Then `count` 20-byte [`IndexRecord`]s, then `count` u64 LE append timestamps (ns), then
//! `frames` 8-byte frame entries (u32 LE slot of the frame's first entry, u32 LE offset of the
//! frame in the log), in log order, so sequential reads can check whole frames against their
//! CRC; then the footer:
//!
//! | bytes  | field           | meaning                                                    |
//! |--------|-----------------|------------------------------------------------------------|
//! | 0..8   | `first_seq`     | u64 LE                                                     |
//! | 8..16  | `count`         | u64 LE                                                     |
//! | 16..24 | `min_ts_ns`     | u64 LE, first entry's timestamp                            |
//! | 24..32 | `max_ts_ns`     | u64 LE, last entry's timestamp                             |
//! | 32..40 | `log_len`       | u64 LE, bytes of the log file covered by this index        |
//! | 40..48 | `payload_bytes` | u64 LE, sum of payload lengths                             |
//! | 48..52 | `body_crc`      | u32 LE, crc32c of everything before the footer             |
//! | 52..56 | `footer_crc`    | u32 LE, crc32c of footer bytes 0..52                       |
//! | 56..64 | `magic`         | `b"REDEXEND"`                                              |

use std::path::Path;

use crate::crc32c;
use crate::error::{Result, TierError};
use crate::index_record::{IndexRecord, INDEX_RECORD_LEN};
use crate::le::{u32_at, u64_at};

/// Magic number opening an index file.
pub const INDEX_MAGIC: [u8; 8] = *b"REDEXIDX";
/// Magic number closing an index file.
pub const FOOTER_MAGIC: [u8; 8] = *b"REDEXEND";
/// The index format version this build reads and writes.
pub const INDEX_VERSION: u32 = 1;

const H_MAGIC: usize = 0;
const H_VERSION: usize = H_MAGIC + 8;
const H_HEADER_LEN: usize = H_VERSION + 4;
const H_FIRST_SEQ: usize = H_HEADER_LEN + 4;
const H_COUNT: usize = H_FIRST_SEQ + 8;
const H_FRAMES: usize = H_COUNT + 4;
const H_RESERVED: usize = H_FRAMES + 4;
const H_CRC: usize = H_RESERVED + 4;
/// Length of the index file header.
pub const INDEX_HEADER_LEN: usize = H_CRC + 4;
const _: () = assert!(INDEX_HEADER_LEN == 40);

const F_FIRST_SEQ: usize = 0;
const F_COUNT: usize = F_FIRST_SEQ + 8;
const F_MIN_TS: usize = F_COUNT + 8;
const F_MAX_TS: usize = F_MIN_TS + 8;
const F_LOG_LEN: usize = F_MAX_TS + 8;
const F_PAYLOAD_BYTES: usize = F_LOG_LEN + 8;
const F_BODY_CRC: usize = F_PAYLOAD_BYTES + 8;
const F_FOOTER_CRC: usize = F_BODY_CRC + 4;
const F_MAGIC: usize = F_FOOTER_CRC + 4;
/// Length of the index file footer.
pub const INDEX_FOOTER_LEN: usize = F_MAGIC + 8;
const _: () = assert!(INDEX_FOOTER_LEN == 64);

/// Bytes of one timestamp in the time column.
pub const TIMESTAMP_LEN: usize = 8;
/// Bytes of one entry of the frame table.
pub const FRAME_ENTRY_LEN: usize = 8;

/// Where a frame of the segment's log starts, and which entry it starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEntry {
    /// Slot (entry index within the segment) of the frame's first entry.
    pub first_slot: u32,
    /// Byte offset of the frame in the log file.
    pub file_offset: u32,
}

/// The summary a footer records of its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Number of entries.
    pub count: u64,
    /// Timestamp of the first entry.
    pub min_ts_ns: u64,
    /// Timestamp of the last entry.
    pub max_ts_ns: u64,
    /// Length of the log file this index covers.
    pub log_len: u64,
    /// Sum of payload lengths.
    pub payload_bytes: u64,
    /// Checksum of everything before the footer.
    pub body_crc: u32,
}

/// The byte layout of an index file with `count` entries in `frames` frames.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Entries in the file.
    pub count: usize,
    /// Frames in the segment's log.
    pub frames: usize,
}

impl Layout {
    /// Where the records start.
    pub fn records_at(&self) -> usize {
        INDEX_HEADER_LEN
    }
    /// Where the time column starts.
    pub fn timestamps_at(&self) -> usize {
        self.records_at() + self.count * INDEX_RECORD_LEN
    }
    /// Where the frame table starts.
    pub fn frames_at(&self) -> usize {
        self.timestamps_at() + self.count * TIMESTAMP_LEN
    }
    /// Where the footer starts.
    pub fn footer_at(&self) -> usize {
        self.frames_at() + self.frames * FRAME_ENTRY_LEN
    }
    /// Total file length.
    pub fn file_len(&self) -> usize {
        self.footer_at() + INDEX_FOOTER_LEN
    }
}

/// Encodes a whole index file into memory (see [`write()`]).
pub fn encode(
    first_seq: u64,
    entries: &[(IndexRecord, u64)],
    frames: &[FrameEntry],
    log_len: u64,
    payload_bytes: u64,
) -> Vec<u8> {
    let layout = Layout { count: entries.len(), frames: frames.len() };
    let mut out = Vec::with_capacity(layout.file_len());
    let parts = IndexParts {
        first_seq,
        count: entries.len(),
        frames: frames.len(),
        log_len,
        payload_bytes,
    };
    // Writing to a Vec cannot fail.
    let _ = write(
        &mut out,
        &parts,
        entries.iter().map(|e| e.0),
        entries.iter().map(|e| e.1),
        frames.iter().copied(),
    );
    out
}

/// The sizes an index file's header and footer record.
#[derive(Debug, Clone, Copy)]
pub struct IndexParts {
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Entries (records and timestamps yielded must number exactly this).
    pub count: usize,
    /// Frames (frame entries yielded must number exactly this).
    pub frames: usize,
    /// Bytes of the log the index covers.
    pub log_len: u64,
    /// Sum of payload lengths.
    pub payload_bytes: u64,
}

/// Streams a whole index file to `out`: memory use does not depend on the segment's size, so
/// freezing a segment of millions of entries allocates nothing proportional to it.
pub fn write<W: std::io::Write>(
    out: &mut W,
    parts: &IndexParts,
    records: impl Iterator<Item = IndexRecord>,
    timestamps: impl Iterator<Item = u64>,
    frames: impl Iterator<Item = FrameEntry>,
) -> std::io::Result<()> {
    #[cfg(feature = "fault-injection")]
    if crate::backend::fault::take(&crate::backend::fault::INDEX_WRITE_ERRORS) {
        return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    #[cfg(feature = "fault-injection")]
    if crate::backend::fault::take(&crate::backend::fault::INDEX_WRITE_PANICS) {
        panic!("injected panic in an index write");
    }
    let mut w = CrcWriter { inner: out, crc: 0 };
    let mut header = Vec::with_capacity(INDEX_HEADER_LEN);
    header.extend_from_slice(&INDEX_MAGIC);
    header.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    header.extend_from_slice(&(INDEX_HEADER_LEN as u32).to_le_bytes());
    header.extend_from_slice(&parts.first_seq.to_le_bytes());
    header.extend_from_slice(&(parts.count as u32).to_le_bytes());
    header.extend_from_slice(&(parts.frames as u32).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    let header_crc = crc32c::crc32c(&header[..H_CRC]);
    header.extend_from_slice(&header_crc.to_le_bytes());
    w.put(&header)?;
    let mut written = 0usize;
    for rec in records {
        w.put(bytemuck::bytes_of(&rec))?;
        written += 1;
    }
    let (mut min_ts, mut max_ts, mut stamped) = (0, 0, 0usize);
    for ts in timestamps {
        if stamped == 0 {
            min_ts = ts;
        }
        max_ts = ts;
        stamped += 1;
        w.put(&ts.to_le_bytes())?;
    }
    let mut framed = 0usize;
    for f in frames {
        w.put(&f.first_slot.to_le_bytes())?;
        w.put(&f.file_offset.to_le_bytes())?;
        framed += 1;
    }
    if written != parts.count || stamped != parts.count || framed != parts.frames {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "index parts disagree with the entries written",
        ));
    }
    let body_crc = w.crc;
    let mut footer = Vec::with_capacity(INDEX_FOOTER_LEN);
    for v in
        [parts.first_seq, parts.count as u64, min_ts, max_ts, parts.log_len, parts.payload_bytes]
    {
        footer.extend_from_slice(&v.to_le_bytes());
    }
    footer.extend_from_slice(&body_crc.to_le_bytes());
    let footer_crc = crc32c::crc32c(&footer);
    footer.extend_from_slice(&footer_crc.to_le_bytes());
    footer.extend_from_slice(&FOOTER_MAGIC);
    w.inner.write_all(&footer)
}

/// A writer that keeps the CRC-32C of everything written through it.
struct CrcWriter<'a, W> {
    inner: &'a mut W,
    crc: u32,
}

impl<W: std::io::Write> CrcWriter<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.inner.write_all(bytes)
    }
}

/// Checks the header and footer of an index file (not the body checksum: that is
/// [`verify_body`]'s job) and returns the footer and layout.
pub fn decode(path: &Path, file: &[u8]) -> Result<(Footer, Layout)> {
    let header = file
        .get(..INDEX_HEADER_LEN)
        .ok_or_else(|| TierError::corrupt(path, 0, "index header truncated"))?;
    if header[H_MAGIC..H_VERSION] != INDEX_MAGIC {
        return Err(TierError::corrupt(path, 0, "not a RedEX index file (bad magic)"));
    }
    let version = u32_at(header, H_VERSION);
    if version != INDEX_VERSION {
        return Err(TierError::UnsupportedVersion {
            path: path.to_path_buf(),
            what: "index file",
            found: version,
            supported: INDEX_VERSION,
        });
    }
    if crc32c::crc32c(&header[..H_CRC]) != u32_at(header, H_CRC) {
        return Err(TierError::corrupt(path, H_CRC as u64, "index header checksum mismatch"));
    }
    if u32_at(header, H_HEADER_LEN) as usize != INDEX_HEADER_LEN {
        return Err(TierError::corrupt(
            path,
            H_HEADER_LEN as u64,
            "unexpected index header length",
        ));
    }
    let count = u32_at(header, H_COUNT) as usize;
    let layout = Layout { count, frames: u32_at(header, H_FRAMES) as usize };
    if file.len() != layout.file_len() {
        return Err(TierError::corrupt(
            path,
            file.len() as u64,
            format!("index file is {} bytes, its header implies {}", file.len(), layout.file_len()),
        ));
    }
    let footer_at = layout.footer_at();
    let f = &file[footer_at..];
    if f[F_MAGIC..] != FOOTER_MAGIC {
        return Err(TierError::corrupt(path, (footer_at + F_MAGIC) as u64, "bad footer magic"));
    }
    if crc32c::crc32c(&f[..F_FOOTER_CRC]) != u32_at(f, F_FOOTER_CRC) {
        return Err(TierError::corrupt(
            path,
            (footer_at + F_FOOTER_CRC) as u64,
            "footer checksum mismatch",
        ));
    }
    let footer = Footer {
        first_seq: u64_at(f, F_FIRST_SEQ),
        count: u64_at(f, F_COUNT),
        min_ts_ns: u64_at(f, F_MIN_TS),
        max_ts_ns: u64_at(f, F_MAX_TS),
        log_len: u64_at(f, F_LOG_LEN),
        payload_bytes: u64_at(f, F_PAYLOAD_BYTES),
        body_crc: u32_at(f, F_BODY_CRC),
    };
    if footer.first_seq != u64_at(header, H_FIRST_SEQ)
        || footer.count != count as u64
        || count == 0
        || layout.frames == 0
        || layout.frames > count
    {
        return Err(TierError::corrupt(path, footer_at as u64, "footer disagrees with header"));
    }
    if footer.first_seq.checked_add(footer.count).is_none() || footer.log_len > u64::from(u32::MAX)
    {
        return Err(TierError::corrupt(path, footer_at as u64, "footer values out of range"));
    }
    Ok((footer, layout))
}

/// Reads entry `i` of the frame table (the caller keeps `i` below `layout.frames`).
pub fn frame_entry(file: &[u8], layout: &Layout, i: usize) -> FrameEntry {
    let at = layout.frames_at() + i * FRAME_ENTRY_LEN;
    FrameEntry { first_slot: u32_at(file, at), file_offset: u32_at(file, at + 4) }
}

/// Checks the body checksum (everything before the footer) against the footer.
pub fn verify_body(path: &Path, file: &[u8], footer: &Footer, layout: &Layout) -> Result<()> {
    let body = &file[..layout.footer_at()];
    if crc32c::crc32c(body) != footer.body_crc {
        return Err(TierError::corrupt(path, 0, "index body checksum mismatch"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let entries: Vec<_> = (0..5u64)
            .map(|i| {
                (IndexRecord::new(10 + i, 32 + 40 * i as u32, &[i as u8; 12], 1000 + i), 1000 + i)
            })
            .collect();
        let frames = [
            FrameEntry { first_slot: 0, file_offset: 32 },
            FrameEntry { first_slot: 3, file_offset: 200 },
        ];
        encode(10, &entries, &frames, 4096, 60)
    }

    #[test]
    fn decodes_what_it_encodes() {
        let file = sample();
        let (footer, layout) = decode(Path::new("x.idx"), &file)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(footer.first_seq, 10);
        assert_eq!(footer.count, 5);
        assert_eq!((footer.min_ts_ns, footer.max_ts_ns), (1000, 1004));
        assert_eq!(layout.file_len(), file.len());
        assert!(verify_body(Path::new("x.idx"), &file, &footer, &layout).is_ok());
    }

    #[test]
    fn any_cut_or_header_footer_flip_is_an_error_not_a_panic() {
        let file = sample();
        let p = Path::new("x.idx");
        for cut in 0..file.len() {
            assert!(decode(p, &file[..cut]).is_err(), "cut at {cut} accepted");
        }
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            let ok = decode(p, &bad).and_then(|(f, l)| verify_body(p, &bad, &f, &l));
            assert!(ok.is_err(), "flip at {i} accepted");
        }
    }
}

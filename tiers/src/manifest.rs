//! The manifest: an append-only log of which frozen segments a channel holds.
//!
//! Reopen reads it instead of opening every frozen segment, so its cost does not grow with the
//! number of frozen events; segments are then opened lazily, on first read. A freeze appends a
//! [`RecordKind::Frozen`] record once the segment's index is durable; archival to the cold tier
//! appends a [`RecordKind::Cold`] record once the archived object is verified, before deleting
//! the local files; retention appends a [`RecordKind::Dropped`] record and fsyncs it before
//! deleting the segment's files (or object).
//!
//! Header, 32 bytes:
//!
//! | bytes  | field        | meaning                       |
//! |--------|--------------|-------------------------------|
//! | 0..8   | `magic`      | `b"REDEXMAN"`                 |
//! | 8..12  | `version`    | u32 LE, [`MANIFEST_VERSION`]; 1 is read too (no cold records) |
//! | 12..16 | `header_len` | u32 LE, 32                    |
//! | 16..28 | `reserved`   | zero                          |
//! | 28..32 | `crc`        | u32 LE, crc32c of bytes 0..28 |
//!
//! Then 64-byte records:
//!
//! | bytes  | field           | meaning                                             |
//! |--------|-----------------|-----------------------------------------------------|
//! | 0..4   | `magic`         | `b"RXMR"`                                           |
//! | 4      | `kind`          | 1 frozen, 2 dropped, 3 cold (version 2 only)        |
//! | 5..8   | `reserved`      | zero                                                |
//! | 8..16  | `first_seq`     | u64 LE, the segment's first seq                     |
//! | 16..24 | `count`         | u64 LE, entries (frozen records)                    |
//! | 24..32 | `log_len`       | u64 LE, bytes of the segment's log                  |
//! | 32..40 | `payload_bytes` | u64 LE                                              |
//! | 40..48 | `min_ts_ns`     | u64 LE                                              |
//! | 48..56 | `max_ts_ns`     | u64 LE                                              |
//! | 56..60 | `index_len`     | u32 LE, cold records: the object's index section    |
//! | 60..64 | `crc`           | u32 LE, crc32c of bytes 0..60                       |

use std::path::Path;

use crate::crc32c;
use crate::error::{Result, TierError};
use crate::index_file::Footer;
use crate::le::{u32_at, u64_at};

/// Magic number opening a manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"REDEXMAN";
/// Magic number opening each record.
pub const RECORD_MAGIC: [u8; 4] = *b"RXMR";
/// The manifest format version this build writes. Version 1 (before the cold tier) is read
/// too; a version-1 manifest is rewritten as version 2 before its first cold record.
pub const MANIFEST_VERSION: u32 = 2;
/// The oldest manifest version this build reads.
pub const MANIFEST_VERSION_MIN: u32 = 1;

const H_MAGIC: usize = 0;
const H_VERSION: usize = H_MAGIC + 8;
const H_HEADER_LEN: usize = H_VERSION + 4;
const H_RESERVED: usize = H_HEADER_LEN + 4;
const H_CRC: usize = H_RESERVED + 12;
/// Length of the manifest header.
pub const MANIFEST_HEADER_LEN: usize = H_CRC + 4;
const _: () = assert!(MANIFEST_HEADER_LEN == 32);

const R_MAGIC: usize = 0;
const R_KIND: usize = R_MAGIC + 4;
const R_RESERVED: usize = R_KIND + 1;
const R_FIRST_SEQ: usize = R_RESERVED + 3;
const R_COUNT: usize = R_FIRST_SEQ + 8;
const R_LOG_LEN: usize = R_COUNT + 8;
const R_PAYLOAD_BYTES: usize = R_LOG_LEN + 8;
const R_MIN_TS: usize = R_PAYLOAD_BYTES + 8;
const R_MAX_TS: usize = R_MIN_TS + 8;
const R_INDEX_LEN: usize = R_MAX_TS + 8;
const R_CRC: usize = R_INDEX_LEN + 4;
/// Length of one manifest record.
pub const RECORD_LEN: usize = R_CRC + 4;
const _: () = assert!(RECORD_LEN == 64);

/// What a frozen segment's manifest record says of it: enough to place it, size it and age it
/// without opening its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Number of entries (at least 1).
    pub count: u64,
    /// Bytes of the segment's log file.
    pub log_len: u64,
    /// Sum of payload lengths.
    pub payload_bytes: u64,
    /// Timestamp of the first entry.
    pub min_ts_ns: u64,
    /// Timestamp of the last entry.
    pub max_ts_ns: u64,
}

impl SegmentMeta {
    /// One past the last seq.
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.count
    }

    /// Whether a frozen segment's footer agrees with this record.
    pub fn matches(&self, footer: &Footer) -> bool {
        *self == SegmentMeta::from(footer)
    }
}

impl From<&Footer> for SegmentMeta {
    fn from(f: &Footer) -> Self {
        SegmentMeta {
            first_seq: f.first_seq,
            count: f.count,
            log_len: f.log_len,
            payload_bytes: f.payload_bytes,
            min_ts_ns: f.min_ts_ns,
            max_ts_ns: f.max_ts_ns,
        }
    }
}

/// Kind of a manifest record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A segment was frozen; its files are complete and durable.
    Frozen,
    /// A segment was dropped by retention; its files may be deleted.
    Dropped,
    /// A segment was archived to the cold tier and the object verified; its local files may be
    /// deleted.
    Cold {
        /// Bytes of the archived object's index section, so a reader fetches header and
        /// index in one ranged read.
        index_len: u32,
    },
}

/// One manifest record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// What happened.
    pub kind: RecordKind,
    /// The segment (for `Dropped`, only `first_seq` is meaningful).
    pub meta: SegmentMeta,
}

/// Encodes the manifest header.
pub fn encode_header() -> [u8; MANIFEST_HEADER_LEN] {
    let mut h = [0u8; MANIFEST_HEADER_LEN];
    h[H_MAGIC..H_VERSION].copy_from_slice(&MANIFEST_MAGIC);
    h[H_VERSION..H_HEADER_LEN].copy_from_slice(&MANIFEST_VERSION.to_le_bytes());
    h[H_HEADER_LEN..H_RESERVED].copy_from_slice(&(MANIFEST_HEADER_LEN as u32).to_le_bytes());
    let crc = crc32c::crc32c(&h[..H_CRC]);
    h[H_CRC..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Encodes one record.
pub fn encode_record(record: &Record) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[R_MAGIC..R_KIND].copy_from_slice(&RECORD_MAGIC);
    r[R_KIND] = match record.kind {
        RecordKind::Frozen => 1,
        RecordKind::Dropped => 2,
        RecordKind::Cold { index_len } => {
            r[R_INDEX_LEN..R_CRC].copy_from_slice(&index_len.to_le_bytes());
            3
        }
    };
    let m = &record.meta;
    for (at, v) in [
        (R_FIRST_SEQ, m.first_seq),
        (R_COUNT, m.count),
        (R_LOG_LEN, m.log_len),
        (R_PAYLOAD_BYTES, m.payload_bytes),
        (R_MIN_TS, m.min_ts_ns),
        (R_MAX_TS, m.max_ts_ns),
    ] {
        r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc32c::crc32c(&r[..R_CRC]);
    r[R_CRC..].copy_from_slice(&crc.to_le_bytes());
    r
}

/// The records of a manifest, and how many of its bytes are valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Records in the order they were appended.
    pub records: Vec<Record>,
    /// The format version of the header.
    pub version: u32,
    /// Bytes of valid header and records; anything after is a torn final append.
    pub valid_len: u64,
}

/// Decodes a manifest. The header must be intact (a bad one is corruption; an unknown version
/// is [`TierError::UnsupportedVersion`]); records are read until the first torn or damaged one,
/// which can only be the last append (each append is fsynced before the next). A damaged
/// record with intact records after it is not a torn append but damage, and is reported:
/// reading it as a torn tail would drop the records after it (the writer truncates a torn
/// tail), forgetting segments frozen, dropped or archived since.
pub fn decode(path: &Path, file: &[u8]) -> Result<Replay> {
    let h = file
        .get(..MANIFEST_HEADER_LEN)
        .ok_or_else(|| TierError::corrupt(path, 0, "manifest header truncated"))?;
    if h[H_MAGIC..H_VERSION] != MANIFEST_MAGIC {
        return Err(TierError::corrupt(path, 0, "not a RedEX manifest (bad magic)"));
    }
    let version = u32_at(h, H_VERSION);
    if !(MANIFEST_VERSION_MIN..=MANIFEST_VERSION).contains(&version) {
        return Err(TierError::UnsupportedVersion {
            path: path.to_path_buf(),
            what: "manifest",
            found: version,
            supported: MANIFEST_VERSION,
        });
    }
    if crc32c::crc32c(&h[..H_CRC]) != u32_at(h, H_CRC) {
        return Err(TierError::corrupt(path, H_CRC as u64, "manifest header checksum mismatch"));
    }
    let mut records = Vec::with_capacity((file.len() - MANIFEST_HEADER_LEN) / RECORD_LEN);
    let mut at = MANIFEST_HEADER_LEN;
    while let Some(r) = file.get(at..at + RECORD_LEN) {
        if !record_is_valid(r, version) {
            let later = file
                .get(at + RECORD_LEN..)
                .unwrap_or_default()
                .chunks_exact(RECORD_LEN)
                .filter(|r| record_is_valid(r, version))
                .count();
            if later > 0 {
                return Err(TierError::corrupt(
                    path,
                    at as u64,
                    format!(
                        "manifest record damaged, yet {later} later records are intact \
                         (damage, not a torn append)"
                    ),
                ));
            }
            break;
        }
        let kind = match r[R_KIND] {
            1 => RecordKind::Frozen,
            2 => RecordKind::Dropped,
            _ => RecordKind::Cold { index_len: u32_at(r, R_INDEX_LEN) },
        };
        let meta = SegmentMeta {
            first_seq: u64_at(r, R_FIRST_SEQ),
            count: u64_at(r, R_COUNT),
            log_len: u64_at(r, R_LOG_LEN),
            payload_bytes: u64_at(r, R_PAYLOAD_BYTES),
            min_ts_ns: u64_at(r, R_MIN_TS),
            max_ts_ns: u64_at(r, R_MAX_TS),
        };
        if kind == RecordKind::Frozen
            && (meta.count == 0 || meta.first_seq.checked_add(meta.count).is_none())
        {
            return Err(TierError::corrupt(
                path,
                at as u64,
                "frozen record with an impossible range",
            ));
        }
        records.push(Record { kind, meta });
        at += RECORD_LEN;
    }
    Ok(Replay { records, version, valid_len: at as u64 })
}

/// Whether `r` (one record's bytes) is a whole, intact record a manifest of `version` holds.
fn record_is_valid(r: &[u8], version: u32) -> bool {
    r[R_MAGIC..R_KIND] == RECORD_MAGIC
        && crc32c::crc32c(&r[..R_CRC]) == u32_at(r, R_CRC)
        && (matches!(r[R_KIND], 1 | 2) || (r[R_KIND] == 3 && version >= 2))
}

/// A frozen segment the manifest still names, and whether it is archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSegment {
    /// The segment.
    pub meta: SegmentMeta,
    /// `Some(index_len)` once archived to the cold tier (its local files may be gone).
    pub cold_index_len: Option<u32>,
}

/// The frozen segments a sequence of records leaves live, ordered by first seq. A cold record
/// for a segment that is not live (never frozen, or dropped) is ignored.
pub fn live_segments(records: &[Record]) -> Vec<LiveSegment> {
    let mut live = std::collections::BTreeMap::new();
    for r in records {
        match r.kind {
            RecordKind::Frozen => {
                live.insert(r.meta.first_seq, LiveSegment { meta: r.meta, cold_index_len: None });
            }
            RecordKind::Dropped => {
                live.remove(&r.meta.first_seq);
            }
            RecordKind::Cold { index_len } => {
                if let Some(seg) = live.get_mut(&r.meta.first_seq) {
                    seg.cold_index_len = Some(index_len);
                }
            }
        }
    }
    live.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(first_seq: u64) -> SegmentMeta {
        SegmentMeta {
            first_seq,
            count: 10,
            log_len: 100,
            payload_bytes: 50,
            min_ts_ns: 1,
            max_ts_ns: 2,
        }
    }

    fn sample() -> (Vec<u8>, Vec<Record>) {
        let records = vec![
            Record { kind: RecordKind::Frozen, meta: meta(0) },
            Record { kind: RecordKind::Frozen, meta: meta(10) },
            Record { kind: RecordKind::Dropped, meta: meta(0) },
        ];
        let mut file = encode_header().to_vec();
        for r in &records {
            file.extend_from_slice(&encode_record(r));
        }
        (file, records)
    }

    #[test]
    fn round_trips_and_derives_live_set() {
        let (file, records) = sample();
        let replay = decode(Path::new("m"), &file).expect("decodes");
        assert_eq!(replay.records, records);
        assert_eq!(replay.valid_len, file.len() as u64);
        assert_eq!(
            live_segments(&replay.records),
            vec![LiveSegment { meta: meta(10), cold_index_len: None }]
        );
    }

    #[test]
    fn a_torn_tail_ends_the_records_and_a_bad_header_is_an_error() {
        let (file, records) = sample();
        for cut in MANIFEST_HEADER_LEN..file.len() {
            let replay = decode(Path::new("m"), &file[..cut]).expect("header intact");
            let whole = (cut - MANIFEST_HEADER_LEN) / RECORD_LEN;
            assert_eq!(replay.records, records[..whole]);
        }
        for cut in 0..MANIFEST_HEADER_LEN {
            assert!(decode(Path::new("m"), &file[..cut]).is_err());
        }
        let mut newer = file.clone();
        newer[H_VERSION] = 9;
        // (The header checksum is not fixed up: the version is checked first.)
        assert!(matches!(
            decode(Path::new("m"), &newer),
            Err(TierError::UnsupportedVersion { found: 9, .. })
        ));
    }

    #[test]
    fn a_damaged_record_before_intact_ones_is_an_error_not_a_torn_tail() {
        let (file, records) = sample();
        let record_at = |i: usize| MANIFEST_HEADER_LEN + i * RECORD_LEN;
        for i in 0..records.len() {
            for byte in [0, R_KIND, RECORD_LEN - 1] {
                let mut bad = file.clone();
                bad[record_at(i) + byte] ^= 0x10;
                let decoded = decode(Path::new("m"), &bad);
                if i + 1 < records.len() {
                    // Later records are intact: damage, named at the damaged record.
                    match decoded {
                        Err(TierError::Corrupt { offset, reason, .. }) => {
                            assert_eq!(offset, record_at(i) as u64, "record {i} byte {byte}");
                            assert!(reason.contains("later records are intact"), "{reason}");
                        }
                        other => panic!("record {i} byte {byte}: {other:?}"),
                    }
                } else {
                    // The last record: a torn append, dropped.
                    let replay = decoded.expect("a torn last record");
                    assert_eq!(replay.records, records[..i]);
                    assert_eq!(replay.valid_len, record_at(i) as u64);
                }
            }
        }
        // Only whole intact records count as "later": a damaged record followed by a short
        // tail is read as before, up to the damaged record.
        let mut torn = file[..record_at(2) + 5].to_vec();
        torn[record_at(1) + 3] ^= 1;
        assert_eq!(decode(Path::new("m"), &torn).expect("torn").records, records[..1]);
    }

    #[test]
    fn cold_records_mark_live_segments_and_need_version_2() {
        let records = [
            Record { kind: RecordKind::Frozen, meta: meta(0) },
            Record { kind: RecordKind::Frozen, meta: meta(10) },
            Record { kind: RecordKind::Cold { index_len: 77 }, meta: meta(0) },
            Record { kind: RecordKind::Cold { index_len: 5 }, meta: meta(99) },
        ];
        let mut file = encode_header().to_vec();
        for r in &records {
            file.extend_from_slice(&encode_record(r));
        }
        let replay = decode(Path::new("m"), &file).expect("decodes");
        assert_eq!(replay.records, records);
        assert_eq!(
            live_segments(&replay.records),
            vec![
                LiveSegment { meta: meta(0), cold_index_len: Some(77) },
                LiveSegment { meta: meta(10), cold_index_len: None },
            ]
        );
        // A version-1 manifest cannot hold cold records: one ends its valid records.
        file[H_VERSION..H_HEADER_LEN].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32c::crc32c(&file[..H_CRC]);
        file[H_CRC..MANIFEST_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
        let v1 = decode(Path::new("m"), &file).expect("version 1 is read");
        assert_eq!((v1.version, v1.records.len()), (1, 2));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut file = encode_header().to_vec();
            file.extend_from_slice(&tail);
            let _ = decode(Path::new("m"), &file);
            let _ = decode(Path::new("m"), &tail);
        }
    }
}

//! The archived-segment object: one self-describing blob per frozen segment, so an archive can
//! be listed and verified without any local state.
//!
//! Layout: header, then the segment's index file byte for byte, then its log file byte for
//! byte. A reader fetches the header and index first (one ranged read, whose length the
//! engine's manifest records), then only the log bytes it needs.
//!
//! Header (`header_len` bytes, a multiple of 8):
//!
//! | bytes        | field           | meaning                                          |
//! |--------------|-----------------|--------------------------------------------------|
//! | 0..8         | `magic`         | `b"REDEXCLD"`                                    |
//! | 8..12        | `version`       | u32 LE, [`OBJECT_VERSION`]                       |
//! | 12..16       | `header_len`    | u32 LE, [`header_len`] of the channel's length   |
//! | 16..24       | `first_seq`     | u64 LE                                           |
//! | 24..32       | `count`         | u64 LE, entries (at least 1)                     |
//! | 32..40       | `min_ts_ns`     | u64 LE, first entry's timestamp                  |
//! | 40..48       | `max_ts_ns`     | u64 LE, last entry's timestamp                   |
//! | 48..56       | `payload_bytes` | u64 LE                                           |
//! | 56..64       | `index_len`     | u64 LE, bytes of the index section               |
//! | 64..72       | `log_len`       | u64 LE, bytes of the log section                 |
//! | 72..76       | `index_crc`     | u32 LE, crc32c of the index section              |
//! | 76..80       | `log_crc`       | u32 LE, crc32c of the log section                |
//! | 80..82       | `channel_len`   | u16 LE                                           |
//! | 82..88       | `reserved`      | zero                                             |
//! | 88..88+n     | `channel`       | UTF-8 channel name                               |
//! | ..len-4      | padding         | zero                                             |
//! | len-4..len   | `header_crc`    | u32 LE, crc32c of every header byte before it    |

use std::ops::Range;
use std::path::Path;

use bytes::Bytes;

use crate::crc32c;
use crate::error::{Result, TierError};
use crate::index_file::{Footer, INDEX_FOOTER_LEN, INDEX_HEADER_LEN};
use crate::le::{u32_at, u64_at};
use crate::log_file::LOG_HEADER_LEN;

/// Magic number opening an archived segment.
pub const OBJECT_MAGIC: [u8; 8] = *b"REDEXCLD";
/// The object format version this build reads and writes.
pub const OBJECT_VERSION: u32 = 1;

const O_MAGIC: usize = 0;
const O_VERSION: usize = 8;
const O_HEADER_LEN: usize = 12;
const O_FIRST_SEQ: usize = 16;
const O_COUNT: usize = 24;
const O_MIN_TS: usize = 32;
const O_MAX_TS: usize = 40;
const O_PAYLOAD_BYTES: usize = 48;
const O_INDEX_LEN: usize = 56;
const O_LOG_LEN: usize = 64;
const O_INDEX_CRC: usize = 72;
const O_LOG_CRC: usize = 76;
const O_CHANNEL_LEN: usize = 80;
const O_CHANNEL: usize = 88;
/// Longest channel name a header can carry.
pub const CHANNEL_LEN_MAX: usize = 1024;

/// Header length for a channel name of `channel_len` bytes.
pub fn header_len(channel_len: usize) -> usize {
    (O_CHANNEL + channel_len + 4).next_multiple_of(8)
}

/// What an object's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeader {
    /// The channel the segment belongs to.
    pub channel: String,
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Number of entries.
    pub count: u64,
    /// Timestamp of the first entry.
    pub min_ts_ns: u64,
    /// Timestamp of the last entry.
    pub max_ts_ns: u64,
    /// Sum of payload lengths.
    pub payload_bytes: u64,
    /// Bytes of the index section.
    pub index_len: u64,
    /// Bytes of the log section.
    pub log_len: u64,
    /// crc32c of the index section.
    pub index_crc: u32,
    /// crc32c of the log section.
    pub log_crc: u32,
}

impl ObjectHeader {
    /// The header of the object archiving a segment with `footer`, whose index and log are
    /// `index` and `log` (checksummed here).
    pub fn for_segment(channel: &str, footer: &Footer, index: &[u8], log: &[u8]) -> Self {
        ObjectHeader {
            channel: channel.to_owned(),
            first_seq: footer.first_seq,
            count: footer.count,
            min_ts_ns: footer.min_ts_ns,
            max_ts_ns: footer.max_ts_ns,
            payload_bytes: footer.payload_bytes,
            index_len: index.len() as u64,
            log_len: log.len() as u64,
            index_crc: crc32c::crc32c(index),
            log_crc: crc32c::crc32c(log),
        }
    }

    /// Bytes of the header.
    pub fn header_len(&self) -> u64 {
        header_len(self.channel.len()) as u64
    }

    /// Where the index section lies in the object.
    pub fn index_range(&self) -> Range<u64> {
        self.header_len()..self.header_len() + self.index_len
    }

    /// Where the log section lies in the object.
    pub fn log_range(&self) -> Range<u64> {
        let start = self.index_range().end;
        start..start + self.log_len
    }

    /// Total bytes of the object.
    pub fn object_len(&self) -> u64 {
        self.log_range().end
    }

    /// Encodes the header.
    pub fn encode(&self) -> Vec<u8> {
        let len = header_len(self.channel.len());
        let mut h = vec![0u8; len];
        h[O_MAGIC..O_VERSION].copy_from_slice(&OBJECT_MAGIC);
        h[O_VERSION..O_HEADER_LEN].copy_from_slice(&OBJECT_VERSION.to_le_bytes());
        h[O_HEADER_LEN..O_FIRST_SEQ].copy_from_slice(&(len as u32).to_le_bytes());
        for (at, v) in [
            (O_FIRST_SEQ, self.first_seq),
            (O_COUNT, self.count),
            (O_MIN_TS, self.min_ts_ns),
            (O_MAX_TS, self.max_ts_ns),
            (O_PAYLOAD_BYTES, self.payload_bytes),
            (O_INDEX_LEN, self.index_len),
            (O_LOG_LEN, self.log_len),
        ] {
            h[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        h[O_INDEX_CRC..O_LOG_CRC].copy_from_slice(&self.index_crc.to_le_bytes());
        h[O_LOG_CRC..O_CHANNEL_LEN].copy_from_slice(&self.log_crc.to_le_bytes());
        h[O_CHANNEL_LEN..O_CHANNEL_LEN + 2]
            .copy_from_slice(&(self.channel.len() as u16).to_le_bytes());
        h[O_CHANNEL..O_CHANNEL + self.channel.len()].copy_from_slice(self.channel.as_bytes());
        let crc = crc32c::crc32c(&h[..len - 4]);
        h[len - 4..].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes a header from the start of `buf` (which may hold more of the object). `name`
    /// names the object in errors.
    pub fn decode(name: &Path, buf: &[u8]) -> Result<Self> {
        let bad = |at: usize, why: &str| TierError::corrupt(name, at as u64, why.to_owned());
        let fixed = buf.get(..O_CHANNEL).ok_or_else(|| bad(0, "object header truncated"))?;
        if fixed[O_MAGIC..O_VERSION] != OBJECT_MAGIC {
            return Err(bad(0, "not a RedEX cold segment (bad magic)"));
        }
        let version = u32_at(fixed, O_VERSION);
        if version != OBJECT_VERSION {
            return Err(TierError::UnsupportedVersion {
                path: name.to_path_buf(),
                what: "cold segment object",
                found: version,
                supported: OBJECT_VERSION,
            });
        }
        let channel_len =
            usize::from(u16::from_le_bytes([fixed[O_CHANNEL_LEN], fixed[O_CHANNEL_LEN + 1]]));
        if channel_len > CHANNEL_LEN_MAX {
            return Err(bad(O_CHANNEL_LEN, "channel name longer than any channel"));
        }
        let len = header_len(channel_len);
        if u32_at(fixed, O_HEADER_LEN) as usize != len {
            return Err(bad(O_HEADER_LEN, "header length disagrees with the channel name"));
        }
        let h = buf.get(..len).ok_or_else(|| bad(0, "object header truncated"))?;
        if crc32c::crc32c(&h[..len - 4]) != u32_at(h, len - 4) {
            return Err(bad(len - 4, "object header checksum mismatch"));
        }
        let channel = std::str::from_utf8(&h[O_CHANNEL..O_CHANNEL + channel_len])
            .map_err(|_| bad(O_CHANNEL, "channel name is not UTF-8"))?
            .to_owned();
        let header = ObjectHeader {
            channel,
            first_seq: u64_at(h, O_FIRST_SEQ),
            count: u64_at(h, O_COUNT),
            min_ts_ns: u64_at(h, O_MIN_TS),
            max_ts_ns: u64_at(h, O_MAX_TS),
            payload_bytes: u64_at(h, O_PAYLOAD_BYTES),
            index_len: u64_at(h, O_INDEX_LEN),
            log_len: u64_at(h, O_LOG_LEN),
            index_crc: u32_at(h, O_INDEX_CRC),
            log_crc: u32_at(h, O_LOG_CRC),
        };
        let sizes_ok = header.count > 0
            && header.first_seq.checked_add(header.count).is_some()
            && header.index_len >= (INDEX_HEADER_LEN + INDEX_FOOTER_LEN) as u64
            && header.log_len >= LOG_HEADER_LEN as u64
            && header.index_len.checked_add(header.log_len).is_some_and(|s| s < u64::MAX / 2);
        if !sizes_ok {
            return Err(bad(O_COUNT, "impossible entry count or section sizes"));
        }
        Ok(header)
    }

    /// Checks a whole object: its header, its length, and both sections' checksums. Used to
    /// verify an upload by reading it back, and by tools that audit an archive.
    pub fn verify_object(name: &Path, object: &[u8]) -> Result<Self> {
        let header = Self::decode(name, object)?;
        if object.len() as u64 != header.object_len() {
            return Err(TierError::corrupt(
                name,
                object.len() as u64,
                format!(
                    "object is {} bytes, its header says {}",
                    object.len(),
                    header.object_len()
                ),
            ));
        }
        header.check_section(name, object, Section::Index)?;
        header.check_section(name, object, Section::Log)?;
        Ok(header)
    }

    /// Checks one section's checksum; `bytes` is the section alone, or the whole object.
    pub fn check_section(&self, name: &Path, bytes: &[u8], section: Section) -> Result<()> {
        let (range, crc, what) = match section {
            Section::Index => (self.index_range(), self.index_crc, "index"),
            Section::Log => (self.log_range(), self.log_crc, "log"),
        };
        let body = if bytes.len() as u64 == range.end - range.start {
            bytes
        } else {
            bytes.get(range.start as usize..range.end as usize).ok_or_else(|| {
                TierError::corrupt(name, range.start, format!("{what} section truncated"))
            })?
        };
        if crc32c::crc32c(body) != crc {
            return Err(TierError::corrupt(
                name,
                range.start,
                format!("{what} section checksum mismatch"),
            ));
        }
        Ok(())
    }

    /// The object as parts to concatenate: header, index, log. The index and log are the
    /// caller's buffers (mappings of the frozen files), not copies.
    pub fn parts(&self, index: Bytes, log: Bytes) -> Vec<Bytes> {
        vec![Bytes::from(self.encode()), index, log]
    }
}

/// A section of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The index file.
    Index,
    /// The log file.
    Log,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(channel: &str) -> (ObjectHeader, Vec<u8>) {
        let index = vec![7u8; 200];
        let log = vec![9u8; 300];
        let footer = Footer {
            first_seq: 10,
            count: 5,
            min_ts_ns: 1,
            max_ts_ns: 2,
            log_len: 300,
            payload_bytes: 99,
            body_crc: 0,
        };
        let header = ObjectHeader::for_segment(channel, &footer, &index, &log);
        let object: Vec<u8> =
            header.parts(index.into(), log.into()).iter().flat_map(|p| p.to_vec()).collect();
        (header, object)
    }

    #[test]
    fn objects_round_trip_and_verify() {
        for channel in ["a", "orders/eu", &"x".repeat(255)] {
            let (header, object) = sample(channel);
            assert_eq!(header.header_len() % 8, 0);
            assert_eq!(
                ObjectHeader::verify_object(Path::new("o"), &object).expect("valid"),
                header
            );
        }
    }

    #[test]
    fn any_flipped_byte_or_cut_is_detected() {
        let (_, object) = sample("orders");
        for at in 0..object.len() {
            let mut bad = object.clone();
            bad[at] ^= 0x20;
            assert!(ObjectHeader::verify_object(Path::new("o"), &bad).is_err(), "flip at {at}");
        }
        for cut in 0..object.len() {
            assert!(ObjectHeader::verify_object(Path::new("o"), &object[..cut]).is_err());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = ObjectHeader::decode(Path::new("o"), &bytes);
            let _ = ObjectHeader::verify_object(Path::new("o"), &bytes);
            let (_, mut object) = sample("c");
            let n = bytes.len().min(object.len());
            object[..n].copy_from_slice(&bytes[..n]);
            let _ = ObjectHeader::verify_object(Path::new("o"), &object);
        }
    }
}

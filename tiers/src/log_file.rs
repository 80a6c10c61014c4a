//! The header of a segment's log file (`<first seq>.log`), which is followed by frames.
//!
//! | bytes  | field        | meaning                                       |
//! |--------|--------------|-----------------------------------------------|
//! | 0..8   | `magic`      | `b"REDEXLOG"`                                 |
//! | 8..12  | `version`    | u32 LE, [`LOG_VERSION`]                       |
//! | 12..16 | `header_len` | u32 LE, 32                                    |
//! | 16..24 | `first_seq`  | u64 LE, seq of the segment's first entry      |
//! | 24..28 | `reserved`   | zero                                          |
//! | 28..32 | `crc`        | u32 LE, crc32c of bytes 0..28                 |

use std::path::Path;

use crate::crc32c;
use crate::error::{Result, TierError};

/// Magic number opening every log file.
pub const LOG_MAGIC: [u8; 8] = *b"REDEXLOG";
/// The log format version this build reads and writes.
pub const LOG_VERSION: u32 = 1;

const MAGIC_AT: usize = 0;
const VERSION_AT: usize = MAGIC_AT + 8;
const HEADER_LEN_AT: usize = VERSION_AT + 4;
const FIRST_SEQ_AT: usize = HEADER_LEN_AT + 4;
const RESERVED_AT: usize = FIRST_SEQ_AT + 8;
const CRC_AT: usize = RESERVED_AT + 4;
/// Length of the log file header.
pub const LOG_HEADER_LEN: usize = CRC_AT + 4;
const _: () = assert!(LOG_HEADER_LEN == 32);

/// Encodes the header of a log whose first entry has `first_seq`.
pub fn encode_header(first_seq: u64) -> [u8; LOG_HEADER_LEN] {
    let mut h = [0u8; LOG_HEADER_LEN];
    h[MAGIC_AT..VERSION_AT].copy_from_slice(&LOG_MAGIC);
    h[VERSION_AT..HEADER_LEN_AT].copy_from_slice(&LOG_VERSION.to_le_bytes());
    h[HEADER_LEN_AT..FIRST_SEQ_AT].copy_from_slice(&(LOG_HEADER_LEN as u32).to_le_bytes());
    h[FIRST_SEQ_AT..RESERVED_AT].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..CRC_AT]);
    h[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Decodes a log header, returning its first seq. The version is checked before the checksum so
/// a file from a newer build is reported as such, not as corruption.
pub fn decode_header(path: &Path, buf: &[u8]) -> Result<u64> {
    let h = buf
        .get(..LOG_HEADER_LEN)
        .ok_or_else(|| TierError::corrupt(path, 0, "log header truncated"))?;
    if h[MAGIC_AT..VERSION_AT] != LOG_MAGIC {
        return Err(TierError::corrupt(path, 0, "not a RedEX log file (bad magic)"));
    }
    let version = u32::from_le_bytes(field(h, VERSION_AT));
    if version != LOG_VERSION {
        return Err(TierError::UnsupportedVersion {
            path: path.to_path_buf(),
            what: "log file",
            found: version,
            supported: LOG_VERSION,
        });
    }
    let crc = u32::from_le_bytes(field(h, CRC_AT));
    if crc32c::crc32c(&h[..CRC_AT]) != crc {
        return Err(TierError::corrupt(path, CRC_AT as u64, "log header checksum mismatch"));
    }
    if u32::from_le_bytes(field(h, HEADER_LEN_AT)) as usize != LOG_HEADER_LEN {
        return Err(TierError::corrupt(path, HEADER_LEN_AT as u64, "unexpected log header length"));
    }
    Ok(u64::from_le_bytes(field(h, FIRST_SEQ_AT)))
}

fn field<const N: usize>(h: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&h[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let path = Path::new("x.log");
        let h = encode_header(42);
        assert_eq!(decode_header(path, &h).ok(), Some(42));
        for cut in 0..LOG_HEADER_LEN {
            assert!(decode_header(path, &h[..cut]).is_err());
        }
        for i in 0..LOG_HEADER_LEN {
            let mut bad = h;
            bad[i] ^= 0x10;
            assert!(decode_header(path, &bad).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn newer_version_is_a_version_error() {
        let mut h = encode_header(0);
        h[VERSION_AT..HEADER_LEN_AT].copy_from_slice(&2u32.to_le_bytes());
        let err = decode_header(Path::new("x.log"), &h);
        assert!(matches!(err, Err(TierError::UnsupportedVersion { found: 2, .. })), "{err:?}");
    }
}

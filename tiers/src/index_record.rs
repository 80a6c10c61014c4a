//! The 20-byte index record of a frozen segment.
//!
//! | bytes  | field        | meaning                                                        |
//! |--------|--------------|----------------------------------------------------------------|
//! | 0..8   | `seq`        | u64 LE, the entry's sequence number                            |
//! | 8..12  | `offset`     | u32 LE, payload offset inside the segment's log file           |
//! | 12..16 | `len`        | u32 LE, payload length in bytes                                |
//! | 16..20 | `flags_crc`  | u32 LE: bit 31 `INLINE`, bits 27..31 inline length, bits 0..27 |
//! |        |              | the low 27 bits of the crc32c of payload then timestamp        |
//!
//! An inline record (payload of at most 8 bytes) stores the payload itself in bytes 8..16
//! (zero-padded) and its length in bits 27..31; it never points into the log file.
//! Every field is a byte array, so the struct has alignment 1 and a slice of records can be cast
//! in place from any mmap offset without an alignment hazard.

use bytemuck::{Pod, Zeroable};

use crate::crc32c;

/// Payloads of at most this many bytes ride inline in their index record.
pub const INLINE_MAX: usize = 8;

const INLINE_FLAG: u32 = 1 << 31;
const INLINE_LEN_SHIFT: u32 = 27;
const INLINE_LEN_MASK: u32 = 0b1111;
const CRC_MASK: u32 = (1 << INLINE_LEN_SHIFT) - 1;

/// One entry of a frozen segment's index, read in place from the mmap.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct IndexRecord {
    seq: [u8; 8],
    offset: [u8; 4],
    len: [u8; 4],
    flags_crc: [u8; 4],
}

/// Size of one record on disk.
pub const INDEX_RECORD_LEN: usize = std::mem::size_of::<IndexRecord>();
const _: () = assert!(INDEX_RECORD_LEN == 20);
const _: () = assert!(std::mem::align_of::<IndexRecord>() == 1);

/// Where a record's payload lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadRef {
    /// The payload is stored in the record itself.
    Inline {
        /// The payload, zero-padded to 8 bytes.
        bytes: [u8; INLINE_MAX],
        /// How many of `bytes` are payload.
        len: usize,
    },
    /// The payload is `len` bytes at `offset` of the segment's log file.
    InLog {
        /// Byte offset in the log file.
        offset: u32,
        /// Payload length.
        len: u32,
    },
}

/// The checksum an index record keeps of its entry: the crc32c of the payload followed by the
/// little-endian append timestamp, truncated to 27 bits. Covering the timestamp means a damaged
/// time column fails the read instead of returning a wrong time.
pub fn record_checksum(payload: &[u8], timestamp_ns: u64) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(payload), &timestamp_ns.to_le_bytes()) & CRC_MASK
}

impl IndexRecord {
    /// A record for `payload`, appended at `timestamp_ns`, which sits at `offset` of the log
    /// file when it is not inlined.
    pub fn new(seq: u64, offset: u32, payload: &[u8], timestamp_ns: u64) -> Self {
        let crc = record_checksum(payload, timestamp_ns);
        if payload.len() <= INLINE_MAX {
            let mut inline = [0u8; INLINE_MAX];
            inline[..payload.len()].copy_from_slice(payload);
            let (lo, hi) = inline.split_at(4);
            let len_bits = u32::try_from(payload.len()).unwrap_or(0) << INLINE_LEN_SHIFT;
            IndexRecord {
                seq: seq.to_le_bytes(),
                offset: lo.try_into().unwrap_or_default(),
                len: hi.try_into().unwrap_or_default(),
                flags_crc: (INLINE_FLAG | len_bits | crc).to_le_bytes(),
            }
        } else {
            IndexRecord {
                seq: seq.to_le_bytes(),
                offset: offset.to_le_bytes(),
                len: u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes(),
                flags_crc: crc.to_le_bytes(),
            }
        }
    }

    /// The entry's sequence number.
    pub fn seq(&self) -> u64 {
        u64::from_le_bytes(self.seq)
    }

    /// The stored 27-bit payload checksum.
    pub fn checksum(&self) -> u32 {
        u32::from_le_bytes(self.flags_crc) & CRC_MASK
    }

    /// The payload length in bytes.
    pub fn payload_len(&self) -> u32 {
        match self.payload_ref() {
            Ok(PayloadRef::Inline { len, .. }) => len as u32,
            Ok(PayloadRef::InLog { len, .. }) => len,
            Err(_) => 0,
        }
    }

    /// Decodes where the payload lives; an inline length above [`INLINE_MAX`] is an error.
    pub fn payload_ref(&self) -> Result<PayloadRef, &'static str> {
        let flags = u32::from_le_bytes(self.flags_crc);
        if flags & INLINE_FLAG != 0 {
            let len = ((flags >> INLINE_LEN_SHIFT) & INLINE_LEN_MASK) as usize;
            if len > INLINE_MAX {
                return Err("inline length above 8");
            }
            let mut bytes = [0u8; INLINE_MAX];
            bytes[..4].copy_from_slice(&self.offset);
            bytes[4..].copy_from_slice(&self.len);
            Ok(PayloadRef::Inline { bytes, len })
        } else {
            if flags >> INLINE_LEN_SHIFT != 0 {
                return Err("reserved flag bits set");
            }
            Ok(PayloadRef::InLog {
                offset: u32::from_le_bytes(self.offset),
                len: u32::from_le_bytes(self.len),
            })
        }
    }
}

impl std::fmt::Debug for IndexRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexRecord")
            .field("seq", &self.seq())
            .field("payload", &self.payload_ref())
            .field("checksum", &self.checksum())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(seq: u64, offset: u32, ts: u64, payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            let rec = IndexRecord::new(seq, offset, &payload, ts);
            let bytes = bytemuck::bytes_of(&rec).to_vec();
            let back: IndexRecord = *bytemuck::from_bytes(&bytes);
            prop_assert_eq!(back.seq(), seq);
            prop_assert_eq!(back.checksum(), record_checksum(&payload, ts));
            prop_assert_eq!(back.payload_len() as usize, payload.len());
            match back.payload_ref() {
                Ok(PayloadRef::Inline { bytes, len }) => {
                    prop_assert!(payload.len() <= INLINE_MAX);
                    prop_assert_eq!(&bytes[..len], &payload[..]);
                }
                Ok(PayloadRef::InLog { offset: o, len }) => {
                    prop_assert!(payload.len() > INLINE_MAX);
                    prop_assert_eq!(o, offset);
                    prop_assert_eq!(len as usize, payload.len());
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::array::uniform20(any::<u8>())) {
            let rec: IndexRecord = *bytemuck::from_bytes(&raw);
            let _ = rec.payload_ref();
            let _ = rec.payload_len();
        }
    }
}

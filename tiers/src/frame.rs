//! The batch frame: the unit of write in a segment's log file.
//!
//! Every `append` or `append_batch` becomes one frame, written with one `write` call, so an
//! acknowledged batch is in the kernel before the call returns and a torn write damages at most
//! the last frame. A frame is self-describing: recovery rebuilds the index from the frames alone.
//!
//! | bytes            | field          | meaning                                              |
//! |------------------|----------------|------------------------------------------------------|
//! | 0..4             | `magic`        | `b"RXFR"`                                            |
//! | 4..8             | `count`        | u32 LE, entries in the frame (at least 1)            |
//! | 8..16            | `first_seq`    | u64 LE, seq of the first entry                       |
//! | 16..24           | `timestamp_ns` | u64 LE, append time (Unix ns) shared by all entries  |
//! | 24..28           | `body_len`     | u32 LE, bytes after the header                       |
//! | 28..32           | `crc`          | u32 LE, crc32c of bytes 0..28 followed by the body   |
//! | 32..32+4*count   | `lens`         | u32 LE per entry, its payload length                 |
//! | ..               | payloads       | concatenated, in seq order                           |

use std::ops::DerefMut;

use bytes::BufMut;

use crate::crc32c;
use crate::le::{u32_at, u64_at};

/// Magic number opening every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"RXFR";

const MAGIC_AT: usize = 0;
const COUNT_AT: usize = MAGIC_AT + 4;
const FIRST_SEQ_AT: usize = COUNT_AT + 4;
const TIMESTAMP_AT: usize = FIRST_SEQ_AT + 8;
const BODY_LEN_AT: usize = TIMESTAMP_AT + 8;
const CRC_AT: usize = BODY_LEN_AT + 4;
/// Length of the frame header.
pub const FRAME_HEADER_LEN: usize = CRC_AT + 4;
const _: () = assert!(FRAME_HEADER_LEN == 32);

/// Bytes of the per-entry length table.
pub const LEN_FIELD: usize = 4;

/// Why bytes at a position are not a valid frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The buffer ends before the frame does (a torn write, or the end of the log).
    Truncated,
    /// The first four bytes are not [`FRAME_MAGIC`].
    BadMagic,
    /// The checksum does not match the bytes.
    BadChecksum,
    /// The header is self-contradictory.
    Malformed(&'static str),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("frame truncated"),
            FrameError::BadMagic => f.write_str("bad frame magic"),
            FrameError::BadChecksum => f.write_str("frame checksum mismatch"),
            FrameError::Malformed(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

/// Total encoded length of a frame holding `payloads`, or `None` if it exceeds `u32` offsets.
pub fn encoded_len<P: AsRef<[u8]>>(payloads: &[P]) -> Option<usize> {
    let mut body = payloads.len().checked_mul(LEN_FIELD)?;
    for p in payloads {
        body = body.checked_add(p.as_ref().len())?;
    }
    u32::try_from(body).ok()?;
    body.checked_add(FRAME_HEADER_LEN)
}

/// Appends one checksummed frame to `out`. `payloads` must be non-empty and `encoded_len` must
/// have accepted it.
pub fn encode<P: AsRef<[u8]>, B: BufMut + DerefMut<Target = [u8]>>(
    out: &mut B,
    first_seq: u64,
    timestamp_ns: u64,
    payloads: &[P],
    body_len: u32,
) {
    let start = out.len();
    out.put_slice(&FRAME_MAGIC);
    out.put_u32_le(payloads.len() as u32);
    out.put_u64_le(first_seq);
    out.put_u64_le(timestamp_ns);
    out.put_u32_le(body_len);
    out.put_u32_le(0);
    // The length table goes out in blocks, one copy per block instead of one per entry.
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK * LEN_FIELD];
    for group in payloads.chunks(BLOCK) {
        for (slot, p) in block.chunks_exact_mut(LEN_FIELD).zip(group) {
            slot.copy_from_slice(&(p.as_ref().len() as u32).to_le_bytes());
        }
        out.put_slice(&block[..group.len() * LEN_FIELD]);
    }
    for p in payloads {
        out.put_slice(p.as_ref());
    }
    let frame = &out[start..];
    let crc = crc32c::crc32c_append(crc32c::crc32c(&frame[..CRC_AT]), &frame[FRAME_HEADER_LEN..]);
    out[start + CRC_AT..start + FRAME_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
}

/// A validated frame inside a buffer.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Append time shared by the frame's entries.
    pub timestamp_ns: u64,
    /// Number of entries.
    pub count: u32,
    lens: &'a [u8],
    /// Total length of the frame, header included.
    pub frame_len: usize,
}

impl<'a> FrameView<'a> {
    /// Offsets (relative to the frame start) and lengths of the payloads, in seq order.
    pub fn payloads(&self) -> impl Iterator<Item = (usize, usize)> + 'a {
        let mut at = FRAME_HEADER_LEN + self.lens.len();
        self.lens.chunks_exact(LEN_FIELD).map(move |raw| {
            let len = u32_at(raw, 0) as usize;
            let item = (at, len);
            at += len;
            item
        })
    }
}

/// Parses and verifies the frame at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<FrameView<'_>, FrameError> {
    let header = buf.get(..FRAME_HEADER_LEN).ok_or(FrameError::Truncated)?;
    if header[MAGIC_AT..COUNT_AT] != FRAME_MAGIC {
        return Err(FrameError::BadMagic);
    }
    let count = u32_at(header, COUNT_AT);
    let first_seq = u64_at(header, FIRST_SEQ_AT);
    let timestamp_ns = u64_at(header, TIMESTAMP_AT);
    let body_len = u32_at(header, BODY_LEN_AT) as usize;
    let crc = u32_at(header, CRC_AT);
    if count == 0 {
        return Err(FrameError::Malformed("zero entries"));
    }
    let lens_len = (count as usize)
        .checked_mul(LEN_FIELD)
        .filter(|&l| l <= body_len)
        .ok_or(FrameError::Malformed("length table larger than body"))?;
    let frame_len = FRAME_HEADER_LEN + body_len;
    let body = buf.get(FRAME_HEADER_LEN..frame_len).ok_or(FrameError::Truncated)?;
    let actual = crc32c::crc32c_append(crc32c::crc32c(&header[..CRC_AT]), body);
    if actual != crc {
        return Err(FrameError::BadChecksum);
    }
    let lens = &body[..lens_len];
    let payload_total: u64 =
        lens.chunks_exact(LEN_FIELD).map(|raw| u64::from(u32_at(raw, 0))).sum();
    if payload_total != (body_len - lens_len) as u64 {
        return Err(FrameError::Malformed("payload lengths do not add up to the body"));
    }
    first_seq.checked_add(u64::from(count)).ok_or(FrameError::Malformed("seq overflow"))?;
    Ok(FrameView { first_seq, timestamp_ns, count, lens, frame_len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn frame(payloads: &[Vec<u8>]) -> BytesMut {
        let len = encoded_len(payloads).unwrap_or_default();
        let mut out = BytesMut::new();
        encode(&mut out, 7, 99, payloads, (len - FRAME_HEADER_LEN) as u32);
        assert_eq!(out.len(), len);
        out
    }

    proptest! {
        #[test]
        fn round_trips(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..8)) {
            let out = frame(&payloads);
            let view = parse(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(view.first_seq, 7);
            prop_assert_eq!(view.timestamp_ns, 99);
            prop_assert_eq!(view.frame_len, out.len());
            let back: Vec<Vec<u8>> = view.payloads().map(|(at, len)| out[at..at + len].to_vec()).collect();
            prop_assert_eq!(back, payloads);
        }

        #[test]
        fn every_cut_and_flip_is_detected(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..4),
            flip_at in any::<prop::sample::Index>(),
            flip_bit in 0u8..8,
        ) {
            let out = frame(&payloads);
            for cut in 0..out.len() {
                prop_assert!(parse(&out[..cut]).is_err());
            }
            let mut bad = out.to_vec();
            let i = flip_at.index(bad.len());
            bad[i] ^= 1 << flip_bit;
            prop_assert!(parse(&bad).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(view) = parse(&raw) {
                for (at, len) in view.payloads() {
                    prop_assert!(at + len <= raw.len());
                }
            }
        }
    }
}

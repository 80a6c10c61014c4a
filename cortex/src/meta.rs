//! [`EventMeta`]: the fixed 24-byte envelope in front of every payload a CortEX adapter appends.
//!
//! The envelope exists so a fold can route an event (the dispatch byte), tell who wrote it (the
//! origin hash), learn the writer's logical time without decoding the body (`seq_or_ts`), and
//! catch a body that was damaged or cut between the writer and the fold (the checksum), all
//! before any model-specific decoding. It has a fixed size so reading it costs a few loads.
//!
//! | bytes  | field         | meaning                                                  |
//! |--------|---------------|----------------------------------------------------------|
//! | 0..1   | `dispatch`    | event kind, owned by the model                           |
//! | 1..2   | `flags`       | bit 0: `seq_or_ts` is a timestamp; other bits zero       |
//! | 2..4   | `reserved`    | zero (a future envelope version will be flagged here)    |
//! | 4..12  | `origin_hash` | `u64` LE, identity of the writer                         |
//! | 12..20 | `seq_or_ts`   | `u64` LE, writer's sequence number or Unix nanoseconds   |
//! | 20..24 | `checksum`    | `u32` LE, CRC-32C of the tail (every byte after 24)      |
//!
//! The full specification, with the reasons for each rule, is in `docs/FORMAT.md`.

use std::mem::size_of;

use crate::error::{CortexError, Result};

const DISPATCH_OFFSET: usize = 0;
const FLAGS_OFFSET: usize = DISPATCH_OFFSET + size_of::<u8>();
const RESERVED_OFFSET: usize = FLAGS_OFFSET + size_of::<u8>();
const ORIGIN_OFFSET: usize = RESERVED_OFFSET + size_of::<u16>();
const SEQ_OR_TS_OFFSET: usize = ORIGIN_OFFSET + size_of::<u64>();
const CHECKSUM_OFFSET: usize = SEQ_OR_TS_OFFSET + size_of::<u64>();

/// Size of the envelope in bytes.
pub const EVENT_META_LEN: usize = CHECKSUM_OFFSET + size_of::<u32>();
const _: () = assert!(EVENT_META_LEN == 24);

/// The decoded envelope of one event. The tail it protects travels beside it (see
/// [`crate::FoldEvent::payload`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventMeta {
    /// Event kind; each model owns the meaning of its values.
    pub dispatch: u8,
    /// Flag bits; see [`EventMeta::FLAG_TIMESTAMP`].
    pub flags: u8,
    /// Identity of the writer (for example a hash of a node or process id).
    pub origin_hash: u64,
    /// The writer's sequence number, or a timestamp in Unix nanoseconds when
    /// [`EventMeta::FLAG_TIMESTAMP`] is set.
    pub seq_or_ts: u64,
    /// CRC-32C of the tail, as written.
    pub checksum: u32,
}

impl EventMeta {
    /// `seq_or_ts` holds a timestamp (Unix nanoseconds) rather than a writer sequence number.
    pub const FLAG_TIMESTAMP: u8 = 0b0000_0001;
    /// Every flag bit this version defines; others must be zero.
    pub const FLAGS_KNOWN: u8 = Self::FLAG_TIMESTAMP;

    /// Whether `seq_or_ts` is a timestamp.
    pub fn is_timestamp(&self) -> bool {
        self.flags & Self::FLAG_TIMESTAMP != 0
    }

    /// A new buffer holding the envelope for `tail` followed by `tail` itself.
    pub fn encode(
        dispatch: u8,
        flags: u8,
        origin_hash: u64,
        seq_or_ts: u64,
        tail: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(EVENT_META_LEN + tail.len());
        out.resize(EVENT_META_LEN, 0);
        out.extend_from_slice(tail);
        Self::seal(&mut out, dispatch, flags, origin_hash, seq_or_ts);
        out
    }

    /// Writes the envelope into the first 24 bytes of `buf`, whose tail is already in place
    /// after them. Lets callers serialize a body straight into a buffer that starts with 24
    /// placeholder bytes, without a second copy.
    pub(crate) fn seal(buf: &mut [u8], dispatch: u8, flags: u8, origin_hash: u64, seq_or_ts: u64) {
        let (head, tail) = buf.split_at_mut(EVENT_META_LEN.min(buf.len()));
        if head.len() < EVENT_META_LEN {
            return;
        }
        let checksum = crc_fast::crc32_iscsi(tail);
        head[DISPATCH_OFFSET] = dispatch;
        head[FLAGS_OFFSET] = flags;
        head[RESERVED_OFFSET..ORIGIN_OFFSET].copy_from_slice(&0u16.to_le_bytes());
        head[ORIGIN_OFFSET..SEQ_OR_TS_OFFSET].copy_from_slice(&origin_hash.to_le_bytes());
        head[SEQ_OR_TS_OFFSET..CHECKSUM_OFFSET].copy_from_slice(&seq_or_ts.to_le_bytes());
        head[CHECKSUM_OFFSET..EVENT_META_LEN].copy_from_slice(&checksum.to_le_bytes());
    }

    /// Reads the envelope at the start of `bytes` and checks it against the tail. Fails on a
    /// short buffer, a non-zero reserved field, an unknown flag bit, or a checksum mismatch.
    pub fn decode(bytes: &[u8]) -> Result<EventMeta> {
        let Some((head, tail)) = bytes.split_first_chunk::<EVENT_META_LEN>() else {
            return Err(invalid(format!(
                "{} bytes is shorter than the {EVENT_META_LEN}-byte envelope",
                bytes.len()
            )));
        };
        let reserved = u16::from_le_bytes([head[RESERVED_OFFSET], head[RESERVED_OFFSET + 1]]);
        if reserved != 0 {
            return Err(invalid(format!("reserved field is {reserved:#06x}, expected zero")));
        }
        let flags = head[FLAGS_OFFSET];
        if flags & !Self::FLAGS_KNOWN != 0 {
            return Err(invalid(format!("unknown flag bits {flags:#04x}")));
        }
        let meta = EventMeta {
            dispatch: head[DISPATCH_OFFSET],
            flags,
            origin_hash: u64::from_le_bytes(field(head, ORIGIN_OFFSET)),
            seq_or_ts: u64::from_le_bytes(field(head, SEQ_OR_TS_OFFSET)),
            checksum: u32::from_le_bytes(field(head, CHECKSUM_OFFSET)),
        };
        let actual = crc_fast::crc32_iscsi(tail);
        if actual != meta.checksum {
            return Err(invalid(format!(
                "tail checksum {actual:#010x} does not match the envelope's {:#010x}",
                meta.checksum
            )));
        }
        Ok(meta)
    }
}

fn field<const N: usize>(head: &[u8; EVENT_META_LEN], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = head.get(offset..offset + N) {
        out.copy_from_slice(src);
    }
    out
}

fn invalid(reason: String) -> CortexError {
    CortexError::InvalidEnvelope { reason }
}

/// Serializes `body` with postcard straight after a 24-byte envelope, in one buffer.
pub(crate) fn encode_event<B: serde::Serialize + ?Sized>(
    dispatch: u8,
    origin_hash: u64,
    timestamp_ns: u64,
    body: &B,
) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(EVENT_META_LEN + 48);
    buf.resize(EVENT_META_LEN, 0);
    let mut buf = postcard::to_extend(body, buf)
        .map_err(|e| CortexError::Codec { what: "event body", reason: e.to_string() })?;
    EventMeta::seal(&mut buf, dispatch, EventMeta::FLAG_TIMESTAMP, origin_hash, timestamp_ns);
    Ok(buf)
}

/// Events whose envelope and body fit in this many bytes are encoded on the stack.
const STACK_EVENT_BYTES: usize = 256;

/// Encodes like [`encode_event`] and hands the bytes to `write`: small events are built in a
/// stack buffer (no allocation on the hot write path), larger ones in a `Vec`.
pub(crate) fn with_encoded_event<B: serde::Serialize + ?Sized, R>(
    dispatch: u8,
    origin_hash: u64,
    timestamp_ns: u64,
    body: &B,
    write: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    let mut buf = [0u8; STACK_EVENT_BYTES];
    let tail = &mut buf[EVENT_META_LEN..];
    let body_len = match postcard::to_slice(body, tail) {
        Ok(encoded) => encoded.len(),
        Err(postcard::Error::SerializeBufferFull) => {
            return write(&encode_event(dispatch, origin_hash, timestamp_ns, body)?);
        }
        Err(e) => return Err(CortexError::Codec { what: "event body", reason: e.to_string() }),
    };
    let event = &mut buf[..EVENT_META_LEN + body_len];
    EventMeta::seal(event, dispatch, EventMeta::FLAG_TIMESTAMP, origin_hash, timestamp_ns);
    write(event)
}

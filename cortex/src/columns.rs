//! Building blocks of the column-wise snapshot bodies of the tasks and memories models.
//!
//! A body stores each field of every row as one column (all the ids, then all the creation
//! times, ...) instead of row after row, so that each column can use the encoding that suits
//! it: ids as varint deltas (ascending ids cost a byte each), times as zigzag varint deltas,
//! flags as bitmaps, and strings as a column of varint lengths plus one UTF-8 blob that is
//! validated once. A decoder walks the columns side by side, one cursor each, and builds rows
//! and indexes in one pass with no per-field allocation beyond the row's own strings.
//!
//! Varints are unsigned LEB128 (seven bits per byte, least significant group first, high bit
//! set on every byte but the last), at most ten bytes for a `u64`, as in postcard.

use smol_str::SmolStr;

use crate::error::CortexError;

/// Most bytes of one `u64` varint.
const VARINT_U64_BYTES_MAX: usize = 10;

/// `text` as a `SmolStr`: inline (no allocation) up to 23 bytes. Same value as
/// `SmolStr::new`, built faster for short strings: the generic constructor, not inlined, also
/// checks for whitespace-only strings and wraps its result in an `Option` (it took 20 % of a
/// tasks snapshot decode).
#[inline]
pub(crate) fn smol(text: &str) -> SmolStr {
    if text.len() <= SmolStr::INLINE_CAP {
        SmolStr::new_inline(text)
    } else {
        SmolStr::new(text)
    }
}

/// Appends `v` as a varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Maps a signed difference to an unsigned one, small magnitudes to small numbers.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// `b - a` as a zigzag varint payload (wrapping, so any pair of `u64` round-trips).
#[inline]
pub(crate) fn delta(a: u64, b: u64) -> u64 {
    zigzag(b.wrapping_sub(a) as i64)
}

/// `a` plus a difference made by [`delta`].
#[inline]
pub(crate) fn undelta(a: u64, d: u64) -> u64 {
    a.wrapping_add(unzigzag(d) as u64)
}

/// A bitmap of `len` bits, bit `i` in byte `i / 8` at position `i % 8`.
#[derive(Debug, Default)]
pub(crate) struct BitmapWriter {
    bytes: Vec<u8>,
    len: usize,
}

impl BitmapWriter {
    pub(crate) fn with_capacity(bits: usize) -> Self {
        BitmapWriter { bytes: Vec::with_capacity(bits.div_ceil(8)), len: 0 }
    }

    #[inline]
    pub(crate) fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << (self.len % 8);
            }
        }
        self.len += 1;
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Bytes a bitmap of `bits` bits takes.
pub(crate) fn bitmap_len(bits: usize) -> usize {
    bits.div_ceil(8)
}

/// Bit `i` of a bitmap made by [`BitmapWriter`] (false past its end).
#[inline]
pub(crate) fn bit(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Whether the bits of `bitmap` past the first `bits` are all zero (a canonical bitmap).
pub(crate) fn padding_is_zero(bitmap: &[u8], bits: usize) -> bool {
    let used = bits % 8;
    used == 0 || bitmap.last().is_none_or(|b| b >> used == 0)
}

/// Why a body could not be decoded (becomes a [`CortexError::Codec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyError(pub(crate) String);

impl BodyError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        BodyError(reason.into())
    }

    pub(crate) fn into_cortex(self) -> CortexError {
        CortexError::Codec { what: "snapshot state", reason: self.0 }
    }
}

/// A cursor over one column (or over a body's header).
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A cursor over `bytes`, named `what` in errors.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    /// The next varint.
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, BodyError> {
        if let Some((&first, rest)) = self.bytes.split_first() {
            if first < 0x80 {
                self.bytes = rest;
                return Ok(u64::from(first));
            }
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, BodyError> {
        let mut value = 0u64;
        for (i, &byte) in self.bytes.iter().enumerate().take(VARINT_U64_BYTES_MAX) {
            let group = u64::from(byte & 0x7f);
            if i == VARINT_U64_BYTES_MAX - 1 && group > 1 {
                break;
            }
            value |= group << (7 * i);
            if byte < 0x80 {
                self.bytes = self.bytes.get(i + 1..).unwrap_or_default();
                return Ok(value);
            }
        }
        Err(BodyError(format!("{}: bad or cut-off varint", self.what)))
    }

    /// The next varint as a length or count that must fit in `usize`.
    #[inline]
    pub(crate) fn len(&mut self) -> Result<usize, BodyError> {
        let v = self.varint()?;
        usize::try_from(v).map_err(|_| BodyError(format!("{}: length {v} too large", self.what)))
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], BodyError> {
        if n > self.bytes.len() {
            return Err(BodyError(format!(
                "{}: needs {n} bytes, {} left",
                self.what,
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), BodyError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(BodyError(format!("{}: {} bytes left over", self.what, self.bytes.len())))
        }
    }
}

/// Reads the three columns of a row's [`Row`](crate::order::Row) keys side by side, which
/// every model stores the same way: `ids`, a varint per row, the first id then the gap to the
/// previous (≥ 1, rows go in ascending id order); `created`, a zigzag varint per row, its
/// `created_ns` minus the previous row's (0 before the first); `updated`, a zigzag varint per
/// row, its `updated_ns` minus its own `created_ns`.
///
/// The encoders write these columns inline in their loops: every shared form of the writer
/// tried (a struct owning or borrowing the columns, a function) cost them 2 to 4 % more
/// instructions.
#[derive(Debug)]
pub(crate) struct KeyColumnsReader<'a> {
    ids: Reader<'a>,
    created: Reader<'a>,
    updated: Reader<'a>,
    prev_id: Option<u64>,
    prev_created: u64,
}

impl<'a> KeyColumnsReader<'a> {
    /// A reader of the columns `ids`, `created` and `updated`.
    pub(crate) fn new(ids: Reader<'a>, created: Reader<'a>, updated: Reader<'a>) -> Self {
        KeyColumnsReader { ids, created, updated, prev_id: None, prev_created: 0 }
    }

    /// The next row's id, `created_ns` and `updated_ns`. An id that does not climb (a gap of
    /// 0 after the first) or that overflows is an error. Always inlined: it is most of a
    /// decoder's loop.
    #[inline(always)]
    pub(crate) fn next_keys(&mut self) -> Result<(u64, u64, u64), BodyError> {
        let gap = self.ids.varint()?;
        let id = match self.prev_id {
            None => gap,
            Some(prev) if gap > 0 => prev
                .checked_add(gap)
                .ok_or_else(|| BodyError(format!("{}: {prev} + {gap} overflows", self.ids.what)))?,
            Some(prev) => {
                return Err(BodyError(format!("{}: {prev} appears twice", self.ids.what)));
            }
        };
        self.prev_id = Some(id);
        let created_ns = undelta(self.prev_created, self.created.varint()?);
        self.prev_created = created_ns;
        let updated_ns = undelta(created_ns, self.updated.varint()?);
        Ok((id, created_ns, updated_ns))
    }

    /// Fails unless every byte of the three columns was read.
    pub(crate) fn finish(&self) -> Result<(), BodyError> {
        self.ids.finish()?;
        self.created.finish()?;
        self.updated.finish()
    }
}

/// A column of strings: their lengths as varints and their bytes back to back.
#[derive(Debug, Default)]
pub(crate) struct StrColumnWriter {
    pub(crate) lens: Vec<u8>,
    pub(crate) blob: Vec<u8>,
}

impl StrColumnWriter {
    #[inline]
    pub(crate) fn push(&mut self, s: &str) {
        put_varint(&mut self.lens, s.len() as u64);
        self.blob.extend_from_slice(s.as_bytes());
    }
}

/// Reads a column written by [`StrColumnWriter`]: the blob is checked as UTF-8 once, and each
/// string must end on a character boundary.
#[derive(Debug)]
pub(crate) struct StrColumnReader<'a> {
    lens: Reader<'a>,
    blob: &'a str,
    pos: usize,
}

impl<'a> StrColumnReader<'a> {
    pub(crate) fn new(
        lens: &'a [u8],
        blob: &'a [u8],
        what: &'static str,
    ) -> Result<Self, BodyError> {
        let blob =
            std::str::from_utf8(blob).map_err(|e| BodyError(format!("{what}: not UTF-8 ({e})")))?;
        Ok(StrColumnReader { lens: Reader::new(lens, what), blob, pos: 0 })
    }

    /// The next string.
    #[inline]
    pub(crate) fn next_str(&mut self) -> Result<&'a str, BodyError> {
        let len = self.lens.len()?;
        let end = self.pos.checked_add(len);
        match end.and_then(|end| self.blob.get(self.pos..end).map(|s| (s, end))) {
            Some((s, end)) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(BodyError(format!(
                "{}: a string of {len} bytes at {} does not fit the blob or splits a character",
                self.lens.what, self.pos
            ))),
        }
    }

    /// Fails unless every length and every byte was read.
    pub(crate) fn finish(&self) -> Result<(), BodyError> {
        self.lens.finish()?;
        if self.pos == self.blob.len() {
            Ok(())
        } else {
            Err(BodyError(format!(
                "{}: {} bytes of strings left over",
                self.lens.what,
                self.blob.len() - self.pos
            )))
        }
    }
}

/// `Serialize` and `Deserialize` for the state `$state` of a model whose rows are `$rows`
/// (such as "tasks"): the state is one byte string holding its column-wise body, written by its
/// `encode_columns` and read back by its `decode_columns`, which rebuilds the indexes.
macro_rules! serde_as_body {
    ($state:ident, $rows:literal) => {
        impl ::serde::Serialize for $state {
            #[doc = concat!(
                "Serializes the ",
                $rows,
                " alone, as one byte string holding the column-wise snapshot body (see ",
                "[`SnapshotState::encode_body`](crate::snapshot::SnapshotState::encode_body)); ",
                "the indexes are rebuilt on restore."
            )]
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.encode_columns(Vec::new()))
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $state {
            /// Reads the byte string [`Serialize`](serde::Serialize) wrote and rebuilds the rows
            /// and indexes from it.
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct BodyVisitor;
                impl ::serde::de::Visitor<'_> for BodyVisitor {
                    type Value = $state;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("the column-wise body of a ", $rows, " state"))
                    }

                    fn visit_bytes<E: ::serde::de::Error>(
                        self,
                        body: &[u8],
                    ) -> ::std::result::Result<$state, E> {
                        $state::decode_columns(body).map_err(|e| E::custom(e.0))
                    }
                }
                deserializer.deserialize_bytes(BodyVisitor)
            }
        }
    };
}

pub(crate) use serde_as_body;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smol_builds_the_same_string_inline_up_to_23_bytes() {
        for len in 0..=40 {
            let text: String = "é0123456789".chars().cycle().take(len).collect();
            let built = smol(&text);
            assert_eq!(built, SmolStr::new(&text));
            assert_eq!(built.as_str(), text);
            assert_eq!(built.is_heap_allocated(), text.len() > SmolStr::INLINE_CAP, "{len}");
        }
    }

    #[test]
    fn varints_round_trip_and_reject_overlong() {
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX - 1, u64::MAX];
        let mut out = Vec::new();
        for v in values {
            put_varint(&mut out, v);
        }
        let mut r = Reader::new(&out, "test");
        for v in values {
            assert_eq!(r.varint(), Ok(v));
        }
        assert!(r.finish().is_ok());
        // Eleven continuation bytes, and a tenth byte with more than the top bit of a u64.
        assert!(Reader::new(&[0xff; 11], "t").varint().is_err());
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert!(Reader::new(&too_big, "t").varint().is_err());
        assert!(Reader::new(&[0x80], "t").varint().is_err());
        assert!(Reader::new(&[], "t").varint().is_err());
    }

    #[test]
    fn deltas_round_trip_any_pair() {
        for (a, b) in [(0, 0), (5, 3), (3, 5), (0, u64::MAX), (u64::MAX, 0), (1 << 63, 7)] {
            assert_eq!(undelta(a, delta(a, b)), b);
        }
        assert_eq!(delta(10, 11), 2);
        assert_eq!(delta(11, 10), 1);
    }

    #[test]
    fn bitmaps_and_string_columns() {
        let mut bits = BitmapWriter::with_capacity(10);
        for i in 0..10 {
            bits.push(i % 3 == 0);
        }
        assert_eq!(bits.bytes().len(), bitmap_len(10));
        assert!((0..10).all(|i| bit(bits.bytes(), i) == (i % 3 == 0)));
        assert!(padding_is_zero(bits.bytes(), 10));
        assert!(!padding_is_zero(&[0xff, 0xff], 10));

        let mut col = StrColumnWriter::default();
        for s in ["", "é", "task-1"] {
            col.push(s);
        }
        let mut r = StrColumnReader::new(&col.lens, &col.blob, "t").expect("utf-8");
        assert_eq!(r.next_str(), Ok(""));
        assert_eq!(r.next_str(), Ok("é"));
        assert_eq!(r.next_str(), Ok("task-1"));
        assert!(r.finish().is_ok());
        // A length that splits "é" is refused.
        let mut r = StrColumnReader::new(&[1], "é".as_bytes(), "t").expect("utf-8");
        assert!(r.next_str().is_err());
    }
}

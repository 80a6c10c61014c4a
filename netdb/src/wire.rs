//! The few postcard encodings the bundle writer needs, written by hand so that encoding a
//! bundle cannot fail and copies each model's state with one `extend_from_slice`.
//!
//! postcard writes unsigned integers wider than a byte as LEB128 varints (seven bits per
//! byte, low bits first, high bit set on every byte but the last), byte strings and strings
//! as a varint length followed by the bytes, and `Option` as a `0x00` or `0x01` tag followed
//! by the value. The bundle's decoder is postcard itself, and a unit test checks that these
//! functions agree with `postcard::to_allocvec` byte for byte.

/// Most bytes a `u64` varint takes.
pub(crate) const VARINT_U64_BYTES_MAX: usize = 10;

/// Appends `value` as a postcard varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        // Truncation keeps the low seven bits, the continuation bit is set explicitly.
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a length-prefixed byte string (also the encoding of a `str`).
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends an `Option<u64>`.
pub(crate) fn put_option_varint(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_varint(out, v);
        }
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;

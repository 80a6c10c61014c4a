//! The hand-written encodings agree with postcard's.

use super::*;

#[test]
fn varints_match_postcard() {
    for v in [0u64, 1, 127, 128, 255, 300, 16_383, 16_384, u32::MAX as u64, u64::MAX - 1, u64::MAX]
    {
        let mut ours = Vec::new();
        put_varint(&mut ours, v);
        assert_eq!(ours, postcard::to_allocvec(&v).unwrap(), "{v}");
        assert!(ours.len() <= VARINT_U64_BYTES_MAX);
    }
}

#[test]
fn bytes_and_options_match_postcard() {
    for len in [0usize, 1, 127, 128, 70_000] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut ours = Vec::new();
        put_bytes(&mut ours, &data);
        assert_eq!(ours, postcard::to_allocvec(&data).unwrap());
    }
    for v in [None, Some(0u64), Some(1 << 40)] {
        let mut ours = Vec::new();
        put_option_varint(&mut ours, v);
        assert_eq!(ours, postcard::to_allocvec(&v).unwrap());
    }
}

//! Goal: the 24-byte `EventMeta` envelope has the documented layout, round-trips, and rejects
//! short buffers, reserved bits, unknown flags and damaged tails.

use cortex::{EventMeta, EVENT_META_LEN};
use proptest::prelude::*;

#[test]
fn layout_matches_the_format_document() {
    let bytes =
        EventMeta::encode(0x21, EventMeta::FLAG_TIMESTAMP, 0x0102_0304_0506_0708, 99, b"tail");
    assert_eq!(EVENT_META_LEN, 24);
    assert_eq!(bytes.len(), 24 + 4);
    assert_eq!(bytes[0], 0x21);
    assert_eq!(bytes[1], 0x01);
    assert_eq!(&bytes[2..4], &[0, 0]);
    assert_eq!(&bytes[4..12], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&bytes[12..20], &99u64.to_le_bytes());
    assert_eq!(&bytes[20..24], &crc32c::crc32c(b"tail").to_le_bytes());
    assert_eq!(&bytes[24..], b"tail");
}

#[test]
fn rejects_bad_envelopes() {
    let good = EventMeta::encode(1, 0, 2, 3, b"xyz");
    assert!(EventMeta::decode(&good[..23]).is_err());
    let mut reserved = good.clone();
    reserved[3] = 1;
    assert!(EventMeta::decode(&reserved).unwrap_err().to_string().contains("reserved"));
    let mut flags = good.clone();
    flags[1] = 0x80;
    assert!(EventMeta::decode(&flags).unwrap_err().to_string().contains("flag"));
    let mut tail = good.clone();
    tail[25] ^= 1;
    assert!(EventMeta::decode(&tail).unwrap_err().to_string().contains("checksum"));
    let mut cut = good;
    cut.pop();
    assert!(EventMeta::decode(&cut).is_err());
}

proptest! {
    #[test]
    fn round_trips(dispatch: u8, ts: bool, origin: u64, seq_or_ts: u64, tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let flags = if ts { EventMeta::FLAG_TIMESTAMP } else { 0 };
        let bytes = EventMeta::encode(dispatch, flags, origin, seq_or_ts, &tail);
        let meta = EventMeta::decode(&bytes).unwrap();
        prop_assert_eq!(meta.dispatch, dispatch);
        prop_assert_eq!(meta.is_timestamp(), ts);
        prop_assert_eq!(meta.origin_hash, origin);
        prop_assert_eq!(meta.seq_or_ts, seq_or_ts);
        prop_assert_eq!(&bytes[EVENT_META_LEN..], &tail[..]);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = EventMeta::decode(&bytes);
    }
}

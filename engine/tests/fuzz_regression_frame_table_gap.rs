//! Goal: a sequential read of a frozen segment whose index's frame table skips entries fails
//! with `Corrupt` instead of returning the range with entries missing. Found by the
//! `torn_write` fuzz target (2026-11-22, docs/FUZZING.md, finding 9; hostile damage: two bytes
//! flipped in a frozen segment's `.idx`, manifest deleted): `read_range(0, 6)` returned `Ok`
//! with seqs 0, 1, 2, 3, 5. Sequential reads walk the frame table and check each frame against
//! its CRC and its first seq, but not that the frame holds exactly the entries up to the next
//! frame's first slot; a table entry whose first slot was raised made the walk step over the
//! entries in between. `SegmentIndex::for_each` now requires each frame to hold the next slot
//! and exactly the entries up to the next frame, and the frames to reach the footer's count.

use std::fs;
use std::path::Path;

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};
use redex_tiers::index_file;

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_events_max(5)
}

fn name() -> ChannelName {
    ChannelName::new("frame/gap").expect("name")
}

fn payload(seq: u64) -> Vec<u8> {
    (0..(seq * 37 % 200) as usize).map(|i| (seq as usize * 3 + i) as u8).collect()
}

/// Five single-entry frames frozen into segment 0, a sixth entry in the active segment.
fn write_log(dir: &Path) {
    let redex = Redex::with_persistent_dir(dir).expect("open dir");
    let f = redex.open_file(&name(), cfg()).expect("open");
    for seq in 0..6 {
        assert_eq!(f.append(&payload(seq)).expect("append"), seq);
    }
    f.close().expect("close");
}

/// Rewrites the first slot of frame `i` in segment 0's frame table.
fn set_first_slot(dir: &Path, i: usize, slot: u32) {
    let idx = dir.join("channels/frame/gap/.redex/00000000000000000000.idx");
    let mut bytes = fs::read(&idx).expect("read idx");
    let (_, layout) = index_file::decode(&idx, &bytes).expect("decode");
    assert_eq!(layout.frames, 5, "one frame per append");
    let at = layout.frames_at() + i * index_file::FRAME_ENTRY_LEN;
    bytes[at..at + 4].copy_from_slice(&slot.to_le_bytes());
    fs::write(&idx, bytes).expect("write idx");
}

#[test]
fn a_frame_table_that_skips_entries_is_reported_not_read_around() {
    for read_only in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        write_log(dir.path());
        // The last frame of segment 0 now claims to start at slot 5: frame 3 seems to hold
        // slots 3 and 4, but holds only 3.
        set_first_slot(dir.path(), 4, 5);
        let redex = match read_only {
            true => Redex::open_read_only(dir.path()),
            false => Redex::with_persistent_dir(dir.path()),
        };
        let f = redex.expect("open dir").open_file(&name(), cfg()).expect("open");
        assert_eq!(f.next_seq(), 6);
        for (start, end) in [(0, 6), (3, 6), (4, 5), (2, 5)] {
            match f.read_range(start, end) {
                Err(RedexError::Corrupt { .. }) => {}
                Ok(events) => panic!(
                    "read_only {read_only}: read_range({start}, {end}) returned seqs {:?}",
                    events.iter().map(|e| e.seq).collect::<Vec<_>>()
                ),
                Err(e) => panic!("read_only {read_only}: read_range({start}, {end}): {e}"),
            }
        }
        // What the damage does not touch still reads, and verify names the index.
        for (start, end) in [(0, 3), (5, 6)] {
            let events = f.read_range(start, end).expect("undamaged range");
            let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (start..end).collect::<Vec<_>>());
            for e in &events {
                assert_eq!(e.payload[..], payload(e.seq)[..]);
            }
        }
        assert!(matches!(f.verify(), Err(RedexError::Corrupt { .. })));
    }
}

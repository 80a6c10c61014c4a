//! Goal: a header-less log of at most 32 bytes (what a crash while creating a log leaves) named
//! beyond the end of the last segment does not move the log's end: reopen continues where the
//! segments end, with no gap. Found by the `torn_write` fuzz target (2026-11-22,
//! docs/FUZZING.md, finding 10; hostile damage: the active log and the manifest deleted, an
//! empty `00000000000000015258.log` added): recovery took the torn log's name as a floor for
//! the next seq even though frozen segments said where the log ended (seq 24), so the file
//! reopened with `next_seq` 15258, a gap of 15234 seqs that reads skipped silently, and the
//! next append landed at 15258. The name of a log torn at creation now only counts when no
//! segment is left to say where the log ends.

use std::fs;
use std::path::Path;

use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_events_max(2)
}

fn name() -> ChannelName {
    ChannelName::new("stray/torn").expect("name")
}

fn seg_dir(base: &Path) -> std::path::PathBuf {
    base.join("channels/stray/torn/.redex")
}

fn payload(seq: u64) -> Vec<u8> {
    vec![seq as u8; (seq % 7) as usize]
}

fn check_dense(f: &RedexFile, next: u64) {
    assert_eq!(f.next_seq(), next, "reopened past the last segment");
    let events = f.read_range(f.head_seq(), next).expect("read");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (f.head_seq()..next).collect::<Vec<_>>());
    for e in &events {
        assert_eq!(e.payload[..], payload(e.seq)[..]);
    }
}

#[test]
fn a_stray_torn_log_beyond_the_segments_is_no_floor() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        let f = redex.open_file(&name(), cfg()).expect("open");
        for seq in 0..5 {
            assert_eq!(f.append(&payload(seq)).expect("append"), seq);
        }
        f.close().expect("close");
    }
    // Segments 0..2 and 2..4 are frozen; 4..5 is the active one. Remove it (and, as the fuzzer
    // did, the manifest: the frozen segments are then found from their indexes), and add an
    // empty log far beyond.
    let seg = seg_dir(dir.path());
    fs::remove_file(seg.join("00000000000000000004.log")).expect("remove the active log");
    fs::remove_file(seg.join("manifest")).expect("remove the manifest");
    fs::write(seg.join("00000000000000015258.log"), b"").expect("stray log");

    let inspector = Redex::open_read_only(dir.path()).expect("read-only");
    check_dense(&inspector.open_file(&name(), cfg()).expect("open read-only"), 4);
    drop(inspector);

    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex.open_file(&name(), cfg()).expect("reopen");
    check_dense(&f, 4);
    assert_eq!(f.append(&payload(4)).expect("append"), 4, "appends continue the segments");
    check_dense(&f, 5);
}

#[test]
fn a_torn_log_still_says_where_an_empty_channel_continues() {
    // With no segment left at all, the torn log's name is the only record of how far the log
    // had got: seqs continue from it rather than start again at 0.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        redex.open_file(&name(), cfg()).expect("create").close().expect("close");
    }
    let seg = seg_dir(dir.path());
    for e in fs::read_dir(&seg).expect("list").flatten() {
        fs::remove_file(e.path()).expect("clear");
    }
    fs::write(seg.join("00000000000000000042.log"), b"REDEX").expect("torn log");
    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex.open_file(&name(), cfg()).expect("reopen");
    assert_eq!((f.head_seq(), f.next_seq()), (42, 42));
}

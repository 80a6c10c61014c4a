//! Goal: a read-only open (`Redex::open_read_only`) of a directory whose writer is freezing a
//! segment never faults. Found by the `torn_write` fuzz target (2026-11-22, see
//! docs/FUZZING.md, finding 7): recovery replayed each unfrozen log through a mapping of the
//! file, while the writer's background freeze cut the log's preallocated zeros off (the
//! freeze's first step); the replay's scan of that zero tail then touched pages past the new
//! end of the file, and the inspecting process died of SIGBUS. A read-only open now replays a
//! copy of the log read with pread, which a concurrent truncation can only shorten.
//!
//! The race is timing-dependent: before the fix this test died within its first few dozen
//! rounds on every run here (a log with preallocation is frozen after every append, and each
//! round opens the directory read-only right after the rollover that started the freeze).

use redex::{ChannelName, FsyncPolicy, Redex, RedexFileConfig};

fn cfg() -> RedexFileConfig {
    // Every append rolls over, and the fsync policy preallocates each log with 1 MiB of zeros
    // that the freeze then cuts off.
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(4096)
        .with_segment_events_max(1)
        .with_fsync_policy(FsyncPolicy::EveryN(1))
}

fn payload(seq: u64) -> Vec<u8> {
    (0..(seq % 50) as usize).map(|i| (seq as usize * 13 + i) as u8).collect()
}

#[test]
fn read_only_opens_during_freezes_never_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("ro/live").expect("name");
    let writer = Redex::with_persistent_dir(dir.path()).expect("writer");
    let file = writer.open_file(&name, cfg()).expect("open");
    for seq in 0..100 {
        assert_eq!(file.append(&payload(seq)).expect("append"), seq);
        // The freeze of the segment this append closed is running now.
        let inspector = Redex::open_read_only(dir.path()).expect("read-only open");
        let view = inspector.open_file(&name, cfg()).expect("open read-only");
        assert_eq!(view.next_seq(), seq + 1, "the inspector sees every append");
        for ev in view.read_range(0, seq + 1).expect("read") {
            assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
        }
    }
    file.close().expect("close");
}

//! Goal: pin the second finding of the crash campaign (`fuzz_crash_campaign`, ENOSPC rounds on a
//! tiny tmpfs): a rollover whose new log cannot be written (disk full, `EFBIG`, I/O error) must
//! not leave the channel unopenable. Before the fix, `SegmentDir::create_log` left the new,
//! headerless `<next>.log` behind when its header write failed; the active segment then kept
//! taking smaller appends (they still fit under the byte threshold), so the leftover was no
//! longer at the active segment's end. Recovery saw an unfrozen log followed by a log that does
//! not continue it, refused to delete a log without a valid header as "not a crash artefact",
//! and every open failed with `Corrupt { .. "log header truncated" }`, even after space was
//! freed. The leftover can never hold an entry (no frame is written before the header is
//! fsynced), so nothing justifies refusing the channel.
//!
//! One test per file: it lowers this process's file-size limit for a moment.

#[path = "common/rlimit.rs"]
mod rlimit;
use rlimit::set_file_size_limit;

use redex::{ChannelName, Redex, RedexFileConfig};

fn name() -> ChannelName {
    ChannelName::new("regress/rollover").expect("valid channel name")
}

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(4096)
        .with_segment_events_max(2)
}

fn payload(seq: u64, len: usize) -> Vec<u8> {
    vec![seq as u8 ^ 0x5a; len]
}

#[test]
fn a_failed_rollover_leaves_the_channel_openable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lens = [3000usize, 2000, 10, 40];
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        let f = redex.open_file(&name(), cfg()).expect("open");
        assert_eq!(f.append(&payload(0, lens[0])).expect("append 0"), 0);
        // The next frame does not fit: rollover, whose header write hits the limit.
        let old = set_file_size_limit(16);
        let failed = f.append(&payload(1, lens[1]));
        set_file_size_limit(old);
        assert!(failed.is_err(), "the rollover under the limit succeeded");
        // A small entry still fits in the active segment, which is then full by count.
        assert_eq!(f.append(&payload(1, lens[2])).expect("append 1"), 1);
        // The next rollover creates its log, but the disk is still too full for the index of
        // the full segment: its freeze fails (reported by close).
        let old = set_file_size_limit(150);
        let appended = f.append(&payload(2, lens[3]));
        let closed = f.close();
        set_file_size_limit(old);
        assert_eq!(appended.expect("append 2"), 2);
        assert!(closed.is_err(), "the freeze under the limit succeeded");
    }
    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex
        .open_file(&name(), cfg())
        .unwrap_or_else(|e| panic!("reopen after a failed rollover: {e}"));
    assert_eq!(f.next_seq(), 3);
    let want = [payload(0, lens[0]), payload(1, lens[2]), payload(2, lens[3])];
    for (seq, want) in want.iter().enumerate() {
        let got = f.get(seq as u64).expect("get").expect("entry");
        assert_eq!(got.payload[..], want[..], "seq {seq}");
    }
    f.verify().expect("verify");
}

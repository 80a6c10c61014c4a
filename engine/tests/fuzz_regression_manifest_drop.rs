//! Goal: pin the first finding of the crash campaign (`fuzz_crash_campaign`, fault rounds under
//! `RLIMIT_FSIZE`): when retention cannot append its "dropped" record to the manifest (disk
//! full, `EFBIG`, I/O error), the segment's files must stay until a record does get written.
//! Before the fix, `ManifestFile::drop_segment` removed the segment from its in-memory live set
//! before the append; the failed append left it removed, so the next retention pass took the
//! early "already dropped" return, reported success without writing any record, and deleted the
//! files. The manifest on disk still named the segment, and every later open failed with
//! "frozen segment named by the manifest is missing".
//!
//! One test per file: it lowers this process's file-size limit for a moment.

#[path = "common/rlimit.rs"]
mod rlimit;
use rlimit::set_file_size_limit;

use redex::{ChannelName, Redex, RedexFileConfig, Retention};

fn name() -> ChannelName {
    ChannelName::new("regress/drop").expect("valid channel name")
}

fn cfg(retention: Retention) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_events_max(1)
        .with_retention(retention)
}

fn payload(seq: u64) -> Vec<u8> {
    vec![seq as u8; 20]
}

#[test]
fn a_failed_drop_record_keeps_the_segment_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seg_dir = dir.path().join("channels/regress/drop/.redex");
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        let f = redex.open_file(&name(), cfg(Retention::unlimited())).expect("open");
        for seq in 0..6 {
            f.append(&payload(seq)).expect("append");
        }
        f.close().expect("close");
    }
    let manifest_len = std::fs::metadata(seg_dir.join("manifest")).expect("manifest").len();

    // Retention now wants to drop most segments, but no manifest record fits under the limit.
    let old = set_file_size_limit(manifest_len as libc::rlim_t);
    let outcome = std::panic::catch_unwind(|| {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir under the limit");
        let f = redex.open_file(&name(), cfg(Retention::events(1))).expect("open under the limit");
        // Each pass retries the drop; none may delete files the manifest still names.
        for _ in 0..3 {
            let _ = f.apply_retention();
        }
        let _ = f.close();
    });
    set_file_size_limit(old);
    assert!(outcome.is_ok(), "the engine panicked under the file-size limit");

    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex
        .open_file(&name(), cfg(Retention::events(1)))
        .unwrap_or_else(|e| panic!("reopen after failed retention drops: {e}"));
    assert_eq!(f.next_seq(), 6);
    assert_eq!(f.head_seq(), 5);
    assert_eq!(f.get(5).expect("get").expect("entry").payload[..], payload(5)[..]);
    f.verify().expect("verify");
}

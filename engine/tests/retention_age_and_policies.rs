//! Goal: age retention is measured from persisted timestamps (it survives a restart) and is
//! applied on a timer, so a file that stops appending still sheds entries past their age (heap
//! and persistent files; never a read-only one); retention deletes whole frozen segments from
//! disk; and every fsync policy keeps data and fsyncs in the background.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use redex::{ChannelName, FsyncPolicy, Redex, RedexError, RedexFileConfig, Retention};

fn segment_files(dir: &std::path::Path) -> usize {
    let seg_dir = dir.join("channels").join("r").join(".redex");
    std::fs::read_dir(seg_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count()
}

#[test]
fn age_retention_uses_persisted_timestamps_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let name = ChannelName::new("r").unwrap();
    let base = RedexFileConfig::default().with_persistent(true).with_segment_events_max(10);
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let f = redex.open_file(&name, base.clone()).unwrap();
        for i in 0..25u8 {
            f.append(&[i]).unwrap();
        }
        f.close().unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let cfg = base.with_retention(Retention::age(Duration::from_millis(200)));
    let f = redex.open_file(&name, cfg).unwrap();
    // Everything is older than 200 ms by its stored timestamp: evicted on open, not reset to "now".
    assert_eq!(f.head_seq(), 25);
    assert!(matches!(f.get(3), Err(RedexError::Evicted { requested: 3, head: 25 })));
    f.append(b"fresh").unwrap();
    assert_eq!(f.read_range(25, 26).unwrap().len(), 1);
    assert_eq!(segment_files(dir.path()), 1, "wholly evicted segments are deleted");
}

/// Polls `done` for up to 10 s; whether it came true.
fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn a_quiet_file_sheds_entries_past_their_age() {
    let dir = tempfile::tempdir().unwrap();
    let name = ChannelName::new("r").unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let heap = Redex::new();
    let age = Retention::age(Duration::from_secs(1));
    let cfg = RedexFileConfig::default().with_segment_events_max(10).with_retention(age);
    let disk = redex.open_file(&name, cfg.clone().with_persistent(true)).unwrap();
    let mem = heap.open_file(&name, cfg).unwrap();
    for f in [&disk, &mem] {
        for i in 0..25u8 {
            f.append(&[i]).unwrap();
        }
        assert_eq!(f.head_seq(), 0, "nothing is old yet");
    }
    assert!(segment_files(dir.path()) >= 3);
    // No append from here on: only the timer can move the heads.
    assert!(eventually(|| disk.head_seq() >= 20 && mem.head_seq() >= 20), "heads stayed put");
    let files = || std::fs::read_dir(dir.path().join("channels/r/.redex")).unwrap().count();
    assert!(eventually(|| segment_files(dir.path()) == 1), "old segments stay: {} files", files());
    assert!(matches!(disk.get(3), Err(RedexError::Evicted { .. })));
    assert!(matches!(mem.get(3), Err(RedexError::Evicted { .. })));

    // The timer holds files weakly and lets closed ones go: the directory reopens at once,
    // and a read-only view with the same limit deletes nothing.
    disk.close().unwrap();
    drop((disk, redex));
    let before: Vec<_> = std::fs::read_dir(dir.path().join("channels/r/.redex"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let view = Redex::open_read_only(dir.path()).unwrap();
    let cfg = RedexFileConfig::default().with_persistent(true).with_retention(age);
    let _f = view.open_file(&name, cfg).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let after: Vec<_> = std::fs::read_dir(dir.path().join("channels/r/.redex"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "a read-only file deleted something");
    Redex::with_persistent_dir(dir.path()).unwrap();
}

#[test]
fn count_retention_deletes_segments_and_bounds_disk() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_events_max(100)
        .with_retention(Retention::events(250));
    let f = redex.open_file(&ChannelName::new("r").unwrap(), cfg).unwrap();
    for i in 0..10_000u32 {
        f.append(&i.to_le_bytes()).unwrap();
    }
    f.sync().unwrap();
    assert_eq!(f.head_seq(), 10_000 - 250);
    assert!(segment_files(dir.path()) <= 5, "old segments are deleted");
    let first = f.get(f.head_seq()).unwrap().unwrap();
    assert_eq!(&first.payload[..], &(10_000u32 - 250).to_le_bytes());
}

#[test]
fn every_policy_keeps_data_and_background_fsyncs_run() {
    for policy in [
        FsyncPolicy::Never,
        FsyncPolicy::EveryN(1),
        FsyncPolicy::EveryN(10),
        FsyncPolicy::Interval(Duration::from_millis(5)),
        FsyncPolicy::IntervalOrBytes { period: Duration::from_secs(60), max_bytes: 256 },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let name = ChannelName::new("r").unwrap();
        let cfg = RedexFileConfig::default().with_persistent(true).with_fsync_policy(policy);
        {
            let redex = Redex::with_persistent_dir(dir.path()).unwrap();
            let f = redex.open_file(&name, cfg.clone()).unwrap();
            for i in 0..200u32 {
                f.append(&i.to_le_bytes()).unwrap();
            }
            if policy != FsyncPolicy::Never {
                // The fsync thread runs on its own; wait (bounded) until it has done one.
                let mut waited = 0;
                while f.policy_fsyncs() == 0 && waited < 500 {
                    std::thread::sleep(Duration::from_millis(10));
                    waited += 1;
                }
                assert!(f.policy_fsyncs() > 0, "{policy:?} never fsynced");
            } else {
                assert_eq!(f.policy_fsyncs(), 0);
            }
            f.sync().unwrap();
            f.close().unwrap();
            f.close().unwrap();
            assert!(matches!(f.append(b"x"), Err(RedexError::Closed { .. })));
        }
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let f = redex.open_file(&name, cfg).unwrap();
        assert_eq!(f.next_seq(), 200, "{policy:?}");
    }
}

#[test]
fn bad_configs_are_refused() {
    let redex = Redex::new();
    let name = ChannelName::new("r").unwrap();
    for cfg in [
        RedexFileConfig::default().with_segment_bytes_max(10),
        RedexFileConfig::default().with_segment_events_max(0),
        RedexFileConfig::default().with_tail_buffer_events(0),
        RedexFileConfig::default().with_fsync_policy(FsyncPolicy::Interval(Duration::ZERO)),
        RedexFileConfig::default().with_retention(Retention::events(0)),
    ] {
        assert!(matches!(redex.open_file(&name, cfg), Err(RedexError::InvalidConfig(_))));
    }
    let ok = redex.open_file(&name, RedexFileConfig::default()).unwrap();
    ok.append(b"x").unwrap();
    let other = RedexFileConfig::default().with_retention(Retention::events(3));
    assert!(matches!(redex.open_file(&name, other), Err(RedexError::InvalidConfig(_))));
    assert_eq!(redex.open_file(&name, RedexFileConfig::default()).unwrap().next_seq(), 1);
}

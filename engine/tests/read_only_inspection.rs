//! Goal: `Redex::open_read_only` works on a directory a live writer holds, sees what is on
//! disk, refuses appends, and changes nothing: not a torn tail, not an interrupted freeze, not
//! a leftover temporary file.

use std::fs;

use redex::{ChannelName, Redex, RedexError, RedexFileConfig, Retention};

#[path = "common/snapshot.rs"]
mod snapshot;
use snapshot::snapshot;

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096)
}

fn payload(seq: u64) -> Vec<u8> {
    (0..(seq % 90) as usize).map(|i| (seq as usize * 7 + i) as u8).collect()
}

#[test]
fn inspects_a_live_writers_directory_without_changing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("live/log").expect("name");
    let writer = Redex::with_persistent_dir(dir.path()).expect("writer");
    let file = writer.open_file(&name, cfg()).expect("open");
    for seq in 0..500 {
        file.append(&payload(seq)).expect("append");
    }
    file.sync().expect("sync");
    // Let the writer's background freezes finish, so the directory only changes if the
    // inspector changes it (a finished freeze is installed by the next sync).
    for _ in 0..500 {
        if file.stats().hot.segments == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        file.sync().expect("sync");
    }
    assert_eq!(file.stats().hot.segments, 1, "the writer's freezes finished");
    // Damage the kind of state only recovery would repair: a torn tail and a leftover tmp.
    let seg = dir.path().join("channels/live/log/.redex");
    fs::write(seg.join("manifest.tmp"), b"partial").expect("tmp");
    let before = snapshot(dir.path());

    let inspector = Redex::open_read_only(dir.path()).expect("read-only open while locked");
    assert_eq!(inspector.list_channels().expect("list"), vec![name.clone()]);
    let view = inspector.open_file(&name, cfg()).expect("open read-only");
    assert_eq!(view.next_seq(), 500);
    for ev in view.read_range(0, 500).expect("read") {
        assert_eq!(ev.payload[..], payload(ev.seq)[..]);
    }
    view.verify().expect("verify");
    assert!(matches!(view.append(b"x"), Err(RedexError::ReadOnly { .. })));
    drop((view, inspector));
    assert_eq!(snapshot(dir.path()), before, "read-only inspection changed the directory");

    // The writer is unaffected and keeps going.
    assert_eq!(file.append(b"more").expect("append"), 500);
}

#[test]
fn a_torn_tail_is_shown_as_the_valid_prefix_and_left_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("torn").expect("name");
    {
        let w = Redex::with_persistent_dir(dir.path()).expect("writer");
        let f = w.open_file(&name, RedexFileConfig::default().with_persistent(true)).expect("open");
        for seq in 0..10 {
            f.append(&payload(seq + 20)).expect("append");
        }
        f.close().expect("close");
    }
    let seg = dir.path().join("channels/torn/.redex");
    let log = fs::read_dir(&seg)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("log");
    let full = fs::read(&log).expect("read");
    fs::write(&log, &full[..full.len() - 5]).expect("tear");
    let before = snapshot(dir.path());
    let inspector = Redex::open_read_only(dir.path()).expect("open");
    let view = inspector
        .open_file(&name, RedexFileConfig::default().with_persistent(true))
        .expect("open read-only");
    assert_eq!(view.next_seq(), 9, "the torn last entry is not shown");
    drop((view, inspector));
    assert_eq!(snapshot(dir.path()), before, "the torn tail was not trimmed");
}

#[test]
fn missing_directory_or_channel_is_a_clear_error() {
    assert!(Redex::open_read_only("/nonexistent/redex").is_err());
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file is refused as such, not as missing.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let err = Redex::open_read_only(&file).expect_err("a file is not a base directory");
    assert!(err.to_string().contains("not a directory"), "{err}");
    let inspector = Redex::open_read_only(dir.path()).expect("open");
    let err = inspector.open_file(&ChannelName::new("nope").expect("name"), cfg());
    assert!(matches!(err, Err(RedexError::Io { .. })), "{err:?}");
}

/// An empty channel directory opens read-only as an empty log whose segments name no file;
/// a live one names only files that exist.
#[test]
fn segments_name_only_files_that_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = ChannelName::new("empty/one").expect("name");
    fs::create_dir_all(empty.segment_dir(dir.path())).expect("empty channel directory");
    let inspector = Redex::open_read_only(dir.path()).expect("open");
    let view = inspector.open_file(&empty, cfg()).expect("open the empty channel");
    assert_eq!((view.head_seq(), view.next_seq()), (0, 0));
    let segments = view.segments();
    assert_eq!(segments.len(), 1, "{segments:?}");
    assert_eq!(segments[0].log_path, None, "no log file exists: {segments:?}");
    drop((view, inspector));

    let name = ChannelName::new("live/some").expect("name");
    let writer = Redex::with_persistent_dir(dir.path()).expect("writer");
    let file = writer.open_file(&name, cfg()).expect("open");
    for seq in 0..200 {
        file.append(&payload(seq)).expect("append");
    }
    let inspector = Redex::open_read_only(dir.path()).expect("read-only manager");
    let view = inspector.open_file(&name, cfg()).expect("view");
    for f in [&file, &view] {
        for seg in f.segments() {
            if let Some(path) = &seg.log_path {
                assert!(path.is_file(), "{seg:?} names a missing file");
            }
        }
        assert!(f.segments().last().is_some_and(|s| s.log_path.is_some()), "active log named");
    }
}

/// A live writer freezes and drops segments while views are opened: a view reads the manifest
/// and lists the files at two moments, and a segment dropped (or frozen) in between used to
/// fail the open with "frozen segment named by the manifest is missing" (found by the
/// `torn_write` corpus replay). Every view must open and read what it names.
#[test]
fn views_open_while_a_writer_rolls_and_drops_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("live/busy").expect("name");
    let writer = Redex::with_persistent_dir(dir.path()).expect("writer");
    let config = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_events_max(8)
        .with_retention(Retention::events(40));
    let file = writer.open_file(&name, config.clone()).expect("open");
    let stop = std::sync::atomic::AtomicBool::new(false);
    /// Stops the writer however the views end (a failed view panics, and the scope waits for
    /// the writer).
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut seq = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                file.append(&payload(seq)).expect("append");
                seq += 1;
            }
        });
        let _stop = StopOnDrop(&stop);
        while file.next_seq() < 100 {
            std::thread::yield_now();
        }
        let inspector = Redex::open_read_only(dir.path()).expect("read-only manager");
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..500 {
            let view = inspector.open_file(&name, config.clone());
            let view = view.unwrap_or_else(|e| panic!("view {i} of a live directory: {e}"));
            let (head, next) = (view.head_seq(), view.next_seq());
            assert!(head <= next, "view {i}: head {head} past next {next}");
            seen.insert(next);
            view.close().expect("close the view");
        }
        // The views saw the writer move (each open recovered the directory afresh).
        assert!(seen.len() > 10, "views saw {} positions", seen.len());
    });
}

/// A directory that is really damaged (a frozen segment the manifest names has lost its log;
/// an unfrozen log is damaged before a frozen one) still fails a read-only open after its
/// retries, with the error naming the file, and the retries change nothing on disk.
#[test]
fn a_damaged_directory_fails_every_retry_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("damaged/log").expect("name");
    {
        let writer = Redex::with_persistent_dir(dir.path()).expect("writer");
        let file = writer.open_file(&name, cfg()).expect("open");
        for seq in 0..500 {
            file.append(&payload(seq)).expect("append");
        }
        file.close().expect("close");
    }
    let chan = name.segment_dir(dir.path());
    let mut logs: Vec<_> = fs::read_dir(&chan)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() > 3, "{logs:?}");
    let victim = logs[1].clone();
    fs::remove_file(&victim).expect("remove a frozen log");
    let before = snapshot(dir.path());
    let inspector = Redex::open_read_only(dir.path()).expect("read-only manager");
    for _ in 0..3 {
        match inspector.open_file(&name, cfg()) {
            Err(RedexError::Corrupt { path, reason, .. }) => {
                assert_eq!(path, victim);
                assert!(reason.contains("missing"), "{reason}");
            }
            other => panic!("expected the missing log to be reported, got {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(snapshot(dir.path()), before, "a read-only open changed the directory");
}

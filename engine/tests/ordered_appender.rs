//! Goal: an `OrderedAppender`'s appends land at consecutive seqs in the order it makes them,
//! starting at the seq it expects; an append made after another writer slipped in fails with
//! `SeqMismatch` and writes nothing; `resync` recovers; the same on heap and persistent files
//! (run with `REDEX_APPEND_BACKEND=std` too) and across a reopen; and two appenders racing on
//! one file never both succeed at the same seq.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use redex::{ChannelName, OrderedAppender, Redex, RedexError, RedexFile, RedexFileConfig};

fn name() -> ChannelName {
    ChannelName::new("ordered/log").expect("name")
}

/// Small segments, so the appends cross rollovers into frozen segments.
fn cfg(persistent: bool) -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(persistent).with_segment_events_max(3)
}

/// A heap-only file and a persistent one (in `dir`), each with its manager.
fn files(dir: &Path) -> Vec<(&'static str, Redex, RedexFile)> {
    let heap = Redex::new();
    let heap_file = heap.open_file(&name(), cfg(false)).expect("open heap");
    let disk = Redex::with_persistent_dir(dir).expect("dir");
    let disk_file = disk.open_file(&name(), cfg(true)).expect("open persistent");
    vec![("heap", heap, heap_file), ("persistent", disk, disk_file)]
}

fn payloads(f: &RedexFile) -> Vec<Vec<u8>> {
    f.read_range(0, f.next_seq()).expect("read").into_iter().map(|e| e.payload.to_vec()).collect()
}

fn assert_mismatch(err: RedexError, expected: u64, actual: u64) {
    match err {
        RedexError::SeqMismatch { channel, expected: e, actual: a } => {
            assert_eq!((channel.as_str(), e, a), ("ordered/log", expected, actual));
        }
        other => panic!("expected SeqMismatch {{ {expected}, {actual} }}, got {other:?}"),
    }
}

#[test]
fn appends_land_contiguously_in_call_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        f.append_batch(&["x", "y"]).expect("plain appends first");
        let mut w = OrderedAppender::new(f.clone());
        assert_eq!(w.next_seq(), 2, "{label}: starts at the file's next seq");
        assert_eq!(w.append(b"a").expect("append"), 2, "{label}");
        assert_eq!(w.append_batch(&["b", "c", "d"]).expect("batch"), Some(3), "{label}");
        assert_eq!(w.append_batch::<&[u8]>(&[]).expect("empty batch"), None, "{label}");
        assert_eq!(w.append(b"e").expect("append"), 6, "{label}");
        assert_eq!(w.next_seq(), 7, "{label}");
        let want: Vec<Vec<u8>> =
            ["x", "y", "a", "b", "c", "d", "e"].iter().map(|s| s.as_bytes().to_vec()).collect();
        assert_eq!(payloads(&f), want, "{label}: in call order, nothing between");
        assert!(f.segments().len() > 1, "{label}: the appends crossed a rollover");
    }
}

#[test]
fn a_second_writer_makes_the_next_append_fail_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        let mut w = OrderedAppender::new(f.clone());
        w.append(b"mine 0").expect("append");
        f.append(b"intruder").expect("second writer");
        let before = payloads(&f);

        assert_mismatch(w.append(b"mine 1").unwrap_err(), 1, 2);
        assert_mismatch(w.append_batch(&["mine 1", "mine 2"]).unwrap_err(), 1, 2);
        // An empty batch writes nothing but is checked: a cheap "am I still alone?".
        assert_mismatch(w.append_batch::<&[u8]>(&[]).unwrap_err(), 1, 2);

        assert_eq!(payloads(&f), before, "{label}: a refused append wrote nothing");
        assert_eq!(f.next_seq(), 2, "{label}");
        assert_eq!(w.next_seq(), 1, "{label}: a refused append does not move the appender");
        assert_mismatch(w.append(b"mine 1").unwrap_err(), 1, 2);
    }
}

#[test]
fn resync_recovers_after_a_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        let mut w = OrderedAppender::new(f.clone());
        w.append(b"a").expect("append");
        f.append_batch(&["other 1", "other 2"]).expect("second writer");
        assert_mismatch(w.append(b"b").unwrap_err(), 1, 3);
        assert_eq!(w.resync(), 3, "{label}");
        assert_eq!(w.next_seq(), 3, "{label}");
        assert_eq!(w.append(b"b").expect("after resync"), 3, "{label}");
        assert_eq!(w.append_batch(&["c", "d"]).expect("batch"), Some(4), "{label}");
        let got = payloads(&f);
        assert_eq!(got[3..], [b"b".to_vec(), b"c".to_vec(), b"d".to_vec()], "{label}");
    }
}

#[test]
fn starting_at_checks_the_first_append_against_the_given_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        f.append_batch(&["0", "1", "2"]).expect("history");
        // A replay that expects to continue at 5 finds the log short: refused, not padded.
        let mut ahead = OrderedAppender::starting_at(f.clone(), 5);
        assert_mismatch(ahead.append(b"5").unwrap_err(), 5, 3);
        // One that expects 2 would overwrite history: refused too.
        let mut behind = OrderedAppender::starting_at(f.clone(), 2);
        assert_mismatch(behind.append(b"2").unwrap_err(), 2, 3);
        let mut exact = OrderedAppender::starting_at(f.clone(), 3);
        assert_eq!(exact.append(b"3").expect("append"), 3, "{label}");
        assert_eq!(f.next_seq(), 4, "{label}");
    }
}

#[test]
fn append_batch_at_on_the_file_is_a_compare_and_append() {
    let f = Redex::new().open_file(&name(), cfg(false)).expect("open");
    assert_eq!(f.append_batch_at(0, &["a", "b"]).expect("at 0"), Some(0));
    assert_mismatch(f.append_batch_at(0, &["c"]).unwrap_err(), 0, 2);
    assert_eq!(f.append_batch_at::<&[u8]>(2, &[]).expect("empty, matching"), None);
    assert_eq!(f.append_batch_at(2, &["c"]).expect("at 2"), Some(2));
    assert_eq!(f.next_seq(), 3);
}

#[test]
fn a_closed_file_refuses_and_the_appender_stays_put() {
    let f = Redex::new().open_file(&name(), cfg(false)).expect("open");
    let mut w = OrderedAppender::new(f.clone());
    w.append(b"a").expect("append");
    f.close().expect("close");
    assert!(matches!(w.append(b"b"), Err(RedexError::Closed { .. })));
    assert_eq!(w.next_seq(), 1);
}

#[test]
fn works_across_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("dir");
        let f = redex.open_file(&name(), cfg(true)).expect("open");
        let mut w = OrderedAppender::new(f.clone());
        for i in 0..5u8 {
            assert_eq!(w.append(&[i]).expect("append"), u64::from(i));
        }
        f.close().expect("close");
        // An appender from before the close holds a closed file (and, until dropped, the
        // directory lock).
        assert!(matches!(w.append(b"stale"), Err(RedexError::Closed { .. })));
    }
    let redex = Redex::with_persistent_dir(dir.path()).expect("reopen dir");
    let f = redex.open_file(&name(), cfg(true)).expect("reopen");
    let mut w = OrderedAppender::new(f.clone());
    assert_eq!(w.next_seq(), 5, "the expected seq survives a restart through the log");
    assert_eq!(w.append(b"after").expect("append"), 5);
    // A replay told where the log ended continues exactly there.
    let mut replay = OrderedAppender::starting_at(f.clone(), 6);
    assert_eq!(replay.append_batch(&["r1", "r2"]).expect("replay"), Some(6));
    assert_mismatch(w.append(b"late").unwrap_err(), 6, 8);
    f.close().expect("close");
    drop((w, replay, f, redex));

    let redex = Redex::with_persistent_dir(dir.path()).expect("reopen dir again");
    let f = redex.open_file(&name(), cfg(true)).expect("reopen again");
    let mut want: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i]).collect();
    want.extend([b"after".to_vec(), b"r1".to_vec(), b"r2".to_vec()]);
    assert_eq!(payloads(&f), want);
    assert_eq!(OrderedAppender::new(f).next_seq(), 8);
}

/// A racing writer's id, its `(seq, index)` of each append that landed, and how many were
/// refused.
type WriterResult = (u8, Vec<(u64, usize)>, u64);

#[test]
fn racing_appenders_never_share_a_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        const PER_WRITER: usize = 400;
        let results: Vec<WriterResult> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2u8)
                .map(|id| {
                    let f = f.clone();
                    s.spawn(move || {
                        let mut w = OrderedAppender::new(f);
                        let (mut landed, mut refused) = (Vec::new(), 0u64);
                        for i in 0..PER_WRITER {
                            let payload = [id, (i % 256) as u8, (i / 256) as u8];
                            let expected = w.next_seq();
                            match w.append(&payload) {
                                Ok(seq) => {
                                    assert_eq!(seq, expected, "landed where it expected");
                                    landed.push((seq, i));
                                }
                                Err(RedexError::SeqMismatch { expected: e, actual, .. }) => {
                                    assert_eq!(e, expected);
                                    assert!(actual > expected, "the other writer moved the log");
                                    refused += 1;
                                    w.resync();
                                }
                                Err(other) => panic!("unexpected error {other:?}"),
                            }
                        }
                        (id, landed, refused)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("writer")).collect()
        });
        let events = f.read_range(0, f.next_seq()).expect("read");
        let landed: usize = results.iter().map(|(_, l, _)| l.len()).sum();
        assert_eq!(events.len(), landed, "{label}: one entry per successful append, no more");
        for (id, landed, _) in &results {
            for &(seq, i) in landed {
                let want = [*id, (i % 256) as u8, (i / 256) as u8];
                assert_eq!(&events[seq as usize].payload[..], &want, "{label}: seq {seq}");
            }
        }
        let refused: u64 = results.iter().map(|(_, _, r)| r).sum();
        assert_eq!(landed as u64 + refused, 2 * PER_WRITER as u64, "{label}");
    }
}

/// The durable variants append where the plain ones would, fsync before they return (on a
/// persistent file), and on a mismatch write nothing and wait for no fsync.
#[test]
fn durable_appends_keep_the_order_and_fsync() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, _redex, f) in files(dir.path()) {
        let mut w = OrderedAppender::new(f.clone());
        let fsyncs = || f.stats().fsyncs.count;
        let before = fsyncs();
        assert_eq!(w.append_durable(b"a").expect("durable"), 0, "{label}");
        assert_eq!(w.append_batch_durable(&["b", "c"]).expect("durable batch"), Some(1), "{label}");
        let synced = fsyncs() - before;
        if label == "persistent" {
            assert!(synced >= 2, "{label}: each durable append fsynced ({synced})");
        }

        f.append(b"intruder").expect("another writer");
        let before = fsyncs();
        assert_mismatch(w.append_durable(b"late").expect_err("mismatch"), 3, 4);
        assert_mismatch(w.append_batch_durable(&["late"]).expect_err("mismatch"), 3, 4);
        assert_eq!(fsyncs(), before, "{label}: a refused append waits for no fsync");
        assert_eq!(w.next_seq(), 3, "{label}: the appender stays where it was");
        assert_eq!(w.resync(), 4);
        assert_eq!(w.append_durable(b"d").expect("after resync"), 4, "{label}");
        let want: Vec<Vec<u8>> =
            ["a", "b", "c", "intruder", "d"].iter().map(|s| s.as_bytes().to_vec()).collect();
        assert_eq!(payloads(&f), want, "{label}");
    }
}

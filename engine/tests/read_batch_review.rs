//! Goal: `RedexFile::read_batch` hands out exactly `read_range`'s entries and errors in every
//! tier, and what it lends out stays valid and unchanged for as long as the batch lives
//! (after a close, after retention deleted the segment it was read from).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

use std::sync::atomic::Ordering;

use redex::{ChannelName, EventBatch, Redex, RedexError, RedexFile, RedexFileConfig, Retention};
use redex_tiers::backend::fault;

#[path = "common/cold.rs"]
mod cold;
use cold::{interesting_seqs, plain, tiered_log};

fn name() -> ChannelName {
    ChannelName::new("review/batch").expect("name")
}

/// The batch's entries as comparable tuples, each also checked against its owned form.
fn batch_plain(batch: &EventBatch) -> Vec<(u64, u64, Vec<u8>)> {
    let owned = batch.to_events();
    assert_eq!(owned.len(), batch.len());
    for (i, (r, e)) in batch.iter().zip(&owned).enumerate() {
        assert_eq!(batch.get(i), Some(r));
        assert_eq!((r.seq, r.timestamp_ns, r.payload), (e.seq, e.timestamp_ns, &e.payload[..]));
        let one = r.to_event();
        assert_eq!(one, *e);
        if !r.payload.is_empty() {
            assert_eq!(one.payload.as_ptr(), r.payload.as_ptr(), "to_event copied seq {}", r.seq);
        }
    }
    batch.iter().map(|r| (r.seq, r.timestamp_ns, r.payload.to_vec())).collect()
}

/// `read_batch(a, b)` against `read_range(a, b)`: the same entries, or the same error.
fn same_as_read_range(f: &RedexFile, a: u64, b: u64) {
    match (f.read_range(a, b), f.read_batch(a, b)) {
        (Ok(events), Ok(batch)) => {
            let want: Vec<(u64, u64, Vec<u8>)> =
                plain(&events).into_iter().map(|(s, t, p)| (s, t, p.to_vec())).collect();
            assert_eq!(batch_plain(&batch), want, "read_batch({a}, {b})");
        }
        (Err(e), Err(g)) => assert_eq!(format!("{e:?}"), format!("{g:?}"), "({a}, {b})"),
        (r, g) => panic!("read_range({a}, {b}) = {:?}, read_batch = {:?}", r.map(|v| v.len()), g),
    }
}

/// Every pair of interesting seqs (both orders) of a log holding every tier.
#[test]
fn every_tier_and_boundary_matches_read_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_redex, f) = tiered_log(dir.path(), &name());
    let seqs = interesting_seqs(&f);
    for &a in &seqs {
        for &b in &seqs {
            same_as_read_range(&f, a, b);
        }
    }
}

/// Frames above 256 KiB (read entry by entry from a warm segment), mixed in one batch append
/// with inline and empty payloads, in the hot, warm and reopened log.
#[test]
fn large_frames_inline_and_empty_payloads_match_read_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(512 * 1024);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name(), cfg.clone()).expect("open");
    let big = |k: u8| vec![k; 300 * 1024];
    let payloads: Vec<Vec<u8>> =
        vec![big(1), Vec::new(), vec![2; 3], vec![3; 40], Vec::new(), big(4), vec![5; 8]];
    for _ in 0..4 {
        f.append_batch(&payloads).expect("append batch");
        f.append(b"").expect("append empty");
        f.append(b"x").expect("append");
    }
    f.sync().expect("sync");
    for a in 0..f.next_seq() + 2 {
        for b in [a, a + 1, a + 5, f.next_seq(), f.next_seq() + 3] {
            same_as_read_range(&f, a, b);
        }
    }
    f.close().expect("close");
    drop(f);
    let f = redex.open_file(&name(), cfg).expect("reopen");
    for a in 0..f.next_seq() + 2 {
        same_as_read_range(&f, a, f.next_seq());
        same_as_read_range(&f, a, a + 3);
    }
}

/// Heap-only files, empty payloads included.
#[test]
fn heap_only_matches_read_range() {
    let redex = Redex::new();
    let cfg = RedexFileConfig::default().with_segment_bytes_max(4096);
    let f = redex.open_file(&name(), cfg).expect("open");
    for seq in 0..300u64 {
        let p = vec![seq as u8; (seq % 5 * 37) as usize];
        f.append(&p).expect("append");
        if seq % 11 == 0 {
            f.append_batch(&[Vec::new(), Vec::new()]).expect("append empties");
        }
    }
    for a in (0..f.next_seq() + 2).step_by(7) {
        for b in [a, a + 1, a + 40, f.next_seq() + 1] {
            same_as_read_range(&f, a, b);
        }
    }
    assert!(matches!(f.read_batch(5, 4), Err(RedexError::InvalidRange { start: 5, end: 4 })));
}

/// A segment whose freeze has not finished (fsyncs held) is read from its hot frames.
#[test]
fn a_segment_still_freezing_matches_read_range() {
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            fault::FSYNC_HOLD.store(false, Ordering::SeqCst);
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(16 * 1024);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    let release = Release;
    fault::FSYNC_HOLD.store(true, Ordering::SeqCst);
    for seq in 0..20u64 {
        f.append(&vec![seq as u8; 1000]).expect("append");
    }
    for a in 0..22 {
        for b in [a, a + 1, a + 9, 25] {
            same_as_read_range(&f, a, b);
        }
    }
    drop(release);
    f.sync().expect("sync");
}

/// A batch outlives the close of its file and the deletion of the segments it was read from,
/// its payloads unchanged.
#[test]
fn a_batch_outlives_close_and_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_retention(Retention::events(100));
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    let payload = |seq: u64| vec![(seq * 7) as u8; 100 + (seq % 13) as usize];
    for seq in 0..100 {
        f.append(&payload(seq)).expect("append");
    }
    f.sync().expect("sync");
    let early = f.read_batch(0, 100).expect("batch");
    let owned = early.get(3).expect("entry").to_event();
    for seq in 100..1000 {
        f.append(&payload(seq)).expect("append");
    }
    f.apply_retention().expect("retention");
    assert!(f.head_seq() > 100, "head {}", f.head_seq());
    assert!(matches!(f.read_batch(0, 10), Err(RedexError::Evicted { requested: 0, .. })));
    let late = f.read_batch(f.head_seq(), f.next_seq()).expect("batch");
    f.close().expect("close");
    drop(f);
    drop(redex);
    for (batch, from) in [(&early, 0), (&late, 900)] {
        assert_eq!(batch.len(), 100);
        for (i, r) in batch.iter().enumerate() {
            assert_eq!(r.seq, from + i as u64);
            assert_eq!(r.payload, &payload(r.seq)[..], "seq {}", r.seq);
        }
    }
    assert_eq!(owned.payload[..], payload(3)[..]);
}

/// An entry read twice is the same entry, whatever tier (and buffer) it was lent from; its
/// debug form shows that entry, not the buffer around it.
#[test]
fn entries_compare_and_print_by_what_they_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name(), cfg.clone()).expect("open");
    for seq in 0..10u64 {
        f.append(&[seq as u8; 10]).expect("append");
    }
    let hot = f.read_batch(0, 10).expect("hot batch");
    f.close().expect("close");
    drop(f);
    // Reopened, the entries are read from the frozen segment's mapping.
    let f = redex.open_file(&name(), cfg).expect("reopen");
    for seq in 10..1000u64 {
        f.append(&[seq as u8; 10]).expect("append");
    }
    f.sync().expect("sync");
    let warm = f.read_batch(0, 10).expect("warm batch");
    for i in 0..10 {
        assert_eq!(hot.get(i), warm.get(i), "entry {i}");
    }
    let shown = format!("{:?}", warm.get(0).expect("entry"));
    assert!(shown.len() < 200, "{} bytes: {shown}", shown.len());
}

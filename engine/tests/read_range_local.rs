//! Goal: `RedexFile::read_range_local` returns exactly what `read_range` returns for a range
//! held entirely in the hot and warm tiers, `None` for any range reaching into the cold prefix
//! (without touching the cold store or its cache), and `read_range`'s errors for an inverted
//! range, a start below the retained head and a closed file; and the bytes of a `Vec` model
//! over random appends and ranges in a log with warm and hot segments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use redex::{ChannelName, Redex, RedexError, RedexFile, RedexFileConfig, Retention, Tier};

#[path = "common/cold.rs"]
mod cold;
use cold::{
    append_n, bytes_for, cold_cfg, interesting_seqs, payload, plain, settle, tiered_cfg, tiered_log,
};

fn name() -> ChannelName {
    ChannelName::new("local/reads").expect("name")
}

/// The first seq not archived: the end of the last cold segment (the head if none).
fn cold_end(f: &RedexFile) -> u64 {
    let segs = f.segments();
    segs.iter().filter(|s| s.tier == Tier::Cold).map(|s| s.next_seq).max().unwrap_or(f.head_seq())
}

/// What the cold tier has been asked for: fetches, cache hits, cache misses.
fn cold_reads(f: &RedexFile) -> (u64, u64, u64) {
    let c = f.stats().cold_tier.expect("a cold tier");
    (c.fetches, c.cache_hits, c.cache_misses)
}

/// Checks `read_range_local(a, b)` against `read_range(a, b)`: the same error, or `None`
/// exactly when the (clamped) range reaches below `cold_end`, or else the same entries.
fn assert_matches_read_range(f: &RedexFile, a: u64, b: u64, cold_end: u64) {
    let local = f.read_range_local(a, b);
    let sync = f.read_range(a, b);
    match (&local, &sync) {
        (Err(got), Err(want)) => {
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "({a}, {b})")
        }
        (Ok(None), Ok(_)) => {
            assert!(a < b.min(f.next_seq()).min(cold_end), "({a}, {b}): None for a local range")
        }
        (Ok(Some(got)), Ok(want)) => {
            assert!(
                a >= b.min(f.next_seq()).min(cold_end),
                "({a}, {b}): read a range reaching into the cold prefix (ends at {cold_end})"
            );
            assert_eq!(plain(got), plain(want), "({a}, {b})");
        }
        _ => panic!("read_range_local({a}, {b}) gave {local:?}, read_range {sync:?}"),
    }
}

#[test]
fn local_ranges_match_read_range_and_cold_ones_are_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (redex, f) = tiered_log(dir.path(), &name());
    let (head, next, cold_end) = (f.head_seq(), f.next_seq(), cold_end(&f));
    assert!(0 < head && head < cold_end && cold_end < next, "{head} {cold_end} {next}");

    // Every pair of interesting seqs, in either order, read locally first: none of them asks
    // the cold tier for anything (no fetch, not even a cache lookup).
    let seqs = interesting_seqs(&f);
    let before = cold_reads(&f);
    let mut outcomes = [0usize; 4]; // Some, None, Evicted, InvalidRange
    for &a in &seqs {
        for &b in &seqs {
            match f.read_range_local(a, b) {
                Ok(Some(_)) => outcomes[0] += 1,
                Ok(None) => outcomes[1] += 1,
                Err(RedexError::Evicted { requested, head: h }) => {
                    assert_eq!((requested, h), (a, head));
                    outcomes[2] += 1;
                }
                Err(RedexError::InvalidRange { start, end }) => {
                    assert!(start == a && end == b && a > b);
                    outcomes[3] += 1;
                }
                Err(e) => panic!("read_range_local({a}, {b}): {e}"),
            }
        }
    }
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
    assert_eq!(cold_reads(&f), before, "read_range_local asked the cold tier");
    // Then each against read_range (which fetches the cold parts).
    for &a in &seqs {
        for &b in &seqs {
            assert_matches_read_range(&f, a, b, cold_end);
        }
    }
    // The whole local part in one read, with the right bytes; one entry more is cold.
    let local = f.read_range_local(cold_end, u64::MAX).expect("read").expect("all local");
    assert_eq!(local.len() as u64, next - cold_end);
    for (e, seq) in local.iter().zip(cold_end..) {
        assert_eq!((e.seq, &e.payload[..]), (seq, &payload(seq)[..]));
    }
    assert!(f.read_range_local(cold_end - 1, u64::MAX).expect("read").is_none());
    assert!(f.read_range_local(head, head + 1).expect("read").is_none());
    // An empty range inside the cold prefix reads nothing, as read_range does, and is local.
    assert_eq!(f.read_range_local(head + 1, head + 1).expect("read").map(|v| v.len()), Some(0));
    f.close().expect("close");
    drop((f, redex));

    // Reopened with transparent cold reads off: read_range refuses the cold part, while
    // read_range_local still answers `None` (it never needed the store) and reads the rest.
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f =
        redex.open_file(&name(), tiered_cfg(dir.path()).with_cold_reads(false)).expect("reopen");
    assert_eq!(self::cold_end(&f), cold_end);
    assert!(matches!(f.read_range(head, next), Err(RedexError::ColdUnavailable { .. })));
    assert!(f.read_range_local(head, next).expect("read").is_none());
    let again = f.read_range_local(cold_end, next).expect("read").expect("all local");
    assert_eq!(plain(&again), plain(&local));
    f.close().expect("close");
}

#[test]
fn errors_are_read_ranges() {
    let redex = Redex::new();
    let f = redex
        .open_file(&name(), RedexFileConfig::default().with_retention(Retention::events(50)))
        .expect("open");
    // An empty file: every range is empty or inverted.
    for (a, b) in [(0, 0), (0, 10), (3, 10)] {
        assert_eq!(f.read_range_local(a, b).expect("empty").map(|v| v.len()), Some(0));
    }
    append_n(&f, 0..120);
    let (head, next) = (f.head_seq(), f.next_seq());
    assert_eq!((head, next), (70, 120));
    // Below the head: Evicted, whether or not the range reaches retained entries.
    for (a, b) in [(0, 10), (0, 100), (head - 1, head), (head - 1, u64::MAX)] {
        let err = f.read_range_local(a, b).expect_err("evicted");
        assert!(
            matches!(err, RedexError::Evicted { requested, head: h } if requested == a && h == head)
        );
    }
    // start > end: InvalidRange, checked before the head.
    for (a, b) in [(1, 0), (head + 5, head + 4), (u64::MAX, 0), (next + 10, next)] {
        let err = f.read_range_local(a, b).expect_err("inverted");
        assert!(matches!(err, RedexError::InvalidRange { start, end } if start == a && end == b));
    }
    // `end` clamped at next_seq; a start at or past it reads nothing.
    for (a, b, len) in [(next - 3, next + 100, 3), (head, u64::MAX, next - head), (next, 200, 0)] {
        let got = f.read_range_local(a, b).expect("read").expect("local");
        assert_eq!(plain(&got), plain(&f.read_range(a, b).expect("read")));
        assert_eq!(got.len() as u64, len, "({a}, {b})");
    }

    // A closed file, with cold, warm and hot history: Closed, the inverted range excepted.
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f = redex.open_file(&name(), cold_cfg(&dir.path().join("archive"), 100)).expect("open");
    append_n(&f, 0..800);
    settle(&f);
    assert!(f.segments().iter().any(|s| s.tier == Tier::Cold));
    assert!(f.read_range_local(0, 800).expect("open file").is_none());
    assert_eq!(f.read_range_local(799, 800).expect("open file").map(|v| v.len()), Some(1));
    f.close().expect("close");
    for (a, b) in [(0, 800), (700, 800), (799, 10_000), (5, 5)] {
        let err = f.read_range_local(a, b).expect_err("closed");
        assert!(matches!(err, RedexError::Closed { .. }), "({a}, {b}): {err}");
        let want = f.read_range(a, b).expect_err("closed");
        assert_eq!(format!("{err:?}"), format!("{want:?}"));
    }
    assert!(matches!(f.read_range_local(9, 8), Err(RedexError::InvalidRange { .. })));
}

#[derive(Debug, Clone)]
enum Op {
    /// A batch of payloads with these lengths.
    Append(Vec<usize>),
    /// A read from and to these fractions of (a little past) the log, in this order.
    Read(f64, f64),
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![0usize..=8, 9usize..200, 1000usize..4000];
    prop_oneof![
        1 => proptest::collection::vec(len, 1..12).prop_map(Op::Append),
        1 => (0.0..1.0f64, 0.0..1.0f64).prop_map(|(a, b)| Op::Read(a, b)),
    ]
}

/// Appends and local reads against a `Vec` of payloads, in a persistent log without a cold
/// store (full segments freeze to the warm tier). `retain`: the log's retention, if any.
fn run(ops: Vec<Op>, retain: Option<u64>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let mut cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4 * 1024);
    if let Some(n) = retain {
        cfg = cfg.with_retention(Retention::events(n));
    }
    let f = redex.open_file(&name(), cfg).expect("open");
    let mut model: Vec<Vec<u8>> = Vec::new();
    for op in ops {
        match op {
            Op::Append(lens) => {
                let batch: Vec<Vec<u8>> =
                    lens.iter().enumerate().map(|(i, &l)| bytes_for(model.len() + i, l)).collect();
                f.append_batch(&batch).expect("append");
                model.extend(batch);
            }
            Op::Read(a, b) => {
                // A little past the end, so clamping and empty ranges come up too.
                let span = model.len() as f64 + 4.0;
                let (a, b) = ((a * span) as u64, (b * span) as u64);
                let head = f.head_seq();
                match f.read_range_local(a, b) {
                    Ok(Some(got)) => {
                        prop_assert!(a <= b && a >= head, "({}, {})", a, b);
                        let want: Vec<&[u8]> = (a..b.min(model.len() as u64))
                            .map(|s| &model[s as usize][..])
                            .collect();
                        let got_bytes: Vec<&[u8]> = got.iter().map(|e| &e.payload[..]).collect();
                        prop_assert_eq!(&got_bytes, &want, "({}, {})", a, b);
                        for (e, seq) in got.iter().zip(a..) {
                            prop_assert_eq!(e.seq, seq);
                        }
                        let sync = f.read_range(a, b).expect("read_range");
                        prop_assert_eq!(plain(&got), plain(&sync), "({}, {})", a, b);
                    }
                    Ok(None) => prop_assert!(false, "({}, {}): None without a cold tier", a, b),
                    Err(RedexError::InvalidRange { start, end }) => {
                        prop_assert!(a > b && (start, end) == (a, b))
                    }
                    Err(RedexError::Evicted { requested, head: h }) => {
                        prop_assert!(a <= b && a < head, "({}, {})", a, b);
                        prop_assert_eq!((requested, h), (a, head));
                    }
                    Err(e) => prop_assert!(false, "({}, {}): {}", a, b, e),
                }
            }
        }
        prop_assert_eq!(f.next_seq(), model.len() as u64);
    }
    // The whole retained log in one local read.
    let head = f.head_seq();
    let got = f.read_range_local(head, u64::MAX).expect("read").expect("local");
    let got: Vec<&[u8]> = got.iter().map(|e| &e.payload[..]).collect();
    let want: Vec<&[u8]> = model[head as usize..].iter().map(Vec::as_slice).collect();
    prop_assert_eq!(got, want);
    f.close().expect("close");
    Ok(())
}

#[test]
fn the_model_logs_config_reads_warm_and_hot_segments() {
    // What the proptest below relies on: its config freezes full segments to the warm tier.
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4 * 1024);
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..100);
    let tiers: Vec<Tier> = f.segments().iter().map(|s| s.tier).collect();
    assert!(tiers.contains(&Tier::Warm) && tiers.contains(&Tier::Hot), "{tiers:?}");
    assert_eq!(f.read_range_local(0, 100).expect("read").expect("local").len(), 100);
    f.close().expect("close");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn read_range_local_matches_a_vec_model(
        ops in proptest::collection::vec(op(), 1..50),
        retain in proptest::option::of(40u64..300),
    ) {
        run(ops, retain)?;
    }
}

//! Goal: `RedexFile::read_range_async` returns exactly what `read_range` returns (the same
//! entries, or the same error) for ranges over hot, warm and cold history and across their
//! boundaries, starting below the retained head, inverted, reaching past the end, and on a
//! closed file; under a multi-thread runtime (awaited on a worker) and a current-thread one
//! alike; and the bytes of a `Vec` model over random appends and ranges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use redex::{
    ChannelName, Redex, RedexError, RedexEvent, RedexFile, RedexFileConfig, Retention, Tier,
};
use tokio::runtime::{Builder, Runtime};

#[path = "common/cold.rs"]
mod cold;
use cold::{
    append_n, bytes_for, cold_cfg, interesting_seqs, payload, plain, settle, tiered_cfg, tiered_log,
};

fn name() -> ChannelName {
    ChannelName::new("async/reads").expect("name")
}

/// A multi-thread runtime and a current-thread one, with a label for messages.
fn runtimes() -> [(&'static str, Runtime); 2] {
    let multi = Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let current = Builder::new_current_thread().enable_all().build().expect("rt");
    [("multi-thread", multi), ("current-thread", current)]
}

/// `read_range_async(start, end)`, spawned as a task of `rt`: on a worker of a multi-thread
/// runtime (where it must not block), on the `block_on` thread of a current-thread one.
fn read_async(rt: &Runtime, f: &RedexFile, start: u64, end: u64) -> redex::Result<Vec<RedexEvent>> {
    let f = f.clone();
    rt.block_on(rt.spawn(async move { f.read_range_async(start, end).await })).expect("task")
}

/// Asserts that both runtimes' `read_range_async(start, end)` return what `read_range` does:
/// the same entries, or an error of the same variant and fields. Returns `read_range`'s result.
fn assert_same(
    rts: &[(&str, Runtime)],
    f: &RedexFile,
    start: u64,
    end: u64,
) -> redex::Result<Vec<RedexEvent>> {
    let sync = f.read_range(start, end);
    for (label, rt) in rts {
        let got = read_async(rt, f, start, end);
        match (&sync, &got) {
            (Ok(want), Ok(got)) => {
                assert_eq!(plain(got), plain(want), "{label}: read_range_async({start}, {end})");
            }
            (Err(want), Err(got)) => assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{label}: read_range_async({start}, {end})"
            ),
            _ => panic!(
                "{label}: read_range_async({start}, {end}) gave {got:?}, read_range {sync:?}"
            ),
        }
    }
    sync
}

#[test]
fn ranges_over_hot_warm_and_cold_match_read_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (redex, f) = tiered_log(dir.path(), &name());
    let head = f.head_seq();
    assert!(head > 0, "retention evicted the oldest history");
    let rts = runtimes();

    // The whole retained log, every tier in one read, with the right bytes.
    let all = assert_same(&rts, &f, head, f.next_seq()).expect("read");
    assert_eq!(all.len() as u64, f.next_seq() - head);
    for (e, seq) in all.iter().zip(head..) {
        assert_eq!((e.seq, &e.payload[..]), (seq, &payload(seq)[..]));
    }
    // Every pair of interesting seqs, in either order: within one tier, across boundaries,
    // below the head (Evicted), inverted (InvalidRange), past the end (clamped or empty).
    let seqs = interesting_seqs(&f);
    let mut evicted = 0;
    for &a in &seqs {
        for &b in &seqs {
            let res = assert_same(&rts, &f, a, b);
            match res {
                Err(RedexError::Evicted { requested, head: h }) => {
                    assert_eq!((requested, h), (a, head));
                    evicted += 1;
                }
                Err(RedexError::InvalidRange { start, end }) => {
                    assert!(start == a && end == b && a > b)
                }
                Err(e) => panic!("read_range({a}, {b}): {e}"),
                Ok(events) => {
                    let end = b.min(f.next_seq());
                    assert_eq!(events.len() as u64, end.saturating_sub(a), "({a}, {b})");
                }
            }
        }
    }
    assert!(evicted > 0);
    // Reopened: cold segments come back from the manifest, and the reads still agree.
    f.close().expect("close");
    drop((f, redex));
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f = redex.open_file(&name(), tiered_cfg(dir.path())).expect("reopen");
    assert!(f.segments().iter().any(|s| s.tier == Tier::Cold));
    let again = assert_same(&rts, &f, head, f.next_seq()).expect("read");
    assert_eq!(plain(&again), plain(&all));
    f.close().expect("close");
}

#[test]
fn below_the_head_inverted_and_past_the_end() {
    let rts = runtimes();
    let redex = Redex::new();
    let f = redex
        .open_file(&name(), RedexFileConfig::default().with_retention(Retention::events(50)))
        .expect("open");
    // An empty file: every range is empty or inverted.
    assert!(assert_same(&rts, &f, 0, 0).expect("empty").is_empty());
    assert!(assert_same(&rts, &f, 0, 10).expect("empty").is_empty());
    assert!(assert_same(&rts, &f, 3, 10).expect("empty").is_empty());
    assert!(matches!(
        assert_same(&rts, &f, 2, 1),
        Err(RedexError::InvalidRange { start: 2, end: 1 })
    ));

    append_n(&f, 0..120);
    let (head, next) = (f.head_seq(), f.next_seq());
    assert_eq!((head, next), (70, 120));
    // Below the head: Evicted, whether or not the range reaches retained entries.
    for (a, b) in [(0, 10), (0, 100), (head - 1, head), (head - 1, u64::MAX)] {
        let err = assert_same(&rts, &f, a, b).expect_err("evicted");
        assert!(
            matches!(err, RedexError::Evicted { requested, head: h } if requested == a && h == head)
        );
    }
    // start > end: InvalidRange, checked before the head.
    for (a, b) in [(1, 0), (head + 5, head + 4), (u64::MAX, 0), (next + 10, next)] {
        let err = assert_same(&rts, &f, a, b).expect_err("inverted");
        assert!(matches!(err, RedexError::InvalidRange { start, end } if start == a && end == b));
    }
    // `end` clamped at next_seq; a start at or past it reads nothing.
    assert_eq!(assert_same(&rts, &f, next - 3, next + 100).expect("clamped").len(), 3);
    assert_eq!(assert_same(&rts, &f, head, u64::MAX).expect("clamped").len() as u64, next - head);
    assert!(assert_same(&rts, &f, next, u64::MAX).expect("at the end").is_empty());
    assert!(assert_same(&rts, &f, next + 5, next + 9).expect("past the end").is_empty());
    assert!(assert_same(&rts, &f, head, head).expect("empty range").is_empty());
}

#[test]
fn a_closed_file_refuses_reads_like_read_range() {
    let rts = runtimes();
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f = redex.open_file(&name(), cold_cfg(&dir.path().join("archive"), 100)).expect("open");
    append_n(&f, 0..800);
    settle(&f);
    assert!(f.segments().iter().any(|s| s.tier == Tier::Cold));
    assert_eq!(assert_same(&rts, &f, 0, 800).expect("open file").len(), 800);
    f.close().expect("close");
    // Cold, warm and hot starts, an empty range, and an inverted one (checked first).
    for (a, b) in [(0, 800), (700, 800), (799, 10_000), (5, 5)] {
        let err = assert_same(&rts, &f, a, b).expect_err("closed");
        assert!(matches!(err, RedexError::Closed { .. }), "({a}, {b}): {err}");
    }
    assert!(matches!(assert_same(&rts, &f, 9, 8), Err(RedexError::InvalidRange { .. })));
}

#[derive(Debug, Clone)]
enum Op {
    /// A batch of payloads with these lengths.
    Append(Vec<usize>),
    /// A read from and to these fractions of (a little past) the log, in this order.
    Read(f64, f64),
    /// Wait until archival has caught up.
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![0usize..=8, 9usize..200, 1000usize..4000];
    prop_oneof![
        5 => proptest::collection::vec(len, 1..12).prop_map(Op::Append),
        5 => (0.0..1.0f64, 0.0..1.0f64).prop_map(|(a, b)| Op::Read(a, b)),
        1 => Just(Op::Settle),
    ]
}

/// Appends and reads against a `Vec` of payloads. `retain`: the whole log's retention, if any.
fn run(ops: Vec<Op>, warm_events: u64, retain: Option<u64>) -> Result<(), TestCaseError> {
    let rts = runtimes();
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let mut cfg = cold_cfg(&dir.path().join("archive"), warm_events)
        .with_segment_bytes_max(4 * 1024)
        .with_cold_cache_bytes(64 * 1024);
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
            Op::Settle => settle(&f),
            Op::Read(a, b) => {
                // A little past the end, so clamping and empty ranges come up too.
                let span = model.len() as f64 + 4.0;
                let (a, b) = ((a * span) as u64, (b * span) as u64);
                let head = f.head_seq();
                let want: Vec<&[u8]> = match (a, b) {
                    _ if a > b => Vec::new(),
                    _ if a < head => Vec::new(),
                    _ => (a..b.min(model.len() as u64)).map(|s| &model[s as usize][..]).collect(),
                };
                let sync = f.read_range(a, b);
                for (label, rt) in &rts {
                    match (read_async(rt, &f, a, b), &sync) {
                        (Ok(got), Ok(same)) => {
                            prop_assert_eq!(plain(&got), plain(same), "{} ({}, {})", label, a, b);
                            let got_bytes: Vec<&[u8]> =
                                got.iter().map(|e| &e.payload[..]).collect();
                            prop_assert_eq!(&got_bytes, &want, "{} ({}, {})", label, a, b);
                            for (e, seq) in got.iter().zip(a..) {
                                prop_assert_eq!(e.seq, seq);
                            }
                        }
                        (
                            Err(RedexError::InvalidRange { .. }),
                            Err(RedexError::InvalidRange { .. }),
                        ) => {
                            prop_assert!(a > b)
                        }
                        (
                            Err(RedexError::Evicted { requested, head: h }),
                            Err(RedexError::Evicted { .. }),
                        ) => {
                            prop_assert!(a <= b && a < head, "{} ({}, {})", label, a, b);
                            prop_assert_eq!((requested, h), (a, head));
                        }
                        (got, _) => prop_assert!(
                            false,
                            "{label} ({a}, {b}): {got:?} vs read_range {sync:?}"
                        ),
                    }
                }
            }
        }
        prop_assert_eq!(f.next_seq(), model.len() as u64);
    }
    // Once archival caught up, the whole retained log in one read, cold part included.
    settle(&f);
    let head = f.head_seq();
    for (label, rt) in &rts {
        let got = read_async(rt, &f, head, u64::MAX).expect("read");
        let got: Vec<&[u8]> = got.iter().map(|e| &e.payload[..]).collect();
        let want: Vec<&[u8]> = model[head as usize..].iter().map(Vec::as_slice).collect();
        prop_assert_eq!(got, want, "{}", label);
    }
    f.close().expect("close");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn read_range_async_matches_a_vec_model(
        ops in proptest::collection::vec(op(), 1..50),
        warm_events in 5u64..80,
        retain in proptest::option::of(40u64..300),
    ) {
        run(ops, warm_events, retain)?;
    }
}

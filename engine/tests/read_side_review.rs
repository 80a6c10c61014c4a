//! Goal: the read side (tails, async and blocking reads, typed reads, `OrderedAppender`,
//! `RedexIndex`) never panics, never loses, skips or duplicates an entry silently, and names
//! what failed and where, while a writer rolls segments over, retention deletes them and
//! archival moves them cold.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::io;
use std::ops::Range;

use futures::StreamExt;
use redex::{
    Bytes, ChannelName, ColdKey, ColdStore, LocalDirColdStore, Redex, RedexError, RedexFile,
    Retention, Tier,
};
use redex_tiers::cold::{ColdFuture, ColdObjectInfo};

#[path = "common/cold.rs"]
mod cold;
use cold::{append_n, cold_cfg_with, payload, settle, FlakyStore};

fn name() -> ChannelName {
    ChannelName::new("review/reads").expect("name")
}

/// What one tail saw: the seqs delivered (checked contiguous from `from` and against
/// [`payload`]), and the error that ended it, if any.
async fn drain_tail(f: RedexFile, from: u64, until: u64) -> (u64, Option<RedexError>) {
    let mut stream = Box::pin(f.tail(from));
    let mut next = from;
    while next < until {
        let item = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .unwrap_or_else(|_| panic!("tail from {from} stalled at {next}"));
        match item {
            None => return (next, None),
            Some(Err(e)) => return (next, Some(e)),
            Some(Ok(ev)) => {
                assert_eq!(ev.seq, next, "tail from {from}: gap or duplicate");
                assert_eq!(ev.payload[..], payload(ev.seq)[..], "tail from {from}: seq {}", ev.seq);
                next += 1;
            }
        }
    }
    (next, None)
}

/// A tail whose backfill fetches a cold segment that retention drops (and deletes the object
/// of) during the fetch ends with `Evicted` naming the seq, not with the store's "not found":
/// the entries were evicted, the store is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_whose_cold_backfill_is_evicted_mid_fetch_says_evicted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FlakyStore::new(&dir.path().join("archive"));
    let cfg = cold_cfg_with(store.clone(), 50).with_retention(Retention::events(600));
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..600);
    settle(&f);
    assert_eq!(f.segments()[0].tier, Tier::Cold, "{:?}", f.segments());
    assert_eq!(f.head_seq(), 0);
    let writer = f.clone();
    store.on_next_fetch(move || append_n(&writer, 600..900));
    let (reached, err) = drain_tail(f.clone(), 0, 900).await;
    assert_eq!(reached, 0);
    match err {
        Some(RedexError::Evicted { requested: 0, head }) => assert!(head > 0, "head {head}"),
        other => panic!("expected Evicted at seq 0, got {other:?}"),
    }
}

/// A directory store that runs a hook before its next fetch (which then succeeds) and never
/// deletes an object, so a read overtaken by retention still finds the bytes it asked for.
struct KeepingStore {
    inner: LocalDirColdStore,
    before_fetch: parking_lot::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for KeepingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeepingStore")
    }
}

impl ColdStore for KeepingStore {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        self.inner.archive_segment(key, parts)
    }
    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        if let Some(hook) = self.before_fetch.lock().take() {
            hook();
        }
        self.inner.fetch_segment(key, range)
    }
    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        self.inner.list(channel)
    }
    fn delete<'a>(&'a self, _key: &'a ColdKey) -> ColdFuture<'a, ()> {
        Box::pin(async { Ok::<(), io::Error>(()) })
    }
    fn describe(&self, key: &ColdKey) -> String {
        self.inner.describe(key)
    }
}

/// Seqs 0..400 in a log under count retention of 600, the oldest cold, the rest warm; the next
/// cold fetch first appends 400..1200 and waits for the head to pass 400, so whatever read
/// issues it is overtaken by the head.
fn overtaken_at_the_next_fetch(dir: &std::path::Path) -> (Redex, RedexFile) {
    let store = Arc::new(KeepingStore {
        inner: LocalDirColdStore::new(dir.join("archive")).expect("store"),
        before_fetch: parking_lot::Mutex::new(None),
    });
    let cfg = cold_cfg_with(store.clone(), 100).with_retention(Retention::events(600));
    let redex = Redex::with_persistent_dir(dir.join("db")).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..400);
    settle(&f);
    let segs = f.segments();
    assert_eq!(segs[0].tier, Tier::Cold, "{segs:?}");
    assert!(segs.iter().any(|s| s.tier == Tier::Warm), "{segs:?}");
    let writer = f.clone();
    *store.before_fetch.lock() = Some(Box::new(move || {
        append_n(&writer, 400..1200);
        // Retention passes a segment being archived only once it is cold (whole): wait until
        // the head has passed every seq the read asked for.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while writer.head_seq() < 400 {
            assert!(std::time::Instant::now() < deadline, "head stuck at {}", writer.head_seq());
            writer.apply_retention().expect("retention");
            std::thread::sleep(Duration::from_millis(5));
        }
    }));
    (redex, f)
}

/// A tail whose backfill read fetches its cold part while retention moves the head past the
/// whole range ends with `Evicted` at the first seq it did not deliver, not at some later seq
/// the read happened to reach (which would tell the consumer it missed less than it did).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_overtaken_by_retention_names_its_own_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_redex, f) = overtaken_at_the_next_fetch(dir.path());
    let (reached, err) = drain_tail(f.clone(), 0, 1200).await;
    assert_eq!(reached, 0);
    match err {
        Some(RedexError::Evicted { requested: 0, head }) => assert!(head >= 400, "head {head}"),
        other => panic!("expected Evicted at seq 0, got {other:?}"),
    }
}

/// The same race without a tail: `read_range_async` and `read_range`, whose cold part was
/// fetched while the writer moved the head past the rest, report the eviction at the seq they
/// were asked for, not at the later seq where they noticed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_overtaken_by_retention_names_its_start() {
    for blocking in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_redex, f) = overtaken_at_the_next_fetch(dir.path());
        let err = match blocking {
            false => f.read_range_async(0, 400).await,
            true => {
                let f = f.clone();
                tokio::task::spawn_blocking(move || f.read_range(0, 400)).await.expect("join")
            }
        }
        .expect_err("the head passed the whole range");
        match err {
            RedexError::Evicted { requested: 0, head } => assert!(head >= 400, "head {head}"),
            other => panic!("blocking {blocking}: expected Evicted at seq 0, got {other:?}"),
        }
    }
}

/// Tails started at every interesting position (below the head, at it, inside cold, warm and
/// hot segments, at and past `next_seq`) while a writer appends through rollovers, retention
/// deletes segments and archival moves them cold: each delivers a contiguous run of the right
/// bytes from its start, ending only with `Evicted` or `Lagged` (never a gap or a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tails_from_every_position_race_rollover_retention_and_archival() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FlakyStore::new(&dir.path().join("archive"));
    let cfg = cold_cfg_with(store.clone(), 100)
        .with_retention(Retention::events(600).with_max_bytes(300_000))
        .with_tail_buffer_events(256);
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..1000);
    settle(&f);
    let end = 2000;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (f, stop) = (f.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            for seq in 1000..end {
                assert_eq!(f.append(&payload(seq)).expect("append"), seq);
                if seq % 97 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
        })
    };
    let mut starts = vec![0, f.head_seq().saturating_sub(1), f.head_seq(), f.next_seq()];
    for s in f.segments() {
        starts.extend([s.first_seq, s.first_seq + 1, s.next_seq.saturating_sub(1)]);
    }
    starts.extend([f.next_seq() + 1, f.next_seq() + 300]);
    starts.sort_unstable();
    starts.dedup();
    let mut tails = Vec::new();
    for from in starts {
        let head = f.head_seq();
        let handle = tokio::spawn(drain_tail(f.clone(), from, end));
        tails.push((from, head, handle));
    }
    for (from, head_then, handle) in tails {
        let (reached, err) = handle.await.expect("tail task");
        match err {
            None => assert_eq!(reached, end.max(from), "tail from {from}"),
            Some(RedexError::Evicted { requested, head }) => {
                assert_eq!(requested, reached, "tail from {from}");
                assert!(requested < head, "tail from {from}: {requested} >= {head}");
            }
            Some(RedexError::Lagged { at_seq, .. }) => assert_eq!(at_seq, reached),
            Some(e) => panic!("tail from {from} (head was {head_then}): {e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
}

/// A payload that is not a whole `T` (another type's, whose first bytes happen to decode as a
/// `T`) is a decode error naming its seq on every typed path (get, range read, tail, typed
/// index), never a wrong value: the string "hello" starts with its length, 5, which alone is a
/// valid `u32`.
#[tokio::test]
async fn a_payload_with_bytes_left_over_is_a_decode_error_naming_its_seq() {
    use redex::{IndexOp, IndexStart, IndexStatus, RedexIndex, TypedRedexFile};
    let redex = Redex::new();
    let file = redex.open_file(&name(), redex::RedexFileConfig::default()).expect("open");
    let numbers = TypedRedexFile::<u32>::new(file.clone());
    numbers.append_typed(&7).expect("append");
    let strings = TypedRedexFile::<String>::new(file.clone());
    let bad = strings.append_typed(&"hello".to_owned()).expect("append");
    numbers.append_typed(&9).expect("append");
    let codec_at = |r: redex::Result<_>, what: &str| match r {
        Err(RedexError::Codec { seq: Some(seq), reason }) => {
            assert_eq!(seq, bad, "{what}");
            assert!(reason.contains("trailing bytes"), "{what}: {reason}");
        }
        other => panic!("{what}: expected a decode error at seq {bad}, got {other:?}"),
    };
    assert_eq!(numbers.get_typed(0).expect("get"), Some(7));
    codec_at(numbers.get_typed(bad).map(|_| ()), "get_typed");
    codec_at(numbers.read_typed(0, 3).map(|_| ()), "read_typed");
    let mut tail = Box::pin(numbers.tail_typed(0));
    assert_eq!(tail.next().await.expect("item").expect("first"), (0, 7));
    codec_at(tail.next().await.expect("item").map(|_| ()), "tail_typed");

    let index: RedexIndex<u32, u64> =
        RedexIndex::open_typed(&numbers, IndexStart::FromBeginning, |seq, n: &u32| {
            Some(IndexOp::Insert(*n, seq))
        })
        .expect("index");
    match index.wait_for_seq(2).await {
        Err(RedexError::IndexStopped { seq, reason, .. }) => {
            assert_eq!(seq, bad);
            assert!(reason.contains("trailing bytes"), "{reason}");
        }
        other => panic!("expected the index to stop at {bad}, got {other:?}"),
    }
    assert!(matches!(index.status(), IndexStatus::Stopped { seq, .. } if seq == bad));
    assert_eq!(index.get(&7), vec![0]);
    assert!(index.get(&5).is_empty(), "the string's length was indexed as a number");
}

/// A follower that answers `Continue` to an error ending a tail chunk (a lag it shrugs off)
/// keeps following: `follow_log` reads history again from its next seq and subscribes anew,
/// instead of taking the end of that tail stream for the file's closing and telling the
/// follower `Closed` while the file is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_log_goes_on_after_an_error_its_follower_shrugs_off() {
    use redex::{follow_log, FollowStep, LogFollower, RedexEvent};

    struct Follower {
        file: RedexFile,
        seen: parking_lot::Mutex<Vec<u64>>,
        errors: parking_lot::Mutex<Vec<String>>,
        flooded: AtomicBool,
        flood_done: AtomicBool,
    }
    impl LogFollower for Follower {
        fn next_seq(&self) -> Option<u64> {
            Some(self.seen.lock().last().map_or(0, |s| s + 1))
        }
        fn apply(
            &self,
            items: impl IntoIterator<Item = redex::Result<RedexEvent>>,
            wake: bool,
        ) -> FollowStep {
            for item in items {
                match item {
                    Ok(ev) => {
                        let mut seen = self.seen.lock();
                        if seen.last().is_none_or(|&s| ev.seq == s + 1) {
                            seen.push(ev.seq);
                        } else if seen.last().is_some_and(|&s| ev.seq > s + 1) {
                            panic!("gap: {} after {:?}", ev.seq, seen.last());
                        }
                    }
                    Err(e) => {
                        self.errors.lock().push(e.to_string());
                        if matches!(e, RedexError::Closed { .. }) {
                            return FollowStep::Stop;
                        }
                    }
                }
            }
            // The first live chunk: outrun the tail's 4-event buffer before it is read again.
            if wake && !self.flooded.swap(true, Ordering::SeqCst) {
                for i in 0..64u32 {
                    self.file.append(&i.to_le_bytes()).expect("append");
                }
                self.flood_done.store(true, Ordering::SeqCst);
            }
            FollowStep::Continue
        }
        fn wake(&self) {}
        fn died(&self) {}
    }

    let redex = Redex::new();
    let cfg = redex::RedexFileConfig::default().with_tail_buffer_events(4);
    let f = redex.open_file(&name(), cfg).expect("open");
    f.append(b"first").expect("append");
    let follower = Arc::new(Follower {
        file: f.clone(),
        seen: parking_lot::Mutex::new(Vec::new()),
        errors: parking_lot::Mutex::new(Vec::new()),
        flooded: AtomicBool::new(false),
        flood_done: AtomicBool::new(false),
    });
    let task = {
        let (f, follower) = (f.clone(), Arc::clone(&follower));
        tokio::spawn(async move { follow_log(&f, &*follower, 16).await })
    };
    // Wait for the follower to reach the history, then give the tail a live entry to deliver.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while follower.next_seq() < Some(1) {
        assert!(std::time::Instant::now() < deadline, "the follower never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    f.append(b"live").expect("append");
    loop {
        let (done, next) = (follower.flood_done.load(Ordering::SeqCst), follower.next_seq());
        if done && next >= Some(f.next_seq()) {
            break;
        }
        // The live entry can still be read as history (the catch-up saw it before the
        // follower subscribed), and history never floods: give the tail another one.
        if !follower.flooded.load(Ordering::SeqCst) && next == Some(f.next_seq()) {
            f.append(b"live").expect("append");
        }
        let errors = follower.errors.lock().clone();
        assert!(
            !errors.iter().any(|e| e.contains("closed")),
            "told the file is closed while it is open: {errors:?}"
        );
        assert!(std::time::Instant::now() < deadline, "stuck at {next:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(follower.errors.lock().iter().any(|e| e.contains("lagged")), "no lag happened");
    assert!(!task.is_finished(), "the follower's task ended while the file is open");
    f.close().expect("close");
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("ends").expect("task");
}

/// `close` while tails are backfilling and following, async reads are running and a writer
/// appends: every tail delivers a contiguous run of the right bytes from its start, then
/// ends: cleanly once it has every entry appended before the close, or with `Closed` if the
/// close caught it backfilling. Payloads read before the close stay readable after it, and
/// after retention deleted their segments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_tails_and_reads_run_ends_them_without_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let cfg = redex::RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_open_segments_max(2)
        .with_retention(Retention::events(3000))
        .with_tail_buffer_events(1 << 16);
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..1500);
    let held = f.read_range(0, 1500).expect("read");
    let mut tails = Vec::new();
    for from in [0, 700, 1499, 1500, 1600] {
        let f = f.clone();
        tails.push((
            from,
            tokio::spawn(async move {
                let mut stream = Box::pin(f.tail(from));
                let mut next = from;
                loop {
                    match stream.next().await {
                        None => return (next, None),
                        Some(Err(e)) => return (next, Some(e)),
                        Some(Ok(ev)) => {
                            assert_eq!(ev.seq, next, "tail from {from}: gap or duplicate");
                            assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
                            next += 1;
                        }
                    }
                }
            }),
        ));
    }
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let f = f.clone();
            tokio::spawn(async move {
                let mut start = r * 100;
                loop {
                    match f.read_range_async(start, start + 300).await {
                        Ok(events) => {
                            for ev in &events {
                                assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
                            }
                            start = (start + 37) % 1400;
                        }
                        Err(RedexError::Closed { .. }) => return,
                        Err(e) => panic!("read: {e}"),
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writer = {
        let f = f.clone();
        std::thread::spawn(move || {
            let mut seq = 1500;
            loop {
                match f.append(&payload(seq)) {
                    Ok(got) => assert_eq!(got, seq),
                    Err(RedexError::Closed { .. }) => return seq,
                    Err(e) => panic!("append: {e}"),
                }
                seq += 1;
            }
        })
    };
    // Close once the writer has rolled several segments past the held ones (a fixed sleep let
    // a loaded machine close after a handful of appends, and retention then had nothing past
    // seq 1500 to keep: CI failure at 6f232d0, head 1496).
    let rolled = tokio::time::timeout(Duration::from_secs(20), async {
        while f.next_seq() < 2500 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    rolled.await.expect("the writer appends 1000 events within 20 s");
    f.close().expect("close");
    let end = writer.join().expect("writer");
    assert_eq!(end, f.next_seq());
    for (from, tail) in tails {
        let (reached, err) = tokio::time::timeout(Duration::from_secs(20), tail)
            .await
            .expect("the tail ends after close")
            .expect("tail task");
        match err {
            None => assert_eq!(reached, end.max(from), "tail from {from} ended early"),
            Some(RedexError::Closed { .. }) => assert!(reached < end, "tail from {from}"),
            Some(e) => panic!("tail from {from}: {e}"),
        }
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(20), reader).await.expect("ends").expect("ok");
    }
    // Reopen with a tight limit: retention deletes the segments the held payloads came from.
    drop(f);
    let cfg = redex::RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_retention(Retention::events(10));
    let g = redex.open_file(&name(), cfg).expect("reopen");
    assert!(g.head_seq() > 1500, "head {}", g.head_seq());
    assert!(g.segments().iter().all(|s| s.first_seq >= 1500), "{:?}", g.segments());
    for ev in &held {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "held seq {}", ev.seq);
    }
}

mod model {
    //! Random appends, retention, archival and reopens against a `Vec` model: every read,
    //! `get`, async read and tail returns the model's bytes from the retained head on, or
    //! `Evicted` naming the seq asked for and the head.

    use super::*;
    use proptest::prelude::*;
    use redex::RedexEvent;

    #[derive(Debug, Clone)]
    pub enum Op {
        /// A batch of payloads of these lengths.
        Append(Vec<u16>),
        /// Reads and a tail from `head + k - 3` (so below the head too).
        Probe(u16),
        /// Waits for archival and retention to settle.
        Settle,
        /// Closes the file and opens it again.
        Reopen,
    }

    pub fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => proptest::collection::vec(0u16..600, 1..6).prop_map(Op::Append),
            4 => (0u16..80).prop_map(Op::Probe),
            1 => Just(Op::Settle),
            1 => Just(Op::Reopen),
        ]
    }

    fn bytes(seq: u64, len: u16) -> Vec<u8> {
        (0..len).map(|i| (seq.wrapping_mul(131) as u16).wrapping_add(i * 7) as u8).collect()
    }

    fn check_events(what: &str, model: &[Vec<u8>], from: u64, got: &[RedexEvent]) {
        for (i, ev) in got.iter().enumerate() {
            assert_eq!(ev.seq, from + i as u64, "{what}: gap or duplicate");
            assert_eq!(ev.payload[..], model[ev.seq as usize][..], "{what}: seq {}", ev.seq);
        }
    }

    fn evicted(what: &str, err: &RedexError, seq: u64, head: u64) {
        match err {
            RedexError::Evicted { requested, head: h } if *requested == seq && *h == head => {}
            other => panic!("{what}: expected Evicted({seq}, head {head}), got {other:?}"),
        }
    }

    async fn probe(f: &RedexFile, model: &[Vec<u8>], k: u16) {
        let (head, next) = (f.head_seq(), f.next_seq());
        assert_eq!(next, model.len() as u64);
        let start = (head + u64::from(k)).saturating_sub(3);
        let end = start + u64::from(k % 17) * 9;
        let sync = f.read_range(start, end);
        let asynced = f.read_range_async(start, end).await;
        let batch = f.read_batch(start, end);
        let one = f.get(start);
        if start < head {
            evicted("read_range", sync.as_ref().unwrap_err(), start, head);
            evicted("read_range_async", asynced.as_ref().unwrap_err(), start, head);
            evicted("read_batch", batch.as_ref().unwrap_err(), start, head);
            evicted("get", one.as_ref().unwrap_err(), start, head);
        } else {
            let sync = sync.expect("read_range");
            assert_eq!(sync.len() as u64, end.min(next).saturating_sub(start));
            check_events("read_range", model, start, &sync);
            check_events("read_range_async", model, start, &asynced.expect("async"));
            check_events("read_batch", model, start, &batch.expect("read_batch").to_events());
            match one.expect("get") {
                Some(ev) => check_events("get", model, start, &[ev]),
                None => assert!(start >= next, "get({start}) is None below {next}"),
            }
        }
        // A tail from `start` delivers everything up to the end, or says Evicted at once.
        let mut tail = Box::pin(f.tail(start));
        if start < head {
            let first = tail.next().await.expect("an item");
            evicted("tail", first.as_ref().unwrap_err(), start, head);
            assert!(tail.next().await.is_none(), "the tail ends after its error");
            return;
        }
        let mut got = Vec::new();
        for _ in start..next {
            got.push(tail.next().await.expect("item").expect("tail"));
        }
        check_events("tail", model, start, &got);
    }

    /// Runs `ops` on a persistent file archiving to a directory store, or a heap-only one
    /// (where `Settle` applies retention and `Reopen` does nothing).
    pub fn run(ops: &[Op], persistent: bool) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalDirColdStore::new(dir.path().join("archive")).expect("store"));
        let limits = Retention::events(60).with_max_bytes(12_000);
        let heap_cfg =
            redex::RedexFileConfig::default().with_segment_events_max(7).with_retention(limits);
        let cfg = heap_cfg
            .clone()
            .with_persistent(true)
            .with_cold_store(store)
            .with_warm_retention(Retention::events(20));
        let open = || {
            if !persistent {
                let redex = Redex::new();
                let f = redex.open_file(&name(), heap_cfg.clone()).expect("open");
                return (redex, f);
            }
            let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
            let f = redex.open_file(&name(), cfg.clone()).expect("open");
            (redex, f)
        };
        let (mut redex, mut f) = open();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut head = 0;
        rt.block_on(async {
            for op in ops {
                match op {
                    Op::Append(lens) => {
                        let seq = model.len() as u64;
                        let batch: Vec<Vec<u8>> = lens
                            .iter()
                            .enumerate()
                            .map(|(i, &l)| bytes(seq + i as u64, l))
                            .collect();
                        assert_eq!(f.append_batch(&batch).expect("append"), Some(seq));
                        model.extend(batch);
                    }
                    Op::Probe(k) => probe(&f, &model, *k).await,
                    Op::Settle if !persistent => f.apply_retention().expect("retention"),
                    Op::Settle => settle(&f),
                    Op::Reopen if !persistent => {}
                    Op::Reopen => {
                        f.close().expect("close");
                        drop((f, redex));
                        (redex, f) = open();
                    }
                }
                let now = f.head_seq();
                assert!(now >= head, "the head went back from {head} to {now} after {op:?}");
                head = now;
            }
            probe(&f, &model, 3).await;
        });
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    #[test]
    fn reads_and_tails_match_a_vec_model(
        ops in proptest::collection::vec(model::op(), 1..45),
        persistent in proptest::prelude::any::<bool>(),
    ) {
        model::run(&ops, persistent);
    }
}

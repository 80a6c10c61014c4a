//! Goal: a `RedexIndex` ends up equal to a simple model of its log's insert/remove operations
//! whenever it was opened (before, during or after the writes), on heap and persistent files
//! whose history rolls into frozen segments (and into the cold tier); a tail that lags loses
//! nothing; `FromSeq` and `FromHead` start where they say; an evicted start, or eviction
//! overtaking the index, is an error (unless the index follows the head); projection errors
//! and panics obey the error policy; closing the file, or the index's runtime shutting down,
//! ends waits with an error instead of a hang; dropping the last handle stops the task; and
//! opening outside a runtime is an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use redex::{
    ChannelName, ColdStore, IndexErrorPolicy, IndexOp, IndexOptions, IndexStart, IndexStatus,
    LocalDirColdStore, ProjectionError, Redex, RedexError, RedexEvent, RedexFile, RedexFileConfig,
    RedexIndex, Retention, Tier, TypedRedexFile,
};
use tokio::runtime::{Builder, Runtime};

#[path = "common/cold.rs"]
mod cold;

type Index = RedexIndex<u8, u8>;
type Model = BTreeMap<u8, BTreeSet<u8>>;

fn name() -> ChannelName {
    ChannelName::new("index/log").expect("name")
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// An entry is `[kind, key, value]`: 0 inserts, 1 removes, 2 moves the value to the next key
/// (two operations); anything else is rejected by [`project`].
fn entry(kind: u8, key: u8, value: u8) -> [u8; 3] {
    [kind, key, value]
}

fn ops_of(payload: &[u8]) -> Option<Vec<IndexOp<u8, u8>>> {
    match *payload {
        [0, k, v] => Some(vec![IndexOp::Insert(k, v)]),
        [1, k, v] => Some(vec![IndexOp::Remove(k, v)]),
        [2, k, v] => Some(vec![IndexOp::Remove(k, v), IndexOp::Insert(k.wrapping_add(1), v)]),
        _ => None,
    }
}

fn project(ev: &RedexEvent) -> Result<Vec<IndexOp<u8, u8>>, ProjectionError> {
    ops_of(&ev.payload).ok_or_else(|| format!("bad entry {:?}", &ev.payload[..]).into())
}

fn apply_model(model: &mut Model, payload: &[u8]) {
    for op in ops_of(payload).unwrap_or_default() {
        match op {
            IndexOp::Insert(k, v) => {
                model.entry(k).or_default().insert(v);
            }
            IndexOp::Remove(k, v) => {
                if let Some(set) = model.get_mut(&k) {
                    set.remove(&v);
                    if set.is_empty() {
                        model.remove(&k);
                    }
                }
            }
        }
    }
}

fn model_of<'a>(payloads: impl IntoIterator<Item = &'a [u8]>) -> Model {
    let mut model = Model::new();
    for p in payloads {
        apply_model(&mut model, p);
    }
    model
}

/// The model of the file's entries `start..end`.
fn model_of_file(f: &RedexFile, start: u64, end: u64) -> Model {
    let events = f.read_range(start, end).expect("read");
    model_of(events.iter().map(|e| &e.payload[..]))
}

/// Asserts the index holds exactly `model`, through every read method.
fn assert_index_eq(index: &Index, model: &Model, what: &str) {
    let got: Model =
        index.range(..).into_iter().map(|(k, vs)| (k, vs.into_iter().collect())).collect();
    assert_eq!(&got, model, "{what}: contents");
    assert_eq!(index.keys(), model.keys().copied().collect::<Vec<_>>(), "{what}: keys");
    assert_eq!(index.len(), model.len(), "{what}: len");
    assert_eq!(index.is_empty(), model.is_empty(), "{what}: is_empty");
    let pairs: usize = model.values().map(BTreeSet::len).sum();
    assert_eq!(index.pair_count(), pairs, "{what}: pair_count");
    assert_eq!(index.stats().pairs, pairs, "{what}: stats().pairs");
    for k in 0..=u8::MAX {
        let want: Vec<u8> = model.get(&k).map(|s| s.iter().copied().collect()).unwrap_or_default();
        assert_eq!(index.get(&k), want, "{what}: get({k})");
        assert_eq!(index.contains_key(&k), !want.is_empty(), "{what}: contains_key({k})");
        for v in 0..8 {
            assert_eq!(index.contains(&k, &v), want.contains(&v), "{what}: contains({k}, {v})");
        }
    }
}

/// Waits (up to 30 s, yielding to the runtime) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The index reaches `next_seq` without calling `wait_for_seq` (which could apply entries
/// itself): only the task's progress counts.
async fn task_reaches(index: &Index, next_seq: u64) {
    eventually("the index task", || index.next_seq() >= next_seq).await;
}

fn heap_file(config: RedexFileConfig) -> RedexFile {
    Redex::new().open_file(&name(), config).expect("open heap file")
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Debug, Clone, Copy)]
enum OpenAt {
    Before,
    /// After this many of the batches.
    During(usize),
    After,
}

fn run_model_case(
    rt: &Runtime,
    dir: Option<&Path>,
    batches: &[Vec<(u8, u8, u8)>],
    open_at: OpenAt,
) {
    let _redex;
    let file = match dir {
        None => heap_file(RedexFileConfig::default().with_segment_events_max(5)),
        Some(dir) => {
            let redex = Redex::with_persistent_dir(dir).expect("dir");
            let cfg = RedexFileConfig::default().with_persistent(true).with_segment_events_max(5);
            let f = redex.open_file(&name(), cfg).expect("open");
            _redex = redex;
            f
        }
    };
    rt.block_on(async {
        let open = || Index::open(&file, IndexStart::FromBeginning, project).expect("open index");
        let mut index = matches!(open_at, OpenAt::Before).then(open);
        let mut model = Model::new();
        for (i, batch) in batches.iter().enumerate() {
            if matches!(open_at, OpenAt::During(n) if n == i) {
                index = Some(open());
            }
            let payloads: Vec<[u8; 3]> = batch.iter().map(|&(o, k, v)| entry(o, k, v)).collect();
            file.append_batch(&payloads).expect("append");
            payloads.iter().for_each(|p| apply_model(&mut model, p));
            if i % 3 == 0 {
                // Let the index task run between appends (on a current-thread runtime it
                // runs only here), so it switches from history to the tail mid-stream.
                tokio::task::yield_now().await;
            }
        }
        let index = index.unwrap_or_else(open);
        let last = file.next_seq() - 1;
        index.wait_for_seq(last).await.expect("wait");
        assert_eq!(index.indexed_through(), Some(last));
        assert_eq!(index.status(), IndexStatus::Running);
        assert_index_eq(&index, &model, &format!("{open_at:?}"));
        let stats = index.stats();
        assert_eq!(stats.applied_events, last + 1);
        assert_eq!((stats.skipped_events, stats.evicted_events), (0, 0));
    });
    // The history rolled over into frozen segments (warm once their background freeze is
    // done; `a_long_history_and_live_appends_match_the_model` checks warm reads for sure).
    assert!(file.segments().len() > 1 || file.next_seq() <= 5, "history rolled over");
}

fn batches() -> impl Strategy<Value = Vec<Vec<(u8, u8, u8)>>> {
    let op = (0u8..3, 0u8..6, 0u8..6);
    proptest::collection::vec(proptest::collection::vec(op, 1..5), 1..50)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn index_matches_a_model(
        batches in batches(),
        persistent in any::<bool>(),
        multi in any::<bool>(),
        when in 0u8..3,
        split in any::<prop::sample::Index>(),
    ) {
        let open_at = match when {
            0 => OpenAt::Before,
            1 => OpenAt::During(split.index(batches.len())),
            _ => OpenAt::After,
        };
        let rt = if multi { multi_thread() } else { current_thread() };
        let dir = tempfile::tempdir().expect("tempdir");
        run_model_case(&rt, persistent.then_some(dir.path()), &batches, open_at);
    }
}

/// Many entries through the task alone, with waits far behind (over the inline limit): the
/// long chunked catch-up path and the tail, on both file kinds.
#[test]
fn a_long_history_and_live_appends_match_the_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("dir");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_events_max(500);
    let disk = redex.open_file(&name(), cfg).expect("open");
    let heap = heap_file(RedexFileConfig::default().with_segment_events_max(500));
    let rt = multi_thread();
    for f in [heap, disk] {
        let payload = |i: u64| entry((i % 3) as u8, (i % 11) as u8, (i % 7) as u8);
        for chunk in (0..20_000u64).collect::<Vec<_>>().chunks(100) {
            f.append_batch(&chunk.iter().map(|&i| payload(i)).collect::<Vec<_>>()).expect("a");
        }
        rt.block_on(async {
            let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
            task_reaches(&index, 20_000).await;
            for i in 20_000..30_000u64 {
                f.append(&payload(i)).expect("append");
            }
            index.wait_for_seq(29_999).await.expect("wait");
            assert_index_eq(&index, &model_of_file(&f, 0, 30_000), "long history");
            assert_eq!(index.stats().applied_events, 30_000);
            if f.config().persistent() {
                assert!(f.segments().iter().any(|s| s.tier == Tier::Warm), "warm history");
            }
        });
    }
}

/// On a current-thread runtime the task cannot run while the test polls once: a wait that
/// completes in one poll was served by the waiter applying the entries itself, which it does
/// for a short gap of locally held entries and leaves to the task otherwise.
#[test]
fn a_waiter_applies_a_short_local_gap_itself() {
    use futures::FutureExt;
    let f = heap_file(RedexFileConfig::default());
    current_thread().block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        eventually("a tail subscriber", || f.stats().tail_subscribers == 1).await;
        let seq = f.append_batch(&[entry(0, 1, 1), entry(0, 2, 2)]).expect("append");
        let seq = seq.expect("a seq") + 1;
        assert_eq!(index.wait_for_seq(seq).now_or_never().map(|r| r.is_ok()), Some(true));
        assert_eq!(index.get(&2), vec![2]);
        // Over the inline limit: left to the task, so the first poll is pending.
        let batch: Vec<[u8; 3]> = (0..300).map(|i| entry(0, 3, (i % 200) as u8)).collect();
        f.append_batch(&batch).expect("append");
        let last = f.next_seq() - 1;
        assert!(index.wait_for_seq(last).now_or_never().is_none());
        index.wait_for_seq(last).await.expect("the task gets there");
        assert_index_eq(&index, &model_of_file(&f, 0, last + 1), "inline then task");
        // The task then skips what the waiter applied: every entry applied once.
        assert_eq!(index.stats().applied_events, last + 1);
    });
}

/// Waiters applying entries inline race the task applying the same entries from the tail;
/// each entry must be applied once, in order. Pairs are inserted and then removed, so an
/// insert applied again after its remove would show.
#[test]
fn waiters_and_the_task_apply_each_entry_once() {
    let f = heap_file(RedexFileConfig::default());
    let rt = multi_thread();
    rt.block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        let mut model = Model::new();
        for i in 0..4000u64 {
            let p = entry(((i / 3) % 2) as u8, (i % 3) as u8, ((i / 6) % 5) as u8);
            let seq = f.append(&p).expect("append");
            apply_model(&mut model, &p);
            if i % 2 == 0 {
                index.wait_for_seq(seq).await.expect("wait");
                assert_index_eq(&index, &model, &format!("after seq {seq}"));
            }
        }
        index.wait_for_seq(3999).await.expect("wait");
        assert_index_eq(&index, &model, "racing waiters");
        assert_eq!(index.stats().applied_events, 4000);
    });
}

// ---------------------------------------------------------------------------------------------
// Lag.

/// A one-entry tail buffer and a writer that appends hundreds of entries between the index
/// task's turns: the tail lags every time, and the index rereads instead of losing entries.
#[test]
fn a_lagging_tail_loses_nothing() {
    let f = heap_file(RedexFileConfig::default().with_tail_buffer_events(1));
    let rt = current_thread();
    rt.block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        let mut seq = 0u64;
        for round in 0..5u64 {
            // The task has caught up and subscribed to the tail.
            eventually("a tail subscriber", || f.stats().tail_subscribers == 1).await;
            // No await in here: on this runtime the task cannot run until the loop is done.
            for _ in 0..600 {
                f.append(&entry((seq % 3) as u8, (seq % 5) as u8, (seq % 4) as u8)).expect("a");
                seq += 1;
            }
            task_reaches(&index, seq).await;
            assert!(index.stats().tail_lags > round, "round {round}: the tail lagged");
        }
        assert_index_eq(&index, &model_of_file(&f, 0, seq), "after lags");
        assert_eq!(index.stats().applied_events, seq);
    });
}

/// The same with a writer on another thread, running flat out against a worker thread.
#[test]
fn a_concurrent_fast_writer_loses_nothing() {
    let f = heap_file(RedexFileConfig::default().with_tail_buffer_events(1));
    let rt = multi_thread();
    let index = rt.block_on(async { Index::open(&f, IndexStart::FromBeginning, project) });
    let index = index.expect("open");
    let writer = {
        let f = f.clone();
        std::thread::spawn(move || {
            // Inserts of distinct pairs: any lost entry shows in the contents.
            for i in 0..50_000u64 {
                f.append(&entry(0, (i % 256) as u8, (i / 256) as u8)).expect("append");
            }
        })
    };
    writer.join().expect("writer");
    rt.block_on(async {
        index.wait_for_seq(49_999).await.expect("wait");
        assert_index_eq(&index, &model_of_file(&f, 0, 50_000), "fast writer");
        assert_eq!(index.pair_count(), 50_000);
        assert_eq!(index.stats().applied_events, 50_000);
        eprintln!("tail lags: {}", index.stats().tail_lags);
    });
}

// ---------------------------------------------------------------------------------------------
// Starts.

#[test]
fn from_seq_indexes_from_that_seq_on() {
    let f = heap_file(RedexFileConfig::default());
    for i in 0..10u8 {
        f.append(&entry(0, i, i)).expect("append");
    }
    current_thread().block_on(async {
        let index = Index::open(&f, IndexStart::FromSeq(4), project).expect("open");
        assert_eq!(index.next_seq(), 4);
        assert_eq!(index.indexed_through(), Some(3), "below the start counts as accounted for");
        index.wait_for_seq(2).await.expect("below the start: at once");
        index.wait_for_seq(9).await.expect("wait");
        assert_index_eq(&index, &model_of_file(&f, 4, 10), "FromSeq(4)");

        // A start past the end waits for the log to get there.
        let ahead = Index::open(&f, IndexStart::FromSeq(15), project).expect("open ahead");
        for i in 10..20u8 {
            f.append(&entry(0, i, i)).expect("append");
        }
        ahead.wait_for_seq(19).await.expect("wait");
        assert_index_eq(&ahead, &model_of_file(&f, 15, 20), "FromSeq(15)");
    });
}

#[test]
fn an_evicted_start_is_an_error_unless_from_head() {
    let f = heap_file(
        RedexFileConfig::default().with_segment_events_max(4).with_retention(Retention::events(5)),
    );
    for i in 0..20u8 {
        f.append(&entry(0, i, i)).expect("append");
    }
    let head = f.head_seq();
    assert!(head > 3, "retention moved the head");
    current_thread().block_on(async {
        for start in [IndexStart::FromBeginning, IndexStart::FromSeq(3)] {
            match Index::open(&f, start, project) {
                Err(RedexError::Evicted { requested, head: h }) => {
                    assert_eq!(
                        (requested, h),
                        (if start == IndexStart::FromSeq(3) { 3 } else { 0 }, head)
                    );
                }
                other => panic!("{start:?}: expected Evicted, got {other:?}"),
            }
        }
        let index = Index::open(&f, IndexStart::FromHead, project).expect("from head");
        assert_eq!(index.next_seq(), head);
        index.wait_for_seq(19).await.expect("wait");
        assert_index_eq(&index, &model_of_file(&f, head, 20), "FromHead");
    });
}

/// Retention drops entries the index has not read yet: an index that must see everything
/// stops (with the reason), one that follows the head passes over them and counts them.
#[test]
fn eviction_overtaking_the_index_stops_it_unless_it_follows_the_head() {
    let cfg =
        RedexFileConfig::default().with_segment_events_max(4).with_retention(Retention::events(10));
    for start in [IndexStart::FromBeginning, IndexStart::FromHead] {
        let f = heap_file(cfg.clone());
        current_thread().block_on(async {
            let index = Index::open(&f, start, project).expect("open");
            // The task has not run yet (current-thread runtime, no await since the open).
            for i in 0..100u8 {
                f.append(&entry(0, i % 30, i)).expect("append");
            }
            let head = f.head_seq();
            assert!(head >= 90);
            let waited = index.wait_for_seq(99).await;
            if start == IndexStart::FromHead {
                waited.expect("passes over the evicted entries");
                assert_eq!(index.stats().evicted_events, head);
                assert_index_eq(&index, &model_of_file(&f, head, 100), "FromHead");
            } else {
                match waited {
                    Err(RedexError::IndexStopped { seq: 0, reason, channel }) => {
                        assert!(reason.contains("evicted"), "{reason}");
                        assert_eq!(channel, "index/log");
                    }
                    other => panic!("expected IndexStopped at 0, got {other:?}"),
                }
                assert!(matches!(index.status(), IndexStatus::Stopped { seq: 0, .. }));
                assert!(index.is_empty());
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Projection errors.

/// Ten good entries with a bad one at seq 5 and one at 7, then more good ones. `far`: wait
/// with more than the inline limit missing, so the task (not the waiter) meets the errors.
fn rejected_entries(policy: IndexErrorPolicy, far: bool, bad: &[u8]) {
    let f = heap_file(RedexFileConfig::default());
    let padding = if far { 1000 } else { 0 };
    for i in 0..padding {
        f.append(&entry(0, 200, (i % 200) as u8)).expect("append");
    }
    for i in 0..10u8 {
        if i == 5 || i == 7 {
            f.append(bad).expect("append");
        } else {
            f.append(&entry(0, i, i)).expect("append");
        }
    }
    let last = padding + 9;
    let first_bad = padding + 5;
    current_thread().block_on(async {
        let options = IndexOptions::new(IndexStart::FromBeginning).with_error_policy(policy);
        let index = Index::open(&f, options, |ev| {
            if ev.payload[..] == b"panic"[..] {
                panic!("projection panics on purpose");
            }
            project(ev)
        })
        .expect("open");
        let what = format!("{policy:?}, far {far}, bad {bad:?}");
        match policy {
            IndexErrorPolicy::Stop => {
                index.wait_for_seq(first_bad - 1).await.expect("before the bad entry");
                for seq in [first_bad, last, last + 10] {
                    match index.wait_for_seq(seq).await {
                        Err(RedexError::IndexStopped { seq: at, reason, .. }) => {
                            assert_eq!(at, first_bad, "{what}");
                            let expect = if bad == b"panic" { "panicked" } else { "bad entry" };
                            assert!(reason.contains(expect), "{what}: {reason}");
                        }
                        other => panic!("{what}: expected IndexStopped, got {other:?}"),
                    }
                }
                assert_index_eq(&index, &model_of_file(&f, 0, first_bad), &what);
                // Nothing after the stop is applied, even entries appended later.
                f.append(&entry(0, 99, 1)).expect("append");
                tokio::time::sleep(Duration::from_millis(20)).await;
                assert!(!index.contains_key(&99), "{what}");
                assert_eq!(index.next_seq(), first_bad);
            }
            IndexErrorPolicy::Skip => {
                index.wait_for_seq(last).await.expect("skips");
                // The model leaves the bad entries out as the index does.
                assert_index_eq(&index, &model_of_file(&f, 0, last + 1), &what);
                let stats = index.stats();
                assert_eq!(stats.skipped_events, 2, "{what}");
                assert_eq!(stats.applied_events, last + 1 - 2, "{what}");
            }
        }
    });
}

#[test]
fn a_rejected_entry_stops_the_index_under_stop() {
    for far in [false, true] {
        rejected_entries(IndexErrorPolicy::Stop, far, b"garbage");
        rejected_entries(IndexErrorPolicy::Stop, far, b"panic");
    }
}

#[test]
fn a_rejected_entry_is_skipped_under_skip() {
    for far in [false, true] {
        rejected_entries(IndexErrorPolicy::Skip, far, b"garbage");
        rejected_entries(IndexErrorPolicy::Skip, far, b"panic");
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Order {
    customer: String,
    amount: u32,
}

#[test]
fn a_typed_index_decodes_and_rejects_what_does_not_decode() {
    let file = heap_file(RedexFileConfig::default());
    let typed = TypedRedexFile::<Order>::new(file.clone());
    current_thread().block_on(async {
        let by_customer: RedexIndex<String, u64> =
            RedexIndex::open_typed(&typed, IndexStart::FromBeginning, |seq, o: &Order| {
                Some(IndexOp::Insert(o.customer.clone(), seq))
            })
            .expect("open");
        typed.append_typed(&Order { customer: "ada".into(), amount: 5 }).expect("append");
        typed.append_typed(&Order { customer: "bob".into(), amount: 7 }).expect("append");
        let seq = typed.append_typed(&Order { customer: "ada".into(), amount: 9 }).expect("a");
        by_customer.wait_for_seq(seq).await.expect("wait");
        assert_eq!(by_customer.get("ada"), vec![0, 2]);
        assert!(by_customer.contains("bob", &1) && by_customer.contains_key("bob"));
        assert_eq!(by_customer.range("b".to_owned()..), vec![("bob".to_owned(), vec![1])]);

        // A payload that is no `Order`: the default policy stops there.
        let bad = file.append(&[0xff; 3]).expect("raw append");
        match by_customer.wait_for_seq(bad).await {
            Err(RedexError::IndexStopped { seq, reason, .. }) => {
                assert_eq!(seq, bad);
                assert!(reason.contains("does not decode as"), "{reason}");
                assert!(reason.contains("Order"), "{reason}");
            }
            other => panic!("expected IndexStopped, got {other:?}"),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Ending.

#[test]
fn closing_the_file_ends_waits_with_an_error() {
    let f = heap_file(RedexFileConfig::default());
    let rt = multi_thread();
    rt.block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        for i in 0..3u8 {
            f.append(&entry(0, i, i)).expect("append");
        }
        index.wait_for_seq(2).await.expect("wait");
        // A waiter for an entry nobody appends, parked before the close.
        let waiter = {
            let index = index.clone();
            tokio::spawn(async move { index.wait_for_seq(10).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        f.close().expect("close");
        let ended = tokio::time::timeout(Duration::from_secs(10), waiter).await;
        let result = ended.expect("the wait ended").expect("task");
        assert!(matches!(result, Err(RedexError::Closed { .. })), "{result:?}");
        assert_eq!(index.status(), IndexStatus::Closed);
        index.wait_for_seq(1).await.expect("already indexed: still fine");
        assert!(matches!(index.wait_for_seq(3).await, Err(RedexError::Closed { .. })));
        // The index keeps what it had.
        assert_index_eq(
            &index,
            &model_of([&entry(0, 0, 0)[..], &entry(0, 1, 1), &entry(0, 2, 2)]),
            "closed",
        );
        assert!(matches!(
            Index::open(&f, IndexStart::FromBeginning, project),
            Err(RedexError::Closed { .. })
        ));
    });
}

/// Closed while the index is still reading history (its task has not run yet): the task's
/// read fails with `Closed`, which must end waits just as the end of the tail does.
#[test]
fn closing_the_file_during_catch_up_ends_waits_with_an_error() {
    let f = heap_file(RedexFileConfig::default());
    f.append_batch(&vec![entry(0, 1, 1); 1000]).expect("append");
    current_thread().block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        f.close().expect("close");
        let waited = tokio::time::timeout(Duration::from_secs(10), index.wait_for_seq(999)).await;
        assert!(matches!(waited.expect("did not hang"), Err(RedexError::Closed { .. })));
        assert_eq!(index.status(), IndexStatus::Closed);
    });
}

#[test]
fn dropping_the_last_handle_stops_the_task() {
    let f = heap_file(RedexFileConfig::default());
    let rt = multi_thread();
    rt.block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        let clone = index.clone();
        eventually("the task's tail subscription", || f.stats().tail_subscribers == 1).await;
        drop(index);
        // A clone keeps the task: it still follows the log.
        f.append(&entry(0, 1, 1)).expect("append");
        task_reaches(&clone, 1).await;
        assert_eq!(f.stats().tail_subscribers, 1);
        drop(clone);
        // The task is gone: its tail subscription was dropped with it.
        eventually("the task to stop", || f.stats().tail_subscribers == 0).await;
    });
}

#[test]
fn a_runtime_shutting_down_ends_waits_with_an_error() {
    let f = heap_file(RedexFileConfig::default());
    let first = multi_thread();
    let index = first.block_on(async {
        let index = Index::open(&f, IndexStart::FromBeginning, project).expect("open");
        eventually("the task's tail subscription", || f.stats().tail_subscribers == 1).await;
        index
    });
    first.shutdown_timeout(Duration::from_secs(5));
    f.append_batch(&vec![entry(0, 1, 1); 300]).expect("append");
    let result = current_thread().block_on(async {
        tokio::time::timeout(Duration::from_secs(10), index.wait_for_seq(299)).await
    });
    match result.expect("did not hang") {
        Err(RedexError::IndexStopped { reason, .. }) => {
            assert!(reason.contains("task"), "{reason}")
        }
        other => panic!("expected IndexStopped, got {other:?}"),
    }
}

#[test]
fn opening_outside_a_runtime_is_an_error() {
    let f = heap_file(RedexFileConfig::default());
    match Index::open(&f, IndexStart::FromBeginning, project) {
        Err(RedexError::NoRuntime { what }) => assert_eq!(what, "RedexIndex::open"),
        other => panic!("expected NoRuntime, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Cold history.

/// Entries of the cold-history tests.
const COLD_EVENTS: u64 = 1500;

/// Key: the payload's length mod 7; value: its first byte.
fn project_cold(ev: &RedexEvent) -> Result<Option<IndexOp<u8, u8>>, ProjectionError> {
    Ok(ev.payload.first().map(|&b| IndexOp::Insert((ev.payload.len() % 7) as u8, b)))
}

/// A log of `COLD_EVENTS` entries, most of them archived to `store`.
fn cold_history(dir: &Path, store: Arc<dyn ColdStore>) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(dir.join("db")).expect("dir");
    let f = redex.open_file(&name(), cold::cold_cfg_with(store, 100)).expect("open");
    cold::append_n(&f, 0..COLD_EVENTS);
    cold::settle(&f);
    assert!(f.segments().iter().any(|s| s.tier == Tier::Cold), "some history is cold");
    (redex, f)
}

/// Waits for the whole cold history and checks the index against `project_cold`'s model.
async fn assert_cold_history_indexed(index: &RedexIndex<u8, u8>) {
    index.wait_for_seq(COLD_EVENTS - 1).await.expect("wait");
    let mut model = Model::new();
    for seq in 0..COLD_EVENTS {
        let p = cold::payload(seq);
        if let Some(&b) = p.first() {
            model.entry((p.len() % 7) as u8).or_default().insert(b);
        }
    }
    let got: Model =
        index.range(..).into_iter().map(|(k, vs)| (k, vs.into_iter().collect())).collect();
    assert_eq!(got, model);
}

/// History archived to the cold tier is read back (awaited on the cold runtime) and indexed
/// like the rest.
#[test]
fn history_in_the_cold_tier_is_indexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(LocalDirColdStore::new(dir.path().join("archive")).expect("store"));
    let (_redex, f) = cold_history(dir.path(), store);
    multi_thread().block_on(async {
        let index = RedexIndex::open(&f, IndexStart::FromBeginning, project_cold).expect("open");
        assert_cold_history_indexed(&index).await;
    });
}

/// A cold store that is down while the index reads archived history does not stop the index:
/// the read is tried again (counted in `read_retries`) while the index waits at its seq, a
/// waiter waits, and once the store is back the index completes with nothing skipped.
#[test]
fn a_cold_store_outage_pauses_the_index_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = cold::FlakyStore::new(&dir.path().join("archive"));
    let (_redex, f) = cold_history(dir.path(), store.clone());
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    multi_thread().block_on(async {
        let index = RedexIndex::open(&f, IndexStart::FromBeginning, project_cold).expect("open");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while index.stats().read_retries < 2 {
            assert_eq!(index.status(), IndexStatus::Running, "the outage stopped the index");
            assert!(std::time::Instant::now() < deadline, "no retry: {:?}", index.stats());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(index.status(), IndexStatus::Running);
        assert_eq!(index.next_seq(), 0, "nothing read past the archived start");
        let early = tokio::time::timeout(Duration::from_millis(50), index.wait_for_seq(1));
        assert!(early.await.is_err(), "a waiter waits while the store is down");

        store.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_cold_history_indexed(&index).await;
        assert_eq!(index.status(), IndexStatus::Running);
    });
}

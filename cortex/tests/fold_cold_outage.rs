//! Goal: a fold replaying history archived in the cold tier rides out a store that stalls or
//! fails. `wait_for_seq` on an archived seq never fetches it on the caller's thread (a runtime
//! worker) while holding the state's write lock: it leaves it to the fold task, so while the
//! store is stalled readers still get the state and the waiter is simply pending. A store that
//! fails (down, unreachable) does not halt the fold: its reads are tried again, counted, while
//! the fold waits at its seq. Once the store answers, waits complete and the state is the fold
//! of every event, each applied once.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cortex::{CortexAdapter, CortexConfig, FoldStatus};
use redex::{
    Bytes, ChannelName, ColdKey, ColdStore, LocalDirColdStore, Redex, RedexFileConfig, Retention,
    Tier,
};
use redex_tiers::cold::{ColdFuture, ColdObjectInfo};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::watch;

const EVENTS: u64 = 2000;
/// The seq waited for: archived, and within one fold batch of the start, so the waiter would
/// fold it inline if it were held locally.
const WAITED: u64 = 3;
const BATCH: usize = 64;

#[path = "common/audit.rs"]
mod audit;
use audit::{Audit, Seen};

/// A local-directory store whose fetches wait for a gate the test opens, or fail while it is
/// `down`, and are counted.
#[derive(Debug)]
struct GatedStore {
    inner: LocalDirColdStore,
    open: watch::Sender<bool>,
    down: AtomicBool,
    fetches: AtomicU64,
}

impl GatedStore {
    fn new(root: &Path, open: bool) -> Arc<Self> {
        Arc::new(GatedStore {
            inner: LocalDirColdStore::new(root).unwrap(),
            open: watch::Sender::new(open),
            down: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        })
    }

    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl ColdStore for GatedStore {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        self.inner.archive_segment(key, parts)
    }
    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "store is down"));
            }
            let mut gate = self.open.subscribe();
            if gate.wait_for(|open| *open).await.is_err() {
                return Err(io::Error::other("gate dropped"));
            }
            self.inner.fetch_segment(key, range).await
        })
    }
    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        self.inner.list(channel)
    }
    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()> {
        self.inner.delete(key)
    }
    fn verify_by_read_back(&self) -> bool {
        self.inner.verify_by_read_back()
    }
    fn describe(&self, key: &ColdKey) -> String {
        self.inner.describe(key)
    }
}

fn file_cfg(store: Arc<GatedStore>) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_cold_store(store)
        .with_warm_retention(Retention::events(100))
}

fn runtime() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Polls `done` until it holds or `within` has passed; whether it held.
fn eventually(within: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

fn config(store: Arc<GatedStore>) -> CortexConfig {
    CortexConfig::default().with_file_config(file_cfg(store)).with_fold_batch_events(BATCH)
}

fn name() -> ChannelName {
    ChannelName::new("inline/cold").unwrap()
}

/// Writes `EVENTS` events to the log in `db` and lets archival move most of it (seq `WAITED`
/// included) to the cold tier in `archive`; the state their fold gives.
fn archived_log(db: &Path, archive: &Path) -> Seen {
    let rt = runtime();
    let _guard = rt.enter();
    let store = GatedStore::new(archive, true);
    let redex = Redex::with_persistent_dir(db).unwrap();
    let adapter = CortexAdapter::open(&redex, &name(), 5, Audit, config(store.clone())).unwrap();
    let body = [7u8; 300];
    for i in 0..EVENTS {
        assert_eq!(adapter.append((i % 7) as u8, i, &body).unwrap(), i);
    }
    rt.block_on(adapter.wait_for_seq(EVENTS - 1)).unwrap();
    let file = redex.open_file(&name(), file_cfg(store)).unwrap();
    assert!(
        eventually(Duration::from_secs(30), || {
            file.apply_retention().unwrap();
            file.stats().cold_tier.is_some_and(|c| c.pending_segments == 0)
        }),
        "archival did not settle: {:?}",
        file.stats()
    );
    let cold: Vec<_> = file.segments().into_iter().filter(|s| s.tier == Tier::Cold).collect();
    assert!(cold.len() > 3 && cold[0].first_seq == 0, "history went cold: {cold:?}");
    let state = std::mem::take(&mut *adapter.state().write());
    assert_eq!(state.seqs, (0..EVENTS).collect::<Vec<_>>());
    rt.block_on(adapter.close()).unwrap();
    state
}

#[test]
fn a_wait_on_archived_events_leaves_the_fetch_to_the_fold_task() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = (dir.path().join("db"), dir.path().join("archive"));
    let expected = archived_log(&db, &archive);

    // Reopen with the store stalled: the fold task starts replaying and waits on the fetch.
    let rt = runtime();
    let _guard = rt.enter();
    let store = GatedStore::new(&archive, false);
    let redex = Redex::with_persistent_dir(&db).unwrap();
    let adapter =
        Arc::new(CortexAdapter::open(&redex, &name(), 5, Audit, config(store.clone())).unwrap());
    assert_eq!(adapter.file().next_seq(), EVENTS);
    assert!(
        eventually(Duration::from_secs(10), || store.fetches() > 0),
        "the fold task never fetched"
    );
    assert_eq!(adapter.progress().next_seq, 0, "the fold applied events with the store stalled");
    let fetches_by_the_task = store.fetches();

    // A waiter on an archived seq one batch ahead of the fold, on a runtime worker.
    let watchers = adapter.active_watchers();
    let waiter = {
        let adapter = Arc::clone(&adapter);
        rt.spawn(async move { adapter.wait_for_seq(WAITED).await })
    };
    // It must get past the inline fold (folding nothing) and wait for the task: registered
    // as a watcher. Blocked in a cold fetch instead, it never registers and holds the lock.
    let pending = eventually(Duration::from_secs(3), || adapter.active_watchers() > watchers);
    // Give a waiter that went wrong time to misbehave (take the lock, start a fetch).
    std::thread::sleep(Duration::from_millis(50));
    let readable = adapter.state().try_read_for(Duration::from_secs(1)).map(|s| s.seqs.len());
    let fetches_while_waiting = store.fetches();
    let progress = adapter.progress().next_seq;
    let finished = waiter.is_finished();
    // Open the gate before asserting, so a failing run does not leave a worker blocked.
    store.open.send_replace(true);

    assert!(pending, "wait_for_seq({WAITED}) never got to waiting for the fold task");
    assert_eq!(readable, Some(0), "the state's lock was held while the store was stalled");
    assert_eq!(
        fetches_while_waiting, fetches_by_the_task,
        "wait_for_seq fetched archived events itself"
    );
    assert_eq!(progress, 0, "nothing can be folded while the store is stalled");
    assert!(!finished, "wait_for_seq({WAITED}) returned before its event was folded");

    // The store answers: the task replays everything, the waiter completes.
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), waiter).await.unwrap().unwrap().unwrap();
        adapter.wait_for_seq(EVENTS - 1).await.unwrap();
    });
    assert!(adapter.progress().next_seq > WAITED);
    assert_eq!(*adapter.state().read(), expected);
    assert!(store.fetches() > fetches_by_the_task, "the replay read the archive");
    rt.block_on(adapter.close()).unwrap();
}

#[test]
fn a_failing_store_pauses_the_fold_without_halting_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = (dir.path().join("db"), dir.path().join("archive"));
    let expected = archived_log(&db, &archive);

    // Reopen with the store down: the replay's fetches fail and are tried again.
    let rt = runtime();
    let _guard = rt.enter();
    let store = GatedStore::new(&archive, true);
    store.down.store(true, Ordering::SeqCst);
    let redex = Redex::with_persistent_dir(&db).unwrap();
    let adapter = CortexAdapter::open(&redex, &name(), 5, Audit, config(store.clone())).unwrap();
    let retried = eventually(Duration::from_secs(10), || {
        adapter.read_retries() >= 2 || adapter.progress().status != FoldStatus::Running
    });
    let (status, next_seq) = (adapter.progress().status, adapter.progress().next_seq);
    let metrics = cortex::metrics::render(&[adapter.fold_metrics("audit")]);
    let early =
        rt.block_on(tokio::time::timeout(Duration::from_millis(50), adapter.wait_for_seq(WAITED)));
    store.down.store(false, Ordering::SeqCst);

    assert!(retried, "the failing fetch was not tried again");
    assert_eq!(status, FoldStatus::Running, "the outage halted the fold");
    assert_eq!(next_seq, 0, "nothing can be folded while the store is down");
    assert!(early.is_err(), "wait_for_seq({WAITED}) returned while the store was down");
    assert!(metrics.contains("cortex_fold_read_retries_total{model=\"audit\"}"), "{metrics}");

    // The store is back: the same fold task replays everything.
    rt.block_on(adapter.wait_for_seq(EVENTS - 1)).unwrap();
    assert_eq!(*adapter.state().read(), expected);
    assert_eq!(adapter.progress().status, FoldStatus::Running);
    rt.block_on(adapter.close()).unwrap();
}

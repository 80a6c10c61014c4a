//! Helpers shared by the cold-tier tests.
#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::collections::BTreeSet;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redex::{
    Bytes, ChannelName, ColdKey, ColdStore, LocalDirColdStore, Redex, RedexEvent, RedexFile,
    RedexFileConfig, Retention, Tier,
};
use redex_tiers::cold::{ColdFuture, ColdObjectInfo};

/// Mixed sizes: inline (<= 8 B), small, and multi-KiB payloads, so segments roll often; the
/// bytes depend on `seq`, so a misplaced entry shows.
pub fn payload(seq: u64) -> Vec<u8> {
    let len = match seq % 7 {
        0 => 3,
        1..=4 => 20 + (seq % 90) as usize,
        5 => 700,
        _ => 2500,
    };
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

/// Waits (up to 30 s) until archival has nothing left to do.
pub fn settle(f: &RedexFile) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        f.apply_retention().expect("retention");
        if f.stats().cold_tier.is_some_and(|c| c.pending_segments == 0) {
            return;
        }
        assert!(Instant::now() < deadline, "archival did not settle: {:?}", f.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Appends `payload(seq)` for every seq of `range`, checking each lands at its seq.
pub fn append_n(f: &RedexFile, range: std::ops::Range<u64>) {
    for seq in range {
        assert_eq!(f.append(&payload(seq)).expect("append"), seq);
    }
}

/// A persistent log with 8 KiB segments archiving to a directory store at `store`, keeping
/// `warm_events` in the warm tier.
pub fn cold_cfg(store: &Path, warm_events: u64) -> RedexFileConfig {
    cold_cfg_with(Arc::new(LocalDirColdStore::new(store).expect("store")), warm_events)
}

/// [`cold_cfg`] archiving to `store`.
pub fn cold_cfg_with(store: Arc<dyn ColdStore>, warm_events: u64) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_cold_store(store)
        .with_warm_retention(Retention::events(warm_events))
}

/// Entries as comparable tuples.
pub fn plain(events: &[RedexEvent]) -> Vec<(u64, u64, &[u8])> {
    events.iter().map(|e| (e.seq, e.timestamp_ns, &e.payload[..])).collect()
}

/// The head and the end (and past it), each tier's first and last segment boundaries (so the
/// boundaries between tiers), one either side of each.
pub fn interesting_seqs(f: &RedexFile) -> Vec<u64> {
    let mut points = vec![0, f.head_seq(), f.next_seq(), f.next_seq() + 7];
    for tier in [Tier::Cold, Tier::Warm, Tier::Hot] {
        let segs: Vec<_> = f.segments().into_iter().filter(|s| s.tier == tier).collect();
        for s in segs.first().into_iter().chain(segs.last()) {
            points.extend([s.first_seq, s.next_seq]);
        }
    }
    let seqs: BTreeSet<u64> =
        points.into_iter().flat_map(|p| [p.saturating_sub(1), p, p + 1]).collect();
    seqs.into_iter().collect()
}

/// The model tests' payload of `len` bytes for position `seq`.
pub fn bytes_for(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq * 13 + i * 7) as u8).collect()
}

/// The configuration of [`tiered_log`] under `dir`: the whole log retained to 1500 entries (so
/// the oldest are evicted), 200 kept warm (so the next are archived to `dir/archive`).
pub fn tiered_cfg(dir: &Path) -> RedexFileConfig {
    cold_cfg(&dir.join("archive"), 200).with_retention(Retention::events(1500))
}

/// A persistent log `name` in `dir/db` holding every tier: 2000 entries of [`payload`] under
/// [`tiered_cfg`], archival settled. Returns the manager too, which must outlive the file.
pub fn tiered_log(dir: &Path, name: &ChannelName) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(dir.join("db")).expect("manager");
    let f = redex.open_file(name, tiered_cfg(dir)).expect("open");
    append_n(&f, 0..2000);
    settle(&f);
    let tiers: Vec<Tier> = f.segments().iter().map(|s| s.tier).collect();
    for tier in [Tier::Hot, Tier::Warm, Tier::Cold] {
        assert!(tiers.contains(&tier), "no {tier:?} segment: {tiers:?}");
    }
    (redex, f)
}

/// Runs once, at the next fetch (see [`FlakyStore::on_next_fetch`]).
pub type FetchHook = Box<dyn FnOnce() + Send>;

/// A store that can be switched off (every call fails as if unreachable), counts uploads, and
/// can run a hook at its next fetch.
pub struct FlakyStore {
    /// The directory store behind it.
    pub inner: LocalDirColdStore,
    /// Every call fails, as if the store were unreachable.
    pub down: AtomicBool,
    /// Fail read-backs only: the upload lands, then archival fails (a crash after upload).
    pub fail_read_back: AtomicBool,
    /// Uploads that reached the store.
    pub uploads: AtomicU64,
    /// Uploads wait while this is set (an upload slow enough for appends to race it).
    pub hold_uploads: AtomicBool,
    /// Uploads that started, held or not.
    pub uploads_started: AtomicU64,
    next_fetch: parking_lot::Mutex<Option<FetchHook>>,
}

impl std::fmt::Debug for FlakyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlakyStore").field("down", &self.down).finish_non_exhaustive()
    }
}

impl FlakyStore {
    pub fn new(root: &Path) -> Arc<Self> {
        Arc::new(FlakyStore {
            inner: LocalDirColdStore::new(root).expect("store"),
            down: AtomicBool::new(false),
            fail_read_back: AtomicBool::new(false),
            uploads: AtomicU64::new(0),
            hold_uploads: AtomicBool::new(false),
            uploads_started: AtomicU64::new(0),
            next_fetch: parking_lot::Mutex::new(None),
        })
    }

    /// At the next fetch, runs `hook` and then fails the fetch as if its object had just been
    /// deleted (what a fetch racing retention sees).
    pub fn on_next_fetch(&self, hook: impl FnOnce() + Send + 'static) {
        *self.next_fetch.lock() = Some(Box::new(hook));
    }

    fn check(&self) -> io::Result<()> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(io::Error::new(io::ErrorKind::ConnectionRefused, "store is down")),
            false => Ok(()),
        }
    }
}

impl ColdStore for FlakyStore {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        Box::pin(async move {
            self.uploads_started.fetch_add(1, Ordering::SeqCst);
            while self.hold_uploads.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            self.check()?;
            self.uploads.fetch_add(1, Ordering::SeqCst);
            self.inner.archive_segment(key, parts).await
        })
    }
    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        let hook = self.next_fetch.lock().take();
        Box::pin(async move {
            self.check()?;
            if let Some(hook) = hook {
                hook();
                return Err(io::Error::new(io::ErrorKind::NotFound, "object deleted"));
            }
            if range.is_none() && self.fail_read_back.load(Ordering::SeqCst) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "read-back timed out"));
            }
            self.inner.fetch_segment(key, range).await
        })
    }
    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        Box::pin(async move {
            self.check()?;
            self.inner.list(channel).await
        })
    }
    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.inner.delete(key).await
        })
    }
    fn describe(&self, key: &ColdKey) -> String {
        self.inner.describe(key)
    }
}

//! Goal: the cold tier's failure cases answer what actually happened: a damaged (short) object
//! is `Corrupt` naming it, not an I/O error a consumer would retry forever; a read whose
//! archived segment retention drops under its fetch is `Evicted`, not a missing object; a store
//! that does not serve ranged reads is never archived to, so nothing becomes unreadable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redex::{
    Bytes, ChannelName, ColdKey, ColdStore, LocalDirColdStore, Redex, RedexError, RedexFile,
    Retention, Tier,
};
use redex_tiers::cold::{ColdFuture, ColdObjectInfo};

#[path = "common/cold.rs"]
mod cold;
use cold::{append_n, cold_cfg, cold_cfg_with, settle, FlakyStore};

fn name() -> ChannelName {
    ChannelName::new("c/orders").expect("name")
}

fn cold_segments(f: &RedexFile) -> Vec<redex::SegmentInfo> {
    f.segments().into_iter().filter(|s| s.tier == Tier::Cold).collect()
}

/// The archived objects under `root`, in key order.
fn objects(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rxseg") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn assert_corrupt_naming(err: &RedexError, object: &Path) {
    let shown = err.to_string();
    assert!(matches!(err, RedexError::Corrupt { .. }), "not Corrupt: {err:?}");
    assert!(shown.contains(&object.display().to_string()), "{shown}");
    assert!(!redex::follow::is_transient(err), "a damaged object is not worth retrying: {err:?}");
}

/// Objects cut short (inside the header, inside the log section, to nothing) are damage:
/// every read path reports `Corrupt` naming the object, as `verify` does, instead of an I/O
/// error that `follow_log` (CortEX folds, `RedexIndex`) would retry for ever.
#[test]
fn a_short_object_is_corrupt_on_every_read_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, archive) = (dir.path().join("db"), dir.path().join("archive"));
    {
        let redex = Redex::with_persistent_dir(&db).expect("manager");
        let f = redex.open_file(&name(), cold_cfg(&archive, 100)).expect("open");
        append_n(&f, 0..1000);
        settle(&f);
        f.close().expect("close");
    }
    let paths = objects(&archive);
    assert!(paths.len() >= 3, "{paths:?}");
    let cut = |path: &Path, keep: fn(usize) -> usize| {
        let bytes = std::fs::read(path).expect("read");
        std::fs::write(path, &bytes[..keep(bytes.len())]).expect("write");
    };
    cut(&paths[0], |_| 50); // inside the header
    cut(&paths[1], |len| len - 100); // inside the log section
    cut(&paths[2], |_| 0); // empty

    let redex = Redex::with_persistent_dir(&db).expect("manager");
    let f = redex.open_file(&name(), cold_cfg(&archive, 100)).expect("reopen");
    let segs = cold_segments(&f);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    for (seg, path) in segs.iter().zip(&paths[..3]) {
        let last = seg.next_seq - 1;
        assert_corrupt_naming(&f.read_range(seg.first_seq, seg.next_seq).expect_err("read"), path);
        assert_corrupt_naming(&f.get(last).expect_err("get"), path);
        let err = rt.block_on(f.read_range_async(seg.first_seq, seg.next_seq)).expect_err("async");
        assert_corrupt_naming(&err, path);
        let err = rt.block_on(f.read_cold(last, seg.next_seq)).expect_err("read_cold");
        assert_corrupt_naming(&err, path);
    }
    // The next segment still reads.
    let ok = f.read_range(segs[3].first_seq, segs[3].next_seq).expect("intact object");
    assert_eq!(ok.len() as u64, segs[3].next_seq - segs[3].first_seq);
}

/// Every read path, racing retention: at the fetch of the first archived segment the writer
/// moves on far enough for retention to drop that segment and delete its object, so the fetch
/// finds nothing. The read was of entries that are evicted by now: `Evicted`, not an I/O error
/// saying an object the manifest needs is missing (which would mean lost data).
#[test]
fn a_read_whose_segment_retention_drops_under_its_fetch_is_evicted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FlakyStore::new(&dir.path().join("archive"));
    let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
    let cfg = cold_cfg_with(store.clone(), 50).with_retention(Retention::events(1500));
    let f = redex.open_file(&name(), cfg).expect("open");
    append_n(&f, 0..1500);
    settle(&f);
    assert!(cold_segments(&f).len() > 4, "{:?}", f.segments());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let mut next = 1500;
    for path in ["read_range", "get", "read_range_async", "read_cold"] {
        // No archival in flight: its read-back is a fetch too, and would take the hook.
        settle(&f);
        let head = f.head_seq();
        assert!(cold_segments(&f).first().is_some_and(|s| s.first_seq == head), "{path}");
        let (writer, from) = (f.clone(), next);
        store.on_next_fetch(move || append_n(&writer, from..from + 500));
        next += 500;
        let err = match path {
            "read_range" => f.read_range(head, head + 5).map(drop),
            "get" => f.get(head).map(drop),
            "read_range_async" => rt.block_on(f.read_range_async(head, head + 5)).map(drop),
            _ => rt.block_on(f.read_cold(head, head + 5)).map(drop),
        }
        .expect_err(path);
        assert!(f.head_seq() > head, "{path}: retention did not move the head");
        assert!(
            matches!(err, RedexError::Evicted { requested, .. } if requested == head),
            "{path}: {err:?}"
        );
    }
}

/// A store that ignores ranges: every fetch returns the whole object (what a server or proxy
/// that ignores `Range` sends, with a 200).
#[derive(Debug)]
struct NoRanges {
    inner: LocalDirColdStore,
    read_back: bool,
}

impl ColdStore for NoRanges {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        self.inner.archive_segment(key, parts)
    }
    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        _: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        self.inner.fetch_segment(key, None)
    }
    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        self.inner.list(channel)
    }
    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()> {
        self.inner.delete(key)
    }
    fn verify_by_read_back(&self) -> bool {
        self.read_back
    }
    fn describe(&self, key: &ColdKey) -> String {
        self.inner.describe(key)
    }
}

/// Archival checks that the store serves the ranged reads cold reads make: one that answers
/// with the whole object fails archival (the segments stay warm and readable, the failure is
/// in the stats), where it used to be archived to and every read of it then failed.
#[test]
fn a_store_that_ignores_ranges_is_never_archived_to() {
    for read_back in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = LocalDirColdStore::new(dir.path().join("archive")).expect("store");
        let store: Arc<dyn ColdStore> = Arc::new(NoRanges { inner, read_back });
        let redex = Redex::with_persistent_dir(dir.path().join("db")).expect("manager");
        let f = redex.open_file(&name(), cold_cfg_with(store, 100)).expect("open");
        append_n(&f, 0..600);
        f.apply_retention().expect("retention");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        // Until archival fails, or (without the check) archives a segment.
        while f.stats().cold_tier.is_some_and(|c| c.archive_failures == 0)
            && cold_segments(&f).is_empty()
        {
            assert!(std::time::Instant::now() < deadline, "no attempt: {:?}", f.stats());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let cold = f.stats().cold_tier.expect("stats");
        let error = cold.last_error.clone().unwrap_or_default();
        assert!(error.contains("ranged read"), "read_back {read_back}: {cold:?}");
        assert!(cold_segments(&f).is_empty(), "read_back {read_back}: {:?}", f.segments());
        let all = f.read_range(0, f.next_seq()).expect("everything reads");
        assert_eq!(all.len(), 600);
        assert!(all.iter().all(|e| e.payload == cold::payload(e.seq)));
        f.close().expect("close");
    }
}

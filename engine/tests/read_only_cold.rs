//! Goal: a read-only open (`Redex::open_read_only`) of a directory with archived history,
//! given the cold store, reads and verifies that history and changes nothing, in the directory
//! or in the store: no upload (segments past its warm window stay warm), no object deleted (not
//! the orphan below the head that a writer's open sweeps, not the archived segments its
//! retention drops), no manifest record, no local file deleted (not the leftover local copy of
//! an archived segment that a writer's open deletes).

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redex::{
    ChannelName, ColdKey, ColdStore, LocalDirColdStore, Redex, RedexError, RedexFile, Retention,
    Tier,
};

#[path = "common/snapshot.rs"]
mod snapshot;
use snapshot::{changed, snapshot};

#[path = "common/cold.rs"]
mod cold;
use cold::{cold_cfg_with, payload, tiered_log};

fn now_ns() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    u64::try_from(since_epoch.as_nanos()).expect("time fits")
}

/// Reads `f.head_seq()..f.next_seq()` three ways and checks every entry's payload.
fn read_all(f: &RedexFile) {
    let (head, next) = (f.head_seq(), f.next_seq());
    let events = f.read_range(head, next).expect("read_range");
    assert_eq!(events.len() as u64, next - head);
    for e in &events {
        assert_eq!(&e.payload[..], &payload(e.seq)[..], "seq {}", e.seq);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let async_read = rt.block_on(f.read_range_async(head, next)).expect("read_range_async");
    assert_eq!(async_read.len(), events.len());
    let cold = rt.block_on(f.read_cold(head, next)).expect("read_cold");
    assert!(cold.iter().zip(&events).all(|(c, e)| c.seq == e.seq && c.payload == e.payload));
    for seq in [head, next.saturating_sub(1)].into_iter().filter(|&s| s >= head && s < next) {
        assert_eq!(f.get(seq).expect("get").map(|e| e.seq), Some(seq));
    }
}

#[test]
fn read_only_open_with_a_cold_store_only_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("c/orders").expect("name");
    let (db, archive) = (dir.path().join("db"), dir.path().join("archive"));
    // Every tier, the oldest entries dropped by retention (objects deleted), archival settled.
    let (head, next, cold, first_ts, last_ts) = {
        let (redex, f) = tiered_log(dir.path(), &name);
        let segments = f.segments();
        let cold: Vec<u64> =
            segments.iter().filter(|s| s.tier == Tier::Cold).map(|s| s.first_seq).collect();
        let first_ts = f.get(f.head_seq()).expect("get").expect("head entry").timestamp_ns;
        let last_ts = segments.iter().rev().find_map(|s| s.max_ts_ns).expect("last timestamp");
        let out = (f.head_seq(), f.next_seq(), cold, first_ts, last_ts);
        f.close().expect("close");
        redex.close().expect("close manager");
        out
    };
    assert!(head > 0 && cold.len() >= 2, "head {head}, cold {cold:?}");
    let store = Arc::new(LocalDirColdStore::new(&archive).expect("store"));
    // An orphan object below the head (a writer died between dropping a cold segment and
    // deleting its object): a writer's open sweeps it.
    let orphan = PathBuf::from(store.describe(&ColdKey::new(name.as_str(), 0)));
    fs::write(&orphan, b"an orphaned object below the head").expect("orphan");
    // A local copy of an archived segment left by a crash before its deletion: a writer's
    // open deletes it.
    let seg_dir = db.join("channels/c/orders/.redex");
    for ext in ["log", "idx"] {
        fs::write(seg_dir.join(format!("{:020}.{ext}", cold[0])), [0xa5; 100]).expect("leftover");
    }
    let before = (snapshot(&db), snapshot(&archive));

    // The writer's limits: the same entries, every one readable, every archived segment
    // fetched and checked.
    {
        let ro = Redex::open_read_only(&db).expect("open read-only");
        let cfg = cold_cfg_with(Arc::clone(&store) as Arc<dyn ColdStore>, 200)
            .with_retention(Retention::events(1500));
        let f = ro.open_file(&name, cfg).expect("open channel");
        assert_eq!((f.head_seq(), f.next_seq()), (head, next));
        read_all(&f);
        let report = f.verify_each(|_, _| {});
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.cold_segments, cold.len() as u64);
        assert_eq!(report.cold_segments_skipped, 0);
        f.verify().expect("verify");
        f.apply_retention().expect("apply_retention");
        assert!(matches!(f.append(b"x"), Err(RedexError::ReadOnly { .. })));
        f.close().expect("close");
    }

    // Tighter limits than the writer's: a one-entry warm window (more segments to archive),
    // and an age limit that keeps every entry at open but covers them all about a second
    // later, while the file is open, so `apply_retention` has archived segments to drop (and
    // objects to delete). Read-only, it moves the head in memory only.
    {
        let ro = Redex::open_read_only(&db).expect("open read-only");
        let age = Duration::from_nanos(now_ns() - first_ts) + Duration::from_secs(1);
        let cfg = cold_cfg_with(Arc::clone(&store) as Arc<dyn ColdStore>, 1)
            .with_retention(Retention::age(age));
        let f = ro.open_file(&name, cfg).expect("open channel");
        assert_eq!(f.head_seq(), head, "the age limit dropped nothing at open");
        read_all(&f);
        while now_ns().saturating_sub(age.as_nanos() as u64) <= last_ts {
            std::thread::sleep(Duration::from_millis(20));
        }
        f.apply_retention().expect("apply_retention");
        assert_eq!(f.head_seq(), next, "the age limit covers every entry now");
        read_all(&f);
        f.verify().expect("verify");
        let stats = f.stats().cold_tier.expect("cold stats");
        assert_eq!((stats.archived_segments, stats.objects_deleted), (0, 0), "{stats:?}");
        // Give any background store call time to land before the comparison below.
        std::thread::sleep(Duration::from_millis(300));
        drop(f);
        drop(ro);
    }
    std::thread::sleep(Duration::from_millis(100));

    let after = (snapshot(&db), snapshot(&archive));
    assert!(orphan.exists());
    assert_eq!(changed(&before.0, &after.0), Vec::<PathBuf>::new(), "database directory changed");
    assert_eq!(changed(&before.1, &after.1), Vec::<PathBuf>::new(), "cold store changed");
}

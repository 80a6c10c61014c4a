//! Goal: the manifest makes frozen segments trusted without opening them, and every crash
//! point of a freeze or a retention drop reopens to a valid log: a torn manifest record, a
//! frozen segment the manifest never recorded, a drop recorded but files not yet deleted, a
//! leftover temporary file. A damaged frozen segment is reported (naming its file) when it is
//! read or verified, while the rest of the log stays readable.

use std::fs;
use std::path::{Path, PathBuf};

use redex::{ChannelName, Redex, RedexError, RedexFile, RedexFileConfig, Retention};

const RECORD_LEN: u64 = 64;
const HEADER_LEN: u64 = 32;

fn name() -> ChannelName {
    ChannelName::new("w/m").expect("name")
}

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096)
}

fn payload(seq: u64) -> Vec<u8> {
    (0..(seq % 200) as usize).map(|i| (seq as usize + i) as u8).collect()
}

fn seg_dir(base: &Path) -> PathBuf {
    base.join("channels/w/m/.redex")
}

fn populate(n: u64, cfg: RedexFileConfig) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("open");
    for seq in 0..n {
        f.append(&payload(seq)).expect("append");
    }
    f.close().expect("close");
    dir
}

fn open(base: &Path, cfg: RedexFileConfig) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(base).expect("manager");
    let f = redex.open_file(&name(), cfg).expect("reopen");
    (redex, f)
}

fn check_all(f: &RedexFile) {
    for ev in f.read_range(f.head_seq(), f.next_seq()).expect("read") {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
    }
    f.verify().expect("verify");
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn torn_manifest_record_reregisters_the_segment() {
    let dir = populate(300, cfg());
    let manifest = seg_dir(dir.path()).join("manifest");
    let bytes = fs::read(&manifest).expect("manifest");
    assert!(bytes.len() as u64 >= HEADER_LEN + 2 * RECORD_LEN, "several frozen segments");
    for cut in (bytes.len() as u64 - RECORD_LEN)..bytes.len() as u64 {
        fs::write(&manifest, &bytes[..cut as usize]).expect("cut manifest");
        let (_r, f) = open(dir.path(), cfg());
        assert_eq!(f.next_seq(), 300, "cut at {cut}");
        check_all(&f);
        f.close().expect("close");
        drop((_r, f));
        assert_eq!(fs::read(&manifest).expect("manifest").len(), bytes.len(), "re-recorded");
    }
}

/// A damaged record with intact ones after it is damage, not a torn append: read as a torn
/// tail, the writer's reopen truncated the manifest there and forgot every later record (the
/// drops and archival marks among them). It is now refused, naming the manifest and the
/// record's offset, and the manifest is left as it was for repair.
#[test]
fn damaged_middle_manifest_record_is_refused_and_left_in_place() {
    let dir = populate(300, cfg().with_retention(Retention::events(200)));
    let manifest = seg_dir(dir.path()).join("manifest");
    let bytes = fs::read(&manifest).expect("manifest");
    assert!(bytes.len() as u64 >= HEADER_LEN + 3 * RECORD_LEN, "several records");
    let second = HEADER_LEN + RECORD_LEN;
    let mut bad = bytes.clone();
    bad[second as usize + 20] ^= 0x40;
    fs::write(&manifest, &bad).expect("damage the manifest");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    match redex.open_file(&name(), cfg()) {
        Err(RedexError::Corrupt { path, offset, reason }) => {
            assert_eq!((path, offset), (manifest.clone(), second), "{reason}");
        }
        other => panic!("expected the damaged record to be reported, got {other:?}"),
    }
    assert_eq!(fs::read(&manifest).expect("manifest"), bad, "the manifest was changed");
    let view = Redex::open_read_only(dir.path()).expect("read-only manager");
    assert!(matches!(view.open_file(&name(), cfg()), Err(RedexError::Corrupt { .. })));
}

#[test]
fn lost_manifest_is_rebuilt_from_the_frozen_segments() {
    let dir = populate(300, cfg());
    fs::remove_file(seg_dir(dir.path()).join("manifest")).expect("remove manifest");
    let (_r, f) = open(dir.path(), cfg());
    assert_eq!(f.next_seq(), 300);
    check_all(&f);
}

#[test]
fn leftover_temporary_files_are_removed() {
    let dir = populate(300, cfg());
    let seg = seg_dir(dir.path());
    let idx = files(&seg, "idx").pop().expect("frozen");
    fs::write(seg.join("manifest.tmp"), b"partial").expect("tmp");
    fs::write(idx.with_extension("idx.tmp"), b"partial").expect("tmp");
    let (_r, f) = open(dir.path(), cfg());
    check_all(&f);
    assert!(!seg.join("manifest.tmp").exists());
    assert!(!idx.with_extension("idx.tmp").exists());
}

#[test]
fn recorded_drop_with_files_left_behind_is_finished_on_reopen() {
    let dir = populate(300, cfg());
    let seg = seg_dir(dir.path());
    let logs_before = files(&seg, "log");
    // Retention drops whole segments: keep them around as if the process died right after the
    // manifest recorded the drop.
    let saved: Vec<(PathBuf, Vec<u8>)> = files(&seg, "log")
        .into_iter()
        .chain(files(&seg, "idx"))
        .map(|p| {
            let b = fs::read(&p).expect("read");
            (p, b)
        })
        .collect();
    {
        let retained = cfg().with_retention(Retention::events(50));
        let (_r, f) = open(dir.path(), retained);
        assert_eq!(f.head_seq(), 250);
        f.close().expect("close");
    }
    let logs_after = files(&seg, "log");
    assert!(logs_after.len() < logs_before.len(), "retention deleted segments");
    for (p, b) in &saved {
        if !p.exists() {
            fs::write(p, b).expect("put back");
        }
    }
    let (_r, f) = open(dir.path(), cfg());
    assert_eq!(files(&seg, "log"), logs_after, "dropped segments deleted on reopen");
    check_all(&f);
}

#[test]
fn damaged_frozen_segment_is_reported_on_read_and_verify_while_the_rest_reads() {
    let dir = populate(300, cfg());
    let seg = seg_dir(dir.path());
    let logs = files(&seg, "log");
    let victim = logs[1].clone();
    let mut bytes = fs::read(&victim).expect("read");
    let at = bytes.len() - 3;
    bytes[at] ^= 0x40;
    fs::write(&victim, &bytes).expect("damage");
    let (_r, f) = open(dir.path(), cfg());
    assert_eq!(f.next_seq(), 300, "open does not read frozen segments");
    // Segments other than the damaged one read fine.
    let first = f.read_range(0, 5).expect("first segment");
    assert_eq!(first[4].payload[..], payload(4)[..]);
    let last = f.next_seq() - 1;
    assert_eq!(f.get(last).expect("get").expect("present").payload[..], payload(last)[..]);
    // Reading the damaged entry names the segment.
    let err = f.read_range(0, 300).expect_err("damage is reported");
    match &err {
        RedexError::Corrupt { path, reason, .. } => {
            assert!(path.starts_with(&seg), "{err}");
            assert!(reason.contains(&victim.display().to_string()) || *path == victim, "{err}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(f.verify(), Err(RedexError::Corrupt { .. })));
}

#[test]
fn verify_each_lists_every_damaged_segment_and_segments_describes_tiers() {
    let dir = populate(300, cfg());
    let seg = seg_dir(dir.path());
    let logs = files(&seg, "log");
    for victim in [&logs[0], &logs[2]] {
        let mut bytes = fs::read(victim).expect("read");
        let at = bytes.len() - 2;
        bytes[at] ^= 0x08;
        fs::write(victim, &bytes).expect("damage");
    }
    let (_r, f) = open(dir.path(), cfg());
    let mut calls = 0;
    let report = f.verify_each(|done, total| {
        calls += 1;
        assert!(done <= total);
    });
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(calls >= 3);
    let infos = f.segments();
    assert_eq!(infos.first().map(|s| s.first_seq), Some(0));
    assert_eq!(infos.last().map(|s| s.next_seq), Some(300));
    assert!(infos.windows(2).all(|w| w[0].next_seq == w[1].first_seq));
    assert_eq!(infos.last().map(|s| s.tier), Some(redex::Tier::Hot));
    assert!(infos.iter().any(|s| s.tier == redex::Tier::Warm));
}

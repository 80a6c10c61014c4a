//! Goal: files from a newer format version are refused with `RedexError::UnsupportedVersion`
//! naming the file (active log, sealed log, index), and files that are not RedEX files at all
//! but carry a segment's name are `RedexError::Corrupt` naming the file; never a panic, never a
//! silent repair that destroys data. Refusing is non-destructive: once the file is put back,
//! the channel opens with all its entries.

use std::fs;
use std::path::{Path, PathBuf};

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};

const VERSION_AT: usize = 8;

fn name() -> ChannelName {
    ChannelName::new("fmt/v").expect("valid channel name")
}

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096)
}

fn seg_dir(base: &Path) -> PathBuf {
    base.join("channels/fmt/v/.redex")
}

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 37 % 301) as usize;
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

/// A channel with `n` entries, closed. With 4 KiB segments, 100 entries make several frozen
/// segments.
fn populate(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex.open_file(&name(), cfg()).expect("open");
    for seq in 0..n {
        assert_eq!(f.append(&payload(seq)).expect("append"), seq);
    }
    f.close().expect("close");
    dir
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

/// Opens the channel and reads every entry. Frozen segments are mapped on first read, so
/// damage in one is reported by the open (if the manifest, the listing or the unfrozen logs
/// show it) or else by the first read that needs the segment; either way it names the file.
fn open(base: &Path) -> redex::Result<redex::RedexFile> {
    let redex = Redex::with_persistent_dir(base)?;
    let f = redex.open_file(&name(), cfg())?;
    f.read_range(f.head_seq(), f.next_seq())?;
    Ok(f)
}

fn assert_all(base: &Path, n: u64) {
    let f = open(base).expect("reopen after the file was put back");
    assert_eq!(f.next_seq(), n);
    for ev in f.read_range(0, n).expect("read") {
        assert!(ev.payload[..] == payload(ev.seq)[..], "entry {} differs", ev.seq);
    }
}

/// Writes `version` into the header of `path`, returning the original bytes.
fn bump_version(path: &Path, version: u32) -> Vec<u8> {
    let original = fs::read(path).expect("read");
    let mut bumped = original.clone();
    bumped[VERSION_AT..VERSION_AT + 4].copy_from_slice(&version.to_le_bytes());
    fs::write(path, &bumped).expect("write");
    original
}

/// Bumps the version of `path`, checks the open is refused naming it, restores it and checks
/// that nothing was lost.
/// The file's current version is `current`: the next one, 0 and the largest are refused.
fn refused_then_restored(base: &Path, path: &Path, n: u64, what: &str, current: u32) {
    for version in [current + 1, 0, u32::MAX] {
        let original = bump_version(path, version);
        match open(base) {
            Err(RedexError::UnsupportedVersion { path: p, found, supported, .. }) => {
                assert_eq!(p, path, "{what}: the error names another file");
                assert_eq!(found, version, "{what}");
                assert_eq!(supported, current, "{what}");
            }
            other => panic!("{what} version {version}: expected UnsupportedVersion, got {other:?}"),
        }
        fs::write(path, &original).expect("restore");
        assert_all(base, n);
    }
}

#[test]
fn newer_active_log_is_refused() {
    let dir = populate(100);
    let logs = files(&seg_dir(dir.path()), "log");
    let active = logs.last().expect("active log");
    assert!(fs::metadata(active).expect("stat").len() > 32, "active log has frames");
    refused_then_restored(dir.path(), active, 100, "active log", 1);
}

#[test]
fn newer_header_only_log_is_refused_not_recreated() {
    // A log that is nothing but its header looks like a torn creation unless the version is
    // read first: it must be refused, not silently replaced.
    let dir = populate(0);
    let logs = files(&seg_dir(dir.path()), "log");
    assert_eq!(logs.len(), 1);
    assert_eq!(fs::metadata(&logs[0]).expect("stat").len(), 32);
    refused_then_restored(dir.path(), &logs[0], 0, "header-only log", 1);
}

#[test]
fn newer_sealed_log_is_refused() {
    let dir = populate(100);
    let idxs = files(&seg_dir(dir.path()), "idx");
    assert!(idxs.len() >= 2, "want frozen segments");
    let sealed = idxs[1].with_extension("log");
    refused_then_restored(dir.path(), &sealed, 100, "sealed log", 1);
}

#[test]
fn newer_index_is_refused() {
    let dir = populate(100);
    let idxs = files(&seg_dir(dir.path()), "idx");
    assert!(idxs.len() >= 2, "want frozen segments");
    refused_then_restored(dir.path(), &idxs[0], 100, "first index", 1);
    refused_then_restored(dir.path(), &idxs[idxs.len() - 1], 100, "last index", 1);
}

#[test]
fn newer_log_without_index_is_refused() {
    // A frozen segment whose freeze never reached the manifest (no index, no record) is
    // replayed on reopen: its log's version still counts.
    let dir = populate(100);
    let seg = seg_dir(dir.path());
    let idxs = files(&seg, "idx");
    let idx = idxs.last().expect("a frozen segment");
    let idx_bytes = fs::read(idx).expect("read idx");
    fs::remove_file(idx).expect("remove idx");
    let manifest = seg.join("manifest");
    let manifest_bytes = fs::read(&manifest).expect("read manifest");
    fs::write(&manifest, &manifest_bytes[..manifest_bytes.len() - 64]).expect("drop last record");
    let log = idx.with_extension("log");
    let original = bump_version(&log, 2);
    match open(dir.path()) {
        Err(RedexError::UnsupportedVersion { path, found: 2, .. }) => assert_eq!(path, log),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    fs::write(&log, &original).expect("restore log");
    fs::write(idx, &idx_bytes).expect("restore idx");
    fs::write(&manifest, &manifest_bytes).expect("restore manifest");
    assert_all(dir.path(), 100);
}

#[test]
fn missing_frozen_files_named_by_the_manifest_are_corrupt() {
    let dir = populate(100);
    let seg = seg_dir(dir.path());
    let idxs = files(&seg, "idx");
    for path in [idxs[0].clone(), idxs[0].with_extension("log")] {
        let original = fs::read(&path).expect("read");
        fs::remove_file(&path).expect("remove");
        match open(dir.path()) {
            Err(RedexError::Corrupt { path: p, reason, .. }) => {
                assert_eq!(p, path);
                assert!(reason.contains("missing"), "{reason}");
            }
            other => panic!("expected Corrupt for a missing {path:?}, got {other:?}"),
        }
        fs::write(&path, original).expect("restore");
    }
    assert_all(dir.path(), 100);
}

#[test]
fn newer_manifest_is_refused() {
    let dir = populate(100);
    let manifest = seg_dir(dir.path()).join("manifest");
    refused_then_restored(dir.path(), &manifest, 100, "manifest", 2);
}

/// Deterministic junk that is not a RedEX file.
fn garbage(len: usize) -> Vec<u8> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

/// Replaces `path` with `bytes` and checks the open fails with `Corrupt` naming `path`.
fn garbage_is_corrupt(base: &Path, path: &Path, bytes: &[u8], what: &str) {
    let original = fs::read(path).ok();
    fs::write(path, bytes).expect("write garbage");
    match open(base) {
        Err(RedexError::Corrupt { path: p, .. }) => {
            assert_eq!(p, path, "{what}: the error names another file")
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
    match original {
        Some(o) => fs::write(path, o).expect("restore"),
        None => fs::remove_file(path).expect("remove"),
    }
}

#[test]
fn garbage_files_with_segment_names_are_corrupt() {
    let n = 100;
    let dir = populate(n);
    let seg = seg_dir(dir.path());
    let idxs = files(&seg, "idx");
    let logs = files(&seg, "log");
    let active = logs.last().expect("active").clone();
    for len in [33, 100, 5000] {
        garbage_is_corrupt(dir.path(), &active, &garbage(len), &format!("active log {len}B"));
        garbage_is_corrupt(dir.path(), &logs[0], &garbage(len), &format!("sealed log {len}B"));
    }
    for len in [0, 1, 31, 32, 100, fs::metadata(&idxs[0]).expect("stat").len() as usize] {
        garbage_is_corrupt(dir.path(), &idxs[0], &garbage(len), &format!("index {len}B"));
    }
    // The right magic but nothing else right.
    let mut fake_idx = b"REDEXIDX".to_vec();
    fake_idx.extend_from_slice(&1u32.to_le_bytes());
    fake_idx.extend(garbage(200));
    garbage_is_corrupt(dir.path(), &idxs[0], &fake_idx, "index with magic and version");
    let mut fake_log = b"REDEXLOG".to_vec();
    fake_log.extend_from_slice(&1u32.to_le_bytes());
    fake_log.extend(garbage(200));
    garbage_is_corrupt(dir.path(), &active, &fake_log, "log with magic and version");
    // An index for the last log, as if the process died between freezing and rolling over.
    let active_idx = active.with_extension("idx");
    garbage_is_corrupt(dir.path(), &active_idx, &garbage(300), "index of the last log");
    // A stray log after the active one.
    let stray = seg.join(format!("{:020}.log", 1_000_000));
    garbage_is_corrupt(dir.path(), &stray, &garbage(300), "stray log after the end");
    assert_all(dir.path(), n);
}

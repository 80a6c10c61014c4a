//! Shared by the CLI tests: logs built in temp dirs, the `redex` binary, directory snapshots.
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "helpers: not every test uses each one; a failed unwrap fails the test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};

/// Small segments, so a few hundred entries make several frozen segments.
pub const SEGMENT_BYTES: u64 = 4096;

/// The config every test log uses.
pub fn config() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(SEGMENT_BYTES)
}

/// The payload of entry `seq` in test logs.
pub fn payload(seq: u64) -> Vec<u8> {
    format!("entry-{seq:05}-{}", "x".repeat(60)).into_bytes()
}

/// Opens `channel` in a writer that the caller keeps.
pub fn open_writer(redex: &Redex, channel: &str) -> RedexFile {
    redex.open_file(&ChannelName::new(channel).unwrap(), config()).unwrap()
}

/// Appends entries `from..to` one by one.
pub fn append(file: &RedexFile, from: u64, to: u64) {
    for seq in from..to {
        assert_eq!(file.append(&payload(seq)).unwrap(), seq);
    }
}

/// Builds `channel` in `dir` with `count` entries and closes it (every full segment frozen).
pub fn build_log(dir: &Path, channel: &str, count: u64) {
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let file = open_writer(&redex, channel);
    append(&file, 0, count);
    file.close().unwrap();
    redex.close().unwrap();
}

/// Runs `redex ARGS`.
pub fn redex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redex")).args(args).output().unwrap()
}

/// Stdout of an output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr of an output, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir` and its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The segment directory of `channel`.
pub fn segment_dir(dir: &Path, channel: &str) -> PathBuf {
    let mut path = dir.join("channels");
    path.extend(channel.split('/'));
    path.join(".redex")
}

/// The `.log` files of frozen segments (those with an `.idx`), oldest first.
pub fn frozen_logs(dir: &Path, channel: &str) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(segment_dir(dir, channel))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .map(|p| p.with_extension("log"))
        .collect();
    logs.sort();
    logs
}

/// Builds `channel` in `dir` with `count` entries, archiving all but the last `warm_events`
/// of its frozen history to a directory store in `archive`, and closes it once archival is
/// done.
pub fn build_archived_log(dir: &Path, archive: &Path, channel: &str, count: u64, warm_events: u64) {
    let store = std::sync::Arc::new(redex::LocalDirColdStore::new(archive).unwrap());
    build_archived_log_in(dir, store, channel, count, warm_events);
}

/// [`build_archived_log`] archiving to `store`.
pub fn build_archived_log_in(
    dir: &Path,
    store: std::sync::Arc<dyn redex::ColdStore>,
    channel: &str,
    count: u64,
    warm_events: u64,
) {
    let cfg =
        config().with_cold_store(store).with_warm_retention(redex::Retention::events(warm_events));
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let file = redex.open_file(&ChannelName::new(channel).unwrap(), cfg).unwrap();
    append(&file, 0, count);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while file.stats().cold_tier.is_some_and(|c| c.pending_segments > 0) {
        assert!(std::time::Instant::now() < deadline, "archival did not settle");
        file.apply_retention().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    file.close().unwrap();
    redex.close().unwrap();
}

/// The archived objects of `channel` in a directory store, oldest first.
pub fn archived_objects(archive: &Path, channel: &str) -> Vec<PathBuf> {
    let mut dir = archive.to_path_buf();
    dir.extend(channel.split('/'));
    let mut objects: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rxseg"))
        .collect();
    objects.sort();
    objects
}

//! Goal: every read-only command works against a directory a live writer holds (its lock
//! taken, files open, appends going on before and after) and changes no byte on disk.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use redex::{Redex, Tier};

#[test]
fn read_only_commands_leave_a_live_writers_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Redex::with_persistent_dir(dir.path()).unwrap();
    let file = open_writer(&writer, "orders");
    append(&file, 0, 250);
    file.sync().unwrap();
    // Let the background freezes finish so nothing changes the files while we compare.
    let started = Instant::now();
    while file.segments().iter().filter(|s| s.tier == Tier::Hot).count() > 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "freezes did not finish");
        std::thread::sleep(Duration::from_millis(10));
        file.sync().unwrap();
    }
    let before = snapshot(dir.path());
    assert!(before.keys().any(|p| p.ends_with("redex.lock")));

    let d = dir.path().to_str().unwrap();
    let runs: [&[&str]; 6] = [
        &["inspect", d],
        &["inspect", d, "orders"],
        &["verify", d],
        &["dump", d, "orders", "--format", "json"],
        &["tail", d, "orders", "-n", "5"],
        &["tail", d, "orders", "--follow", "--poll-interval-ms", "5", "--max-polls", "3"],
    ];
    for args in runs {
        let out = redex(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(!stdout(&out).is_empty(), "{args:?}");
    }
    let inspect = stdout(&redex(&["inspect", d, "orders"]));
    assert!(inspect.contains("250 retained: head seq 0, next seq 250"), "{inspect}");
    assert_eq!(stdout(&redex(&["dump", d, "orders", "--format", "raw"])).lines().count(), 250);

    let after = snapshot(dir.path());
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (path, bytes) in &before {
        assert!(after[path] == *bytes, "{} changed", path.display());
    }

    // The writer is unaffected: it still holds the lock and appends.
    append(&file, 250, 260);
    assert!(matches!(
        Redex::with_persistent_dir(dir.path()),
        Err(redex::RedexError::Locked { .. })
    ));
    let dump = stdout(&redex(&["dump", d, "orders", "--from", "255", "--format", "raw"]));
    let want: String = (255..260).map(|s| String::from_utf8(payload(s)).unwrap() + "\n").collect();
    assert_eq!(dump, want);
    file.close().unwrap();
}

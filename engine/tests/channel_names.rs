//! Goal: what can be opened, and by whom, is refused up front with the right error. Unsafe or
//! malformed channel names never reach the file system (`InvalidChannelName`, through every
//! way of making a name), a persistent file in a heap-only manager is `InvalidConfig`, the
//! longest legal name works on disk, and a second manager on a directory held by another
//! process is `Locked` until that process lets go.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};

const LOCK_DIR_ENV: &str = "REDEX_TEST_CHANNEL_NAMES_LOCK_DIR";
const CHILD_TEST: &str = "lock_probe_child";

/// Serialises the tests of this file that take directory locks or spawn processes. A child
/// forked by one test holds copies of every descriptor of this process until it execs, which
/// includes another test's lock file: that test, closing and at once reopening its directory,
/// would see a spurious `Locked`.
static LOCK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serialise() -> std::sync::MutexGuard<'static, ()> {
    LOCK_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bad_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "", "/", "a//b", "a/", "/a", ".", "..", "../x", "a/../b", "a/./b", ".hidden", "a/.redex",
        "a b", "a\tb", "a\nb", "a\\b", "a\0b", "é", "a:b", "a*b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(300));
    v.push("x".repeat(256));
    v.push("y".repeat(65));
    v.push(vec!["a"; 17].join("/"));
    v
}

fn count_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let p = e.path();
                    1 + if p.is_dir() { count_entries(&p) } else { 0 }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn invalid_names_are_refused_before_touching_disk() {
    let _serial = serialise();
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let before = count_entries(dir.path());
    for bad in bad_names() {
        let via_new = ChannelName::new(bad.as_str());
        assert!(
            matches!(&via_new, Err(RedexError::InvalidChannelName { name, .. }) if *name == bad),
            "ChannelName::new({bad:?}) gave {via_new:?}"
        );
        let via_try = ChannelName::try_from(bad.as_str());
        assert!(
            matches!(via_try, Err(RedexError::InvalidChannelName { .. })),
            "ChannelName::try_from({bad:?}) gave {via_try:?}"
        );
        // The only way to open a file is with a validated name, so the manager never sees one.
        let opened = ChannelName::new(bad.as_str())
            .and_then(|n| redex.open_file(&n, RedexFileConfig::default().with_persistent(true)));
        assert!(
            matches!(opened, Err(RedexError::InvalidChannelName { .. })),
            "open_file({bad:?}) gave {opened:?}"
        );
    }
    assert_eq!(count_entries(dir.path()), before, "a refused name created something");
    assert!(!dir.path().join("x").exists());
    assert!(!dir.path().parent().expect("parent").join("x").exists());
}

#[test]
fn longest_legal_name_works_on_disk() {
    let _serial = serialise();
    // 255 bytes: three 64-byte parts, one 60-byte part and three slashes.
    let name = ["a".repeat(64), "b".repeat(64), "c".repeat(64), "d".repeat(60)].join("/");
    assert_eq!(name.len(), 255);
    let channel = ChannelName::new(name.as_str()).expect("255 bytes is legal");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RedexFileConfig::default().with_persistent(true);
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        let f = redex.open_file(&channel, cfg.clone()).expect("open");
        f.append(b"deep").expect("append");
        f.close().expect("close");
    }
    let redex = Redex::with_persistent_dir(dir.path()).expect("reopen dir");
    let f = redex.open_file(&channel, cfg).expect("reopen");
    let ev = f.get(0).expect("get").expect("present");
    assert_eq!(&ev.payload[..], b"deep");
    assert!(ChannelName::new(format!("{name}x")).is_err(), "256 bytes is not");
}

#[test]
fn persistent_file_in_heap_only_manager_is_invalid_config() {
    let redex = Redex::new();
    let name = ChannelName::new("a/b").expect("valid");
    let got = redex.open_file(&name, RedexFileConfig::default().with_persistent(true));
    assert!(matches!(got, Err(RedexError::InvalidConfig(_))), "{got:?}");
    // The refusal leaves the manager usable and the name free.
    let f = redex.open_file(&name, RedexFileConfig::default()).expect("heap-only open");
    assert_eq!(f.append(b"x").expect("append"), 0);
    let default = Redex::default();
    let got = default.open_file(&name, RedexFileConfig::default().with_persistent(true));
    assert!(matches!(got, Err(RedexError::InvalidConfig(_))), "{got:?}");
}

/// Another process: tries to take the directory and reports `locked`, `ok` or the error.
#[test]
fn lock_probe_child() {
    let Ok(dir) = std::env::var(LOCK_DIR_ENV) else {
        return;
    };
    let verdict = match Redex::with_persistent_dir(&dir) {
        Ok(_) => "ok".to_string(),
        Err(RedexError::Locked { path }) => {
            assert!(path.ends_with("redex.lock"), "{path:?}");
            "locked".to_string()
        }
        Err(e) => format!("other {e}"),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nverdict {verdict}").expect("stdout");
    out.flush().expect("flush");
}

fn probe(dir: &Path) -> String {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(LOCK_DIR_ENV, dir)
        .stdin(Stdio::null())
        .output()
        .expect("run probe");
    assert!(out.status.success(), "probe failed: {}", String::from_utf8_lossy(&out.stderr));
    BufReader::new(&out.stdout[..])
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("verdict ").map(str::to_owned))
        .expect("probe verdict")
}

#[test]
fn directory_held_by_another_process_is_locked() {
    let _serial = serialise();
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("held").expect("valid");
    {
        let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
        assert_eq!(probe(dir.path()), "locked");
        // An open file keeps the lock even after its manager is dropped.
        let f =
            redex.open_file(&name, RedexFileConfig::default().with_persistent(true)).expect("open");
        drop(redex);
        assert_eq!(probe(dir.path()), "locked");
        f.close().expect("close");
        drop(f);
    }
    assert_eq!(probe(dir.path()), "ok");
}

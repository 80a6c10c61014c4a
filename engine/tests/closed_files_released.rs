//! Goal: a closed file does not outlive its last handle. A daemon that opens channels under
//! ever new names (one per session or per day), writes, reads and closes them, holds the
//! descriptors and mappings of the channels it has open, not of every channel it ever closed:
//! the manager lets go of a file when it is closed. Found by the soak scenario
//! (`redex-bench --scenario soak`, benches/tests/resource_stability.rs): each closed session
//! channel kept 3 descriptors (active log, its io_uring ring, manifest) and about 13 mappings
//! until the `Redex` itself was dropped.
//!
//! Also: an open file whose handles were all dropped stays open in its manager (opening the
//! channel again returns it, with its entries, heap-only too); closing an old handle of a
//! channel that was closed and opened again leaves the new file in place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, MutexGuard};

use redex::{ChannelName, Redex, RedexFileConfig};

/// The tests of this file run one at a time: the first counts the process's descriptors.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Channels opened, written, read and closed under new names.
const SESSIONS: u64 = 48;

fn open_fds() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

fn mappings() -> Option<u64> {
    Some(std::fs::read_to_string("/proc/self/maps").ok()?.lines().count() as u64)
}

fn session(redex: &Redex, n: u64) {
    let name = ChannelName::new(format!("sessions/{n}")).expect("name");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096);
    let file = redex.open_file(&name, cfg).expect("open");
    for i in 0..200u64 {
        file.append(&i.to_le_bytes().repeat(8)).expect("append");
    }
    assert_eq!(file.read_range(0, 200).expect("read").len(), 200);
    file.close().expect("close");
}

#[test]
fn sessions_under_new_names_release_their_descriptors_and_mappings() {
    let _serial = serial();
    let (Some(_), Some(_)) = (open_fds(), mappings()) else {
        eprintln!("no /proc/self on this system; nothing to check");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    // One session first: the freeze thread's stack, io_uring's first setup and the like.
    session(&redex, 0);
    let (fds, maps) = (open_fds().unwrap(), mappings().unwrap());
    for n in 1..=SESSIONS {
        session(&redex, n);
    }
    // A leak of one descriptor or mapping per session would add SESSIONS. Background work
    // (the engine's timer installing the last freeze) may hold the last session's file for a
    // moment after its close, so the counts get a few seconds to come down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let settled = || open_fds().unwrap() <= fds + 2 && mappings().unwrap() <= maps + 8;
    while !settled() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (fds_after, maps_after) = (open_fds().unwrap(), mappings().unwrap());
    assert!(fds_after <= fds + 2, "{fds} fds after one session, {fds_after} after {SESSIONS} more");
    assert!(
        maps_after <= maps + 8,
        "{maps} mappings after one session, {maps_after} after {SESSIONS} more"
    );
    assert_eq!(redex.list_channels().expect("list").len() as u64, SESSIONS + 1);
}

#[test]
fn an_open_file_stays_registered_and_a_closed_one_leaves() {
    let _serial = serial();
    let redex = Redex::new();
    let name = ChannelName::new("heap/kept").expect("name");
    {
        let file = redex.open_file(&name, RedexFileConfig::default()).expect("open");
        file.append(b"kept while open").expect("append");
    }
    // Every handle dropped, never closed: the manager still holds the file.
    let file = redex.open_file(&name, RedexFileConfig::default()).expect("open again");
    assert_eq!(file.next_seq(), 1);
    assert_eq!(redex.list_channels().expect("list"), vec![name.clone()]);
    file.close().expect("close");
    assert!(redex.list_channels().expect("list").is_empty(), "a closed file left its manager");
    assert!(redex.stats().is_empty());
    // Opening it again makes a new (heap-only: empty) file.
    let again = redex.open_file(&name, RedexFileConfig::default()).expect("reopen");
    assert_eq!(again.next_seq(), 0);
    assert_eq!(redex.list_channels().expect("list"), vec![name]);
}

#[test]
fn closing_an_old_handle_leaves_the_new_file_registered() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let name = ChannelName::new("reopened").expect("name");
    let cfg = RedexFileConfig::default().with_persistent(true);
    let old = redex.open_file(&name, cfg.clone()).expect("open");
    old.append(b"one").expect("append");
    old.close().expect("close");
    let new = redex.open_file(&name, cfg.clone()).expect("reopen");
    old.close().expect("closing twice is fine");
    // Still registered: opening the channel again returns the open file, not a second one.
    let same = redex.open_file(&name, cfg).expect("open the open file");
    same.append(b"two").expect("append");
    assert_eq!(new.next_seq(), 2, "both handles are the same file");
    assert_eq!(redex.stats().len(), 1);
    new.close().expect("close");
    assert!(same.is_closed());
}

/// `open_file_fresh` says which open opened the log: the first, and the first after a close;
/// an open of a log already open shares it (and a refused open changes nothing).
#[test]
fn open_file_fresh_says_which_open_opened_the_log() {
    let _serial = serial();
    let redex = Redex::new();
    let name = ChannelName::new("fresh").unwrap();
    let (first, fresh) = redex.open_file_fresh(&name, RedexFileConfig::default()).unwrap();
    assert!(fresh);
    let (second, fresh) = redex.open_file_fresh(&name, RedexFileConfig::default()).unwrap();
    assert!(!fresh, "already open: shared");
    second.append(b"x").unwrap();
    assert_eq!(first.next_seq(), 1, "the same log");
    let other = RedexFileConfig::default().with_segment_bytes_max(1 << 20);
    assert!(redex.open_file_fresh(&name, other).is_err(), "another configuration is refused");
    first.close().unwrap();
    let (_, fresh) = redex.open_file_fresh(&name, RedexFileConfig::default()).unwrap();
    assert!(fresh, "closed, then opened again");
}

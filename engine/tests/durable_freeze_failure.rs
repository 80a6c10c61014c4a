//! Goal: a durable append that fails has not written its entry. A background freeze that fails
//! (here its index write, with `ENOSPC`: not an fsync failure, the file is not poisoned) is
//! reported by the next `sync()`, but never to a group of durable appends whose entries are
//! already in the log: their callers would retry and write them twice.
//!
//! Uses the process-wide `fault-injection` counters: this file holds this one test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use redex::{ChannelName, Redex, RedexFileConfig};
use redex_tiers::backend::fault;

const THREADS: usize = 8;
const APPENDS: usize = 150;

fn payload(thread: usize, i: usize) -> Vec<u8> {
    let mut p = format!("t{thread}-{i}-").into_bytes();
    p.resize(120, b'x');
    p
}

#[test]
fn a_failed_freeze_never_fails_a_durable_append_it_already_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("durable/freeze").expect("name");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(16 * 1024);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg.clone()).expect("open");
    // Every freeze fails at first; each full segment stays in memory (and its log among the
    // ones a durable append fsyncs) until a later freeze of it succeeds.
    fault::INDEX_WRITE_ERRORS.store(20, Ordering::SeqCst);
    let results: Vec<Vec<(Vec<u8>, bool)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    (0..APPENDS)
                        .map(|i| {
                            let p = payload(t, i);
                            let ok = f.append_durable(&p).is_ok();
                            (p, ok)
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect()
    });
    let failed_freezes = 20 - fault::INDEX_WRITE_ERRORS.swap(0, Ordering::SeqCst);
    assert!(failed_freezes > 0, "no freeze failed: the test proves nothing");
    // The failures are reported once, by whoever syncs next (or close).
    let _ = f.sync();
    let _ = f.close();
    drop((f, redex));

    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg).expect("reopen");
    let mut found: HashMap<Vec<u8>, usize> = HashMap::new();
    for ev in f.read_range(0, f.next_seq()).expect("read") {
        *found.entry(ev.payload.to_vec()).or_default() += 1;
    }
    let mut failed = 0;
    for (p, ok) in results.into_iter().flatten() {
        let copies = found.get(&p).copied().unwrap_or(0);
        let label = String::from_utf8_lossy(&p[..10]).into_owned();
        match ok {
            true => assert_eq!(copies, 1, "{label}: acknowledged, found {copies} times"),
            false => {
                failed += 1;
                assert_eq!(copies, 0, "{label}: failed, yet found in the log");
            }
        }
    }
    eprintln!("{failed_freezes} freezes failed, {failed} durable appends failed");
}

//! Goal: a process that embeds the engine the way a long-lived daemon does holds no more file
//! descriptors, memory mappings or threads after many rounds of its life than after its
//! warm-up. The daemon is the soak scenario's (`redex_benches::harness::scenarios::soak`):
//! retention by count, bytes and age, a local-directory cold store archiving frozen segments,
//! reads from every tier, tail subscribers and watch streams that come and go, a CortEX tasks
//! fold restored from periodic snapshots, logs closed and reopened, sessions opened under new
//! names, and a restart of the manager. A round is one full turn of the reopens.
//!
//! Counts are compared at quiet points (every subscriber gone, the fold caught up, freezes
//! installed, archival caught up), never against time, so the test is deterministic. The slack
//! covers what legitimately wanders at a quiet point (the cold runtime's blocking threads, kept
//! for 10 s after use, each with a stack mapping; a warm segment mapped or not), and is far below
//! what a leak of one descriptor, mapping or thread per reopen adds over the rounds. Checked by
//! leaking on purpose: a descriptor or a thread per round, or a mapping per cycle (a payload
//! of a warm segment forgotten), each fails it; so did the engine before closed files left
//! their manager (each session channel kept 3 descriptors and about 13 mappings; see
//! engine/tests/closed_files_released.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use redex_benches::harness::scenarios::soak::{mappings, open_fds, threads, Daemon, DaemonConfig};

/// Rounds run before the baseline is taken, with a restart of the manager before each but the
/// first (the logs reach their retention, the caches and thread pools their working size).
const WARM_UP_ROUNDS: u64 = 2;
/// Rounds compared with the baseline.
const ROUNDS: u64 = 10;
/// How far above the baseline each count may be at a quiet point.
const FDS_SLACK: u64 = 4;
const MAPS_SLACK: u64 = 16;
const THREADS_SLACK: u64 = 4;
/// Longest wait for a quiet point (archival of the last segments, mostly).
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Counts {
    fds: u64,
    maps: u64,
    threads: u64,
}

fn counts() -> Counts {
    Counts {
        fds: open_fds().expect("/proc/self/fd"),
        maps: mappings().expect("/proc/self/maps"),
        threads: threads().expect("/proc/self/status"),
    }
}

#[test]
fn a_daemons_rounds_hold_no_more_fds_mappings_or_threads() {
    if open_fds().is_none() || mappings().is_none() || threads().is_none() {
        eprintln!("no /proc/self on this system; nothing to check");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DaemonConfig::test();
    let round = config.round_cycles();
    let mut daemon = Daemon::open(dir.path(), config).expect("open the daemon");
    // A round, a restart of the whole manager, a round (warm segments are mapped again as
    // they are read).
    for round_of_warm_up in 0..WARM_UP_ROUNDS {
        if round_of_warm_up > 0 {
            daemon.restart().expect("restart");
        }
        for _ in 0..round {
            daemon.cycle().expect("warm-up cycle");
        }
    }
    daemon.settle(PATIENCE).expect("settle");
    let base = counts();
    let mut seen = Vec::new();
    for _ in 0..ROUNDS {
        for _ in 0..round {
            daemon.cycle().expect("cycle");
        }
        daemon.settle(PATIENCE).expect("settle");
        seen.push(counts());
    }
    let c = daemon.counters();
    daemon.close().expect("close");
    eprintln!("baseline {base:?}; after each round {seen:?}; {c:?}");
    assert!(c.reopens >= ROUNDS * 5 && c.sessions >= ROUNDS, "every reopen came round: {c:?}");
    assert!(c.restarts >= 1 && c.snapshots >= ROUNDS, "restarts and snapshots: {c:?}");
    assert!(c.reads_warm > 0 && c.reads_cold > 0 && c.tails > 0, "every tier was read: {c:?}");
    for (i, now) in seen.iter().enumerate() {
        let round = i + 1;
        assert!(
            now.fds <= base.fds + FDS_SLACK,
            "round {round}: {} fds, {} after warm-up (slack {FDS_SLACK}); every round: {seen:?}",
            now.fds,
            base.fds
        );
        assert!(
            now.maps <= base.maps + MAPS_SLACK,
            "round {round}: {} mappings, {} after warm-up (slack {MAPS_SLACK}); every round: {seen:?}",
            now.maps,
            base.maps
        );
        assert!(
            now.threads <= base.threads + THREADS_SLACK,
            "round {round}: {} threads, {} after warm-up (slack {THREADS_SLACK}); every round: {seen:?}",
            now.threads,
            base.threads
        );
    }
}

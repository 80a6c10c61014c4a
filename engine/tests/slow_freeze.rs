//! Goal: on a disk so slow that a segment fills before the previous one has frozen, the append
//! that must roll over waits for that freeze (at most one full segment waits in memory) without
//! holding the file's lock: reads, `stats()` and `head_seq()` go on meanwhile, and once the
//! freeze finishes the append completes, with nothing lost across a reopen.
//!
//! Fsyncs are held with the `fault-injection` hook `FSYNC_HOLD`, which is process-wide: this
//! file holds this one test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use redex::{ChannelName, Redex, RedexFileConfig};
use redex_tiers::backend::fault;

const EVENTS: u64 = 60;

fn payload(seq: u64) -> Vec<u8> {
    vec![seq as u8; 1000]
}

/// Releases held fsyncs even when an assertion fails, so the test ends instead of hanging.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        fault::FSYNC_HOLD.store(false, Ordering::SeqCst);
    }
}

#[test]
fn reads_go_on_while_an_append_waits_for_the_previous_freeze() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("slow/disk").expect("name");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(16 * 1024);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg.clone()).expect("open");

    let release = Release;
    fault::FSYNC_HOLD.store(true, Ordering::SeqCst);
    // The first rollover (about 15 entries in) starts a freeze that cannot finish; the second
    // must wait for it.
    let acked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (f, acked) = (f.clone(), Arc::clone(&acked));
        std::thread::spawn(move || {
            for seq in 0..EVENTS {
                assert_eq!(f.append(&payload(seq)).expect("append"), seq);
                acked.store(seq + 1, Ordering::SeqCst);
            }
        })
    };
    // Wait until the writer is stuck at the second rollover.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (u64::MAX, Instant::now());
    loop {
        let now = acked.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(200) {
            break;
        }
        assert!(Instant::now() < deadline, "the writer never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stuck_at = last.0;
    assert!((16..EVENTS).contains(&stuck_at), "the writer stopped after {stuck_at} appends");

    // Reads from another thread must not wait for the freeze.
    let (tx, rx) = mpsc::channel();
    let reader = {
        let f = f.clone();
        std::thread::spawn(move || {
            let events = f.read_range(0, stuck_at).expect("read");
            let stats = f.stats();
            tx.send((events, stats, f.head_seq())).ok();
        })
    };
    let (events, stats, head) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a read blocked behind an append waiting for a freeze");
    assert_eq!(events.len() as u64, stuck_at);
    for ev in &events {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
    }
    assert_eq!(head, 0);
    assert_eq!(stats.next_seq, stuck_at, "{stats:?}");
    assert_eq!(acked.load(Ordering::SeqCst), stuck_at, "the writer went past a running freeze");

    drop(release);
    writer.join().expect("writer");
    reader.join().expect("reader");
    assert_eq!(f.next_seq(), EVENTS);
    f.close().expect("close");
    drop((f, redex));

    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg).expect("reopen");
    let events = f.read_range(0, EVENTS).expect("read after reopen");
    assert_eq!(events.len() as u64, EVENTS);
    for ev in &events {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {} after reopen", ev.seq);
    }
}

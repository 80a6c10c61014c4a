//! Goal: a freeze thread that panics (a bug) never leaves an appender waiting for it: an append
//! that must roll over waits for the previous freeze outside the file's lock, and the wait ends
//! when the thread ends, however it ends; the panic is then reported like a failed freeze and
//! the entries stay readable, also after a reopen.
//!
//! Uses the process-wide `fault-injection` hooks (`FSYNC_HOLD`, `INDEX_WRITE_PANICS`): this
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

#[test]
fn an_append_waiting_for_a_freeze_that_panics_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("freeze/panic").expect("name");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(16 * 1024);
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg.clone()).expect("open");

    // The first freeze is held in its log's fsync, then panics at its index write.
    fault::FSYNC_HOLD.store(true, Ordering::SeqCst);
    fault::INDEX_WRITE_PANICS.store(1, Ordering::SeqCst);
    let acked = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    let writer = {
        let (f, acked) = (f.clone(), Arc::clone(&acked));
        std::thread::spawn(move || {
            for seq in 0..EVENTS {
                assert_eq!(f.append(&payload(seq)).expect("append"), seq);
                acked.store(seq + 1, Ordering::SeqCst);
            }
            done_tx.send(()).ok();
        })
    };
    // Wait until the writer is stuck at the second rollover, behind the held freeze.
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
    assert!((16..EVENTS).contains(&last.0), "the writer stopped after {} appends", last.0);

    fault::FSYNC_HOLD.store(false, Ordering::SeqCst);
    let finished = done_rx.recv_timeout(Duration::from_secs(20));
    fault::INDEX_WRITE_PANICS.store(0, Ordering::SeqCst);
    finished.expect("the writer still waits for a freeze thread that panicked");
    writer.join().expect("writer");
    let err = f.sync().expect_err("the panicked freeze is reported");
    assert!(err.to_string().contains("panicked"), "{err}");
    let events = f.read_range(0, EVENTS).expect("read");
    assert_eq!(events.len() as u64, EVENTS);
    f.close().ok();
    drop((f, redex));

    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, cfg).expect("reopen");
    let events = f.read_range(0, EVENTS).expect("read after reopen");
    assert_eq!(events.len() as u64, EVENTS);
    for ev in &events {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {} after reopen", ev.seq);
    }
}

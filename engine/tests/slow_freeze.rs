//! Goal: on a disk so slow that a segment fills before the previous one has frozen, the append
//! that must roll over waits for that freeze (at most one full segment waits in memory) without
//! holding the file's lock: reads, `stats()` and `head_seq()` go on meanwhile, and once the
//! freeze finishes the append completes, with nothing lost across a reopen. The wait ends
//! however the freeze thread ends, even by a panic (a bug), which is then reported like a
//! failed freeze.
//!
//! Fsyncs are held with the `fault-injection` hook `FSYNC_HOLD`, and freezes made to panic
//! with `INDEX_WRITE_PANICS`; both are process-wide, so the tests of this file run one at a
//! time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};
use redex_tiers::backend::fault;

const EVENTS: u64 = 60;

static SERIAL: Mutex<()> = Mutex::new(());

fn payload(seq: u64) -> Vec<u8> {
    vec![seq as u8; 1000]
}

fn config() -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(16 * 1024)
}

/// Releases held fsyncs and pending panics even when an assertion fails, so the test ends
/// instead of hanging (and the next one starts clean).
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        fault::FSYNC_HOLD.store(false, Ordering::SeqCst);
        fault::INDEX_WRITE_PANICS.store(0, Ordering::SeqCst);
    }
}

/// With fsyncs held, starts a writer appending `EVENTS` entries of 1000 bytes (a 16 KiB segment
/// holds about 15): the first rollover starts a freeze that cannot finish, the second must wait
/// for it. Returns the writer (it reports on `done` when it has appended everything) once it is
/// stuck there, and how many appends it had made.
fn writer_stuck_at_a_rollover(f: &RedexFile) -> (JoinHandle<()>, mpsc::Receiver<()>, u64) {
    fault::FSYNC_HOLD.store(true, Ordering::SeqCst);
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
    (writer, done_rx, last.0)
}

/// Closes, reopens and checks every entry.
fn reopen_and_check(dir: &std::path::Path, name: &ChannelName, f: RedexFile, redex: Redex) {
    f.close().ok();
    drop((f, redex));
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let f = redex.open_file(name, config()).expect("reopen");
    let events = f.read_range(0, EVENTS).expect("read after reopen");
    assert_eq!(events.len() as u64, EVENTS);
    for ev in &events {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {} after reopen", ev.seq);
    }
}

#[test]
fn reads_go_on_while_an_append_waits_for_the_previous_freeze() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("slow/disk").expect("name");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, config()).expect("open");
    let release = Release;
    let (writer, _done, stuck_at) = writer_stuck_at_a_rollover(&f);

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

    drop(release);
    writer.join().expect("writer");
    reader.join().expect("reader");
    assert_eq!(f.next_seq(), EVENTS);
    reopen_and_check(dir.path(), &name, f, redex);
}

#[test]
fn an_append_waiting_for_a_freeze_that_panics_goes_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let name = ChannelName::new("freeze/panic").expect("name");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let f = redex.open_file(&name, config()).expect("open");
    let release = Release;
    // The held freeze panics at its index write once its fsync is let go.
    fault::INDEX_WRITE_PANICS.store(1, Ordering::SeqCst);
    let (writer, done, _) = writer_stuck_at_a_rollover(&f);

    fault::FSYNC_HOLD.store(false, Ordering::SeqCst);
    done.recv_timeout(Duration::from_secs(20))
        .expect("the writer still waits for a freeze thread that panicked");
    drop(release);
    writer.join().expect("writer");
    let err = f.sync().expect_err("the panicked freeze is reported");
    assert!(err.to_string().contains("panicked"), "{err}");
    assert_eq!(f.read_range(0, EVENTS).expect("read").len() as u64, EVENTS);
    reopen_and_check(dir.path(), &name, f, redex);
}

//! Goal: faults the kernel can produce but a test cannot easily provoke, injected in the append
//! backend (`redex-tiers` feature `fault-injection`), on both backends: short writes are
//! completed; a write torn by an error leaves no bytes behind and later appends work; a failed
//! fsync (explicit, durable alone, durable in a group, or on the policy thread) is reported
//! and poisons the file, because the kernel may have dropped pages it will not report again,
//! while reads go on and a reopen recovers every entry that reached the disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redex::{
    AppendBackend, ChannelName, FsyncPolicy, Redex, RedexError, RedexFile, RedexFileConfig,
};
use redex_tiers::backend::fault;

/// The fault counters are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn payload(seq: u64) -> Vec<u8> {
    (0..(20 + seq % 300) as usize).map(|i| (seq as usize * 7 + i) as u8).collect()
}

fn backends() -> Vec<AppendBackend> {
    let uring = redex_tiers::LogWriter::open(
        Arc::new(tempfile::tempfile().expect("tmp")),
        AppendBackend::IoUring,
    )
    .is_ok();
    let mut out = vec![AppendBackend::Std];
    if uring {
        out.push(AppendBackend::IoUring);
    }
    out
}

fn open(dir: &std::path::Path, cfg: RedexFileConfig) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(dir).expect("manager");
    let f = redex.open_file(&ChannelName::new("faults").expect("name"), cfg).expect("open");
    (redex, f)
}

fn cfg(backend: AppendBackend) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(16 * 1024)
        .with_append_backend(backend)
}

fn check_prefix(f: &RedexFile, at_least: u64) {
    let next = f.next_seq();
    assert!(next >= at_least, "{next} entries, {at_least} acknowledged");
    for ev in f.read_range(0, next).expect("read") {
        assert_eq!(ev.payload[..], payload(ev.seq)[..], "seq {}", ev.seq);
    }
}

fn reset() {
    for c in [&fault::SHORT_WRITES, &fault::TORN_WRITES, &fault::FSYNC_ERRORS] {
        c.store(0, Ordering::SeqCst);
    }
}

#[test]
fn short_writes_are_completed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for backend in backends() {
        reset();
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend));
        fault::SHORT_WRITES.store(1000, Ordering::SeqCst);
        for seq in 0..300 {
            assert_eq!(f.append(&payload(seq)).expect("append"), seq);
        }
        f.append_durable(&payload(300)).expect("durable");
        assert!(fault::SHORT_WRITES.load(Ordering::SeqCst) < 1000 - 300, "{backend:?}");
        reset();
        check_prefix(&f, 301);
        f.close().expect("close");
        drop((f, redex));
        let (_redex, f) = open(dir.path(), cfg(backend));
        assert_eq!(f.next_seq(), 301);
        check_prefix(&f, 301);
    }
}

#[test]
fn a_torn_write_leaves_nothing_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for backend in backends() {
        reset();
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend));
        let mut acked = 0;
        for round in 0..40u64 {
            if round % 4 == 1 {
                fault::TORN_WRITES.store(1, Ordering::SeqCst);
            }
            let batch: Vec<Vec<u8>> = (acked..acked + 3).map(payload).collect();
            let result = if round % 2 == 0 {
                f.append_batch(&batch)
            } else {
                f.append_batch_durable(&batch)
            };
            match result {
                Ok(first) => {
                    assert_eq!(first, Some(acked));
                    acked += 3;
                }
                Err(RedexError::Io { source, .. }) => {
                    assert_eq!(source.raw_os_error(), Some(libc::ENOSPC), "{backend:?}");
                    assert_eq!(f.next_seq(), acked, "nothing of a failed batch is indexed");
                }
                Err(e) => panic!("{backend:?}: unexpected {e}"),
            }
        }
        reset();
        check_prefix(&f, acked);
        f.close().expect("close");
        drop((f, redex));
        let (_redex, f) = open(dir.path(), cfg(backend));
        assert_eq!(f.next_seq(), acked, "{backend:?}: no torn frame survives");
        check_prefix(&f, acked);
    }
}

/// After a failed fsync the file refuses appends and syncs; what was written reopens intact.
fn assert_poisoned_then_recovers(dir: &std::path::Path, f: RedexFile, redex: Redex, written: u64) {
    let err = f.append(b"more").expect_err("poisoned");
    assert!(matches!(err, RedexError::Poisoned { .. }), "{err}");
    assert!(err.to_string().contains("fsync"), "{err}");
    assert!(matches!(f.sync(), Err(RedexError::Poisoned { .. })));
    assert!(f.append_durable(b"more").is_err());
    check_prefix(&f, written);
    let _ = f.close();
    drop((f, redex));
    let (_redex, f) = open(dir, cfg(AppendBackend::Std));
    assert_eq!(f.next_seq(), written, "the page cache still held everything");
    check_prefix(&f, written);
    f.append(&payload(written)).expect("a reopened file appends again");
}

#[test]
fn a_failed_explicit_fsync_poisons_the_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for backend in backends() {
        reset();
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend));
        for seq in 0..50 {
            f.append(&payload(seq)).expect("append");
        }
        fault::FSYNC_ERRORS.store(1, Ordering::SeqCst);
        let err = f.sync().expect_err("injected");
        let fsync_failed = matches!(&err, RedexError::Io { source, .. }
            if redex_tiers::backend::is_fsync_failure(source));
        assert!(fsync_failed && err.to_string().contains("os error 5"), "{err}");
        reset();
        assert_poisoned_then_recovers(dir.path(), f, redex, 50);
    }
}

#[test]
fn a_failed_durable_fsync_is_not_acknowledged_and_poisons() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for backend in backends() {
        // Alone: the write and its fsync in one call.
        reset();
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend));
        for seq in 0..20 {
            f.append_durable(&payload(seq)).expect("durable");
        }
        fault::FSYNC_ERRORS.store(1, Ordering::SeqCst);
        assert!(f.append_durable(&payload(20)).is_err(), "{backend:?}");
        reset();
        // The failed append's frame was cut off again: 20 entries.
        assert_poisoned_then_recovers(dir.path(), f, redex, 20);

        // In a group: several threads share fsyncs; every fsync fails.
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend));
        fault::FSYNC_ERRORS.store(u64::MAX / 2, Ordering::SeqCst);
        let oks: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..20).filter(|_| f.append_durable(b"group").is_ok()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread") as u64).sum()
        });
        reset();
        assert_eq!(oks, 0, "{backend:?}: no durable append may succeed while every fsync fails");
        assert!(matches!(f.append(b"x"), Err(RedexError::Poisoned { .. })));
        drop((f, redex));
    }
}

#[test]
fn a_failed_policy_fsync_is_reported_and_poisons() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    reset();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = cfg(AppendBackend::Std).with_fsync_policy(FsyncPolicy::EveryN(1));
    let (redex, f) = open(dir.path(), policy);
    fault::FSYNC_ERRORS.store(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seq = 0;
    while fault::FSYNC_ERRORS.load(Ordering::SeqCst) > 0 {
        f.append(&payload(seq)).expect("append");
        seq += 1;
        assert!(Instant::now() < deadline, "the policy thread never fsynced");
        std::thread::sleep(Duration::from_millis(1));
    }
    // The policy thread's failure surfaces at the next durable append or sync.
    let mut err = None;
    while Instant::now() < deadline {
        match f.append_durable(&payload(seq)) {
            Ok(_) => seq += 1,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("the failed background fsync was reported");
    assert!(err.to_string().contains("background fsync"), "{err}");
    assert_poisoned_then_recovers(dir.path(), f, redex, seq);
}

/// Regression: preallocation starts when the first durable append arrives; it used to start
/// zero-filling from where the log began, over the frames plain appends had written before.
#[test]
fn plain_appends_then_durable_appends_keep_every_entry() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    reset();
    for backend in backends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (redex, f) = open(dir.path(), cfg(backend).with_segment_bytes_max(1 << 20));
        for seq in 0..100 {
            f.append(&payload(seq)).expect("append");
        }
        f.append_durable(&payload(100)).expect("durable");
        check_prefix(&f, 101);
        f.close().expect("close");
        drop((f, redex));
        let (_redex, f) = open(dir.path(), cfg(backend));
        assert_eq!(f.next_seq(), 101, "{backend:?}");
        check_prefix(&f, 101);
    }
}

//! Goal: both append backends are selectable and report themselves; durable appends (alone and
//! from many threads at once, sharing fsyncs) return only acknowledged, readable entries in
//! seq order, on both backends, and survive a reopen.

use std::sync::Arc;

use redex::{AppendBackend, BackendKind, ChannelName, Redex, RedexError, RedexFileConfig};

fn cfg(backend: AppendBackend) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_append_backend(backend)
        .with_segment_bytes_max(16 << 10)
}

fn payload(thread: u64, i: u64) -> Vec<u8> {
    let mut p = thread.to_le_bytes().to_vec();
    p.extend_from_slice(&i.to_le_bytes());
    p.resize(16 + (i % 50) as usize, thread as u8);
    p
}

/// The backends this machine can run: the portable one always, io_uring where the kernel allows.
fn backends() -> Vec<AppendBackend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let uring =
        redex.open_file(&ChannelName::new("probe").expect("name"), cfg(AppendBackend::IoUring));
    match uring {
        Ok(f) => {
            assert_eq!(f.backend(), Some(BackendKind::IoUring));
            vec![AppendBackend::Std, AppendBackend::IoUring]
        }
        Err(e) => {
            eprintln!("io_uring unavailable here ({e}); testing the portable path only");
            vec![AppendBackend::Std]
        }
    }
}

#[test]
fn backends_report_themselves_and_auto_picks_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let std = redex
        .open_file(&ChannelName::new("s").expect("name"), cfg(AppendBackend::Std))
        .expect("std");
    assert_eq!(std.backend(), Some(BackendKind::Std));
    let auto = redex
        .open_file(&ChannelName::new("a").expect("name"), cfg(AppendBackend::Auto))
        .expect("auto");
    assert!(auto.backend().is_some());
    let heap = Redex::new();
    let h = heap
        .open_file(&ChannelName::new("h").expect("name"), RedexFileConfig::default())
        .expect("heap");
    assert_eq!(h.backend(), None);
    assert_eq!(h.append_durable(b"x").expect("heap durable is a plain append"), 0);
}

#[test]
fn concurrent_durable_appends_are_all_present_in_order_after_reopen() {
    for backend in backends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = ChannelName::new("d").expect("name");
        const THREADS: u64 = 8;
        const EACH: u64 = 60;
        {
            let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
            let file = redex.open_file(&name, cfg(backend)).expect("open");
            let lone = file.append_durable(b"first").expect("lone durable append");
            assert_eq!(lone, 0);
            let file = Arc::new(file);
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let file = Arc::clone(&file);
                    std::thread::spawn(move || {
                        let mut seqs = Vec::new();
                        for i in 0..EACH {
                            let seq = if i % 3 == 0 {
                                let batch = [payload(t, i), payload(t, i + 1000)];
                                file.append_batch_durable(&batch)
                                    .expect("durable batch")
                                    .expect("seq")
                            } else {
                                file.append_durable(&payload(t, i)).expect("durable append")
                            };
                            // Acknowledged means readable.
                            let ev = file.get(seq).expect("get").expect("present");
                            assert_eq!(ev.payload[..], payload(t, i)[..], "{backend:?}");
                            seqs.push(seq);
                        }
                        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "a thread's seqs increase");
                        seqs
                    })
                })
                .collect();
            let mut all: Vec<u64> =
                threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(
                all.len() as u64,
                THREADS * EACH,
                "{backend:?}: every append got its own seq"
            );
            // No close: what was acknowledged as durable must already be on disk.
        }
        let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
        let file = redex.open_file(&name, cfg(backend)).expect("reopen");
        let expected = 1 + THREADS * EACH + THREADS * EACH.div_ceil(3);
        assert_eq!(file.next_seq(), expected, "{backend:?}");
        let events = file.read_range(0, expected).expect("read");
        assert_eq!(&events[0].payload[..], b"first");
    }
}

#[test]
fn closed_file_refuses_durable_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let file = redex
        .open_file(&ChannelName::new("c").expect("name"), cfg(AppendBackend::Auto))
        .expect("open");
    file.close().expect("close");
    assert!(matches!(file.append_durable(b"x"), Err(RedexError::Closed { .. })));
}

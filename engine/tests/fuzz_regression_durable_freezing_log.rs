//! Goal: when `append_durable` returns, every entry before it is durable too, including those
//! in a full segment whose background freeze has not fsynced its log yet. Found on 2026-11-22
//! while extending the `torn_write` fuzz target with durable appends (docs/FUZZING.md,
//! finding 8; the target's damage model trusts the durability promises, so it cannot see a
//! missing fsync itself). A lone durable appender fsynced only the active log, in the same
//! call as its write; the previous segment's log, filled by plain appends and rolled over by
//! this append or just before it, was fsynced only by the freeze thread, which often had not
//! got there yet (15 of 100 rounds here). A machine crash in that window tears that log, and
//! recovery, finding a damaged unfrozen log before the last one, cuts the log there and deletes
//! the later segments: the acknowledged durable entry is lost (DURABILITY.md, promise 2). A
//! lone durable append now also fsyncs the logs of segments still freezing, as `sync()` does.
//!
//! Observed through the fsync counters: the durable append's own fsync, plus one of the full
//! log, must both have completed by the time it returns.

use redex::{AppendBackend, ChannelName, Redex, RedexFile, RedexFileConfig};

const ROUNDS: usize = 30;

fn open(dir: &std::path::Path, backend: AppendBackend) -> (Redex, RedexFile) {
    let redex = Redex::with_persistent_dir(dir).expect("open dir");
    let cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_events_max(4)
        .with_append_backend(backend);
    let file = redex.open_file(&ChannelName::new("durable/freeze").expect("name"), cfg);
    (redex, file.expect("open"))
}

/// Fills a segment with plain appends, optionally rolls over with one more, then appends
/// durably; returns the fsyncs completed from the rollover until the durable append returned
/// (the freeze's, if it got that far, counts: it made the full log durable too).
fn fsyncs_of_durable_append(backend: AppendBackend, rolled_by_plain: bool) -> u64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_redex, f) = open(dir.path(), backend);
    for _ in 0..4 {
        f.append(&[7u8; 2048]).expect("plain append");
    }
    // Nothing was fsynced so far (policy `Never`) and no freeze has started.
    let before = f.stats().fsyncs.count;
    if rolled_by_plain {
        // This append starts the freeze of the full segment.
        f.append(b"rolls over").expect("plain append");
    }
    let seq = f.append_durable(b"durable").expect("durable append");
    let after = f.stats().fsyncs.count;
    assert_eq!(seq, if rolled_by_plain { 5 } else { 4 });
    f.close().expect("close");
    after - before
}

#[test]
fn a_lone_durable_append_covers_the_segment_being_frozen() {
    for backend in [AppendBackend::Std, AppendBackend::Auto] {
        for rolled_by_plain in [false, true] {
            for round in 0..ROUNDS {
                let n = fsyncs_of_durable_append(backend, rolled_by_plain);
                assert!(
                    n >= 2,
                    "{backend:?}, rolled over by a plain append: {rolled_by_plain}, round \
                     {round}: append_durable returned after {n} fsync(s); the full segment's \
                     log was not yet durable"
                );
            }
        }
    }
}

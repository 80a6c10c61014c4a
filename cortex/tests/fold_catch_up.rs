//! Goal: the fold catches up on stored history in chunked reads and then follows the live tail,
//! and the switches between the two (after the catch-up, and back after a lagged tail) lose and
//! duplicate nothing. Errors met in history (a bad event, evicted history) follow the error
//! policy as they do on the tail, and `close` stops a catch-up between chunks.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use std::time::Duration;

use cortex::{
    CortexAdapter, CortexConfig, CortexError, EventMeta, FoldError, FoldErrorPolicy, FoldEvent,
    FoldStatus, RedexFold,
};
use redex::{ChannelName, Redex, RedexFile, RedexFileConfig, Retention};

/// Records `(seq, value)` for every event, the value being the body's little-endian `u64`: a
/// lost, repeated or reordered event shows up as a difference from [`model`].
struct Record;

impl RedexFold<Vec<(u64, u64)>> for Record {
    fn apply(&self, state: &mut Vec<(u64, u64)>, event: &FoldEvent) -> Result<(), FoldError> {
        let bytes: [u8; 8] =
            event.payload[..].try_into().map_err(|_| FoldError::invalid_payload("not a u64"))?;
        state.push((event.seq, u64::from_le_bytes(bytes)));
        Ok(())
    }
}

type Adapter = CortexAdapter<Vec<(u64, u64)>>;

/// The state after folding events whose value equals their seq, for every seq in `seqs`.
fn model(seqs: std::ops::Range<u64>) -> Vec<(u64, u64)> {
    seqs.map(|i| (i, i)).collect()
}

/// Appends one event per value in `values`, `per_batch` per atomic batch. Each value is
/// expected to land at the seq equal to it.
fn append_records(file: &RedexFile, values: std::ops::Range<u64>, per_batch: u64) {
    let mut i = values.start;
    while i < values.end {
        let end = (i + per_batch).min(values.end);
        let batch: Vec<Vec<u8>> =
            (i..end).map(|v| EventMeta::encode(1, 0, 1, v, &v.to_le_bytes())).collect();
        assert_eq!(file.append_batch(&batch).unwrap(), Some(i));
        i = end;
    }
}

fn open(redex: &Redex, name: &ChannelName, config: CortexConfig) -> Adapter {
    CortexAdapter::open(redex, name, 1, Record, config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_racing_the_catch_up_loses_and_duplicates_nothing() {
    const HISTORY: u64 = 40_000;
    const LIVE: u64 = 40_000;
    const TOTAL: u64 = HISTORY + LIVE;
    for round in 0..3u64 {
        let redex = Redex::new();
        // A small live buffer makes the tail lag now and then, so the fold also goes back to
        // chunked reads and switches to the tail again while the writer runs.
        let config = CortexConfig::default()
            .with_file_config(RedexFileConfig::default().with_tail_buffer_events(32))
            .with_fold_batch_events(64);
        let name = ChannelName::new(format!("catch-up/race{round}")).unwrap();
        let file = redex.open_file(&name, config.file_config().clone()).unwrap();
        append_records(&file, 0..HISTORY, 1000);

        let adapter = open(&redex, &name, config);
        // Bursts of 1 to 97 events with pauses between them: the fold catches up in the pauses
        // and switches to the tail, and the longer bursts overflow the live buffer. The writer
        // counts the switches it sees (the fold's tail subscription coming and going).
        let writer = std::thread::spawn(move || {
            let mut i = HISTORY;
            let mut n = round + 1;
            let (mut on_tail, mut switches) = (false, 0u64);
            while i < TOTAL {
                let end = (i + n).min(TOTAL);
                append_records(&file, i..end, 8);
                i = end;
                n = n % 97 + 1;
                let now_on_tail = file.stats().tail_subscribers > 0;
                switches += u64::from(now_on_tail != on_tail);
                on_tail = now_on_tail;
                std::thread::sleep(Duration::from_micros(100));
            }
            switches
        });
        // Waiters meanwhile fold some events inline, which the task must then skip.
        let mut seq = round;
        while seq < TOTAL {
            adapter.wait_for_seq(seq).await.unwrap();
            seq += 7_919;
        }
        let switches = writer.join().unwrap();
        assert!(switches > 0, "round {round}: the fold never reached the tail while writing");
        adapter.wait_for_seq(TOTAL - 1).await.unwrap();
        assert!(*adapter.state().read() == model(0..TOTAL), "round {round}: state differs");
        assert_eq!(adapter.progress().status, FoldStatus::Running);
        assert_eq!(adapter.fold_errors(), 0);
        adapter.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fold_over_many_rolled_segments_applies_every_event_once() {
    const EVENTS: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let file_cfg =
        RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4 * 1024);
    let config = CortexConfig::default().with_file_config(file_cfg.clone());
    let name = ChannelName::new("catch-up/segments").unwrap();
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let file = redex.open_file(&name, file_cfg).unwrap();
        append_records(&file, 0..EVENTS, 10);
        file.close().unwrap();
    }

    // A replay from the first event, across every segment boundary.
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let adapter = open(&redex, &name, config.clone());
    let segments = adapter.file().segments().len();
    assert!(segments > 100, "history spans many segments ({segments})");
    adapter.wait_for_seq(EVENTS - 1).await.unwrap();
    assert!(*adapter.state().read() == model(0..EVENTS));
    adapter.close().await.unwrap();
    // The directory lock goes with the last handle.
    drop(adapter);
    drop(redex);

    // A fold started mid-segment, as after a snapshot: exactly the events after it.
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let at = 12_345;
    let adapter = CortexAdapter::open_with_state(
        &redex,
        &name,
        1,
        Record,
        config,
        model(0..at),
        Some(at - 1),
    )
    .unwrap();
    adapter.wait_for_seq(EVENTS - 1).await.unwrap();
    assert!(*adapter.state().read() == model(0..EVENTS));
    assert_eq!(adapter.fold_errors(), 0);
    adapter.close().await.unwrap();
}

/// On a current-thread runtime nothing else runs while the fold task does not yield, so this
/// shows the catch-up yields between chunks and sees `close` there.
#[tokio::test(flavor = "current_thread")]
async fn close_during_catch_up_stops_between_chunks() {
    const EVENTS: u64 = 100_000;
    let redex = Redex::new();
    let name = ChannelName::new("catch-up/close").unwrap();
    let config = CortexConfig::default();
    let file = redex.open_file(&name, config.file_config().clone()).unwrap();
    append_records(&file, 0..EVENTS, 1000);

    let adapter = open(&redex, &name, config);
    while adapter.progress().next_seq == 0 {
        tokio::task::yield_now().await;
    }
    adapter.close().await.unwrap();
    let progress = adapter.progress();
    assert_eq!(progress.status, FoldStatus::Closed);
    assert!(progress.next_seq < EVENTS, "stopped before the end, at {}", progress.next_seq);
    // The state holds exactly the prefix the progress reports.
    assert!(*adapter.state().read() == model(0..progress.next_seq));
    let wait = tokio::time::timeout(Duration::from_secs(10), adapter.wait_for_seq(EVENTS - 1));
    assert!(matches!(wait.await, Ok(Err(CortexError::Closed { .. }))));
    assert!(matches!(adapter.append(1, 0, b""), Err(CortexError::Closed { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_during_a_long_catch_up_returns_promptly() {
    const EVENTS: u64 = 300_000;
    let redex = Redex::new();
    let name = ChannelName::new("catch-up/close-mt").unwrap();
    let config = CortexConfig::default();
    let file = redex.open_file(&name, config.file_config().clone()).unwrap();
    append_records(&file, 0..EVENTS, 1000);

    let adapter = open(&redex, &name, config);
    while adapter.progress().next_seq == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), adapter.close()).await.unwrap().unwrap();
    let progress = adapter.progress();
    assert_eq!(progress.status, FoldStatus::Closed);
    assert!(*adapter.state().read() == model(0..progress.next_seq));
}

/// A log of valid records with bytes that are no event at seq `bad`.
fn log_with_bad_event(redex: &Redex, name: &ChannelName, config: &CortexConfig, bad: u64) {
    let file = redex.open_file(name, config.file_config().clone()).unwrap();
    append_records(&file, 0..bad, 100);
    assert_eq!(file.append(b"not an event").unwrap(), bad);
    append_records(&file, bad + 1..2 * bad, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_halts_on_a_bad_event_inside_a_history_chunk() {
    // Inside the second read chunk and inside one of its write-lock slices.
    const BAD: u64 = 5_000;
    let redex = Redex::new();
    let name = ChannelName::new("catch-up/stop").unwrap();
    let config = CortexConfig::default().with_error_policy(FoldErrorPolicy::Stop);
    log_with_bad_event(&redex, &name, &config, BAD);

    let adapter = open(&redex, &name, config);
    let err = adapter.wait_for_seq(2 * BAD - 1).await.unwrap_err();
    assert!(matches!(err, CortexError::FoldHalted { seq: BAD, .. }), "{err}");
    assert!(matches!(adapter.progress().status, FoldStatus::Halted { seq: BAD, .. }));
    assert!(*adapter.state().read() == model(0..BAD));
    // Appends are refused; a wait below the bad event still succeeds.
    assert!(matches!(adapter.append(1, 0, b""), Err(CortexError::FoldHalted { seq: BAD, .. })));
    adapter.wait_for_seq(BAD - 1).await.unwrap();
    adapter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_continue_skips_a_bad_event_inside_a_history_chunk() {
    const BAD: u64 = 5_000;
    let redex = Redex::new();
    let name = ChannelName::new("catch-up/skip").unwrap();
    let config = CortexConfig::default().with_error_policy(FoldErrorPolicy::LogAndContinue);
    log_with_bad_event(&redex, &name, &config, BAD);

    let adapter = open(&redex, &name, config);
    adapter.wait_for_seq(2 * BAD - 1).await.unwrap();
    let mut expected = model(0..BAD);
    expected.extend(model(BAD + 1..2 * BAD));
    assert!(*adapter.state().read() == expected);
    assert_eq!(adapter.fold_errors(), 1);
    assert_eq!(adapter.progress().status, FoldStatus::Running);
    adapter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_history_halts_under_stop_and_is_skipped_under_log_and_continue() {
    const EVENTS: u64 = 5_000;
    for policy in [FoldErrorPolicy::Stop, FoldErrorPolicy::LogAndContinue] {
        let redex = Redex::new();
        let name = ChannelName::new("catch-up/evicted").unwrap();
        let config = CortexConfig::default()
            .with_file_config(RedexFileConfig::default().with_retention(Retention::events(1000)))
            .with_error_policy(policy);
        let file = redex.open_file(&name, config.file_config().clone()).unwrap();
        append_records(&file, 0..EVENTS, 100);
        let head = file.head_seq();
        assert!(head > 0);

        // A state that claims nothing yet, so the fold starts below the retained head.
        let adapter =
            CortexAdapter::open_with_state(&redex, &name, 1, Record, config, Vec::new(), None)
                .unwrap();
        let waited = adapter.wait_for_seq(EVENTS - 1).await;
        match policy {
            FoldErrorPolicy::Stop => {
                let err = waited.unwrap_err();
                assert!(matches!(err, CortexError::FoldHalted { seq: 0, .. }), "{err}");
                assert!(err.to_string().contains("evicted"), "{err}");
                assert!(adapter.state().read().is_empty());
            }
            FoldErrorPolicy::LogAndContinue => {
                waited.unwrap();
                assert!(*adapter.state().read() == model(head..EVENTS));
                assert_eq!(adapter.fold_errors(), head);
            }
        }
        adapter.close().await.unwrap();
    }
}

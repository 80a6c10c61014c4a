//! Goal: a persistent file keeps at most `open_segments_max` warm segments open (mapped),
//! closing the least recently used one to open another, whatever is read (`read_range`, `get`,
//! `tail`, `read_range_async`) and however much warm history there is; a closed segment is
//! mapped again on its next read and gives back the same bytes; payloads handed out before a
//! close stay valid; the bound holds after reopening; a bound of 0 is refused. (Concurrent
//! readers under a tiny bound: warm_concurrent_readers.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use redex::{Bytes, ChannelName, Redex, RedexError, RedexFile, RedexFileConfig};

const BOUND: usize = 4;
const EVENTS: u64 = 40_000;

fn name() -> ChannelName {
    ChannelName::new("warm/bound").expect("name")
}

/// Payload of `seq`: 0 to 96 bytes (inline and in-log payloads), derived from the seq.
fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 7919 % 97) as usize;
    (0..len).map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8).collect()
}

fn cfg(bound: usize) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 * 1024)
        .with_open_segments_max(bound)
        .with_tail_buffer_events(1 << 16)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Appends `EVENTS` entries in batches of 17 and returns the model.
fn fill(file: &RedexFile) -> Vec<Vec<u8>> {
    let model: Vec<Vec<u8>> = (0..EVENTS).map(payload).collect();
    for chunk in model.chunks(17) {
        file.append_batch(chunk).expect("append");
    }
    file.sync().expect("sync");
    model
}

fn assert_bound(file: &RedexFile, bound: usize, what: &str) {
    let open = file.stats().warm_open_segments;
    assert!(open <= bound as u64, "{what}: {open} warm segments open, bound {bound}");
}

/// Reads the whole log four ways, comparing every entry with the model and checking the bound
/// after each read.
fn read_everything(file: &RedexFile, model: &[Vec<u8>], rt: &tokio::runtime::Runtime) {
    let n = model.len() as u64;
    let mut start = 0;
    while start < n {
        let events = file.read_range(start, start + 500).expect("read_range");
        assert!(!events.is_empty(), "read_range({start}) returned nothing");
        for ev in &events {
            assert_eq!(ev.payload[..], model[ev.seq as usize][..], "read_range seq {}", ev.seq);
        }
        assert_eq!(events[0].seq, start);
        start += events.len() as u64;
        assert_bound(file, BOUND, "read_range");
    }
    assert_eq!(start, n);

    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let seq = x % n;
        let ev = file.get(seq).expect("get").expect("present");
        assert_eq!(ev.payload[..], model[seq as usize][..], "get {seq}");
        assert_bound(file, BOUND, "get");
    }

    rt.block_on(async {
        let mut stream = Box::pin(file.tail(0));
        for want in 0..n {
            let ev = stream.next().await.expect("stream open").expect("tail");
            assert_eq!(ev.seq, want);
            assert_eq!(ev.payload[..], model[want as usize][..], "tail seq {want}");
            if want % 97 == 0 {
                assert_bound(file, BOUND, "tail");
            }
        }
    });

    let mut start = 0;
    while start < n {
        let f = file.clone();
        let events = rt
            .block_on(rt.spawn(async move { f.read_range_async(start, start + 700).await }))
            .expect("task")
            .expect("read_range_async");
        for ev in &events {
            assert_eq!(ev.payload[..], model[ev.seq as usize][..], "async seq {}", ev.seq);
        }
        start += events.len() as u64;
        assert_bound(file, BOUND, "read_range_async");
    }
    assert_eq!(start, n);
}

/// Holds payloads of the first warm segment, reads enough of the rest to close it, checks it was
/// closed (the next read of it re-opens it) and that the held bytes are intact.
fn held_payloads_survive_a_close(file: &RedexFile, model: &[Vec<u8>]) {
    let first = &file.segments()[0];
    assert_eq!(first.tier, redex::Tier::Warm);
    let held: Vec<(u64, Bytes)> = file
        .read_range(first.first_seq, first.next_seq)
        .expect("first segment")
        .into_iter()
        .map(|ev| (ev.seq, ev.payload))
        .collect();
    let one = file.get(first.first_seq + 1).expect("get").expect("present").payload;
    // Everything after the first segment, once: many more segments than the bound.
    let mut start = first.next_seq;
    while start < model.len() as u64 {
        start += file.read_range(start, start + 1000).expect("read").len() as u64;
    }
    let before = file.stats();
    file.get(first.first_seq).expect("get").expect("present");
    let after = file.stats();
    assert_eq!(
        after.warm_segment_reopens,
        before.warm_segment_reopens + 1,
        "the first segment should have been closed and re-opened"
    );
    for (seq, bytes) in &held {
        assert_eq!(bytes[..], model[*seq as usize][..], "held payload of seq {seq}");
    }
    assert_eq!(one[..], model[first.first_seq as usize + 1][..]);
}

#[test]
fn reads_stay_within_the_bound_and_match_the_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let model = {
        let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
        let file = redex.open_file(&name(), cfg(BOUND)).expect("open");
        let model = fill(&file);
        let warm = file.stats().warm.segments;
        assert!(warm >= 200, "only {warm} warm segments");
        assert_bound(&file, BOUND, "after appends");
        for _ in 0..2 {
            read_everything(&file, &model, &rt);
        }
        let s = file.stats();
        assert!(s.warm_segment_closes > 0 && s.warm_segment_reopens > 0, "{s:?}");
        assert!(s.warm_open_segments >= 1, "{s:?}");
        held_payloads_survive_a_close(&file, &model);

        let text = redex.prometheus_text();
        let sample = |metric: &str| -> u64 {
            let prefix = format!("{metric}{{channel=\"warm/bound\"}} ");
            let line = text.lines().find(|l| l.starts_with(&prefix)).expect(metric);
            line[prefix.len()..].parse().expect("value")
        };
        assert!(sample("redex_warm_open_segments") <= BOUND as u64);
        assert!(sample("redex_warm_segment_closes_total") > 0);
        assert!(sample("redex_warm_segment_reopens_total") > 0);
        file.close().expect("close");
        model
    };

    // Reopened, every warm segment is lazy again; the same holds.
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let file = redex.open_file(&name(), cfg(BOUND)).expect("reopen");
    assert_eq!(file.stats().warm_open_segments, 0);
    for _ in 0..2 {
        read_everything(&file, &model, &rt);
    }
    let s = file.stats();
    assert!(s.warm_segment_reopens > 0, "{s:?}");
    held_payloads_survive_a_close(&file, &model);
    let report = file.verify().expect("verify");
    assert_eq!(report.entries + file.stats().hot.events, EVENTS);
    assert_bound(&file, BOUND, "verify");
}

#[test]
fn a_bound_of_zero_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    match redex.open_file(&name(), cfg(0)) {
        Err(RedexError::InvalidConfig(why)) => assert!(why.contains("open_segments_max"), "{why}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert!(redex.open_file(&name(), cfg(1)).is_ok());
}

/// The cost of re-opening a closed segment: one `get` from a segment that was closed (bound 1,
/// alternating between two segments, so every read re-opens) against one from an open segment
/// (default bound). Run with
/// `cargo test --release -p redex --test warm_open_bound -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_reopen_cost() {
    fn per_get(bound: usize) -> (std::time::Duration, u64) {
        let dir = tempfile::tempdir().expect("tempdir");
        let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
        let cfg = RedexFileConfig::default()
            .with_persistent(true)
            .with_segment_bytes_max(4 << 20)
            .with_open_segments_max(bound);
        let file = redex.open_file(&name(), cfg).expect("open");
        let batch: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 64]).collect();
        while file.stats().warm.segments < 3 {
            file.append_batch(&batch).expect("append");
        }
        file.sync().expect("sync");
        let segs = file.segments();
        let (a, b) = (segs[0].first_seq + 10, segs[1].first_seq + 10);
        for seq in [a, b] {
            file.get(seq).expect("warm up").expect("present");
        }
        const ROUNDS: u32 = 20_000;
        let started = std::time::Instant::now();
        for i in 0..ROUNDS {
            let seq = if i % 2 == 0 { a } else { b };
            std::hint::black_box(file.get(seq).expect("get").expect("present"));
        }
        (started.elapsed() / ROUNDS, file.stats().warm_segment_reopens)
    }
    for _ in 0..3 {
        let (open, open_reopens) = per_get(1024);
        let (closed, closed_reopens) = per_get(1);
        println!(
            "get from an open segment: {open:?} ({open_reopens} re-opens); \
             from a closed one: {closed:?} ({closed_reopens} re-opens)"
        );
    }
}

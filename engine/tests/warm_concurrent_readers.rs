//! Goal: readers on several threads (`get`, `read_range`, `tail`) see exactly the appended bytes
//! while a writer appends through many rollovers and background freezes, also when the bound on
//! open warm segments is so small that readers keep closing and re-mapping each other's
//! segments (and the bound holds throughout).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 7919 % 97) as usize;
    (0..len).map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8).collect()
}

const EVENTS: u64 = 20_000;

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 << 10)
        .with_tail_buffer_events(1 << 20)
}

#[test]
fn readers_see_the_model_while_the_writer_rolls_over() {
    readers_see_the_model(cfg(), |_| {});
}

#[test]
fn readers_see_the_model_with_two_open_segments_at_most() {
    let file = readers_see_the_model(cfg().with_open_segments_max(2), |file| {
        let open = file.stats().warm_open_segments;
        assert!(open <= 2, "{open} warm segments open, bound 2");
    });
    let s = file.stats();
    assert!(s.warm_segment_closes > 0 && s.warm_segment_reopens > 0, "{s:?}");
}

/// Runs a tailer from 0, a `get` reader and two `read_range` readers at random seqs while
/// `EVENTS` entries are appended; `check` runs after every read. Returns the file, verified.
fn readers_see_the_model(cfg: RedexFileConfig, check: fn(&RedexFile)) -> RedexFile {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let file = redex.open_file(&ChannelName::new("conc").expect("name"), cfg).expect("open");
    let done = Arc::new(AtomicBool::new(false));

    let tailer = {
        let file = file.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            rt.block_on(async {
                let mut stream = Box::pin(file.tail(0));
                for want in 0..EVENTS {
                    let ev = stream.next().await.expect("stream open").expect("tail");
                    assert_eq!(ev.seq, want);
                    assert_eq!(ev.payload[..], payload(want)[..], "tail seq {want}");
                }
            })
        })
    };
    let readers: Vec<_> = (0..3u64)
        .map(|r| {
            let (file, done) = (file.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut x = r + 1;
                let mut checked = 0u64;
                while !done.load(Ordering::Acquire) || checked < 1000 {
                    let next = file.next_seq();
                    if next == 0 {
                        continue;
                    }
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let start = (x >> 33) % next;
                    if r == 0 {
                        let ev = file.get(start).expect("get").expect("present");
                        assert_eq!(ev.payload[..], payload(start)[..], "get {start}");
                    } else {
                        let events = file.read_range(start, start + 300).expect("read_range");
                        assert_eq!(events.first().map(|e| e.seq), Some(start));
                        for (i, ev) in events.iter().enumerate() {
                            assert_eq!(ev.seq, start + i as u64);
                            assert_eq!(ev.payload[..], payload(ev.seq)[..], "range seq {}", ev.seq);
                        }
                    }
                    check(&file);
                    checked += 1;
                }
            })
        })
        .collect();
    let mut seq = 0;
    while seq < EVENTS {
        let batch: Vec<Vec<u8>> = (seq..(seq + 17).min(EVENTS)).map(payload).collect();
        file.append_batch(&batch).expect("append");
        seq += batch.len() as u64;
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("reader");
    }
    tailer.join().expect("tailer");
    let report = file.verify().expect("verify");
    assert!(report.frozen_segments > 20, "{report:?}");
    check(&file);
    file
}

//! Goal: readers on several threads (`get`, `read_range`, `tail`) see exactly the appended bytes
//! while a writer appends through many rollovers and background freezes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use redex::{ChannelName, Redex, RedexFileConfig};

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 7919 % 97) as usize;
    (0..len).map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8).collect()
}

const EVENTS: u64 = 20_000;

#[test]
fn readers_see_the_model_while_the_writer_rolls_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(8 << 10)
        .with_tail_buffer_events(1 << 20);
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
                        for ev in file.read_range(start, start + 300).expect("read_range") {
                            assert_eq!(ev.payload[..], payload(ev.seq)[..], "range seq {}", ev.seq);
                        }
                    }
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
}

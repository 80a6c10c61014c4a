//! The scale run: appends N small events (inline, 8 bytes) in batches to a persistent log,
//! optionally with retention, while a reader thread reads random positions across tiers; prints
//! throughput, disk use and the process's anonymous memory (`RssAnon`) as it goes, then the
//! reopen time of the full history.
//!
//! ```text
//! cargo run --release -p redex --example scale -- [EVENTS] [BATCH] [RETAIN_EVENTS] [DIR]
//! cargo run --release -p redex --example scale -- 1000000000 1024 0 /var/tmp/redex-scale
//! ```
//! `RETAIN_EVENTS` 0 keeps everything. Results for this machine are in docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use redex::{ChannelName, Redex, RedexFileConfig, Retention};

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn disk_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let events = arg(1, 10_000_000);
    let batch = arg(2, 1024) as usize;
    let retain = arg(3, 0);
    let tmp;
    let dir = match args.get(4) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let name = ChannelName::new("scale/events")?;
    let mut cfg = RedexFileConfig::default().with_persistent(true);
    if retain > 0 {
        cfg = cfg.with_retention(Retention::events(retain));
    }
    let rss_start = rss_anon_kib();
    println!(
        "scale: {events} events of 8 B in batches of {batch}, retain {retain} (0 = all), dir {}",
        dir.display()
    );
    println!(
        "{:>14} {:>9} {:>12} {:>12} {:>12} {:>12}",
        "events", "secs", "M ev/s", "disk MiB", "RssAnon KiB", "reads"
    );
    let redex = Redex::with_persistent_dir(&dir)?;
    let file = redex.open_file(&name, cfg.clone())?;
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = {
        let (file, stop, reads) = (file.clone(), Arc::clone(&stop), Arc::clone(&reads));
        std::thread::spawn(move || {
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            while !stop.load(Ordering::Relaxed) {
                let (head, next) = (file.head_seq(), file.next_seq());
                if next > head {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let seq = head + x % (next - head);
                    match file.get(seq) {
                        Ok(Some(ev)) => {
                            assert_eq!(ev.payload[..], seq.to_le_bytes()[..], "seq {seq}")
                        }
                        Ok(None) | Err(redex::RedexError::Evicted { .. }) => {}
                        Err(e) => panic!("read of {seq}: {e}"),
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let started = Instant::now();
    let mut seq = 0u64;
    let mut next_report = events / 20;
    let mut buf: Vec<[u8; 8]> = Vec::with_capacity(batch);
    while seq < events {
        buf.clear();
        let n = (events - seq).min(batch as u64);
        buf.extend((seq..seq + n).map(u64::to_le_bytes));
        file.append_batch(&buf)?;
        seq += n;
        if seq >= next_report || seq == events {
            next_report += events / 20;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{seq:>14} {secs:>9.1} {:>12.2} {:>12} {:>12} {:>12}",
                seq as f64 / secs / 1e6,
                disk_bytes(&dir) >> 20,
                rss_anon_kib().saturating_sub(rss_start),
                reads.load(Ordering::Relaxed)
            );
        }
    }
    file.sync()?;
    stop.store(true, Ordering::Relaxed);
    reader.join().map_err(|_| "reader panicked")?;
    let appended = started.elapsed();
    let stats = file.stats();
    println!(
        "appended {events} in {appended:?}: {:.2} M ev/s; segments hot {} warm {}; retained {} events",
        events as f64 / appended.as_secs_f64() / 1e6,
        stats.hot.segments,
        stats.warm.segments,
        stats.next_seq - stats.head_seq
    );
    file.close()?;
    drop((file, redex));
    for _ in 0..3 {
        let t = Instant::now();
        let redex = Redex::with_persistent_dir(&dir)?;
        let file = redex.open_file(&name, cfg.clone())?;
        let took = t.elapsed();
        let last = file.get(file.next_seq() - 1)?.map(|e| e.payload);
        println!(
            "reopen: {took:?} for {} events (last entry readable: {})",
            file.next_seq(),
            last.is_some()
        );
    }
    println!("RssAnon growth at the end: {} KiB", rss_anon_kib().saturating_sub(rss_start));
    Ok(())
}

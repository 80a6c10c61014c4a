//! Goal: the anonymous memory of a process holding a persistent log does not grow with the
//! number of frozen segments: payloads live in the page cache and a frozen segment costs only a
//! few hundred bytes of metadata.

use redex::{ChannelName, Redex, RedexFileConfig};

fn rss_anon_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn rss_anon_stays_flat_across_hundreds_of_segments() {
    let Some(before) = rss_anon_bytes() else {
        eprintln!("no /proc/self/status RssAnon on this system; nothing to check");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(64 << 10);
    let file = redex.open_file(&ChannelName::new("mem").expect("name"), cfg).expect("open");
    let batch: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 256]).collect();
    // 64 MiB of payload in 64 KiB segments: about a thousand frozen segments.
    for _ in 0..4096 {
        file.append_batch(&batch).expect("append");
    }
    file.sync().expect("sync");
    // Read everything once so every frozen segment is mapped too.
    let mut start = 0;
    while start < file.next_seq() {
        start += file.read_range(start, start + 4096).expect("read").len() as u64;
    }
    let after = rss_anon_bytes().expect("RssAnon");
    let growth = after.saturating_sub(before);
    eprintln!(
        "RssAnon {} KiB -> {} KiB for {} entries",
        before >> 10,
        after >> 10,
        file.next_seq()
    );
    assert!(
        growth < 32 << 20,
        "RssAnon grew by {} KiB holding {} entries (64 MiB of payload)",
        growth >> 10,
        file.next_seq()
    );
}

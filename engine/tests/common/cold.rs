//! Helpers shared by the cold-tier tests.
#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::time::{Duration, Instant};

use redex::RedexFile;

/// Mixed sizes: inline (<= 8 B), small, and multi-KiB payloads, so segments roll often; the
/// bytes depend on `seq`, so a misplaced entry shows.
pub fn payload(seq: u64) -> Vec<u8> {
    let len = match seq % 7 {
        0 => 3,
        1..=4 => 20 + (seq % 90) as usize,
        5 => 700,
        _ => 2500,
    };
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

/// Waits (up to 30 s) until archival has nothing left to do.
pub fn settle(f: &RedexFile) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        f.apply_retention().expect("retention");
        if f.stats().cold_tier.is_some_and(|c| c.pending_segments == 0) {
            return;
        }
        assert!(Instant::now() < deadline, "archival did not settle: {:?}", f.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
}

//! Appends a million events to a persistent log in a temporary directory, reopens it, reads
//! everything back and checks it, printing the time each phase took.
//!
//! `cargo run --release -p redex --example append_readback`

use std::time::Instant;

use redex::{ChannelName, Redex, RedexFileConfig};

const EVENTS: u64 = 1_000_000;
const BATCH: usize = 64;
const PAYLOAD_BYTES: usize = 64;

fn payload(seq: u64) -> [u8; PAYLOAD_BYTES] {
    let mut p = [0u8; PAYLOAD_BYTES];
    for (i, chunk) in p.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(seq.wrapping_mul(31).wrapping_add(i as u64)).to_le_bytes());
    }
    p
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let name = ChannelName::new("example/events")?;
    let cfg = RedexFileConfig::default().with_persistent(true);

    let redex = Redex::with_persistent_dir(dir.path())?;
    let file = redex.open_file(&name, cfg.clone())?;
    let started = Instant::now();
    let mut seq = 0;
    while seq < EVENTS {
        let batch: Vec<_> = (seq..seq + BATCH as u64).map(payload).collect();
        file.append_batch(&batch)?;
        seq += BATCH as u64;
    }
    file.sync()?;
    let append = started.elapsed();
    file.close()?;
    drop((file, redex));

    let started = Instant::now();
    let redex = Redex::with_persistent_dir(dir.path())?;
    let file = redex.open_file(&name, cfg)?;
    let reopen = started.elapsed();

    let started = Instant::now();
    let mut checked = 0u64;
    while checked < file.next_seq() {
        for ev in file.read_range(checked, checked + 4096)? {
            if ev.payload[..] != payload(ev.seq)[..] {
                return Err(format!("seq {} read back wrong bytes", ev.seq).into());
            }
            checked += 1;
        }
    }
    let read = started.elapsed();

    let rate = |d: std::time::Duration| seq as f64 / d.as_secs_f64() / 1e6;
    println!("appended {seq} x {PAYLOAD_BYTES} B in batches of {BATCH}: {append:?} ({:.2} M events/s, synced)", rate(append));
    println!("reopened in {reopen:?}");
    println!("read back and verified {checked} events: {read:?} ({:.2} M events/s)", rate(read));
    Ok(())
}

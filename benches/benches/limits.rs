//! This machine's own limits: memcpy bandwidth (64 MiB buffers), sequential write bandwidth
//! (256 MiB in 1 MiB chunks, with and without a final fdatasync) and the latency of a 64 B
//! write + fdatasync. Engine figures are read against these ceilings.
//!
//! Each figure is the median of several repetitions, measured by `redex_benches::limits` and
//! printed rather than run through criterion's sampler (each measurement already repeats itself
//! and keeps to a few seconds). Files go to a temporary directory under `$REDEX_BENCH_DIR`, or
//! under the system temporary directory when it is unset; point it at the disk the logs use.
//!
//! ```text
//! cargo bench -p redex-benches --bench limits                 # all limits, 15 s at most
//! cargo bench -p redex-benches --bench limits -- fsync        # only names containing "fsync"
//! ```
//!
//! Built as a test (`cargo test --benches`), it runs each measurement once on tiny inputs.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use redex_benches::limits;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Cargo passes `--bench` when benchmarking; without it we are a smoke test.
    let full = args.iter().any(|a| a == "--bench");
    // The first argument that is not a flag filters measurements by name, as criterion does.
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));

    let base = std::env::var_os("REDEX_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(&base)?;
    println!("machine limits (temporary files in {})", base.display());

    if wanted("memcpy") {
        let r = if full {
            limits::memcpy_bandwidth()?
        } else {
            limits::memcpy_bandwidth_with(1 << 20, Duration::ZERO)?
        };
        println!("limits/memcpy_64MiB                  {r}");
    }
    for (name, sync) in [("write_seq_buffered", false), ("write_seq_fdatasync", true)] {
        if wanted(name) {
            let r = if full {
                limits::sequential_write_bandwidth(dir.path(), sync)?
            } else {
                limits::sequential_write_bandwidth_with(dir.path(), sync, 1 << 20, Duration::ZERO)?
            };
            println!("limits/{name:<30}{r}");
        }
    }
    if wanted("fsync") {
        let r = if full {
            limits::fsync_latency(dir.path())?
        } else {
            limits::fsync_latency_with(dir.path(), 3, Duration::ZERO)?
        };
        println!("limits/fsync_64B                     {r}");
    }
    Ok(())
}

//! `cold-bench`: the cold tier against the warm tier it offloads, in one run.
//!
//! For each store (a local directory, and the S3-compatible server named by `REDEX_S3_*` when
//! set; see `.ci/s3-server`), a log of `--events` payloads of `--payload` bytes is archived
//! (every frozen segment), then read back:
//! - `first event`: latency of one `get` on a freshly opened file (empty cache): the header and
//!   index fetch plus one log block;
//! - `scan, cold cache` / `scan, warm cache`: `read_range` in chunks of 1024 over all of it
//!   (the cache, 1 GiB here, holds the whole archived log for the second scan);
//! - beside the same scans of the same data kept warm (mmap), in the same run.
//!
//! Then archive cost on the append path: batches appended for `--seconds` with no cold store,
//! and with archival running all the time (a warm window of one event: every segment is
//! archived as soon as it freezes, the steady state of a log whose history all goes cold);
//! the ratio is the slowdown. Every figure is the median of `--runs` runs.
//!
//! ```text
//! cargo run --release -p redex-benches --bin cold-bench -- --events 2000000 --payload 256
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use redex::{
    ChannelName, ColdStore, LocalDirColdStore, Redex, RedexFile, RedexFileConfig, Retention,
    S3ColdStore, S3Config, Tier,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Opts {
    events: u64,
    payload: usize,
    runs: usize,
    seconds: f64,
}

const USAGE: &str = "usage: cold-bench [--events N (1000000)] [--payload BYTES (256)] \
                     [--runs N (5)] [--seconds S (3)]\n\
                     S3 store too when REDEX_S3_ENDPOINT (and _BUCKET, _ACCESS_KEY, \
                     _SECRET_KEY) are set; see .ci/s3-server";

/// The options, or `None` after printing the usage for `-h` / `--help`.
fn opts() -> Res<Option<Opts>> {
    let mut o = Opts { events: 1_000_000, payload: 256, runs: 5, seconds: 3.0 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(None);
    }
    for pair in args.chunks(2) {
        let value = pair.get(1).ok_or(format!("{} takes a value (see --help)", pair[0]))?;
        match pair[0].as_str() {
            "--events" => o.events = value.parse()?,
            "--payload" => o.payload = value.parse()?,
            "--runs" => o.runs = value.parse()?,
            "--seconds" => o.seconds = value.parse()?,
            other => return Err(format!("unknown flag {other} (see --help)").into()),
        }
    }
    Ok(Some(o))
}

const SEGMENT_BYTES: u64 = 16 << 20;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The S3 store `REDEX_S3_*` describe, under `prefix` instead of `REDEX_S3_PREFIX`; `None`
/// when `REDEX_S3_ENDPOINT` is unset.
fn s3_from_env(prefix: &str) -> Res<Option<S3ColdStore>> {
    let Some(mut config) = S3Config::from_env()? else { return Ok(None) };
    config.prefix = prefix.to_owned();
    Ok(Some(S3ColdStore::new(config)?))
}

fn config(store: Option<Arc<dyn ColdStore>>) -> RedexFileConfig {
    let cfg =
        RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(SEGMENT_BYTES);
    match store {
        Some(s) => cfg
            .with_cold_store(s)
            .with_warm_retention(Retention::events(1))
            .with_cold_cache_bytes(1 << 30),
        None => cfg,
    }
}

fn fill(f: &RedexFile, events: u64, payload: usize) -> Res<()> {
    let batch: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; payload]).collect();
    let mut n = 0;
    while n < events {
        let k = (events - n).min(64) as usize;
        f.append_batch(&batch[..k])?;
        n += k as u64;
    }
    f.sync()?;
    Ok(())
}

/// Waits until every frozen segment is cold.
fn settle(f: &RedexFile) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        f.apply_retention()?;
        let cold = f.stats().cold_tier.ok_or("no cold tier")?;
        if cold.pending_segments == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("archival did not finish: {cold:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `start..end` in chunks of 1024; returns events per second.
fn scan(f: &RedexFile, start: u64, end: u64) -> Res<f64> {
    let t = Instant::now();
    let mut seq = start;
    while seq < end {
        let got = f.read_range(seq, (seq + 1024).min(end))?;
        seq += got.len().max(1) as u64;
    }
    Ok((end - start) as f64 / t.elapsed().as_secs_f64())
}

fn cold_range(f: &RedexFile) -> (u64, u64) {
    let cold: Vec<_> = f.segments().into_iter().filter(|s| s.tier == Tier::Cold).collect();
    (cold.first().map_or(0, |s| s.first_seq), cold.last().map_or(0, |s| s.next_seq))
}

fn reads(label: &str, store: Arc<dyn ColdStore>, o: &Opts) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let name = ChannelName::new("bench/cold")?;
    {
        let redex = Redex::with_persistent_dir(dir.path())?;
        let f = redex.open_file(&name, config(Some(Arc::clone(&store))))?;
        let t = Instant::now();
        fill(&f, o.events, o.payload)?;
        settle(&f)?;
        let bytes = o.events as f64 * o.payload as f64;
        println!(
            "{label}: filled and archived {} events in {:.1} s ({:.0} MB/s of payload end to end)",
            o.events,
            t.elapsed().as_secs_f64(),
            bytes / t.elapsed().as_secs_f64() / 1e6
        );
        f.close()?;
    }
    let (mut first, mut cold_miss, mut cold_hit) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fetched, mut range) = (0, (0, 0));
    for _ in 0..o.runs {
        let redex = Redex::with_persistent_dir(dir.path())?;
        let f = redex.open_file(&name, config(Some(Arc::clone(&store))))?;
        let (start, end) = cold_range(&f);
        if start == end {
            println!("{label}: no segment went cold; raise --events above two segments' worth");
            return Ok(());
        }
        range = (start, end);
        let probe = start + (end - start) / 2;
        let t = Instant::now();
        f.get(probe)?.ok_or("missing")?;
        first.push(t.elapsed().as_secs_f64() * 1e6);
        f.close()?;
        drop((f, redex));
        let redex = Redex::with_persistent_dir(dir.path())?;
        let f = redex.open_file(&name, config(Some(Arc::clone(&store))))?;
        cold_miss.push(scan(&f, start, end)?);
        cold_hit.push(scan(&f, start, end)?);
        fetched = f.stats().cold_tier.map_or(0, |c| c.fetched_bytes);
        f.close()?;
    }
    println!(
        "{label}: cold seqs {}..{}; first event on a fresh open {:.0} us; scan with a cold \
         cache {:.2} M ev/s, warm cache {:.2} M ev/s; {:.1} MB fetched per open",
        range.0,
        range.1,
        median(first),
        median(cold_miss) / 1e6,
        median(cold_hit) / 1e6,
        fetched as f64 / 1e6
    );
    Ok(())
}

fn warm_reads(o: &Opts) -> Res<f64> {
    let dir = tempfile::tempdir()?;
    let name = ChannelName::new("bench/warm")?;
    let redex = Redex::with_persistent_dir(dir.path())?;
    let f = redex.open_file(&name, config(None))?;
    fill(&f, o.events, o.payload)?;
    let mut runs = Vec::new();
    for _ in 0..o.runs {
        runs.push(scan(&f, 0, o.events)?);
    }
    Ok(median(runs))
}

/// Appends batches of 64 for `seconds`; events per second.
fn sustained(store: Option<Arc<dyn ColdStore>>, o: &Opts) -> Res<(f64, u64)> {
    let dir = tempfile::tempdir()?;
    let redex = Redex::with_persistent_dir(dir.path())?;
    let cfg = config(store).with_segment_bytes_max(4 << 20);
    let cfg = if cfg.cold().store.is_some() {
        cfg.with_warm_retention(Retention::events(1))
    } else {
        cfg
    };
    let f = redex.open_file(&ChannelName::new("bench/sustained")?, cfg)?;
    let batch: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; o.payload]).collect();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < o.seconds {
        f.append_batch(&batch)?;
        n += 64;
        if n.is_multiple_of(64 * 1024) {
            f.apply_retention()?;
        }
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let archived = f.stats().cold_tier.map_or(0, |c| c.archived_segments);
    f.close()?;
    Ok((rate, archived))
}

fn main() -> Res<()> {
    let Some(o) = opts()? else { return Ok(()) };
    println!("cold-bench: {} events x {} B, {} runs, medians", o.events, o.payload, o.runs);
    let warm = warm_reads(&o)?;
    println!("warm (mmap) scan: {:.2} M ev/s", warm / 1e6);
    let archive_dir = tempfile::tempdir()?;
    let dir_store: Arc<dyn ColdStore> = Arc::new(LocalDirColdStore::new(archive_dir.path())?);
    reads("dir", Arc::clone(&dir_store), &o)?;
    let prefix = format!("cold-bench-{}", std::process::id());
    let s3 = s3_from_env(&prefix)?;
    match &s3 {
        Some(s3) => reads("s3", Arc::new(s3.clone()), &o)?,
        None => {
            println!("s3: skipped (run `eval \"$(.ci/s3-server)\"` to start a local S3 server)")
        }
    }
    let (mut plain, mut dir_rates, mut s3_rates) = (Vec::new(), Vec::new(), Vec::new());
    let mut archived = (0, 0);
    for _ in 0..o.runs {
        plain.push(sustained(None, &o)?.0);
        let (r, a) = sustained(Some(Arc::clone(&dir_store)), &o)?;
        dir_rates.push(r);
        archived.0 = a;
        if let Some(s3) = &s3 {
            let (r, a) = sustained(Some(Arc::new(s3.clone())), &o)?;
            s3_rates.push(r);
            archived.1 = a;
        }
    }
    let base = median(plain);
    println!(
        "sustained appends (64 x {} B batches, {} s): no cold store {:.2} M ev/s",
        o.payload,
        o.seconds,
        base / 1e6
    );
    let dir_rate = median(dir_rates);
    println!(
        "  archiving to dir: {:.2} M ev/s = {:.3}x ({} segments archived in the last run)",
        dir_rate / 1e6,
        dir_rate / base,
        archived.0
    );
    if !s3_rates.is_empty() {
        let s3_rate = median(s3_rates);
        println!(
            "  archiving to s3:  {:.2} M ev/s = {:.3}x ({} segments archived in the last run)",
            s3_rate / 1e6,
            s3_rate / base,
            archived.1
        );
    }
    Ok(())
}

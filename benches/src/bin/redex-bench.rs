//! `redex-bench`: the RedEX benchmark harness.
//!
//! With no arguments it runs the quick suite (every available scenario, a couple of minutes on
//! 2 cores) in a fresh temporary directory, measures this machine's limits in the same run, and
//! prints a table with every figure's ratio to its limit and, when built with `--features peers`,
//! to the same workload on net-mesh's RedEX and on batpak.
//!
//! ```text
//! cargo run --release -p redex-benches --bin redex-bench
//! cargo run --release -p redex-benches --features peers --bin redex-bench -- --json out.json
//! cargo run --release -p redex-benches --bin redex-bench -- --scenario durable --fsync every-n:64
//! cargo run --release -p redex-benches --bin redex-bench -- --scenario backends --full
//! cargo run --release -p redex-benches --bin redex-bench -- --scenario append --backend both
//! cargo run --release -p redex-benches --bin redex-bench -- --scenario soak --duration-secs 900
//! ```
//!
//! `soak` is not part of the default suite: it runs only when named.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;
use redex_benches::harness::options::{BackendArg, FsyncArg, Options, Profile};
use redex_benches::harness::scenario::registry;
use redex_benches::harness::{output, plot, report};

/// The RedEX benchmark harness: scenarios against our engine (and, with --features peers,
/// net-mesh's RedEX and batpak) next to this machine's own limits.
#[derive(Debug, Parser)]
#[command(name = "redex-bench", version, after_help = scenario_help())]
struct Args {
    /// Scenario to run (repeatable); default: every available one.
    #[arg(long = "scenario", value_name = "NAME", value_parser = scenario_names())]
    scenarios: Vec<String>,
    /// Most events per (case, system) run (default: 200000 quick, 2000000 full).
    #[arg(long, value_name = "N")]
    events: Option<u64>,
    /// Payload size in bytes (default: 64, plus 1024 for the batch-append cases).
    #[arg(long, value_name = "BYTES")]
    payload: Option<usize>,
    /// Payloads per append_batch call.
    #[arg(long, value_name = "N", default_value_t = 64)]
    batch: usize,
    /// Fsync policy of persistent logs: never, every-n:N or interval-ms:N.
    #[arg(long, value_name = "POLICY", default_value = "never")]
    fsync: FsyncArg,
    /// Append backend of our engine: auto, io_uring, std, or both (every case on each,
    /// as the systems redex:io_uring and redex:std). The backends scenario compares both
    /// unless this names one.
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    backend: BackendArg,
    /// Directory to put the run's temporary directory in (the disk under test).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Write the full results as JSON here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write one CSV line per (scenario, case, system) here.
    #[arg(long, value_name = "PATH")]
    csv: Option<PathBuf>,
    /// Write SVG charts (throughput, latency, RSS over time) into this directory.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// The quick profile (the default).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The full profile: 10x the events and time budget of --quick, full-size machine limits.
    #[arg(long)]
    full: bool,
    /// How long the soak scenario runs after its warm-up, in seconds (default 20).
    #[arg(long, value_name = "SECS")]
    duration_secs: Option<u64>,
    /// How often the soak scenario samples RssAnon, descriptors, mappings, threads and disk
    /// use, in seconds (default: about 30 samples over the run).
    #[arg(long, value_name = "SECS")]
    sample_secs: Option<u64>,
}

fn scenario_names() -> Vec<&'static str> {
    registry().iter().map(|e| e.name()).collect()
}

fn scenario_help() -> String {
    use redex_benches::harness::scenario::Entry;
    let mut s = String::from("Scenarios:\n");
    for e in registry() {
        match e {
            Entry::Available(sc) => s.push_str(&format!("  {:<10} {}\n", sc.name(), sc.summary())),
            Entry::Planned { name, reason } => {
                s.push_str(&format!("  {name:<10} not available yet: {reason}\n"))
            }
        }
    }
    s
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("redex-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> redex_benches::harness::Result<()> {
    let profile = if args.full { Profile::Full } else { Profile::Quick };
    let mut options = Options::new(profile);
    options.scenarios = args.scenarios;
    if let Some(events) = args.events {
        options.events = events.max(1);
    }
    options.payload_bytes = args.payload;
    options.batch_len = args.batch.max(1);
    options.fsync = args.fsync;
    options.backend = args.backend;
    options.dir = args.dir;
    if let Some(secs) = args.duration_secs {
        options.soak_duration = std::time::Duration::from_secs(secs.max(1));
    }
    options.soak_sample = args.sample_secs.map(|s| std::time::Duration::from_secs(s.max(1)));
    let tty = std::io::stdout().is_terminal();
    options.progress = tty;

    let report = redex_benches::harness::run(&options, &mut |line| eprintln!("{line}"))?;
    println!("{}", report::render(&report));
    if let Some(path) = &args.json {
        output::write_json(&report, path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.csv {
        output::write_csv(&report, path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(dir) = &args.plot {
        for path in plot::write_all(&report, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

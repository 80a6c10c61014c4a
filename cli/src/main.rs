//! `redex`: the command-line tool for operators of daemons that embed RedEX.
//!
//! Every command but `bench` opens the directory with `Redex::open_read_only`: no lock, no
//! byte changed on disk, so it is safe to run against a directory a live writer holds.
//!
//! - [`inspect`]: channels, segments per tier, seq and time ranges, sizes, head, versions.
//! - [`verify`]: every checksum of every frozen segment, with a progress bar; archived ones
//!   too with a cold store, else they are counted as not checked.
//! - [`dump`]: entries by seq range and time, as raw bytes, hex or JSON lines.
//! - [`tail`]: the last entries, then new ones by polling (`--follow`).
//! - [`mod@bench`]: the `redex-bench` harness, arguments passed through.
//!
//! Archived (cold) history is read from the store the writer archives to, named by the options
//! `--cold-dir PATH` (a `LocalDirColdStore` directory) or `--cold-s3` (an `S3ColdStore`
//! configured by the `REDEX_S3_*` environment variables; see [`cold`]), given before the command
//! or after it (not to `bench`, whose arguments all go to the harness). The store is only read:
//! a read-only open never uploads, deletes an object or sweeps orphans. Without either option
//! archived segments are listed but not read.
//!
//! `docs/OPERATIONS.md` is the operator's guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bench;
mod cold;
mod dump;
mod error;
mod inspect;
mod open;
mod output;
mod tail;
mod time;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::output::{Format, Out};

const EXIT_CODES: &str = "\
Archived history:
  Segments a writer archived to a cold store are read from it with --cold-dir PATH (the
  LocalDirColdStore directory) or --cold-s3 (an S3-compatible bucket named by environment
  variables: REDEX_S3_ENDPOINT, REDEX_S3_BUCKET, REDEX_S3_ACCESS_KEY, REDEX_S3_SECRET_KEY, and
  optionally REDEX_S3_PREFIX, the writer's S3Config::prefix, and REDEX_S3_REGION, default
  us-east-1). verify then fetches and checks every archived segment, and dump and tail read
  archived entries. Without them, archived segments are listed but not checked or read. The
  store is only read: nothing is uploaded or deleted.

Exit status:
  0  success
  1  error: a directory or channel that cannot be opened or read, an I/O error, an
     unsupported format version, a bad argument value (the message names the file)
  2  the command line did not parse
  3  damaged data: verify found a checksum, footer or manifest problem, or a read hit one
     (each problem is printed with its file and byte offset)
  redex bench exits with the status of redex-bench.

Read-only commands (inspect, verify, dump, tail) take no lock and change nothing on disk:
they are safe against a directory a live writer holds. See docs/OPERATIONS.md.";

/// Inspect, verify, dump and tail RedEX logs; run the benchmark harness.
#[derive(Debug, Parser)]
#[command(name = "redex", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    cold: ColdArgs,
    #[command(subcommand)]
    command: Command,
}

/// The cold store option, accepted before the command and after it. (Not a clap `global`
/// option: that would also take it out of `bench`'s arguments, which go to the harness
/// unchanged.)
#[derive(Debug, Default, clap::Args)]
struct ColdArgs {
    /// Read archived segments from this cold-store directory (the LocalDirColdStore the writer
    /// archives to); it must exist.
    #[arg(long, value_name = "PATH", conflicts_with = "cold_s3")]
    cold_dir: Option<PathBuf>,
    /// Read archived segments from the S3-compatible store named by REDEX_S3_ENDPOINT,
    /// REDEX_S3_BUCKET, REDEX_S3_ACCESS_KEY, REDEX_S3_SECRET_KEY and optionally
    /// REDEX_S3_PREFIX (the writer's S3Config::prefix) and REDEX_S3_REGION.
    #[arg(long)]
    cold_s3: bool,
}

impl ColdArgs {
    /// The store named before the command and the one named after it: at most one.
    fn merge(self, after: ColdArgs) -> CliResult<ColdArgs> {
        let given = |a: &ColdArgs| a.cold_dir.is_some() || a.cold_s3;
        match (given(&self), given(&after)) {
            (true, true) => Err(CliError::Message(
                "the cold store is given twice (before and after the command); give it once"
                    .to_string(),
            )),
            (true, false) => Ok(self),
            (false, _) => Ok(after),
        }
    }

    /// The store these name, if any.
    fn store(&self) -> CliResult<Option<cold::Cold>> {
        cold::from_args(self.cold_dir.as_deref(), self.cold_s3)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Shows channels, segments per tier, seq and time ranges, sizes and format versions.
    ///
    /// Per channel: every segment with its tier, seq range, time range and sizes, the
    /// retained head, the next seq; and the format versions this build reads.
    #[command(after_help = EXIT_CODES)]
    Inspect {
        /// The base directory (the one a writer opens with Redex::with_persistent_dir).
        dir: PathBuf,
        /// Only this channel (default: every channel).
        channel: Option<String>,
        #[command(flatten)]
        cold: ColdArgs,
    },
    /// Checks every checksum of every frozen segment; exits 3 on damage.
    ///
    /// Checks the index body, every record, frame, payload and timestamp, the header, the
    /// footer and the manifest record of each frozen segment, with a progress bar when stderr
    /// is a terminal. Prints each problem with its file (or archived object) and byte offset.
    /// Archived segments are fetched whole from the cold store and checked the same way with
    /// --cold-dir or --cold-s3; without a store they are counted as not checked.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The base directory.
        dir: PathBuf,
        /// Only this channel (default: every channel).
        channel: Option<String>,
        #[command(flatten)]
        cold: ColdArgs,
    },
    /// Prints a channel's entries.
    #[command(after_help = EXIT_CODES)]
    Dump {
        /// The base directory.
        dir: PathBuf,
        /// The channel.
        channel: String,
        /// First seq to print (default: the first one on disk).
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
        /// Stop before this seq: exclusive (default: print to the end).
        #[arg(long, value_name = "SEQ")]
        to: Option<u64>,
        /// Only entries appended at or after TIME: Unix nanoseconds or RFC 3339
        /// (2024-01-02T03:04:05Z, 2024-01-02T05:04:05.5+02:00).
        #[arg(long, value_name = "TIME", value_parser = time::parse_time_ns)]
        since: Option<u64>,
        /// Output format: raw = payload bytes, each followed by a newline; hex = one line per
        /// entry: seq, RFC 3339 time, length, payload in hex; json = one object per line with
        /// seq, timestamp_ns, len and payload_base64 (standard base64, padded).
        #[arg(long, value_enum, default_value = "hex")]
        format: Format,
        /// Salvage mode: report each damaged entry on stderr and go on with the next one
        /// (the exit status is still 3).
        #[arg(long)]
        skip_damaged: bool,
        #[command(flatten)]
        cold: ColdArgs,
    },
    /// Prints the last entries of a channel, then new ones with --follow.
    ///
    /// With --follow it polls: every interval it checks the channel's directory and, when it
    /// changed, reopens the channel read-only and prints the new entries, until interrupted.
    #[command(after_help = EXIT_CODES)]
    Tail {
        /// The base directory.
        dir: PathBuf,
        /// The channel.
        channel: String,
        /// How many of the last entries to print first.
        #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
        lines: u64,
        /// Keep printing entries as they are appended.
        #[arg(short, long)]
        follow: bool,
        /// Milliseconds between polls with --follow.
        #[arg(long, value_name = "MS", default_value_t = 500)]
        poll_interval_ms: u64,
        /// Stop following after N polls (for tests).
        #[arg(long, value_name = "N", hide = true)]
        max_polls: Option<u64>,
        /// Output format (as for dump).
        #[arg(long, value_enum, default_value = "hex")]
        format: Format,
        #[command(flatten)]
        cold: ColdArgs,
    },
    /// Runs the benchmark harness (redex-bench) with ARGS unchanged.
    ///
    /// `redex bench --help` shows the harness's own options. The redex-bench binary is looked
    /// for in $REDEX_BENCH, next to this binary, then on PATH; build it with
    /// `cargo build --release -p redex-benches`.
    #[command(disable_help_flag = true)]
    Bench {
        /// Arguments for redex-bench.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.use_stderr() {
                true => ExitCode::from(EXIT_USAGE),
                false => ExitCode::SUCCESS, // --help, --version
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

fn run(cli: Cli) -> CliResult {
    let mut out = Out::default();
    let before = cli.cold;
    let result = match cli.command {
        Command::Inspect { dir, channel, cold } => {
            let cold = before.merge(cold)?.store()?;
            inspect::run(&dir, channel.as_deref(), cold.as_ref(), &mut out)
        }
        Command::Verify { dir, channel, cold } => {
            let cold = before.merge(cold)?.store()?;
            verify::run(&dir, channel.as_deref(), cold.as_ref(), &mut out)
        }
        Command::Dump { dir, channel, from, to, since, format, skip_damaged, cold } => {
            let cold = before.merge(cold)?.store()?;
            let sel = dump::Selection { from, to, since_ns: since, format, skip_damaged };
            dump::run(&dir, &channel, sel, cold.as_ref(), &mut out)
        }
        Command::Tail {
            dir,
            channel,
            lines,
            follow,
            poll_interval_ms,
            max_polls,
            format,
            cold,
        } => {
            let cold = before.merge(cold)?.store()?;
            let opts = tail::TailOptions {
                lines,
                follow,
                poll_interval: Duration::from_millis(poll_interval_ms.max(1)),
                max_polls,
                format,
            };
            tail::run(&dir, &channel, opts, cold.as_ref(), &mut out)
        }
        Command::Bench { .. } if before.cold_dir.is_some() || before.cold_s3 => {
            Err(CliError::Message("bench reads no cold store (--cold-dir, --cold-s3)".to_string()))
        }
        Command::Bench { args } => bench::run(&args),
    };
    // Whatever happened, what was printed so far reaches stdout before the error on stderr.
    let flushed = out.flush();
    match result {
        Err(CliError::BrokenPipe) => Ok(()),
        Err(e) => Err(e),
        Ok(()) => match flushed {
            Err(CliError::BrokenPipe) => Ok(()),
            other => other,
        },
    }
}

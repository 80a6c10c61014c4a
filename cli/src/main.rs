//! `redex`: the command-line tool for operators of daemons that embed RedEX.
//!
//! Every command but `bench` opens the directory with `Redex::open_read_only`: no lock, no
//! byte changed on disk, so it is safe to run against a directory a live writer holds.
//!
//! - [`inspect`]: channels, segments per tier, seq and time ranges, sizes, head, versions.
//! - [`verify`]: every checksum of every local frozen segment, with a progress bar (archived
//!   ones are counted as not checked).
//! - [`dump`]: entries by seq range and time, as raw bytes, hex or JSON lines.
//! - [`tail`]: the last entries, then new ones by polling (`--follow`).
//! - [`mod@bench`]: the `redex-bench` harness, arguments passed through.
//!
//! `docs/OPERATIONS.md` is the operator's guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bench;
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
    #[command(subcommand)]
    command: Command,
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
    },
    /// Checks every checksum of every frozen segment; exits 3 on damage.
    ///
    /// Checks the index body, every record, frame, payload and timestamp, the header, the
    /// footer and the manifest record of each frozen segment, with a progress bar when stderr
    /// is a terminal. Prints each problem with its file and byte offset.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The base directory.
        dir: PathBuf,
        /// Only this channel (default: every channel).
        channel: Option<String>,
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
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

fn run(command: Command) -> CliResult {
    let mut out = Out::default();
    let result = match command {
        Command::Inspect { dir, channel } => inspect::run(&dir, channel.as_deref(), &mut out),
        Command::Verify { dir, channel } => verify::run(&dir, channel.as_deref(), &mut out),
        Command::Dump { dir, channel, from, to, since, format, skip_damaged } => {
            let sel = dump::Selection { from, to, since_ns: since, format, skip_damaged };
            dump::run(&dir, &channel, sel, &mut out)
        }
        Command::Tail { dir, channel, lines, follow, poll_interval_ms, max_polls, format } => {
            let opts = tail::TailOptions {
                lines,
                follow,
                poll_interval: Duration::from_millis(poll_interval_ms.max(1)),
                max_polls,
                format,
            };
            tail::run(&dir, &channel, opts, &mut out)
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

//! [`CliError`]: what a command failed at, the engine error underneath, and the exit code
//! it maps to.

use std::fmt;
use std::process::ExitCode;

use redex::RedexError;

/// Exit status: the command did what was asked.
pub const EXIT_OK: u8 = 0;
/// Exit status: an error (a directory or channel that cannot be opened, an I/O error, an
/// unsupported format version, a bad argument value).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: the command line did not parse (clap's own status for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: damaged data was found (`verify` found a problem, or a read hit a checksum
/// failure).
pub const EXIT_CORRUPT: u8 = 3;

/// A failed command: what it was doing (`context`) and why.
#[derive(Debug)]
pub enum CliError {
    /// An engine call failed.
    Redex {
        /// What the command was doing, e.g. `open channel orders in /var/lib/myd/redex`.
        context: String,
        /// The engine's error, which names the file (and byte offset, for damage).
        source: RedexError,
    },
    /// A problem that is not an engine error (bad argument value, unknown channel, I/O on
    /// standard output, a missing helper binary).
    Message(String),
    /// `verify` found problems; each was already printed.
    ProblemsFound {
        /// How many problems were printed.
        problems: u64,
        /// Whether any was damaged data (exit 3) rather than only errors (exit 1).
        damaged: bool,
    },
    /// A child process (`redex bench`) ended with this status.
    ChildExit(u8),
    /// Standard output was closed by its reader (`redex dump ... | head`): a normal end.
    BrokenPipe,
}

impl CliError {
    /// Wraps an engine error with what the command was doing.
    pub fn redex(context: impl Into<String>, source: RedexError) -> Self {
        CliError::Redex { context: context.into(), source }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Redex { source, .. } if is_corruption(source) => EXIT_CORRUPT,
            CliError::ProblemsFound { damaged: true, .. } => EXIT_CORRUPT,
            CliError::ProblemsFound { damaged: false, .. } => EXIT_ERROR,
            CliError::ChildExit(code) => *code,
            CliError::BrokenPipe => EXIT_OK,
            CliError::Redex { .. } | CliError::Message(_) => EXIT_ERROR,
        }
    }

    /// Prints the error and every cause not already part of its message to stderr.
    pub fn report(&self) -> ExitCode {
        match self {
            CliError::ChildExit(_) | CliError::BrokenPipe => {}
            CliError::ProblemsFound { problems, .. } => {
                eprintln!("redex: {problems} problem(s) found; see above");
            }
            other => {
                eprintln!("redex: error: {other}");
                let mut shown = other.to_string();
                let mut cause = std::error::Error::source(other);
                while let Some(c) = cause {
                    let text = c.to_string();
                    if !shown.contains(&text) {
                        eprintln!("  caused by: {text}");
                        shown.push_str(&text);
                    }
                    cause = c.source();
                }
                if let CliError::Redex { source: RedexError::ColdUnavailable { .. }, .. } = other {
                    eprintln!(
                        "  hint: archived entries are read from the writer's cold store: give it \
                         with --cold-dir PATH or --cold-s3"
                    );
                }
            }
        }
        ExitCode::from(self.exit_code())
    }
}

/// Whether `e` reports damaged bytes on disk.
pub fn is_corruption(e: &RedexError) -> bool {
    matches!(e, RedexError::Corrupt { .. })
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Redex { context, source } => write!(f, "{context}: {source}"),
            CliError::Message(m) => f.write_str(m),
            CliError::ProblemsFound { problems, .. } => write!(f, "{problems} problem(s) found"),
            CliError::ChildExit(code) => write!(f, "child exited with status {code}"),
            CliError::BrokenPipe => f.write_str("standard output was closed"),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Redex { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias for the commands.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Maps an error writing to stdout: a closed pipe (`redex dump ... | head`) ends the command
/// quietly, anything else is an error.
pub fn stdout_error(e: std::io::Error) -> CliError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => CliError::BrokenPipe,
        _ => CliError::Message(format!("write to standard output: {e}")),
    }
}

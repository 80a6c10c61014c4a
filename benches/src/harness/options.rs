//! What a harness run does and how big it is: the profile (quick or full), event counts, payload
//! and batch sizes, the fsync policy, and where the logs live.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use redex::AppendBackend;
use serde::Serialize;

/// The fsync policy of persistent logs, as given on the command line.
///
/// Parsed from `never`, `every-n:N` or `interval-ms:N`; each system maps it to its own knob (see
/// [`crate::harness::systems`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum FsyncArg {
    /// Only `sync()` and `close()` fsync.
    #[default]
    Never,
    /// A background fsync after every `n` appends.
    EveryN(u64),
    /// A background fsync every `n` milliseconds.
    IntervalMs(u64),
}

impl FsyncArg {
    /// Whether the policy ever fsyncs on its own.
    pub fn fsyncs(self) -> bool {
        self != FsyncArg::Never
    }
}

impl fmt::Display for FsyncArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncArg::Never => f.write_str("never"),
            FsyncArg::EveryN(n) => write!(f, "every-n:{n}"),
            FsyncArg::IntervalMs(ms) => write!(f, "interval-ms:{ms}"),
        }
    }
}

impl FromStr for FsyncArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = |v: &str| {
            v.parse::<u64>().map_err(|e| format!("fsync policy `{s}`: `{v}` is not a count ({e})"))
        };
        match s.split_once(':') {
            None if s == "never" => Ok(FsyncArg::Never),
            Some(("every-n", n)) => Ok(FsyncArg::EveryN(number(n)?)),
            Some(("interval-ms", ms)) => Ok(FsyncArg::IntervalMs(number(ms)?)),
            _ => Err(format!("fsync policy `{s}`: expected never, every-n:N or interval-ms:N")),
        }
    }
}

/// Which append backend our engine uses, as given by `--backend` (peers ignore it).
///
/// `auto` leaves the choice to the engine (io_uring where the kernel allows it; the
/// `REDEX_APPEND_BACKEND` environment variable overrides it); `both` runs every case of our
/// engine twice, as the systems `redex:io_uring` and `redex:std`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendArg {
    /// `AppendBackend::Auto`.
    #[default]
    Auto,
    /// `AppendBackend::IoUring` (an error at open where io_uring is unavailable).
    IoUring,
    /// `AppendBackend::Std`, the portable `pwrite` + `fdatasync` path.
    Std,
    /// Each case on both io_uring and the portable path, labelled.
    Both,
}

impl BackendArg {
    /// The engine backends this choice runs, each with the system name its rows carry.
    pub fn systems(self) -> Vec<(AppendBackend, &'static str)> {
        match self {
            BackendArg::Auto => vec![(AppendBackend::Auto, "redex")],
            BackendArg::IoUring => vec![(AppendBackend::IoUring, "redex")],
            BackendArg::Std => vec![(AppendBackend::Std, "redex")],
            BackendArg::Both => {
                vec![(AppendBackend::IoUring, "redex:io_uring"), (AppendBackend::Std, "redex:std")]
            }
        }
    }
}

impl fmt::Display for BackendArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendArg::Auto => "auto",
            BackendArg::IoUring => "io_uring",
            BackendArg::Std => "std",
            BackendArg::Both => "both",
        })
    }
}

impl FromStr for BackendArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendArg::Auto),
            "io_uring" | "io-uring" | "uring" => Ok(BackendArg::IoUring),
            "std" | "portable" => Ok(BackendArg::Std),
            "both" => Ok(BackendArg::Both),
            _ => Err(format!("append backend `{s}`: expected auto, io_uring, std or both")),
        }
    }
}

/// Default length of the soak scenario (`--duration-secs`), after its warm-up.
pub const SOAK_DURATION_DEFAULT: Duration = Duration::from_secs(20);

/// Run size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The default: every scenario in a couple of minutes on 2 cores.
    Quick,
    /// Ten times the events and time budget of [`Profile::Quick`], full-size machine limits.
    Full,
}

impl Profile {
    /// Default number of events per (case, system) run.
    pub fn events(self) -> u64 {
        match self {
            Profile::Quick => 200_000,
            Profile::Full => 2_000_000,
        }
    }

    /// Longest time one (case, system) measurement may take; a run stops early when it is
    /// spent, so a slow system cannot stretch the suite.
    pub fn run_budget(self) -> Duration {
        match self {
            Profile::Quick => Duration::from_millis(1500),
            Profile::Full => Duration::from_secs(15),
        }
    }

    /// Default number of reopens timed by the reopen scenario.
    pub fn reopen_repetitions(self) -> usize {
        match self {
            Profile::Quick => 5,
            Profile::Full => 15,
        }
    }
}

/// Everything a run needs to know, built by the binary from its flags.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Size preset the defaults below came from.
    pub profile: Profile,
    /// Scenarios to run, by name; empty means every available scenario.
    pub scenarios: Vec<String>,
    /// Most events one (case, system) run appends, or prefills for reads.
    pub events: u64,
    /// Payload size; `None` runs the default pair (64 B and 1 KiB where the scenario uses both).
    pub payload_bytes: Option<usize>,
    /// Payloads per `append_batch` call.
    pub batch_len: usize,
    /// Fsync policy of persistent logs.
    pub fsync: FsyncArg,
    /// Append backend of our engine.
    pub backend: BackendArg,
    /// Base directory for logs and limit measurements; a fresh temporary directory is made
    /// inside it (or inside the system temporary directory when `None`).
    pub dir: Option<PathBuf>,
    /// Time budget of one (case, system) measurement.
    #[serde(serialize_with = "serialize_duration_ms")]
    pub run_budget: Duration,
    /// Reopens timed per system by the reopen scenario.
    pub reopen_repetitions: usize,
    /// Whether to draw progress bars (only when stdout is a terminal).
    pub progress: bool,
    /// How long the soak scenario runs after its warm-up.
    #[serde(serialize_with = "serialize_duration_ms")]
    pub soak_duration: Duration,
    /// How often the soak scenario samples the process's resources; `None` picks about 30
    /// samples over the run (at least one a second).
    #[serde(serialize_with = "serialize_opt_duration_ms")]
    pub soak_sample: Option<Duration>,
}

impl Options {
    /// Defaults of `profile` with nothing else chosen.
    pub fn new(profile: Profile) -> Self {
        Options {
            profile,
            scenarios: Vec::new(),
            events: profile.events(),
            payload_bytes: None,
            batch_len: crate::workload::BATCH_LEN,
            fsync: FsyncArg::Never,
            backend: BackendArg::Auto,
            dir: None,
            run_budget: profile.run_budget(),
            reopen_repetitions: profile.reopen_repetitions(),
            progress: false,
            soak_duration: SOAK_DURATION_DEFAULT,
            soak_sample: None,
        }
    }

    /// The small payload size: `--payload` when given, else 64 B.
    pub fn small_payload(&self) -> usize {
        self.payload_bytes.unwrap_or(crate::workload::SMALL_PAYLOAD_BYTES)
    }

    /// Payload sizes for batch-append cases: `--payload` alone when given, else 64 B and 1 KiB.
    pub fn batch_payloads(&self) -> Vec<usize> {
        match self.payload_bytes {
            Some(p) => vec![p],
            None => {
                vec![crate::workload::SMALL_PAYLOAD_BYTES, crate::workload::LARGE_PAYLOAD_BYTES]
            }
        }
    }
}

fn serialize_duration_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn serialize_opt_duration_ms<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}

/// A size in bytes as a short label: `64B`, `1KiB`, `4MiB`.
pub fn size_label(bytes: usize) -> String {
    const KIB: usize = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{}MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else {
        format!("{bytes}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_policies_parse_and_print() {
        for s in ["never", "every-n:64", "interval-ms:5"] {
            let parsed: FsyncArg = s.parse().expect("valid policy");
            assert_eq!(parsed.to_string(), s);
        }
        assert!("always".parse::<FsyncArg>().is_err());
        assert!("every-n:x".parse::<FsyncArg>().is_err());
        assert!("never:1".parse::<FsyncArg>().is_err());
    }

    #[test]
    fn backends_parse_and_print() {
        for s in ["auto", "io_uring", "std", "both"] {
            let parsed: BackendArg = s.parse().expect("valid backend");
            assert_eq!(parsed.to_string(), s);
        }
        assert!("uring2".parse::<BackendArg>().is_err());
        assert_eq!(BackendArg::Both.systems().len(), 2);
    }

    #[test]
    fn size_labels() {
        assert_eq!(size_label(64), "64B");
        assert_eq!(size_label(1024), "1KiB");
        assert_eq!(size_label(1000), "1000B");
        assert_eq!(size_label(4 << 20), "4MiB");
    }
}

//! The `redex-bench` harness: named scenarios run against our engine and, with the `peers`
//! feature, against the reference system (net-mesh's RedEX) and batpak, in one process, next to
//! this machine's own limits.
//!
//! A tour, in the order a run goes through it:
//!
//! 1. [`options`]: what to run and how big (`--events`, `--payload`, `--batch`, `--fsync`,
//!    quick or full profile).
//! 2. [`ceiling`]: the machine limits measured at the start of the run (memcpy, sequential
//!    write with and without `fdatasync`, fsync latency) and which limit each figure is read
//!    against.
//! 3. [`system`]: the small [`system::Log`] trait every system under test implements, and
//!    [`systems`] with one file per system.
//! 4. [`scenario`]: the [`scenario::Scenario`] trait and the registry of scenarios; each lives in
//!    its own file under [`scenarios`], so adding one (tiers, CortEX, NetDB) is one file plus one
//!    line in [`scenario::registry`].
//! 5. [`measure`]: the timing loop with its time budget, hdrhistogram latency percentiles and
//!    throughput; [`rss`] samples `RssAnon` over the run; [`progress`] draws bars on a terminal.
//! 6. [`result`]: one [`result::Row`] per (scenario, case, system), with its ratios; [`report`]
//!    prints the table, [`output`] writes JSON and CSV, [`plot`] draws SVG charts.
//!
//! [`run()`] ties them together and returns a [`result::Report`].

pub mod ceiling;
pub mod measure;
pub mod options;
pub mod output;
pub mod plot;
pub mod progress;
pub mod report;
pub mod result;
pub mod rss;
pub mod run;
pub mod scenario;
pub mod scenarios;
pub mod system;
pub mod systems;

pub use run::run;

/// The error type of the harness: any error of any system under test, with its message.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Result type of the harness.
pub type Result<T> = std::result::Result<T, Error>;

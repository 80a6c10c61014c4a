//! What a run produces: one [`Row`] per (scenario, case, system), and the [`Report`] around
//! them that the table, JSON, CSV and plots are made from.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ceiling::{LimitUse, Limits};
use super::measure::Measurement;
use super::options::Options;
use super::rss::RssSample;

/// Whether a system produced a figure for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    Ok,
    /// The system cannot do this workload; the note says why.
    Unsupported,
    /// The system returned an error; the note has it.
    Failed,
}

/// One (scenario, case, system) result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Scenario name (`append`, `read`, ...).
    pub scenario: String,
    /// Case within the scenario (`disk_batch64_64B`, ...).
    pub case: String,
    /// System name (`redex`, `net-mesh`, `batpak`; `redex:io_uring` / `redex:std` for our
    /// engine on a named append backend).
    pub system: String,
    /// The append backend the measured log ran on (`io_uring`, `std`), for our engine's
    /// persistent logs; `None` for heap logs and peers.
    pub backend: Option<String>,
    /// Outcome.
    pub status: Status,
    /// Why a figure is missing, or a remark on how it was taken.
    pub note: Option<String>,
    /// The figures, when measured.
    pub measurement: Option<Measurement>,
    /// The machine limit this figure is read against.
    pub limit: LimitUse,
    /// Ratio to that limit (see [`LimitUse::ratio`]).
    pub limit_ratio: Option<f64>,
    /// Our throughput divided by this system's for the same case (>1: ours is faster);
    /// `None` on our own rows and where either figure is missing.
    pub ours_over_this: Option<f64>,
    /// Other figures of the case (for example `rss_anon_bytes_per_event`).
    pub extras: BTreeMap<String, f64>,
}

impl Row {
    /// Events per second, when measured.
    pub fn events_per_s(&self) -> Option<f64> {
        self.measurement.as_ref().map(|m| m.events_per_s)
    }
}

/// A scenario named on the command line that this build cannot run yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unavailable {
    /// Scenario name.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version of this JSON document.
    pub format_version: u32,
    /// Harness name and version.
    pub tool: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    /// Seconds the whole run took.
    pub total_s: f64,
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// Systems compared, ours first.
    pub systems: Vec<String>,
    /// What was asked for.
    pub options: Options,
    /// Machine limits measured at the start.
    pub limits: Limits,
    /// Scenarios that ran, in order.
    pub scenarios_run: Vec<String>,
    /// Scenarios asked for that are not available yet.
    pub scenarios_unavailable: Vec<Unavailable>,
    /// One row per (scenario, case, system).
    pub rows: Vec<Row>,
    /// `RssAnon` over the run.
    pub rss_samples: Vec<RssSample>,
}

/// Version of the JSON written by [`Report`].
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// Fills in [`Row::ours_over_this`]: for each case, our events/s over each peer's. Latency-only
/// cases (durable) also use events/s, which is the reciprocal of mean latency, so >1 always
/// means ours is faster.
pub fn fill_ratios(rows: &mut [Row], ours: &str) {
    let ours_rates: BTreeMap<(String, String), f64> = rows
        .iter()
        .filter(|r| r.system == ours)
        .filter_map(|r| Some(((r.scenario.clone(), r.case.clone()), r.events_per_s()?)))
        .collect();
    for row in rows.iter_mut().filter(|r| r.system != ours) {
        let key = (row.scenario.clone(), row.case.clone());
        row.ours_over_this = match (ours_rates.get(&key), row.events_per_s()) {
            (Some(ours), Some(theirs)) if theirs > 0.0 => Some(ours / theirs),
            _ => None,
        };
    }
}

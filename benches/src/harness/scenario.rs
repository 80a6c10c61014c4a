//! Scenarios and their registry.
//!
//! A scenario is one file under [`crate::harness::scenarios`] implementing [`Scenario`]: it
//! names its cases and, for each system, opens logs through [`Context::each_system`] and
//! measures them with [`crate::harness::measure`]. The context handles everything common:
//! skipping systems that lack a capability (with the reason in the table), a fresh directory
//! per system, RSS labels, progress bars, errors, and the ratios.
//!
//! To add a scenario: write `scenarios/<name>.rs`, then list it in [`registry`] as an
//! [`Entry::Available`] (an [`Entry::Planned`] line names one that is not written yet).

use std::path::Path;

use indicatif::ProgressBar;

use super::ceiling::{LimitUse, Limits};
use super::measure::{Budget, Measurement};
use super::options::Options;
use super::progress::Progress;
use super::result::{Row, Status};
use super::rss::RssSampler;
use super::scenarios;
use super::system::{check, Capability, LogSystem};
use super::Result;

/// One named benchmark scenario.
pub trait Scenario {
    /// Name used by `--scenario` and in reports.
    fn name(&self) -> &'static str;

    /// One line on what it measures.
    fn summary(&self) -> &'static str;

    /// Runs every case against every system, adding rows to `ctx`.
    fn run(&self, ctx: &mut Context<'_>) -> Result<()>;

    /// Whether a run that names no scenario includes this one (the soak runs only when named).
    fn in_default_suite(&self) -> bool {
        true
    }
}

/// A registry entry: a scenario this build can run, or one that is planned.
pub enum Entry {
    /// Runs with `--scenario <name>`, and in the default suite unless
    /// [`Scenario::in_default_suite`] says otherwise.
    Available(Box<dyn Scenario>),
    /// Accepted by `--scenario`, which then says it is not available yet.
    Planned {
        /// Scenario name.
        name: &'static str,
        /// Why it cannot run yet.
        reason: &'static str,
    },
}

impl Entry {
    /// The scenario's name.
    pub fn name(&self) -> &'static str {
        match self {
            Entry::Available(s) => s.name(),
            Entry::Planned { name, .. } => name,
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Available(s) => write!(f, "Available({})", s.name()),
            Entry::Planned { name, .. } => write!(f, "Planned({name})"),
        }
    }
}

/// Every scenario, in the order the default suite runs them (the soak only when named).
pub fn registry() -> Vec<Entry> {
    vec![
        Entry::Available(Box::new(scenarios::append::Append)),
        Entry::Available(Box::new(scenarios::read::Read)),
        Entry::Available(Box::new(scenarios::reopen::Reopen)),
        Entry::Available(Box::new(scenarios::durable::Durable)),
        Entry::Available(Box::new(scenarios::backends::Backends)),
        Entry::Available(Box::new(scenarios::retention::RetentionScenario)),
        Entry::Available(Box::new(scenarios::tiers::Tiers)),
        Entry::Available(Box::new(scenarios::cortex::CortexScenario)),
        Entry::Available(Box::new(scenarios::netdb::NetDbScenario)),
        Entry::Available(Box::new(scenarios::soak::Soak)),
    ]
}

/// One case's result from one system.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case name.
    pub case: String,
    /// The figures.
    pub measurement: Measurement,
    /// The limit they are read against.
    pub limit: LimitUse,
    /// A remark on how it was taken, if any.
    pub note: Option<String>,
    /// Other figures.
    pub extras: Vec<(&'static str, f64)>,
    /// The system name the row carries, when not the system's own (for example
    /// `redex:io_uring` for a case pinned to a backend).
    pub system: Option<String>,
}

impl CaseResult {
    /// A result with no note or extras.
    pub fn new(case: impl Into<String>, measurement: Measurement, limit: LimitUse) -> Self {
        CaseResult {
            case: case.into(),
            measurement,
            limit,
            note: None,
            extras: Vec::new(),
            system: None,
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Adds an extra figure.
    pub fn with_extra(mut self, name: &'static str, value: f64) -> Self {
        self.extras.push((name, value));
        self
    }

    /// Files the row under `system` instead of the system's own name.
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }
}

/// What a scenario gets to work with.
pub struct Context<'a> {
    /// The run's options.
    pub options: &'a Options,
    /// The machine limits.
    pub limits: &'a Limits,
    systems: &'a [Box<dyn LogSystem>],
    base_dir: &'a Path,
    progress: Progress,
    rss: &'a RssSampler,
    rows: &'a mut Vec<Row>,
    scenario: &'static str,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("scenario", &self.scenario).finish_non_exhaustive()
    }
}

/// A fresh directory for one system's logs, and the hooks a scenario uses while measuring.
#[derive(Debug)]
pub struct Stage<'c> {
    /// Directory for this system's persistent logs (removed afterwards).
    pub dir: &'c Path,
    progress: Progress,
    label: String,
}

impl Stage<'_> {
    /// A progress bar for `len` events of `what`.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        self.progress.bar(len, &format!("{} {what}", self.label))
    }
}

impl<'a> Context<'a> {
    /// A context for `scenario`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &'static str,
        options: &'a Options,
        limits: &'a Limits,
        systems: &'a [Box<dyn LogSystem>],
        base_dir: &'a Path,
        progress: Progress,
        rss: &'a RssSampler,
        rows: &'a mut Vec<Row>,
    ) -> Self {
        Context { options, limits, systems, base_dir, progress, rss, rows, scenario }
    }

    /// The time budget of one (case, system) measurement, with the event cap from `--events`.
    pub fn budget(&self) -> Budget {
        Budget { events_max: self.options.events, time_max: self.options.run_budget }
    }

    /// For each system: when it has every capability in `needs`, runs `body` in a fresh
    /// directory and records its cases; otherwise records `cases` as unsupported with the
    /// reason. An error from `body` is recorded as a failed row for each of `cases` (the run
    /// goes on).
    pub fn each_system(
        &mut self,
        cases: &[String],
        needs: &[Capability],
        body: impl FnMut(&dyn LogSystem, &Stage<'_>) -> Result<Vec<CaseResult>>,
    ) -> Result<()> {
        self.each_system_with(cases, needs, true, body)
    }

    /// [`Context::each_system`], skipping the systems that lack a capability without a row
    /// (for a scenario that said once that they cannot run it).
    pub fn each_capable_system(
        &mut self,
        cases: &[String],
        needs: &[Capability],
        body: impl FnMut(&dyn LogSystem, &Stage<'_>) -> Result<Vec<CaseResult>>,
    ) -> Result<()> {
        self.each_system_with(cases, needs, false, body)
    }

    fn each_system_with(
        &mut self,
        cases: &[String],
        needs: &[Capability],
        record_unsupported: bool,
        mut body: impl FnMut(&dyn LogSystem, &Stage<'_>) -> Result<Vec<CaseResult>>,
    ) -> Result<()> {
        for system in self.systems {
            let name = system.name();
            let label = format!("{}/{}", self.scenario, name);
            if let Err(reason) = check(system.as_ref(), needs) {
                if record_unsupported {
                    for case in cases {
                        self.push_missing(case, name, Status::Unsupported, reason.clone());
                    }
                }
                continue;
            }
            let dir =
                tempfile::Builder::new().prefix(&format!("{name}-")).tempdir_in(self.base_dir)?;
            self.rss.set_label(label.clone());
            let stage = Stage { dir: dir.path(), progress: self.progress, label };
            let _stale = system.take_live_backend();
            let outcome = body(system.as_ref(), &stage);
            self.rss.set_label("idle");
            let backend = system.take_live_backend();
            match outcome {
                Ok(results) => {
                    for r in results {
                        self.push(name, backend.clone(), r);
                    }
                }
                Err(e) => {
                    for case in cases {
                        self.push_missing(case, name, Status::Failed, e.to_string());
                    }
                }
            }
            dir.close()?;
        }
        Ok(())
    }

    fn push(&mut self, system: &str, backend: Option<String>, r: CaseResult) {
        let m = r.measurement;
        let p50 = m.latency.map(|l| l.p50_us);
        self.rows.push(Row {
            scenario: self.scenario.to_string(),
            case: r.case,
            system: r.system.unwrap_or_else(|| system.to_string()),
            backend,
            status: Status::Ok,
            note: r.note,
            limit: r.limit,
            limit_ratio: r.limit.ratio(self.limits, m.payload_bytes_per_s, p50),
            measurement: Some(m),
            ours_over_this: None,
            extras: r.extras.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
    }

    /// Records a figure of the scenario's own probe of the machine (its `system` names it).
    pub fn push_probe(&mut self, r: CaseResult) {
        self.push("machine", None, r);
    }

    /// The run's base directory, on the disk the logs use (for the scenario's own probes).
    pub fn base_dir(&self) -> &Path {
        self.base_dir
    }

    /// Records that `system` gave no figure for `case` (`status` says why, `note` how).
    pub fn push_missing(&mut self, case: &str, system: &str, status: Status, note: String) {
        self.rows.push(Row {
            scenario: self.scenario.to_string(),
            case: case.to_string(),
            system: system.to_string(),
            backend: None,
            status,
            note: Some(note),
            measurement: None,
            limit: LimitUse::None,
            limit_ratio: None,
            ours_over_this: None,
            extras: Default::default(),
        });
    }
}

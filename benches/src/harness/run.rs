//! One harness run: a fresh directory, the machine limits, then each chosen scenario against
//! each system, with `RssAnon` sampled throughout.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::ceiling;
use super::options::Options;
use super::progress::Progress;
use super::result::{fill_ratios, Report, Unavailable, REPORT_FORMAT_VERSION};
use super::rss::RssSampler;
use super::scenario::{registry, Context, Entry};
use super::systems;
use super::Result;

/// How often `RssAnon` is sampled.
pub const RSS_PERIOD: Duration = Duration::from_millis(100);

/// Size of the sequential write limit test for a run that appends `events` events of up to
/// `payload_bytes`: about the size of the largest log, between 16 and 256 MiB.
pub fn write_test_bytes(options: &Options) -> usize {
    let payload = options.batch_payloads().into_iter().max().unwrap_or(1024);
    let log = usize::try_from(options.events).unwrap_or(usize::MAX).saturating_mul(payload);
    log.clamp(16 << 20, crate::limits::WRITE_FILE_BYTES)
}

/// Runs the scenarios `options` names (every available one when it names none), each against
/// every system this build has, in a fresh temporary directory under `options.dir` (or the
/// system one), and returns what was measured. `on_status` gets one line per step.
pub fn run(options: &Options, on_status: &mut dyn FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    let started_unix_s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let entries = registry();
    let mut chosen = Vec::new();
    let mut unavailable = Vec::new();
    if options.scenarios.is_empty() {
        chosen.extend(
            entries.iter().filter(|e| matches!(e, Entry::Available(s) if s.in_default_suite())),
        );
    } else {
        for name in &options.scenarios {
            match entries.iter().find(|e| e.name() == name) {
                Some(Entry::Planned { reason, .. }) => unavailable
                    .push(Unavailable { scenario: name.clone(), reason: reason.to_string() }),
                Some(entry) => chosen.push(entry),
                None => return Err(format!("unknown scenario `{name}`").into()),
            }
        }
    }

    let base = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::Builder::new().prefix("redex-bench-").tempdir_in(dir)?
        }
        None => tempfile::Builder::new().prefix("redex-bench-").tempdir()?,
    };
    let systems = systems::all(options.backend)?;
    let rss = RssSampler::start(RSS_PERIOD)?;
    rss.set_label("limits");
    on_status(&format!("measuring machine limits in {}", base.path().display()));
    let limits = ceiling::measure(base.path(), options.profile, write_test_bytes(options))?;
    rss.set_label("idle");

    let progress = Progress::new(options.progress);
    let mut rows = Vec::new();
    let mut scenarios_run = Vec::new();
    for entry in chosen {
        let Entry::Available(scenario) = entry else { continue };
        on_status(&format!("scenario {}: {}", scenario.name(), scenario.summary()));
        let mut ctx = Context::new(
            scenario.name(),
            options,
            &limits,
            &systems,
            base.path(),
            progress,
            &rss,
            &mut rows,
        );
        scenario.run(&mut ctx)?;
        scenarios_run.push(scenario.name().to_string());
    }
    fill_ratios(&mut rows, systems.first().map_or("redex", |s| s.name()));
    let rss_samples = rss.finish();
    remove_dir(base.path());
    base.close()?;
    Ok(Report {
        format_version: REPORT_FORMAT_VERSION,
        tool: format!("redex-bench {}", env!("CARGO_PKG_VERSION")),
        started_unix_s,
        total_s: started.elapsed().as_secs_f64(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        systems: systems.iter().map(|s| s.name().to_string()).collect(),
        options: options.clone(),
        limits,
        scenarios_run,
        scenarios_unavailable: unavailable,
        rows,
        rss_samples,
    })
}

/// Best-effort removal of what the systems left behind, before the directory itself goes.
fn remove_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

//! The soak's table and verdict: samples, their trends from the first third of the run to the
//! last, and whether any figure is growing.

use std::fmt::Write as _;

use super::daemon::Counters;
use super::resources::Resources;

/// One row of the soak's table.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since the measured part began (after the warm-up).
    pub t_s: f64,
    /// The daemon's counters then.
    pub counters: Counters,
    /// The process's resources then.
    pub resources: Resources,
    /// Segments per tier then: (hot, warm, cold).
    pub segments: (u64, u64, u64),
}

/// How much a figure's last-third mean may exceed its first-third mean before the verdict
/// calls it growing. Short of a leak, figures wander: allocator arenas, the fetch caches
/// filling, a segment more or less on disk at the moment of a sample, the cold runtime's
/// blocking threads (kept 10 s after use).
#[derive(Debug, Clone, Copy)]
pub struct Slack {
    /// `RssAnon`: the larger of this and 5 %.
    pub rss_anon_bytes: u64,
    /// Descriptors.
    pub fds: u64,
    /// Mappings.
    pub maps: u64,
    /// Threads.
    pub threads: u64,
    /// Disk: the larger of this and 10 %.
    pub disk_bytes: u64,
}

/// The slack the scenario's verdict allows.
pub const SLACK: Slack =
    Slack { rss_anon_bytes: 4 << 20, fds: 4, maps: 24, threads: 4, disk_bytes: 2 << 20 };

/// One figure's trend over the run.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Its name.
    pub name: &'static str,
    /// First sample.
    pub start: f64,
    /// Last sample.
    pub end: f64,
    /// Mean over the first third of the samples.
    pub first_mean: f64,
    /// Mean over the last third.
    pub last_mean: f64,
    /// Largest value.
    pub max: f64,
    /// Growth from the first third's mean to the last's, per hour.
    pub per_hour: f64,
    /// Whether the growth is more than the slack.
    pub growing: bool,
}

/// A figure of [`Resources`]: its name, how to read it, its absolute and relative slack.
type Figure = (&'static str, fn(&Resources) -> u64, f64, f64);

/// The trends of every figure over `samples`, with `slack`.
pub fn trends(samples: &[Sample], slack: &Slack) -> Vec<Trend> {
    let third = (samples.len() / 3).max(1);
    let first = &samples[..third.min(samples.len())];
    let last = &samples[samples.len().saturating_sub(third)..];
    let mean = |s: &[Sample], f: &dyn Fn(&Sample) -> f64| {
        s.iter().map(f).sum::<f64>() / s.len().max(1) as f64
    };
    let dt_h = (mean(last, &|s| s.t_s) - mean(first, &|s| s.t_s)) / 3600.0;
    let figures: [Figure; 5] = [
        ("RssAnon", |r| r.rss_anon_bytes, slack.rss_anon_bytes as f64, 0.05),
        ("fds", |r| r.fds, slack.fds as f64, 0.0),
        ("maps", |r| r.maps, slack.maps as f64, 0.0),
        ("threads", |r| r.threads, slack.threads as f64, 0.0),
        ("disk", |r| r.disk_bytes, slack.disk_bytes as f64, 0.10),
    ];
    figures
        .into_iter()
        .map(|(name, get, abs, rel)| {
            let value = |s: &Sample| get(&s.resources) as f64;
            let first_mean = mean(first, &value);
            let last_mean = mean(last, &value);
            let allowed = abs.max(first_mean * rel);
            Trend {
                name,
                start: samples.first().map_or(0.0, value),
                end: samples.last().map_or(0.0, value),
                first_mean,
                last_mean,
                max: samples.iter().map(value).fold(0.0, f64::max),
                per_hour: if dt_h > 0.0 { (last_mean - first_mean) / dt_h } else { 0.0 },
                growing: last_mean - first_mean > allowed,
            }
        })
        .collect()
}

fn kib(bytes: u64) -> u64 {
    bytes / 1024
}

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:>7} {:>8} {:>11} {:>9} {:>5} {:>6} {:>7} {:>9} {:>13} {:>8} {:>7}",
        "t_s",
        "cycles",
        "events",
        "rss_KiB",
        "fds",
        "maps",
        "threads",
        "disk_KiB",
        "segs_h/w/c",
        "reopens",
        "tails"
    )
}

/// One line of the table.
pub fn line(s: &Sample) -> String {
    let (h, w, c) = s.segments;
    let r = &s.resources;
    format!(
        "{:>7.1} {:>8} {:>11} {:>9} {:>5} {:>6} {:>7} {:>9} {:>13} {:>8} {:>7}",
        s.t_s,
        s.counters.cycles,
        s.counters.events,
        kib(r.rss_anon_bytes),
        r.fds,
        r.maps,
        r.threads,
        kib(r.disk_bytes),
        format!("{h}/{w}/{c}"),
        s.counters.reopens,
        s.counters.tails
    )
}

/// The verdict, one line per figure and a last line saying stable or growing.
pub fn verdict(trends: &[Trend]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>14} {:>14} {:>16} {:>16} {:>14} {:>16}  verdict",
        "figure", "start", "end", "first-third mean", "last-third mean", "max", "growth/hour"
    );
    for t in trends {
        let bytes = matches!(t.name, "RssAnon" | "disk");
        let show = |v: f64| {
            if bytes {
                format!("{:.1} MiB", v / f64::from(1 << 20))
            } else {
                format!("{v:.1}")
            }
        };
        let _ = writeln!(
            out,
            "{:<8} {:>14} {:>14} {:>16} {:>16} {:>14} {:>16}  {}",
            t.name,
            show(t.start),
            show(t.end),
            show(t.first_mean),
            show(t.last_mean),
            show(t.max),
            show(t.per_hour),
            if t.growing { "GROWING" } else { "stable" }
        );
    }
    let growing: Vec<&str> = trends.iter().filter(|t| t.growing).map(|t| t.name).collect();
    if growing.is_empty() {
        out.push_str("verdict: stable (no last-third mean above its first-third mean + slack)\n");
    } else {
        let _ = writeln!(out, "verdict: GROWING: {}", growing.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, fds: u64, rss_mib: u64) -> Sample {
        Sample {
            t_s,
            counters: Counters::default(),
            resources: Resources {
                rss_anon_bytes: rss_mib << 20,
                fds,
                maps: 100,
                threads: 10,
                disk_bytes: 10 << 20,
            },
            segments: (1, 2, 3),
        }
    }

    #[test]
    fn flat_figures_are_stable_and_a_leak_is_growing() {
        // Wandering within the slack: stable.
        let flat: Vec<Sample> =
            (0..30u32).map(|i| sample(f64::from(i) * 60.0, 30 + u64::from(i % 3), 50)).collect();
        let t = trends(&flat, &SLACK);
        assert!(t.iter().all(|t| !t.growing), "{t:?}");
        assert!(verdict(&t).ends_with(
            "verdict: stable (no last-third mean above its first-third mean + slack)\n"
        ));
        // One descriptor a minute: 60 an hour.
        let leak: Vec<Sample> =
            (0..30u32).map(|i| sample(f64::from(i) * 60.0, 30 + u64::from(i), 50)).collect();
        let t = trends(&leak, &SLACK);
        let fds = t.iter().find(|t| t.name == "fds").expect("fds");
        assert!(fds.growing && (fds.per_hour - 60.0).abs() < 1e-6, "{fds:?}");
        assert!(t.iter().filter(|t| t.name != "fds").all(|t| !t.growing));
        assert!(verdict(&t).contains("verdict: GROWING: fds"));
        assert_eq!((fds.start, fds.end, fds.max), (30.0, 59.0, 59.0));
        assert_eq!(line(&leak[0]).split_whitespace().count(), header().split_whitespace().count());
    }
}

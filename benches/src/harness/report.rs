//! The plain-text table printed at the end of a run: the machine limits, one section per
//! scenario with a row per (case, system), and a summary of where we stand against each peer
//! and each limit.

use std::fmt::Write as _;

use super::ceiling::LimitUse;
use super::result::{Report, Row, Status};

/// `n` with a K/M/G suffix and three significant digits.
pub fn si(n: f64) -> String {
    let (v, unit) = if n >= 1e9 {
        (n / 1e9, "G")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e3 {
        (n / 1e3, "K")
    } else {
        (n, "")
    };
    if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

/// Microseconds with a precision that suits their size.
pub fn micros(us: f64) -> String {
    if us >= 1e5 {
        format!("{:.0}ms", us / 1000.0)
    } else if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

/// A row's ratio to its machine limit, as printed.
pub fn limit_cell(row: &Row) -> String {
    match (row.limit, row.limit_ratio) {
        (LimitUse::FsyncLatency, Some(r)) => format!("p50 {r:.2}x fsync"),
        (limit, Some(r)) => format!("{r:.3} of {}", limit.label()),
        _ => String::new(),
    }
}

fn extras_cell(row: &Row) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (k, v) in &row.extras {
        let label = match k.as_str() {
            "rss_anon_bytes_per_event" => "rss/event".to_string(),
            "rss_anon_bytes_per_retained_event" => "rss/retained".to_string(),
            "retained_events" => "retained".to_string(),
            "retention_limit_events" => continue,
            other => other.to_string(),
        };
        let value = if k.starts_with("rss") { format!("{v:.0} B") } else { si(*v) };
        parts.push(format!("{label} {value}"));
    }
    if let Some(note) = &row.note {
        parts.push(note.clone());
    }
    parts.join("; ")
}

/// The whole table as text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let l = &report.limits;
    let _ = writeln!(
        out,
        "redex-bench ({:?} profile, {} CPUs, {:.0} s), systems: {}",
        report.options.profile,
        report.cpus,
        report.total_s,
        report.systems.join(", ")
    );
    let _ = writeln!(
        out,
        "machine limits: memcpy {}B/s | sequential write {}B/s page cache, {}B/s with fdatasync ({} MiB) | 64 B write+fdatasync p50 {} us, p99 {} us",
        si(l.memcpy_bytes_per_s),
        si(l.write_buffered_bytes_per_s),
        si(l.write_durable_bytes_per_s),
        l.write_file_bytes >> 20,
        micros(l.fsync_p50_us),
        micros(l.fsync_p99_us),
    );
    let mut live: Vec<&str> = report.rows.iter().filter_map(|r| r.backend.as_deref()).collect();
    live.sort_unstable();
    live.dedup();
    let _ = writeln!(
        out,
        "append backend of redex: --backend {}; persistent logs ran on {}",
        report.options.backend,
        if live.is_empty() { "none".to_string() } else { live.join(" and ") },
    );
    let _ = writeln!(
        out,
        "events/s and B/s count payloads over the timed calls; latency is per call in us; \
         \"vs limit\" is ours/limit bandwidth (or p50/fsync p50); ours/this = redex events/s / \
         this system's (>1: redex faster)"
    );
    for u in &report.scenarios_unavailable {
        let _ = writeln!(out, "\nscenario {}: not available yet ({})", u.scenario, u.reason);
    }
    for scenario in &report.scenarios_run {
        let rows: Vec<&Row> = report.rows.iter().filter(|r| &r.scenario == scenario).collect();
        let _ = writeln!(out, "\n== {scenario}");
        let _ = writeln!(
            out,
            "{:<28} {:<9} {:>8} {:>8} {:>8} {:>17} {:>8} {:>8} {:>8} {:>8}  {:<18} {:>9}  notes",
            "case",
            "system",
            "events",
            "ev/s",
            "B/s",
            "op",
            "p50",
            "p99",
            "p99.9",
            "max",
            "vs limit",
            "ours/this"
        );
        let mut cases: Vec<&str> = Vec::new();
        for r in &rows {
            if !cases.contains(&r.case.as_str()) {
                cases.push(&r.case);
            }
        }
        for case in cases {
            for (i, r) in rows.iter().filter(|r| r.case == case).enumerate() {
                let case_cell = if i == 0 { case } else { "" };
                let ratio = r.ours_over_this.map(|x| format!("{x:.2}x")).unwrap_or_default();
                match (&r.status, &r.measurement) {
                    (Status::Ok, Some(m)) => {
                        let lat = m.latency;
                        let cell = |f: fn(&super::measure::LatencySummary) -> f64| {
                            lat.as_ref().map(|l| micros(f(l))).unwrap_or_default()
                        };
                        let _ = writeln!(
                            out,
                            "{:<28} {:<9} {:>8} {:>8} {:>8} {:>17} {:>8} {:>8} {:>8} {:>8}  {:<18} {:>9}  {}",
                            case_cell,
                            r.system,
                            si(m.events as f64),
                            si(m.events_per_s),
                            si(m.payload_bytes_per_s),
                            lat.map(|l| l.op).unwrap_or_default(),
                            cell(|l| l.p50_us),
                            cell(|l| l.p99_us),
                            cell(|l| l.p999_us),
                            cell(|l| l.max_us),
                            limit_cell(r),
                            ratio,
                            extras_cell(r),
                        );
                    }
                    (status, _) => {
                        let word = if *status == Status::Failed { "FAILED" } else { "n/a" };
                        let _ = writeln!(
                            out,
                            "{:<28} {:<9} {word}: {}",
                            case_cell,
                            r.system,
                            r.note.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
    }
    out.push_str(&summary(report));
    out
}

/// Geometric mean, min and max of ours/this per peer, and our range against each limit.
pub fn summary(report: &Report) -> String {
    let mut out = String::from("\n== at a glance\n");
    let ours = report.systems.first().map(String::as_str).unwrap_or("redex");
    for peer in report.systems.iter().skip(1) {
        let ratios: Vec<(&Row, f64)> = report
            .rows
            .iter()
            .filter(|r| &r.system == peer)
            .filter_map(|r| Some((r, r.ours_over_this?)))
            .collect();
        let missing =
            report.rows.iter().filter(|r| &r.system == peer && r.status != Status::Ok).count();
        if ratios.is_empty() {
            let _ = writeln!(out, "{ours} vs {peer}: no comparable case ({missing} n/a)");
            continue;
        }
        let geo = (ratios.iter().map(|(_, x)| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let min = ratios.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let max = ratios.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let wins = ratios.iter().filter(|(_, x)| *x > 1.0).count();
        if let (Some(min), Some(max)) = (min, max) {
            let _ = writeln!(
                out,
                "{ours} vs {peer}: {geo:.2}x geometric mean over {} cases, faster in {wins}; slowest \
                 {:.2}x ({}/{}), fastest {:.2}x ({}/{}); {missing} n/a",
                ratios.len(),
                min.1,
                min.0.scenario,
                min.0.case,
                max.1,
                max.0.scenario,
                max.0.case,
            );
        }
    }
    for limit in
        [LimitUse::Memcpy, LimitUse::WriteBuffered, LimitUse::WriteDurable, LimitUse::FsyncLatency]
    {
        let ours_rows: Vec<(&Row, f64)> = report
            .rows
            .iter()
            .filter(|r| r.system == ours && r.limit == limit)
            .filter_map(|r| Some((r, r.limit_ratio?)))
            .collect();
        let (Some(lo), Some(hi)) = (
            ours_rows.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
            ours_rows.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        ) else {
            continue;
        };
        let _ = writeln!(
            out,
            "{ours} vs {} limit: {:.3} ({}/{}) to {:.3} ({}/{})",
            limit.label(),
            lo.1,
            lo.0.scenario,
            lo.0.case,
            hi.1,
            hi.0.scenario,
            hi.0.case,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(si(25_100_000.0), "25.1M");
        assert_eq!(si(380_000.0), "380K");
        assert_eq!(si(1.5), "1.50");
        assert_eq!(micros(2.125), "2.12");
        assert_eq!(micros(210.4), "210");
        assert_eq!(micros(250_000.0), "250ms");
    }
}

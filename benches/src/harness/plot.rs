//! SVG charts of a run (plotters' SVG backend only: no bitmap encoders and no system fonts; the
//! viewer renders the text).
//!
//! - `throughput_<scenario>.svg`: events/s per case and system, horizontal bars on a log scale,
//!   each labelled with its figure.
//! - `latency_<scenario>.svg`: p50 / p99 / p99.9 / max per case and system, log scale.
//! - `rss.svg`: `RssAnon` over the run, coloured by scenario.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::report::{micros, si};
use super::result::{Report, Row};
use super::Result;

const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn err(e: impl std::fmt::Display) -> super::Error {
    format!("plot: {e}").into()
}

/// Writes every chart of `report` into `dir` (created if missing) and returns their paths.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for scenario in &report.scenarios_run {
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| &r.scenario == scenario && r.measurement.is_some())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let path = dir.join(format!("throughput_{scenario}.svg"));
        throughput(&rows, &report.systems, scenario, &path)?;
        written.push(path);
        if rows.iter().any(|r| r.measurement.and_then(|m| m.latency).is_some()) {
            let path = dir.join(format!("latency_{scenario}.svg"));
            latency(&rows, &report.systems, scenario, &path)?;
            written.push(path);
        }
    }
    if report.rss_samples.len() >= 2 {
        let path = dir.join("rss.svg");
        rss(report, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The colour slot of `name`: its place among the run's systems; a row filed under a backend
/// label (`redex:io_uring`, `redex:std` in the backends scenario) takes our colour for io_uring
/// and the first free one for the portable path.
fn system_index(systems: &[String], name: &str) -> usize {
    systems.iter().position(|s| s == name).unwrap_or(if name.ends_with(":std") {
        systems.len()
    } else {
        0
    })
}

fn throughput(rows: &[&Row], systems: &[String], scenario: &str, path: &Path) -> Result<()> {
    let values: Vec<f64> = rows.iter().filter_map(|r| r.events_per_s()).collect();
    let max = values.iter().copied().fold(1.0, f64::max);
    let min = values.iter().copied().fold(max, f64::min).max(1.0);
    let height = 80 + 26 * rows.len() as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let x_lo = (min / 10.0).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{scenario}: events/s (log scale)"), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .build_cartesian_2d((x_lo..max * 40.0).log_scale(), 0f64..rows.len() as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_label_formatter(&|v| si(*v))
        .draw()
        .map_err(err)?;
    for (i, row) in rows.iter().enumerate() {
        let Some(v) = row.events_per_s() else { continue };
        let y = (rows.len() - 1 - i) as f64;
        let c = color(system_index(systems, &row.system));
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x_lo, y + 0.15), (v, y + 0.85)],
                c.filled(),
            )))
            .map_err(err)?;
        let ratio =
            row.ours_over_this.map(|r| format!("  (ours/this {r:.2}x)")).unwrap_or_default();
        let label = format!("{} {}: {}{ratio}", row.case, row.system, si(v));
        chart
            .draw_series(std::iter::once(Text::new(label, (v * 1.1, y + 0.3), ("sans-serif", 13))))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn latency(rows: &[&Row], systems: &[String], scenario: &str, path: &Path) -> Result<()> {
    let series: Vec<(&Row, [f64; 4])> = rows
        .iter()
        .filter_map(|r| {
            let l = r.measurement?.latency?;
            Some((*r, [l.p50_us, l.p99_us, l.p999_us, l.max_us].map(|v| v.max(0.01))))
        })
        .collect();
    let all = series.iter().flat_map(|(_, v)| v.iter().copied());
    let hi = all.clone().fold(0.01, f64::max);
    let lo = all.fold(hi, f64::min);
    let root = SVGBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{scenario}: latency per call, us (log scale)"), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .right_y_label_area_size(10)
        .build_cartesian_2d(-0.2f64..3.8, (lo / 2.0..hi * 2.0).log_scale())
        .map_err(err)?;
    const NAMES: [&str; 4] = ["p50", "p99", "p99.9", "max"];
    chart
        .configure_mesh()
        .x_labels(4)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && (0.0..4.0).contains(&i) {
                NAMES.get(i as usize).map(|s| s.to_string()).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| micros(*v))
        .draw()
        .map_err(err)?;
    for (k, (row, values)) in series.iter().enumerate() {
        let c = color(system_index(systems, &row.system));
        let dashed = k % 2 == 1;
        let points: Vec<(f64, f64)> =
            values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
        let style = if dashed { c.stroke_width(1) } else { c.stroke_width(2) };
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(err)?
            .label(format!("{} {}", row.case, row.system))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

fn rss(report: &Report, path: &Path) -> Result<()> {
    const MIB: f64 = 1024.0 * 1024.0;
    let samples = &report.rss_samples;
    let t_max = samples.last().map_or(1.0, |s| s.t_s).max(1.0);
    let m_max = samples.iter().map(|s| s.rss_anon_bytes as f64 / MIB).fold(1.0, f64::max);
    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("RssAnon over the run (MiB)", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..t_max, 0f64..m_max * 1.1)
        .map_err(err)?;
    chart.configure_mesh().x_desc("seconds").y_desc("MiB").draw().map_err(err)?;
    // One line per stretch of samples with the same scenario, coloured by scenario.
    let scenario_of = |label: &str| label.split('/').next().unwrap_or("").to_string();
    let mut names: Vec<String> = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let name = samples.get(start).map(|s| scenario_of(&s.label)).unwrap_or_default();
        let mut end = start + 1;
        while samples.get(end).is_some_and(|s| scenario_of(&s.label) == name) {
            end += 1;
        }
        let first = !names.contains(&name);
        if first {
            names.push(name.clone());
        }
        let idx = names.iter().position(|n| n == &name).unwrap_or(0);
        let c = color(idx);
        // Include the next sample so stretches join up.
        let stop = (end + 1).min(samples.len());
        let points = samples
            .get(start..stop)
            .unwrap_or_default()
            .iter()
            .map(|s| (s.t_s, s.rss_anon_bytes as f64 / MIB));
        let drawn = chart.draw_series(LineSeries::new(points, c.stroke_width(2))).map_err(err)?;
        if first {
            drawn.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
            });
        }
        start = end;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

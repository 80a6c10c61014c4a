//! Result files: the whole [`Report`] as JSON, and one CSV line per row.

use std::io::Write;
use std::path::Path;

use super::result::{Report, Status};
use super::Result;

/// Writes `report` as pretty JSON to `path`.
pub fn write_json(report: &Report, path: &Path) -> Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(file, report)?;
    Ok(())
}

/// Column names of the CSV, in order.
pub const CSV_HEADER: &str = "scenario,case,system,status,events,payload_bytes,ops,elapsed_s,\
events_per_s,payload_bytes_per_s,latency_op,p50_us,p99_us,p999_us,max_us,mean_us,limit,\
limit_ratio,ours_over_this,note,backend";

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// Writes one line per row of `report` to `path`, after [`CSV_HEADER`]. Extras go into the
/// note column as `name=value` pairs; `backend` is the append backend our engine's log ran on.
pub fn write_csv(report: &Report, path: &Path) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{CSV_HEADER}")?;
    for r in &report.rows {
        let m = r.measurement.as_ref();
        let lat = m.and_then(|m| m.latency);
        let status = match r.status {
            Status::Ok => "ok",
            Status::Unsupported => "unsupported",
            Status::Failed => "failed",
        };
        let mut note: Vec<String> = r.extras.iter().map(|(k, v)| format!("{k}={v}")).collect();
        note.extend(r.note.clone());
        let cells = [
            field(&r.scenario),
            field(&r.case),
            field(&r.system),
            status.to_string(),
            num(m.map(|m| m.events as f64)),
            num(m.map(|m| m.payload_bytes as f64)),
            num(m.map(|m| m.ops as f64)),
            num(m.map(|m| m.elapsed_s)),
            num(m.map(|m| m.events_per_s)),
            num(m.map(|m| m.payload_bytes_per_s)),
            lat.map(|l| l.op.to_string()).unwrap_or_default(),
            num(lat.map(|l| l.p50_us)),
            num(lat.map(|l| l.p99_us)),
            num(lat.map(|l| l.p999_us)),
            num(lat.map(|l| l.max_us)),
            num(lat.map(|l| l.mean_us)),
            r.limit.label().to_string(),
            num(r.limit_ratio),
            num(r.ours_over_this),
            field(&note.join("; ")),
            field(r.backend.as_deref().unwrap_or("")),
        ];
        writeln!(w, "{}", cells.join(","))?;
    }
    w.flush()?;
    Ok(())
}

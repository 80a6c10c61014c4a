//! Goal: the `redex-bench` quick suite runs end to end at a tiny size, and the files it writes
//! are well formed: the JSON parses and names every scenario that ran, with a row per
//! (scenario, case, system); the CSV has its header and a line per row; the plots are SVG.
//! No timing is asserted.

use std::path::Path;
use std::process::Command;

use redex_benches::harness::output::CSV_HEADER;
use redex_benches::harness::scenario::{registry, Entry};
use serde_json::Value;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redex-bench"))
}

/// The scenarios a run that names none runs (the soak only runs when named).
fn available() -> Vec<&'static str> {
    registry()
        .iter()
        .filter(|e| matches!(e, Entry::Available(s) if s.in_default_suite()))
        .map(Entry::name)
        .collect()
}

#[test]
fn quick_suite_at_tiny_size_writes_parseable_results() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let json = tmp.path().join("out.json");
    let csv = tmp.path().join("out.csv");
    let plots = tmp.path().join("plots");
    let run_dir = tmp.path().join("runs");
    let out = bench()
        .args(["--events", "2000", "--dir"])
        .arg(&run_dir)
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--plot")
        .arg(&plots)
        .output()
        .expect("run redex-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "redex-bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("json parses");
    let run: Vec<&str> = report["scenarios_run"]
        .as_array()
        .expect("scenarios_run is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(run, available(), "every available scenario ran, in registry order");
    let rows = report["rows"].as_array().expect("rows is a list");
    let systems: Vec<&str> =
        report["systems"].as_array().expect("systems").iter().filter_map(Value::as_str).collect();
    assert_eq!(systems.first(), Some(&"redex"));
    for scenario in &run {
        let mine: Vec<&Value> = rows.iter().filter(|r| r["scenario"] == *scenario).collect();
        assert!(!mine.is_empty(), "rows for {scenario}");
        for system in &systems {
            // A scenario may file our rows under a backend label (`redex:io_uring`).
            let labelled = format!("{system}:");
            assert!(
                mine.iter().any(|r| r["system"] == *system
                    || r["system"].as_str().is_some_and(|s| s.starts_with(&labelled))),
                "{scenario} has a {system} row"
            );
        }
        assert!(stdout.contains(&format!("== {scenario}")), "table has a {scenario} section");
    }
    for row in rows.iter().filter(|r| r["system"] == "redex") {
        assert_eq!(row["status"], "ok", "our engine ran {row}");
        let m = &row["measurement"];
        assert!(m["events"].as_u64().is_some_and(|n| n > 0), "events counted in {row}");
        assert!(m["events_per_s"].as_f64().is_some_and(|x| x > 0.0));
    }
    // The backends scenario compares both append paths of our engine; a kernel without
    // io_uring makes its rows `unsupported`, never `failed`.
    for row in rows.iter().filter(|r| r["scenario"] == "backends" && r["system"] != "redex") {
        assert!(row["status"] == "ok" || row["status"] == "unsupported", "backends row {row}");
    }
    assert!(
        rows.iter().any(|r| r["scenario"] == "backends" && r["system"] == "redex:std"),
        "backends has a portable-path row"
    );
    // The machine's own io_uring probe comes first in the backends scenario, one row per path
    // (or an `unsupported` row where the kernel refuses io_uring).
    assert!(
        rows.iter().any(|r| r["scenario"] == "backends"
            && r["case"] == "machine_uring_vs_pwrite_64B"
            && (r["system"] == "machine:pwrite" || r["status"] == "unsupported")),
        "backends has the machine's own io_uring probe"
    );
    // The tiers scenario reads the warm log both ways, owned events and lent batches.
    for case in ["tiers_warm_read_64B_chunked1024", "tiers_warm_read_batch_64B_chunked1024"] {
        assert!(
            rows.iter().any(|r| r["case"] == case && r["system"] == "redex" && r["status"] == "ok"),
            "tiers has {case}"
        );
    }
    for key in ["memcpy_bytes_per_s", "write_buffered_bytes_per_s", "fsync_p50_us"] {
        assert!(report["limits"][key].as_f64().is_some_and(|x| x > 0.0), "limit {key}");
    }

    let csv_text = std::fs::read_to_string(&csv).expect("csv written");
    let mut lines = csv_text.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    assert_eq!(lines.count(), rows.len());

    for scenario in &run {
        let svg = plots.join(format!("throughput_{scenario}.svg"));
        let text = std::fs::read_to_string(&svg).expect("throughput plot written");
        assert!(text.contains("<svg"), "{} is SVG", svg.display());
    }
    assert!(
        plots.join("rss.svg").exists()
            || report["rss_samples"].as_array().is_some_and(|s| s.len() < 2)
    );
    // The run cleaned up after itself.
    assert_eq!(dir_entries(&run_dir), 0, "run directory left empty");
}

fn dir_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn backend_flag_is_recorded_and_both_labels_each_system() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let json = tmp.path().join("out.json");
    let csv = tmp.path().join("out.csv");
    let out = bench()
        .args(["--scenario", "durable", "--events", "200", "--backend", "both", "--dir"])
        .arg(tmp.path().join("runs"))
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .output()
        .expect("run redex-bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json parses");
    assert_eq!(report["options"]["backend"], "both");
    let systems: Vec<&str> =
        report["systems"].as_array().expect("systems").iter().filter_map(Value::as_str).collect();
    assert_eq!(systems.get(..2), Some(&["redex:io_uring", "redex:std"][..]));
    let rows = report["rows"].as_array().expect("rows");
    for row in rows.iter().filter(|r| r["system"] == "redex:std") {
        assert_eq!(row["backend"], "std", "the portable path ran: {row}");
    }
    for row in rows.iter().filter(|r| r["system"] == "redex:io_uring" && r["status"] == "ok") {
        assert_eq!(row["backend"], "io_uring", "io_uring ran: {row}");
    }
    let csv_text = std::fs::read_to_string(&csv).expect("csv written");
    assert!(csv_text.lines().next().is_some_and(|h| h.ends_with(",backend")));
    assert!(csv_text.lines().skip(1).any(|l| l.ends_with(",std")));
}

#[test]
fn cortex_and_netdb_scenarios_run_alone() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let json = tmp.path().join("out.json");
    let out = bench()
        .args(["--scenario", "cortex", "--scenario", "netdb", "--events", "1000", "--dir"])
        .arg(tmp.path().join("runs"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run redex-bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json parses");
    let run: Vec<&str> = report["scenarios_run"]
        .as_array()
        .expect("scenarios_run is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(run, ["cortex", "netdb"]);
    assert_eq!(report["scenarios_unavailable"].as_array().map(Vec::len), Some(0));
    let rows = report["rows"].as_array().expect("rows");
    for (scenario, case) in [
        ("cortex", "tasks_ingest_create"),
        ("cortex", "tasks_find_many_status_ref_50"),
        ("cortex", "memories_snapshot_decode_10"),
        ("netdb", "netdb_bundle_decode_states_10x2"),
        ("netdb", "netdb_restart_snapshot_tail_1000ev"),
    ] {
        let row = rows
            .iter()
            .find(|r| r["scenario"] == scenario && r["case"] == case && r["system"] == "redex")
            .unwrap_or_else(|| panic!("no redex row for {scenario}/{case}"));
        assert_eq!(row["status"], "ok", "{row}");
        assert!(row["measurement"]["events"].as_u64().is_some_and(|n| n > 0), "{row}");
    }
    let restart = rows
        .iter()
        .find(|r| r["case"] == "netdb_restart_snapshot_tail_1000ev" && r["system"] == "redex")
        .expect("restart row");
    assert!(restart["extras"]["vs_replay"].as_f64().is_some_and(|x| x > 0.0), "{restart}");
}

#[test]
fn unknown_scenario_and_bad_fsync_are_refused() {
    let out = bench().args(["--scenario", "nope"]).output().expect("run redex-bench");
    assert!(!out.status.success());
    let out = bench().args(["--fsync", "sometimes"]).output().expect("run redex-bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fsync"));
    let out = bench().args(["--backend", "fastest"]).output().expect("run redex-bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("backend"));
}

//! Goal: `RedexFile::stats` counts appends, fsyncs and tiers as they happen, and
//! `Redex::prometheus_text` is valid text exposition format (checked by a small parser) whose
//! counters move with the file.

use std::collections::BTreeMap;

use redex::{ChannelName, FsyncPolicy, Redex, RedexFileConfig};

/// Parses the exposition format strictly enough to catch malformed output: every sample line is
/// `name{labels} value` with a known TYPE declared before it, label values quoted, values
/// numeric. Returns samples keyed by `name{labels}`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().expect("name"), parts.next().expect("kind"));
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series and value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = series.split('{').next().expect("name");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split(',') {
                let (k, v) = pair.split_once('=').expect("label pair");
                assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
                assert!(v.starts_with('"') && v.ends_with('"'), "{line}");
            }
        }
        samples.insert(series.to_string(), value);
    }
    samples
}

#[test]
fn counters_move_and_the_exposition_parses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redex = Redex::with_persistent_dir(dir.path()).expect("manager");
    let cfg = RedexFileConfig::default()
        .with_persistent(true)
        .with_segment_bytes_max(4096)
        .with_fsync_policy(FsyncPolicy::Never);
    let file = redex.open_file(&ChannelName::new("m/a").expect("name"), cfg).expect("open");
    let before = file.stats();
    assert_eq!((before.appends, before.fsyncs.count), (0, 0));
    for i in 0..200u32 {
        file.append(&i.to_le_bytes()).expect("append");
    }
    file.append_batch(&[b"ab".as_slice(), b"cd"]).expect("batch");
    file.append_durable(b"durable").expect("durable");
    file.sync().expect("sync");
    let s = file.stats();
    assert_eq!(s.appends, 202);
    assert_eq!(s.appended_events, 203);
    assert_eq!(s.appended_bytes, 800 + 4 + 7);
    assert_eq!(s.durable_appends, 1);
    assert!(s.fsyncs.count >= 2, "{:?}", s.fsyncs);
    assert_eq!(s.fsyncs.buckets.iter().sum::<u64>(), s.fsyncs.count);
    assert_eq!(s.next_seq, 203);
    assert_eq!(s.hot.events + s.warm.events, 203);
    assert!(s.backend.is_some());

    let heap = redex
        .open_file(&ChannelName::new("m/heap").expect("name"), RedexFileConfig::default())
        .expect("heap");
    heap.append(b"x").expect("append");
    let text = redex.prometheus_text();
    let samples = parse(&text);
    assert_eq!(samples["redex_appends_total{channel=\"m/a\"}"], 202.0);
    assert_eq!(samples["redex_appended_events_total{channel=\"m/heap\"}"], 1.0);
    assert_eq!(samples["redex_next_seq{channel=\"m/a\"}"], 203.0);
    let count = samples["redex_fsync_duration_seconds_count{channel=\"m/a\"}"];
    assert_eq!(samples["redex_fsync_duration_seconds_bucket{channel=\"m/a\",le=\"+Inf\"}"], count);
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("redex_fsync_duration_seconds_bucket{channel=\"m/a\""))
        .map(|(_, v)| *v)
        .collect();
    assert!(buckets.iter().all(|b| *b <= count), "cumulative buckets never pass the count");
    assert_eq!(samples["redex_backend_info{channel=\"m/heap\",backend=\"heap\"}"], 1.0);

    for _ in 0..10 {
        file.append(b"more").expect("append");
    }
    let again = parse(&redex.prometheus_text());
    assert_eq!(again["redex_appends_total{channel=\"m/a\"}"], 212.0);
}

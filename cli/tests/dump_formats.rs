//! Goal: `redex dump` prints exactly the selected entries (`--from`, `--to` exclusive,
//! `--since` in Unix ns or RFC 3339) in each format: raw bytes, hex lines, JSON lines.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use base64::Engine as _;
use common::*;
use redex::{ChannelName, Redex};

fn dump(dir: &str, extra: &[&str]) -> String {
    let mut args = vec!["dump", dir, "orders"];
    args.extend_from_slice(extra);
    let out = redex(&args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn dump_formats_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 200);
    let d = dir.path().to_str().unwrap();

    // json: every entry, in order, payload in standard base64.
    let json = dump(d, &["--format", "json"]);
    let lines: Vec<serde_json::Value> =
        json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 200);
    let mut last_ts = 0;
    for (seq, v) in lines.iter().enumerate() {
        assert_eq!(v["seq"], seq as u64);
        let b64 = v["payload_base64"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        assert_eq!(bytes, payload(seq as u64));
        assert_eq!(v["len"], bytes.len() as u64);
        let ts = v["timestamp_ns"].as_u64().unwrap();
        assert!(ts >= last_ts);
        last_ts = ts;
    }

    // raw: payloads, newline-terminated; --to is exclusive.
    let raw = dump(d, &["--format", "raw", "--from", "10", "--to", "13"]);
    let want: Vec<u8> = (10..13).flat_map(|s| [payload(s), b"\n".to_vec()].concat()).collect();
    assert_eq!(raw.as_bytes(), want);

    // hex (the default): seq, RFC 3339 time, length, hex payload.
    let hex = dump(d, &["--from", "42", "--to", "43"]);
    let fields: Vec<&str> = hex.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "{hex}");
    assert_eq!(fields[0], "42");
    assert!(fields[1].ends_with('Z') && fields[1].contains('T'));
    assert_eq!(fields[2], payload(42).len().to_string());
    let hex_payload: String = payload(42).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(fields[3], hex_payload);

    // --since, in ns and in RFC 3339, selects exactly the entries at or after the time.
    let ts_of = |seq: usize| lines[seq]["timestamp_ns"].as_u64().unwrap();
    let since = ts_of(150);
    let expected: Vec<u64> =
        (0..200).filter(|&s| ts_of(s as usize) >= since).map(|s| s as u64).collect();
    // The hex format prints the same time in RFC 3339.
    let since_rfc3339 =
        dump(d, &["--from", "150", "--to", "151"]).split_whitespace().nth(1).unwrap().to_string();
    for arg in [since.to_string(), since_rfc3339] {
        let got: Vec<u64> = dump(d, &["--format", "json", "--since", &arg])
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(got, expected, "--since {arg}");
    }
    // --since combines with --to.
    let got = dump(d, &["--format", "json", "--since", &since.to_string(), "--to", "160"]);
    assert_eq!(got.lines().count(), expected.iter().filter(|&&s| s < 160).count());

    // Ranges past the end print nothing; a reversed range is an error.
    assert_eq!(dump(d, &["--from", "500"]), "");
    let bad = redex(&["dump", d, "orders", "--from", "5", "--to", "4"]);
    assert_eq!(bad.status.code(), Some(1));
    let bad = redex(&["dump", d, "orders", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn dump_below_retained_head_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let cfg = config().with_retention(redex::Retention::events(50));
        let file = redex.open_file(&ChannelName::new("orders").unwrap(), cfg).unwrap();
        append(&file, 0, 300);
        file.close().unwrap();
    }
    let d = dir.path().to_str().unwrap();
    // What is left on disk starts at a segment boundary at or below 250.
    let all = dump(d, &["--format", "json"]);
    let first: u64 = serde_json::from_str::<serde_json::Value>(all.lines().next().unwrap())
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert!(first > 0 && first <= 250, "{first}");
    let out = redex(&["dump", d, "orders", "--from", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("evicted"), "{}", stderr(&out));
}

/// Bad bytes inside the unfrozen log with intact frames after them: the read-only open stops
/// at the bad bytes, so dump and tail cannot print what follows; they must say so (exit 3,
/// naming the log and the seqs) instead of ending quietly short.
#[test]
fn dump_and_tail_report_intact_entries_past_damage_in_the_unfrozen_log() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    let mut logs: Vec<_> = std::fs::read_dir(segment_dir(dir.path(), "orders"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let hot = logs.pop().unwrap();
    let mut bytes = std::fs::read(&hot).unwrap();
    bytes[32 + 150] ^= 0x40;
    std::fs::write(&hot, &bytes).unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [&["dump", d, "orders", "--format", "raw"][..], &["tail", d, "orders"]] {
        let out = redex(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(hot.to_str().unwrap()) && err.contains("..300"), "{err}");
        assert!(!stdout(&out).is_empty(), "{args:?}");
    }
    // A range that ends before the damage is unaffected.
    let out = redex(&["dump", d, "orders", "--to", "10"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

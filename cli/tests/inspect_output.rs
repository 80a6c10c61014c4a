//! Goal: `redex inspect` lists the channels and, per channel, every segment with its tier,
//! seq range, time range and sizes, the head, the next seq and the format versions.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::*;

#[test]
fn inspect_lists_channels_segments_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders/eu", 300);
    build_log(dir.path(), "audit", 3);
    let d = dir.path().to_str().unwrap();

    let out = redex(&["inspect", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    println!("{text}");
    assert!(text.contains("channels   2: audit, orders/eu"), "{text}");
    assert!(text.contains("log v1, index v1, manifest v1-2, cold object v1"), "{text}");
    assert!(text.contains("channel orders/eu"), "{text}");
    assert!(text.contains("300 retained: head seq 0, next seq 300"), "{text}");
    assert!(text.contains("3 retained: head seq 0, next seq 3"), "{text}");

    // Every frozen segment appears as a warm row naming its log file; seq ranges tile 0..300.
    let frozen = frozen_logs(dir.path(), "orders/eu");
    assert!(frozen.len() >= 3, "expected several frozen segments, got {}", frozen.len());
    let section = &text[text.find("channel orders/eu").unwrap()..];
    let orders: Vec<Vec<&str>> = section
        .lines()
        .map(str::split_whitespace)
        .map(Iterator::collect)
        .filter(|r: &Vec<&str>| r.len() == 9 && (r[0] == "warm" || r[0] == "hot"))
        .collect();
    assert_eq!(orders.iter().filter(|r| r[0] == "warm").count(), frozen.len());
    let mut expected_first = 0u64;
    for r in &orders {
        assert_eq!(r[1].parse::<u64>().unwrap(), expected_first, "{r:?}");
        let next: u64 = r[2].parse().unwrap();
        assert_eq!(r[3].parse::<u64>().unwrap(), next - expected_first);
        assert!(r[4].parse::<u64>().unwrap() <= SEGMENT_BYTES, "{r:?}");
        assert_eq!(r[8], format!("{expected_first:020}.log"));
        if next > expected_first {
            assert!(r[6].ends_with('Z') && r[7].ends_with('Z'), "{r:?}");
        }
        expected_first = next;
    }
    assert_eq!(expected_first, 300);

    // One channel only.
    let one = redex(&["inspect", d, "audit"]);
    assert!(one.status.success());
    assert!(!stdout(&one).contains("channel orders/eu"));
}

#[test]
fn inspect_unknown_channel_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "audit", 1);
    let out = redex(&["inspect", dir.path().to_str().unwrap(), "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no channel \"nope\"; its channels are: audit"),
        "{}",
        stderr(&out)
    );

    let missing = dir.path().join("missing");
    let out = redex(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(missing.to_str().unwrap()), "{}", stderr(&out));
}

/// A directory that is not a RedEX base directory (another tool's, a channel's own, a typo's
/// parent) is an error naming it, not "0 channels" and, for verify, not "ok".
#[test]
fn a_directory_that_is_not_a_redex_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(foreign.join("data")).unwrap();
    std::fs::write(foreign.join("data").join("file.log"), b"not redex").unwrap();
    let db = dir.path().join("db");
    build_log(&db, "orders", 10);
    let inner = segment_dir(&db, "orders");
    for target in [&foreign, &inner, &db.join("channels")] {
        for cmd in ["inspect", "verify"] {
            let out = redex(&[cmd, target.to_str().unwrap()]);
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{cmd} {}: {}{err}",
                target.display(),
                stdout(&out)
            );
            assert!(err.contains("is not a RedEX directory"), "{err}");
            assert!(err.contains(target.to_str().unwrap()), "{err}");
        }
    }
    // Inside a base directory, the message names it.
    let err = stderr(&redex(&["verify", inner.to_str().unwrap()]));
    assert!(err.contains(&format!("did you mean {}?", db.display())), "{err}");
    // A base directory without channels yet is fine.
    let empty = dir.path().join("empty");
    redex::Redex::with_persistent_dir(&empty).unwrap().close().unwrap();
    let out = redex(&["verify", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

//! Goal: `redex tail` prints the last entries; with `--follow` it prints entries another
//! process appends afterwards (across segment rollovers), and stops after `--max-polls`.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use redex::Redex;

fn seqs(text: &str) -> Vec<u64> {
    text.lines().map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect()
}

#[test]
fn tail_prints_the_last_entries() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 100);
    let d = dir.path().to_str().unwrap();
    assert_eq!(seqs(&stdout(&redex(&["tail", d, "orders"]))), (90..100).collect::<Vec<_>>());
    assert_eq!(seqs(&stdout(&redex(&["tail", d, "orders", "-n", "3"]))), vec![97, 98, 99]);
    assert_eq!(seqs(&stdout(&redex(&["tail", d, "orders", "-n", "500"]))).len(), 100);
}

#[test]
fn tail_follow_prints_new_entries_until_max_polls() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Redex::with_persistent_dir(dir.path()).unwrap();
    let file = open_writer(&writer, "orders");
    append(&file, 0, 20);

    let child = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["tail", dir.path().to_str().unwrap(), "orders", "-n", "5", "--follow"])
        .args(["--poll-interval-ms", "20", "--max-polls", "100", "--format", "raw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Append while it follows: enough to roll over several segments.
    for chunk in 0..5 {
        std::thread::sleep(Duration::from_millis(100));
        append(&file, 20 + chunk * 40, 20 + (chunk + 1) * 40);
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let want: String = (15..220).map(|s| String::from_utf8(payload(s)).unwrap() + "\n").collect();
    assert_eq!(stdout(&out), want);
    file.close().unwrap();
}

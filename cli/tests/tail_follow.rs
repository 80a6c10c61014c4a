//! Goal: `redex tail` prints the last entries; with `--follow` it prints entries another
//! process appends afterwards (across segment rollovers), and stops after `--max-polls`.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use redex::Redex;

fn seqs(text: &str) -> Vec<u64> {
    text.lines().map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect()
}

/// `redex tail <dir> orders -n <lines> --follow` in raw format, with a thread sending each
/// line it prints. Enough polls to outlast a slow machine; the test kills it when done.
fn follow(
    dir: &std::path::Path,
    lines: &str,
) -> (Child, mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["tail", dir.to_str().unwrap(), "orders", "-n", lines, "--follow"])
        .args(["--poll-interval-ms", "20", "--max-polls", "3000", "--format", "raw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx, reader)
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
fn tail_follow_prints_new_entries_then_stops_after_max_polls() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Redex::with_persistent_dir(dir.path()).unwrap();
    let file = open_writer(&writer, "orders");
    append(&file, 0, 20);

    let (mut child, rx, reader) = follow(dir.path(), "5");
    let want: Vec<String> = (15..220).map(|s| String::from_utf8(payload(s)).unwrap()).collect();
    let mut got = Vec::new();
    // The last 5 entries first: only then is the tail surely following (a slow start would
    // otherwise see later appends as part of its last 5).
    while got.len() < 5 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => got.push(line),
            Err(e) => panic!("tail printed {} of its first 5 lines: {e}", got.len()),
        }
    }
    // Append while it follows: enough to roll over several segments.
    for chunk in 0..5 {
        std::thread::sleep(Duration::from_millis(50));
        append(&file, 20 + chunk * 40, 20 + (chunk + 1) * 40);
    }
    while got.len() < want.len() {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => got.push(line),
            Err(e) => panic!("tail printed {} of {} lines: {e}", got.len(), want.len()),
        }
    }
    assert_eq!(got, want);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    file.close().unwrap();

    // --max-polls ends a follow on its own, after printing the last entries.
    let out = redex(
        &["tail", dir.path().to_str().unwrap(), "orders", "-n", "2", "--follow"]
            .into_iter()
            .chain(["--poll-interval-ms", "1", "--max-polls", "5"])
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success());
    assert_eq!(seqs(&stdout(&out)), vec![218, 219]);
}

/// A writer with an fsync policy preallocates its log with zeros, so its appends change
/// neither the log's size nor the directory: `--follow` must still see them (it looks at the
/// logs' modification times too).
#[test]
fn tail_follow_sees_appends_to_a_preallocated_log() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Redex::with_persistent_dir(dir.path()).unwrap();
    let cfg = config().with_fsync_policy(redex::FsyncPolicy::EveryN(1_000_000));
    let file = writer.open_file(&redex::ChannelName::new("orders").unwrap(), cfg).unwrap();
    append(&file, 0, 10);
    let log = segment_dir(dir.path(), "orders").join("00000000000000000000.log");
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size > file.segments()[0].log_bytes, "the log is not preallocated ({size} bytes)");

    let (mut child, rx, reader) = follow(dir.path(), "2");
    let line =
        |rx: &mpsc::Receiver<String>, want: u64| match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => assert_eq!(line, String::from_utf8(payload(want)).unwrap()),
            Err(e) => panic!("tail did not print seq {want}: {e}"),
        };
    line(&rx, 8);
    line(&rx, 9);
    // Appended while it follows, one at a time, with polls in between.
    for seq in 10..14 {
        append(&file, seq, seq + 1);
        line(&rx, seq);
    }
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        size,
        "the log grew: the test proves nothing"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    file.close().unwrap();
}

/// A poll that prints part of what is new and then fails (here: damage in a later chunk) must
/// not print that part again at the next poll: following goes on from the first entry not
/// printed, and every entry is printed at most once.
#[test]
fn tail_follow_never_prints_an_entry_twice_after_a_failed_poll() {
    let dir = tempfile::tempdir().unwrap();
    let (live, next) = (dir.path().join("live"), dir.path().join("next"));
    build_log(&live, "orders", 100);
    // What the channel will be replaced with: more than two read chunks of entries, damaged in
    // the second chunk of what is new to the tail.
    build_log(&next, "orders", 3000);
    let victim = frozen_logs(&next, "orders")
        .into_iter()
        .rfind(|log| {
            let seq: u64 = log.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            seq <= 1600
        })
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&victim, &bytes).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["tail", live.to_str().unwrap(), "orders", "-n", "1", "--follow"])
        .args(["--poll-interval-ms", "20", "--max-polls", "40"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(seqs(&first), vec![99]);
    // Swap the channel for the longer one while it follows.
    let channel = live.join("channels").join("orders");
    std::fs::rename(&channel, dir.path().join("old")).unwrap();
    std::fs::rename(next.join("channels").join("orders"), &channel).unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let printed = seqs(&rest.join("\n"));
    let mut unique = printed.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(printed.len(), unique.len(), "entries printed twice: {} lines", printed.len());
    assert_eq!(printed.first(), Some(&100), "{printed:?}");
    assert!(printed.windows(2).all(|w| w[1] == w[0] + 1), "not in order");
    let err = stderr(&out);
    assert!(err.contains(victim.file_name().unwrap().to_str().unwrap()), "{err}");
}

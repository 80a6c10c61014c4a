//! Goal: `redex verify` exits 0 on a clean log, and on a log with a flipped byte inside a
//! frozen segment's log exits 3 and names the damaged file and the byte offset.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::*;

#[test]
fn verify_clean_log_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    build_log(dir.path(), "audit", 5);
    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let frozen = frozen_logs(dir.path(), "orders").len();
    assert!(text.contains(&format!("channel orders: ok: {frozen} frozen segments")), "{text}");
    assert!(text.contains("ok (2 channels)"), "{text}");
    // No progress bar when stderr is not a terminal.
    assert_eq!(stderr(&out), "");
}

#[test]
fn verify_flipped_byte_exits_nonzero_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    build_log(dir.path(), "audit", 5);
    let frozen = frozen_logs(dir.path(), "orders");
    assert!(frozen.len() >= 3);
    // The last byte of the second frozen log is the last byte of its last payload.
    let victim = &frozen[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let flipped = bytes.len() - 1;
    bytes[flipped] ^= 0x40;
    std::fs::write(victim, &bytes).unwrap();

    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    println!("{text}{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    let problem = text.lines().find(|l| l.starts_with("problem:")).expect("a problem line");
    assert!(problem.contains(victim.to_str().unwrap()), "{problem}");
    // The damage is named either as `corrupt <log>: at byte N` or, when an index record's
    // checksum caught it, as `... payload at byte N of <log>`.
    let log = victim.to_str().unwrap();
    let leading_digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>();
    let offset: u64 = match problem.split(&format!("corrupt {log}: at byte ")).nth(1) {
        Some(rest) => leading_digits(rest),
        None => {
            let before = problem.split(&format!(" of {log}")).next().unwrap();
            let digits: String = before.chars().rev().take_while(char::is_ascii_digit).collect();
            digits.chars().rev().collect()
        }
    }
    .parse()
    .expect("a byte offset in the log");
    assert!(offset <= flipped as u64, "offset {offset} past the flipped byte {flipped}");
    assert!(offset >= 32, "offset {offset} inside the header");
    assert_eq!(text.lines().filter(|l| l.starts_with("problem:")).count(), 1, "{text}");
    assert!(text.contains("channel audit: ok"), "{text}");
    assert!(text.contains("FAILED"), "{text}");

    // Only the clean channel: exit 0. Only the damaged one: exit 3.
    let d = dir.path().to_str().unwrap();
    assert_eq!(redex(&["verify", d, "audit"]).status.code(), Some(0));
    assert_eq!(redex(&["verify", d, "orders"]).status.code(), Some(3));
    // Dumping across the damage fails with the same exit status and names the file too.
    let dump = redex(&["dump", d, "orders", "--format", "json"]);
    assert_eq!(dump.status.code(), Some(3), "{}", stderr(&dump));
    assert!(stderr(&dump).contains(victim.to_str().unwrap()), "{}", stderr(&dump));
    // Salvage mode prints every other entry and still exits 3.
    let salvage = redex(&["dump", d, "orders", "--format", "raw", "--skip-damaged"]);
    assert_eq!(salvage.status.code(), Some(3), "{}", stderr(&salvage));
    assert_eq!(stdout(&salvage).lines().count(), 299);
    assert_eq!(stderr(&salvage).matches("skipped damaged entry").count(), 1);
}

#[test]
fn verify_missing_segment_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    let idx = frozen_logs(dir.path(), "orders")[0].with_extension("idx");
    std::fs::remove_file(&idx).unwrap();
    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_ne!(out.status.code(), Some(0), "{text}");
    let problem = text.lines().find(|l| l.starts_with("problem:")).expect("a problem line");
    assert!(problem.contains("00000000000000000000"), "{problem}");
}

/// Archived segments are in the cold store, which the tool is not given here: `verify` checks
/// the local ones, exits 0, and says how many archived segments it left out; `inspect` counts
/// them among the segments. (tests/cold_store.rs gives it the store.)
#[test]
fn verify_and_inspect_name_archived_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = (dir.path().join("db"), dir.path().join("archive"));
    build_archived_log(&db, &archive, "orders", 300, 60);

    let out = redex(&["verify", db.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let line = text.lines().find(|l| l.starts_with("channel orders: ok")).expect("channel line");
    let unchecked: u64 = line
        .split("; ")
        .find_map(|part| {
            part.strip_suffix(
                " archived segments not checked (no cold store given: --cold-dir or --cold-s3)",
            )
        })
        .expect("the archived segments are counted")
        .parse()
        .unwrap();
    assert!(unchecked > 0, "{line}");
    let last = text.lines().last().unwrap();
    assert!(
        last.contains(&format!("ok (1 channels); {unchecked} archived segments not checked")),
        "{last}"
    );

    let out = redex(&["inspect", db.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let size = text.lines().find(|l| l.trim_start().starts_with("size")).expect("size line");
    assert!(size.contains(&format!("({unchecked} cold, ")), "{size}");
}

/// The path of the unfrozen (last) log of `channel`.
fn hot_log(dir: &std::path::Path, channel: &str) -> std::path::PathBuf {
    let mut logs: Vec<_> = std::fs::read_dir(segment_dir(dir, channel))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

/// A damaged frame in the middle of the unfrozen log, with intact frames after it: the
/// writer's reopen would cut the log there and delete those entries, so this is damage (exit
/// 3, naming the log, the byte and the seqs at stake), not a torn write.
#[test]
fn verify_damage_inside_the_unfrozen_log_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    let log = hot_log(dir.path(), "orders");
    let mut bytes = std::fs::read(&log).unwrap();
    // Inside the second frame (the header is 32 bytes, each frame here about 100).
    let flipped = 32 + 150;
    bytes[flipped] ^= 0x40;
    std::fs::write(&log, &bytes).unwrap();

    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    let problem = text.lines().find(|l| l.starts_with("problem:")).expect("a problem line");
    assert!(problem.contains(&format!("corrupt {}: at byte ", log.display())), "{problem}");
    assert!(problem.contains("valid frames follow") && problem.contains("..300"), "{problem}");
    assert!(text.contains("channel orders: DAMAGED"), "{text}");
}

/// A writer with an fsync policy preallocates its log with zeros: they are not a torn write,
/// and verify says nothing about them.
#[test]
fn verify_preallocated_zeros_are_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let writer = redex::Redex::with_persistent_dir(dir.path()).unwrap();
    let cfg = config().with_fsync_policy(redex::FsyncPolicy::EveryN(1_000_000));
    let file = writer.open_file(&redex::ChannelName::new("orders").unwrap(), cfg).unwrap();
    append(&file, 0, 10);
    let log = hot_log(dir.path(), "orders");
    assert!(std::fs::metadata(&log).unwrap().len() > file.segments()[0].log_bytes);

    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(!text.contains("note:"), "{text}");
    file.close().unwrap();
}

/// An unfrozen log that ends early (here: torn) followed by another log: the read-only open
/// shows the channel ending in the first, and the writer's reopen would delete the second,
/// with every entry in it. verify names that log and its seqs and exits 3.
#[test]
fn verify_names_a_log_the_writer_would_delete() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 300);
    // Make the last frozen segment unfrozen again (as a crash before its freeze leaves it):
    // no index, no manifest record.
    let last_frozen = frozen_logs(dir.path(), "orders").pop().unwrap();
    std::fs::remove_file(last_frozen.with_extension("idx")).unwrap();
    let manifest = segment_dir(dir.path(), "orders").join("manifest");
    let len = std::fs::metadata(&manifest).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&manifest).unwrap().set_len(len - 64).unwrap();
    // Tear its last frame.
    let log_len = std::fs::metadata(&last_frozen).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last_frozen)
        .unwrap()
        .set_len(log_len - 10)
        .unwrap();
    let hot = hot_log(dir.path(), "orders");
    assert_ne!(hot, last_frozen);

    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    assert!(text.contains(&format!("note: channel orders: {}", last_frozen.display())), "{text}");
    let problem = text.lines().find(|l| l.starts_with("problem:")).expect("a problem line");
    assert!(problem.contains(&format!("{}: a log of", hot.display())), "{problem}");
    assert!(problem.contains("..300)") && problem.contains("would delete it"), "{problem}");
}

/// A segment directory the engine cannot open, because its path is not a valid channel name,
/// is a problem naming it, never silently left out of "ok".
#[test]
fn verify_reports_segment_dirs_with_invalid_channel_names() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 50);
    let stray = dir.path().join("channels/with space/.redex");
    std::fs::create_dir_all(&stray).unwrap();
    for entry in std::fs::read_dir(segment_dir(dir.path(), "orders")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), stray.join(entry.file_name())).unwrap();
    }
    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("with space/.redex: not a valid channel name"), "{text}");
    assert!(text.contains("channel orders: ok"), "{text}");
    // Verifying one channel by name looks at that channel only.
    let out = redex(&["verify", dir.path().to_str().unwrap(), "orders"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A log cut shorter than its header (a crash while it was being created, or a cut by hand) is
/// mentioned, not passed over in silence.
#[test]
fn verify_mentions_a_log_shorter_than_its_header() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), "orders", 5);
    let log = segment_dir(dir.path(), "orders").join("00000000000000000000.log");
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(20).unwrap();
    let out = redex(&["verify", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains("20 bytes, shorter than its 32-byte header"), "{text}{}", stderr(&out));
}

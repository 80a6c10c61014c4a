//! Goal: given the writer's cold store (`--cold-dir PATH`, or `--cold-s3` from `REDEX_S3_*`),
//! the read-only commands read archived history: `verify` fetches and checks every archived
//! segment (and exits 3 naming a damaged object), `dump` and `tail` print archived entries from
//! seq 0, `inspect` names the store; and the database directory and the store are left byte for
//! byte as they were. A store that cannot be set up is a clear error.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;

const COUNT: u64 = 300;
/// Entries kept warm: the rest of the frozen history is archived.
const WARM: u64 = 60;

/// `dir/db` with `orders` (archived to `dir/archive` but for its last `WARM` entries) and a
/// small `audit` that archives nothing.
fn archived_db(dir: &Path) -> (PathBuf, PathBuf) {
    let (db, archive) = (dir.join("db"), dir.join("archive"));
    build_archived_log(&db, &archive, "orders", COUNT, WARM);
    build_log(&db, "audit", 5);
    (db, archive)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The line of `text` starting with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?}: {text}"))
}

/// The number just before `suffix` in `line`.
fn number_before(line: &str, suffix: &str) -> u64 {
    let before = line.split(suffix).next().unwrap();
    let digits: String = before.chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or_else(|_| panic!("{suffix}: {line}"))
}

/// The payloads of seqs `range`, one per line, as `--format raw` prints them.
fn raw(range: std::ops::Range<u64>) -> String {
    range.map(|seq| String::from_utf8(payload(seq)).unwrap() + "\n").collect()
}

#[test]
fn verify_with_cold_dir_checks_every_archived_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = archived_db(dir.path());
    let objects = archived_objects(&archive, "orders").len() as u64;
    assert!(objects >= 2, "{objects} archived");
    let before = (snapshot(&db), snapshot(&archive));
    let (d, a) = (s(&db), s(&archive));

    // Without the store: the local segments, and the archived ones counted as not checked.
    let out = redex(&["verify", d]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let local = number_before(line(&stdout(&out), "channel orders: ok"), " frozen segments");
    assert!(stdout(&out).contains(&format!("; {objects} archived segments not checked")));

    let out = redex(&["verify", d, "--cold-dir", a]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let orders = line(&text, "channel orders: ok");
    assert!(
        orders.starts_with(&format!(
            "channel orders: ok: {} frozen segments ({objects} archived, fetched from the cold \
             store), ",
            local + objects
        )),
        "{orders}"
    );
    assert!(orders.ends_with("; 0 damaged"), "{orders}");
    assert!(!text.contains("not checked"), "{text}");
    assert!(text.contains("channel audit: ok: 0 frozen segments, "), "{text}");
    assert_eq!(
        text.lines().last().unwrap(),
        format!("verify {d}: ok (2 channels); {objects} archived segments checked in {a}")
    );

    // Before the command, for one channel.
    let out = redex(&["--cold-dir", a, "verify", d, "orders"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("({objects} archived, ")), "{}", stdout(&out));

    let out = redex(&["inspect", d, "orders", "--cold-dir", a]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_eq!(line(&text, "cold store "), format!("cold store {a}"));
    assert!(line(&text, "  size").contains(&format!("({objects} cold, ")), "{text}");

    assert!(before == (snapshot(&db), snapshot(&archive)), "a read-only command changed a file");
}

#[test]
fn verify_with_cold_dir_names_a_damaged_archived_object() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = archived_db(dir.path());
    let objects = archived_objects(&archive, "orders");
    assert!(objects.len() >= 2);
    // The last byte of an object is the last byte of its last payload.
    let victim = &objects[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(victim, &bytes).unwrap();
    let (d, a) = (s(&db), s(&archive));

    // Without the store nothing reads the object.
    assert_eq!(redex(&["verify", d]).status.code(), Some(0));

    let out = redex(&["verify", d, "--cold-dir", a]);
    let text = stdout(&out);
    println!("{text}{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    let problems: Vec<&str> = text.lines().filter(|l| l.starts_with("problem:")).collect();
    assert_eq!(problems.len(), 1, "{text}");
    assert!(problems[0].contains(s(victim)), "{}", problems[0]);
    assert!(problems[0].starts_with("problem: channel orders: corrupt "), "{}", problems[0]);
    assert!(line(&text, "channel orders: DAMAGED").ends_with("; 1 damaged"), "{text}");
    assert!(text.contains("channel audit: ok"), "{text}");
    assert!(text.lines().last().unwrap().contains("FAILED"), "{text}");

    // A dump across the damaged object fails the same way, naming it; salvage mode skips only
    // the damaged entry.
    let dump = redex(&["dump", d, "orders", "--cold-dir", a]);
    assert_eq!(dump.status.code(), Some(3), "{}", stderr(&dump));
    assert!(stderr(&dump).contains(s(victim)), "{}", stderr(&dump));
    let salvage =
        redex(&["dump", d, "orders", "--format", "raw", "--skip-damaged", "--cold-dir", a]);
    assert_eq!(salvage.status.code(), Some(3), "{}", stderr(&salvage));
    assert_eq!(stdout(&salvage).lines().count() as u64, COUNT - 1);
    assert_eq!(stderr(&salvage).matches("skipped damaged entry").count(), 1);
}

#[test]
fn dump_and_tail_read_archived_entries_with_cold_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = archived_db(dir.path());
    assert!(archived_objects(&archive, "orders")[0].ends_with("00000000000000000000.rxseg"));
    let before = (snapshot(&db), snapshot(&archive));
    let (d, a) = (s(&db), s(&archive));

    // Without the store, seq 0 is out of reach, and the error says how to reach it.
    let out = redex(&["dump", d, "orders"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("seq 0 of channel orders is in the cold archive"));
    assert!(stderr(&out).contains("--cold-dir PATH or --cold-s3"), "{}", stderr(&out));

    let out = redex(&["dump", d, "orders", "--format", "raw", "--cold-dir", a]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out) == raw(0..COUNT), "{}", stdout(&out));

    let out = redex(&["dump", d, "orders", "--from", "5", "--to", "9", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "archived without a store");
    let out = redex(&[
        "--cold-dir",
        a,
        "dump",
        d,
        "orders",
        "--from",
        "5",
        "--to",
        "9",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seqs: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![5, 6, 7, 8]);

    // `tail` has no from-the-start option: the last COUNT entries are all of them.
    let n = COUNT.to_string();
    let out = redex(&["tail", d, "orders", "-n", &n, "--format", "raw", "--cold-dir", a]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out) == raw(0..COUNT), "{}", stdout(&out));
    // The last few entries are local: no store needed.
    let out = redex(&["tail", d, "orders", "-n", "3", "--format", "raw"]);
    assert_eq!(stdout(&out), raw(COUNT - 3..COUNT));
    assert_eq!(redex(&["tail", d, "orders", "-n", &n]).status.code(), Some(1));

    assert!(before == (snapshot(&db), snapshot(&archive)), "a read-only command changed a file");
}

#[test]
fn a_cold_store_that_cannot_be_set_up_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _archive) = archived_db(dir.path());
    let d = s(&db);
    let missing = dir.path().join("no-such-archive");
    for args in [
        vec!["verify", d],
        vec!["inspect", d],
        vec!["dump", d, "orders"],
        vec!["tail", d, "orders"],
    ] {
        let mut args = args.clone();
        args.extend(["--cold-dir", s(&missing)]);
        let out = redex(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("--cold-dir {}: ", s(&missing))), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
        assert!(!missing.exists(), "the tool created the store directory");
    }
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = redex(&["verify", d, "--cold-dir", s(&file)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));

    // --cold-s3 with the variables unset names the first missing one.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redex"));
    for var in ["ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "PREFIX", "REGION"] {
        cmd.env_remove(format!("REDEX_S3_{var}"));
    }
    let out = cmd.args(["verify", d, "--cold-s3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("REDEX_S3_ENDPOINT is not set"), "{}", stderr(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["verify", d, "--cold-s3"])
        .env("REDEX_S3_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("REDEX_S3_BUCKET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("REDEX_S3_BUCKET is not set"), "{}", stderr(&out));

    // Two stores, or the same option before and after the command, are refused.
    let a = s(&dir.path().join("archive")).to_owned();
    assert_eq!(redex(&["verify", d, "--cold-dir", &a, "--cold-s3"]).status.code(), Some(2));
    let twice = redex(&["--cold-dir", &a, "verify", d, "--cold-dir", &a]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("given twice"), "{}", stderr(&twice));
}

/// The S3 configuration of the local test server `.ci/s3-server` exports, under `prefix`.
/// `None`, with a message, when `REDEX_S3_ENDPOINT` is unset; under CI (`CI` set) that is a
/// failure instead, so CI never skips the S3 test silently.
fn s3_config(prefix: &str) -> Option<redex::S3Config> {
    let Some(mut config) = redex::S3Config::from_env().unwrap_or_else(|e| panic!("{e}")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but REDEX_S3_ENDPOINT is not: .ci/run must start the S3 test server \
             (eval \"$(.ci/s3-server)\")"
        );
        eprintln!(
            "skipping the `redex --cold-s3` test: no S3 server configured. Run \
             `eval \"$(.ci/s3-server)\"` first (it starts a local s3s-fs and sets REDEX_S3_*)."
        );
        return None;
    };
    config.prefix = prefix.to_owned();
    Some(config)
}

/// A writer archives to the S3 test server under a fresh prefix; `redex --cold-s3`, pointed at
/// that prefix by `REDEX_S3_PREFIX`, verifies every archived segment and dumps every entry.
#[test]
fn verify_and_dump_with_cold_s3_round_trip() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let prefix = format!("redex-cli-tests/{}-{nanos}", std::process::id());
    let Some(config) = s3_config(&prefix) else { return };
    let bucket = config.bucket.clone();
    let store = Arc::new(redex::S3ColdStore::new(config).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    build_archived_log_in(&db, store, "orders", COUNT, WARM);
    let d = s(&db);
    let before = snapshot(&db);

    let archived = number_before(
        line(&stdout(&redex(&["verify", d])), "channel orders: ok"),
        " archived segments not checked",
    );
    assert!(archived >= 2, "{archived} archived");

    let cold_s3 = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_redex"))
            .args(args)
            .arg("--cold-s3")
            .env("REDEX_S3_PREFIX", &prefix)
            .output()
            .unwrap()
    };
    let out = cold_s3(&["verify", d]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let orders = line(&text, "channel orders: ok");
    assert!(orders.contains(&format!("({archived} archived, fetched from the cold store)")));
    assert!(!text.contains("not checked"), "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.contains(&format!(
            "{archived} archived segments checked in s3://{bucket}/{prefix} at "
        )),
        "{last}"
    );

    let out = cold_s3(&["dump", d, "orders", "--format", "raw"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out) == raw(0..COUNT), "{}", stdout(&out));

    // Under another prefix the objects are not found: an error, not damage.
    let out = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["verify", d, "--cold-s3"])
        .env("REDEX_S3_PREFIX", format!("{prefix}-elsewhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));

    assert!(before == snapshot(&db), "a read-only command changed a file");
}

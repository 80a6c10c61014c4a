//! Goal: `redex bench ARGS` runs the harness binary with ARGS unchanged (flags included) and
//! exits with its status; a missing harness is an error naming it.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

#[test]
fn bench_passes_arguments_and_exit_status_through() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("redex-bench");
    std::fs::write(&fake, "#!/bin/sh\necho \"args: $*\"\nexit 7\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["bench", "--scenario", "append", "--events", "10", "--help"])
        .env("REDEX_BENCH", &fake)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "args: --scenario append --events 10 --help\n");
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn bench_with_a_missing_harness_fails_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_redex"))
        .args(["bench"])
        .env("REDEX_BENCH", "/nonexistent/redex-bench")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/redex-bench"), "{}", stderr(&out));
}

#[test]
fn help_documents_the_exit_codes() {
    let out = redex(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in ["Exit status:", "3  damaged data", "inspect", "verify", "dump", "tail", "bench"]
    {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(redex(&["frobnicate"]).status.code(), Some(2));
}

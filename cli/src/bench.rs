//! `redex bench ARGS...`: runs the benchmark harness by spawning the `redex-bench` binary of
//! the `redex-benches` crate with the arguments passed through unchanged, so the harness keeps
//! one command line, one `--help` and one place that parses it.
//!
//! The binary is looked for, in order: `$REDEX_BENCH` (a path), next to this `redex` binary
//! (both land in `target/<profile>/` when built from the workspace), then on `PATH`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::error::{CliError, CliResult};

/// Environment variable naming the `redex-bench` binary to run.
pub const BENCH_ENV: &str = "REDEX_BENCH";
const BENCH_BIN: &str = "redex-bench";

/// Runs the harness with `args`; its exit status becomes ours.
pub fn run(args: &[OsString]) -> CliResult {
    let bin = find().ok_or_else(|| {
        let here = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "this binary's directory".to_string());
        CliError::Message(format!(
            "the {BENCH_BIN} binary was not found (looked at ${BENCH_ENV}, in {here} and on \
             PATH); build it with `cargo build --release -p redex-benches` (from the workspace, \
             next to `cargo build --release -p redex-cli`) or set {BENCH_ENV}=/path/to/{BENCH_BIN}"
        ))
    })?;
    let status = Command::new(&bin)
        .args(args)
        .status()
        .map_err(|e| CliError::Message(format!("run {}: {e}", bin.display())))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(CliError::ChildExit(u8::try_from(code).unwrap_or(1))),
        None => {
            eprintln!("redex: {} was killed ({status})", bin.display());
            Err(CliError::ChildExit(1))
        }
    }
}

fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(BENCH_ENV) {
        return Some(PathBuf::from(p));
    }
    let exe_name = format!("{BENCH_BIN}{}", std::env::consts::EXE_SUFFIX);
    let sibling = std::env::current_exe().ok().and_then(|e| Some(e.parent()?.join(&exe_name)));
    if let Some(sibling) = sibling.filter(|p| p.is_file()) {
        return Some(sibling);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(&exe_name))
        .find(|p| p.is_file())
}

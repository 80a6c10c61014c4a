//! Goal: the CortEX decoder fuzz targets' checked-in corpora (`fuzz/corpus/{cortex_event,
//! cortex_snapshot}/`, including every input a campaign found failing) replay clean on stable
//! Rust, without cargo-fuzz: envelopes, event bodies (through the tasks and memories folds) and
//! snapshots give `Ok` or a clear error, never a panic or an allocation larger than the input
//! justifies, and what decodes round-trips. The logic is the fuzz crate's own, included by path.

use std::path::PathBuf;

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/cortex_decoders.rs"]
mod cortex_decoders;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;

#[global_allocator]
static ALLOC: alloc_guard::TrackingAlloc = alloc_guard::TrackingAlloc;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is empty");
    for path in files {
        let data = std::fs::read(&path).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} input {} failed (see the panic above)", path.display());
    }
    for trivial in [&[][..], &[0u8; 100][..], &[0xffu8; 100][..]] {
        run(trivial);
    }
}

#[test]
fn cortex_event_corpus_replays_clean() {
    replay("cortex_event", cortex_decoders::cortex_event);
}

#[test]
fn cortex_snapshot_corpus_replays_clean() {
    replay("cortex_snapshot", cortex_decoders::cortex_snapshot);
}

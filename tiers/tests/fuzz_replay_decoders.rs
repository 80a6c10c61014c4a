//! Goal: the decoder fuzz targets' checked-in corpora (`fuzz/corpus/{index_record, log_frame,
//! index_file, manifest, cold_object}/`, including every input a campaign found failing) replay clean on
//! stable Rust, without cargo-fuzz: no panic, no out-of-bounds read, no allocation larger than
//! the input justifies (checked by the same tracking allocator the fuzz targets install), and
//! round trips hold. The logic is the fuzz crate's own, included by path.

use std::path::PathBuf;

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/tier_decoders.rs"]
mod tier_decoders;

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
fn index_record_corpus_replays_clean() {
    replay("index_record", tier_decoders::index_record);
}

#[test]
fn log_frame_corpus_replays_clean() {
    replay("log_frame", tier_decoders::log_frame);
}

#[test]
fn index_file_corpus_replays_clean() {
    replay("index_file", tier_decoders::index_file);
}

#[test]
fn manifest_corpus_replays_clean() {
    replay("manifest", tier_decoders::manifest);
}

#[test]
fn the_allocation_guard_sees_allocations() {
    let (_, largest) = alloc_guard::largest_allocation(|| vec![0u8; 1 << 20]);
    assert!(largest >= 1 << 20, "tracking allocator not installed: {largest}");
}

#[test]
fn cold_object_corpus_replays_clean() {
    replay("cold_object", tier_decoders::cold_object);
}

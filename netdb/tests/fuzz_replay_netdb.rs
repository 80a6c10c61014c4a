//! Goal: the `netdb_bundle` fuzz target's checked-in corpus (`fuzz/corpus/netdb_bundle/`,
//! including every input a campaign found failing) replays clean on stable Rust, without
//! cargo-fuzz: a whole-database snapshot bundle decodes to `Ok` or a clear error, never a panic
//! or an allocation larger than the input justifies, and what decodes round-trips. The logic is
//! the fuzz crate's own, included by path.

use std::path::PathBuf;

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/netdb_decoders.rs"]
mod netdb_decoders;

#[global_allocator]
static ALLOC: alloc_guard::TrackingAlloc = alloc_guard::TrackingAlloc;

#[test]
fn netdb_bundle_corpus_replays_clean() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/netdb_bundle");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the netdb_bundle corpus is empty");
    for path in files {
        let data = std::fs::read(&path).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| netdb_decoders::netdb_bundle(&data));
        assert!(
            outcome.is_ok(),
            "netdb_bundle input {} failed (see the panic above)",
            path.display()
        );
    }
    for trivial in [&[][..], &[0u8; 100][..], &[0xffu8; 100][..]] {
        netdb_decoders::netdb_bundle(trivial);
    }
}

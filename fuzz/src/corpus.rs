//! Reading and replaying a target's checked-in corpus, for the replay tests of the normal test
//! suite (included there by path; the fuzz targets themselves do not use it).

use std::path::PathBuf;

/// Every file of `fuzz/corpus/<target>/`, sorted, with its bytes. The including crate's
/// manifest directory must sit next to `fuzz/`.
pub fn load(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("read corpus file"))).collect()
}

/// Runs every input of `target`'s corpus through `run`, then a few trivial inputs; fails on
/// the first input that panics, naming it.
pub fn replay(target: &str, run: fn(&[u8])) {
    let inputs = load(target);
    assert!(!inputs.is_empty(), "the {target} corpus is empty");
    for (path, data) in inputs {
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} input {} failed (see the panic above)", path.display());
    }
    for trivial in [&[][..], &[0u8; 100][..], &[0xffu8; 100][..]] {
        run(trivial);
    }
}

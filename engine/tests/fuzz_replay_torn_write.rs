//! Goal: the `torn_write` fuzz target's checked-in corpus (`fuzz/corpus/torn_write/`, including
//! every input a campaign ever found failing) replays clean on stable Rust, without cargo-fuzz:
//! each input drives a persistent file through appends, syncs, rollovers and retention, takes a
//! crash image, damages it as a crash (or a hostile writer) could, and checks recovery. The
//! logic is the fuzz crate's own, included by path, so the two can never drift apart.

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/torn_write.rs"]
mod torn_write;

/// Replays on a few threads: each input is independent (its own directories) and most of an
/// input's time is spent waiting on file system calls and background freezes.
#[test]
fn torn_write_corpus_replays_clean() {
    let inputs = corpus::load("torn_write");
    assert!(!inputs.is_empty(), "the torn_write corpus is empty");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    let failed: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let inputs = &inputs;
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for (path, data) in inputs.iter().skip(t).step_by(threads) {
                        if std::panic::catch_unwind(|| torn_write::run(data)).is_err() {
                            failed.push(path.display().to_string());
                        }
                    }
                    failed
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("replay worker")).collect()
    });
    assert!(failed.is_empty(), "torn_write inputs failed (see the panics above): {failed:?}");
}

#[test]
fn torn_write_accepts_trivial_inputs() {
    torn_write::run(&[]);
    torn_write::run(&[0xff; 64]);
    torn_write::run(&[0x00; 64]);
}

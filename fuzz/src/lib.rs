//! Shared logic of RedEX's fuzz targets. Each target in `fuzz_targets/` is a one-line wrapper
//! around a function here, and each has a twin in the normal test suite that replays the
//! checked-in corpus (`fuzz/corpus/<target>/`) through the same function on stable Rust:
//! `engine/tests/fuzz_replay_torn_write.rs`, `tiers/tests/fuzz_replay_decoders.rs` and
//! `cortex/tests/fuzz_replay_cortex.rs` and `netdb/tests/fuzz_replay_netdb.rs` include these modules with `#[path]`.
//! Commands, fault model and campaign results: `docs/FUZZING.md`.

pub mod alloc_guard;
pub mod cortex_decoders;
pub mod input;
pub mod netdb_decoders;
pub mod tier_decoders;
pub mod torn_write;

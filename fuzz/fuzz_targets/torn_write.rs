//! Fuzz target `torn_write`: see `redex_fuzz::torn_write` and docs/FUZZING.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redex_fuzz::torn_write::run(data));

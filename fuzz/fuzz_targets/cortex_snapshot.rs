//! Fuzz target `cortex_snapshot`: see `redex_fuzz::cortex_decoders::cortex_snapshot` and docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: redex_fuzz::alloc_guard::TrackingAlloc = redex_fuzz::alloc_guard::TrackingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| redex_fuzz::cortex_decoders::cortex_snapshot(data));

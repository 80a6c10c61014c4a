//! Fuzz target `cold_object`: see `redex_fuzz::tier_decoders::cold_object` and docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: redex_fuzz::alloc_guard::TrackingAlloc = redex_fuzz::alloc_guard::TrackingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| redex_fuzz::tier_decoders::cold_object(data));

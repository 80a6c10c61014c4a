//! Fuzz target `netdb_bundle`: see `redex_fuzz::netdb_decoders::netdb_bundle` and
//! docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: redex_fuzz::alloc_guard::TrackingAlloc = redex_fuzz::alloc_guard::TrackingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| redex_fuzz::netdb_decoders::netdb_bundle(data));

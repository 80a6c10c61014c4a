//! Goal: the decoder fuzz targets' checked-in corpora (`fuzz/corpus/{index_record, log_frame,
//! index_file, manifest, cold_object}/`, including every input a campaign found failing) replay clean on
//! stable Rust, without cargo-fuzz: no panic, no out-of-bounds read, no allocation larger than
//! the input justifies (checked by the same tracking allocator the fuzz targets install), and
//! round trips hold. The logic is the fuzz crate's own, included by path.

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/tier_decoders.rs"]
mod tier_decoders;

#[global_allocator]
static ALLOC: alloc_guard::TrackingAlloc = alloc_guard::TrackingAlloc;

#[test]
fn index_record_corpus_replays_clean() {
    corpus::replay("index_record", tier_decoders::index_record);
}

#[test]
fn log_frame_corpus_replays_clean() {
    corpus::replay("log_frame", tier_decoders::log_frame);
}

#[test]
fn index_file_corpus_replays_clean() {
    corpus::replay("index_file", tier_decoders::index_file);
}

#[test]
fn manifest_corpus_replays_clean() {
    corpus::replay("manifest", tier_decoders::manifest);
}

#[test]
fn the_allocation_guard_sees_allocations() {
    let (_, largest) = alloc_guard::largest_allocation(|| vec![0u8; 1 << 20]);
    assert!(largest >= 1 << 20, "tracking allocator not installed: {largest}");
}

#[test]
fn cold_object_corpus_replays_clean() {
    corpus::replay("cold_object", tier_decoders::cold_object);
}
